"""Under Compose, every setting a service reads reaches it from .env, and nothing else is passed.

compose.yaml's `environment:` of each CLARA service is compared with the fields of that service's
settings model, both ways; .env.example may list only what a service or Compose itself reads. Then the
Compose command installed here (`docker compose` or Debian's docker-compose; no engine is needed) renders
a fresh copy of compose.yaml: without a .env each service gets its model's defaults, and with a .env that
sets every setting each value reaches every service that reads it.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic.fields import FieldInfo

from clara_common.settings import CommonSettings
from clara_logger.settings import LoggerSettings
from clara_monitor.settings import MonitorSettings
from tests.utils.compose import compose_command

REPO = Path(__file__).resolve().parents[2]
# Each CLARA service of compose.yaml and the settings model it builds from its environment.
SERVICES: dict[str, type[CommonSettings]] = {
    "mongo-seed": CommonSettings,
    "logger": LoggerSettings,
    "monitor": MonitorSettings,
}

# Settings that compose.yaml deliberately does not pass from .env.
NOT_PASSED = {
    # The bundled database's passwords are files in each service's secret volume (MONGODB_PASSWORD_FILE,
    # passed with that default): a MONGODB_PASSWORD beside it would make both set, which is refused.
    # A password given as a value goes in a compose.override.yaml, with MONGODB_PASSWORD_FILE emptied.
    "MONGODB_PASSWORD",
    # In .env, the port (or range of ports, for --scale) the dashboard is published on; inside its
    # container the monitor always listens on 5004.
    "MONITOR_PORT",
}
# Variables compose.yaml passes that no settings model declares.
NOT_A_FIELD = {
    # Read by clara_common.logs before any settings are, so that a settings error is logged at that level.
    "LOG_LEVEL",
}
# Variables of .env.example that Compose itself reads, in compose.yaml or in the one-shots that read the
# project's .env (the database users' and Grafana's passwords): no service's settings.
COMPOSE_ONLY = {
    "BASE_IMAGE",
    "MONGO_IMAGE",
    "MONGO_ROOT_USERNAME",
    "MONGO_ROOT_PASSWORD",
    "MONGO_MONITOR_PASSWORD",
    "MONGO_LOGGER_PASSWORD",
    "MONGO_SEED_PASSWORD",
    "MONITOR_HOST",
    "PROMETHEUS_IMAGE",
    "PROMETHEUS_HOST",
    "PROMETHEUS_PORT",
    "GRAFANA_IMAGE",
    "GRAFANA_HOST",
    "GRAFANA_PORT",
    "GRAFANA_ADMIN_PASSWORD",
}
# Settings whose value without a .env is the deployment's, not the model's default.
DEPLOYMENT_DEFAULTS = {
    "MONGODB_URI",  # the bundled `mongo`, as the service's own user
    "MONGODB_PASSWORD_FILE",  # that user's password, in the service's secret volume
    "LOGGER_HEARTBEAT_FILE",  # the file the logger's healthcheck reads
}
# The values a .env sets below, where the model's default cannot simply be changed.
CHOSEN = {
    "MONGODB_URI": "mongodb://clara@db.example:27017/?authSource=admin",
    "TIMEZONE": "Europe/Madrid",
    "DRIFT_ALGORITHM": "hellinger",
    "DRIFT_CLASS_REFERENCE": "training",
    "ALERT_MIN_ACCURACY": "0.7",
    "LOG_LEVEL": "DEBUG",
}


def compose_environment(service: str) -> dict[str, Any]:
    """Return the `environment:` of `service` as compose.yaml writes it (its `<<:` merges applied)."""
    compose = yaml.safe_load((REPO / "compose.yaml").read_text(encoding="utf-8"))
    environment: dict[str, Any] = compose["services"][service]["environment"]
    return environment


def fields(service: str) -> set[str]:
    return set(SERVICES[service].model_fields)


def env_example_names() -> set[str]:
    text = (REPO / ".env.example").read_text(encoding="utf-8")
    return set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", text, flags=re.MULTILINE))


@pytest.mark.parametrize("service", SERVICES)
def test_compose_passes_every_setting_the_service_reads(service: str) -> None:
    missing = fields(service) - NOT_PASSED - set(compose_environment(service))
    assert not missing, f"compose.yaml does not pass {sorted(missing)} to {service}: set in .env, they do nothing"


@pytest.mark.parametrize("service", SERVICES)
def test_compose_passes_nothing_the_service_does_not_read(service: str) -> None:
    passed = set(compose_environment(service))
    assert passed - fields(service) == NOT_A_FIELD
    assert not passed & NOT_PASSED


def test_every_variable_of_env_example_is_read_by_a_service_or_by_compose() -> None:
    read = {name for service in SERVICES for name in fields(service)} | NOT_A_FIELD
    unread = env_example_names() - read
    assert unread == COMPOSE_ONLY, f"read by nothing: {sorted(unread - COMPOSE_ONLY)}"


def rendered_environments(tmp_path: Path, dotenv: str | None) -> dict[str, dict[str, str]]:
    """Return each CLARA service's environment as `compose config` renders a fresh copy with `dotenv`.

    None means no .env at all (a fresh clone). Only the .env gives Compose a value: not the caller's shell.
    """
    project = tmp_path / "clara"
    project.mkdir()
    shutil.copy2(REPO / "compose.yaml", project / "compose.yaml")
    shutil.copytree(REPO / "deploy", project / "deploy")
    if dotenv is not None:
        (project / ".env").write_text(dotenv, encoding="utf-8")
    done = subprocess.run(
        [*compose_command(), "config"],
        cwd=project,
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path), "LANG": "C.UTF-8"},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    rendered = yaml.safe_load(done.stdout)["services"]
    return {
        service: {name: str(value) for name, value in rendered[service]["environment"].items()} for service in SERVICES
    }


def chosen_value(name: str, field: FieldInfo) -> str:
    """Return a valid value of setting `name` other than its default."""
    if name in CHOSEN:
        return CHOSEN[name]
    default = field.default
    if isinstance(default, int):
        return str(default + 1)
    if isinstance(default, float):
        return str(default / 2)
    return f"chosen-{name.lower()}"  # text, secrets, and the settings unset by default


def test_without_env_every_service_gets_its_models_defaults(tmp_path: Path) -> None:
    """A fresh clone's `docker compose up`: every setting is its model's default, and each model builds."""
    for service, environment in rendered_environments(tmp_path, None).items():
        model = SERVICES[service]
        settings = model.from_env(environment)
        for name, field in model.model_fields.items():
            if name not in DEPLOYMENT_DEFAULTS:
                assert getattr(settings, name) == field.default, f"{service}: {name}"
        assert isinstance(logging.getLevelNamesMapping().get(environment["LOG_LEVEL"]), int)


def test_a_setting_in_env_reaches_every_service_that_reads_it(tmp_path: Path) -> None:
    settable = {
        name: chosen_value(name, field)
        for model in SERVICES.values()
        for name, field in model.model_fields.items()
        if name not in NOT_PASSED
    }
    settable["LOG_LEVEL"] = CHOSEN["LOG_LEVEL"]
    dotenv = "".join(f"{name}={value}\n" for name, value in sorted(settable.items()))
    for service, environment in rendered_environments(tmp_path, dotenv).items():
        model = SERVICES[service]
        for name in (fields(service) - NOT_PASSED) | NOT_A_FIELD:
            assert environment.get(name) == settable[name], f"{name} set in .env does not reach {service}"
        settings = model.from_env(environment)
        for name, field in model.model_fields.items():
            if name not in NOT_PASSED:
                assert getattr(settings, name) != field.default, f"{service}: {name} kept its default"
