"""Performance incidents: sequential tests of accuracy, and of each class's recall and precision (pure).

Every stream is a daily count of successes out of trials: for accuracy the correct reviews out of all;
for a class's recall its correct reviews out of those whose true class it is; for its precision its
correct reviews out of those predicted as it. Each stream is compared with the model's own level over
the reference window (the first `reference_days` days of the history), not with one constant.

The test is a Bernoulli CUSUM (Page 1954) on the log-likelihood ratio of a lower level against the
reference level, run once per design shift (a small one for slow declines, a large one for collapses):

    S_t = max(0, S_{t-1} + k_t log(p1 / p0) + (n_t - k_t) log((1 - p1) / (1 - p0)))

A day's evidence weighs by its sample size: a day of 6 reviews moves S little, 300 reviews a lot. It is
divided by the stream's own day-to-day spread in the reference window (`dispersion`, never below 1), so
that the ordinary variation of real traffic (a day's class mix moves a precision) is not evidence. An
incident opens on the first day some S_t reaches h; its onset (`since`) is the first day with data after
the last day that S was 0, refined to the maximum-likelihood change point. The false-alarm rate is
controlled over every stream and design together: a CUSUM of log-likelihood ratios with threshold h
runs at least e^h days between false alarms (Wald's bound), so

    h = ln(streams x designs x 90 / budget)

keeps the expected false incidents of those streams under `budget` per 90 days while the reference is
right. The budget, `false_alarms_per_90_days`, is split: half to accuracy (which pools every review and
sees a slow decline of all classes first), half shared by the class streams. The reference itself is
estimated, so the test compares with its lower confidence bound (`reference_z` standard errors below),
which a stream with few reference reviews needs most.

Once open, a second CUSUM asks whether the stream is back: the reference level against the level seen
since the onset. It resolves the incident on the day it reaches `recovery_h`; the stream's test then
starts again from zero.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from clara_common import settings as common
from clara_common.contract import REJECTED_TRUE_CLASS
from clara_common.days import short_day
from clara_common.ledger.drift import SHARE_OF
from clara_logger.incidents import Incident

# A confusion table by ids: true class -> predicted class -> count (REJECTED_TRUE_CLASS: a legacy "wrong").
Confusion = Mapping[int, Mapping[int, int]]
ACCURACY, RECALL, PRECISION = "accuracy", "recall", "precision"


@dataclass(frozen=True)
class PerformanceSettings:
    """What decides a performance incident; the defaults are the ones bench/alerts.py measures."""

    reference_days: int = 14
    false_alarms_per_90_days: float = 0.5
    accuracy_share: float = 0.5  # of the false-alarm budget, for the accuracy stream (stream_thresholds)
    # Odds ratios of the lower levels each CUSUM looks for: a slow decline, and a collapse.
    design_odds_ratios: tuple[float, ...] = (0.7, 0.25)
    reference_z: float = 1.0
    recovery_h: float = math.log(100)
    min_reference_count: int = 30
    # An optional absolute floor for the day's accuracy (ALERT_MIN_ACCURACY), judged on days with
    # at least `floor_min_samples` reviews; None: no floor.
    floor: float | None = None
    floor_min_samples: int = common.ALERT_MIN_SAMPLES


@dataclass(frozen=True)
class Stream:
    """One monitored rate: the metric and the class it is of (None: the whole model)."""

    metric: str
    class_id: int | None

    def counts(self, confusion: Confusion) -> tuple[int, int]:
        """Return (successes, trials) of this stream in one confusion table."""
        if self.metric == ACCURACY:
            correct = sum(row.get(true, 0) for true, row in confusion.items())
            return correct, sum(sum(row.values()) for row in confusion.values())
        c = REJECTED_TRUE_CLASS if self.class_id is None else self.class_id
        correct = confusion.get(c, {}).get(c, 0)
        if self.metric == RECALL:
            return correct, sum(confusion.get(c, {}).values())
        return correct, sum(row.get(c, 0) for row in confusion.values())


@dataclass(frozen=True)
class Level:
    """A stream's reference level: the pooled rate of the reference window and its 90% band."""

    value: float
    low: float
    high: float
    count: int
    tested: float  # the level the test compares with: `reference_z` standard errors below `value`

    def to_document(self) -> dict[str, float | int]:
        return {"value": self.value, "low": self.low, "high": self.high, "count": self.count}


def reference_level(successes: int, trials: int, z: float) -> Level:
    """Return the level of `successes` out of `trials` with a 90% Wilson band."""
    p = successes / trials
    low, high = wilson(successes, trials, 1.6449)
    se = math.sqrt(max(p * (1 - p), 0.25 / trials) / trials)
    return Level(p, low, high, trials, min(max(p - z * se, 0.01), 0.99))


