"""Hostile documents against the real database: every shape is left out and counted, by the logger and the
monitor alike, and a review validated in the future waits until it is due."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

import pytest
from bson import ObjectId
from flask.testing import FlaskClient

from clara_common.days import day_start, local_day, today
from clara_common.db import make_client
from clara_common.settings import CommonSettings
from clara_logger import batches, history
from clara_logger.tick import LoggerService
from tests.utils.monitor_app import MakeMonitor
from tests.utils.settings import logger_settings, monitor_settings

pytestmark = pytest.mark.integration

DAYS = 4


@contextmanager
def logger_for(settings: CommonSettings) -> Iterator[LoggerService]:
    with make_client(settings) as client:
        yield LoggerService(logger_settings(settings), client)


@pytest.fixture
def new_york(settings: CommonSettings) -> CommonSettings:
    """Settings west of UTC, where a year-1 date has no local day."""
    return settings.replace(TIMEZONE="America/New_York")


def window(settings: CommonSettings) -> tuple[date, date]:
    last = today(settings.tz)
    return last - timedelta(days=DAYS - 1), last


def noon(settings: CommonSettings, days_ago: int) -> datetime:
    """Return local noon `days_ago` days ago (or an hour ago, if that is earlier), as a UTC instant."""
    when = day_start(today(settings.tz) - timedelta(days=days_ago), settings.tz) + timedelta(hours=12)
    return min(when, datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)


def reviewed(settings: CommonSettings, index: int, **changes: object) -> dict:
    """Return a valid reviewed prediction, predicted and validated inside the window, with `changes` applied."""
    when = noon(settings, index % DAYS)
    doc = {
        "_id": ObjectId(),
        "filename": f"img-{index}.jpg",
        "output_prediction": index % 7,
        "output_confidence": 0.8,
        "output_validated": (index * 3) % 7,
        "timestamp": when - timedelta(minutes=5),
        "timestamp_validated": when,
        "logged": False,
    }
    for name, value in changes.items():
        if value is ...:
            doc.pop(name)
        else:
            doc[name] = value
    return doc


def hostile_shapes(settings: CommonSettings) -> dict[str, dict]:
    """Return one reviewed document per hostile shape, each predicted inside the window."""
    today_text = today(settings.tz).isoformat()
    shapes = {
        "validation time a number": {"timestamp_validated": 1767225600},
        "validation time garbage": {"timestamp_validated": "yesterday at noon"},
        "validation time with a bad offset": {"timestamp_validated": f"{today_text}T09:30:00+25:00"},
        "validation time a BSON date in year 1": {"timestamp_validated": datetime(1, 1, 1, tzinfo=UTC)},
        "validation time a BSON date in year 9999": {"timestamp_validated": datetime(9999, 12, 31, tzinfo=UTC)},
        "validation time an array": {"timestamp_validated": [noon(settings, 1)]},
        "logged a string": {"logged": "yes"},
        "trained a string": {"trained": "yes"},
        "class id an object": {"output_prediction": {"id": 3}},
        "filename an array": {"filename": ["a.jpg"]},
    }
    return {name: reviewed(settings, 100 + i, **changes) for i, (name, changes) in enumerate(shapes.items())}


def metrics(client: FlaskClient, first: date, last: date) -> dict:
    answer = client.get(f"/api/metrics?start_date={first}&end_date={last}")
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def test_every_hostile_shape_is_left_out_and_counted_by_the_logger_and_the_monitor_alike(
    db, new_york, make_monitor: MakeMonitor
) -> None:
    settings = new_york
    collection = db[settings.PREDICTIONS_COLLECTION]
    good = [reviewed(settings, i) for i in range(12)]
    hostile = hostile_shapes(settings)
    collection.insert_many(good + list(hostile.values()))
    first, last = window(settings)

    client = make_monitor(monitor_settings(settings))
    with logger_for(settings) as logger:
        before = metrics(client, first, last)  # no logger yet: all from the source
        report = logger.tick()
        after = metrics(client, first, last)
        repairs = logger.reconcile(first, last)
        reconciled = metrics(client, first, last)
        bounds = client.get("/api/date-range")

    assert report.quarantined == len(hostile)
    assert before["total_validated"] == after["total_validated"] == reconciled["total_validated"] == len(good)
    assert before["invalid_records"] == after["invalid_records"] == reconciled["invalid_records"] == len(hostile)
    assert sum(r["invalid"] for r in history.history(db).find()) == len(hostile)
    assert repairs == []  # the reconcile finds every invalid record where the batch put it
    set_aside = {d["_id"]: d for d in collection.find({"logged_error": {"$exists": True}})}
    assert set(set_aside) == {d["_id"] for d in hostile.values()}
    # Set aside as written: a hostile `logged` is not replaced by the logger's own flag.
    assert set_aside[hostile["logged a string"]["_id"]]["logged"] == "yes"
    assert bounds.status_code == 200, bounds.get_json()
    assert "2000-01-01" <= bounds.get_json()["min_date"] <= bounds.get_json()["max_date"] <= last.isoformat()


def test_a_review_without_a_validation_time_is_counted_on_its_prediction_day_once_set_aside(
    db, settings, client
) -> None:
    collection = db[settings.PREDICTIONS_COLLECTION]
    doc = reviewed(settings, 2, timestamp_validated=...)
    collection.insert_one(doc)
    day = local_day(doc["timestamp"], settings.tz)
    with logger_for(settings) as logger:
        report = logger.tick()
        body = metrics(client, day, day)
        assert logger.reconcile(day, day) == []
    assert report.quarantined == 1
    assert (body["total_validated"], body["invalid_records"]) == (0, 1)
    assert history.get_day(history.history(db), day.isoformat())["invalid"] == 1


def test_a_logged_flag_that_is_a_string_is_claimed_and_counted_even_after_the_corrections_watermark(
    db, settings, client
) -> None:
    collection = db[settings.PREDICTIONS_COLLECTION]
    first, last = window(settings)
    with logger_for(settings) as logger:
        logger.tick()  # the ledger exists: the monitor reads the history plus the tail from now on
        collection.insert_one(reviewed(settings, 3, logged="no"))  # validated days ago, before the watermark
        logger.tick()
        body = metrics(client, first, last)
    assert body["invalid_records"] == 1
    assert collection.find_one({})["logged"] == "no"


def test_a_review_validated_in_the_future_waits_unclaimed_until_due(db, settings, make_monitor: MakeMonitor) -> None:
    collection = db[settings.PREDICTIONS_COLLECTION]
    now = datetime.now(UTC).replace(microsecond=0)
    early = reviewed(settings, 1, timestamp_validated=now + timedelta(minutes=30))
    early_text = reviewed(settings, 2, timestamp_validated=(now + timedelta(minutes=30)).isoformat())
    within_skew = reviewed(settings, 3, timestamp_validated=now + timedelta(minutes=5))
    far = reviewed(settings, 4, timestamp_validated=now + timedelta(days=2))
    collection.insert_many([early, early_text, within_skew, far])
    first, last = today(settings.tz) - timedelta(days=1), today(settings.tz) + timedelta(days=3)

    client = make_monitor(monitor_settings(settings))
    with logger_for(settings) as logger:
        report = logger.tick()
        waiting = metrics(client, first, last)
        bounds = client.get("/api/date-range").get_json()
    untouched = {
        d["_id"]
        for d in collection.find(
            {"logged": False, "logger_batch": {"$exists": False}, "logged_error": {"$exists": False}}
        )
    }
    assert untouched == {early["_id"], early_text["_id"], far["_id"]}
    assert (report.logged, report.quarantined) == (1, 0)
    assert (waiting["total_validated"], waiting["invalid_records"]) == (1, 3)  # invalid for now
    assert bounds["max_date"] <= bounds["today"]

    later = settings.replace(MAX_CLOCK_SKEW_MINUTES=60.0)  # as if half an hour had passed
    client = make_monitor(monitor_settings(later))
    with logger_for(later) as logger:
        report = logger.tick()
        due = metrics(client, first, last)
    assert (report.logged, report.quarantined) == (2, 0)
    assert (due["total_validated"], due["invalid_records"]) == (3, 1)
    assert collection.count_documents({"logged_error": {"$exists": True}}) == 0


def test_a_correction_into_the_future_waits_and_then_moves_once(db, settings, make_monitor: MakeMonitor) -> None:
    collection = db[settings.PREDICTIONS_COLLECTION]
    doc = reviewed(settings, 2, output_validated=2, output_prediction=2)
    collection.insert_one(doc)
    old_day = local_day(doc["timestamp_validated"], settings.tz)
    first, last = old_day, today(settings.tz) + timedelta(days=1)
    with logger_for(settings) as logger:
        logger.tick()
        bound = collection.find_one({"_id": doc["_id"]})["logger_batch"]
        soon = datetime.now(UTC) + timedelta(minutes=30)
        collection.update_one({"_id": doc["_id"]}, {"$set": {"output_validated": 4, "timestamp_validated": soon}})
        report = logger.tick()
    assert report.corrected == 0
    assert collection.find_one({"_id": doc["_id"]})["logger_batch"] == bound
    waiting = metrics(make_monitor(monitor_settings(settings)), first, last)
    assert (waiting["total_validated"], waiting["invalid_records"]) == (0, 1)

    later = settings.replace(MAX_CLOCK_SKEW_MINUTES=60.0)
    client = make_monitor(monitor_settings(later))
    with logger_for(later) as logger:
        report = logger.tick()
        again = logger.tick()
        due = metrics(client, first, last)
    assert (report.corrected, again.corrected) == (1, 0)
    assert (due["total_validated"], due["invalid_records"], due["class_counts"]) == (
        1,
        0,
        {**{name: 0 for name in due["class_counts"]}, settings.classes.name_of(4): 1},
    )
    assert history.get_day(history.history(db), old_day.isoformat())["count"] == 0


def test_a_review_moved_into_the_future_between_the_look_and_the_claim_is_released(db, settings) -> None:
    collection = db[settings.PREDICTIONS_COLLECTION]
    doc = reviewed(settings, 1, timestamp_validated=(datetime.now(UTC) + timedelta(hours=2)).isoformat())
    collection.insert_one(doc)
    records = batches.batches(db)
    # A logger looked when the review was due, claimed after it moved ahead, and died before processing it.
    batch_id = batches.open_batch(records, "dead-logger", lease_seconds=-1)
    assert batches.claim_by_id(collection, batch_id, 10, is_early=lambda _: False) == 1
    with logger_for(settings) as logger:
        report = logger.tick()
    released = collection.find_one({"_id": doc["_id"]})
    assert report.recovered == 1 and (report.logged, report.quarantined) == (0, 0)
    assert not {"logger_batch", "logged_as", "logged_error"} & set(released)
    assert released["logged"] is False
    assert sum(r["count"] + r["invalid"] for r in history.history(db).find()) == 0


def test_a_correction_moved_into_the_future_before_processing_is_released_to_its_old_batch(db, settings) -> None:
    collection = db[settings.PREDICTIONS_COLLECTION]
    doc = reviewed(settings, 1)
    collection.insert_one(doc)
    with logger_for(settings) as logger:
        logger.tick()
        counted = collection.find_one({"_id": doc["_id"]})
        collection.update_one(
            {"_id": doc["_id"]},
            {"$set": {"output_validated": 6, "timestamp_validated": datetime.now(UTC) + timedelta(hours=2)}},
        )
        batch_id = batches.open_batch(batches.batches(db), "dead-logger", lease_seconds=-1, kind="correction")
        assert batches.claim_again(collection, batch_id, {doc["_id"]: counted["logger_batch"]}) == 1
        report = logger.tick()
    released = collection.find_one({"_id": doc["_id"]})
    assert report.recovered == 1 and report.corrected == 0
    assert (released["logger_batch"], released["logged_as"], released["logged"]) == (
        counted["logger_batch"],
        counted["logged_as"],
        True,
    )
    assert "previous_as" not in released
    assert sum(r["count"] for r in history.history(db).find()) == 1


def test_a_logged_flag_no_claim_selects_is_claimed_by_the_reconcile_and_counted(db, settings, client) -> None:
    collection = db[settings.PREDICTIONS_COLLECTION]
    odd = [reviewed(settings, 1, logged={"by": "someone"}), reviewed(settings, 2, logged=[True])]
    collection.insert_many(odd)
    first, last = window(settings)
    with logger_for(settings) as logger:
        logger.tick()
        logger.reconcile(first, last)
        body = metrics(client, first, last)
    assert body["invalid_records"] == 2
    assert sum(r["invalid"] for r in history.history(db).find()) == 2
    assert [d["logged"] for d in collection.find({"logged_error": {"$exists": True}}, sort=[("filename", 1)])] == [
        {"by": "someone"},
        [True],
    ]


def test_one_monitor_process_counts_a_review_when_it_comes_due_and_sees_an_edit_in_place(
    db, settings, make_monitor: MakeMonitor
) -> None:
    # The monitor judges each tail document once per version (its bytes); a review ahead of the clock
    # is the exception, judged again by every request until due, and an edit is a new version.
    collection = db[settings.PREDICTIONS_COLLECTION]
    exact = settings.model_copy(update={"MAX_CLOCK_SKEW_MINUTES": 0.0})  # below what the environment may set
    soon = datetime.now(UTC) + timedelta(seconds=2)
    doc = reviewed(exact, 1, timestamp_validated=soon, output_prediction=3, output_validated=3)
    collection.insert_one(doc)
    first, last = today(exact.tz) - timedelta(days=1), today(exact.tz) + timedelta(days=1)
    client = make_monitor(monitor_settings(exact))
    with logger_for(exact) as logger:
        logger.tick()  # a ledger, so that the monitor reads the history and its tail
        early = metrics(client, first, last)
        while datetime.now(UTC) <= soon:
            time.sleep(0.2)
        due = metrics(client, first, last)
        collection.update_one({"_id": doc["_id"]}, {"$set": {"output_validated": 5}})
        edited = metrics(client, first, last)
    assert (early["total_validated"], early["invalid_records"]) == (0, 1)
    assert (due["total_validated"], due["invalid_records"], due["metrics"]["accuracy"]) == (1, 0, 1.0)
    assert (edited["total_validated"], edited["metrics"]["accuracy"]) == (1, 0.0)
