"""The expected answers, straight from the predictions collection: every document parsed in Python,
metrics by scikit-learn. The ledger's answers must equal these."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import numpy as np
import pytest
from pymongo.collection import Collection
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

from clara_common.contract import REJECTED_TRUE_CLASS, ContractError, Prediction, parse_prediction, parse_timestamp
from clara_common.days import local_day
from clara_common.settings import CommonSettings


def source_records(
    collection: Collection, settings: CommonSettings, first: date, last: date
) -> tuple[list[Prediction], int]:
    """Return the validated predictions of local days `first` to `last`, and the reviewed documents that break the
    contract on those days."""
    records, invalid = [], 0
    for doc in collection.find():
        record = parse_prediction(doc, settings.classes, settings.tz)
        if isinstance(record, Prediction):
            if record.is_validated and first <= local_day(record.timestamp_validated, settings.tz) <= last:
                records.append(record)
        elif doc.get("output_validated") is not None:
            try:
                when = parse_timestamp(doc.get("timestamp_validated"), "timestamp_validated", settings.tz)
            except (ContractError, OverflowError):
                continue
            invalid += first <= local_day(when, settings.tz) <= last
    return records, invalid


def _none_if_nan(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def expected_metrics(records: list[Prediction], settings: CommonSettings, average: str = "macro") -> dict[str, Any]:
    """Return /api/metrics' totals and metrics for these records, by scikit-learn."""
    y_true = [r.true_class for r in records]
    y_pred = [r.predicted_class for r in records]
    if not records:
        return {
            "total_validated": 0,
            "metrics": dict.fromkeys(("precision", "accuracy", "recall", "f1")),
            "class_counts": {c.name: 0 for c in settings.classes.classes},
        }
    labels = sorted({*y_true, *y_pred} - {REJECTED_TRUE_CLASS})
    precision, recall, f1, _ = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average=average, zero_division=np.nan
    )
    return {
        "total_validated": len(records),
        "metrics": {
            "precision": _none_if_nan(precision),
            "accuracy": float(accuracy_score(y_true, y_pred)),
            "recall": _none_if_nan(recall),
            "f1": _none_if_nan(f1),
        },
        "class_counts": {c.name: sum(1 for r in records if r.true_class == c.id) for c in settings.classes.classes},
    }


def expected_confusion(records: list[Prediction], settings: CommonSettings) -> list[list[int]]:
    """Return scikit-learn's confusion matrix over the catalogue's labels (legacy rejections left out)."""
    kept = [r for r in records if r.true_class != REJECTED_TRUE_CLASS]
    labels = list(settings.classes.ids)
    if not kept:
        return [[0] * len(labels) for _ in labels]
    return confusion_matrix([r.true_class for r in kept], [r.predicted_class for r in kept], labels=labels).tolist()


def assert_metrics_equal(body: dict[str, Any], want: dict[str, Any]) -> None:
    """Assert an /api/metrics answer equals the expected totals and metrics."""
    assert body["total_validated"] == want["total_validated"]
    assert body["class_counts"] == want["class_counts"]
    for name, value in want["metrics"].items():
        if value is None:
            assert body["metrics"][name] is None, name
        else:
            assert body["metrics"][name] == pytest.approx(value, rel=1e-12, abs=1e-15), name
