"""Prediction documents as the reviewers' app stores them, and the confusion counts expected from them."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

from bson import ObjectId

from clara_common.contract import REJECTED_TRUE_CLASS
from clara_common.days import local_day
from clara_logger import history

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def prediction(
    rng: random.Random, index: int, *, reviewed: bool = True, legacy: bool = False, logged: bool = False
) -> dict:
    """Return a prediction document; reviewed ones are spread over three days of validation."""
    true_class = rng.randrange(7)
    predicted = true_class if rng.random() < 0.8 else rng.randrange(7)
    created = START + timedelta(hours=index % 60)
    doc = {
        "_id": ObjectId(),
        "filename": f"img-{index:05d}.jpg",
        "output_confidence": round(rng.random(), 3),
        "output_prediction": predicted,
        "output_validated": None,
        "timestamp": created,
        "logged": logged,
        "timestamp_validated": None,
    }
    if reviewed:
        doc["output_validated"] = (predicted == true_class) if legacy else true_class
        doc["timestamp_validated"] = created + timedelta(hours=3)
    return doc


def expected_confusion(docs: list[dict]) -> Counter:
    """Return (day, true, predicted) -> count, computed straight from the documents."""
    cells: Counter = Counter()
    for doc in docs:
        verdict = doc["output_validated"]
        if verdict is True:
            true_class = doc["output_prediction"]
        elif verdict is False:
            true_class = REJECTED_TRUE_CLASS
        else:
            true_class = verdict
        day = local_day(doc["timestamp_validated"], UTC).isoformat()
        cells[(day, str(true_class), str(doc["output_prediction"]))] += 1
    return cells


def stored_confusion(db) -> Counter:
    """Return (day, true, predicted) -> count, read back from the logger's history."""
    cells: Counter = Counter()
    for record in history.history(db).find():
        for true_class, row in record["confusion"].items():
            for predicted, count in row.items():
                cells[(record["_id"], true_class, predicted)] += count
    return cells
