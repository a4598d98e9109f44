"""Documents that can never count cost a request nothing, and the tail stays exact around them.

A prediction with a review time and no verdict yet, and one the logger set aside as malformed (its invalid
record is in the history), keep `logged: false`. The monitor's tail must not read them on every request:
read through range_counts.range_counts with a client that counts the documents each read brings back, and the
answers compared with the predictions collection itself (tests.utils.reference, the record contract's
parser).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from pymongo import MongoClient
from pymongo.collection import Collection

from clara_common.days import day_start, today
from clara_common.settings import CommonSettings
from clara_monitor.range_counts import HistoryCache, RangeCounts, range_counts
from clara_monitor.tail import LiveTail, TailJudgements
from tests.utils.reference import source_records
from tests.utils.returned_documents import ReturnedDocuments
from tests.utils.settings import monitor_settings

pytestmark = pytest.mark.integration

DAYS = 3


class Reader:
    """A new monitor process reading the last DAYS days through a counting client."""

    def __init__(self, mongo_uri: str, settings: CommonSettings) -> None:
        self.returned = ReturnedDocuments()
        self.client: MongoClient = MongoClient(mongo_uri, tz_aware=True, event_listeners=[self.returned])
        self.settings = monitor_settings(settings)

    def read(self) -> tuple[RangeCounts, int]:
        """Return the range's counts, as a process that starts now reads them, and the documents it brought back."""
        before = self.returned.count
        first, last = window(self.settings)
        database = self.client[self.settings.MONGODB_DB]
        collection = database[self.settings.PREDICTIONS_COLLECTION]
        caches = (HistoryCache(), TailJudgements(), LiveTail())
        counts = range_counts(database, collection, first, last, self.settings, *caches)
        return counts, self.returned.count - before


@pytest.fixture
def reader(mongo_uri: str, settings: CommonSettings) -> Iterator[Reader]:
    reading = Reader(mongo_uri, settings)
    yield reading
    reading.client.close()


def window(settings: CommonSettings) -> tuple[date, date]:
    last = today(settings.tz)
    return last - timedelta(days=DAYS - 1), last


def earlier(settings: CommonSettings, index: int) -> datetime:
    """Return a time inside the window, before the logger's last look: 1 to DAYS - 1 days ago, or an hour ago."""
    day = today(settings.tz) - timedelta(days=1 + index % (DAYS - 1))
    when = day_start(day, settings.tz) + timedelta(hours=9, minutes=index % 600)
    return min(when, datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)


def prediction(settings: CommonSettings, index: int, **changes: object) -> dict:
    """Return a prediction reviewed inside the window before the logger's last look, with `changes` applied."""
    when = earlier(settings, index)
    doc = {
        "filename": f"img-{index}.jpg",
        "output_prediction": index % 7,
        "output_confidence": 0.75,
        "output_validated": (index * 3) % 7,
        "timestamp": when - timedelta(minutes=5),
        "timestamp_validated": when,
        "logged": False,
    }
    return {**doc, **changes}


def pending(settings: CommonSettings, count: int, start: int) -> list[dict]:
    """Return predictions with a review time and no verdict yet (as a review tool leaves one it opened)."""
    return [prediction(settings, start + i, output_validated=None) for i in range(count)]


def malformed(settings: CommonSettings, count: int, start: int) -> list[dict]:
    """Return reviewed predictions the contract rejects (the predicted class an object): the logger sets them aside."""
    return [prediction(settings, start + i, output_prediction={"id": 3}) for i in range(count)]


def totals(counts: RangeCounts) -> tuple[int, int]:
    """Return (validated predictions, invalid records) of a read."""
    return int(counts.counts["n"].sum()), sum(counts.invalid.values())


def source_totals(collection: Collection, settings: CommonSettings) -> tuple[int, int]:
    records, invalid = source_records(collection, settings, *window(settings))
    return len(records), invalid


