"""Classification metrics from confusion counts, with scikit-learn's `zero_division=np.nan` semantics.

The input is a table of confusion counts: `day` (YYYY-MM-DD), `true` and `predicted` class ids, and
`n` validated predictions. A legacy rejected record has true class REJECTED_TRUE_CLASS: it is a
wrong prediction (against accuracy and against its predicted class's precision), it is in no
class's recall, and it is never a label. The labels of a group are the classes that appear in its
truth or its predictions. An undefined value (a division by zero) is None and is left out of the
averages, as `precision_recall_fscore_support(..., zero_division=np.nan)` does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import polars as pl

from clara_common.contract import REJECTED_TRUE_CLASS

AVERAGES = ("macro", "weighted", "micro")
COUNT_SCHEMA = {"day": pl.String, "true": pl.Int64, "predicted": pl.Int64, "n": pl.Int64}
SCORES = ("precision", "recall", "f1")


def empty_counts() -> pl.DataFrame:
    """Return a confusion-count table with no rows."""
    return pl.DataFrame(schema=COUNT_SCHEMA)


def _ratio(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    # Null, not NaN, for 0/0: polars' aggregations skip nulls, which is "left out of the average".
    return pl.when(denominator > 0).then(numerator / denominator).otherwise(None)


def label_table(counts: pl.DataFrame, keys: Sequence[str] = ()) -> pl.DataFrame:
    """Return, per group of `keys` and label, tp, pred_sum, true_sum and the label's precision, recall and f1."""
    keys = list(keys)
    label_keys = [*keys, "label"]
    predicted = counts.group_by([*keys, pl.col("predicted").alias("label")]).agg(pred_sum=pl.col("n").sum())
    truth = counts.filter(pl.col("true") != REJECTED_TRUE_CLASS)
    true_sums = truth.group_by([*keys, pl.col("true").alias("label")]).agg(true_sum=pl.col("n").sum())
    hits = truth.filter(pl.col("true") == pl.col("predicted"))
    true_positives = hits.group_by([*keys, pl.col("true").alias("label")]).agg(tp=pl.col("n").sum())
    table = (
        predicted.join(true_sums, on=label_keys, how="full", coalesce=True)
        .join(true_positives, on=label_keys, how="left")
        .with_columns(pl.col("pred_sum", "true_sum", "tp").fill_null(0))
    )
    return table.with_columns(
        precision=_ratio(pl.col("tp"), pl.col("pred_sum")),
        recall=_ratio(pl.col("tp"), pl.col("true_sum")),
        f1=_ratio(2 * pl.col("tp"), pl.col("true_sum") + pl.col("pred_sum")),
    ).sort(label_keys)


def _weighted(score: str) -> pl.Expr:
    # sklearn drops undefined scores with their weights, and falls back to a plain mean when the
    # remaining weights sum to zero (every label of the group only ever predicted).
    defined = pl.col(score).is_not_null()
    weight = pl.when(defined).then(pl.col("true_sum")).otherwise(0)
    total = weight.sum()
    return pl.when(total > 0).then((pl.col(score) * weight).sum() / total).otherwise(pl.col(score).mean())


def _average_exprs(average: str) -> list[pl.Expr]:
    if average == "macro":
        return [pl.col(s).mean().alias(s) for s in SCORES]
    if average == "weighted":
        return [_weighted(s).alias(s) for s in SCORES]
    if average == "micro":
        tp, pred_sum, true_sum = pl.col("tp").sum(), pl.col("pred_sum").sum(), pl.col("true_sum").sum()
        return [
            _ratio(tp, pred_sum).alias("precision"),
            _ratio(tp, true_sum).alias("recall"),
            _ratio(2 * tp, true_sum + pred_sum).alias("f1"),
        ]
    raise ValueError(f"average must be one of {', '.join(AVERAGES)}, got {average!r}")


def summary_table(counts: pl.DataFrame, average: str, keys: Sequence[str]) -> pl.DataFrame:
    """Return, per group of `keys`, entries, accuracy and the averaged precision, recall and f1."""
    keys = list(keys)
    averaged = label_table(counts, keys).group_by(keys).agg(_average_exprs(average))
    accuracy = counts.group_by(keys).agg(
        entries=pl.col("n").sum(),
        accuracy=_ratio(pl.col("n").filter(pl.col("true") == pl.col("predicted")).sum(), pl.col("n").sum()),
    )
    return accuracy.join(averaged, on=keys, how="left").sort(keys)


def _summary_row(row: dict[str, Any] | None) -> dict[str, Any]:
    if row is None or not row["entries"]:
        return {"entries": 0, "precision": None, "accuracy": None, "recall": None, "f1": None}
    return {"entries": int(row["entries"]), **{k: _clean(row[k]) for k in ("precision", "accuracy", "recall", "f1")}}