def wilson(successes: int, trials: int, z: float) -> tuple[float, float]:
    """Return the Wilson score interval of a proportion."""
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return max(0.0, centre - half), min(1.0, centre + half)


def lower_level(p0: float, odds_ratio: float) -> float:
    """Return the level whose odds are `odds_ratio` times those of p0."""
    odds = p0 / (1 - p0) * odds_ratio
    return odds / (1 + odds)


def dispersion(days: Sequence[tuple[int, int]]) -> float:
    """Return how much more daily (successes, trials) vary around their pooled rate than a binomial does.

    Pearson's dispersion statistic over the days with trials, never below 1: real traffic's days differ
    by more than sampling (a day's class mix moves a precision), and the tests must not take that for
    a change. Fewer than 5 days with trials: 1.
    """
    known = [(k, n) for k, n in days if n > 0]
    successes, trials = sum(k for k, _ in known), sum(n for _, n in known)
    if len(known) < 5 or successes in (0, trials):
        return 1.0
    p = successes / trials
    pearson = sum((k - n * p) ** 2 / (n * p * (1 - p)) for k, n in known)
    return max(1.0, pearson / (len(known) - 1))


def log_likelihood_ratio(successes: int, trials: int, p1: float, p0: float) -> float:
    """Return the log-likelihood ratio of level p1 against p0 for `successes` out of `trials`."""
    return successes * math.log(p1 / p0) + (trials - successes) * math.log((1 - p1) / (1 - p0))


def threshold(streams: int, designs: int, false_alarms_per_90_days: float) -> float:
    """Return the CUSUM threshold h that keeps all streams' false alarms under the rate (Wald: ARL0 >= e^h)."""
    return math.log(streams * designs * 90 / false_alarms_per_90_days)


@dataclass
class Episode:
    """One stream's incident, by the indices of its days: onset, opening, recovery's onset, resolution."""

    since: int
    opened: int
    end: int | None = None  # the last day of the degraded run (the day before the recovery began)
    resolved: int | None = None


@dataclass
class _Cusum:
    """One design's statistic, and the index of the first day with data after it was last 0."""

    p1: float
    value: float = 0.0
    start: int = 0


def stream_episodes(
    days: Sequence[tuple[str, Confusion]],
    stream: Stream,
    p0: float,
    h: float,
    settings: PerformanceSettings,
    spread: float = 1.0,
) -> list[Episode]:
    """Run one stream's tests over the days in order (tested against level p0); return its episodes.

    `spread` (at least 1): how much more the stream's days varied in the reference window than sampling
    makes them vary; each day's log-likelihood ratio is divided by it (a quasi-likelihood CUSUM).
    """
    fresh = [lower_level(p0, r) for r in settings.design_odds_ratios]
    designs = [_Cusum(p1) for p1 in fresh]
    episodes: list[Episode] = []
    current: Episode | None = None
    recovery = 0.0
    degraded = (0, 0)  # successes and trials from the onset to the last day before the recovery began
    for index, (_, confusion) in enumerate(days):
        k, n = stream.counts(confusion)
        if not n:
            continue
        if current is None:
            for design in designs:
                if design.value == 0.0:
                    design.start = index
                design.value = max(0.0, design.value + log_likelihood_ratio(k, n, design.p1, p0) / spread)
            crossed = [d for d in designs if d.value >= h]
            if crossed:
                since = likeliest_onset(days, stream, p0, min(d.start for d in crossed), index)
                current = Episode(since=since, opened=index)
                episodes.append(current)
                degraded = _totals(days[current.since : index + 1], stream)
                recovery = 0.0
            continue
        # Open: is the stream back at the reference level rather than at the level seen since the onset?
        level = degraded[0] / degraded[1] if degraded[1] else p0
        level = min(max(level, 1e-3), lower_level(p0, max(settings.design_odds_ratios)))
        if recovery == 0.0:
            current.end = index - 1
        recovery = max(0.0, recovery + log_likelihood_ratio(k, n, p0, level) / spread)
        if recovery == 0.0:
            degraded = (degraded[0] + k, degraded[1] + n)
        if recovery >= settings.recovery_h:
            current.resolved = index
            current = None
            designs = [_Cusum(p1) for p1 in fresh]
    if current is not None:
        current.end = None
    return episodes


