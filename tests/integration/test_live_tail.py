"""The monitor's live tail: a request reads only the reviews newer than those it holds, and stays exact.

Read through range_counts.range_counts with one process's caches (as MonitorContext keeps them) and a client
that counts the documents each read brings back; the answers are compared with the predictions
collection itself (tests.utils.reference, the record contract's parser).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import MongoClient
from pymongo.collection import Collection

from clara_common.days import today
from clara_common.settings import CommonSettings
from clara_monitor.range_counts import HistoryCache, RangeCounts, range_counts
from clara_monitor.tail import LiveTail, TailJudgements
from tests.utils.reference import source_records
from tests.utils.returned_documents import ReturnedDocuments
from tests.utils.settings import monitor_settings

pytestmark = pytest.mark.integration


class Process:
    """One monitor process's caches, reading the last two days through a counting client."""

    def __init__(self, mongo_uri: str, settings: CommonSettings) -> None:
        self.returned = ReturnedDocuments()
        self.client: MongoClient = MongoClient(mongo_uri, tz_aware=True, event_listeners=[self.returned])
        self.settings = monitor_settings(settings)
        self.history, self.judgements, self.live = HistoryCache(), TailJudgements(), LiveTail()

    def read(self) -> tuple[RangeCounts, int]:
        """Return the last two days' counts and how many documents the read brought back."""
        before = self.returned.count
        last = today(self.settings.tz)
        database = self.client[self.settings.MONGODB_DB]
        collection = database[self.settings.PREDICTIONS_COLLECTION]
        caches = (self.history, self.judgements, self.live)
        counts = range_counts(database, collection, last - timedelta(days=1), last, self.settings, *caches)
        return counts, self.returned.count - before


@pytest.fixture
def process(mongo_uri: str, settings: CommonSettings) -> Iterator[Process]:
    reading = Process(mongo_uri, settings)
    yield reading
    reading.client.close()


def review(collection: Collection, count: int, at: datetime, step: timedelta = timedelta(0)) -> None:
    """Insert `count` predictions reviewed at `at`, `at - step`, …: class i % 7, predicted right two times in three."""
    collection.insert_many(
        [
            {
                "filename": f"live-{at.timestamp()}-{i}.jpg",
                "output_prediction": i % 7,
                "output_validated": i % 7 if i % 3 else (i + 1) % 7,
                "output_confidence": 0.5,
                "timestamp": at - step * i - timedelta(minutes=5),
                "timestamp_validated": at - step * i,
                "logged": False,
            }
            for i in range(count)
        ]
    )


def matrix(counts: RangeCounts) -> Counter:
    return Counter({(row["true"], row["predicted"]): row["n"] for row in counts.counts.iter_rows(named=True)})


def source_matrix(collection: Collection, settings: CommonSettings) -> Counter:
    last = today(settings.tz)
    records, _ = source_records(collection, settings, last - timedelta(days=1), last)
    return Counter((r.true_class, r.predicted_class) for r in records)


def test_a_second_read_brings_back_only_the_reviews_since_the_newest_it_holds(db, settings, logger, process) -> None:
    collection = db[settings.PREDICTIONS_COLLECTION]
    now = datetime.now(UTC)
    review(collection, 60, now - timedelta(seconds=20), timedelta(milliseconds=100))
    logger.tick()  # adopts the collection and logs them: they stay in the tail's recent window
    review(collection, 120, datetime.now(UTC), timedelta(milliseconds=100))

    first, whole = process.read()
    review(collection, 3, datetime.now(UTC))
    second, increment = process.read()

    assert first.tail_documents >= 180 and whole >= 180
    assert increment <= 30, f"the second read brought back {increment} documents"
    assert second.tail_documents == first.tail_documents + 3
    assert matrix(second) == source_matrix(collection, settings)


def test_after_a_tick_the_whole_tail_is_read_again_and_answers_stay_exact(db, settings, logger, process) -> None:
    collection = db[settings.PREDICTIONS_COLLECTION]
    review(collection, 50, datetime.now(UTC), timedelta(milliseconds=200))
    logger.tick()
    for _ in range(3):
        process.read()
        review(collection, 10, datetime.now(UTC), timedelta(milliseconds=50))
        logger.tick()  # claims the reviews the process holds unlogged: it must not count them twice
        counts, _ = process.read()
        assert matrix(counts) == source_matrix(collection, settings)


def test_a_delete_and_a_late_review_show_within_the_reread_interval(db, settings, logger, process) -> None:
    collection = db[settings.PREDICTIONS_COLLECTION]
    process.live.REREAD_AFTER = timedelta(seconds=1)
    review(collection, 40, datetime.now(UTC), timedelta(milliseconds=100))
    logger.tick()
    review(collection, 20, datetime.now(UTC), timedelta(milliseconds=100))
    process.read()

    newest = collection.find_one({}, sort=[("timestamp_validated", -1)])
    collection.delete_one({"_id": newest["_id"]})
    review(collection, 2, datetime.now(UTC) - LiveTail.MARGIN - timedelta(seconds=5))  # they land late
    stale, _ = process.read()
    time.sleep(1.1)
    fresh, _ = process.read()

    assert matrix(stale) != source_matrix(collection, settings)  # the documented bound, not exactness
    assert matrix(fresh) == source_matrix(collection, settings)
