"""Drift statistics, checked against independent implementations on generated data."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from scipy.special import rel_entr

from clara_logger.drift import (
    DRIFT,
    INSUFFICIENT_DATA,
    NO_DRIFT,
    REFERENCE_PSEUDOCOUNT,
    DriftSettings,
    chi_square,
    compare_classes,
    compare_confidence,
    dispersion,
    drifting_features,
    evaluate_window,
    excess_psi,
    hellinger,
    ks_binned,
    notices,
    psi,
    reference_of,
    shifts,
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


@pytest.mark.parametrize("seed", range(5))
def test_psi_is_the_symmetric_kullback_leibler_divergence_of_the_smoothed_shares(seed):
    rng = np.random.default_rng(seed)
    sample, reference = rng.integers(0, 300, size=7), rng.integers(0, 3000, size=7)
    a = (sample + REFERENCE_PSEUDOCOUNT) / (sample + REFERENCE_PSEUDOCOUNT).sum()
    e = (reference + REFERENCE_PSEUDOCOUNT) / (reference + REFERENCE_PSEUDOCOUNT).sum()
    assert psi(sample.tolist(), reference.tolist()) == pytest.approx(float((rel_entr(a, e) + rel_entr(e, a)).sum()))


def test_the_excess_psi_of_samples_of_one_distribution_is_about_zero_at_any_size():
    rng = np.random.default_rng(1)
    shares = [0.25, 0.2, 0.18, 0.12, 0.11, 0.09, 0.05]
    reference = rng.multinomial(4000, shares).tolist()
    for size in (60, 300, 3000):
        raw = [psi(rng.multinomial(size, shares).tolist(), reference) for _ in range(200)]
        excess = [excess_psi(rng.multinomial(size, shares).tolist(), reference) for _ in range(200)]
        assert np.mean(excess) < 0.02 < np.mean(raw) if size == 60 else np.mean(excess) < 0.01


def test_a_doubled_share_is_drift_and_names_the_class_that_moved():
    rng = np.random.default_rng(2)
    names = ["yellow", "blue", "grey", "green"]
    reference = rng.multinomial(4000, [0.4, 0.2, 0.2, 0.2]).tolist()
    window = rng.multinomial(900, [0.3, 0.4, 0.15, 0.15]).tolist()
    result = compare_classes(window, reference, "window", DriftSettings(), names)
    assert result.category == DRIFT and result.psi >= 0.1 and result.threshold == DriftSettings().alpha
    assert [m["class"] for m in result.shifts][:2] == ["blue", "yellow"]
    assert result.shifts[0]["reference"] == pytest.approx(0.2, abs=0.02)
    assert result.shifts[0]["current"] == pytest.approx(0.4, abs=0.04)
    assert shifts([100, 100], [100, 101], ["a", "b"]) == []


def test_a_significant_shift_too_small_to_matter_is_no_drift():
    reference = [40000, 20000, 20000, 20000]
    window = [4300, 1900, 1900, 1900]  # 40% -> 43%: significant on 10,000 predictions, a PSI of 0.004
    result = compare_classes(window, reference, "window", DriftSettings())
    assert result.p_value < DriftSettings().alpha and result.category == NO_DRIFT


def test_the_dispersion_of_days_that_vary_only_by_sampling_is_one_and_grows_with_real_variation():
    rng = np.random.default_rng(3)
    shares = np.array([0.4, 0.3, 0.2, 0.1])
    sampled = [rng.multinomial(300, shares).tolist() for _ in range(14)]
    jittered = [shares * rng.lognormal(0, 0.3, 4) for _ in range(14)]
    varied = [rng.multinomial(300, day / day.sum()).tolist() for day in jittered]
    assert dispersion(sampled) < 1.6
    assert dispersion(varied) > 2.0
    statistic, p_plain = chi_square([130, 80, 60, 30], [400, 300, 200, 100])
    _, p_dispersed = chi_square([130, 80, 60, 30], [400, 300, 200, 100], dispersion=2.0)
    assert p_dispersed == pytest.approx(stats.chi2.sf(statistic / 2, 3)) and p_dispersed > p_plain


def record(day, confusion, histogram=None):
    return {"_id": day, "confusion": confusion, "confidence_histogram": histogram or [0] * BINS}


def test_a_day_is_judged_on_its_window_of_days_pooled():
    reference = reference_of(
        [record(f"2026-01-{d:02d}", {"0": {"0": 100}, "1": {"1": 100}}) for d in range(1, 15)], [0, 1]
    )
    quiet = record("2026-02-01", {"0": {"0": 100}, "1": {"1": 100}})
    shifted = record("2026-02-02", {"0": {"0": 40}, "1": {"1": 160}})
    settings = DriftSettings(window_days=2, min_samples=50)
    alone = evaluate_window([shifted], reference, [0, 1], ["a", "b"], settings)
    pooled = evaluate_window([quiet, shifted], reference, [0, 1], ["a", "b"], settings)
    assert alone["true_class"]["count"] == 200 and pooled["true_class"]["count"] == 400
    assert pooled["true_class"]["psi"] < alone["true_class"]["psi"]
    assert alone["true_class"]["window_days"] == 2 and alone["true_class"]["psi_threshold"] == 0.1


def test_notices_are_runs_of_drifting_days_resolved_by_a_day_without_drift():
    drifting = {
        "category": DRIFT,
        "psi": 0.3,
        "psi_threshold": 0.1,
        "threshold": 0.001,
        "count": 500,
        "shifts": [{"class": "yellow", "reference": 0.25, "current": 0.4}],
    }
    calm = {"category": NO_DRIFT, "psi": 0.01}
    unknown = {"category": INSUFFICIENT_DATA}
    days = [
        ("2026-03-01", {"predicted_class": calm}),
        ("2026-03-02", {"predicted_class": drifting}),
        ("2026-03-03", {"predicted_class": unknown}),
        ("2026-03-04", {"predicted_class": drifting}),
        ("2026-03-05", {"predicted_class": calm}),
        ("2026-03-06", {"predicted_class": drifting, "confidence": "not a result"}),
    ]
    found = notices(days)
    assert [(n.since, n.resolved_day) for n in found] == [("2026-03-02", "2026-03-05"), ("2026-03-06", None)]
    assert found[0].text == "predicted class drift since Mar 2: yellow 25% → 40% of predictions (PSI 0.30)"
    assert found[0].kind == "drift" and found[0].metric == "predicted_class" and found[0].reference == 0.1
