"""The ledger end to end: the logger counts, corrects and reconciles; the monitor reads history plus tail.

Property-style: random sequences of inserts, validations, re-validations, in-place edits, withdrawn
reviews, malformed documents and deletes, with logger ticks in between; the monitor's answers are
compared with scikit-learn on the predictions collection itself.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from bson import ObjectId
from flask.testing import FlaskClient
from pymongo.collection import Collection

from clara_common.days import day_start, today
from clara_common.settings import CommonSettings
from clara_logger import batches, history
from tests.utils.monitor_app import MakeMonitor
from tests.utils.monitor_databases import log_once
from tests.utils.reference import assert_metrics_equal, expected_confusion, expected_metrics, source_records
from tests.utils.settings import monitor_settings

pytestmark = pytest.mark.integration

DAYS = 6


def window(settings: CommonSettings) -> tuple[date, date]:
    last = today(settings.tz)
    return last - timedelta(days=DAYS - 1), last


def at(settings: CommonSettings, rng: random.Random) -> datetime:
    """Return a validation time on one of the window's days, before now."""
    first, _ = window(settings)
    when = day_start(first + timedelta(days=rng.randrange(DAYS)), settings.tz) + timedelta(
        seconds=rng.randrange(86_400)
    )
    return min(when, datetime.now(UTC) - timedelta(seconds=rng.randrange(1, 3600))).replace(microsecond=0)


def new_prediction(settings: CommonSettings, rng: random.Random, reviewed: bool) -> dict:
    predicted = rng.randrange(7)
    validated = at(settings, rng)
    doc = {
        "_id": ObjectId(),
        "filename": f"img-{rng.randrange(10**9)}.jpg",
        "output_prediction": predicted,
        "output_confidence": None if rng.random() < 0.1 else round(rng.random(), 3),
        "timestamp": validated - timedelta(hours=1),
        "output_validated": None,
        "timestamp_validated": None,
        "logged": False,
    }
    if reviewed:
        doc["output_validated"] = verdict(rng, predicted)
        doc["timestamp_validated"] = validated
    return doc


def verdict(rng: random.Random, predicted: int) -> int | bool:
    roll = rng.random()
    if roll < 0.05:
        return rng.random() < 0.5  # the legacy bool
    return predicted if roll < 0.75 else rng.randrange(7)


def review_now(collection: Collection, rng: random.Random, doc_id: object) -> None:
    """Give the prediction `doc_id` a random verdict (a review, or another review of it) now."""
    doc = collection.find_one({"_id": doc_id})
    change = {"output_validated": verdict(rng, doc["output_prediction"]), "timestamp_validated": datetime.now(UTC)}
    collection.update_one({"_id": doc["_id"]}, {"$set": change})


def live_change(collection: Collection, settings: CommonSettings, rng: random.Random) -> str:
    """Make one change of the kinds production makes while people read, and return its name."""
    ids = [d["_id"] for d in collection.find({}, {"_id": 1})]
    kind = rng.choice(["insert", "insert", "insert reviewed", "review", "review again", "malformed"])
    if kind in ("insert", "insert reviewed") or not ids:
        collection.insert_one(new_prediction(settings, rng, reviewed=kind == "insert reviewed"))
    elif kind == "review":
        pending = [d["_id"] for d in collection.find({"output_validated": None}, {"_id": 1})]
        if pending:
            review_now(collection, rng, rng.choice(pending))
    elif kind == "review again":
        review_now(collection, rng, rng.choice(ids))
    else:
        bad = new_prediction(settings, rng, reviewed=True)
        field, value = rng.choice(
            [
                ("output_validated", [1, 2]),
                ("output_prediction", {"id": 3}),
                ("output_confidence", "high"),
                ("filename", ["a.jpg"]),
            ]
        )
        collection.insert_one({**bad, field: value})
    return kind


