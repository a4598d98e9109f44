"""Calibration of `output_confidence` against correctness, and the accuracy it predicts (pure arithmetic).

The ledger keeps, per history day, a calibration table (the history's `calibration` field):

    {predicted class id: [[count, correct, confidence sum in millionths] for each of CALIBRATION_BINS bins]}

over the validated predictions that have a confidence. The bins are equal-width over [0, 1], each
[k/10, (k+1)/10) and the last closed, [0.9, 1.0]. A legacy `false` review is a wrong prediction. The
confidence sum is kept in integer millionths so that adding a batch and taking a correction out are
exact, whatever the order: a recount equals the running sum to the last unit.

From such a table this module gives the reliability diagram and the expected calibration error
(`reliability`, `expected_calibration_error`), and a calibration map (`CalibrationMap`): histogram
binning per predicted class, shrunk (CLASS_SHRINKAGE pseudo-predictions) where a class has few
predictions towards the pooled bin moved by the class's mean offset from the pooled bins, with a Beta
posterior per pooled bin (prior: calibrated, POOLED_PRIOR_WEIGHT pseudo-predictions) for the map's own
uncertainty. `accuracy_band` turns the probabilities of
a day's unreviewed predictions into the expected accuracy and a band that covers both the sampling
(a Poisson-binomial sum of Bernoulli(p_i), normal approximation) and the map's uncertainty.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

CALIBRATION_BINS = 10
# Confidence sums are stored as integers in units of 1 / CONFIDENCE_SCALE.
CONFIDENCE_SCALE = 1_000_000
# The bins' lower edges as the doubles nearest k/10: a confidence is compared with them exactly.
EDGES = [k / CALIBRATION_BINS for k in range(CALIBRATION_BINS + 1)]
# The pooled bin's prior: as many pseudo-predictions as this, calibrated (accuracy = the bin's middle).
POOLED_PRIOR_WEIGHT = 2.0
# A class's bin is shrunk towards the pooled bin with this many pseudo-predictions: a class bin with
# far more predictions than this follows its own accuracy, one with far fewer the pooled one.
CLASS_SHRINKAGE = 50.0
# A class's offset from the pooled bins is shrunk towards 0 with this many pseudo-predictions.
OFFSET_SHRINKAGE = 20.0
# The class precision used for predictions without a confidence: prior weight, centred on the pooled precision.
NO_CONFIDENCE_PRIOR_WEIGHT = 2.0
BAND_LEVEL = 0.90
# A pooled bin with fewer predictions is no point of the accuracy curve.
MIN_CURVE_COUNT = 30

Cell = list[int]  # [count, correct, confidence sum in millionths]
Table = dict[str, list[Cell]]  # predicted class id (a string, as a MongoDB field name) -> one cell per bin


def confidence_bin(confidence: float) -> int:
    """Return the calibration bin of a confidence in [0, 1]: [k/10, (k+1)/10), and 1.0 in the last bin."""
    k = min(max(int(confidence * CALIBRATION_BINS), 0), CALIBRATION_BINS - 1)
    # The product may round across an edge: compare with the edges themselves.
    if k > 0 and confidence < EDGES[k]:
        k -= 1
    elif k < CALIBRATION_BINS - 1 and confidence >= EDGES[k + 1]:
        k += 1
    return k


def scaled_confidence(confidence: float) -> int:
    """Return a confidence in integer millionths, the unit confidence sums are kept in."""
    return round(confidence * CONFIDENCE_SCALE)


def empty_row() -> list[Cell]:
    return [[0, 0, 0] for _ in range(CALIBRATION_BINS)]


def count_in(table: Table, predicted: int, confidence: float, correct: bool, sign: int = 1) -> None:
    """Add one validated prediction with a confidence to `table` (sign 1), or take it out (sign -1)."""
    cell = table.setdefault(str(predicted), empty_row())[confidence_bin(confidence)]
    cell[0] += sign
    cell[1] += sign * int(correct)
    cell[2] += sign * scaled_confidence(confidence)


def add_tables(left: Mapping[str, Sequence[Sequence[int]]], right: Mapping[str, Sequence[Sequence[int]]]) -> Table:
    """Return the cell-wise sum of two calibration tables, without the rows that come to zero."""
    total: Table = {key: [list(cell) for cell in row] for key, row in left.items()}
    for key, row in right.items():
        target = total.setdefault(key, empty_row())
        if len(row) != len(target):
            raise ValueError(f"calibration rows differ in length: {len(target)} and {len(row)}")
        for bin_index, cell in enumerate(row):
            target[bin_index] = [a + b for a, b in zip(target[bin_index], cell)]
    return nonzero_table(total)


def nonzero_table(table: Mapping[str, Sequence[Sequence[int]]]) -> Table:
    """Return a table without its rows whose every cell is zero (the canonical form stored and compared)."""
    return {key: [list(cell) for cell in row] for key, row in table.items() if any(any(cell) for cell in row)}


def pooled(table: Mapping[str, Sequence[Sequence[int]]]) -> list[Cell]:
    """Return the table's bins summed over the predicted classes."""
    total = empty_row()
    for row in table.values():
        for bin_index, cell in enumerate(row):
            total[bin_index] = [a + b for a, b in zip(total[bin_index], cell)]
    return total


