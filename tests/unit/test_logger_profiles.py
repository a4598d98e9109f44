"""The logger's whylogs profiles: what whylogs itself would build, stored and merged losslessly."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
import whylogs as why

from clara_logger import profiles

NAMES = ["SIGRE", "blue", "brown", "green", "green_point", "grey", "yellow", profiles.REJECTED_LABEL]
DAY = datetime(2026, 4, 1, tzinfo=UTC)


def frame(seed: int, size: int, missing: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    truth = rng.choice(NAMES, size)
    predicted = np.where(rng.random(size) < 0.8, truth, rng.choice(NAMES[:-1], size))
    predicted = np.where(predicted == profiles.REJECTED_LABEL, "blue", predicted)
    confidence = rng.random(size)
    confidence[rng.random(size) < missing] = np.nan
    return pd.DataFrame(
        {profiles.TRUE_CLASS: truth, profiles.PREDICTED_CLASS: predicted, profiles.CONFIDENCE: confidence}
    )


def cells(matrix) -> dict:
    """Return (predicted label, true label) -> (count, mean score) of a whylogs confusion matrix."""
    return {
        (matrix.labels[p], matrix.labels[t]): (
            metric.n,
            None if np.isnan(metric.mean.value) else round(metric.mean.value, 9),
        )
        for (p, t), metric in matrix.confusion_matrix.items()
        if metric.n
    }


@pytest.mark.parametrize(("seed", "size"), [(0, 1), (1, 40), (2, 700)])
def test_the_confusion_matrix_equals_the_one_whylogs_computes(seed, size):
    data = frame(seed, size)
    reference = (
        why.log_classification_metrics(
            data,
            target_column=profiles.TRUE_CLASS,
            prediction_column=profiles.PREDICTED_CLASS,
            score_column=profiles.CONFIDENCE,
        )
        .view()
        .model_performance_metrics.confusion_matrix
    )

    ours = profiles.confusion_matrix(data)

    assert ours.labels == reference.labels
    assert cells(ours) == cells(reference)


def test_a_profile_survives_serialization_and_merges_by_adding():
    first, second = frame(3, 300), frame(4, 120)
    merged = profiles.merge(
        profiles.deserialize(profiles.serialize(profiles.profile_frame(first, DAY))),
        profiles.deserialize(profiles.serialize(profiles.profile_frame(second, DAY))),
    )
    expected = profiles.confusion_matrix(pd.concat([first, second], ignore_index=True))

    assert cells(merged.model_performance_metrics.confusion_matrix) == cells(expected)
    assert merged.get_column(profiles.PREDICTED_CLASS).get_metric("counts").n.value == 420
    assert merged.dataset_timestamp == DAY
