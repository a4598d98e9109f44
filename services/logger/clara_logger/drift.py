"""Drift of a day's distributions against a reference (pure statistics over counts).

- true and predicted class: chi-square goodness of fit against the class shares of the reference
  window (DRIFT_CLASS_REFERENCE=window, the default) or of the training set (=training);
- confidence: two-sample Kolmogorov-Smirnov on binned confidences against the reference window
  (the first DRIFT_REFERENCE_DAYS days of history);
- DRIFT_ALGORITHM=hellinger: the Hellinger distance for all three, against a threshold.

Each result carries the statistic, the p-value (None for Hellinger) and a category.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from scipy import stats

DRIFT = "drift"
NO_DRIFT = "no_drift"
INSUFFICIENT_DATA = "insufficient_data"
IN_REFERENCE = "in_reference"  # the day is part of the reference window it would be compared with

# Added to every reference count so that a class the reference never saw does not make the
# expected count zero (a chi-square of infinity on a single sample).
REFERENCE_PSEUDOCOUNT = 0.5


@dataclass(frozen=True)
class DriftResult:
    """One feature of one day compared with its reference."""

    algorithm: str
    reference: str
    count: int
    statistic: float | None
    p_value: float | None
    threshold: float
    category: str

    def to_document(self) -> dict[str, Any]:
        return asdict(self)


def chi_square(observed: Sequence[int], reference: Sequence[float]) -> tuple[float, float]:
    """Return the chi-square statistic and p-value of `observed` counts against `reference` shares."""
    if len(observed) != len(reference):
        raise ValueError(f"{len(observed)} observed categories against {len(reference)} reference ones")
    total = sum(observed)
    smoothed = [r + REFERENCE_PSEUDOCOUNT for r in reference]
    expected = [total * s / sum(smoothed) for s in smoothed]
    result = stats.chisquare(observed, expected)
    return float(result.statistic), float(result.pvalue)


def ks_binned(sample: Sequence[int], reference: Sequence[int]) -> tuple[float, float]:
    """Return the two-sample KS statistic and asymptotic p-value of two histograms on the same bins.

    The statistic is the largest gap between the two cumulative shares at the bin edges, which is
    exact when the values sit on the bins; the p-value is scipy's two-sample asymptotic one
    (`ks_2samp(method="asymp")`).
    """
    if len(sample) != len(reference):
        raise ValueError(f"histograms differ in length: {len(sample)} and {len(reference)}")
    n, m = sum(sample), sum(reference)
    if n == 0 or m == 0:
        raise ValueError("both histograms need at least one value")
    gap = 0.0
    running_n = running_m = 0
    for a, b in zip(sample, reference):
        running_n += a
        running_m += b
        gap = max(gap, abs(running_n / n - running_m / m))
    larger, smaller = max(n, m), min(n, m)
    effective = round(larger * smaller / (larger + smaller))
    return float(gap), float(min(max(stats.kstwo.sf(gap, effective), 0.0), 1.0))


def hellinger(sample: Sequence[float], reference: Sequence[float]) -> float:
    """Return the Hellinger distance between two distributions given as counts or shares (0 to 1)."""
    if len(sample) != len(reference):
        raise ValueError(f"{len(sample)} categories against {len(reference)}")
    p_total, q_total = sum(sample), sum(reference)
    if p_total <= 0 or q_total <= 0:
        raise ValueError("both distributions need a positive total")
    overlap = sum(math.sqrt((p / p_total) * (q / q_total)) for p, q in zip(sample, reference))
    return math.sqrt(max(0.0, 1.0 - overlap))


@dataclass(frozen=True)
class DriftSettings:
    """The thresholds that decide a category."""

    algorithm: str = "chi-square"  # or "hellinger"
    p_value: float = 0.05
    hellinger_threshold: float = 0.15
    min_samples: int = 50


def _insufficient(algorithm: str, reference: str, count: int, threshold: float) -> DriftResult:
    return DriftResult(algorithm, reference, count, None, None, threshold, INSUFFICIENT_DATA)


def compare_classes(
    observed: Sequence[int], reference: Sequence[float], reference_name: str, settings: DriftSettings
) -> DriftResult:
    """Compare a day's class counts with the reference's class counts or shares."""
    count = sum(observed)
    if settings.algorithm == "hellinger":
        if count < settings.min_samples or sum(reference) <= 0:
            return _insufficient("hellinger", reference_name, count, settings.hellinger_threshold)
        distance = hellinger(observed, reference)
        category = DRIFT if distance > settings.hellinger_threshold else NO_DRIFT
        return DriftResult("hellinger", reference_name, count, distance, None, settings.hellinger_threshold, category)
    if count < settings.min_samples or sum(reference) <= 0:
        return _insufficient("chi-square", reference_name, count, settings.p_value)
    statistic, p_value = chi_square(observed, reference)
    category = DRIFT if p_value < settings.p_value else NO_DRIFT
    return DriftResult("chi-square", reference_name, count, statistic, p_value, settings.p_value, category)


def compare_confidence(histogram: Sequence[int], reference: Sequence[int], settings: DriftSettings) -> DriftResult:
    """Compare a day's confidence histogram with the reference window's."""
    count = sum(histogram)
    if settings.algorithm == "hellinger":
        if count < settings.min_samples or sum(reference) == 0:
            return _insufficient("hellinger", "window", count, settings.hellinger_threshold)
        distance = hellinger(histogram, reference)
        category = DRIFT if distance > settings.hellinger_threshold else NO_DRIFT
        return DriftResult("hellinger", "window", count, distance, None, settings.hellinger_threshold, category)
    if count < settings.min_samples or sum(reference) == 0:
        return _insufficient("ks", "window", count, settings.p_value)
    statistic, p_value = ks_binned(histogram, reference)
    category = DRIFT if p_value < settings.p_value else NO_DRIFT
    return DriftResult("ks", "window", count, statistic, p_value, settings.p_value, category)


def drifting_features(results: dict[str, dict[str, Any]]) -> list[str]:
    """Return the names of the features whose category is drift."""
    return sorted(name for name, result in results.items() if result.get("category") == DRIFT)
