"""The seed generator: deterministic, realistic, with the planted event there to find."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from statistics import mean

import pytest

from clara_common.classes import load_catalog
from clara_common.contract import Prediction, parse_prediction
from clara_common.days import local_day
from clara_seed.generator import SeedPlan, generate

CLASSES = load_catalog()
UTC = UTC
END = date(2026, 5, 31)
NOW = datetime(2026, 5, 31, 18, 0, tzinfo=UTC)
PLAN = SeedPlan(end=END, days=60, per_day=300, seed=42)


@pytest.fixture(scope="module")
def records() -> list[Prediction]:
    parsed = [parse_prediction(doc, CLASSES, UTC) for doc in generate(PLAN, CLASSES, UTC, now=NOW)]
    assert all(isinstance(r, Prediction) for r in parsed)
    return parsed  # type: ignore[return-value]


def test_same_seed_same_documents_other_seed_other_documents() -> None:
    first = list(generate(PLAN, CLASSES, UTC, now=NOW))
    assert first == list(generate(PLAN, CLASSES, UTC, now=NOW))
    other = list(generate(SeedPlan(end=END, seed=7), CLASSES, UTC, now=NOW))
    assert {d["_id"] for d in first}.isdisjoint(d["_id"] for d in other)


def test_sixty_days_of_a_few_hundred_a_day_ending_on_the_end_day(records: list[Prediction]) -> None:
    per_day = Counter(local_day(r.timestamp, UTC) for r in records)
    assert min(per_day) == END - timedelta(days=59) and max(per_day) == END
    weekdays = [n for d, n in per_day.items() if d.weekday() < 5 and d != END]
    assert 200 <= mean(weekdays) <= 400


def test_no_prediction_or_review_lies_in_the_future(records: list[Prediction]) -> None:
    assert all(r.timestamp <= NOW for r in records)
    assert all(r.timestamp_validated <= NOW for r in records if r.timestamp_validated)
    assert all(r.timestamp_validated >= r.timestamp for r in records if r.timestamp_validated)


def test_most_but_not_all_reviewed_and_recent_days_partly_unreviewed(records: list[Prediction]) -> None:
    reviewed_share = mean(r.is_validated for r in records)
    assert 0.8 < reviewed_share < 0.97
    last_day = [r for r in records if local_day(r.timestamp, UTC) == END]
    assert mean(r.is_validated for r in last_day) < 0.6


def test_accuracy_around_085_with_class_imbalance(records: list[Prediction]) -> None:
    reviewed = [r for r in records if r.is_validated and local_day(r.timestamp, UTC) < PLAN.event_start]
    assert 0.8 < mean(r.true_class == r.predicted_class for r in reviewed) < 0.9
    shares = Counter(r.true_class for r in reviewed if r.true_class is not None and r.true_class >= 0)
    assert shares[CLASSES.id_of("yellow")] > 3 * shares[CLASSES.id_of("SIGRE")]


def test_confidence_higher_on_correct_predictions(records: list[Prediction]) -> None:
    reviewed = [r for r in records if r.is_validated and r.confidence is not None]
    assert (
        mean(r.confidence for r in reviewed if r.true_class == r.predicted_class)
        > mean(r.confidence for r in reviewed if r.true_class != r.predicted_class) + 0.15
    )


def test_planted_event_degrades_one_class_and_its_confidence(records: list[Prediction]) -> None:
    green = CLASSES.id_of(PLAN.degraded_class)
    by_period: dict[bool, list[Prediction]] = defaultdict(list)
    for r in records:
        if r.is_validated and r.true_class == green:
            by_period[local_day(r.timestamp, UTC) >= PLAN.event_start].append(r)
    before, after = by_period[False], by_period[True]
    assert (
        mean(r.true_class == r.predicted_class for r in before) - mean(r.true_class == r.predicted_class for r in after)
        > 0.25
    )
    assert mean(r.confidence for r in before) - mean(r.confidence for r in after) > 0.15


def test_some_reviews_use_the_legacy_boolean_and_some_are_trained() -> None:
    documents = list(generate(PLAN, CLASSES, UTC, now=NOW))
    assert any(isinstance(d["output_validated"], bool) for d in documents)
    assert any(d.get("trained") is True for d in documents)
    assert any("trained" not in d for d in documents)
