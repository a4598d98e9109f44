"""Drift of the recent days' distributions against a reference (pure statistics over counts).

A day is judged on a window: its own counts pooled with those of the DRIFT_WINDOW_DAYS - 1 days before
it. Each of three features is compared with the reference:

- true and predicted class: chi-square goodness of fit against the class shares of the reference
  window (DRIFT_CLASS_REFERENCE=window, the default) or of the training set (=training);
- confidence: two-sample Kolmogorov-Smirnov on binned confidences against the reference window
  (the first DRIFT_REFERENCE_DAYS days of history);
- DRIFT_ALGORITHM=hellinger: the Hellinger distance for all three, against a threshold.

A feature drifts only when the difference is both significant and large enough to matter:

- significant: the p-value is under DRIFT_P_VALUE divided by the number of features (Bonferroni: the
  day's three tests together keep DRIFT_P_VALUE);
- large: the population stability index (PSI) of the window against the reference, less the part that
  sampling alone gives (`excess_psi`), is at least DRIFT_MIN_PSI (0.1 by default, the usual line
  between "no shift" and "a moderate shift"; one class's share going from 20% to 40% is a PSI of 0.2).

On hundreds of predictions a day a chi-square test finds the ordinary day-to-day variation of real
traffic significant; the effect size is what keeps those days quiet. Each result carries the figures
and the thresholds it was judged with, so that a changed setting never rewrites a judged day.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from itertools import zip_longest
from typing import Any

from scipy import stats

from clara_common import settings as common
from clara_common.days import short_day
from clara_common.ledger.drift import FEATURE_NAMES, FEATURES, SHARE_OF
from clara_logger.history import predicted_class_counts, true_class_counts
from clara_logger.incidents import Incident

DRIFT = "drift"
NO_DRIFT = "no_drift"
INSUFFICIENT_DATA = "insufficient_data"
IN_REFERENCE = "in_reference"  # the day is part of the reference window it would be compared with

# Added to every reference count so that a class the reference never saw does not make the
# expected count zero (a chi-square of infinity on a single sample).
REFERENCE_PSEUDOCOUNT = 0.5


@dataclass(frozen=True)
class DriftResult:
    """One feature of one day's window compared with its reference."""

    algorithm: str
    reference: str
    count: int
    statistic: float | None
    p_value: float | None
    threshold: float  # the p-value level (the corrected one) or the Hellinger distance it was judged with
    category: str
    psi: float | None = None
    psi_threshold: float | None = None
    window_days: int = 1
    shifts: list[dict[str, Any]] | None = None

    def to_document(self) -> dict[str, Any]:
        # `alpha`: the corrected level of a p-value test (its `threshold`); None for a distance.
        return {**asdict(self), "alpha": None if self.algorithm == "hellinger" else self.threshold}


def chi_square(observed: Sequence[int], reference: Sequence[float], dispersion: float = 1.0) -> tuple[float, float]:
    """Return the chi-square statistic and p-value of `observed` counts against `reference` shares.

    `dispersion` (at least 1): how much more the reference's own days vary from day to day than
    sampling makes them; the statistic is divided by it before its p-value is read (a quasi-likelihood
    test), so that the ordinary day-to-day variation of real traffic is not taken for drift.
    """
    if len(observed) != len(reference):
        raise ValueError(f"{len(observed)} observed categories against {len(reference)} reference ones")
    total = sum(observed)
    smoothed = [r + REFERENCE_PSEUDOCOUNT for r in reference]
    expected = [total * s / sum(smoothed) for s in smoothed]
    statistic = float(stats.chisquare(observed, expected).statistic)
    return statistic, float(stats.chi2.sf(statistic / max(dispersion, 1.0), len(observed) - 1))


