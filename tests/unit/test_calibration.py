"""The calibration arithmetic against independent implementations: scikit-learn's calibration_curve and
IsotonicRegression, numpy, and an exact Poisson-binomial distribution (numpy convolution)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.calibration import calibration_curve
from sklearn.isotonic import IsotonicRegression

from clara_common import calibration
from clara_common.calibration import (
    CALIBRATION_BINS,
    CalibrationMap,
    Probability,
    accuracy_band,
    add_tables,
    confidence_bin,
    expected_calibration_error,
    pooled,
    precision_counts,
    reliability,
)


def table_of(predicted: np.ndarray, confidence: np.ndarray, correct: np.ndarray) -> calibration.Table:
    table: calibration.Table = {}
    for p, c, ok in zip(predicted, confidence, correct):
        calibration.count_in(table, int(p), float(c), bool(ok))
    return calibration.nonzero_table(table)


def sample(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Predictions whose accuracy depends on class and confidence (confidences off the bin edges)."""
    predicted = rng.integers(0, 7, n)
    confidence = rng.beta(5, 2, n)
    truth = np.clip(confidence - 0.04 * (predicted - 3), 0, 1)
    return predicted, confidence, rng.random(n) < truth


def test_confidence_bins_are_equal_width_with_the_last_one_closed() -> None:
    assert [confidence_bin(x) for x in (0.0, 0.0999, 0.1, 0.3, 0.7, 0.8999999, 0.9, 0.95, 1.0)] == [
        0,
        0,
        1,
        3,
        7,
        8,
        9,
        9,
        9,
    ]
    assert all(confidence_bin(k / 10) == min(k, 9) for k in range(11))
    below = np.nextafter(np.array([k / 10 for k in range(1, 10)]), 0)
    assert [confidence_bin(float(x)) for x in below] == list(range(9))


def test_reliability_matches_scikit_learn_calibration_curve() -> None:
    rng = np.random.default_rng(7)
    predicted, confidence, correct = sample(rng, 20_000)
    bins = pooled(table_of(predicted, confidence, correct))
    rows = reliability(bins)
    prob_true, prob_pred = calibration_curve(correct, confidence, n_bins=CALIBRATION_BINS, strategy="uniform")
    filled = [row for row in rows if row["count"]]
    assert len(filled) == len(prob_true)
    np.testing.assert_allclose([row["accuracy"] for row in filled], prob_true, atol=1e-12)
    np.testing.assert_allclose([row["mean_confidence"] for row in filled], prob_pred, atol=1e-6)
    counts = np.histogram(confidence, bins=np.linspace(0, 1, CALIBRATION_BINS + 1))[0]
    assert [row["count"] for row in rows] == counts.tolist()
    assert all(row["accuracy"] is None and row["mean_confidence"] is None for row in rows if not row["count"])


def test_ece_matches_numpy() -> None:
    rng = np.random.default_rng(11)
    predicted, confidence, correct = sample(rng, 5_000)
    index = np.minimum((confidence * 10).astype(int), 9)
    expected = sum(
        abs(correct[index == k].mean() - confidence[index == k].mean()) * (index == k).sum()
        for k in range(10)
        if (index == k).any()
    ) / len(confidence)
    assert expected_calibration_error(pooled(table_of(predicted, confidence, correct))) == pytest.approx(
        expected, abs=1e-6
    )
    assert expected_calibration_error(pooled({})) is None


def test_ece_of_a_calibrated_model_is_near_zero_and_of_an_overconfident_one_is_not() -> None:
    rng = np.random.default_rng(3)
    confidence = rng.random(50_000)
    calibrated = rng.random(50_000) < confidence
    overconfident = rng.random(50_000) < confidence * 0.7
    zeros = np.zeros(50_000, dtype=int)
    assert expected_calibration_error(pooled(table_of(zeros, confidence, calibrated))) < 0.01
    assert expected_calibration_error(pooled(table_of(zeros, confidence, overconfident))) == pytest.approx(
        0.15, abs=0.01
    )