def _clean(value: Any) -> Any:
    return None if value is None else float(value)


def summary(counts: pl.DataFrame, average: str = "macro") -> dict[str, Any]:
    """Return entries, precision, accuracy, recall and f1 over all of `counts`."""
    rows = summary_table(counts.with_columns(group=pl.lit(0)), average, keys=["group"]).to_dicts()
    return _summary_row(rows[0] if rows else None)


def daily_summaries(counts: pl.DataFrame, days: Iterable[str], average: str = "macro") -> dict[str, dict[str, Any]]:
    """Return day -> summary for every day in `days`; a day without counts has 0 entries and null metrics."""
    by_day = {row["day"]: row for row in summary_table(counts, average, keys=["day"]).iter_rows(named=True)}
    return {day: _summary_row(by_day.get(day)) for day in days}


def class_scores(counts: pl.DataFrame) -> dict[int, dict[str, Any]]:
    """Return label -> precision, recall, f1 and support (validated predictions whose true class it is)."""
    return {
        int(row["label"]): {
            "precision": _clean(row["precision"]),
            "recall": _clean(row["recall"]),
            "f1": _clean(row["f1"]),
            "support": int(row["true_sum"]),
        }
        for row in label_table(counts).iter_rows(named=True)
    }


# -- the original CLARA dashboard's scores (its /data route) ------------------------------------------
# Weighted precision and F1, micro recall, and one-vs-rest scores per class, all with scikit-learn's
# `zero_division=1`: a score whose denominator is zero is 1.0. The labels are the same as above (a
# legacy rejection is a wrong prediction and never a label).

ORIGINAL_ZERO_DIVISION = 1.0


def _original_exprs() -> list[pl.Expr]:
    def score(name: str) -> pl.Expr:
        return pl.col(name).fill_null(ORIGINAL_ZERO_DIVISION)

    weight = pl.col("true_sum")
    total = weight.sum()

    def weighted(name: str) -> pl.Expr:
        # As scikit-learn: a plain mean when no label of the group has support.
        return pl.when(total > 0).then((score(name) * weight).sum() / total).otherwise(score(name).mean()).alias(name)

    micro_recall = _ratio(pl.col("tp").sum(), pl.col("true_sum").sum()).fill_null(ORIGINAL_ZERO_DIVISION)
    return [weighted("precision"), micro_recall.alias("recall"), weighted("f1")]


def original_summary_table(counts: pl.DataFrame, keys: Sequence[str]) -> pl.DataFrame:
    """Return, per group of `keys`, entries, accuracy, weighted precision and F1 and micro recall (zero_division=1)."""
    keys = list(keys)
    averaged = label_table(counts, keys).group_by(keys).agg(_original_exprs())
    accuracy = counts.group_by(keys).agg(
        entries=pl.col("n").sum(),
        accuracy=_ratio(pl.col("n").filter(pl.col("true") == pl.col("predicted")).sum(), pl.col("n").sum()),
    )
    return accuracy.join(averaged, on=keys, how="left").sort(keys)


def original_summary(counts: pl.DataFrame) -> dict[str, Any]:
    """Return entries and the original dashboard's precision, accuracy, recall and f1 over all of `counts`."""
    rows = original_summary_table(counts.with_columns(group=pl.lit(0)), keys=["group"]).to_dicts()
    return _summary_row(rows[0] if rows else None)


def original_daily_summaries(counts: pl.DataFrame, days: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Return day -> the original dashboard's summary for every day in `days` (0 entries and nulls when empty)."""
    by_day = {row["day"]: row for row in original_summary_table(counts, keys=["day"]).iter_rows(named=True)}
    return {day: _summary_row(by_day.get(day)) for day in days}


def original_class_scores(counts: pl.DataFrame, labels: Iterable[int]) -> dict[int, dict[str, float]]:
    """Return label -> one-vs-rest precision, recall and f1 with zero_division=1, for each of `labels`."""
    table = {int(row["label"]): row for row in label_table(counts).iter_rows(named=True)}
    scores = {}
    for label in labels:
        row = table.get(label)
        scores[label] = {s: ORIGINAL_ZERO_DIVISION if row is None or row[s] is None else float(row[s]) for s in SCORES}
    return scores


def true_class_totals(counts: pl.DataFrame) -> dict[int, int]:
    """Return true class -> validated predictions (legacy rejections, whose true class is unknown, left out)."""
    totals = counts.filter(pl.col("true") != REJECTED_TRUE_CLASS).group_by("true").agg(pl.col("n").sum()).sort("true")
    return {int(t): int(n) for t, n in totals.iter_rows()}
