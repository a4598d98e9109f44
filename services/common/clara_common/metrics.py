"""Classification metrics from confusion counts, with scikit-learn's `zero_division=np.nan` semantics.

The input is a table of confusion counts: `day` (YYYY-MM-DD), `true` and `predicted` class ids, and
`n` validated predictions. A legacy rejected record has true class REJECTED_TRUE_CLASS: it is a
wrong prediction (against accuracy and against its predicted class's precision), it is in no
class's recall, and it is never a label. The labels of a group are the classes that appear in its
truth or its predictions. An undefined value (a division by zero) is None and is left out of the
averages, as `precision_recall_fscore_support(..., zero_division=np.nan)` does.

The arithmetic is NumPy over a dense table of per-group, per-label sums (tp, predicted, true): a 90-day
range is a few thousand cells, and polars' per-operation overhead made the dozens of small group-bys an
answer needs cost ten times the sums themselves.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from clara_common.contract import REJECTED_TRUE_CLASS

AVERAGES = ("macro", "weighted", "micro")
COUNT_SCHEMA = {"day": pl.String, "true": pl.Int64, "predicted": pl.Int64, "n": pl.Int64}
SCORES = ("precision", "recall", "f1")
Array = npt.NDArray[Any]
LABEL_TABLE_SCHEMA = {
    "label": pl.Int64,
    "tp": pl.Int64,
    "pred_sum": pl.Int64,
    "true_sum": pl.Int64,
    "precision": pl.Float64,
    "recall": pl.Float64,
    "f1": pl.Float64,
}


@dataclass(frozen=True)
class Sums:
    """Per group (rows) and label (columns): true positives, predictions of the label, records of the label
    as their true class; and per group the records (entries) and the right predictions (correct)."""

    keys: list[tuple[Any, ...]]
    labels: Array  # the label ids, ascending
    tp: Array
    pred_sum: Array
    true_sum: Array
    entries: Array
    correct: Array

    @property
    def present(self) -> Array:
        """Which labels each group has: those of its truth or its predictions."""
        return (self.pred_sum > 0) | (self.true_sum > 0)

    def scores(self) -> dict[str, Array]:
        """Each label's precision, recall and f1 per group, NaN where undefined (a division by zero)."""
        return {
            "precision": _ratio(self.tp, self.pred_sum),
            "recall": _ratio(self.tp, self.true_sum),
            "f1": _ratio(2 * self.tp, self.true_sum + self.pred_sum),
        }


def _ratio(numerator: Array, denominator: Array) -> Array:
    """Return numerator / denominator elementwise, NaN where the denominator is 0."""
    numerator, denominator = np.broadcast_arrays(numerator, denominator)
    out = np.full(denominator.shape, np.nan)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def sums(counts: pl.DataFrame, keys: Sequence[str] = ()) -> Sums:
    """Return the counts' sums per group of `keys` (one group, keyed (), without keys) and label."""
    columns = counts.select(*keys, "true", "predicted", "n")
    if keys:
        grouped = columns.select(pl.struct(*keys).rank("dense").cast(pl.Int64) - 1).to_series().to_numpy()
        keys_of = columns.select(*keys).with_columns(group=grouped).unique("group").sort("group")
        key_list = [tuple(row[:-1]) for row in keys_of.iter_rows()]
    else:
        grouped = np.zeros(columns.height, dtype=np.int64)
        key_list = [()] if columns.height else []
    true = columns.get_column("true").to_numpy()
    predicted = columns.get_column("predicted").to_numpy()
    n = columns.get_column("n").to_numpy()
    labels = np.unique(np.concatenate([predicted, true[true != REJECTED_TRUE_CLASS]]))
    shape = (len(key_list), len(labels))

    def add(weights: Array, label_ids: Array, where: Array) -> Array:
        cells = grouped[where] * len(labels) + np.searchsorted(labels, label_ids[where])
        return np.bincount(cells, weights=weights[where], minlength=shape[0] * shape[1]).reshape(shape)

    everything = np.ones(len(n), dtype=bool)
    known = true != REJECTED_TRUE_CLASS
    right = known & (true == predicted)
    return Sums(
        keys=key_list,
        labels=labels,
        tp=add(n, true, right),
        pred_sum=add(n, predicted, everything),
        true_sum=add(n, true, known),
        entries=np.bincount(grouped, weights=n, minlength=shape[0]),
        correct=np.bincount(grouped[right], weights=n[right], minlength=shape[0]),
    )


