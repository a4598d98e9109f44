"""The settings every service shares, read from the environment into one typed model.

Each service has a model of its own that adds what only it reads (`clara_logger.settings.LoggerSettings`,
`clara_monitor.settings.MonitorSettings`); the seed needs nothing more than `CommonSettings`. Each
field's name is its environment variable, and docs/configuration.md's table lists them all (a test
checks the table against the models). A variable two services read is declared in both models with one
default, the constant here, and the same type.

Secrets are `SecretStr`: hidden in repr and in errors, and read with `.get_secret_value()` where they are
used. MONGODB_URI is one, because a URI may carry a password (`mongodb+srv://user:password@...`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextvars import ContextVar
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Self, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BeforeValidator, Field, SecretStr, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from clara_common.classes import ClassCatalog, load_catalog


class SettingsError(ValueError):
    """Raised when an environment variable has a value that cannot be used."""


def secret_value(name: str, value: SecretStr | None, file: str | None) -> str | None:
    """Return the secret set as variable `name`, or held in the file `name`_FILE names (a Docker secret), stripped.

    None when neither is set. Raises SettingsError when both are set, or the file cannot be read or is empty.
    """
    if value and file:
        raise SettingsError(f"{name} and {name}_FILE are both set: set one of them")
    if value is not None:
        return value.get_secret_value()
    if not file:
        return None
    try:
        from_file = Path(file).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SettingsError(f"{name}_FILE={file}: cannot read the password from it ({reason})") from None
    if not from_file:
        raise SettingsError(f"{name}_FILE={file}: the file is empty")
    return from_file


def _timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {name!r}") from exc
    return name


def _lowercase(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


# The value types of the settings, each with the check the old hand parser made.
PositiveInt = Annotated[int, Field(gt=0)]
PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
UnitInterval = Annotated[float, Field(ge=0, le=1)]
Port = Annotated[int, Field(gt=0, lt=65536)]
TimeZoneName = Annotated[str, AfterValidator(_timezone)]
DriftAlgorithm = Annotated[Literal["chi-square", "hellinger"], BeforeValidator(_lowercase)]
ClassReference = Annotated[Literal["window", "training"], BeforeValidator(_lowercase)]

# Defaults of the variables that both the logger and the monitor read: each model declares the field,
# with this default, so that the two services agree when the variable is unset.
LOGGER_INTERVAL_MINUTES = 2.0
DRIFT_ALGORITHM: Literal["chi-square", "hellinger"] = "chi-square"
# For a day's three drift tests together (Bonferroni): about 0.45 false notices per 90 days from sampling.
DRIFT_P_VALUE = 0.005
DRIFT_HELLINGER_THRESHOLD = 0.15
DRIFT_MIN_SAMPLES = 50
ALERT_MIN_SAMPLES = 50
# The logger's alone, recorded with the others in the ledger (clara_common.ledger.state.JudgedWith).
DRIFT_MIN_PSI = 0.1
DRIFT_WINDOW_DAYS = 3
ALERT_FALSE_ALARMS_PER_90_DAYS = 0.5
ALERT_MIN_ACCURACY: float | None = None

# The environment `from_env` reads, when it is given one; None: os.environ.
_ENVIRONMENT: ContextVar[Mapping[str, str] | None] = ContextVar("clara_settings_environment", default=None)


class _Environment(EnvSettingsSource):
    """The process environment, or the mapping given to `from_env`; a blank value counts as unset.

    Compose passes `VAR=` for a variable left out of .env, and that must mean the default, as
    `env_ignore_empty` does for exactly empty values; a value of spaces is taken as empty too.
    """

    def __init__(self, settings_cls: type[BaseSettings], environment: Mapping[str, str] | None) -> None:
        self._environment = os.environ if environment is None else environment
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {name: value for name, value in self._environment.items() if value is not None and value.strip()}


def _is_secret(field: FieldInfo) -> bool:
    return field.annotation is SecretStr or SecretStr in get_args(field.annotation)


def describe(error: ValidationError, model: type[BaseSettings]) -> str:
    """Return the errors of `error` as `VARIABLE=value: reason`, with the values of secrets hidden."""
    lines = []
    for item in error.errors(include_url=False):
        name = str(item["loc"][0]) if item["loc"] else model.__name__
        field = model.model_fields.get(name)
        if item["type"] == "extra_forbidden":
            lines.append(f"{name}: not a setting of {model.__name__}")
            continue
        shown = "<hidden>" if field is None or _is_secret(field) else repr(item.get("input"))
        lines.append(f"{name}={shown}: {item['msg'].removeprefix('Value error, ')}")
    return "; ".join(lines)


class CommonSettings(BaseSettings):
    """What every service reads: the database, the classes and the days. Build it with `from_env()`."""

    model_config = SettingsConfigDict(
        case_sensitive=True,
        env_ignore_empty=True,
        str_strip_whitespace=True,
        frozen=True,
        extra="forbid",  # an override that names no field of this model is an error, not ignored
        hide_input_in_errors=True,  # a secret's value never reaches a message or a traceback
    )

    # Database
    MONGODB_URI: SecretStr = SecretStr("mongodb://localhost:27017")
    MONGODB_DB: str = "clara"
    PREDICTIONS_COLLECTION: str = "image_logs"
    MONGODB_TIMEOUT_MS: PositiveInt = 5000
    # The password of the user MONGODB_URI names when the URI leaves it out, so that it stays out of the
    # URI (and of `docker compose config`): given here, or in a file (a Docker secret; Compose's way).
    MONGODB_PASSWORD: SecretStr | None = None
    MONGODB_PASSWORD_FILE: str | None = None
    # Classes and days
    CLASSES_FILE: str | None = None
    TIMEZONE: TimeZoneName = "UTC"
    # A validation time further in the future than this is reported and not counted until it is due.
    MAX_CLOCK_SKEW_MINUTES: PositiveFloat = 10.0

    # Cached properties stored on the instance, which `model_copy` must not carry to a copy.
    _CACHED: ClassVar[tuple[str, ...]] = ("classes",)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Keyword arguments, then the environment; no .env file (Compose reads that one).
        return init_settings, _Environment(settings_cls, _ENVIRONMENT.get())

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Self:
        """Read every setting from `env` (default: os.environ); `overrides` win over both.

        Raises SettingsError naming each variable whose value cannot be used.
        """
        token = _ENVIRONMENT.set(env)
        try:
            return cls(**overrides)
        except ValidationError as exc:
            raise SettingsError(describe(exc, cls)) from None
        finally:
            _ENVIRONMENT.reset(token)

    def replace(self, **changes: Any) -> Self:
        """Return a copy with `changes`, checked as the environment's values are (the environment is not read)."""
        try:
            return self.model_validate({**self.model_dump(), **changes})
        except ValidationError as exc:
            raise SettingsError(describe(exc, type(self))) from None

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        copied = super().model_copy(update=update, deep=deep)
        for name in self._CACHED:
            copied.__dict__.pop(name, None)  # the copy's CLASSES_FILE may differ: read it again when asked
        return copied

    @cached_property
    def classes(self) -> ClassCatalog:
        """Return the class catalogue named by CLASSES_FILE (the CLARA classes by default)."""
        return load_catalog(self.CLASSES_FILE)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.TIMEZONE)
