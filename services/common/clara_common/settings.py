"""Every setting of every service, in one typed object read from the environment.

Each field's name is its environment variable; the README's configuration table lists them.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from clara_common.classes import ClassCatalog, load_catalog

PUBLIC_WHYLABS_ENDPOINT = "https://api.whylabsapp.com"


class SettingsError(ValueError):
    """Raised when an environment variable has a value that cannot be used."""


def _text(raw: str) -> str:
    return raw.strip()


def _optional_text(raw: str) -> str | None:
    return raw.strip() or None


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError("must be a positive integer")
    return value


def _port(raw: str) -> int:
    value = int(raw)
    if not 0 < value < 65536:
        raise ValueError("must be a TCP port, 1 to 65535")
    return value


def _positive_float(raw: str) -> float:
    value = float(raw)
    if not math.isfinite(value) or value <= 0:
        raise ValueError("must be a positive number")
    return value


def _unit_interval(raw: str) -> float:
    value = float(raw)
    if not 0.0 <= value <= 1.0:
        raise ValueError("must be a number from 0 to 1")
    return value


def _timezone(raw: str) -> str:
    try:
        ZoneInfo(raw.strip())
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {raw!r}") from exc
    return raw.strip()


def _choice(*options: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in options:
            raise ValueError(f"must be one of {', '.join(options)}")
        return value

    return parse


def _setting(default: Any, parse: Callable[[str], Any], *, secret: bool = False) -> Any:
    return field(default=default, metadata={"parse": parse, "secret": secret}, repr=not secret)


@dataclass(frozen=True)
class Settings:
    """The configuration of CLARA Monitor; build it with `Settings.from_env()`."""

    # Database
    MONGODB_URI: str = _setting("mongodb://localhost:27017", _text, secret=True)
    MONGODB_DB: str = _setting("clara", _text)
    PREDICTIONS_COLLECTION: str = _setting("image_logs", _text)
    MONGODB_TIMEOUT_MS: int = _setting(5000, _positive_int)
    # The password of the user MONGODB_URI names when the URI leaves it out, so that it stays out of the
    # URI (and of `docker compose config`): given here, or in a file (a Docker secret; Compose's way).
    MONGODB_PASSWORD: str | None = _setting(None, _optional_text, secret=True)
    MONGODB_PASSWORD_FILE: str | None = _setting(None, _optional_text)
    # Classes and days
    CLASSES_FILE: str | None = _setting(None, _optional_text)
    TIMEZONE: str = _setting("UTC", _timezone)
    # A validation time further in the future than this is reported and not counted until it is due.
    MAX_CLOCK_SKEW_MINUTES: float = _setting(10.0, _positive_float)
    # Monitor
    MONITOR_PORT: int = _setting(5004, _port)
    MONITOR_WORKERS: int = _setting(2, _positive_int)
    MONITOR_DB_TIMEOUT_MS: int = _setting(2000, _positive_int)  # short, so a down database is a quick 503
    MONITOR_TRAINING_CACHE_SECONDS: float = _setting(300.0, _positive_float)
    # HTTP Basic authentication for every route but /healthz and /readyz: on when a username and a
    # password (or a file holding it, for Docker secrets) are set.
    MONITOR_USERNAME: str | None = _setting(None, _optional_text)
    MONITOR_PASSWORD: str | None = _setting(None, _optional_text, secret=True)
    MONITOR_PASSWORD_FILE: str | None = _setting(None, _optional_text)
    # A Bearer token that opens GET /metrics only (Prometheus' scrape), with or without Basic authentication.
    METRICS_TOKEN: str | None = _setting(None, _optional_text, secret=True)
    # Logger
    LOGGER_INTERVAL_MINUTES: float = _setting(2.0, _positive_float)
    LOGGER_BATCH_SIZE: int = _setting(5000, _positive_int)
    # Predictions one claim (one logger batch) takes. Large, because each claim costs a pass over
    # the collection on the embedded database; memory is bounded by LOGGER_BATCH_SIZE instead.
    LOGGER_CLAIM_SIZE: int = _setting(50000, _positive_int)
    WHYLABS_API_KEY: str | None = _setting(None, _optional_text, secret=True)
    WHYLABS_DEFAULT_ORG_ID: str | None = _setting(None, _optional_text)
    WHYLABS_DEFAULT_DATASET_ID: str | None = _setting(None, _optional_text)
    WHYLABS_API_ENDPOINT: str = _setting(PUBLIC_WHYLABS_ENDPOINT, _text)
    LOGGER_HTTP_TIMEOUT_SECONDS: float = _setting(30.0, _positive_float)
    LOGGER_HEARTBEAT_FILE: str | None = _setting(None, _optional_text)
    LOGGER_LEASE_SECONDS: float = _setting(300.0, _positive_float)
    LOGGER_RETRY_MIN_SECONDS: float = _setting(30.0, _positive_float)
    LOGGER_RETRY_MAX_SECONDS: float = _setting(900.0, _positive_float)
    # How many recent days the running logger reconciles with the predictions, once a day.
    LOGGER_RECONCILE_DAYS: int = _setting(7, _positive_int)
    # Drift and alerts
    DRIFT_ALGORITHM: str = _setting("chi-square", _choice("chi-square", "hellinger"))
    DRIFT_P_VALUE: float = _setting(0.05, _unit_interval)
    DRIFT_HELLINGER_THRESHOLD: float = _setting(0.15, _unit_interval)
    DRIFT_REFERENCE_DAYS: int = _setting(14, _positive_int)
    # "window" by default: the seed's class shares differ from the training set's, and with hundreds of
    # predictions a day chi-square against the training shares flags most ordinary days.
    DRIFT_CLASS_REFERENCE: str = _setting("window", _choice("window", "training"))
    DRIFT_MIN_SAMPLES: int = _setting(50, _positive_int)
    ALERT_MIN_ACCURACY: float = _setting(0.8, _unit_interval)
    ALERT_MIN_SAMPLES: int = _setting(50, _positive_int)
    ALERT_WEBHOOK_URL: str | None = _setting(None, _optional_text, secret=True)
    # Estimated accuracy before review: the recent validation days its confidence calibration is fitted on.
    ESTIMATE_CALIBRATION_DAYS: int = _setting(30, _positive_int)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read every setting from `env` (default: os.environ); `overrides` win over both."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f.name)
            if raw is None or raw.strip() == "" and f.default is not None:
                continue
            try:
                values[f.name] = f.metadata["parse"](raw)
            except ValueError as exc:
                shown = "<hidden>" if f.metadata["secret"] else repr(raw)
                raise SettingsError(f"{f.name}={shown}: {exc}") from exc
        values.update(overrides)
        return cls(**values)

    @cached_property
    def classes(self) -> ClassCatalog:
        """Return the class catalogue named by CLASSES_FILE (the CLARA classes by default)."""
        return load_catalog(self.CLASSES_FILE)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.TIMEZONE)

    @property
    def whylabs_enabled(self) -> bool:
        """Return True when all three WhyLabs credentials are set."""
        return bool(self.WHYLABS_API_KEY and self.WHYLABS_DEFAULT_ORG_ID and self.WHYLABS_DEFAULT_DATASET_ID)