def _mean(values: Array, where: Array) -> Array:
    """Return the mean of each row's values where `where` and not NaN; NaN for a row with none."""
    keep = where & ~np.isnan(values)
    count = keep.sum(axis=1)
    return _ratio(np.where(keep, values, 0.0).sum(axis=1), count)


def _weighted_mean(values: Array, weights: Array, where: Array) -> Array:
    """Weighted by support; as scikit-learn, undefined scores are left out with their weights, and a plain
    mean is taken when the remaining weights sum to zero."""
    keep = where & ~np.isnan(values)
    kept_weights = np.where(keep, weights, 0.0)
    total = kept_weights.sum(axis=1)
    weighted = _ratio((np.where(keep, values, 0.0) * kept_weights).sum(axis=1), total)
    return np.where(total > 0, weighted, _mean(values, where))


def averaged(table: Sums, average: str) -> dict[str, Array]:
    """Return each group's precision, recall and f1, averaged over its labels as `average` says."""
    if average == "micro":
        return {
            "precision": _ratio(table.tp.sum(axis=1), table.pred_sum.sum(axis=1)),
            "recall": _ratio(table.tp.sum(axis=1), table.true_sum.sum(axis=1)),
            "f1": _ratio(2 * table.tp.sum(axis=1), table.true_sum.sum(axis=1) + table.pred_sum.sum(axis=1)),
        }
    scores, present = table.scores(), table.present
    if average == "macro":
        return {k: _mean(v, present) for k, v in scores.items()}
    if average == "weighted":
        return {k: _weighted_mean(v, table.true_sum, present) for k, v in scores.items()}
    raise ValueError(f"average must be one of {', '.join(AVERAGES)}, got {average!r}")


