"""The history store: one MongoDB document per local day of validation, always on.

    _id                   "YYYY-MM-DD"
    count                 validated predictions counted for the day
    confusion             {true id: {predicted id: count}}  (true id "-1": legacy `false` review)
    invalid               reviewed documents validated that day that break the contract
    confidence_histogram  counts in CONFIDENCE_BINS equal bins over [0, 1]
    confidence_missing    predictions without a confidence
    calibration           {predicted id: [[count, correct, confidence sum in millionths] per bin]} over the
                          predictions with a confidence, in clara_common.calibration's 10 bins; null or
                          absent on a day whose counts are not all in it (written before the field existed,
                          or added to by a batch built without it) until a reconcile recounts the day
    metrics               accuracy, precision/recall/F1 per class and macro, from `confusion`
    profile               the merged whylogs profile of every prediction logged to the day (v0 bytes;
                          see profiles.py); a corrected review's old profile stays in it, since a
                          sketch cannot be subtracted: the counts above are the exact ones
    drift                 the day's drift results (drift.py), set after each change
    drift_stale           true from a change until its drift (and alerts) are evaluated
    applied_batches       ids of the logger batches already counted in this day
    version               bumped on every change of the counts, for optimistic concurrency
    updated_at            set on every change (drift included): readers look up the days changed lately

Per-day tallies (`DayTally`, pure) count ledger contributions, each added (+1) or taken out (-1, a
corrected review). A confusion table maps the true class id to the predicted class id to a count, both ids
as strings (MongoDB field names); the true class of a legacy `false` review is REJECTED_TRUE_CLASS (-1). The
metrics come from clara_common.metrics, the one home of that arithmetic.

A batch's part of a day may be negative: a corrected review moves out of the day it was counted in.
A batch's part of a day is applied at most once: the day records the batch ids it holds, and a write
only lands if the day has not changed since it was read (no transaction needed).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from typing import Any

import polars as pl
from bson import Binary
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from clara_common import calibration as calibration_table
from clara_common.contract import Prediction
from clara_common.days import local_day
from clara_common.db import Document
from clara_common.ledger import HISTORY_COLLECTION, Contribution
from clara_common.metrics import COUNT_SCHEMA, class_scores, summary
from clara_logger import profiles

# Confidence histogram: equal-width bins over [0, 1]; exact to merge, and enough for a KS test.
CONFIDENCE_BINS = 20

Confusion = dict[str, dict[str, int]]


@dataclass
class DayTally:
    """What a set of predictions validated on one local day adds to that day's record."""

    count: int = 0
    confusion: Confusion = field(default_factory=dict)
    confidence_histogram: list[int] = field(default_factory=lambda: [0] * CONFIDENCE_BINS)
    confidence_missing: int = 0
    invalid: int = 0
    # Per predicted class and confidence bin: count, correct, confidence sum (clara_common.calibration).
    calibration: calibration_table.Table = field(default_factory=dict)

    def add(self, prediction: Prediction) -> None:
        """Count one validated prediction."""
        self.count_in(Contribution("", prediction.true_class, prediction.predicted_class, prediction.confidence))

    def count_in(self, item: Contribution, sign: int = 1) -> None:
        """Add one contribution (sign 1) or take it out (sign -1)."""
        if not item.is_valid or item.predicted is None:  # a valid contribution has both classes
            self.invalid += sign
            return
        row = self.confusion.setdefault(str(item.true), {})
        predicted = str(item.predicted)
        row[predicted] = row.get(predicted, 0) + sign
        self.count += sign
        if item.confidence is None:
            self.confidence_missing += sign
        else:
            self.confidence_histogram[confidence_bin(item.confidence)] += sign
            calibration_table.count_in(
                self.calibration,
                item.predicted,
                item.confidence,
                item.true == item.predicted,
                sign,
            )

    def as_counts(self) -> dict[str, Any]:
        """Return the tally as a history day's count fields."""
        return {
            "count": self.count,
            "confusion": nonzero(self.confusion),
            "invalid": self.invalid,
            "confidence_histogram": self.confidence_histogram,
            "confidence_missing": self.confidence_missing,
            "calibration": calibration_table.nonzero_table(self.calibration),
        }

    def merged(self, other: DayTally) -> DayTally:
        """Return the sum of two tallies of the same day."""
        return DayTally(
            count=self.count + other.count,
            confusion=add_confusion(self.confusion, other.confusion),
            confidence_histogram=add_counts(self.confidence_histogram, other.confidence_histogram),
            confidence_missing=self.confidence_missing + other.confidence_missing,
            invalid=self.invalid + other.invalid,
            calibration=calibration_table.add_tables(self.calibration, other.calibration),
        )


def confidence_bin(confidence: float) -> int:
    """Return the histogram bin of a confidence in [0, 1]; 1.0 falls in the last bin."""
    return min(int(confidence * CONFIDENCE_BINS), CONFIDENCE_BINS - 1)


