"""Traffic on the real test database: the logger's summary against an independent count, /api/traffic, and a
logger tick that opens (then resolves) a traffic incident when predictions stop."""

from __future__ import annotations

import random
import statistics
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from bson import ObjectId
from flask.testing import FlaskClient
from pymongo.database import Database

from clara_common.contract import Rejection, parse_prediction
from clara_common.db import make_client
from clara_common.ledger import ALERTS_COLLECTION, TRAFFIC_COLLECTION
from clara_common.settings import CommonSettings
from clara_logger.tick import LoggerService
from tests.utils.monitor_app import MakeMonitor
from tests.utils.settings import logger_settings, monitor_settings

pytestmark = pytest.mark.integration

ZONE = "Europe/Madrid"
FIELDS = ("predictions", "reviewed", "awaiting", "median_review_hours", "invalid")


def document(rng: random.Random, n: int, made: datetime, reviewed: bool) -> dict:
    """Return a prediction made at `made` (a BSON date, an ISO string with an offset or a local one), maybe reviewed."""
    zone = ZoneInfo(ZONE)
    roll = rng.random()
    stamp: object = made
    if roll < 0.1:
        stamp = made.astimezone(zone).isoformat()
    elif roll < 0.15:
        stamp = made.astimezone(zone).replace(tzinfo=None).isoformat()
    doc = {
        "_id": ObjectId(),
        "filename": f"t-{n}.jpg",
        "output_prediction": rng.randrange(7),
        "output_confidence": rng.random(),
        "output_validated": None,
        "timestamp": stamp,
        "timestamp_validated": None,
        "logged": False,
    }
    if reviewed:
        validated = min(made + timedelta(hours=rng.expovariate(1 / 20)), datetime.now(UTC) - timedelta(minutes=1))
        doc["output_validated"] = rng.randrange(7)
        doc["timestamp_validated"] = validated.replace(microsecond=0)
    return doc


def recount(db: Database, settings: CommonSettings) -> dict[str, dict]:
    """Return each local day's figures straight from the documents (statistics.median over the lags)."""
    zone = ZoneInfo(ZONE)
    days: dict[str, dict] = {}

    def day(name: str) -> dict:
        return days.setdefault(
            name, {"lags": [], "predictions": 0, "invalid": 0, "by_hour": [0] * 24, "reviews": [0] * 24}
        )

    for doc in db[settings.PREDICTIONS_COLLECTION].find():
        parsed = parse_prediction(doc, settings.classes, zone)
        if isinstance(parsed, Rejection):
            if isinstance(doc.get("timestamp"), datetime):
                day(doc["timestamp"].astimezone(zone).date().isoformat())["invalid"] += 1
            continue
        local = parsed.timestamp.astimezone(zone)
        entry = day(local.date().isoformat())
        entry["predictions"] += 1
        entry["by_hour"][local.hour] += 1
        if parsed.timestamp_validated is not None:
            entry["lags"].append((parsed.timestamp_validated - parsed.timestamp).total_seconds() / 3600)
            review = parsed.timestamp_validated.astimezone(zone)
            day(review.date().isoformat())["reviews"][review.hour] += 1
    return {
        name: {
            "predictions": d["predictions"],
            "reviewed": len(d["lags"]),
            "awaiting": d["predictions"] - len(d["lags"]),
            "median_review_hours": statistics.median(d["lags"]) if d["lags"] else None,
            "invalid": d["invalid"],
            "predictions_by_hour": d["by_hour"],
            "reviews_by_hour": d["reviews"],
        }
        for name, d in days.items()
    }


def assert_summary_is_a_recount(db: Database, settings: CommonSettings) -> dict[str, dict]:
    want = recount(db, settings)
    stored = {doc.pop("_id"): doc for doc in db[TRAFFIC_COLLECTION].find()}
    assert set(want) <= set(stored), sorted(set(want) - set(stored))
    empty = {"predictions": 0, "reviewed": 0, "awaiting": 0, "median_review_hours": None, "invalid": 0}
    for name, doc in stored.items():
        expected = want.get(name, {**empty, "predictions_by_hour": [0] * 24, "reviews_by_hour": [0] * 24})
        got = {key: doc[key] for key in expected}
        median, wanted_median = got.pop("median_review_hours"), expected.pop("median_review_hours")
        assert got == expected, name
        assert median == pytest.approx(wanted_median), name  # hours from seconds: rounding only
    return want


def fill(db: Database, settings: CommonSettings, rng: random.Random, days: int, per_day: int, first: int = 0) -> None:
    now = datetime.now(UTC)
    docs = []
    for n in range(first, first + days * per_day):
        made = now - timedelta(seconds=rng.uniform(120, days * 86_400))
        docs.append(document(rng, n, made.replace(microsecond=0), reviewed=rng.random() < 0.6))
    db[settings.PREDICTIONS_COLLECTION].insert_many(docs)