def dispersion(days: Sequence[Sequence[int]], min_count: int = 20) -> float:
    """Return how much more a reference's days vary than sampling alone makes them (1: no more).

    Each day with at least `min_count` counts is compared with the other days pooled; the mean of their
    chi-square statistics over the degrees of freedom is the dispersion (never below 1).
    """
    total = [sum(column) for column in zip(*days)] if days else []
    ratios = []
    for day in days:
        if sum(day) < min_count:
            continue
        rest = [t - d for t, d in zip(total, day)]
        if sum(rest) <= 0:
            continue
        statistic, _ = chi_square(day, rest)
        ratios.append(statistic / (len(day) - 1))
    return max(1.0, sum(ratios) / len(ratios)) if len(ratios) >= 3 else 1.0


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

    algorithm: str = common.DRIFT_ALGORITHM  # or "hellinger"
    p_value: float = common.DRIFT_P_VALUE  # for the day's tests together (Bonferroni over FEATURES)
    hellinger_threshold: float = common.DRIFT_HELLINGER_THRESHOLD
    min_samples: int = common.DRIFT_MIN_SAMPLES
    min_psi: float = 0.1
    window_days: int = 3

    @property
    def alpha(self) -> float:
        """Return each test's level: the day's family-wise level shared by its features."""
        return self.p_value / len(FEATURES)


# A class is named as shifted when its share moved by at least this much, absolute and relative.
SHIFT_MIN_ABSOLUTE = 0.02
SHIFT_MIN_RATIO = 1.25


def psi(sample: Sequence[float], reference: Sequence[float]) -> float:
    """Return the population stability index of `sample` against `reference` (counts or shares).

    Both are smoothed by REFERENCE_PSEUDOCOUNT per category, so that an empty category costs a finite amount.
    """
    if len(sample) != len(reference):
        raise ValueError(f"{len(sample)} categories against {len(reference)}")
    a = [x + REFERENCE_PSEUDOCOUNT for x in sample]
    e = [x + REFERENCE_PSEUDOCOUNT for x in reference]
    a_total, e_total = sum(a), sum(e)
    return sum((x / a_total - y / e_total) * math.log((x / a_total) / (y / e_total)) for x, y in zip(a, e))


def excess_psi(sample: Sequence[float], reference: Sequence[float]) -> float:
    """Return the PSI of `sample` against `reference` beyond what sampling alone gives (never below 0).

    Two samples of one distribution, of n and m counts over k categories, differ by a PSI of about
    (k - 1)(1/n + 1/m) on average (the PSI is the symmetric Kullback-Leibler divergence, and twice that
    times nm/(n+m) is a chi-square with k - 1 degrees of freedom): a day of 40 predictions differs from
    the reference by a PSI of 0.15 by chance, a day of 2,000 by 0.003. What is left is the shift itself.
    """
    categories = sum(1 for x, y in zip(sample, reference) if x > 0 or y > 0)
    n, m = sum(sample), sum(reference)
    if n <= 0 or m <= 0:
        raise ValueError("both distributions need a positive total")
    return max(0.0, psi(sample, reference) - (categories - 1) * (1 / n + 1 / m))


def shifts(sample: Sequence[float], reference: Sequence[float], names: Sequence[str]) -> list[dict[str, Any]]:
    """Return the classes whose share moved enough to name, the largest move first."""
    s_total, r_total = sum(sample), sum(reference)
    if s_total <= 0 or r_total <= 0:
        return []
    moved = []
    for name, s, r in zip(names, sample, reference):
        current, before = s / s_total, r / r_total
        ratio = (current + 1e-9) / (before + 1e-9)
        if abs(current - before) >= SHIFT_MIN_ABSOLUTE and (ratio >= SHIFT_MIN_RATIO or ratio <= 1 / SHIFT_MIN_RATIO):
            moved.append({"class": name, "reference": before, "current": current})
    return sorted(moved, key=lambda m: -abs(m["current"] - m["reference"]))


def coarse(histogram: Sequence[int], factor: int = 2) -> list[int]:
    """Return a histogram with each `factor` neighbouring bins merged (fewer, fuller bins for the PSI)."""
    return [sum(histogram[i : i + factor]) for i in range(0, len(histogram), factor)]


