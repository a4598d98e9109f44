"""The logger's settings: the common ones, plus its schedule, WhyLabs, drift and alerts."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, SecretStr

from clara_common import settings as common
from clara_common.settings import (
    ClassReference,
    CommonSettings,
    DriftAlgorithm,
    PositiveFloat,
    PositiveInt,
    UnitInterval,
)

PUBLIC_WHYLABS_ENDPOINT = "https://api.whylabsapp.com"


class LoggerSettings(CommonSettings):
    """The configuration of clara-logger; build it with `LoggerSettings.from_env()`."""

    # Schedule and batches. The monitor reads LOGGER_INTERVAL_MINUTES too, to tell when the logger is behind.
    LOGGER_INTERVAL_MINUTES: PositiveFloat = common.LOGGER_INTERVAL_MINUTES
    LOGGER_BATCH_SIZE: PositiveInt = 5000
    # Predictions one claim (one logger batch) takes; memory is bounded by LOGGER_BATCH_SIZE instead.
    # On MongoDB a claim costs in proportion to what it holds, whatever this size. Large for the
    # embedded database, where a claim's query also costs in proportion to the whole collection
    # (docs/benchmarks.md, "Figures behind design choices"), so a backlog takes few of them.
    LOGGER_CLAIM_SIZE: PositiveInt = 50000
    LOGGER_HTTP_TIMEOUT_SECONDS: PositiveFloat = 30.0
    LOGGER_HEARTBEAT_FILE: str | None = None
    LOGGER_LEASE_SECONDS: PositiveFloat = 300.0
    LOGGER_RETRY_MIN_SECONDS: PositiveFloat = 30.0
    LOGGER_RETRY_MAX_SECONDS: PositiveFloat = 900.0
    # How many recent days the running logger reconciles with the predictions, once a day.
    LOGGER_RECONCILE_DAYS: PositiveInt = 7
    # WhyLabs
    WHYLABS_API_KEY: SecretStr | None = None
    WHYLABS_DEFAULT_ORG_ID: str | None = None
    WHYLABS_DEFAULT_DATASET_ID: str | None = None
    WHYLABS_API_ENDPOINT: str = PUBLIC_WHYLABS_ENDPOINT
    # Drift and alerts (docs/signal.md). DRIFT_REFERENCE_DAYS is the reference window of the performance
    # incidents too. The monitor reads the algorithm, thresholds and minimum samples as well.
    DRIFT_ALGORITHM: DriftAlgorithm = common.DRIFT_ALGORITHM
    DRIFT_P_VALUE: UnitInterval = common.DRIFT_P_VALUE
    DRIFT_HELLINGER_THRESHOLD: UnitInterval = common.DRIFT_HELLINGER_THRESHOLD
    DRIFT_REFERENCE_DAYS: PositiveInt = 14
    # "window" by default: the seed's class shares differ from the training set's, and with hundreds of
    # predictions a day chi-square against the training shares flags most ordinary days.
    DRIFT_CLASS_REFERENCE: ClassReference = "window"
    DRIFT_MIN_SAMPLES: PositiveInt = common.DRIFT_MIN_SAMPLES
    # A window drifts only if its PSI beyond sampling noise is at least this (docs/signal.md).
    DRIFT_MIN_PSI: PositiveFloat = common.DRIFT_MIN_PSI
    # A day is judged on its own predictions pooled with those of the days before it, this many in all.
    DRIFT_WINDOW_DAYS: PositiveInt = common.DRIFT_WINDOW_DAYS
    # Performance incidents expected by chance over 90 days, over every class and metric together.
    ALERT_FALSE_ALARMS_PER_90_DAYS: PositiveFloat = common.ALERT_FALSE_ALARMS_PER_90_DAYS
    # An optional absolute floor under the day's accuracy (days with ALERT_MIN_SAMPLES reviews or more).
    ALERT_MIN_ACCURACY: UnitInterval | None = common.ALERT_MIN_ACCURACY
    ALERT_MIN_SAMPLES: PositiveInt = common.ALERT_MIN_SAMPLES
    # A Slack-style webhook URL carries its own credential.
    ALERT_WEBHOOK_URL: SecretStr | None = None
    # Traffic incidents: a silence opens one when the learned hourly rates make it less likely than this
    # (clara_logger/traffic.py): about this many false incidents per prediction (1e-6: 0.03 per 90 days at 300 a day).
    TRAFFIC_ALPHA: Annotated[float, Field(gt=0, lt=1)] = 1e-6

    @property
    def whylabs_enabled(self) -> bool:
        """Return True when all three WhyLabs credentials are set."""
        return bool(self.WHYLABS_API_KEY and self.WHYLABS_DEFAULT_ORG_ID and self.WHYLABS_DEFAULT_DATASET_ID)