def reliability(bins: Sequence[Sequence[int]]) -> list[dict[str, Any]]:
    """Return the reliability diagram of pooled bins: per bin its edges, count, mean confidence and accuracy.

    `mean_confidence` and `accuracy` are None for an empty bin.
    """
    rows = []
    for k, (count, correct, confidence_sum) in enumerate(bins):
        rows.append(
            {
                "lower": EDGES[k],
                "upper": EDGES[k + 1],
                "count": count,
                "mean_confidence": confidence_sum / CONFIDENCE_SCALE / count if count else None,
                "accuracy": correct / count if count else None,
            }
        )
    return rows


def expected_calibration_error(bins: Sequence[Sequence[int]]) -> float | None:
    """Return Σ count/N · |accuracy − mean confidence| over the bins; None when no bin holds a prediction."""
    total = sum(cell[0] for cell in bins)
    if total <= 0:
        return None
    return (
        sum(abs(correct - confidence_sum / CONFIDENCE_SCALE) for count, correct, confidence_sum in bins if count)
        / total
    )


# -- the calibration map ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Beta:
    """A Beta(a, b) posterior of an accuracy."""

    a: float
    b: float

    @property
    def mean(self) -> float:
        return self.a / (self.a + self.b)

    @property
    def variance(self) -> float:
        total = self.a + self.b
        return self.a * self.b / (total * total * (total + 1))


@dataclass(frozen=True)
class Probability:
    """A prediction's probability of being right under the map, and what its uncertainty depends on.

    `own` keys the posterior the probability has of its own (a class's bin, or a class's precision),
    with `own_variance`; `shared` lists what else it leans on, as (key, weight, variance): the pooled
    bin and the class's offset, each weighted by how much of the probability is theirs. Predictions
    with the same key share that uncertainty: it does not shrink with their number.
    """

    mean: float
    own: tuple[str, int]
    own_variance: float
    shared: tuple[tuple[Any, float, float], ...] = ()


@dataclass(frozen=True)
class Line:
    """The map on one (class, bin): p(c) = intercept + slope·c, and the uncertainty its predictions share."""

    intercept: float
    slope: float
    own: tuple[str, int]
    own_variance: float
    shared: tuple[tuple[Any, float, float], ...] = ()


@dataclass(frozen=True)
class Sums:
    """A group of predictions under the map: how many, Σp, Σp², and the posteriors they lean on (as Probability)."""

    count: int
    total: float
    squares: float
    own: tuple[str, int]
    own_variance: float
    shared: tuple[tuple[Any, float, float], ...] = ()


