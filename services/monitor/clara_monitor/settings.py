"""The monitor's settings: the common ones, plus its server, authentication, estimate, and what it shows
of the logger's work (its interval, drift thresholds and minimum samples)."""

from __future__ import annotations

from pydantic import SecretStr

from clara_common import settings as common
from clara_common.settings import CommonSettings, DriftAlgorithm, Port, PositiveFloat, PositiveInt, UnitInterval


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
    # Read by the logger, which acts on them; the monitor needs the same values: the logger is "behind"
    # after three of its intervals, /api/drift shows the thresholds, and a day with fewer than
    # ALERT_MIN_SAMPLES validated predictions is drawn as a low-count day.
    LOGGER_INTERVAL_MINUTES: PositiveFloat = common.LOGGER_INTERVAL_MINUTES
    DRIFT_ALGORITHM: DriftAlgorithm = common.DRIFT_ALGORITHM
    DRIFT_P_VALUE: UnitInterval = common.DRIFT_P_VALUE
    DRIFT_HELLINGER_THRESHOLD: UnitInterval = common.DRIFT_HELLINGER_THRESHOLD
    DRIFT_MIN_SAMPLES: PositiveInt = common.DRIFT_MIN_SAMPLES
    ALERT_MIN_SAMPLES: PositiveInt = common.ALERT_MIN_SAMPLES