def quiet_change(collection: Collection, settings: CommonSettings, rng: random.Random) -> str:
    """Make one change that no new validation time reveals: only a reconcile finds it."""
    ids = [d["_id"] for d in collection.find({"output_validated": {"$ne": None}}, {"_id": 1})]
    if not ids:
        return "none"
    target = rng.choice(ids)
    kind = rng.choice(["edit in place", "withdraw", "delete", "back-date", "old insert marked logged"])
    if kind == "edit in place":
        collection.update_one({"_id": target}, {"$set": {"output_validated": rng.randrange(7)}})
    elif kind == "withdraw":
        collection.update_one({"_id": target}, {"$set": {"output_validated": None}})
    elif kind == "delete":
        collection.delete_one({"_id": target})
    elif kind == "back-date":
        collection.update_one(
            {"_id": target}, {"$set": {"output_validated": rng.randrange(7), "timestamp_validated": at(settings, rng)}}
        )
    else:  # as the original CLARA logger left them: marked logged, never in this ledger
        collection.insert_one({**new_prediction(settings, rng, reviewed=True), "logged": True})
    return kind


def insert_correct_reviews(collection: Collection, settings: CommonSettings, day: date, count: int) -> None:
    """Insert `count` predictions of class 1, reviewed as right at 10:00 on local `day`, named 0.jpg, 1.jpg, …"""
    when = day_start(day, settings.tz) + timedelta(hours=10)
    collection.insert_many(
        [
            {
                "filename": f"{i}.jpg",
                "output_prediction": 1,
                "output_validated": 1,
                "timestamp": when,
                "timestamp_validated": when,
                "logged": False,
            }
            for i in range(count)
        ]
    )


def assert_answers_equal_the_source(client: FlaskClient, collection: Collection, settings: CommonSettings) -> None:
    first, last = window(settings)
    records, invalid = source_records(collection, settings, first, last)
    query = f"start_date={first}&end_date={last}"
    body = client.get(f"/api/metrics?{query}").get_json()
    assert_metrics_equal(body, expected_metrics(records, settings))
    assert body["invalid_records"] == invalid
    for day in (first + timedelta(days=i) for i in range(DAYS)):
        on_day = [r for r in records if r.timestamp_validated.astimezone(settings.tz).date() == day]
        assert body["daily_metrics"][day.isoformat()]["entries"] == len(on_day), day
    confusion = client.get(f"/api/confusion?{query}").get_json()
    assert confusion["matrix"] == expected_confusion(records, settings)
    daily = client.get(f"/api/class-metrics/daily?{query}").get_json()
    assert sum(d["count"] for d in daily["days"]) == len(records)


@pytest.mark.parametrize("seed", range(3))
def test_answers_stay_exact_while_predictions_and_reviews_arrive(db, settings, logger, client, seed) -> None:
    rng = random.Random(seed)
    collection = db[settings.PREDICTIONS_COLLECTION]
    collection.insert_many([new_prediction(settings, rng, reviewed=rng.random() < 0.7) for _ in range(120)])
    assert_answers_equal_the_source(client, collection, settings)  # no logger yet: all from the source
    for step in range(40):
        live_change(collection, settings, rng)
        if rng.random() < 0.2:
            logger.tick()
        if step % 8 == 7:
            assert_answers_equal_the_source(client, collection, settings)
    assert_answers_equal_the_source(client, collection, settings)


@pytest.mark.parametrize("seed", range(3))
def test_after_any_changes_one_tick_and_a_reconcile_make_the_history_equal_the_source(
    db, settings, logger, client, seed
):
    rng = random.Random(100 + seed)
    collection = db[settings.PREDICTIONS_COLLECTION]
    collection.insert_many([new_prediction(settings, rng, reviewed=rng.random() < 0.7) for _ in range(120)])
    logger.tick()
    for _ in range(40):
        (quiet_change if rng.random() < 0.4 else live_change)(collection, settings, rng)
        if rng.random() < 0.15:
            logger.tick()
    logger.tick()
    first, last = window(settings)
    logger.reconcile(first, last)
    # The history alone now equals the source: no tail is left to add.
    records, invalid = source_records(collection, settings, first, last)
    stored = {r["_id"]: r for r in history.history(db).find()}
    for day in (first + timedelta(days=i) for i in range(DAYS)):
        on_day = [r for r in records if r.timestamp_validated.astimezone(settings.tz).date() == day]
        assert stored.get(day.isoformat(), {}).get("count", 0) == len(on_day), day
    assert_answers_equal_the_source(client, collection, settings)
    body = client.get(f"/api/metrics?start_date={first}&end_date={last}").get_json()
    assert body["ledger"]["backlog"] == 0


