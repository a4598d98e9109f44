"""Local-day bucketing: which calendar day an instant falls on in the configured time zone."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta, tzinfo


def as_utc(instant: datetime) -> datetime:
    """Return `instant` as an aware UTC datetime; a naive one is taken as UTC, as BSON dates are."""
    if instant.tzinfo is None:
        return instant.replace(tzinfo=UTC)
    return instant.astimezone(UTC)


def local_day(instant: datetime, tz: tzinfo) -> date:
    """Return the calendar day on which `instant` falls in `tz`."""
    return as_utc(instant).astimezone(tz).date()


def day_start(day: date, tz: tzinfo) -> datetime:
    """Return the UTC instant at which local `day` begins in `tz`."""
    return datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)


def day_bounds(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """Return the half-open UTC interval [start, end) of local `day`; 23 or 25 hours long across DST."""
    return day_start(day, tz), day_start(day + timedelta(days=1), tz)


def range_bounds(first: date, last: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """Return the half-open UTC interval covering local days `first` to `last`, both included."""
    return day_start(first, tz), day_start(last + timedelta(days=1), tz)


def days_between(first: date, last: date) -> Iterator[date]:
    """Yield every day from `first` to `last`, both included."""
    for offset in range((last - first).days + 1):
        yield first + timedelta(days=offset)


def range_days(first: date, last: date) -> list[str]:
    """Return the days from `first` to `last` as ISO strings (YYYY-MM-DD), the history's day ids."""
    return [day.isoformat() for day in days_between(first, last)]


def today(tz: tzinfo, now: datetime | None = None) -> date:
    """Return the current local day in `tz` (or the day of `now`, for tests)."""
    return local_day(now or datetime.now(UTC), tz)


MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def short_day(day: str) -> str:
    """Return "Nov 23" for "2026-11-23", whatever the locale (what alerts and the verdict print)."""
    parsed = date.fromisoformat(day)
    return f"{MONTHS[parsed.month - 1]} {parsed.day}"
