"""/api/date-range and /min-date from the ledger and the tail: the same days as a sort over every document,
reading only the tail's documents, with hostile documents, corrections, and the logger claiming meanwhile."""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from bson import Binary, ObjectId, Regex
from bson.max_key import MaxKey
from bson.min_key import MinKey
from flask.testing import FlaskClient
from pymongo import monitoring
from pymongo.collection import Collection
from pymongo.database import Database

from clara_common.days import day_start, local_day, today
from clara_common.db import make_client
from clara_common.ledger import HISTORY_COLLECTION, dates_within
from clara_common.settings import CommonSettings
from clara_logger import batches
from clara_logger.tick import LoggerService
from clara_monitor import create_app
from clara_monitor.params import FIRST_YEAR, LAST_YEAR
from tests.utils.settings import logger_settings, monitor_settings

pytestmark = pytest.mark.integration

YEAR_2000 = datetime(2000, 1, 1, tzinfo=UTC)
YEAR_2100 = datetime(2100, 1, 1, tzinfo=UTC)


class FindRecorder(monitoring.CommandListener):
    """Records every `find` command a client sends."""

    def __init__(self) -> None:
        self.finds: list[dict[str, Any]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == "find":
            self.finds.append(dict(event.command))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@contextmanager
def recorded_monitor(
    settings: CommonSettings, recorder: FindRecorder | None = None
) -> Iterator[tuple[FlaskClient, FindRecorder]]:
    """Yield a monitor's test client whose database client records the finds it sends."""
    recorder = recorder or FindRecorder()
    app = create_app({"TESTING": True, "SETTINGS": monitor_settings(settings)})
    context = app.extensions["clara_monitor"]
    context.client.close()
    context.client = make_client(settings, appname="clara-monitor", event_listeners=[recorder])
    try:
        yield app.test_client(), recorder
    finally:
        context.client.close()


@contextmanager
def logger_for(settings: CommonSettings) -> Iterator[LoggerService]:
    with make_client(settings, appname="clara-logger") as client:
        yield LoggerService(logger_settings(settings), client)


def scanned_bounds(db: Database, settings: CommonSettings) -> dict[str, str | None]:
    """Return the first and last day of every document, read one by one, and of the history: the history's days
    with counts and the days of the BSON-date validation times (an array's, each) within the days a request may
    name, never past now + MAX_CLOCK_SKEW_MINUTES."""
    earliest, latest = date(FIRST_YEAR, 1, 1), min(today(settings.tz), date(LAST_YEAR, 12, 31))
    start = day_start(earliest, settings.tz)
    end = min(
        day_start(latest + timedelta(days=1), settings.tz),
        datetime.now(UTC) + timedelta(minutes=settings.MAX_CLOCK_SKEW_MINUTES),
    )
    in_days = {"$gte": earliest.isoformat(), "$lte": latest.isoformat()}
    days = [r["_id"] for r in db[HISTORY_COLLECTION].find({"_id": in_days, "count": {"$gt": 0}}, {"_id": 1})]
    for doc in db[settings.PREDICTIONS_COLLECTION].find({}, {"timestamp_validated": 1}):
        times = dates_within(doc.get("timestamp_validated"), start, end)
        days += [local_day(t, settings.tz).isoformat() for t in times]
    return {"min_date": min(days, default=None), "max_date": max(days, default=None)}


def answered(client: FlaskClient) -> dict[str, str | None]:
    """Return both routes' days, checking that they agree."""
    bounds = client.get("/api/date-range")
    first = client.get("/min-date")
    assert bounds.status_code == first.status_code == 200, (bounds.get_json(), first.get_json())
    body = bounds.get_json()
    assert first.get_json() == {"min_date": body["min_date"]}
    return {"min_date": body["min_date"], "max_date": body["max_date"]}


def examined(db: Database, finds: list[dict[str, Any]], collection: str) -> int:
    """Return how many documents the finds on `collection` examine, as the server explains them."""
    total = 0
    for find in finds:
        if find["find"] != collection:
            continue
        command = {k: v for k, v in find.items() if k in ("find", "filter", "projection", "sort", "limit")}
        plan = db.command("explain", command, verbosity="executionStats")
        total += plan["executionStats"]["totalDocsExamined"]
    return total


def noon(settings: CommonSettings, days_ago: int) -> datetime:
    """Return local noon `days_ago` days ago (an hour ago at the latest), as a UTC instant."""
    when = day_start(today(settings.tz) - timedelta(days=days_ago), settings.tz) + timedelta(hours=12)
    return min(when, datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)


def review(settings: CommonSettings, days_ago: int, index: int = 0, **changes: object) -> dict[str, Any]:
    """Return a valid review validated at local noon `days_ago` days ago, a minute per `index` later, with `changes`."""
    validated = noon(settings, days_ago) + timedelta(minutes=index % 600)
    doc: dict[str, Any] = {
        "_id": ObjectId(),
        "filename": f"img-{days_ago}-{index}.jpg",
        "output_prediction": index % 7,
        "output_confidence": 0.8,
        "output_validated": (index * 3) % 7,
        "timestamp": validated - timedelta(minutes=5),
        "timestamp_validated": validated,
        "logged": False,
    }
    for name, value in changes.items():
        if value is ...:
            doc.pop(name)
        else:
            doc[name] = value
    return doc


def test_the_routes_read_the_tail_not_every_document(db, settings) -> None:
    collection = db[settings.PREDICTIONS_COLLECTION]
    collection.insert_many([review(settings, 3 + i % 20, i) for i in range(3000)])
    with logger_for(settings) as logger:
        logger.tick()
    assert collection.count_documents({"logged": True}) == 3000
    back_dated = review(settings, 30)  # validated a month ago, written now: not logged yet
    just_now = review(settings, 0, timestamp_validated=datetime.now(UTC).replace(microsecond=0))
    collection.insert_many([back_dated, just_now])

    with recorded_monitor(settings) as (client, recorder):
        answered(client)  # connected, the ledger's state read once
        recorder.finds.clear()
        answer = answered(client)

    assert answer == scanned_bounds(db, settings)
    assert answer["min_date"] == local_day(back_dated["timestamp_validated"], settings.tz).isoformat()
    assert answer["max_date"] == today(settings.tz).isoformat()
    # The tail is two documents; the logged 3,000 are known from the history's days.
    assert examined(db, recorder.finds, settings.PREDICTIONS_COLLECTION) <= 20


def hostile(settings: CommonSettings) -> list[dict[str, Any]]:
    """Return reviews the logger sets aside or never claims, each validated on a day of its own before the
    ledger's days (11 to 22 days ago), and validation times no day is read from."""
    return [
        review(settings, 11, output_validated=99),  # no such class: set aside, `logged` false again
        review(settings, 12, logged="yes"),  # set aside, `logged` left a string
        review(settings, 13, logged=True, output_prediction={"id": 3}),  # logged before the ledger, then set aside
        review(settings, 14, timestamp_validated=[noon(settings, 14), datetime(2150, 1, 1, tzinfo=UTC)]),
        review(settings, 15, output_validated=None),  # a validation time but no verdict: never claimed
        review(settings, 16, logged=..., output_prediction=float("nan")),
        review(settings, 7, timestamp_validated=noon(settings, 7).isoformat()),  # a string: valid, claimed by id
        review(settings, 18, logged=None, trained="yes"),
        review(settings, 2, timestamp_validated=1767225600),
        review(settings, 2, timestamp_validated="yesterday at noon"),
        review(settings, 2, timestamp_validated=datetime(1, 1, 1, tzinfo=UTC)),
        review(settings, 2, timestamp_validated=datetime(9999, 12, 31, tzinfo=UTC)),
        review(settings, 2, timestamp_validated=datetime(1999, 6, 1, tzinfo=UTC)),
        review(settings, 2, timestamp_validated=datetime(2150, 1, 1, tzinfo=UTC)),
        review(settings, 2, timestamp_validated=datetime.now(UTC) + timedelta(days=2)),  # not due
        review(settings, 2, timestamp_validated={"at": noon(settings, 24)}),
        review(settings, 2, timestamp_validated=math.nan),
        review(settings, 2, timestamp_validated=Binary(b"\x00\x01")),
        review(settings, 2, timestamp_validated=Regex("^2026")),
        review(settings, 2, timestamp_validated=MinKey()),
        review(settings, 2, timestamp_validated=MaxKey()),
        review(settings, 2, timestamp_validated=[]),
        review(settings, 2, timestamp_validated=[[noon(settings, 25)]]),
        review(settings, 2, timestamp_validated=True),
        review(settings, 2, timestamp_validated=None),
    ]


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Pacific/Kiritimati"])
def test_the_routes_answer_what_a_sort_over_every_document_answers(db, settings, zone: str) -> None:
    settings = settings.replace(TIMEZONE=zone)
    collection = db[settings.PREDICTIONS_COLLECTION]
    collection.insert_many([review(settings, 5 + i % 6, i) for i in range(60)] + hostile(settings))
    with recorded_monitor(settings) as (client, _), logger_for(settings) as logger:
        assert answered(client) == scanned_bounds(db, settings)  # no ledger yet: the tail is every document
        logger.tick()
        assert collection.count_documents({"logged_error": {"$exists": True}}) >= 5
        assert answered(client) == scanned_bounds(db, settings)

        # The tail after the tick: reviews not logged yet, on days of their own, and a correction.
        tail = [
            review(settings, 19, 1),
            review(settings, 20, 2, logged=...),
            review(settings, 21, 3, logged=None),
            review(settings, 22, 4, output_validated=None),
            review(settings, 0, 5, timestamp_validated=datetime.now(UTC).replace(microsecond=0)),
        ]
        collection.insert_many(tail)
        moved = collection.find_one({"filename": "img-10-5.jpg"})
        collection.update_one({"_id": moved["_id"]}, {"$set": {"timestamp_validated": datetime.now(UTC)}})
        assert answered(client) == scanned_bounds(db, settings)

        # Each planted document in turn the earliest, then gone (those of no day first).
        planted = sorted(
            collection.find({"$or": [{"logged": {"$ne": True}}, {"logged_error": {"$exists": True}}]}),
            key=lambda d: min(dates_within(d.get("timestamp_validated"), YEAR_2000, YEAR_2100), default=YEAR_2000),
        )
        seen = set()
        for doc in planted:
            answer = answered(client)
            assert answer == scanned_bounds(db, settings), doc
            seen.add(answer["min_date"])
            collection.delete_one({"_id": doc["_id"]})
        assert len(seen) >= 11  # the first day moved with each planted document

        logger.tick()  # the correction applied: the day it left may be empty now
        assert answered(client) == scanned_bounds(db, settings)


def test_no_document_no_day(db, settings) -> None:
    with recorded_monitor(settings) as (client, _):
        assert answered(client) == {"min_date": None, "max_date": None}


def test_a_day_a_correction_empties_leaves_the_range_once_the_logger_moves_it(db, settings) -> None:
    collection = db[settings.PREDICTIONS_COLLECTION]
    alone = review(settings, 8)
    collection.insert_many([alone] + [review(settings, 5, i) for i in range(10)])
    with recorded_monitor(settings) as (client, _), logger_for(settings) as logger:
        logger.tick()
        assert answered(client)["min_date"] == local_day(alone["timestamp_validated"], settings.tz).isoformat()
        now = datetime.now(UTC).replace(microsecond=0)
        collection.update_one({"_id": alone["_id"]}, {"$set": {"timestamp_validated": now}})
        corrected = answered(client)  # the history still holds it on its first day
        assert corrected == scanned_bounds(db, settings)
        assert corrected["max_date"] == today(settings.tz).isoformat()
        assert logger.tick().corrected == 1
        moved = answered(client)
    assert moved == scanned_bounds(db, settings)
    assert moved["min_date"] == local_day(noon(settings, 5), settings.tz).isoformat()


class ClaimOnFirstFind(FindRecorder):
    """Has a logger claim every unlogged review into a new batch just before the first find on the predictions."""

    def __init__(self, predictions: Collection) -> None:
        super().__init__()
        self.predictions = predictions
        self.batch: str | None = None

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        super().started(event)
        if self.batch is None and event.command_name == "find" and event.command["find"] == self.predictions.name:
            self.batch = batches.open_batch(batches.batches(self.predictions.database), "test", 600)
            batches.claim_window(self.predictions, self.batch, YEAR_2000, datetime.now(UTC))


def test_a_review_claimed_between_the_reads_is_kept(db, settings) -> None:
    collection = db[settings.PREDICTIONS_COLLECTION]
    collection.insert_many([review(settings, 3, i) for i in range(20)])
    with logger_for(settings) as logger:
        logger.tick()
    back_dated = review(settings, 30)
    collection.insert_one(back_dated)
    claiming = ClaimOnFirstFind(collection)

    with recorded_monitor(settings, claiming) as (client, _):
        answer = answered(client)

    # Claimed by a batch the first look for unfinished ones did not see, and not in the history yet.
    assert collection.find_one({"_id": back_dated["_id"]})["logger_batch"] == claiming.batch
    assert answer["min_date"] == local_day(back_dated["timestamp_validated"], settings.tz).isoformat()


def test_the_routes_keep_a_review_while_the_logger_claims_it(db, settings) -> None:
    collection = db[settings.PREDICTIONS_COLLECTION]
    collection.insert_many([review(settings, 3, i) for i in range(50)])
    stop = threading.Event()
    failures: list[BaseException] = []

    def tick_on() -> None:
        try:
            with logger_for(settings) as logger:
                while not stop.is_set():
                    logger.tick()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            failures.append(exc)

    with recorded_monitor(settings) as (client, _), logger_for(settings) as first:
        first.tick()
        ticking = threading.Thread(target=tick_on)
        ticking.start()
        try:
            for days_ago in range(4, 40):
                # A review of a new first day, claimed by a tick while the routes are asked.
                doc = review(settings, days_ago, days_ago)
                collection.insert_one(doc)
                expected = local_day(doc["timestamp_validated"], settings.tz).isoformat()
                for _ in range(6):
                    assert answered(client)["min_date"] == expected
        finally:
            stop.set()
            ticking.join()
    assert not failures
    assert collection.count_documents({"logged": True}) > 50  # the ticks claimed reviews meanwhile
