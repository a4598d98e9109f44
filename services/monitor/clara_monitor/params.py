"""The request parameters the views share: a date range (start_date, end_date) and an average, checked.

A bad value raises InvalidParameter, a 400 JSON answer (errors.py). RangeQuery and RangeAndAverageQuery declare
the same parameters for the OpenAPI document (openapi.py), from the same limits.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from clara_common.metrics import AVERAGES
from clara_monitor.errors import InvalidParameter

DEFAULT_DAYS = 7
MAX_RANGE_DAYS = 366
# The years a request may name: wide enough for any real data, and far from the calendar's ends, where
# turning a day into an instant overflows.
FIRST_YEAR = 2000
LAST_YEAR = 2100
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def year_pattern(first: int, last: int) -> str:
    """Return a regular expression of the four-digit years `first` to `last`, one alternative per decade."""
    decades = []
    for decade in range(first // 10, last // 10 + 1):
        low, high = max(first, decade * 10) % 10, min(last, decade * 10 + 9) % 10
        decades.append(f"{decade}[0-9]" if (low, high) == (0, 9) else f"{decade}[{low}-{high}]")
    return "|".join(decades)


# A day a request may name, YYYY-MM-DD in the years FIRST_YEAR to LAST_YEAR (parse_day's rule, but for the
# calendar: the 31st of any month matches), for the OpenAPI document.
DAY_PATTERN = f"^({year_pattern(FIRST_YEAR, LAST_YEAR)})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"


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


# -- the parameters as the OpenAPI document declares them -----------------------------------------------------

# The rule between start_date and end_date, which no JSON schema of one parameter can state (it depends on the
# other parameter and on today): openapi.py gives it, machine-readable, as each range operation's x-date-range.
RANGE_RULE = (
    f"A range may span at most {MAX_RANGE_DAYS} days, both included, and may not end before it starts: "
    "after the defaults, either is a 400. So start_date alone may be at most "
    f"{MAX_RANGE_DAYS - 1} days before today."
)
# An empty value is the default, as an absent one.
DayParameter = Annotated[str, Field(pattern=DAY_PATTERN, json_schema_extra={"format": "date"})] | Literal[""]


class RangeQuery(BaseModel):
    """The query of a route that answers for a date range (requested_range)."""

    start_date: DayParameter = Field(
        "",
        description=(
            f"first day of the range, YYYY-MM-DD, in the years {FIRST_YEAR} to {LAST_YEAR}; "
            f"default: {DEFAULT_DAYS - 1} days before end_date (on /data, the original's 7). {RANGE_RULE}"
        ),
    )
    end_date: DayParameter = Field(
        "",
        description=(
            f"last day of the range, included, YYYY-MM-DD, in the years {FIRST_YEAR} to {LAST_YEAR}; "
            f"default: today, or start_date when that is later. {RANGE_RULE}"
        ),
    )


class RangeAndAverageQuery(RangeQuery):
    """The query of a route that also averages scores over the classes (requested_average)."""

    average: Literal["macro", "weighted", "micro", ""] = Field(
        "macro", description="how precision, recall and F1 are averaged over the classes; empty: the default"
    )
