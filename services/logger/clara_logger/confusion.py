"""Per-day tallies of validated predictions: confusion counts, confidence histograms and calibration tables (pure).

A tally counts ledger contributions, each added (+1) or taken out (-1, a corrected review).

A confusion table maps the true class id to the predicted class id to a count, both ids as strings
(MongoDB field names). The true class of a legacy `false` review is REJECTED_TRUE_CLASS (-1). The
metrics come from the monitor's metrics module, the one home of that arithmetic.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, tzinfo
from typing import Any

from clara_common import calibration
from clara_common.contract import Prediction
from clara_common.days import local_day
from clara_common.ledger import Contribution

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
    calibration: calibration.Table = field(default_factory=dict)

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
            calibration.count_in(
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
            "calibration": calibration.nonzero_table(self.calibration),
        }

    def merged(self, other: DayTally) -> DayTally:
        """Return the sum of two tallies of the same day."""
        return DayTally(
            count=self.count + other.count,
            confusion=add_confusion(self.confusion, other.confusion),
            confidence_histogram=add_counts(self.confidence_histogram, other.confidence_histogram),
            confidence_missing=self.confidence_missing + other.confidence_missing,
            invalid=self.invalid + other.invalid,
            calibration=calibration.add_tables(self.calibration, other.calibration),
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