def test_a_review_corrected_later_moves_between_days_exactly_once(db, settings, logger) -> None:
    collection = db[settings.PREDICTIONS_COLLECTION]
    first, last = window(settings)
    when = day_start(first, settings.tz) + timedelta(hours=10)
    doc = {
        "filename": "a.jpg",
        "output_prediction": 2,
        "output_confidence": 0.9,
        "output_validated": 2,
        "timestamp": when,
        "timestamp_validated": when,
        "logged": False,
    }
    collection.insert_one(doc)
    logger.tick()
    assert history.get_day(history.history(db), first)["confusion"] == {"2": {"2": 1}}

    collection.update_one(
        {"_id": doc["_id"]}, {"$set": {"output_validated": 4, "timestamp_validated": datetime.now(UTC)}}
    )
    report = logger.tick()
    again = logger.tick()

    assert (report.corrected, again.corrected) == (1, 0)
    assert history.get_day(history.history(db), first)["count"] == 0
    assert history.get_day(history.history(db), last)["confusion"] == {"4": {"2": 1}}
    record = batches.batches(db).find_one({"kind": "correction"})
    assert record["corrected"] == 1 and record["upload"]["state"] == batches.UPLOAD_OFF


def test_an_edit_that_keeps_its_time_waits_for_a_reconcile_which_reports_the_day(db, settings, logger, client) -> None:
    collection = db[settings.PREDICTIONS_COLLECTION]
    first, last = window(settings)
    insert_correct_reviews(collection, settings, first, 3)
    logger.tick()
    collection.update_one({}, {"$set": {"output_validated": 5}})
    collection.delete_one({"filename": "2.jpg"})
    logger.tick()
    url = f"/api/metrics?start_date={first}&end_date={first}"
    assert client.get(url).get_json()["total_validated"] == 3  # not seen yet: the documented limit

    repairs = logger.reconcile(first, last)

    body = client.get(url).get_json()
    assert (body["total_validated"], body["metrics"]["accuracy"]) == (2, 0.5)
    assert [(r.day, r.before["count"], r.after["count"]) for r in repairs] == [(first.isoformat(), 3, 2)]