def _insufficient(algorithm: str, reference: str, count: int, threshold: float, settings: DriftSettings) -> DriftResult:
    return DriftResult(
        algorithm,
        reference,
        count,
        None,
        None,
        threshold,
        INSUFFICIENT_DATA,
        None,
        settings.min_psi,
        settings.window_days,
    )


def _judged(
    algorithm: str,
    reference_name: str,
    count: int,
    statistic: float,
    p_value: float | None,
    effect: float,
    settings: DriftSettings,
    moved: list[dict[str, Any]] | None,
) -> DriftResult:
    """Return a result: drift when the difference is significant (or far, for Hellinger) and large enough."""
    if p_value is None:
        threshold, significant = settings.hellinger_threshold, statistic > settings.hellinger_threshold
    else:
        threshold, significant = settings.alpha, p_value < settings.alpha
    category = DRIFT if significant and effect >= settings.min_psi else NO_DRIFT
    return DriftResult(
        algorithm,
        reference_name,
        count,
        statistic,
        p_value,
        threshold,
        category,
        effect,
        settings.min_psi,
        settings.window_days,
        moved,
    )


def compare_classes(
    observed: Sequence[int],
    reference: Sequence[float],
    reference_name: str,
    settings: DriftSettings,
    names: Sequence[str] | None = None,
    day_dispersion: float = 1.0,
) -> DriftResult:
    """Compare a window's class counts with the reference's class counts or shares (see `chi_square`)."""
    count = sum(observed)
    algorithm = "hellinger" if settings.algorithm == "hellinger" else "chi-square"
    threshold = settings.hellinger_threshold if algorithm == "hellinger" else settings.alpha
    if count < settings.min_samples or sum(reference) <= 0:
        return _insufficient(algorithm, reference_name, count, threshold, settings)
    effect = excess_psi(observed, reference)
    moved = shifts(observed, reference, names) if names is not None else None
    if algorithm == "hellinger":
        return _judged(algorithm, reference_name, count, hellinger(observed, reference), None, effect, settings, moved)
    statistic, p_value = chi_square(observed, reference, day_dispersion)
    return _judged(algorithm, reference_name, count, statistic, p_value, effect, settings, moved)


def compare_confidence(histogram: Sequence[int], reference: Sequence[int], settings: DriftSettings) -> DriftResult:
    """Compare a window's confidence histogram with the reference window's."""
    count = sum(histogram)
    algorithm = "hellinger" if settings.algorithm == "hellinger" else "ks"
    threshold = settings.hellinger_threshold if algorithm == "hellinger" else settings.alpha
    if count < settings.min_samples or sum(reference) == 0:
        return _insufficient(algorithm, "window", count, threshold, settings)
    effect = excess_psi(coarse(histogram), coarse(reference))
    if algorithm == "hellinger":
        return _judged(algorithm, "window", count, hellinger(histogram, reference), None, effect, settings, None)
    statistic, p_value = ks_binned(histogram, reference)
    return _judged(algorithm, "window", count, statistic, p_value, effect, settings, None)


def drifting_features(results: dict[str, dict[str, Any]]) -> list[str]:
    """Return the names of the features whose category is drift."""
    return sorted(name for name, result in results.items() if result.get("category") == DRIFT)


