"""Local-day bucketing across time zones and daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from clara_common.days import day_bounds, days_between, local_day, range_bounds, today

UTC = UTC
MADRID = ZoneInfo("Europe/Madrid")


def test_an_instant_falls_on_its_local_day() -> None:
    late_evening_utc = datetime(2026, 6, 30, 22, 30, tzinfo=UTC)
    assert local_day(late_evening_utc, UTC) == date(2026, 6, 30)
    assert local_day(late_evening_utc, MADRID) == date(2026, 7, 1)


def test_naive_instants_are_utc_like_bson_dates() -> None:
    assert local_day(datetime(2026, 6, 30, 22, 30), MADRID) == date(2026, 7, 1)


def test_day_bounds_follow_daylight_saving() -> None:
    spring_start, spring_end = day_bounds(date(2026, 3, 29), MADRID)
    autumn_start, autumn_end = day_bounds(date(2026, 10, 25), MADRID)
    assert spring_end - spring_start == timedelta(hours=23)
    assert autumn_end - autumn_start == timedelta(hours=25)
    assert spring_start == datetime(2026, 3, 28, 23, 0, tzinfo=UTC)


def test_every_instant_of_a_day_maps_back_to_it() -> None:
    start, end = day_bounds(date(2026, 10, 25), MADRID)
    instant = start
    while instant < end:
        assert local_day(instant, MADRID) == date(2026, 10, 25)
        instant += timedelta(minutes=17)
    assert local_day(end, MADRID) == date(2026, 10, 26)


def test_range_bounds_include_both_days() -> None:
    start, end = range_bounds(date(2026, 1, 1), date(2026, 1, 3), UTC)
    assert (start, end) == (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 4, tzinfo=UTC))


def test_days_between_is_inclusive_and_empty_when_reversed() -> None:
    assert list(days_between(date(2026, 2, 27), date(2026, 3, 1))) == [
        date(2026, 2, 27),
        date(2026, 2, 28),
        date(2026, 3, 1),
    ]
    assert list(days_between(date(2026, 3, 1), date(2026, 2, 27))) == []


def test_today_is_the_local_day_of_now() -> None:
    assert today(MADRID, now=datetime(2026, 12, 31, 23, 30, tzinfo=UTC)) == date(2027, 1, 1)
