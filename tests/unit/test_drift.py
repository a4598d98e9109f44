"""Drift statistics, checked against independent implementations on generated data."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from clara_logger.drift import (
    DRIFT,
    INSUFFICIENT_DATA,
    NO_DRIFT,
    REFERENCE_PSEUDOCOUNT,
    DriftSettings,
    chi_square,
    compare_classes,
    compare_confidence,
    drifting_features,
    hellinger,
    ks_binned,
)

BINS = 20


@pytest.mark.parametrize("seed", range(5))
def test_chi_square_matches_the_textbook_formula(seed):
    rng = np.random.default_rng(seed)
    reference = rng.integers(0, 500, size=7).tolist()
    observed = rng.integers(0, 80, size=7).tolist()
    shares = np.array(reference) + REFERENCE_PSEUDOCOUNT
    expected = sum(observed) * shares / shares.sum()
    statistic = float(((np.array(observed) - expected) ** 2 / expected).sum())

    got_statistic, got_p = chi_square(observed, reference)

    assert got_statistic == pytest.approx(statistic)
    assert got_p == pytest.approx(stats.chi2.sf(statistic, df=6))


def test_chi_square_of_a_class_the_reference_never_saw_is_finite():
    statistic, p_value = chi_square([10, 10, 5], [100, 100, 0])
    assert math.isfinite(statistic) and p_value < 0.05


def binned_sample(rng, size, a, b) -> tuple[np.ndarray, list[int]]:
    """Return beta-distributed values moved to their bin's middle, and their histogram."""
    bins = np.minimum((rng.beta(a, b, size) * BINS).astype(int), BINS - 1)
    return (bins + 0.5) / BINS, np.bincount(bins, minlength=BINS).tolist()


@pytest.mark.parametrize(("seed", "shape"), [(0, (9, 1.6)), (1, (3, 4)), (2, (9, 1.6)), (3, (2, 2))])
def test_binned_ks_equals_scipy_two_sample_ks_on_values_at_bin_middles(seed, shape):
    rng = np.random.default_rng(seed)
    sample, sample_histogram = binned_sample(rng, 300, *shape)
    reference, reference_histogram = binned_sample(rng, 4000, 9, 1.6)

    statistic, p_value = ks_binned(sample_histogram, reference_histogram)

    expected = stats.ks_2samp(sample, reference, method="asymp")
    assert statistic == pytest.approx(expected.statistic)
    assert p_value == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300)


def test_binned_ks_rejects_empty_histograms():
    with pytest.raises(ValueError):
        ks_binned([0] * BINS, [1] * BINS)


@pytest.mark.parametrize("seed", range(4))
def test_hellinger_matches_the_euclidean_form(seed):
    rng = np.random.default_rng(seed)
    p, q = rng.integers(0, 100, 7), rng.integers(1, 100, 7)
    expected = np.linalg.norm(np.sqrt(p / p.sum()) - np.sqrt(q / q.sum())) / math.sqrt(2)
    assert hellinger(p.tolist(), q.tolist()) == pytest.approx(expected)


def test_hellinger_is_zero_for_the_same_shares_and_one_for_disjoint_ones():
    assert hellinger([1, 2, 3], [10, 20, 30]) == pytest.approx(0.0, abs=1e-7)
    assert hellinger([1, 0], [0, 1]) == pytest.approx(1.0)


def test_a_day_with_fewer_samples_than_the_minimum_is_insufficient_data():
    result = compare_classes([5, 5, 5], [100, 100, 100], "training", DriftSettings(min_samples=50))
    assert result.category == INSUFFICIENT_DATA and result.p_value is None


def test_shifted_class_shares_drift_and_the_same_shares_do_not():
    settings = DriftSettings()
    assert compare_classes([100, 100, 100], [1000, 1000, 1000], "window", settings).category == NO_DRIFT
    assert compare_classes([200, 50, 50], [1000, 1000, 1000], "window", settings).category == DRIFT


def test_hellinger_algorithm_uses_the_distance_threshold():
    settings = DriftSettings(algorithm="hellinger", hellinger_threshold=0.15)
    same = compare_classes([100, 100, 100], [1, 1, 1], "training", settings)
    shifted = compare_classes([280, 10, 10], [1, 1, 1], "training", settings)
    assert (same.category, shifted.category) == (NO_DRIFT, DRIFT)
    assert shifted.p_value is None and shifted.statistic > 0.15


def test_lower_confidence_drifts_against_the_reference_window():
    rng = np.random.default_rng(4)
    _, reference = binned_sample(rng, 4000, 9, 1.6)
    _, usual = binned_sample(rng, 300, 9, 1.6)
    _, degraded = binned_sample(rng, 300, 3, 4)
    settings = DriftSettings()
    assert compare_confidence(usual, reference, settings).category == NO_DRIFT
    assert compare_confidence(degraded, reference, settings).category == DRIFT


def test_drifting_features_lists_only_drift():
    results = {"a": {"category": DRIFT}, "b": {"category": NO_DRIFT}, "c": {"category": INSUFFICIENT_DATA}}
    assert drifting_features(results) == ["a"]
