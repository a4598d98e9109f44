"""Adoption with hostile arrays of validation times: the first tick must not fail on them.

An array sorts by its least element of any type, so the first document of a sort on
`timestamp_validated` may hold an array: adoption took it for a date (`start <= now` raised TypeError
on every tick), and an array led by a number hid an earlier date than the plain ones.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from clara_logger import reconcile
from tests.utils.predictions import prediction, stored_confusion

pytestmark = pytest.mark.integration

OLD = datetime(1990, 1, 1, tzinfo=UTC)


def logged_by_the_original(count: int) -> list[dict]:
    rng = random.Random(20)
    return [prediction(rng, index, logged=True) for index in range(count)]


@pytest.mark.parametrize(
    ("hostile", "earliest"),
    [
        ([datetime(2026, 3, 3, tzinfo=UTC), OLD], OLD),  # dates only: sorts by its least, 1990
        ([5, datetime(2020, 6, 1, tzinfo=UTC)], datetime(2020, 6, 1, tzinfo=UTC)),  # led by a number
        (["x", OLD, datetime(2030, 1, 1, tzinfo=UTC)], OLD),
    ],
)
def test_the_first_tick_adopts_past_an_array_of_validation_times(db, settings, logger, hostile, earliest):
    predictions = db[settings.PREDICTIONS_COLLECTION]
    good = logged_by_the_original(20)
    predictions.insert_many([*good, {**logged_by_the_original(1)[0], "_id": "array", "timestamp_validated": hostile}])

    assert reconcile.earliest_validation(predictions) == earliest
    report = logger.tick()

    assert sum(stored_confusion(db).values()) == 20  # every plain one adopted and counted
    assert "array" not in {doc["_id"] for doc in predictions.find({"logger_batch": {"$exists": False}, "logged": True})}
    assert report.line().startswith("tick ")