def test_a_correction_taken_out_leaves_the_table_exactly_as_a_recount() -> None:
    rng = np.random.default_rng(5)
    predicted, confidence, correct = sample(rng, 500)
    table = table_of(predicted, confidence, correct)
    moved: calibration.Table = {}
    for p, c, ok in zip(predicted[:100], confidence[:100], correct[:100]):
        calibration.count_in(moved, int(p), float(c), bool(ok), -1)
    assert add_tables(table, moved) == table_of(predicted[100:], confidence[100:], correct[100:])
    assert add_tables(table, {k: [[-n for n in cell] for cell in row] for k, row in table.items()}) == {}


def test_legacy_rejections_count_against_precision() -> None:
    assert precision_counts({"1": {"1": 8, "2": 2}, "-1": {"1": 5}}) == {"1": (13, 8), "2": (2, 0)}


def test_the_map_without_priors_is_histogram_binning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(calibration, "POOLED_PRIOR_WEIGHT", 0.0)
    monkeypatch.setattr(calibration, "CLASS_SHRINKAGE", 1e-12)
    rng = np.random.default_rng(13)
    predicted, confidence, correct = sample(rng, 30_000)
    fitted = CalibrationMap(table_of(predicted, confidence, correct))
    for cls in range(7):
        mine = predicted == cls
        prob_true, prob_pred = calibration_curve(correct[mine], confidence[mine], n_bins=10, strategy="uniform")
        # At a cell's own mean confidence, where the within-bin curve moves nothing.
        got = [fitted.probability(cls, float(x)).mean for x in prob_pred]
        np.testing.assert_allclose(got, prob_true, atol=1e-6)


def test_the_map_agrees_with_isotonic_regression_per_class() -> None:
    rng = np.random.default_rng(17)
    predicted, confidence, correct = sample(rng, 60_000)
    fitted = CalibrationMap(table_of(predicted, confidence, correct))
    grid = np.linspace(0.45, 0.95, 11)
    for cls in range(7):
        mine = predicted == cls
        iso = IsotonicRegression(out_of_bounds="clip").fit(confidence[mine], correct[mine])
        ours = np.array([fitted.probability(cls, float(x)).mean for x in grid])
        assert np.abs(ours - iso.predict(grid)).mean() < 0.04


def test_a_class_with_few_predictions_leans_on_the_pooled_bin() -> None:
    table = {"0": calibration.empty_row(), "1": calibration.empty_row()}
    table["0"][8] = [1000, 850, 850 * 10**6]
    table["1"][8] = [2, 0, 2 * 850_000]
    fitted = CalibrationMap(table)
    assert fitted.probability(0, 0.85).mean == pytest.approx(0.85, abs=0.01)
    assert 0.7 < fitted.probability(1, 0.85).mean < 0.85  # two wrong ones barely move it
    assert fitted.probability(1, 0.85).shared[0][1] > 0.9


def exact_poisson_binomial(p: np.ndarray) -> np.ndarray:
    pmf = np.array([1.0])
    for q in p:
        pmf = np.convolve(pmf, [1 - q, q])
    return pmf


def test_the_band_covers_the_exact_poisson_binomial_quantiles() -> None:
    rng = np.random.default_rng(19)
    p = rng.beta(6, 2, 300)
    band = accuracy_band((Probability(float(q), ("x", i), 0.0), 1) for i, q in enumerate(p))
    pmf = exact_poisson_binomial(p)
    cdf = np.cumsum(pmf)
    low, high = np.searchsorted(cdf, 0.05) / 300, np.searchsorted(cdf, 0.95) / 300
    assert band.estimate == pytest.approx(p.mean())
    assert band.sampling_sd == pytest.approx(np.sqrt((p * (1 - p)).sum()) / 300)
    assert band.lower == pytest.approx(low, abs=1.5 / 300)
    assert band.upper == pytest.approx(high, abs=1.5 / 300)