def likeliest_onset(days: Sequence[tuple[str, Confusion]], stream: Stream, p0: float, first: int, last: int) -> int:
    """Return the onset, between the days `first` and `last`, that makes the days after it likeliest.

    For each candidate the days from it to `last` are taken at their own level against p0 (the
    maximum-likelihood change point); the CUSUMs' restarts only bound the candidates.
    """
    best, best_gain = first, -math.inf
    successes = trials = 0
    for index in range(last, first - 1, -1):
        k, n = stream.counts(days[index][1])
        successes, trials = successes + k, trials + n
        if not n:
            continue
        level = min(max(successes / trials, 1e-6), 1 - 1e-6)
        gain = log_likelihood_ratio(successes, trials, level, p0) if level < p0 else 0.0
        if gain >= best_gain:
            best, best_gain = index, gain
    return best


def _totals(days: Sequence[tuple[str, Confusion]], stream: Stream) -> tuple[int, int]:
    counts = [stream.counts(confusion) for _, confusion in days]
    return sum(k for k, _ in counts), sum(n for _, n in counts)


def error_cells(days: Sequence[tuple[str, Confusion]], stream: Stream) -> dict[tuple[int, int], int]:
    """Return the errors behind a stream's rate over some days: (true, predicted) cells off the diagonal."""
    cells: dict[tuple[int, int], int] = {}
    for _, confusion in days:
        for true, row in confusion.items():
            for predicted, n in row.items():
                if true == predicted or n <= 0 or not _counts_against(stream, true, predicted):
                    continue
                cells[(true, predicted)] = cells.get((true, predicted), 0) + n
    return cells


def _counts_against(stream: Stream, true: int, predicted: int) -> bool:
    if stream.metric == RECALL:
        return true == stream.class_id
    if stream.metric == PRECISION:
        return predicted == stream.class_id
    return True


def streams_of(class_ids: Sequence[int]) -> list[Stream]:
    """Return every stream watched: accuracy, then each class's recall and precision."""
    return [Stream(ACCURACY, None)] + [Stream(metric, c) for c in class_ids for metric in (RECALL, PRECISION)]


@dataclass(frozen=True)
class Judgement:
    """What the performance tests found: the incidents, and the reference levels they compared with."""

    incidents: list[Incident]
    references: dict[Stream, Level]
    reference_window: tuple[str, str] | None
    thresholds: dict[Stream, float]  # each stream's CUSUM threshold h


def judge(
    days: Sequence[tuple[str, Confusion]], class_names: Mapping[int, str], settings: PerformanceSettings
) -> Judgement:
    """Judge every stream over the history's days (oldest first, one entry per day with data).

    The first `reference_days` days are the reference; the days after them are judged in order.
    """
    if len(days) <= settings.reference_days:
        return Judgement([], {}, None, {})
    window, judged = days[: settings.reference_days], days[settings.reference_days :]
    references: dict[Stream, Level] = {}
    for stream in streams_of(list(class_names)):
        k, n = _totals(window, stream)
        if n >= settings.min_reference_count and k > 0:
            references[stream] = reference_level(k, n, settings.reference_z)
    thresholds = stream_thresholds(list(references), settings)
    incidents = []
    for stream, level in references.items():
        spread = dispersion([stream.counts(confusion) for _, confusion in window])
        for episode in stream_episodes(judged, stream, level.tested, thresholds[stream], settings, spread):
            incidents.append(describe(judged, stream, level, episode, class_names))
    incidents += floor_incidents(judged, settings)
    return Judgement(incidents, references, (window[0][0], window[-1][0]), thresholds)


ACCURACY_STREAM = Stream(ACCURACY, None)


def stream_thresholds(streams: Sequence[Stream], settings: PerformanceSettings) -> dict[Stream, float]:
    """Return each stream's CUSUM threshold: the false-alarm budget shared out, a fixed part to accuracy.

    Accuracy pools every review, so it is the stream that sees a slow decline of every class first;
    `accuracy_share` of the budget goes to it and the rest is shared evenly by the class streams
    (a weighted Bonferroni split: the expected false incidents of all streams still add up to the budget).
    """
    designs = len(settings.design_odds_ratios)
    budget = settings.false_alarms_per_90_days
    classes = [s for s in streams if s != ACCURACY_STREAM]
    share = settings.accuracy_share if classes else 1.0
    found = {s: threshold(len(classes), designs, budget * (1 - share)) for s in classes}
    if ACCURACY_STREAM in streams:
        found[ACCURACY_STREAM] = threshold(1, designs, budget * share if classes else budget)
    return found


