"""find_any: one `$or` on MongoDB, one query per branch on the embedded database, the same documents either way.

Each query list the services hand to it is run both ways on whichever server the tests use (the shape
a server does not get in production is forced), over documents of every contract shape, some logged
by a tick, some claimed by another logger, some not logged yet.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from clara_common import db as clara_db
from clara_common.days import range_bounds, today
from clara_common.ledger.state import read_state
from clara_logger import batches, reconcile, unreviewed
from clara_monitor import ledger_status, tail
from tests.utils.contract_documents import MALFORMED, document
from tests.utils.settings import logger_settings

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)
FIRST = date(2026, 2, 27)  # before the contract documents' days (March 2026)


def arrivals() -> list[dict]:
    """What reaches the collection after the tick: a review of each shape of time, a prediction, another logger's."""
    recent = NOW - timedelta(minutes=5)
    return [
        document(timestamp=recent, timestamp_validated=recent.isoformat()),
        document(timestamp=recent, timestamp_validated=recent, logged=...),
        document(timestamp=recent, timestamp_validated=None, output_validated=None),
        document(timestamp=recent, timestamp_validated=recent, logged=True),
        document(timestamp=recent, timestamp_validated=1767225600, logged=None),
    ]


@pytest.fixture
def collection(db, settings, logger):
    predictions = db[settings.PREDICTIONS_COLLECTION]
    clara_db.ensure_indexes(db.client, settings)
    predictions.insert_many([doc for doc, _ in MALFORMED.values() if isinstance(doc, dict)] + [document()])
    logger.tick()
    predictions.insert_many(arrivals())
    return predictions


def query_lists(db, settings) -> dict[str, list[dict]]:
    tz = settings.tz
    start, end = range_bounds(FIRST, today(tz), tz)
    ledger = read_state(db)
    some_batch = next(iter(db["logger_batches"].find({}, {"_id": 1})))["_id"]
    return {
        "tail without a logger": tail.tail_queries(start, end, None, []),
        "tail with a logger": tail.tail_queries(start, end, ledger, [some_batch]),
        "tail beside a LiveTail": tail.tail_queries(start, end, ledger, [some_batch], recent_dates=False),
        "unreviewed by prediction time": tail.time_queries("timestamp", start, end, {"timestamp_validated": None}),
        "unreviewed summary days": unreviewed.day_queries(FIRST, today(tz), logger_settings(settings)),
        "a reconcile's days": reconcile.day_queries(FIRST, today(tz), tz),
        "validated since": reconcile.time_ranges("timestamp_validated", NOW - timedelta(hours=1)),
        "claimed by id": batches.NOT_IN_A_WINDOW,
    }


def found(collection, queries, monkeypatch, splits: bool) -> list:
    monkeypatch.setattr(clara_db, "splits_or", lambda _: splits)
    return sorted(doc["_id"] for doc in clara_db.find_any(collection, queries, {"_id": 1}))


def test_each_query_list_finds_the_same_documents_as_one_or_and_one_by_one(db, settings, collection, monkeypatch):
    for name, queries in query_lists(db, settings).items():
        each = sorted({doc["_id"] for query in queries for doc in collection.find(query, {"_id": 1})})
        assert each, f"{name}: the test's documents should give it something to find"
        assert found(collection, queries, monkeypatch, splits=False) == each, name
        assert found(collection, queries, monkeypatch, splits=True) == each, name


@pytest.mark.parametrize("splits", [False, True])
def test_the_backlog_is_the_same_count_either_way(db, settings, collection, monkeypatch, splits) -> None:
    monkeypatch.setattr(clara_db, "splits_or", lambda _: splits)
    monkeypatch.setattr(ledger_status, "splits_or", lambda _: splits)
    # The two new reviews not logged: the BSON date (logged absent) and the ISO string (logged false).
    assert ledger_status.backlog(collection) == 2


@pytest.mark.parametrize("splits", [False, True])
def test_claims_by_id_stop_at_the_limit_either_way(settings, collection, monkeypatch, splits) -> None:
    monkeypatch.setattr(clara_db, "splits_or", lambda _: splits)
    rare = {doc["_id"] for doc in collection.find({"$or": batches.NOT_IN_A_WINDOW}, {"_id": 1})}
    assert len(rare) >= 2

    assert batches.claim_by_id(collection, "b1", 1, lambda _: False) == 1
    assert collection.count_documents({"logger_batch": "b1"}) == 1


def test_the_server_is_told_by_its_build_info(db) -> None:
    info = db.client.server_info()
    assert clara_db.splits_or(db["anything"]) == ("secantusVersion" in info)
