"""The performance incidents' sequential tests, on days whose truth is planted (pure, no database)."""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import pytest
from scipy import stats

from clara_logger import performance
from clara_logger.performance import PerformanceSettings, Stream, judge

NAMES = {0: "yellow", 1: "green", 2: "green_point"}
SHARES = [0.6, 0.3, 0.1]
LOOK_ALIKE = {0: 1, 1: 2, 2: 1}
FIRST = date(2026, 1, 1)


def days_of(recalls_by_day, volume=300, seed=0, shares=SHARES):
    """Return (day, confusion) for each day: recalls_by_day(i) gives each class's recall on day i."""
    rng = np.random.default_rng(seed)
    days = []
    for i, recalls in enumerate(recalls_by_day):
        n = int(rng.poisson(volume))
        confusion: dict[int, dict[int, int]] = {}
        for true, count in enumerate(rng.multinomial(n, shares)):
            correct = int(rng.binomial(count, recalls[true]))
            confusion[true] = {true: correct, LOOK_ALIKE[true]: int(count - correct)}
        days.append(((FIRST + timedelta(days=i)).isoformat(), confusion))
    return days


def steady(count, recalls=(0.87, 0.87, 0.85)):
    return [recalls] * count


def test_the_reference_band_is_wilsons_interval():
    level = performance.reference_level(870, 1000, z=1.0)
    expected = stats.binomtest(870, 1000).proportion_ci(confidence_level=0.9, method="wilson")
    assert (level.low, level.high) == pytest.approx((expected.low, expected.high), abs=1e-4)
    assert level.value == 0.87 and level.tested == pytest.approx(0.87 - math.sqrt(0.87 * 0.13 / 1000))


def test_the_threshold_shares_the_false_alarm_rate_among_streams_and_designs():
    h = performance.threshold(15, 2, 0.5)
    assert math.exp(h) == pytest.approx(15 * 2 * 90 / 0.5)
    streams = performance.streams_of([0, 1, 2])
    found = performance.stream_thresholds(streams, PerformanceSettings(false_alarms_per_90_days=0.5))
    # Wald's bound: each stream's design expects at most 90 / e^h false alarms in 90 days; they add up to the budget.
    assert sum(2 * 90 / math.exp(h) for h in found.values()) == pytest.approx(0.5)
    assert found[Stream("accuracy", None)] < found[Stream("recall", 1)]


def test_quiet_streams_raise_false_alarms_at_no_more_than_the_rate_set():
    settings = PerformanceSettings(false_alarms_per_90_days=0.5)
    found = sum(len(judge(days_of(steady(104), seed=seed), NAMES, settings).incidents) for seed in range(40))
    # 40 deployments of 90 judged days: 20 false incidents expected at most by Wald's bound.
    assert found <= 20


def test_a_class_collapse_opens_one_incident_naming_the_class_its_onset_and_its_confusion():
    days = days_of(steady(44) + steady(30, (0.87, 0.45, 0.85)), seed=3)
    incidents = judge(days, NAMES, PerformanceSettings()).incidents
    green = [i for i in incidents if (i.metric, i.class_id) == ("recall", 1)]
    assert len(green) == 1
    onset = (FIRST + timedelta(days=44)).isoformat()
    assert green[0].since == onset and green[0].day <= (FIRST + timedelta(days=45)).isoformat()
    assert green[0].resolved_day is None and green[0].value == pytest.approx(0.45, abs=0.05)
    assert green[0].details["confusion"]["class"] == "green_point"
    assert green[0].text.startswith("green recall 87% → 4") and "mostly predicted as green_point" in green[0].text


def test_six_reviews_a_day_neither_alarm_on_noise_nor_hide_a_collapse():
    settings = PerformanceSettings()
    quiet = [judge(days_of(steady(104), volume=20, seed=s), NAMES, settings).incidents for s in range(10)]
    assert sum(len(found) for found in quiet) <= 2
    # green_point is 10% of 60 a day: about 6 reviews; its recall falls to 10% on day 44.
    collapsed = judge(days_of(steady(44) + steady(30, (0.87, 0.87, 0.10)), volume=60, seed=5), NAMES, settings)
    found = [i for i in collapsed.incidents if (i.metric, i.class_id) == ("recall", 2)]
    assert found and date.fromisoformat(found[0].day) <= FIRST + timedelta(days=44 + 4)


def test_a_recovery_resolves_the_incident_and_an_improvement_opens_none():
    days = days_of(steady(44) + steady(10, (0.87, 0.45, 0.85)) + steady(30), seed=4)
    green = [i for i in judge(days, NAMES, PerformanceSettings()).incidents if i.class_id == 1 and i.metric == "recall"]
    assert len(green) == 1 and green[0].resolved_day is not None
    assert FIRST + timedelta(days=54) <= date.fromisoformat(green[0].resolved_day) <= FIRST + timedelta(days=60)
    better = days_of(steady(44) + steady(40, (0.93, 0.93, 0.91)), seed=6)
    assert judge(better, NAMES, PerformanceSettings()).incidents == []


def test_nothing_is_judged_before_the_reference_window_is_complete():
    judgement = judge(days_of(steady(14)), NAMES, PerformanceSettings(reference_days=14))
    assert judgement.incidents == [] and judgement.references == {}


def test_the_optional_floor_opens_an_accuracy_incident_for_the_run_of_days_under_it():
    days = days_of(steady(20) + steady(3, (0.6, 0.6, 0.6)) + steady(5), seed=8)
    floor = performance.floor_incidents(days[14:], PerformanceSettings(floor=0.8))
    assert [(i.day, i.resolved_day) for i in floor] == [(days[20][0], days[23][0])]
    assert performance.floor_incidents(days[14:], PerformanceSettings()) == []


def test_streams_count_a_legacy_wrong_review_against_accuracy_and_precision_only():
    confusion = {0: {0: 8, 1: 2}, -1: {0: 5}}
    assert Stream("accuracy", None).counts(confusion) == (8, 15)
    assert Stream("precision", 0).counts(confusion) == (8, 13)
    assert Stream("recall", 0).counts(confusion) == (8, 10)


def test_a_stored_confusion_with_unreadable_cells_is_read_without_them():
    stored = {"0": {"0": 3, "1": "x", "2": True, "z": 4}, "1": [1, 2], "q": {"0": 1}, "2": {"2": -1}}
    assert performance.confusion_by_id(stored) == {0: {0: 3}}


def test_a_precision_incident_during_a_class_mix_shift_says_so():
    from clara_logger.incidents import Incident

    def episode(metric, since, resolved=None, kind="performance"):
        return Incident(kind, metric, None if kind == "drift" else 1, since, since, resolved, 0.5, 0.8, 10, metric)

    shift = episode("predicted_class", "2026-02-10", "2026-02-20", kind="drift")
    during, after = episode("precision", "2026-02-12"), episode("precision", "2026-02-21")
    recall = episode("recall", "2026-02-12")
    noted = performance.noting_mix_shifts([during, after, recall], [shift])
    assert noted[0].text.endswith(performance.MIX_SHIFT_NOTE) and noted[0].details["class_mix_shift"]
    assert noted[1:] == [after, recall]
