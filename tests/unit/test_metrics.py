"""The metric functions equal scikit-learn's on random data and on the edge cases."""

from __future__ import annotations

import math
import random

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support, precision_score, recall_score

from clara_common.contract import REJECTED_TRUE_CLASS
from clara_common.metrics import (
    AVERAGES,
    COUNT_SCHEMA,
    class_scores,
    daily_summaries,
    original_class_scores,
    original_daily_summaries,
    original_summary,
    summary,
    true_class_totals,
)


def counts_of(records: list[tuple[str, int, int]]) -> pl.DataFrame:
    """Return the confusion-count table of (day, true, predicted) records."""
    if not records:
        return pl.DataFrame(schema=COUNT_SCHEMA)
    frame = pl.DataFrame(records, schema=["day", "true", "predicted"], orient="row")
    return frame.group_by("day", "true", "predicted").agg(n=pl.len().cast(pl.Int64))


def reference(records: list[tuple[str, int, int]], average: str) -> dict[str, float | None]:
    """Return scikit-learn's figures for the records; rejected records are wrong and never a label."""
    y_true = [t for _, t, _ in records]
    y_pred = [p for _, _, p in records]
    labels = sorted({*y_true, *y_pred} - {REJECTED_TRUE_CLASS})
    precision, recall, f1, _ = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average=average, zero_division=np.nan
    )
    as_none = lambda v: None if math.isnan(v) else float(v)  # noqa: E731
    return {
        "entries": len(records),
        "precision": as_none(precision),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "recall": as_none(recall),
        "f1": as_none(f1),
    }


def assert_same(got: dict, want: dict) -> None:
    assert got.keys() == want.keys()
    for key, value in want.items():
        if value is None:
            assert got[key] is None, key
        else:
            assert got[key] == pytest.approx(value, rel=1e-12, abs=1e-15), key


def random_records(
    rng: random.Random, size: int, classes: int, rejected_share: float = 0.0
) -> list[tuple[str, int, int]]:
    records = []
    for _ in range(size):
        day = f"2026-03-0{rng.randint(1, 4)}"
        true = rng.randrange(classes)
        predicted = true if rng.random() < 0.6 else rng.randrange(classes)
        if rng.random() < rejected_share:
            true = REJECTED_TRUE_CLASS
        records.append((day, true, predicted))
    return records


@pytest.mark.parametrize("average", AVERAGES)
@pytest.mark.parametrize("seed", range(12))
def test_overall_and_daily_metrics_equal_sklearn_on_random_data(seed: int, average: str) -> None:
    rng = random.Random(seed)
    records = random_records(rng, rng.randint(1, 300), rng.randint(1, 7), rejected_share=rng.choice([0, 0.05, 0.5]))
    counts = counts_of(records)
    assert_same(summary(counts, average), reference(records, average))
    days = ["2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05"]
    daily = daily_summaries(counts, days, average)
    for day in days:
        of_day = [r for r in records if r[0] == day]
        if of_day:
            assert_same(daily[day], reference(of_day, average))
        else:
            assert daily[day] == {"entries": 0, "precision": None, "accuracy": None, "recall": None, "f1": None}


@pytest.mark.parametrize("seed", range(8))
def test_class_scores_equal_sklearn_per_label(seed: int) -> None:
    rng = random.Random(100 + seed)
    records = random_records(rng, rng.randint(1, 200), rng.randint(1, 7), rejected_share=0.1)
    y_true = [t for _, t, _ in records]
    y_pred = [p for _, _, p in records]
    labels = sorted({*y_true, *y_pred} - {REJECTED_TRUE_CLASS})
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average=None, zero_division=np.nan
    )
    scores = class_scores(counts_of(records))
    assert list(scores) == labels
    for i, label in enumerate(labels):
        for name, value in (("precision", precision[i]), ("recall", recall[i]), ("f1", f1[i])):
            assert (scores[label][name] is None) if math.isnan(value) else scores[label][name] == pytest.approx(value)
        assert scores[label]["support"] == support[i]


EDGE_CASES = {
    "one class only": [("2026-03-01", 2, 2)] * 5,
    "a class never predicted": [("2026-03-01", 0, 1), ("2026-03-01", 1, 1), ("2026-03-01", 2, 1)],
    "a class never true": [("2026-03-01", 1, 1), ("2026-03-01", 1, 3)],
    "single record right": [("2026-03-01", 4, 4)],
    "single record wrong": [("2026-03-01", 4, 5)],
    "single rejected record": [("2026-03-01", REJECTED_TRUE_CLASS, 3)],
    "only rejected records": [("2026-03-01", REJECTED_TRUE_CLASS, 3), ("2026-03-01", REJECTED_TRUE_CLASS, 1)],
    "rejected among labelled": [("2026-03-01", REJECTED_TRUE_CLASS, 3), ("2026-03-01", 3, 3), ("2026-03-01", 2, 2)],
}


@pytest.mark.parametrize("average", AVERAGES)
@pytest.mark.parametrize("records", list(EDGE_CASES.values()), ids=list(EDGE_CASES))
def test_edge_cases_equal_sklearn(records: list[tuple[str, int, int]], average: str) -> None:
    assert_same(summary(counts_of(records), average), reference(records, average))


