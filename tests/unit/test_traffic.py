"""The traffic detector on synthetic hourly counts: outages found soon, quiet nights and weekends left alone."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from clara_common.traffic import DayTraffic
from clara_logger.settings import LoggerSettings
from clara_logger.traffic import (
    DEFAULT_ALPHA,
    PREDICTIONS,
    REVIEWS,
    expected_count,
    judge_silence,
    learned_rates,
    silence_episodes,
)
from clara_seed.generator import HOURLY_WEIGHTS

FIRST_DAY = date(2026, 1, 5)  # a Monday


def steady(days: int, per_hour: float, seed: int) -> list[int]:
    """Return Poisson hourly counts at one rate day and night."""
    return [int(n) for n in np.random.default_rng(seed).poisson(per_hour, days * 24)]


def office(days: int, per_weekday: float, weekend_share: float, seed: int, first_day: date = FIRST_DAY) -> list[int]:
    """Return hourly counts of a working-hours deployment: per_weekday a weekday, weekend_share of it at weekends."""
    rng = np.random.default_rng(seed)
    weights = np.array(HOURLY_WEIGHTS) / sum(HOURLY_WEIGHTS)
    counts: list[int] = []
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        mean = per_weekday * (weekend_share if day.weekday() >= 5 else 1.0)
        counts += [int(n) for n in rng.poisson(mean * weights)]
    return counts


def silenced(counts: list[int], first_hour: int, hours: int) -> list[int]:
    return counts[:first_hour] + [0] * hours + counts[first_hour + hours :]


def test_predictions_every_few_minutes_that_stopped_8_hours_ago_open_an_incident() -> None:
    counts = steady(31, 12.0, seed=1)
    stop = 30 * 24 + 10  # 10:00 on day 31; the counts end 8 hours later
    counts = counts[:stop] + [0] * 8
    found = silence_episodes(FIRST_DAY, counts, [0] * len(counts))
    assert [(i.metric, i.status) for i in found] == [(PREDICTIONS, "open")]
    assert found[0].since == found[0].day == (FIRST_DAY + timedelta(days=30)).isoformat()
    assert found[0].details["silent_hours"] == 8
    assert found[0].reference == pytest.approx(96, rel=0.25)


def test_two_days_without_predictions_open_an_incident_on_the_first_or_second_of_them() -> None:
    for seed in range(10):
        counts = office(56, 300, 0.4, seed)
        outage_day = 40 + seed % 7  # every weekday and weekend day in turn
        counts = silenced(counts, outage_day * 24, 48)
        found = silence_episodes(FIRST_DAY, counts, [0] * len(counts))
        assert len(found) == 1, (seed, [i.text for i in found])
        silent_days = {(FIRST_DAY + timedelta(days=outage_day + k)).isoformat() for k in (0, 1)}
        assert found[0].day in silent_days, seed
        assert found[0].resolved_day == (FIRST_DAY + timedelta(days=outage_day + 2)).isoformat()
        assert found[0].since <= found[0].day


@pytest.mark.parametrize(
    "counts",
    [
        pytest.param(lambda seed: office(120, 300, 0.4, seed), id="300 a weekday, 40% at weekends"),
        pytest.param(lambda seed: office(120, 60, 0.4, seed), id="60 a weekday"),
        pytest.param(lambda seed: steady(120, 12.0, seed), id="every few minutes"),
        pytest.param(lambda seed: steady(120, 0.5, seed), id="one every two hours"),
    ],
)
def test_quiet_deployments_raise_no_traffic_incident(counts) -> None:
    # 8 deployments x 120 days: the false-alarm target (<= 1 per 90 days) expects about 0.3 at most.
    for seed in range(8):
        predictions = counts(seed)
        assert silence_episodes(FIRST_DAY, predictions, predictions) == [], seed


def test_nights_and_weekends_without_any_prediction_are_learned() -> None:
    # Only Monday to Friday, 8:00 to 18:00: every night and weekend is silent, and that is normal.
    counts = [
        int(n) if (d % 7 < 5 and 8 <= h < 18) else 0
        for d in range(120)
        for h, n in zip(range(24), np.random.default_rng(d).poisson(20, 24))
    ]
    assert silence_episodes(FIRST_DAY, counts, [0] * len(counts)) == []
    # A Monday with no one at work is not.
    found = silence_episodes(FIRST_DAY, silenced(counts, 70 * 24, 24), [0] * len(counts))
    assert [(i.metric, i.day) for i in found] == [(PREDICTIONS, (FIRST_DAY + timedelta(days=70)).isoformat())]


def test_nothing_is_judged_before_seven_days_of_history() -> None:
    counts = steady(6, 12.0, seed=3) + [0] * 48
    assert silence_episodes(FIRST_DAY, counts, [0] * len(counts)) == []
    assert learned_rates(counts, FIRST_DAY, 0, 6 * 24) is None
    assert learned_rates(steady(8, 12.0, seed=3), FIRST_DAY, 0, 7 * 24) is not None


def test_rates_are_learned_per_hour_of_week_over_four_weeks() -> None:
    # Five weeks; only the last four teach, and Tuesday 10:00 differs from Monday 10:00.
    counts = [0] * (35 * 24)
    for week in range(5):
        counts[week * 168 + 10] = 100 if week == 0 else 4  # Mondays 10:00 (the first week forgotten)
        counts[week * 168 + 24 + 10] = 8  # Tuesdays 10:00
    rates = learned_rates(counts, FIRST_DAY, 0, 35 * 24)
    assert rates is not None and rates[10] == 4 and rates[34] == 8 and rates[11] == 0
    assert expected_count(rates, FIRST_DAY, 9.5, 10.5) == pytest.approx(2.0)


def test_reviews_that_stop_while_predictions_go_on_open_a_reviews_incident() -> None:
    predictions = office(56, 300, 0.4, seed=7)
    reviews = office(56, 200, 0.4, seed=8)
    stop = 45 * 24  # reviews stop on day 45 for three days, predictions go on
    found = silence_episodes(FIRST_DAY, predictions, silenced(reviews, stop, 72))
    assert [i.metric for i in found] == [REVIEWS]
    assert found[0].day in {(FIRST_DAY + timedelta(days=45 + k)).isoformat() for k in (0, 1)}
    assert found[0].resolved_day == (FIRST_DAY + timedelta(days=48)).isoformat()
    assert "while predictions go on" in found[0].text


def test_reviews_that_stop_with_the_predictions_are_explained_by_them() -> None:
    predictions, reviews = office(56, 300, 0.4, seed=9), office(56, 200, 0.4, seed=10)
    stop = 45 * 24
    found = silence_episodes(FIRST_DAY, silenced(predictions, stop, 48), silenced(reviews, stop, 48))
    assert [i.metric for i in found] == [PREDICTIONS]


def test_alpha_sets_the_expected_count_a_silence_must_exceed() -> None:
    counts = steady(31, 12.0, seed=11)[: 30 * 24] + [0] * 3
    # 3 silent hours expect about 36 predictions: implausible at alpha 1e-6 (13.8), not at 1e-20 (46).
    assert len(silence_episodes(FIRST_DAY, counts, [0] * len(counts), alpha=DEFAULT_ALPHA)) == 1
    assert silence_episodes(FIRST_DAY, counts, [0] * len(counts), alpha=1e-20) == []
    assert math.log(1 / DEFAULT_ALPHA) == pytest.approx(13.8, abs=0.05)


def summary_days(counts: list[int], first_day: date) -> dict[str, dict[str, list[int]]]:
    """Return hourly counts as the traffic summary's documents."""
    now = datetime.now(UTC)
    return {
        (first_day + timedelta(days=d)).isoformat(): DayTraffic(
            predictions_by_hour=counts[d * 24 : d * 24 + 24]
        ).document("", now)
        for d in range(len(counts) // 24)
    }


def test_the_live_check_judges_the_silence_since_the_last_prediction_to_the_minute() -> None:
    logger = LoggerSettings.from_env({})
    now = datetime(2026, 2, 5, 18, 0, tzinfo=UTC)
    first_day = now.date() - timedelta(days=31)
    counts = steady(31, 12.0, seed=12) + [0] * 24
    last_at = now - timedelta(hours=8)
    counts[31 * 24 + 10] = 5  # the last predictions, 10:00 to 10:00 on the last day
    counts = counts[: 31 * 24 + 11] + [0] * (len(counts) - 31 * 24 - 11)
    days = summary_days(counts, first_day)
    silence = judge_silence(PREDICTIONS, last_at, now, days, first_day, logger)
    assert silence.abnormal_at is not None and silence.abnormal_at - last_at < timedelta(hours=1.5)
    assert silence.expected == pytest.approx(96, rel=0.25)
    # Half an hour of silence is not an outage; a week of history is needed.
    assert judge_silence(PREDICTIONS, now - timedelta(minutes=30), now, days, first_day, logger).abnormal_at is None
    young = judge_silence(PREDICTIONS, last_at, now, days, now.date() - timedelta(days=3), logger)
    assert young.abnormal_at is None
