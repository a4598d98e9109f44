"""Settings: defaults, environment parsing, clear errors, secrets kept out of repr."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clara_common.classes import ClassConfigError
from clara_common.settings import PUBLIC_WHYLABS_ENDPOINT, Settings, SettingsError


def test_defaults_match_the_original_deployment() -> None:
    settings = Settings.from_env({})
    assert settings.MONGODB_URI == "mongodb://localhost:27017"
    assert (settings.MONGODB_DB, settings.PREDICTIONS_COLLECTION) == ("clara", "image_logs")
    assert (settings.TIMEZONE, settings.MONITOR_PORT, settings.LOGGER_INTERVAL_MINUTES) == ("UTC", 5004, 2.0)
    assert settings.WHYLABS_API_ENDPOINT == PUBLIC_WHYLABS_ENDPOINT
    assert settings.whylabs_enabled is False


def test_environment_values_are_parsed_to_their_types() -> None:
    settings = Settings.from_env(
        {"MONITOR_PORT": "8080", "LOGGER_INTERVAL_MINUTES": "0.5", "ALERT_MIN_ACCURACY": "0.7", "TIMEZONE": "Europe/Madrid"}
    )
    assert (settings.MONITOR_PORT, settings.LOGGER_INTERVAL_MINUTES, settings.ALERT_MIN_ACCURACY) == (8080, 0.5, 0.7)
    assert str(settings.tz) == "Europe/Madrid"


def test_empty_values_fall_back_to_defaults() -> None:
    settings = Settings.from_env({"MONGODB_DB": "", "WHYLABS_API_KEY": "  "})
    assert settings.MONGODB_DB == "clara" and settings.WHYLABS_API_KEY is None


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
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})


def test_secrets_stay_out_of_repr_and_errors() -> None:
    settings = Settings.from_env({"WHYLABS_API_KEY": "sk-very-secret", "MONGODB_URI": "mongodb://u:pw@db:27017"})
    assert "sk-very-secret" not in repr(settings) and "pw@" not in repr(settings)
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"ALERT_WEBHOOK_URL": "https://hooks.example/x", "MONGODB_TIMEOUT_MS": "soon"})
    assert "hooks.example" not in str(raised.value)


def test_whylabs_needs_all_three_credentials() -> None:
    partial = {"WHYLABS_API_KEY": "k", "WHYLABS_DEFAULT_ORG_ID": "org-1"}
    assert Settings.from_env(partial).whylabs_enabled is False
    assert Settings.from_env({**partial, "WHYLABS_DEFAULT_DATASET_ID": "model-1"}).whylabs_enabled is True


def test_classes_come_from_the_file_named_in_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "classes.json"
    path.write_text(json.dumps({"classes": [{"id": 0, "name": "paper", "color": "#00f", "training_count": 3}]}))
    classes = Settings.from_env({"CLASSES_FILE": str(path)}).classes
    assert classes.names == ("paper",) and classes.training_counts() == {"paper": 3}


def test_default_classes_are_the_seven_clara_containers() -> None:
    classes = Settings.from_env({}).classes
    assert dict(zip(classes.ids, classes.names, strict=True)) == {
        0: "SIGRE", 1: "blue", 2: "brown", 3: "green", 4: "green_point", 5: "grey", 6: "yellow",
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
        _ = Settings.from_env({"CLASSES_FILE": str(path)}).classes


def test_missing_class_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ClassConfigError, match="cannot read"):
        _ = Settings.from_env({"CLASSES_FILE": str(tmp_path / "nope.json")}).classes
