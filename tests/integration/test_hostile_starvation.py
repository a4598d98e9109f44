"""No starvation: every valid review is logged within two real ticks, whatever its `logged` flag and the
shape of its validation time, while new predictions keep arriving."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import count

import pytest
from bson import ObjectId

pytestmark = pytest.mark.integration

TICKS = 5
ABSENT = object()


def review(index: int, validated: object, logged: object) -> dict:
    """Return a valid reviewed prediction; `logged` ABSENT leaves the field out."""
    doc = {
        "_id": ObjectId(),
        "filename": f"img-{index}.jpg",
        "output_prediction": index % 7,
        "output_validated": (index + 1) % 7,
        "timestamp": datetime.now(UTC) - timedelta(hours=2),
        "timestamp_validated": validated,
    }
    if logged is not ABSENT:
        doc["logged"] = logged
    return doc


def arrivals(numbers: Iterator[int]) -> list[dict]:
    """Return what arrives between two ticks: mostly predictions without `logged`, and ISO-string reviews."""
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    docs = [review(next(numbers), an_hour_ago, ABSENT) for _ in range(6)]
    docs += [review(next(numbers), an_hour_ago, flag) for flag in (None, False)]
    # The shape that starved: an ISO string with `logged: false`, behind a stream without `logged`.
    docs += [
        review(next(numbers), an_hour_ago.isoformat(), False),
        review(next(numbers), an_hour_ago.replace(tzinfo=None).isoformat(sep=" "), False),
    ]
    return docs


def test_every_valid_review_is_logged_within_two_ticks_whatever_its_logged_flag(db, settings, logger) -> None:
    collection = db[settings.PREDICTIONS_COLLECTION]
    numbers = count()
    inserted: list[list[ObjectId]] = []
    for tick in range(TICKS):
        docs = arrivals(numbers)
        collection.insert_many(docs)
        inserted.append([d["_id"] for d in docs])
        logger.tick()
        # Whatever arrived before the previous tick has seen two ticks by now.
        due = [doc_id for ids in inserted[:tick] for doc_id in ids]
        waiting = collection.count_documents({"_id": {"$in": due}, "logged": {"$ne": True}})
        assert waiting == 0, f"after tick {tick + 1}, {waiting} reviews that have seen two ticks are not logged"
    logger.tick()
    assert collection.count_documents({"logged": {"$ne": True}}) == 0
    assert collection.count_documents({"logged_error": {"$exists": True}}) == 0
