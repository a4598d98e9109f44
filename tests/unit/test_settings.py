"""Settings: defaults, environment parsing, clear errors, secrets kept out of repr, and docs/configuration.md's
table and .env.example kept in step with the models (compose.yaml's: tests/unit/test_compose_environment.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import get_args

import pytest
from pydantic import SecretStr

from clara_common import settings as common
from clara_common.classes import ClassConfigError
from clara_common.ledger.state import RECORDED, JudgedWith
from clara_common.settings import CommonSettings, SettingsError
from clara_logger.settings import PUBLIC_WHYLABS_ENDPOINT, LoggerSettings
from clara_monitor.settings import MonitorSettings

ROOT = Path(__file__).resolve().parents[2]
MODELS = (CommonSettings, LoggerSettings, MonitorSettings)
# In docs/configuration.md's table but read by no model: Compose's own variables, and LOG_LEVEL, which
# clara_common.logs reads before any settings are (so that a settings error is logged at that level).
NOT_IN_A_MODEL = {
    "MONGO_ROOT_USERNAME",
    "MONGO_ROOT_PASSWORD",
    "MONGO_MONITOR_PASSWORD",
    "MONGO_LOGGER_PASSWORD",
    "MONGO_SEED_PASSWORD",
    "LOG_LEVEL",
}


def test_defaults_match_the_original_deployment() -> None:
    logger, monitor = LoggerSettings.from_env({}), MonitorSettings.from_env({})
    assert logger.MONGODB_URI.get_secret_value() == "mongodb://localhost:27017"
    assert (logger.MONGODB_DB, logger.PREDICTIONS_COLLECTION) == ("clara", "image_logs")
    assert (monitor.TIMEZONE, monitor.MONITOR_PORT, logger.LOGGER_INTERVAL_MINUTES) == ("UTC", 5004, 2.0)
    assert logger.WHYLABS_API_ENDPOINT == PUBLIC_WHYLABS_ENDPOINT
    assert logger.whylabs_enabled is False


def test_environment_values_are_parsed_to_their_types() -> None:
    env = {
        "MONITOR_PORT": "8080",
        "LOGGER_INTERVAL_MINUTES": " 0.5",
        "ALERT_MIN_ACCURACY": "0.7",
        "TIMEZONE": "Europe/Madrid",
        "DRIFT_ALGORITHM": "Hellinger",
    }
    monitor, logger = MonitorSettings.from_env(env), LoggerSettings.from_env(env)
    assert (monitor.MONITOR_PORT, logger.LOGGER_INTERVAL_MINUTES, logger.ALERT_MIN_ACCURACY) == (8080, 0.5, 0.7)
    assert str(monitor.tz) == "Europe/Madrid" and str(logger.tz) == "Europe/Madrid"
    assert logger.DRIFT_ALGORITHM == "hellinger"


def test_empty_values_fall_back_to_defaults() -> None:
    # Compose passes VAR= for every variable left out of .env.
    settings = LoggerSettings.from_env({"MONGODB_DB": "", "WHYLABS_API_KEY": "  ", "LOGGER_BATCH_SIZE": ""})
    assert settings.MONGODB_DB == "clara" and settings.WHYLABS_API_KEY is None and settings.LOGGER_BATCH_SIZE == 5000


def test_the_process_environment_is_read_when_none_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONGODB_DB", "from-the-environment")
    monkeypatch.setenv("MONITOR_WORKERS", "")
    assert MonitorSettings.from_env().MONGODB_DB == "from-the-environment"
    assert MonitorSettings.from_env().MONITOR_WORKERS == 2
    assert MonitorSettings.from_env({}).MONGODB_DB == "clara"  # a given mapping replaces the environment
    assert MonitorSettings.from_env(MONGODB_DB="override").MONGODB_DB == "override"


def test_each_service_reads_only_its_own_variables() -> None:
    monitor_only = set(MonitorSettings.model_fields) - set(LoggerSettings.model_fields)
    logger_only = set(LoggerSettings.model_fields) - set(MonitorSettings.model_fields)
    assert "METRICS_TOKEN" in monitor_only and "WHYLABS_API_KEY" in logger_only
    assert not hasattr(MonitorSettings.from_env({}), "WHYLABS_API_KEY")
    with pytest.raises(SettingsError, match="LOGGER_BATCH_SIZE: not a setting of MonitorSettings"):
        MonitorSettings.from_env({}, LOGGER_BATCH_SIZE=10)


def test_the_logger_and_the_monitor_share_only_the_common_settings() -> None:
    # The monitor reads the logger's interval and thresholds from the ledger, where the logger records them.
    shared = set(LoggerSettings.model_fields) & set(MonitorSettings.model_fields)
    assert shared == set(CommonSettings.model_fields)


def test_what_the_logger_records_has_its_settings_types_and_defaults() -> None:
    assert RECORDED == (
        "LOGGER_INTERVAL_MINUTES",
        "DRIFT_ALGORITHM",
        "DRIFT_P_VALUE",
        "DRIFT_HELLINGER_THRESHOLD",
        "DRIFT_MIN_SAMPLES",
        "ALERT_MIN_SAMPLES",
        "DRIFT_MIN_PSI",
        "DRIFT_WINDOW_DAYS",
        "ALERT_FALSE_ALARMS_PER_90_DAYS",
        "ALERT_MIN_ACCURACY",
    )
    for name in RECORDED:
        logger, recorded = LoggerSettings.model_fields[name], JudgedWith.model_fields[name]
        assert logger.default == recorded.default == getattr(common, name), name
        assert logger.annotation == recorded.annotation and logger.metadata == recorded.metadata, name


def test_replace_checks_the_new_values_and_forgets_the_old_classes(tmp_path: Path) -> None:
    settings = CommonSettings.from_env({})
    assert settings.classes.names[0] == "SIGRE"
    path = tmp_path / "classes.json"
    path.write_text(json.dumps({"classes": [{"id": 0, "name": "paper", "color": "#00f"}]}))
    assert settings.replace(CLASSES_FILE=str(path)).classes.names == ("paper",)
    assert settings.model_copy(update={"CLASSES_FILE": str(path)}).classes.names == ("paper",)
    assert settings.replace(TIMEZONE="Asia/Tokyo").TIMEZONE == "Asia/Tokyo"
    with pytest.raises(SettingsError, match="TIMEZONE='Mars/Olympus': unknown IANA time zone"):
        settings.replace(TIMEZONE="Mars/Olympus")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MONITOR_PORT", "http"),
        ("MONITOR_PORT", "70000"),
        ("TIMEZONE", "Mars/Olympus"),
        ("LOGGER_INTERVAL_MINUTES", "0"),
        ("LOGGER_BATCH_SIZE", "-5"),
        ("ALERT_MIN_ACCURACY", "1.5"),
        ("DRIFT_ALGORITHM", "vibes"),
        ("LOGGER_INTERVAL_MINUTES", "nan"),
    ],
)
def test_bad_values_name_the_variable(name: str, value: str) -> None:
    model = next(model for model in MODELS if name in model.model_fields)
    with pytest.raises(SettingsError, match=f"^{name}={re.escape(repr(value))}: "):
        model.from_env({name: value})


def test_every_bad_value_is_named_at_once() -> None:
    with pytest.raises(SettingsError) as raised:
        MonitorSettings.from_env({"MONITOR_WORKERS": "0", "MONITOR_DB_TIMEOUT_MS": "-1"})
    assert "MONITOR_WORKERS='0'" in str(raised.value) and "MONITOR_DB_TIMEOUT_MS='-1'" in str(raised.value)


def test_secrets_stay_out_of_repr_and_errors() -> None:
    settings = LoggerSettings.from_env({"WHYLABS_API_KEY": "sk-very-secret", "MONGODB_URI": "mongodb://u:pw@db:27017"})
    assert "sk-very-secret" not in repr(settings) and "pw@" not in repr(settings)
    assert settings.WHYLABS_API_KEY.get_secret_value() == "sk-very-secret"
    with pytest.raises(SettingsError) as raised:
        LoggerSettings.from_env({"ALERT_WEBHOOK_URL": "https://hooks.example/x", "MONGODB_TIMEOUT_MS": "soon"})
    assert "hooks.example" not in str(raised.value)
    with pytest.raises(SettingsError) as raised:
        MonitorSettings.from_env({}, METRICS_TOKEN=12345678)
    assert "METRICS_TOKEN=<hidden>" in str(raised.value) and "12345678" not in str(raised.value)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


@pytest.mark.parametrize("model", MODELS)
def test_secrets_are_secret_strings(model: type[CommonSettings]) -> None:
    secret = {
        name
        for name, field in model.model_fields.items()
        if SecretStr in (field.annotation, *get_args(field.annotation))
    }
    expected = {
        "MONGODB_URI",
        "MONGODB_PASSWORD",
        "WHYLABS_API_KEY",
        "ALERT_WEBHOOK_URL",
        "MONITOR_PASSWORD",
        "METRICS_TOKEN",
    }
    assert secret == expected & set(model.model_fields)


def test_whylabs_needs_all_three_credentials() -> None:
    partial = {"WHYLABS_API_KEY": "k", "WHYLABS_DEFAULT_ORG_ID": "org-1"}
    assert LoggerSettings.from_env(partial).whylabs_enabled is False
    assert LoggerSettings.from_env({**partial, "WHYLABS_DEFAULT_DATASET_ID": "model-1"}).whylabs_enabled is True


def test_classes_come_from_the_file_named_in_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "classes.json"
    path.write_text(json.dumps({"classes": [{"id": 0, "name": "paper", "color": "#00f", "training_count": 3}]}))
    classes = CommonSettings.from_env({"CLASSES_FILE": str(path)}).classes
    assert classes.names == ("paper",) and classes.training_counts() == {"paper": 3}


def test_default_classes_are_the_seven_clara_containers() -> None:
    classes = CommonSettings.from_env({}).classes
    assert dict(zip(classes.ids, classes.names, strict=True)) == {
        0: "SIGRE",
        1: "blue",
        2: "brown",
        3: "green",
        4: "green_point",
        5: "grey",
        6: "yellow",
    }
    assert classes.color_dict()["SIGRE"] == "rgb(219, 0, 146)"


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        json.dumps({"classes": []}),
        json.dumps({"classes": [{"id": 0, "name": "a", "color": "red"}, {"id": 0, "name": "b", "color": "red"}]}),
        json.dumps({"classes": [{"id": 0, "name": "a", "color": "red"}, {"id": 1, "name": "a", "color": "red"}]}),
        json.dumps({"classes": [{"id": "0", "name": "a", "color": "red"}]}),
        json.dumps({"classes": [{"id": 0, "name": "a"}]}),
        json.dumps({"classes": [{"id": 0, "name": "a", "color": "red", "training_count": -1}]}),
        json.dumps([1, 2]),
    ],
)
def test_bad_class_files_are_refused_with_a_reason(tmp_path: Path, content: str) -> None:
    path = tmp_path / "classes.json"
    path.write_text(content)
    with pytest.raises(ClassConfigError):
        _ = CommonSettings.from_env({"CLASSES_FILE": str(path)}).classes


def test_missing_class_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ClassConfigError, match="cannot read"):
        _ = CommonSettings.from_env({"CLASSES_FILE": str(tmp_path / "nope.json")}).classes


def configuration_table() -> dict[str, str]:
    """Return each variable of docs/configuration.md's settings table with the text of its default cell."""
    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    section = text.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    table: dict[str, str] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        names = re.findall(r"`([A-Z][A-Z0-9_]+)`", cells[0])
        defaults = re.findall(r"`([^`]*)`", cells[1])
        for index, name in enumerate(names):
            table[name] = defaults[index] if len(defaults) == len(names) > 1 else cells[1]
    return table


def documented_default(value: object) -> str:
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def test_the_configuration_table_lists_every_setting_with_its_default() -> None:
    table = configuration_table()
    for model in MODELS:
        for name, field in model.model_fields.items():
            assert name in table, f"{name} ({model.__name__}) is missing from docs/configuration.md's table"
            cell = table[name]
            if field.default is None:
                assert cell.startswith("unset"), f"{name}: docs/configuration.md says {cell!r}, the default is unset"
            else:
                assert cell.strip("`").split("`")[0] == documented_default(field.default), (
                    f"{name}: docs/configuration.md says {cell!r}, the default is {documented_default(field.default)!r}"
                )


def test_every_variable_in_the_configuration_table_is_read_by_a_model() -> None:
    fields = {name for model in MODELS for name in model.model_fields}
    assert set(configuration_table()) - NOT_IN_A_MODEL == fields


def test_env_example_lists_every_setting() -> None:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    listed = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", text, flags=re.MULTILINE))
    missing = {name for model in MODELS for name in model.model_fields} - listed
    assert not missing, f".env.example lacks {sorted(missing)}"