def test_the_reconcile_command_prints_each_changed_day(db, settings, logger) -> None:
    collection = db[settings.PREDICTIONS_COLLECTION]
    first, _ = window(settings)
    insert_correct_reviews(collection, settings, first, 2)
    logger.tick()
    collection.delete_one({"filename": "0.jpg"})
    env = {**os.environ, "MONGODB_URI": settings.MONGODB_URI.get_secret_value(), "MONGODB_DB": settings.MONGODB_DB}
    done = subprocess.run(
        [sys.executable, "-m", "clara_logger.cli", "--reconcile", "--days", str(DAYS)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert f"repaired {first}: validated 2 -> 1, invalid 0 -> 0" in done.stdout
    assert "1 day(s) changed" in done.stdout


def test_a_history_in_another_time_zone_is_refused_until_rebuilt(
    db, settings, logger, make_monitor: MakeMonitor
) -> None:
    collection = db[settings.PREDICTIONS_COLLECTION]
    late_evening = datetime.now(UTC).replace(hour=23, minute=30, second=0, microsecond=0) - timedelta(days=2)
    collection.insert_one(
        {
            "filename": "a.jpg",
            "output_prediction": 1,
            "output_validated": 1,
            "timestamp": late_evening,
            "timestamp_validated": late_evening,
            "logged": False,
        }
    )
    logger.tick()  # in UTC
    madrid = monitor_settings(settings, TIMEZONE="Europe/Madrid")
    client = make_monitor(madrid)
    refused = client.get("/api/metrics")
    assert refused.status_code == 409
    assert "clara-logger --reconcile --all" in refused.get_json()["error"]
    env = {
        **os.environ,
        "MONGODB_URI": settings.MONGODB_URI.get_secret_value(),
        "MONGODB_DB": settings.MONGODB_DB,
        "TIMEZONE": "Europe/Madrid",
    }
    done = subprocess.run(
        [sys.executable, "-m", "clara_logger.cli", "--reconcile", "--all"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "rebuilt the history in TIMEZONE=Europe/Madrid from 1 logged predictions" in done.stdout
    next_day = (late_evening + timedelta(days=1)).date().isoformat()
    assert history.get_day(history.history(db), next_day)["count"] == 1
    client = make_monitor(madrid)
    body = client.get(f"/api/metrics?start_date={next_day}&end_date={next_day}").get_json()
    assert body["total_validated"] == 1


def test_status_says_absent_current_or_behind_with_the_backlog(db, settings, logger, client) -> None:
    collection = db[settings.PREDICTIONS_COLLECTION]
    rng = random.Random(5)
    collection.insert_many([new_prediction(settings, rng, reviewed=True) for _ in range(4)])
    absent = client.get("/api/status").get_json()
    logger.tick()
    collection.insert_one(new_prediction(settings, rng, reviewed=True))
    current = client.get("/api/status").get_json()
    assert (absent["state"], absent["backlog"]) == ("absent", 4)
    assert (current["state"], current["backlog"]) == ("current", 1)
    assert current["last_tick_at"] is not None
    # A logger that ticks every 6 ms, as it records in the ledger: behind after three intervals, 18 ms.
    log_once(settings, LOGGER_INTERVAL_MINUTES=0.0001)
    time.sleep(0.1)
    assert client.get("/api/status").get_json()["state"] == "behind"


def test_the_monitor_writes_nothing_to_the_database(db, settings, logger, make_monitor: MakeMonitor) -> None:
    collection = db[settings.PREDICTIONS_COLLECTION]
    rng = random.Random(8)
    collection.insert_many([new_prediction(settings, rng, reviewed=True) for _ in range(30)])
    logger.tick()
    collection.insert_many([new_prediction(settings, rng, reviewed=True) for _ in range(5)])

    def snapshot() -> dict:
        return {name: sorted(map(repr, db[name].find())) for name in sorted(db.list_collection_names())}

    before = snapshot()
    first, last = window(settings)
    client = make_monitor(monitor_settings(settings))  # built after the snapshot: building writes nothing either
    for route in (
        "/api/metrics",
        "/api/confusion",
        "/api/class-metrics/daily",
        "/api/drift",
        "/api/alerts",
        "/api/status",
        "/api/date-range",
        "/api/training-data",
        "/data",
        "/min-date",
        "/",
    ):
        assert client.get(f"{route}?start_date={first}&end_date={last}").status_code == 200, route
    assert snapshot() == before


def test_an_array_where_a_class_id_belongs_is_left_out_and_counted_everywhere(db, settings, logger, client) -> None:
    collection = db[settings.PREDICTIONS_COLLECTION]
    rng = random.Random(2)
    good = [new_prediction(settings, rng, reviewed=True) for _ in range(10)]
    bad = {**new_prediction(settings, rng, reviewed=True), "output_validated": [1, 2], "trained": True}
    collection.insert_many(good + [bad])
    first, last = window(settings)
    for route in ("/api/metrics", "/api/date-range", "/api/training-data"):
        assert client.get(f"{route}?start_date={first}&end_date={last}").status_code == 200, route
    before_logging = client.get(f"/api/metrics?start_date={first}&end_date={last}").get_json()
    report = logger.tick()
    after_logging = client.get(f"/api/metrics?start_date={first}&end_date={last}").get_json()
    assert report.quarantined == 1
    assert before_logging["invalid_records"] == after_logging["invalid_records"] == 1
    assert before_logging["total_validated"] == after_logging["total_validated"] == 10