def test_documents_that_can_never_count_are_not_read_by_a_request(db, settings, logger, reader) -> None:
    collection = db[settings.PREDICTIONS_COLLECTION]
    collection.insert_many([prediction(settings, i) for i in range(40)])
    logger.tick()  # adopts the collection and logs the 40
    collection.insert_many(malformed(settings, 5, 100))
    logger.tick()  # sets the 5 aside
    _, without = reader.read()

    collection.insert_many(pending(settings, 300, 1000))
    collection.insert_many(malformed(settings, 200, 2000))
    assert logger.tick().quarantined == 200
    counts, returned = reader.read()

    assert returned == without, f"a read brought back {returned} documents, {without} before the 500 were added"
    assert counts.tail_documents == 0
    assert totals(counts) == source_totals(collection, settings) == (40, 205)


def test_a_pending_prediction_reviewed_later_with_its_old_review_time_counts_at_once_and_once(
    db, settings, logger, reader
) -> None:
    collection = db[settings.PREDICTIONS_COLLECTION]
    collection.insert_many([prediction(settings, i) for i in range(10)])
    waiting = pending(settings, 3, 500)
    collection.insert_many(waiting)
    logger.tick()
    marked = collection.count_documents({"logger_pending": True})
    before, _ = reader.read()

    collection.update_one({"_id": waiting[0]["_id"]}, {"$set": {"output_validated": 4}})  # the time stays
    collection.update_one({"_id": waiting[1]["_id"]}, {"$set": {"output_validated": "a cat"}})  # malformed
    at_once, _ = reader.read()
    logger.tick()
    logged, _ = reader.read()

    assert marked == 3  # the logger marks them: the tail passes over them
    assert totals(before) == (10, 0)
    assert totals(at_once) == totals(logged) == source_totals(collection, settings) == (11, 1)
    assert collection.count_documents({"logger_pending": True}) == 1  # a claim takes the mark away


def test_a_set_aside_prediction_fixed_with_a_new_review_time_counts_at_once_and_once(
    db, settings, logger, reader
) -> None:
    collection = db[settings.PREDICTIONS_COLLECTION]
    collection.insert_many([prediction(settings, i) for i in range(10)])
    bad = malformed(settings, 2, 700)
    collection.insert_many(bad)
    logger.tick()
    set_aside, _ = reader.read()

    fixed = {"output_prediction": 3, "output_validated": 3, "timestamp_validated": datetime.now(UTC)}
    collection.update_one({"_id": bad[0]["_id"]}, {"$set": fixed})
    at_once, _ = reader.read()
    report = logger.tick()
    corrected, _ = reader.read()

    assert totals(set_aside) == (10, 2)
    assert report.corrected == 1
    assert totals(at_once) == totals(corrected) == source_totals(collection, settings) == (11, 1)


def test_a_set_aside_prediction_fixed_in_place_counts_from_the_next_reconcile_like_any_counted_one(
    db, settings, logger, reader
) -> None:
    """An edit that keeps the old review time is found by a reconcile, for a set-aside prediction as for a logged
    one: no index tells a fixed document from one still malformed without reading it."""
    collection = db[settings.PREDICTIONS_COLLECTION]
    collection.insert_many([prediction(settings, i) for i in range(10)])
    bad = malformed(settings, 2, 700)
    collection.insert_many(bad)
    logger.tick()

    collection.update_one({"_id": bad[0]["_id"]}, {"$set": {"output_prediction": 3}})  # the review time stays
    stale, _ = reader.read()
    logger.reconcile(*window(settings))
    reconciled, _ = reader.read()

    assert totals(stale) == (10, 2)  # what the history holds: the fix waits for the reconcile
    assert totals(reconciled) == source_totals(collection, settings) == (11, 1)


def test_an_unlogged_review_of_any_verdict_type_with_an_old_review_time_counts_at_once(
    db, settings, logger, reader
) -> None:
    """A backfill of reviews older than the logger's last look: every verdict type a writer sends is in the tail."""
    collection = db[settings.PREDICTIONS_COLLECTION]
    collection.insert_many([prediction(settings, i) for i in range(10)])
    logger.tick()
    verdicts = [2, 2.0, True, False, "2", [1, 2], math.nan, -1, 10**12]
    collection.insert_many([prediction(settings, 800 + i, output_validated=v) for i, v in enumerate(verdicts)])

    counts, _ = reader.read()
    logger.tick()
    logged, _ = reader.read()

    assert totals(counts) == totals(logged) == source_totals(collection, settings)
    assert totals(counts) == (14, 5)