def describe(
    days: Sequence[tuple[str, Confusion]],
    stream: Stream,
    level: Level,
    episode: Episode,
    class_names: Mapping[int, str],
) -> Incident:
    """Return the incident of one episode: its days, the level since the onset, and the main confusion."""
    last = episode.end if episode.end is not None else len(days) - 1
    run = days[episode.since : max(last, episode.opened) + 1]
    k, n = _totals(run, stream)
    value = k / n if n else None
    cells = error_cells(run, stream)
    confusion = None
    if cells:
        (true, predicted), count = max(cells.items(), key=lambda item: (item[1], -item[0][0], -item[0][1]))
        confusion = {
            "true_class": _name(true, class_names),
            "class": _name(predicted, class_names),
            "count": count,
            "text": _confusion_text(stream, true, predicted, count, class_names),
        }
    since = days[episode.since][0]
    subject = stream.metric if stream.class_id is None else f"{_name(stream.class_id, class_names)} {stream.metric}"
    text = f"{subject} {level.value:.0%} → {value or 0:.0%} since {short_day(since)}"
    if confusion:
        text += f" ({confusion['text']})"
    return Incident(
        kind="performance",
        metric=stream.metric,
        class_id=stream.class_id,
        day=days[episode.opened][0],
        since=since,
        resolved_day=days[episode.resolved][0] if episode.resolved is not None else None,
        value=value,
        reference=level.value,
        count=n,
        text=text,
        details={"reference_band": [level.low, level.high], "confusion": confusion, "rule": "cusum"},
    )


def _name(class_id: int, class_names: Mapping[int, str]) -> str:
    if class_id == REJECTED_TRUE_CLASS:
        return "rejected"
    return class_names.get(class_id, str(class_id))


def _confusion_text(stream: Stream, true: int, predicted: int, count: int, class_names: Mapping[int, str]) -> str:
    if stream.metric == RECALL:
        return f"mostly predicted as {_name(predicted, class_names)}, {count}"
    if stream.metric == PRECISION:
        return f"mostly {_name(true, class_names)} predicted as it, {count}"
    return f"mostly {_name(true, class_names)} predicted as {_name(predicted, class_names)}, {count}"


def floor_incidents(days: Sequence[tuple[str, Confusion]], settings: PerformanceSettings) -> list[Incident]:
    """Return the runs of days whose accuracy is under the absolute floor (ALERT_MIN_ACCURACY), if one is set."""
    if settings.floor is None:
        return []
    stream = Stream(ACCURACY, None)
    incidents: list[Incident] = []
    run: list[tuple[str, Confusion]] = []
    for day, confusion in days:
        k, n = stream.counts(confusion)
        if n < settings.floor_min_samples:
            continue
        if k / n < settings.floor:
            run.append((day, confusion))
            continue
        if run:
            incidents.append(_floor_incident(run, day, settings.floor))
            run = []
    if run:
        incidents.append(_floor_incident(run, None, settings.floor))
    return incidents


def _floor_incident(run: Sequence[tuple[str, Confusion]], resolved: str | None, floor: float) -> Incident:
    k, n = _totals(run, Stream(ACCURACY, None))
    return Incident(
        kind="performance",
        metric=ACCURACY,
        class_id=None,
        day=run[0][0],
        since=run[0][0],
        resolved_day=resolved,
        value=k / n,
        reference=floor,
        count=n,
        text=f"accuracy {k / n:.0%} under the floor of {floor:.0%} since {short_day(run[0][0])}",
        details={"rule": "floor"},
    )


def confusion_by_id(stored: Mapping[str, Mapping[str, int]]) -> dict[int, dict[int, int]]:
    """Return a history day's confusion (ids as strings) with integer ids; unreadable cells are left out."""
    table: dict[int, dict[int, int]] = {}
    for true, row in stored.items():
        if not isinstance(row, Mapping):
            continue
        for predicted, n in row.items():
            try:
                cell = (int(true), int(predicted))
            except (TypeError, ValueError):
                continue
            if isinstance(n, int) and not isinstance(n, bool) and n > 0:
                table.setdefault(cell[0], {})[cell[1]] = n
    return table


MIX_SHIFT_NOTE = " during a class-mix shift (precision moves with the class mix)"


def noting_mix_shifts(incidents: Sequence[Incident], notices: Sequence[Incident]) -> list[Incident]:
    """Return the incidents with each precision incident that overlaps a class-mix drift notice saying so.

    A class's precision depends on how often the other classes occur: when the mix shifts, precision can
    fall with every class's recall unchanged.
    """
    mix = [n for n in notices if n.metric in SHARE_OF]  # the features with class shares: the class mixes
    return [
        replace(incident, text=incident.text + MIX_SHIFT_NOTE, details={**incident.details, "class_mix_shift": True})
        if incident.metric == PRECISION and any(n.overlaps_days(incident) for n in mix)
        else incident
        for incident in incidents
    ]
