"""How often each alert rule is wrong, and how late it is right, on synthetic deployments with planted truth.

    .venv/bin/python bench/alerts.py [--runs 30] [--seed 7]

Each deployment is generated here, seeded: 14 reference days and then 90 judged days of reviewed
predictions of seven classes (the seed's class shares and look-alikes), about 300 a weekday and 40% of
that at weekends, with the class mix varying from day to day as real traffic does. On some deployments
nothing changes; on the others one thing is planted on judged day 30 (or a later one), so that every
alert is either a true detection or a false alarm.

Three rules judge the same days:
- "incidents": this release (clara_logger.performance, clara_logger.drift's windows and notices,
  clara_logger.traffic), run exactly as the logger runs them;
- "old": a day's accuracy under a fixed 80% (with at least 50 reviews), and drift on any of three
  uncorrected tests at p < 0.05 on the day alone, one alert per day;
- "3-sigma": a day's accuracy, or one class's recall or precision, more than three standard deviations
  of the reference days' daily values below their mean, one alert per day (and drift as "old").

The table gives, per scenario and rule: false performance, drift and traffic alerts per 90 days (before
the change, on a deployment with one), and for a planted change the share of runs that found it, the
median delay in days from the change to the first alert that names it (0: on the change's first day),
the median onset error (days between `since` and the change), and the median days from a recovery to
the incident's resolution, each with the worst run in brackets; for a drift-only change, how many
accuracy or recall incidents opened after it (there should be none).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from clara_common.ledger.drift import FEATURES  # noqa: E402
from clara_logger import drift, performance, traffic  # noqa: E402
from clara_logger.incidents import Incident  # noqa: E402

NAMES = ["yellow", "blue", "grey", "green", "brown", "green_point", "SIGRE"]
SHARES = np.array([0.25, 0.20, 0.18, 0.12, 0.11, 0.09, 0.05])
LOOK_ALIKE = {0: 2, 1: 2, 2: 0, 3: 5, 4: 2, 5: 3, 6: 0}
RECALLS = np.array([0.87, 0.86, 0.85, 0.87, 0.86, 0.85, 0.84])
HOURLY_WEIGHTS = np.array([1, 1, 1, 1, 1, 2, 4, 8, 12, 14, 14, 13, 10, 9, 12, 13, 12, 10, 8, 6, 4, 3, 2, 1], float)
REFERENCE_DAYS = 14
JUDGED_DAYS = 90
CHANGE_DAY = 30  # the judged day a planted change starts on
BINS = 20
FIRST_DAY = date(2026, 1, 5)  # a Monday


@dataclass
class World:
    """What is true on one day of a deployment."""

    volume: float = 300.0  # reviewed predictions a weekday
    shares: np.ndarray = field(default_factory=lambda: SHARES.copy())
    recalls: np.ndarray = field(default_factory=lambda: RECALLS.copy())
    confidence_shift: bool = False
    outage: bool = False


@dataclass(frozen=True)
class Scenario:
    """A deployment: how each judged day differs from the quiet world, and what a detection must name."""

    name: str
    world: Callable[[int], World]  # judged day index (negative: reference days) -> the truth
    expects: str  # "nothing", "performance", "drift", "traffic", "recovery"
    target: Callable[[Incident], bool] = lambda incident: True
    change_day: int = CHANGE_DAY
    recovery_day: int | None = None
    mix_noise: float = 0.15
    target_days: int | None = None  # issue 17's target: found (or resolved) within this many days


def quiet(volume: float = 300.0) -> Callable[[int], World]:
    return lambda day: World(volume=volume)


def collapse(cls: int, to: float, start: int = CHANGE_DAY, end: int | None = None) -> Callable[[int], World]:
    def world(day: int) -> World:
        w = World()
        if day >= start and (end is None or day < end):
            w.recalls[cls] = to
        return w

    return world


def gradual(per_day: float) -> Callable[[int], World]:
    def world(day: int) -> World:
        w = World()
        if day >= CHANGE_DAY:
            w.recalls = RECALLS - per_day * (day - CHANGE_DAY + 1)
        return w

    return world


def improvement(world_day: int) -> World:
    w = World()
    if world_day >= CHANGE_DAY:
        w.recalls = np.minimum(RECALLS + 0.06, 0.99)
    return w


def mix_shift(world_day: int) -> World:
    w = World()
    if world_day >= CHANGE_DAY:
        shares = SHARES.copy()
        shares[1] *= 2  # blue 20% -> 40% before renormalising the others
        others = [i for i in range(len(SHARES)) if i != 1]
        shares[others] *= (1 - shares[1]) / shares[others].sum()
        w.shares = shares
    return w


def confidence_shift(world_day: int) -> World:
    w = World()
    w.confidence_shift = world_day >= CHANGE_DAY
    return w


def outage(world_day: int) -> World:
    w = World()
    w.outage = CHANGE_DAY <= world_day < CHANGE_DAY + 2
    return w


def names_class(metric: str | None, cls: int) -> Callable[[Incident], bool]:
    return lambda i: i.kind == "performance" and i.class_id == cls and (metric is None or i.metric == metric)


SCENARIOS = [
    Scenario("stable, 300 a weekday", quiet(300), "nothing"),
    Scenario("stable, 80 a weekday", quiet(80), "nothing"),
    Scenario("stable, strong class-mix noise", quiet(300), "nothing", mix_noise=0.25),
    Scenario(
        "class collapse: green recall 87% -> 50%",
        collapse(3, 0.50),
        "performance",
        names_class("recall", 3),
        target_days=2,
    ),
    Scenario(
        "low-volume collapse: SIGRE (5%) 84% -> 40%",
        collapse(6, 0.40),
        "performance",
        names_class("recall", 6),
        target_days=4,
    ),
    Scenario(
        "gradual decline, 0.4 points a day",
        gradual(0.004),
        "performance",
        lambda i: i.kind == "performance",
        target_days=15,
    ),
    Scenario(
        "drop for 12 days, then recovery",
        collapse(3, 0.50, CHANGE_DAY, CHANGE_DAY + 12),
        "recovery",
        names_class("recall", 3),
        recovery_day=CHANGE_DAY + 12,
        target_days=6,  # resolved within this many days of the recovery
    ),
    Scenario("improvement after retraining (+6 points)", improvement, "nothing"),
    Scenario("class-mix shift: blue's share doubles", mix_shift, "drift", target_days=3),
    Scenario("confidence shift, same accuracy", confidence_shift, "drift", target_days=3),
    Scenario("two days without predictions", outage, "traffic", target_days=1),
]


# --- generation -------------------------------------------------------------------------------------------


def bin_probabilities(a: float, b: float) -> np.ndarray:
    edges = np.linspace(0, 1, BINS + 1)
    return np.diff(stats.beta.cdf(edges, a, b))


CONFIDENCE = {
    (True, False): bin_probabilities(9, 1.6),
    (False, False): bin_probabilities(3, 3),
    (True, True): bin_probabilities(5, 2.2),
    (False, True): bin_probabilities(2.5, 3.5),
}


def generate_day(rng: np.random.Generator, day: date, world: World, mix_noise: float) -> dict[str, Any]:
    """Return one day's history record (confusion by string ids, confidence histogram) and its hourly counts."""
    weekend = day.weekday() >= 5
    n = 0 if world.outage else int(rng.poisson(world.volume * (0.4 if weekend else 1.0)))
    shares = world.shares * rng.lognormal(0.0, mix_noise, len(NAMES))
    shares /= shares.sum()
    per_class = rng.multinomial(n, shares)
    confusion: dict[str, dict[str, int]] = {}
    histogram = np.zeros(BINS, int)
    for true, count in enumerate(per_class):
        if not count:
            continue
        correct = int(rng.binomial(count, min(max(world.recalls[true], 0.0), 1.0)))
        wrong = count - correct
        to_look_alike = int(rng.binomial(wrong, 0.7))
        others = [c for c in range(len(NAMES)) if c not in (true, LOOK_ALIKE[true])]
        row = {true: correct, LOOK_ALIKE[true]: to_look_alike}
        for other, m in zip(others, rng.multinomial(wrong - to_look_alike, [1 / len(others)] * len(others))):
            row[other] = row.get(other, 0) + int(m)
        confusion[str(true)] = {str(p): int(m) for p, m in row.items() if m}
        histogram += rng.multinomial(correct, CONFIDENCE[(True, world.confidence_shift)])
        histogram += rng.multinomial(wrong, CONFIDENCE[(False, world.confidence_shift)])
    hourly = rng.multinomial(n, HOURLY_WEIGHTS / HOURLY_WEIGHTS.sum()).tolist()
    reviews_hourly = rng.multinomial(n, HOURLY_WEIGHTS / HOURLY_WEIGHTS.sum()).tolist()  # reviewers keep office hours
    return {
        "_id": day.isoformat(),
        "count": n,
        "confusion": confusion,
        "confidence_histogram": histogram.tolist(),
        "hourly": hourly,
        "reviews_hourly": reviews_hourly,
    }