def tally_by_day(predictions: Iterable[Prediction], tz: tzinfo) -> dict[date, DayTally]:
    """Return the tally of validated predictions per local day of validation."""
    tallies: dict[date, DayTally] = {}
    for prediction in predictions:
        if prediction.timestamp_validated is None:
            continue
        tallies.setdefault(local_day(prediction.timestamp_validated, tz), DayTally()).add(prediction)
    return tallies


def add_confusion(left: Mapping[str, Mapping[str, int]], right: Mapping[str, Mapping[str, int]]) -> Confusion:
    """Return the cell-wise sum of two confusion tables."""
    total: Confusion = {true: dict(row) for true, row in left.items()}
    for true, row in right.items():
        target = total.setdefault(true, {})
        for predicted, count in row.items():
            target[predicted] = target.get(predicted, 0) + count
    return total


def nonzero(confusion: Mapping[str, Mapping[str, int]]) -> Confusion:
    """Return a confusion table without its zero cells (and rows)."""
    return {t: kept for t, row in confusion.items() if (kept := {p: n for p, n in row.items() if n})}


def add_counts(left: Sequence[int], right: Sequence[int]) -> list[int]:
    """Return the element-wise sum of two histograms of the same length."""
    if len(left) != len(right):
        raise ValueError(f"histograms differ in length: {len(left)} and {len(right)}")
    return [a + b for a, b in zip(left, right)]


def true_class_counts(confusion: Mapping[str, Mapping[str, int]], class_ids: Iterable[int]) -> list[int]:
    """Return the count of each true class, in `class_ids` order (rejected reviews have none)."""
    return [sum(confusion.get(str(c), {}).values()) for c in class_ids]


def predicted_class_counts(confusion: Mapping[str, Mapping[str, int]], class_ids: Iterable[int]) -> list[int]:
    """Return the count of each predicted class, in `class_ids` order."""
    return [sum(row.get(str(c), 0) for row in confusion.values()) for c in class_ids]


def confusion_rows(day: str, confusion: Mapping[str, Mapping[str, int]]) -> list[dict[str, Any]]:
    """Return a day's confusion table as rows of (day, true, predicted, n), the monitor's count table."""
    return [
        {"day": day, "true": int(true), "predicted": int(predicted), "n": count}
        for true, row in confusion.items()
        for predicted, count in row.items()
        if count
    ]


# A write that loses this many races in a row means something else is wrong.
MAX_WRITE_ATTEMPTS = 20


class HistoryConflict(RuntimeError):
    """A day kept changing under us; the batch stays pending and is retried."""


@dataclass(frozen=True)
class DayPart:
    """What one batch adds to one day (counts may be negative) and the profile of the predictions it adds.

    `profile` is empty when the batch adds no prediction to the day (it only takes some out).
    """

    day: str
    count: int
    confusion: dict[str, dict[str, int]]
    confidence_histogram: list[int]
    confidence_missing: int
    profile: bytes
    invalid: int = 0
    calibration: calibration_table.Table | None = None  # None: built without it (a batch of an older logger)

    def to_document(self) -> dict[str, Any]:
        return {
            "day": self.day,
            "count": self.count,
            "confusion": self.confusion,
            "invalid": self.invalid,
            "confidence_histogram": self.confidence_histogram,
            "confidence_missing": self.confidence_missing,
            "profile": Binary(self.profile),
            "calibration": self.calibration,
        }

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> DayPart:
        return cls(
            day=doc["day"],
            count=doc["count"],
            confusion=doc["confusion"],
            invalid=doc.get("invalid", 0),
            confidence_histogram=list(doc["confidence_histogram"]),
            confidence_missing=doc["confidence_missing"],
            profile=bytes(doc.get("profile", b"")),
            calibration=doc.get("calibration"),
        )


def history(database: Database[Document]) -> Collection[Document]:
    """Return the history collection."""
    return database[HISTORY_COLLECTION]


def day_metrics(day: str, confusion: dict[str, dict[str, int]]) -> dict[str, Any]:
    """Return a day's accuracy, macro precision/recall/F1 and per-class scores from its confusion counts."""
    counts = pl.DataFrame(confusion_rows(day, confusion), schema=COUNT_SCHEMA)
    return {**summary(counts), "per_class": {str(k): v for k, v in class_scores(counts).items()}}


def merged_day(current: dict[str, Any] | None, part: DayPart) -> dict[str, Any]:
    """Return the day's fields once `part` is added to `current` (None: the day is new)."""
    base = current or {
        "confusion": {},
        "confidence_histogram": [0] * len(part.confidence_histogram),
        "count": 0,
        "confidence_missing": 0,
        "invalid": 0,
        "calibration": {},
    }
    profile = merged_profile(base.get("profile"), part.profile)
    counts = added_counts(base, part.to_document())
    return {
        **counts,
        "metrics": day_metrics(part.day, counts["confusion"]),
        **({"profile": Binary(profile)} if profile else {}),
        "updated_at": datetime.now(UTC),
        # Drift and alerts are due again; cleared by set_drift, so a logger that dies in between
        # leaves the day for the next tick rather than never evaluated.
        "drift_stale": True,
    }


