"""The databases the monitor's tests point it at: clara-seed's sample predictions in a database of the test's own,
and one that never answers; and the environment that points a clara-monitor process at one."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from flask.testing import FlaskClient
from pymongo import MongoClient

from clara_common.days import today
from clara_common.db import ensure_indexes, make_client, predictions
from clara_common.embedded import free_port
from clara_common.settings import CommonSettings
from clara_logger.tick import LoggerService
from clara_monitor.settings import MonitorSettings
from clara_seed.generator import SeedPlan, generate
from tests.utils.settings import logger_settings


def sample_predictions(
    settings: CommonSettings, days: int, per_day: int, seed: int, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Return clara-seed's sample predictions of the `days` days up to today (reviews after `now` left pending)."""
    plan = SeedPlan(end=today(settings.tz), days=days, per_day=per_day, seed=seed)
    return list(generate(plan, settings.classes, settings.tz, now))


def log_once(settings: CommonSettings, **changes: Any) -> None:
    """Run one tick of a logger on `settings`' database, with default settings but `changes` (say, its interval,
    which it records in the ledger for the monitor)."""
    with make_client(settings) as client:
        LoggerService(logger_settings(settings, **changes), client).tick()


@contextmanager
def sample_database(
    mongo_uri: str,
    mongo_client: MongoClient,
    prefix: str,
    *,
    days: int,
    per_day: int,
    seed: int,
    logged: bool = False,
    now: datetime | None = None,
    **changes: Any,
) -> Iterator[MonitorSettings]:
    """Yield the monitor's settings (`changes` applied) of a database of its own on `mongo_uri`, named `prefix` and a
    random suffix, indexed and holding the sample predictions of the last `days` days, logged by one logger tick
    if `logged` (the `changes` that are the logger's only, its interval say, apply to it); drop the database
    afterwards."""
    logger_changes = {name: value for name, value in changes.items() if name not in MonitorSettings.model_fields}
    if logger_changes and not logged:
        raise ValueError(f"{sorted(logger_changes)}: settings of the logger, and this database is not logged")
    settings = MonitorSettings.from_env(
        {},
        MONGODB_URI=mongo_uri,
        MONGODB_DB=f"{prefix}_{uuid.uuid4().hex[:8]}",
        **{name: value for name, value in changes.items() if name not in logger_changes},
    )
    try:
        ensure_indexes(mongo_client, settings)
        predictions(mongo_client, settings).insert_many(sample_predictions(settings, days, per_day, seed, now))
        if logged:
            log_once(settings, **logger_changes)
        yield settings
    finally:
        mongo_client.drop_database(settings.MONGODB_DB)


def monitor_env(settings: MonitorSettings, **extra: str) -> dict[str, str]:
    """Return the environment that points clara-monitor at `settings`' database, with their time zone and database
    timeout, and `extra` added (the logger's interval is the one it recorded in the ledger)."""
    return {
        "MONGODB_URI": settings.MONGODB_URI.get_secret_value(),
        "MONGODB_DB": settings.MONGODB_DB,
        "TIMEZONE": settings.TIMEZONE,
        "MONITOR_DB_TIMEOUT_MS": str(settings.MONITOR_DB_TIMEOUT_MS),
        **extra,
    }


def unreachable_settings(**changes: Any) -> MonitorSettings:
    """Return the monitor's settings (`changes` applied) of a database that never answers: nothing listens on its
    port, and the monitor gives up on it after 300 ms."""
    return MonitorSettings.from_env(
        {}, MONGODB_URI=f"mongodb://127.0.0.1:{free_port()}", MONITOR_DB_TIMEOUT_MS=300, **changes
    )


def answers_with_the_database_down(client: FlaskClient, routes: Iterable[str]) -> dict[str, Any]:
    """Return each route's JSON answer from `client`, a monitor whose database never answers (unreachable_settings'),
    asserting that it is a 503."""
    bodies: dict[str, Any] = {}
    for route in routes:
        answer = client.get(route)
        assert answer.status_code == 503, route
        bodies[route] = answer.get_json()
    return bodies