def pooled(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Return the confusion and confidence histogram of some history days added up."""
    confusion: dict[str, dict[str, int]] = {}
    histogram: list[int] = []
    for record in records:
        for true, row in record["confusion"].items():
            target = confusion.setdefault(true, {})
            for predicted, n in row.items():
                target[predicted] = target.get(predicted, 0) + n
        day_histogram = record.get("confidence_histogram") or []
        histogram = [a + b for a, b in zip_longest(histogram, day_histogram, fillvalue=0)]
    return {"confusion": confusion, "confidence_histogram": histogram}


def reference_of(
    window: Sequence[Mapping[str, Any]],
    class_ids: Sequence[int],
    class_reference: str = "window",
    training_counts: Sequence[int] = (),
) -> dict[str, Any]:
    """Return the drift reference: the window's days, class counts and confidence histogram."""
    both = pooled(window)
    true_counts = true_class_counts(both["confusion"], class_ids)
    predicted_counts = predicted_class_counts(both["confusion"], class_ids)
    spread = {
        "true_class": dispersion([true_class_counts(day["confusion"], class_ids) for day in window]),
        "predicted_class": dispersion([predicted_class_counts(day["confusion"], class_ids) for day in window]),
    }
    if class_reference == "training":
        true_counts = predicted_counts = list(training_counts)
    return {
        "window": [day["_id"] for day in window],
        "class_reference": class_reference,
        "true_class": true_counts,
        "predicted_class": predicted_counts,
        "confidence": both["confidence_histogram"],
        "dispersion": spread,
    }


def evaluate_window(
    records: Sequence[Mapping[str, Any]],
    reference: Mapping[str, Any],
    class_ids: Sequence[int],
    names: Sequence[str],
    settings: DriftSettings,
) -> dict[str, dict[str, Any]]:
    """Return the drift results of the last of `records` (its window, oldest first) against the reference."""
    window = pooled(records)
    in_window = records[-1]["_id"] in reference["window"]
    results = {}
    for feature, counts in (
        ("true_class", true_class_counts(window["confusion"], class_ids)),
        ("predicted_class", predicted_class_counts(window["confusion"], class_ids)),
    ):
        spread = reference.get("dispersion", {}).get(feature, 1.0)
        result = compare_classes(counts, reference[feature], reference["class_reference"], settings, names, spread)
        document = result.to_document()
        if in_window and reference["class_reference"] == "window":
            document["category"] = IN_REFERENCE
        results[feature] = document
    if reference["confidence"] and window["confidence_histogram"]:
        document = compare_confidence(window["confidence_histogram"], reference["confidence"], settings).to_document()
        if in_window:
            document["category"] = IN_REFERENCE
        results["confidence"] = document
    return results


def notices(days: Sequence[tuple[str, Mapping[str, Any]]]) -> list[Incident]:
    """Return the drift notices of the judged days (oldest first, each with its stored drift results).

    A notice per feature opens on a day judged drifting and resolves on the next day judged not drifting;
    days without a judgement (too few predictions) neither open nor resolve one.
    """
    found: list[Incident] = []
    for feature in FEATURES:
        run: list[tuple[str, Mapping[str, Any]]] = []
        for day, results in days:
            result = results.get(feature)
            category = result.get("category") if isinstance(result, Mapping) else None
            if category == DRIFT:
                run.append((day, result))  # type: ignore[arg-type]
            elif category == NO_DRIFT and run:
                found.append(_notice(feature, run, day))
                run = []
        if run:
            found.append(_notice(feature, run, None))
    return found


def _notice(feature: str, run: Sequence[tuple[str, Mapping[str, Any]]], resolved: str | None) -> Incident:
    since, first = run[0]
    latest = max(run, key=lambda item: item[1].get("psi") or 0.0)[1]
    moved = latest.get("shifts") or []
    described = ", ".join(f"{m['class']} {m['reference']:.0%} → {m['current']:.0%}" for m in moved[:3])
    text = f"{FEATURE_NAMES[feature]} drift since {short_day(since)}"
    if described:
        text += f": {described} {SHARE_OF.get(feature, '')}".rstrip()
    text += f" (PSI {latest.get('psi') or 0:.2f})"
    return Incident(
        kind="drift",
        metric=feature,
        class_id=None,
        day=since,
        since=since,
        resolved_day=resolved,
        value=latest.get("psi"),
        reference=latest.get("psi_threshold"),
        count=int(latest.get("count") or 0),
        text=text,
        details={
            "shifts": moved,
            "effect": {
                "psi": latest.get("psi"),
                "p_value": latest.get("p_value"),
                "psi_threshold": latest.get("psi_threshold"),
                "alpha": latest.get("threshold"),
            },
        },
    )