def deployment(scenario: Scenario, seed: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    days = []
    for index in range(REFERENCE_DAYS + JUDGED_DAYS):
        day = FIRST_DAY + timedelta(days=index)
        days.append(generate_day(rng, day, scenario.world(index - REFERENCE_DAYS), scenario.mix_noise))
    return days


# --- the rules ----------------------------------------------------------------------------------------------


@dataclass
class Alerts:
    """What one rule raised on one deployment: incidents (or day alerts), by kind."""

    performance: list[Incident] = field(default_factory=list)
    drift: list[Incident] = field(default_factory=list)
    traffic: list[Incident] = field(default_factory=list)


def incidents_rule(days: list[dict[str, Any]]) -> Alerts:
    """This release's rules, as the logger runs them."""
    names = dict(enumerate(NAMES))
    with_data = [d for d in days if d["count"]]
    judged = performance.judge(
        [(d["_id"], performance.confusion_by_id(d["confusion"])) for d in with_data],
        names,
        performance.PerformanceSettings(),
    )
    settings = drift.DriftSettings()
    return Alerts(judged.incidents, drift.notices(drift_days(with_data, settings)), traffic_incidents(days))


def drift_days(
    days: list[dict[str, Any]], settings: drift.DriftSettings, learned_dispersion: bool = True
) -> list[tuple[str, dict[str, Any]]]:
    """Return each day's drift results, each day judged on its window against the reference window."""
    reference = drift.reference_of(days[:REFERENCE_DAYS], list(range(len(NAMES))))
    if not learned_dispersion:  # the previous release took every day's variation for sampling alone
        del reference["dispersion"]
    judged = []
    for index in range(len(days)):
        window = days[max(0, index - settings.window_days + 1) : index + 1]
        judged.append(
            (days[index]["_id"], drift.evaluate_window(window, reference, list(range(len(NAMES))), NAMES, settings))
        )
    return judged


def traffic_incidents(days: list[dict[str, Any]]) -> list[Incident]:
    """Traffic incidents over the deployment's hourly counts of predictions and of reviews."""
    predictions = [n for day in days for n in day["hourly"]]
    reviews = [n for day in days for n in day["reviews_hourly"]]
    return traffic.silence_episodes(FIRST_DAY, predictions, reviews)


def day_alert(day: str, kind: str, metric: str, class_id: int | None = None) -> Incident:
    """Return a day alert of the old and 3-sigma rules: one day, opened and over."""
    return Incident(kind, metric, class_id, day, day, day, None, None, 0, f"{kind} {metric} {day}", {"day_alert": True})


def old_rule(days: list[dict[str, Any]]) -> Alerts:
    """A day's accuracy under 80% with at least 50 reviews; drift on any uncorrected test at p < 0.05."""
    alerts = Alerts()
    for day in days[REFERENCE_DAYS:]:
        k, n = performance.Stream("accuracy", None).counts(performance.confusion_by_id(day["confusion"]))
        if n >= 50 and k / n < 0.8:
            alerts.performance.append(day_alert(day["_id"], "performance", "accuracy"))
    alerts.drift = uncorrected_drift(days)
    return alerts


def uncorrected_drift(days: list[dict[str, Any]]) -> list[Incident]:
    """The previous release's drift: a day alone, three tests at p < 0.05 each, no effect size."""
    settings = drift.DriftSettings(p_value=0.05 * len(FEATURES), min_psi=0.0, window_days=1)
    found = []
    for day, results in drift_days([d for d in days if d["count"]], settings, learned_dispersion=False)[
        REFERENCE_DAYS:
    ]:
        features = drift.drifting_features(results)
        if features:
            found.append(day_alert(day, "drift", features[0]))
    return found


def three_sigma_rule(days: list[dict[str, Any]]) -> Alerts:
    """Each stream's daily value more than 3 standard deviations of the reference days below their mean."""
    alerts = Alerts()
    streams = performance.streams_of(list(range(len(NAMES))))
    tables = [performance.confusion_by_id(d["confusion"]) for d in days]
    for stream in streams:
        values = [_rate(stream, t) for t in tables[:REFERENCE_DAYS]]
        known = [v for v in values if v is not None]
        if len(known) < 3:
            continue
        mean, sd = statistics.fmean(known), statistics.stdev(known)
        for day, table in zip(days[REFERENCE_DAYS:], tables[REFERENCE_DAYS:]):
            value = _rate(stream, table)
            if value is not None and value < mean - 3 * sd:
                alerts.performance.append(day_alert(day["_id"], "performance", stream.metric, stream.class_id))
    alerts.drift = uncorrected_drift(days)
    return alerts


def _rate(stream: performance.Stream, table: performance.Confusion) -> float | None:
    k, n = stream.counts(table)
    return k / n if n else None


RULES: dict[str, Callable[[list[dict[str, Any]]], Alerts]] = {
    "incidents": incidents_rule,
    "old": old_rule,
    "3-sigma": three_sigma_rule,
}


# --- scoring ------------------------------------------------------------------------------------------------


def index_of(day: str) -> int:
    """Return the judged day index of a day."""
    return (date.fromisoformat(day) - FIRST_DAY).days - REFERENCE_DAYS


@dataclass
class Score:
    false_performance: list[int] = field(default_factory=list)
    false_drift: list[int] = field(default_factory=list)
    false_traffic: list[int] = field(default_factory=list)
    found: list[bool] = field(default_factory=list)
    delays: list[int] = field(default_factory=list)
    onset_errors: list[int] = field(default_factory=list)
    resolve_delays: list[int] = field(default_factory=list)
    wrong_kind: list[int] = field(default_factory=list)  # accuracy/recall incidents during a drift-only change
    on_time: list[bool] = field(default_factory=list)  # found (or resolved) within the scenario's target


def score(scenario: Scenario, alerts: Alerts, total: Score) -> None:
    """Add one deployment's alerts to the scenario's score."""
    change = scenario.change_day
    before = lambda incidents: [i for i in incidents if index_of(i.day) < change]  # noqa: E731
    if scenario.expects == "nothing":
        total.false_performance.append(len(alerts.performance))
        total.false_drift.append(len(alerts.drift))
        total.false_traffic.append(len(alerts.traffic))
        return
    total.false_performance.append(len(before(alerts.performance)))
    total.false_drift.append(len(before(alerts.drift)))
    total.false_traffic.append(len(before(alerts.traffic)))
    pool = {
        "performance": alerts.performance,
        "recovery": alerts.performance,
        "drift": alerts.drift,
        "traffic": alerts.traffic,
    }[scenario.expects]
    hits = sorted((i for i in pool if index_of(i.day) >= change and scenario.target(i)), key=lambda i: index_of(i.day))
    total.found.append(bool(hits))
    if not hits:
        total.on_time.append(False)
    if hits:
        first = hits[0]
        total.delays.append(index_of(first.day) - change)  # 0: opened on the change's first day
        total.onset_errors.append(abs(index_of(first.since) - change))
        if scenario.recovery_day is not None and first.details.get("day_alert"):
            return  # a day alert (old, 3-sigma) has no resolution to measure
        if scenario.recovery_day is not None and first.resolved_day is not None:
            total.resolve_delays.append(index_of(first.resolved_day) - scenario.recovery_day)
        elif scenario.recovery_day is not None:
            total.resolve_delays.append(JUDGED_DAYS - scenario.recovery_day)  # never resolved
        if scenario.target_days is not None:
            late = total.resolve_delays[-1] if scenario.recovery_day is not None else total.delays[-1]
            total.on_time.append(late <= scenario.target_days)
    if scenario.expects == "drift":
        total.wrong_kind.append(
            sum(1 for i in alerts.performance if index_of(i.day) >= change and i.metric in ("accuracy", "recall"))
        )


def per_90(values: Sequence[int], days: int) -> str:
    return f"{statistics.fmean(values) * 90 / days:.2f}" if values else "–"


def median(values: Sequence[int]) -> str:
    """Return "median (worst)" of some delays, or a dash."""
    return f"{statistics.median(values):g} ({max(values)})" if values else "–"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="deployments per scenario")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--scenario", action="append", help="only scenarios whose name contains this")
    args = parser.parse_args(argv)
    print(
        f"{args.runs} deployments per scenario, {REFERENCE_DAYS} reference + {JUDGED_DAYS} judged days, "
        f"changes from judged day {CHANGE_DAY}; seed {args.seed}\n"
    )
    header = (
        "| scenario | rule | false perf. / 90 d | false drift / 90 d | false traffic / 90 d | found "
        "| delay (d) | onset error (d) | resolved after (d) | within target | acc./recall incidents |"
    )
    print(header)
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for number, scenario in enumerate(SCENARIOS):
        if args.scenario and not any(part in scenario.name for part in args.scenario):
            continue
        scores = {rule: Score() for rule in RULES}
        for run in range(args.runs):
            days = deployment(scenario, args.seed * 100_000 + number * 1000 + run)
            for rule, judge in RULES.items():
                score(scenario, judge(days), scores[rule])
        quiet_days = JUDGED_DAYS if scenario.expects == "nothing" else scenario.change_day
        for rule, s in scores.items():
            found = f"{sum(s.found)}/{len(s.found)}" if s.found else "–"
            wrong = f"{statistics.fmean(s.wrong_kind):.2f}" if s.wrong_kind else "–"
            target = f" ({scenario.target_days} d)" if scenario.target_days is not None else ""
            on_time = f"{sum(s.on_time)}/{len(s.on_time)}{target}" if s.on_time else "–"
            print(
                f"| {scenario.name} | {rule} | {per_90(s.false_performance, quiet_days)} "
                f"| {per_90(s.false_drift, quiet_days)} | {per_90(s.false_traffic, quiet_days)} | {found} "
                f"| {median(s.delays)} | {median(s.onset_errors)} | {median(s.resolve_delays)} | {on_time} | {wrong} |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