def _value(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


def accuracy(correct: int, entries: int) -> float | None:
    """Return a day's (or any set's) accuracy: the share of its validated predictions that were right.

    None for no validated predictions: an accuracy that is not there, never 0. Every accuracy the services
    show is this one: /api/metrics and the history's metrics (through `summary`), the estimate's realised one.
    """
    return correct / entries if entries else None


def _summary_rows(table: Sums, averages: dict[str, Array]) -> dict[tuple[Any, ...], dict[str, Any]]:
    return {
        key: {
            "entries": int(table.entries[i]),
            "precision": _value(averages["precision"][i]),
            "accuracy": accuracy(int(table.correct[i]), int(table.entries[i])),
            "recall": _value(averages["recall"][i]),
            "f1": _value(averages["f1"][i]),
        }
        for i, key in enumerate(table.keys)
        if table.entries[i]
    }


def _empty_summary() -> dict[str, Any]:
    return {"entries": 0, "precision": None, "accuracy": None, "recall": None, "f1": None}


def label_table(counts: pl.DataFrame, keys: Sequence[str] = ()) -> pl.DataFrame:
    """Return, per group of `keys` and label, tp, pred_sum, true_sum and the label's precision, recall and f1."""
    table = sums(counts, keys)
    scores = table.scores()
    rows = [
        (*key, int(label), int(table.tp[i, j]), int(table.pred_sum[i, j]), int(table.true_sum[i, j]))
        + tuple(_value(scores[k][i, j]) for k in SCORES)
        for i, key in enumerate(table.keys)
        for j, label in enumerate(table.labels)
        if table.present[i, j]
    ]
    schema = {name: counts.schema[name] for name in keys} | LABEL_TABLE_SCHEMA
    return pl.DataFrame(rows, schema=schema, orient="row").sort([*keys, "label"])


def summary(counts: pl.DataFrame, average: str = "macro") -> dict[str, Any]:
    """Return entries, precision, accuracy, recall and f1 over all of `counts`."""
    table = sums(counts)
    return _summary_rows(table, averaged(table, average)).get(()) or _empty_summary()


def daily_summaries(counts: pl.DataFrame, days: Iterable[str], average: str = "macro") -> dict[str, dict[str, Any]]:
    """Return day -> summary for every day in `days`; a day without counts has 0 entries and null metrics."""
    table = sums(counts, ["day"])
    by_day = _summary_rows(table, averaged(table, average))
    return {day: by_day.get((day,)) or _empty_summary() for day in days}


def class_scores(counts: pl.DataFrame) -> dict[int, dict[str, Any]]:
    """Return label -> precision, recall, f1 and support (validated predictions whose true class it is)."""
    table = sums(counts)
    if not table.keys:
        return {}
    scores = table.scores()
    return {
        int(label): {**{k: _value(scores[k][0, j]) for k in SCORES}, "support": int(table.true_sum[0, j])}
        for j, label in enumerate(table.labels)
        if table.present[0, j]
    }


# -- the original CLARA dashboard's scores (its /data route) ------------------------------------------
# Weighted precision and F1, micro recall, and one-vs-rest scores per class, all with scikit-learn's
# `zero_division=1`: a score whose denominator is zero is 1.0. The labels are the same as above (a
# legacy rejection is a wrong prediction and never a label).

ORIGINAL_ZERO_DIVISION = 1.0


def original_averaged(table: Sums) -> dict[str, Array]:
    """Return each group's weighted precision and f1 and micro recall, undefined scores counted as 1.0."""
    scores, present = table.scores(), table.present
    filled = {k: np.where(np.isnan(v), ORIGINAL_ZERO_DIVISION, v) for k, v in scores.items()}
    recall = _ratio(table.tp.sum(axis=1), table.true_sum.sum(axis=1))
    return {
        "precision": _weighted_mean(filled["precision"], table.true_sum, present),
        "recall": np.where(np.isnan(recall), ORIGINAL_ZERO_DIVISION, recall),
        "f1": _weighted_mean(filled["f1"], table.true_sum, present),
    }


def original_summary(counts: pl.DataFrame) -> dict[str, Any]:
    """Return entries and the original dashboard's precision, accuracy, recall and f1 over all of `counts`."""
    table = sums(counts)
    return _summary_rows(table, original_averaged(table)).get(()) or _empty_summary()


def original_daily_summaries(counts: pl.DataFrame, days: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Return day -> the original dashboard's summary for every day in `days` (0 entries and nulls when empty)."""
    table = sums(counts, ["day"])
    by_day = _summary_rows(table, original_averaged(table))
    return {day: by_day.get((day,)) or _empty_summary() for day in days}


def original_class_scores(counts: pl.DataFrame, labels: Iterable[int]) -> dict[int, dict[str, float]]:
    """Return label -> one-vs-rest precision, recall and f1 with zero_division=1, for each of `labels`."""
    scores = class_scores(counts)
    return {
        label: {k: ORIGINAL_ZERO_DIVISION if (v := scores.get(label, {}).get(k)) is None else v for k in SCORES}
        for label in labels
    }


def true_class_totals(counts: pl.DataFrame) -> dict[int, int]:
    """Return true class -> validated predictions (legacy rejections, whose true class is unknown, left out)."""
    table = sums(counts)
    if not table.keys:
        return {}
    return {int(label): int(table.true_sum[0, j]) for j, label in enumerate(table.labels) if table.true_sum[0, j]}
