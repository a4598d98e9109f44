"""The seed's planted event, found by the logger as drift, raised as alerts, and sent once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from pytest_httpserver import HTTPServer

from clara_common.db import make_client
from clara_logger import alerts, history
from clara_logger.drift import DRIFT, IN_REFERENCE
from clara_logger.tick import LoggerService
from clara_seed.generator import SeedPlan, generate
from clara_seed.loader import insert_missing
from tests.utils.settings import logger_settings

pytestmark = pytest.mark.integration

END = date(2026, 5, 31)
PLAN = SeedPlan(end=END, days=40, per_day=200, seed=42)


@pytest.fixture
def seeded(db, settings):
    now = datetime.combine(END + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    insert_missing(db[settings.PREDICTIONS_COLLECTION], generate(PLAN, settings.classes, settings.tz, now=now))
    return db


def test_the_planted_event_is_found_as_drift_and_low_accuracy_and_alerted_once(
    seeded, settings, httpserver: HTTPServer
):
    settings = logger_settings(
        settings,
        ALERT_WEBHOOK_URL=httpserver.url_for("/hook"),
        ALERT_MIN_ACCURACY=0.8,
        LOGGER_RETRY_MIN_SECONDS=0.05,
        LOGGER_RETRY_MAX_SECONDS=0.05,
    )
    for _ in range(2):  # the first deliveries fail: they must be retried, not lost nor doubled
        httpserver.expect_oneshot_request("/hook", method="POST").respond_with_data(status=500)
    httpserver.expect_request("/hook", method="POST").respond_with_data()
    with make_client(settings) as client:
        logger = LoggerService(settings, client)
        logger.tick()
        for _ in range(3):
            logger.tick()  # retries what failed; raises nothing new

    records = {r["_id"]: r for r in history.days(history.history(seeded))}
    event_days = [d for d, r in records.items() if d >= PLAN.event_start.isoformat() and r["count"] >= 50]
    before = [
        d
        for d, r in records.items()
        if d < PLAN.event_start.isoformat()
        and r["count"] >= 50
        and r["drift"]["confidence"]["category"] != IN_REFERENCE
    ]
    drifting = {
        d
        for d, r in records.items()
        if any(f["category"] == DRIFT for f in r["drift"].values() if isinstance(f, dict) and "category" in f)
    }
    assert len(event_days) >= 12 and len(before) >= 8
    assert len(drifting & set(event_days)) >= len(event_days) // 2
    assert len(drifting & set(before)) <= 1

    low_accuracy = {
        d for d, r in records.items() if r["count"] >= settings.ALERT_MIN_SAMPLES and r["metrics"]["accuracy"] < 0.8
    }
    assert low_accuracy and all(d >= PLAN.event_start.isoformat() for d in low_accuracy)

    stored = list(alerts.alerts(seeded).find())
    assert {a["_id"] for a in stored if a["kind"] == "drift"} == {f"drift:{d}" for d in drifting}
    assert {a["_id"] for a in stored if a["kind"] == "accuracy"} == {f"accuracy:{d}" for d in low_accuracy}
    assert all(a["webhook"]["state"] == alerts.SENT for a in stored)
    httpserver.check()  # every delivery found its handler
    statuses = [response.status_code for _, response in httpserver.log]
    received = [request.get_json() for request, response in httpserver.log if response.status_code == 200]
    keys = [body["key"] for body in received]
    assert sorted(keys) == sorted(a["_id"] for a in stored)  # each alert delivered exactly once
    assert statuses == [500, 500] + [200] * len(keys)
    assert all(body["text"].startswith(":") and "CLARA" in body["text"] for body in received)
