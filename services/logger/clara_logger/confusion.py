"""Per-day tallies of validated predictions and the metrics computed from them (pure arithmetic).

A confusion table maps the true class id to the predicted class id to a count, both ids as strings
(MongoDB field names). The true class of a legacy `false` review is REJECTED_TRUE_CLASS (-1): it
counts against accuracy and the predicted class's precision, and in no class's recall.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, tzinfo

from clara_common.contract import REJECTED_TRUE_CLASS, Prediction
from clara_common.days import local_day

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

    def add(self, prediction: Prediction) -> None:
        """Count one validated prediction."""
        row = self.confusion.setdefault(str(prediction.true_class), {})
        predicted = str(prediction.predicted_class)
        row[predicted] = row.get(predicted, 0) + 1
        self.count += 1
        if prediction.confidence is None:
            self.confidence_missing += 1
        else:
            self.confidence_histogram[confidence_bin(prediction.confidence)] += 1


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


def _ratio(numerator: int, denominator: int) -> float | None:
    # No data is no number: a chart shows a gap, never an invented value.
    return numerator / denominator if denominator else None


def _f1(precision: float | None, recall: float | None) -> float | None:
    if precision is None or recall is None:
        return None
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


def _mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def metrics_from_confusion(confusion: Mapping[str, Mapping[str, int]], class_ids: Sequence[int]) -> dict:
    """Return accuracy, per-class precision/recall/F1 and their macro means from a confusion table."""
    total = sum(sum(row.values()) for row in confusion.values())
    correct = sum(confusion.get(str(c), {}).get(str(c), 0) for c in class_ids)
    predicted = predicted_class_counts(confusion, class_ids)
    actual = true_class_counts(confusion, class_ids)
    per_class = {}
    for index, class_id in enumerate(class_ids):
        hits = confusion.get(str(class_id), {}).get(str(class_id), 0)
        precision = _ratio(hits, predicted[index])
        recall = _ratio(hits, actual[index])
        per_class[str(class_id)] = {
            "precision": precision, "recall": recall, "f1": _f1(precision, recall),
            "support": actual[index], "predicted": predicted[index],
        }
    return {
        "count": total,
        "rejected": sum(confusion.get(str(REJECTED_TRUE_CLASS), {}).values()),
        "accuracy": _ratio(correct, total),
        "precision_macro": _mean(m["precision"] for m in per_class.values()),
        "recall_macro": _mean(m["recall"] for m in per_class.values()),
        "f1_macro": _mean(m["f1"] for m in per_class.values()),
        "per_class": per_class,
    }
