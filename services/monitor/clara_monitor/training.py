"""The training tab's counts: validated predictions already used for retraining, per true class.

The predictions marked `trained` are read through the `trained` index and judged by the record
contract (`parse_prediction`), as every other count is. Marking a prediction `trained` changes no time
the ledger follows, so the counts are kept in this process for MONITOR_TRAINING_CACHE_SECONDS; the
monitor writes nothing to the database.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from pymongo.collection import Collection

from clara_common.classes import ClassCatalog
from clara_common.contract import FIELDS, REJECTED_TRUE_CLASS, Prediction, parse_prediction
from clara_common.db import Document

# What the query asks for: a superset of what the contract takes for trained (true, and arrays holding it).
TRAINED = {"trained": True}
PROJECTION = dict.fromkeys(FIELDS, 1)


def count_trained(documents: Iterable[Mapping[str, Any]], classes: ClassCatalog, tz: tzinfo) -> dict[int, int]:
    """Return true class -> documents the contract reads as validated and trained (legacy rejections have no class)."""
    records = (parse_prediction(doc, classes, tz) for doc in documents)
    return dict(
        Counter(
            record.true_class
            for record in records
            if isinstance(record, Prediction)
            and record.trained
            and record.true_class is not None
            and record.true_class != REJECTED_TRUE_CLASS
        )
    )


def trained_counts(collection: Collection[Document], classes: ClassCatalog, tz_name: str) -> dict[int, int]:
    """Return true class -> validated predictions marked `trained`, read through the `trained` index."""
    return count_trained(collection.find(TRAINED, PROJECTION), classes, ZoneInfo(tz_name))


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