@dataclass
class CalibrationMap:
    """Histogram binning of confidence per predicted class, shrunk towards the pooled bins (see the module doc)."""

    table: Table
    precision: dict[str, tuple[int, int]] = field(default_factory=dict)  # class -> (predicted, correct), all reviews

    def __post_init__(self) -> None:
        self.pooled_bins = [
            Beta(correct + POOLED_PRIOR_WEIGHT * middle, count - correct + POOLED_PRIOR_WEIGHT * (1 - middle))
            for (count, correct, _), middle in zip(pooled(self.table), self._middles())
        ]
        # A class's offset from the pooled bins, over all its bins (shrunk towards 0): the prior of its
        # thinly filled bins. The pooled bins average the reviewed class mix; a class harder than that mix
        # stays harder in the bins where it has few predictions.
        self.class_offsets: dict[str, float] = {}
        self.class_counts: dict[str, int] = {}
        for key, row in self.table.items():
            residual = sum(cell[1] - cell[0] * shared.mean for cell, shared in zip(row, self.pooled_bins))
            self.class_counts[key] = sum(cell[0] for cell in row)
            self.class_offsets[key] = residual / (self.class_counts[key] + OFFSET_SHRINKAGE)
        # The offset's own uncertainty, one per class (the spread of a mean residual over the class's predictions).
        pooled_count = sum(self.class_counts.values())
        pooled_correct = sum(cell[1] for row in self.table.values() for cell in row)
        self.pooled_accuracy = (pooled_correct + 1.0) / (pooled_count + 2.0)
        self.offset_variances: dict[str, float] = {}
        for key, row in self.table.items():
            accuracy = (sum(cell[1] for cell in row) + 1.0) / (self.class_counts[key] + 2.0)
            self.offset_variances[key] = accuracy * (1 - accuracy) / (self.class_counts[key] + OFFSET_SHRINKAGE)
        self._lines: dict[tuple[str, int], Line] = {}
        # The pooled accuracy as a function of confidence, through the bins' (mean confidence, accuracy)
        # points: it moves a prediction's probability within its bin, as the confidences' mix within a bin
        # shifts from the one the bin was fitted on.
        self.pooled_sums = pooled(self.table)
        self.curve = [
            (cell[2] / CONFIDENCE_SCALE / cell[0], shared.mean)
            for cell, shared in zip(pooled(self.table), self.pooled_bins)
            if cell[0] >= MIN_CURVE_COUNT
        ]
        predicted = sum(n for n, _ in self.precision.values())
        correct = sum(c for _, c in self.precision.values())
        self.pooled_precision = Beta(correct + 1.0, predicted - correct + 1.0)

    @staticmethod
    def _middles() -> list[float]:
        return [(EDGES[k] + EDGES[k + 1]) / 2 for k in range(CALIBRATION_BINS)]

    @property
    def validated(self) -> int:
        """Return how many validated predictions with a confidence the map was fitted on."""
        return sum(cell[0] for cell in pooled(self.table))

    def along_curve(self, confidence: float) -> float:
        """Return the pooled accuracy at `confidence`, linear between the bins' points (flat beyond them)."""
        points = self.curve
        if not points:
            return confidence
        if confidence <= points[0][0]:
            return points[0][1]
        for (x0, y0), (x1, y1) in zip(points, points[1:]):
            if confidence <= x1:
                return y0 + (y1 - y0) * (confidence - x0) / (x1 - x0) if x1 > x0 else y1
        return points[-1][1]

    def line(self, predicted: int, k: int) -> Line:
        """Return the map of class `predicted` on bin `k`: linear in confidence over the bin's edges.

        The class's bin accuracy (shrunk towards the pooled bin moved by the class's offset) holds at the
        mean confidence the cell was fitted at; the map moves along the pooled curve's chord over the bin
        from there, less steeply where it would leave [0, 1] within the bin. It is linear within the bin,
        so that the sum of a bin's probabilities is intercept·n + slope·Σc.
        """
        key = str(predicted)
        cached = self._lines.get((key, k))
        if cached is not None:
            return cached
        shared = self.pooled_bins[k]
        count, correct, confidence_sum = self.table.get(key, empty_row())[k]
        prior = min(max(shared.mean + self.class_offsets.get(key, 0.0), 0.001), 0.999)
        mean = (correct + CLASS_SHRINKAGE * prior) / (count + CLASS_SHRINKAGE)
        pooled_cell = self.pooled_sums[k]
        fitted_at = (
            confidence_sum / CONFIDENCE_SCALE / count
            if count
            else pooled_cell[2] / CONFIDENCE_SCALE / pooled_cell[0]
            if pooled_cell[0]
            else None
        )
        lower, upper = EDGES[k], EDGES[k + 1]
        if fitted_at is None:  # nothing reviewed in the bin: no point to move from
            slope, intercept = 0.0, mean
        else:
            slope = (self.along_curve(upper) - self.along_curve(lower)) / (upper - lower)
            # Flattened where it would leave [0, 1] inside the bin: the line keeps its point (fitted_at, mean).
            # `rising`: how far the line runs towards the side where it rises; `falling`: towards where it falls.
            rising, falling = (
                (upper - fitted_at, fitted_at - lower) if slope > 0 else (fitted_at - lower, upper - fitted_at)
            )
            limit = min(
                [abs(slope)]
                + ([(1.0 - mean) / rising] if rising > 0 else [])
                + ([mean / falling] if falling > 0 else [])
            )
            slope = math.copysign(limit, slope)
            intercept = mean - slope * fitted_at
        weight = CLASS_SHRINKAGE / (count + CLASS_SHRINKAGE)
        # The class bin's own posterior, one variance per bin: predictions in it share it whatever their order.
        own_variance = mean * (1 - mean) / (count + CLASS_SHRINKAGE + 1) * (1 - weight)
        line = Line(
            intercept,
            slope,
            (key, k),
            own_variance,
            (
                (k, weight, shared.variance),
                (
                    ("offset", key),
                    weight,
                    self.offset_variances.get(
                        key, self.pooled_accuracy * (1 - self.pooled_accuracy) / OFFSET_SHRINKAGE
                    ),
                ),
            ),
        )
        self._lines[(key, k)] = line
        return line

    def without_confidence(self, predicted: int) -> Probability:
        """Return the probability that a class-`predicted` prediction without a confidence is right: its precision."""
        key = str(predicted)
        total, correct = self.precision.get(key, (0, 0))
        prior = self.pooled_precision.mean
        own = Beta(
            correct + NO_CONFIDENCE_PRIOR_WEIGHT * prior, total - correct + NO_CONFIDENCE_PRIOR_WEIGHT * (1 - prior)
        )
        return Probability(own.mean, (key, -1), own.variance)

    def probability(self, predicted: int, confidence: float | None) -> Probability:
        """Return the probability that a prediction of class `predicted` at `confidence` is right."""
        if confidence is None:
            return self.without_confidence(predicted)
        line = self.line(predicted, confidence_bin(confidence))
        return Probability(line.intercept + line.slope * confidence, line.own, line.own_variance, line.shared)

    def bin_sums(self, predicted: int, k: int, count: int, confidence_sum: float, square_sum: float) -> Sums:
        """Return Σp and Σp² of `count` predictions of class `predicted` in bin `k` from Σc and Σc².

        Exact (up to floating-point rounding) because the map is linear within a bin (`line`):
        Σ(a + b·c) = a·n + b·Σc and Σ(a + b·c)² = a²·n + 2ab·Σc + b²·Σc².
        """
        line = self.line(predicted, k)
        a, b = line.intercept, line.slope
        return Sums(
            count,
            a * count + b * confidence_sum,
            a * a * count + 2 * a * b * confidence_sum + b * b * square_sum,
            line.own,
            line.own_variance,
            line.shared,
        )