def test_empty_range_has_no_entries_and_null_metrics() -> None:
    assert summary(pl.DataFrame(schema=COUNT_SCHEMA)) == {
        "entries": 0,
        "precision": None,
        "accuracy": None,
        "recall": None,
        "f1": None,
    }
    assert class_scores(pl.DataFrame(schema=COUNT_SCHEMA)) == {}


def test_empty_day_is_a_gap_not_the_previous_value() -> None:
    counts = counts_of([("2026-03-01", 1, 1), ("2026-03-03", 1, 2)])
    daily = daily_summaries(counts, ["2026-03-01", "2026-03-02", "2026-03-03"])
    assert daily["2026-03-01"]["accuracy"] == 1.0
    assert daily["2026-03-02"] == {"entries": 0, "precision": None, "accuracy": None, "recall": None, "f1": None}
    assert daily["2026-03-03"]["accuracy"] == 0.0


def test_rejected_records_count_against_precision_but_in_no_recall() -> None:
    counts = counts_of([("2026-03-01", REJECTED_TRUE_CLASS, 3), ("2026-03-01", 3, 3)])
    scores = class_scores(counts)
    assert scores == {3: {"precision": 0.5, "recall": 1.0, "f1": pytest.approx(2 / 3), "support": 1}}
    assert summary(counts)["accuracy"] == 0.5


def test_true_class_totals_leave_rejections_out() -> None:
    counts = counts_of(
        [("2026-03-01", REJECTED_TRUE_CLASS, 3), ("2026-03-01", 3, 3), ("2026-03-02", 3, 1), ("2026-03-02", 0, 0)]
    )
    assert true_class_totals(counts) == {0: 1, 3: 2}


def test_unknown_average_is_refused() -> None:
    with pytest.raises(ValueError, match="average must be one of"):
        summary(counts_of([("2026-03-01", 1, 1)]), "binary")


# -- the original dashboard's averaging (/data) -------------------------------------------------------


def original_reference(records: list[tuple[str, int, int]]) -> dict[str, float]:
    """Return the original dashboard's figures by scikit-learn: weighted precision and F1, micro recall,
    zero_division=1; rejected records are wrong and never a label."""
    y_true = [t for _, t, _ in records]
    y_pred = [p for _, _, p in records]
    labels = sorted({*y_true, *y_pred} - {REJECTED_TRUE_CLASS})
    return {
        "entries": len(records),
        "precision": float(precision_score(y_true, y_pred, labels=labels, average="weighted", zero_division=1)),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "recall": float(recall_score(y_true, y_pred, labels=labels, average="micro", zero_division=1)),
        "f1": float(f1_score(y_true, y_pred, labels=labels, average="weighted", zero_division=1)),
    }


@pytest.mark.parametrize("seed", range(16))
def test_original_summary_equals_sklearn_weighted_micro_with_zero_division_one(seed: int) -> None:
    rng = random.Random(500 + seed)
    records = random_records(rng, rng.randint(1, 300), rng.randint(1, 7), rejected_share=rng.choice([0, 0.05, 0.5]))
    counts = counts_of(records)
    assert_same(original_summary(counts), original_reference(records))
    days = ["2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05"]
    daily = original_daily_summaries(counts, days)
    for day in days:
        of_day = [r for r in records if r[0] == day]
        if of_day:
            assert_same(daily[day], original_reference(of_day))
        else:  # the original carried a score forward here; we do not invent one
            assert daily[day] == {"entries": 0, "precision": None, "accuracy": None, "recall": None, "f1": None}


@pytest.mark.parametrize("records", list(EDGE_CASES.values()), ids=list(EDGE_CASES))
def test_original_summary_edge_cases_equal_sklearn(records: list[tuple[str, int, int]]) -> None:
    assert_same(original_summary(counts_of(records)), original_reference(records))


@pytest.mark.parametrize("seed", range(8))
def test_original_class_scores_equal_sklearn_one_vs_rest(seed: int) -> None:
    rng = random.Random(700 + seed)
    records = random_records(rng, rng.randint(1, 200), rng.randint(1, 5), rejected_share=0.1)
    catalogue = list(range(7))  # some of them never appear: the original gave those 1.0 everywhere
    scores = original_class_scores(counts_of(records), catalogue)
    assert list(scores) == catalogue
    for label in catalogue:
        y_true = [int(t == label) for _, t, _ in records]
        y_pred = [int(p == label) for _, _, p in records]
        assert scores[label] == pytest.approx(
            {
                "precision": precision_score(y_true, y_pred, zero_division=1),
                "recall": recall_score(y_true, y_pred, zero_division=1),
                "f1": f1_score(y_true, y_pred, zero_division=1),
            },
            rel=1e-12,
        )


def test_original_summary_of_an_empty_range_is_null_not_an_error() -> None:
    # scikit-learn raises on empty input; the original route failed there. Ours answers nulls.
    assert original_summary(pl.DataFrame(schema=COUNT_SCHEMA)) == {
        "entries": 0,
        "precision": None,
        "accuracy": None,
        "recall": None,
        "f1": None,
    }
