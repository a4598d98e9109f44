"""The request parameters the views share: a date range (start_date, end_date) and an average, checked.

A bad value raises InvalidParameter, a 400 JSON answer (errors.py).
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from clara_common.metrics import AVERAGES
from clara_monitor.errors import InvalidParameter

DEFAULT_DAYS = 7
MAX_RANGE_DAYS = 366
# The years a request may name: wide enough for any real data, and far from the calendar's ends, where
# turning a day into an instant overflows.
FIRST_YEAR = 2000
LAST_YEAR = 2100
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_day(name: str, text: str | None) -> date | None:
    """Return the YYYY-MM-DD query parameter `name` as a date, None when absent."""
    if text is None or text == "":
        return None
    if not _DATE.fullmatch(text):
        raise InvalidParameter(f"{name} must be a date written YYYY-MM-DD, got {text[:40]!r}")
    try:
        day = date.fromisoformat(text)
    except ValueError as exc:
        raise InvalidParameter(f"{name} is not a calendar date: {text!r} ({exc})") from None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise InvalidParameter(f"{name} must be a date in the years {FIRST_YEAR} to {LAST_YEAR}, got {text}")
    return day


def requested_range(args: Any, current_day: date, default_days: int = DEFAULT_DAYS) -> tuple[date, date]:
    """Return the inclusive (start, end) asked for; the default is the last `default_days` days.

    A default start may fall before FIRST_YEAR: only the days a request names are held to the years.
    """
    start = parse_day("start_date", args.get("start_date"))
    end = parse_day("end_date", args.get("end_date"))
    if end is None:
        end = max(current_day, start) if start is not None else current_day
    if start is None:
        start = end - timedelta(days=default_days - 1)
    if start > end:
        raise InvalidParameter(f"start_date {start} is after end_date {end}")
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise InvalidParameter(
            f"the range {start} to {end} spans {(end - start).days + 1} days; at most {MAX_RANGE_DAYS} are allowed"
        )
    return start, end


def requested_average(args: Any) -> str:
    """Return the `average` query parameter, macro by default."""
    average = args.get("average", "macro") or "macro"
    if average not in AVERAGES:
        raise InvalidParameter(f"average must be one of {', '.join(AVERAGES)}, got {average[:40]!r}")
    return average
