"""The logger's pure arithmetic: per-day tallies, their sums, and the retry backoff."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from clara_common.classes import load_catalog
from clara_common.contract import Prediction, parse_prediction
from clara_logger.batches import MAX_SPAN_CHANGE, next_span
from clara_logger.history import (
    CONFIDENCE_BINS,
    add_confusion,
    add_counts,
    confidence_bin,
    confusion_rows,
    predicted_class_counts,
    tally_by_day,
    true_class_counts,
)
from clara_logger.retry import retry_delay

CLASSES = load_catalog()


def parsed(verdict, predicted: int, validated_at: datetime, confidence: float | None = 0.5) -> Prediction:
    result = parse_prediction(
        {
            "_id": 1,
            "filename": "a.jpg",
            "output_prediction": predicted,
            "output_confidence": confidence,
            "output_validated": verdict,
            "timestamp": validated_at,
            "timestamp_validated": validated_at,
        },
        CLASSES,
        UTC,
    )
    assert isinstance(result, Prediction)
    return result


def test_tally_counts_each_verdict_shape_in_its_local_day():
    madrid = ZoneInfo("Europe/Madrid")
    late_evening_utc = datetime(2026, 6, 1, 22, 30, tzinfo=UTC)  # 00:30 on 2 June in Madrid
    records = [
        parsed(3, 3, late_evening_utc),
        parsed(True, 2, late_evening_utc),
        parsed(False, 5, late_evening_utc, confidence=None),
        parsed(1, 5, datetime(2026, 6, 1, 9, 0, tzinfo=UTC)),
    ]

    tallies = tally_by_day(records, madrid)

    june_2 = tallies[datetime(2026, 6, 2).date()]
    assert june_2.confusion == {"3": {"3": 1}, "2": {"2": 1}, "-1": {"5": 1}}
    assert (june_2.count, june_2.confidence_missing, sum(june_2.confidence_histogram)) == (3, 1, 2)
    assert tallies[datetime(2026, 6, 1).date()].confusion == {"1": {"5": 1}}


def test_class_counts_leave_rejected_reviews_out_of_the_true_classes_only():
    confusion = {"0": {"0": 4, "1": 1}, "-1": {"1": 2}, "2": {"1": 3}}
    assert true_class_counts(confusion, [0, 1, 2]) == [5, 0, 3]
    assert predicted_class_counts(confusion, [0, 1, 2]) == [4, 6, 0]


def test_confusion_tables_add_cell_by_cell():
    assert add_confusion({"0": {"0": 1}}, {"0": {"0": 2, "1": 1}, "1": {"1": 5}}) == {
        "0": {"0": 3, "1": 1},
        "1": {"1": 5},
    }
    assert add_counts([1, 2], [3, 4]) == [4, 6]
    with pytest.raises(ValueError):
        add_counts([1], [1, 2])


def test_confusion_rows_are_the_monitor_count_table():
    assert sorted(confusion_rows("2026-01-01", {"-1": {"2": 1}, "2": {"2": 3, "1": 0}}), key=str) == sorted(
        [
            {"day": "2026-01-01", "true": -1, "predicted": 2, "n": 1},
            {"day": "2026-01-01", "true": 2, "predicted": 2, "n": 3},
        ],
        key=str,
    )


@pytest.mark.parametrize(("confidence", "expected"), [(0.0, 0), (0.0499, 0), (0.05, 1), (0.999, 19), (1.0, 19)])
def test_confidence_bins_cover_zero_to_one_inclusive(confidence, expected):
    assert confidence_bin(confidence) == expected < CONFIDENCE_BINS


def test_retry_delay_doubles_from_the_first_delay_up_to_the_cap():
    assert [retry_delay(n, 30, 900) for n in range(0, 8)] == [0, 30, 60, 120, 240, 480, 900, 900]
    assert retry_delay(10_000, 30, 900) == 900


def test_the_claim_window_scales_towards_the_batch_size_within_bounds():
    hour = timedelta(hours=1)
    assert next_span(hour, claimed=250, target=1000) == 4 * hour
    assert next_span(hour, claimed=4000, target=1000) == hour / 4
    assert next_span(hour, claimed=0, target=1000) == MAX_SPAN_CHANGE * hour
    assert next_span(hour, claimed=1_000_000, target=10) == hour / MAX_SPAN_CHANGE
