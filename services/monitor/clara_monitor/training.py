"""The training tab's counts: validated predictions already used for retraining, per true class.

Counted inside the database by the contract's aggregation twin (clara_common.contract.mongo_record),
which tests/integration/test_contract_mongo.py holds to the parser's verdict. Marking a prediction
`trained` changes no time the ledger follows, so the counts are kept in this process for
MONITOR_TRAINING_CACHE_SECONDS; the monitor writes nothing to the database.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from pymongo.collection import Collection

from clara_common.classes import ClassCatalog
from clara_common.contract import REJECTED_TRUE_CLASS, mongo_plain_validated_filter, mongo_record
from clara_common.db import Document


def trained_counts(collection: Collection[Document], classes: ClassCatalog, tz_name: str) -> dict[int, int]:
    """Return true class -> validated predictions marked `trained` (legacy rejections have no class)."""
    plain = mongo_plain_validated_filter(classes)
    pipelines: list[list[dict[str, Any]]] = [
        [
            {"$match": {"trained": True}},
            {"$match": plain},
            {"$group": {"_id": {"$toInt": "$output_validated"}, "n": {"$sum": 1}}},
        ],
        [
            {"$match": {"trained": True}},
            {"$match": {"$nor": [plain]}},
            {"$project": {"_id": 0, "r": mongo_record(classes, tz_name)}},
            {"$match": {"r.valid": True, "r.reviewed": True, "r.true": {"$ne": REJECTED_TRUE_CLASS}}},
            {"$group": {"_id": "$r.true", "n": {"$sum": 1}}},
        ],
    ]
    counts: dict[int, int] = {}
    for pipeline in pipelines:
        for group in collection.aggregate(pipeline):
            counts[int(group["_id"])] = counts.get(int(group["_id"]), 0) + int(group["n"])
    return counts


class TrainedCounts:
    """trained_counts, recounted at most once per `max_age` seconds in this process."""

    def __init__(self, max_age: float) -> None:
        self.max_age = max_age
        self._lock = threading.Lock()
        self._kept: tuple[float, dict[int, int]] | None = None

    def get(self, collection: Collection[Document], classes: ClassCatalog, tz_name: str) -> dict[int, Any]:
        with self._lock:
            if self._kept is not None and time.monotonic() - self._kept[0] < self.max_age:
                return self._kept[1]
        counts = trained_counts(collection, classes, tz_name)
        with self._lock:
            self._kept = (time.monotonic(), counts)
        return counts