def test_the_summary_equals_a_direct_count_after_inserts_reviews_and_hostile_documents(
    db: Database, settings: CommonSettings
) -> None:
    rng = random.Random(5)
    collection = db[settings.PREDICTIONS_COLLECTION]
    fill(db, settings, rng, days=10, per_day=40)
    at = datetime.now(UTC) - timedelta(days=2)
    collection.insert_many(
        [
            {"filename": "h.jpg", "output_prediction": 99, "timestamp": at, "output_validated": None},
            {"filename": "h.jpg", "output_prediction": 1, "timestamp": at, "output_validated": 2},  # no review time
            {"filename": "h.jpg", "output_prediction": 1, "timestamp": "not a time", "output_validated": None},
        ]
    )
    with make_client(settings) as client:
        logger = LoggerService(logger_settings(settings, TIMEZONE=ZONE), client)
        logger.tick()
        first = assert_summary_is_a_recount(db, settings)
        assert sum(day["invalid"] for day in first.values()) == 2
        # Reviews of older days' predictions, and new predictions: the next tick recounts those days.
        for doc in collection.find({"output_validated": None, "timestamp": {"$type": "date"}}).limit(30):
            collection.update_one(
                {"_id": doc["_id"]},
                {"$set": {"output_validated": 1, "timestamp_validated": datetime.now(UTC) - timedelta(seconds=5)}},
            )
        fill(db, settings, rng, days=1, per_day=30, first=10_000)
        logger.tick()
        assert_summary_is_a_recount(db, settings)


def test_api_traffic_answers_from_the_summary_and_without_a_logger_from_the_predictions(
    db: Database, settings: CommonSettings, make_monitor: MakeMonitor
) -> None:
    fill(db, settings, random.Random(6), days=6, per_day=30)
    want = recount(db, settings)
    today = datetime.now(ZoneInfo(ZONE)).date()
    query = f"/api/traffic?start_date={today - timedelta(days=7)}&end_date={today}"
    served = monitor_settings(settings, TIMEZONE=ZONE)
    client = make_monitor(served)
    before = client.get(query).get_json()
    with make_client(settings) as mongo:
        LoggerService(logger_settings(settings, TIMEZONE=ZONE), mongo).tick()
    client = make_monitor(served)
    after = client.get(query).get_json()
    assert (before["source"], after["source"]) == ("predictions", "summary")
    assert before["days"] == after["days"]
    assert [d["day"] for d in after["days"]] == [(today - timedelta(days=7 - k)).isoformat() for k in range(8)]
    for row in after["days"]:
        expected = want.get(row["day"])
        if expected is None:
            assert row == {"day": row["day"], **{k: None if k == "median_review_hours" else 0 for k in FIELDS}}
        else:
            assert {k: row[k] for k in FIELDS} == pytest.approx({k: expected[k] for k in FIELDS}), row["day"]
    assert after["timezone"] == ZONE and after["as_of"] is not None


@pytest.mark.parametrize(
    "query",
    [
        "start_date=2026-13-01",
        "start_date=yesterday",
        "start_date=2026-03-05&end_date=2026-03-01",
        "start_date=2024-01-01&end_date=2026-01-01",
    ],
)
def test_api_traffic_refuses_a_bad_range_with_a_400(db: Database, client: FlaskClient, query: str) -> None:
    answer = client.get(f"/api/traffic?{query}")
    assert answer.status_code == 400 and "error" in answer.get_json()


def test_a_logger_tick_opens_a_traffic_incident_when_predictions_every_few_minutes_stopped_8_hours_ago(
    db: Database, settings: CommonSettings, logger: LoggerService
) -> None:
    collection = db[settings.PREDICTIONS_COLLECTION]
    stopped = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=8)
    every = timedelta(minutes=5)
    made = [stopped - every * k for k in range(30 * 24 * 12)]
    rng = random.Random(7)
    # BSON dates and ISO strings with an offset: exact times whatever the logger's TIMEZONE.
    docs = [document(rng, n, when, reviewed=False) for n, when in enumerate(made)]
    stamps = [when.isoformat() if n % 10 == 0 else when for n, when in enumerate(made)]
    collection.insert_many([{**doc, "timestamp": stamp} for doc, stamp in zip(docs, stamps)])
    logger.tick()
    incidents = list(db[ALERTS_COLLECTION].find({"kind": "traffic"}))
    assert [(i["metric"], i["status"]) for i in incidents] == [("predictions", "open")]
    opened = incidents[0]
    assert opened["since"] == stopped.astimezone(logger.settings.tz).date().isoformat()
    assert opened["last_event_at"] == stopped
    assert 7.9 < opened["silent_hours"] < 8.2 and opened["reference"] > 60
    assert opened["text"].startswith("no prediction for 8.0 h since")
    # Predictions again: the next tick resolves it, today, and opens nothing new.
    again = datetime.now(UTC) - timedelta(minutes=1)
    collection.insert_one({**document(rng, 10**6, again, reviewed=False), "timestamp": again})
    logger.tick()
    incidents = list(db[ALERTS_COLLECTION].find({"kind": "traffic"}))
    assert [(i["metric"], i["status"]) for i in incidents] == [("predictions", "resolved")]
    assert incidents[0]["resolved_day"] == datetime.now(logger.settings.tz).date().isoformat()
