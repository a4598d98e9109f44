"""The ledger's documents as the monitor reads them: a field of another type than the logger writes is left out."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from clara_common.contract import REJECTED_TRUE_CLASS
from clara_common.ledger import stored
from clara_common.ledger.stored import HISTORY, STATE, TRAFFIC, typed

NOW = datetime(2026, 1, 2, tzinfo=UTC)


def test_a_field_of_another_type_is_left_out_and_the_others_kept_as_stored() -> None:
    document = {"_id": "ledger", "timezone": {"weird": 1}, "corrections_since": NOW, "future_field": [1]}

    assert typed(document, STATE, "logger_state") == {"_id": "ledger", "corrections_since": NOW, "future_field": [1]}


def test_a_boolean_is_not_a_count_and_none_is_not_a_date() -> None:
    assert typed({"_id": "d", "count": True, "invalid": 2, "updated_at": None}, HISTORY, "h") == {
        "_id": "d",
        "invalid": 2,
    }


def test_a_confusion_row_or_cell_of_another_type_is_left_out_and_the_others_kept() -> None:
    document = {"_id": "d", "confusion": {"0": {"0": 3, "1": "x"}, "1": "x", "2": {"2": 1}, "cat": {"0": 1}}}

    assert typed(document, HISTORY, "h") == {"_id": "d", "confusion": {"0": {"0": 3}, "2": {"2": 1}}}


def test_a_legacy_rejection_s_row_is_the_logger_s_own_and_kept() -> None:
    document = {"_id": "d", "confusion": {str(REJECTED_TRUE_CLASS): {"3": 2}, "0": {"0": 1}}}
    assert typed(document, HISTORY, "h") == document


def test_a_calibration_row_of_another_length_or_with_a_cell_of_another_type_is_left_out() -> None:
    good = [[1, 1, 900_000]] + [[0, 0, 0]] * 9
    document = {"_id": "d", "calibration": {"0": good, "1": good[:9], "2": [["x", 0, 0]] + good[1:]}}

    assert typed(document, HISTORY, "h") == {"_id": "d", "calibration": {"0": good}}


def test_a_drift_result_or_its_time_of_another_type_is_left_out_and_unknown_parts_kept() -> None:
    result = {"statistic": 1.5}
    document = {"_id": "d", "drift": {"confidence": result, "true_class": "x", "evaluated_at": "x", "window": [1]}}

    assert typed(document, HISTORY, "h") == {"_id": "d", "drift": {"confidence": result, "window": [1]}}


def test_a_null_median_is_the_logger_s_own_and_kept() -> None:
    assert typed({"_id": "d", "median_review_hours": None}, TRAFFIC, "t") == {"_id": "d", "median_review_hours": None}


def test_each_part_left_out_is_warned_about_once(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stored, "_warned", set())
    document = {"_id": "2026-01-02", "confusion": {"0": {"1": "x"}}}

    with caplog.at_level(logging.WARNING):
        typed(document, HISTORY, "logger_history")
        typed(document, HISTORY, "logger_history")

    assert [r.getMessage() for r in caplog.records] == [
        "logger_history document 2026-01-02: confusion.0.1 left out, as if absent: not of the type the logger writes"
    ]
