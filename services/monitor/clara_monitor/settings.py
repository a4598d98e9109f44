"""The monitor's settings: the common ones, plus its server, authentication and estimate.

What it shows of the logger's work (its interval, drift thresholds and minimum samples) is not among them:
the logger records the values it judged with in the ledger (clara_common.ledger.state.judged_with)."""

from __future__ import annotations

from pydantic import SecretStr

from clara_common.settings import CommonSettings, Port, PositiveFloat, PositiveInt


class MonitorSettings(CommonSettings):
    """The configuration of clara-monitor; build it with `MonitorSettings.from_env()`."""

    MONITOR_PORT: Port = 5004
    MONITOR_WORKERS: PositiveInt = 2
    MONITOR_DB_TIMEOUT_MS: PositiveInt = 2000  # short, so that a down database is a quick 503
    MONITOR_TRAINING_CACHE_SECONDS: PositiveFloat = 300.0
    # HTTP Basic authentication for every route but /healthz and /readyz: on when a username and a
    # password (or a file holding it, for Docker secrets) are set.
    MONITOR_USERNAME: str | None = None
    MONITOR_PASSWORD: SecretStr | None = None
    MONITOR_PASSWORD_FILE: str | None = None
    # A Bearer token that opens GET /metrics only (Prometheus' scrape), with or without Basic authentication.
    METRICS_TOKEN: SecretStr | None = None
    # Estimated accuracy before review: the recent validation days its confidence calibration is fitted on.
    ESTIMATE_CALIBRATION_DAYS: PositiveInt = 30