COUNT_FIELDS = ("count", "confusion", "invalid", "confidence_histogram", "confidence_missing", "calibration")


def added_counts(left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
    """Return the count fields of a day plus those of a part (cells that come to zero are dropped)."""
    return {
        "count": left["count"] + right["count"],
        "confusion": nonzero(add_confusion(left["confusion"], right["confusion"])),
        "invalid": left.get("invalid", 0) + right.get("invalid", 0),
        "confidence_histogram": add_counts(left["confidence_histogram"], right["confidence_histogram"]),
        "confidence_missing": left["confidence_missing"] + right["confidence_missing"],
        # A day without a table (older than it) stays without one: partial bins would pass for complete.
        "calibration": (
            None
            if left.get("calibration") is None or right.get("calibration") is None
            else calibration_table.add_tables(left["calibration"], right["calibration"])
        ),
    }


def merged_profile(stored: bytes | None, added: bytes) -> bytes | None:
    """Return the day's profile bytes once a part's profile is merged in (either may be empty)."""
    if not added:
        return bytes(stored) if stored else None
    if not stored:
        return added
    return profiles.serialize(profiles.merge(profiles.deserialize(bytes(stored)), profiles.deserialize(added)))


def apply_part(collection: Collection[Document], part: DayPart, batch_id: str) -> bool:
    """Add a batch's part to its day unless that batch is already there; return whether it was added."""
    for _ in range(MAX_WRITE_ATTEMPTS):
        current = collection.find_one({"_id": part.day})
        if current is not None and batch_id in current.get("applied_batches", []):
            return False
        fields = merged_day(current, part)
        if current is None:
            try:
                collection.insert_one({"_id": part.day, **fields, "applied_batches": [batch_id], "version": 1})
            except DuplicateKeyError:
                continue  # another logger created the day first: read it again
            return True
        result = collection.update_one(
            {"_id": part.day, "version": current["version"]},
            {"$set": fields, "$push": {"applied_batches": batch_id}, "$inc": {"version": 1}},
        )
        if result.matched_count == 1:
            return True
    raise HistoryConflict(f"day {part.day} changed {MAX_WRITE_ATTEMPTS} times while batch {batch_id} was applied")


def set_drift(collection: Collection[Document], day: str, version: int, drift: dict[str, Any]) -> bool:
    """Store a day's drift results if the day is still at `version`; return whether they were stored."""
    fields = {"drift": drift, "drift_stale": False, "updated_at": datetime.now(UTC)}
    return collection.update_one({"_id": day, "version": version}, {"$set": fields}).matched_count == 1


def stale_days(collection: Collection[Document]) -> list[str]:
    """Return the days whose counts changed since their drift was last evaluated, oldest first."""
    return [r["_id"] for r in collection.find({"drift_stale": True}, {"_id": 1}, sort=[("_id", 1)])]


def get_day(collection: Collection[Document], day: date | str) -> dict[str, Any] | None:
    """Return the stored record of a day, or None."""
    return collection.find_one({"_id": day if isinstance(day, str) else day.isoformat()})


def days(
    collection: Collection[Document], first: date | None = None, last: date | None = None, with_profile: bool = False
) -> Iterator[dict[str, Any]]:
    """Yield the stored days from `first` to `last` (both included), oldest first."""
    query: dict[str, Any] = {}
    if first is not None:
        query.setdefault("_id", {})["$gte"] = first.isoformat()
    if last is not None:
        query.setdefault("_id", {})["$lte"] = last.isoformat()
    projection = None if with_profile else {"profile": 0, "applied_batches": 0}
    yield from collection.find(query, projection, sort=[("_id", 1)])


def replace_counts(collection: Collection[Document], day: str, version: int | None, counts: dict[str, Any]) -> bool:
    """Set a day's counts (a reconcile's repair) if the day is still at `version`; return whether it was set.

    `version` None: the day has no record yet, and one is created.
    """
    fields = {
        **counts,
        "metrics": day_metrics(day, counts["confusion"]),
        "updated_at": datetime.now(UTC),
        "drift_stale": True,
    }
    if version is None:
        try:
            collection.insert_one({"_id": day, **fields, "applied_batches": [], "version": 1})
        except DuplicateKeyError:
            return False
        return True
    return (
        collection.update_one({"_id": day, "version": version}, {"$set": fields, "$inc": {"version": 1}}).matched_count
        == 1
    )


def first_days(collection: Collection[Document], count: int) -> list[dict[str, Any]]:
    """Return the `count` oldest stored days (the default drift reference window)."""
    return list(collection.find({}, {"profile": 0, "applied_batches": 0}, sort=[("_id", 1)], limit=count))
