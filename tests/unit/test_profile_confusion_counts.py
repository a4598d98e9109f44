"""A stored profile's confusion matrix counts every validated prediction once, confidence or not."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix as reference_confusion_matrix

from clara_common.classes import load_catalog
from clara_common.contract import REJECTED_TRUE_CLASS, Prediction, Review
from clara_logger import profiles

CLASSES = load_catalog()
DAY = datetime(2026, 4, 1, tzinfo=UTC)


def prediction(predicted: int, true: int, confidence: float | None) -> Prediction:
    """Return a validated prediction; a true class of REJECTED_TRUE_CLASS is a legacy rejection."""
    if true == REJECTED_TRUE_CLASS:
        review = Review.REJECTED
    else:
        review = Review.CONFIRMED if true == predicted else Review.LABELLED
    return Prediction(
        id=None,
        filename="a.jpg",
        predicted_class=predicted,
        confidence=confidence,
        timestamp=DAY,
        review=review,
        true_class=true,
        timestamp_validated=DAY,
        trained=False,
        logged=False,
    )


def generated(seed: int, size: int, missing: float) -> list[Prediction]:
    """Return `size` predictions, mostly right, some rejected, a `missing` share without confidence."""
    rng = np.random.default_rng(seed)
    ids = list(CLASSES.ids)
    result = []
    for _ in range(size):
        predicted = int(rng.choice(ids))
        draw = rng.random()
        true = predicted if draw < 0.7 else REJECTED_TRUE_CLASS if draw < 0.8 else int(rng.choice(ids))
        confidence = None if rng.random() < missing else float(rng.random())
        result.append(prediction(predicted, true, confidence))
    return result


def stored(predictions: list[Prediction]):
    """Return the profile of predictions as read back from its stored bytes."""
    view = profiles.profile_frame(profiles.prediction_frame(predictions, CLASSES), DAY)
    return profiles.deserialize(profiles.serialize(view))


def profile_counts(view) -> dict[tuple[str, str], int]:
    """Return (true label, predicted label) -> count, read from a profile's confusion matrix."""
    matrix = view.model_performance_metrics.confusion_matrix
    # whylogs keys a cell by (predicted index, true index).
    return {
        (matrix.labels[t], matrix.labels[p]): int(metric.n)
        for (p, t), metric in matrix.confusion_matrix.items()
        if metric.n
    }


def expected_counts(predictions: list[Prediction]) -> dict[tuple[str, str], int]:
    """Return (true label, predicted label) -> count, computed by scikit-learn."""
    frame = profiles.prediction_frame(predictions, CLASSES)
    truth, predicted = frame[profiles.TRUE_CLASS], frame[profiles.PREDICTED_CLASS]
    labels = sorted(set(truth) | set(predicted))
    matrix = reference_confusion_matrix(truth, predicted, labels=labels)
    return {
        (labels[t], labels[p]): int(matrix[t, p])
        for t in range(len(labels))
        for p in range(len(labels))
        if matrix[t, p]
    }


def test_a_prediction_without_confidence_counts_once_in_its_cell():
    blue, grey = CLASSES.id_of("blue"), CLASSES.id_of("grey")
    predictions = [
        prediction(blue, blue, None),
        prediction(blue, blue, 0.9),
        prediction(grey, REJECTED_TRUE_CLASS, None),
        prediction(grey, blue, None),
    ]

    assert profile_counts(stored(predictions)) == {
        ("blue", "blue"): 2,
        (profiles.REJECTED_LABEL, "grey"): 1,
        ("blue", "grey"): 1,
    }


@pytest.mark.parametrize(("seed", "size", "missing"), [(0, 5, 1.0), (1, 60, 0.3), (2, 800, 0.1), (3, 200, 1.0)])
def test_stored_confusion_counts_equal_scikit_learns(seed, size, missing):
    predictions = generated(seed, size, missing)

    assert profile_counts(stored(predictions)) == expected_counts(predictions)


def test_merged_stored_profiles_count_every_prediction_once():
    first, second = generated(4, 300, 0.25), generated(5, 90, 0.5)
    merged = profiles.merge(stored(first), stored(second))

    assert profile_counts(merged) == expected_counts(first + second)
    assert profile_counts(profiles.deserialize(profiles.serialize(merged))) == expected_counts(first + second)


def test_a_missing_confidence_stays_missing_in_the_confidence_column():
    predictions = generated(6, 100, 0.3)
    present = [p.confidence for p in predictions if p.confidence is not None]
    view = profiles.profile_frame(profiles.prediction_frame(predictions, CLASSES), DAY)

    # whylogs' v1-to-v0 writer stores no null count (`_extract_counters_v0`): count nulls before storing.
    assert view.get_column(profiles.CONFIDENCE).get_metric("counts").null.value == len(predictions) - len(present)
    column = profiles.deserialize(profiles.serialize(view)).get_column(profiles.CONFIDENCE)
    assert column.get_metric("counts").n.value == len(predictions)
    assert column.get_metric("distribution").n == len(present)
    assert column.get_metric("distribution").mean.value == pytest.approx(np.mean(present))