@dataclass(frozen=True)
class Band:
    """The expected accuracy of a set of predictions and its band."""

    estimate: float
    lower: float
    upper: float
    sampling_sd: float
    calibration_sd: float


def accuracy_band(probabilities: Iterable[tuple[Probability, int]], level: float = BAND_LEVEL) -> Band | None:
    """Return the expected accuracy of predictions and its central `level` band, from (probability, how many) pairs."""
    return band_of_sums(
        (
            Sums(count, count * p.mean, count * p.mean * p.mean, p.own, p.own_variance, p.shared)
            for p, count in probabilities
        ),
        level,
    )


def band_of_sums(groups: Iterable[Sums], level: float = BAND_LEVEL) -> Band | None:
    """Return the expected accuracy of groups of predictions (their Σp and Σp²) and its central `level` band.

    The realised accuracy is (1/n) Σ Bernoulli(p_i): a Poisson-binomial count over n, of variance
    Σ p_i (1 − p_i) / n² = (Σp − Σp²) / n². The map's own uncertainty adds the variance of (1/n) Σ p_i:
    per posterior, (number of predictions that use it)² × its variance, the pooled bins' share
    weighted. Normal approximation, clipped to [0, 1]. None for no predictions.
    """
    n = 0
    totals: list[float] = []
    squares: list[float] = []
    own: dict[tuple[str, int], list[float]] = {}
    shared: dict[Any, list[float]] = {}
    for group in groups:
        if group.count <= 0:
            continue
        n += group.count
        totals.append(group.total)
        squares.append(group.squares)
        own.setdefault(group.own, [0.0, group.own_variance])[0] += group.count
        for key, weight, variance in group.shared:
            shared.setdefault(key, [0.0, variance])[0] += group.count * weight
    if n == 0:
        return None
    total = math.fsum(totals)
    mean = total / n
    # Σp − Σp² is Σp(1 − p) ≥ 0; rounding may take it a hair below.
    sampling = max(total - math.fsum(squares), 0.0)
    calibration = math.fsum(users * users * variance for users, variance in own.values()) + math.fsum(
        weight * weight * variance for weight, variance in shared.values()
    )
    sampling_sd, calibration_sd = math.sqrt(sampling) / n, math.sqrt(calibration) / n
    half = NormalDist().inv_cdf(0.5 + level / 2) * math.sqrt(sampling_sd**2 + calibration_sd**2)
    return Band(mean, max(0.0, mean - half), min(1.0, mean + half), sampling_sd, calibration_sd)


def precision_counts(confusion: Mapping[str, Mapping[str, int]]) -> dict[str, tuple[int, int]]:
    """Return, per predicted class, (validated predictions, correct ones) from confusion counts."""
    totals: dict[str, list[int]] = {}
    for true, row in confusion.items():
        for predicted, count in row.items():
            cell = totals.setdefault(predicted, [0, 0])
            cell[0] += count
            cell[1] += count if true == predicted else 0
    return {key: (n, c) for key, (n, c) in totals.items()}


def sum_tables(tables: Iterable[Mapping[str, Sequence[Sequence[int]]]]) -> Table:
    """Return the sum of calibration tables."""
    total: Table = {}
    for table in tables:
        total = add_tables(total, table)
    return total