def test_the_band_widens_with_the_calibration_uncertainty_that_predictions_share() -> None:
    alone = accuracy_band([(Probability(0.8, ("1", 8), 0.0), 300)])
    shared = accuracy_band([(Probability(0.8, ("1", 8), 0.0004), 300)])
    assert alone.calibration_sd == 0
    assert shared.calibration_sd == pytest.approx(0.02)  # shared by all 300: does not shrink with n
    assert shared.upper - shared.lower > alone.upper - alone.lower
    assert accuracy_band([]) is None


def test_the_band_holds_simulated_accuracies_at_its_level() -> None:
    """Bins fitted on finite data, realised accuracies drawn from the truth: the band covers ~90% of them."""
    rng = np.random.default_rng(23)
    hits = 0
    trials = 300
    for _ in range(trials):
        predicted, confidence, correct = sample(rng, 3_000)
        fitted = CalibrationMap(table_of(predicted, confidence, correct))
        day_predicted, day_confidence, day_correct = sample(rng, 300)
        cells: dict[tuple[int, int], int] = {}
        for p, c in zip(day_predicted, day_confidence):
            key = (int(p), confidence_bin(float(c)))
            cells[key] = cells.get(key, 0) + 1
        band = accuracy_band((fitted.probability(p, (k + 0.5) / 10), n) for (p, k), n in cells.items())
        hits += band.lower <= day_correct.mean() <= band.upper
    assert 0.82 <= hits / trials <= 0.98


def test_the_map_is_linear_within_each_bin_and_stays_within_0_and_1() -> None:
    rng = np.random.default_rng(29)
    predicted, confidence, correct = sample(rng, 5_000)
    correct[confidence > 0.95] = True  # a bin whose accuracy is 1: the line must flatten, not leave [0, 1]
    fitted = CalibrationMap(table_of(predicted, confidence, correct))
    for cls in range(7):
        for k in range(CALIBRATION_BINS):
            lower, upper = calibration.EDGES[k], calibration.EDGES[k + 1]
            grid = np.linspace(lower, upper - 1e-9 if k < CALIBRATION_BINS - 1 else upper, 7)
            values = np.array([fitted.probability(cls, float(c)).mean for c in grid])
            assert ((values >= -1e-12) & (values <= 1 + 1e-12)).all(), (cls, k)
            line = fitted.line(cls, k)
            np.testing.assert_allclose(values, line.intercept + line.slope * grid, rtol=0, atol=1e-12)


def test_bin_sums_equal_the_sums_over_the_predictions() -> None:
    rng = np.random.default_rng(31)
    fitted = CalibrationMap(table_of(*sample(rng, 3_000)))
    for cls, k in ((0, 9), (3, 7), (6, 5), (2, 0)):
        lower, upper = calibration.EDGES[k], calibration.EDGES[k + 1]
        confidences = rng.uniform(lower, upper, 50)
        p = np.array([fitted.probability(cls, float(c)).mean for c in confidences])
        sums = fitted.bin_sums(cls, k, 50, float(confidences.sum()), float((confidences**2).sum()))
        assert sums.total == pytest.approx(p.sum(), rel=1e-12)
        assert sums.squares == pytest.approx((p * p).sum(), rel=1e-12)


def test_the_band_does_not_depend_on_the_order_of_the_predictions() -> None:
    rng = np.random.default_rng(37)
    fitted = CalibrationMap(table_of(*sample(rng, 3_000)))
    predicted, confidence, _ = sample(rng, 400)
    pairs = [(fitted.probability(int(p), float(c)), 1) for p, c in zip(predicted, confidence)]
    forward, backward = accuracy_band(pairs), accuracy_band(pairs[::-1])
    for name in ("estimate", "lower", "upper", "sampling_sd", "calibration_sd"):
        assert getattr(forward, name) == pytest.approx(getattr(backward, name), rel=1e-12)
