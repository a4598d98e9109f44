"""Each service's settings of one test deployment, made from the common settings the fixtures give."""

from __future__ import annotations

from typing import Any, TypeVar

from clara_common.settings import CommonSettings
from clara_logger.settings import LoggerSettings
from clara_monitor.settings import MonitorSettings

Model = TypeVar("Model", bound=CommonSettings)


def service_settings(model: type[Model], settings: CommonSettings, **changes: Any) -> Model:
    """Return `model`'s settings of the deployment `settings` describes, as if read from one environment.

    Every value `settings` has that `model` also declares carries over as it is (the database, the time
    zone, and between the logger and the monitor the interval and thresholds they share); the others are
    the defaults, and `changes` win over both, checked like the environment's values.
    """
    shared = {
        name: value
        for name, value in settings.model_dump().items()
        if name in model.model_fields and name not in changes
    }
    return model.from_env({}, **changes).model_copy(update=shared)


def logger_settings(settings: CommonSettings, **changes: Any) -> LoggerSettings:
    """Return the logger's settings of the deployment `settings` describes (see service_settings)."""
    return service_settings(LoggerSettings, settings, **changes)


def monitor_settings(settings: CommonSettings, **changes: Any) -> MonitorSettings:
    """Return the monitor's settings of the deployment `settings` describes (see service_settings)."""
    return service_settings(MonitorSettings, settings, **changes)
