"""Traffic: the predictions made per local day of prediction time, how many have a verdict, how fast reviews come.

    GET /api/traffic?start_date&end_date   per day: predictions, reviewed, awaiting, median_review_hours, invalid

Served from the logger's traffic summary (`logger_traffic`, clara_common/traffic.py) as of its last
refresh (`as_of`): predictions made or reviewed since are not in it. Where no logger has written one
(`source: "predictions"`), the range's predictions are counted at the request through the `timestamp`
and `timestamp_validated` indexes, by the same function the logger counts with.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, request
from flask.typing import ResponseReturnValue

from clara_common import traffic
from clara_common.days import days_between, today
from clara_monitor import answers
from clara_monitor.context import monitor_context
from clara_monitor.ledger_state import ledger_state
from clara_monitor.params import requested_range

bp = Blueprint("traffic", __name__)

DAY_FIELDS = ("predictions", "reviewed", "awaiting", "median_review_hours", "invalid")


def traffic_day(day: str, document: Mapping[str, Any] | None) -> dict[str, Any]:
    """Return a day of the answer from its summary document (a day without one had no traffic)."""
    document = document or {}
    return {
        "day": day,
        **{name: document.get(name, None if name == "median_review_hours" else 0) for name in DAY_FIELDS},
    }


@bp.get("/api/traffic")
def traffic_days() -> ResponseReturnValue:
    """Return the predictions made per local day of the range: all, reviewed, awaiting, the median review delay."""
    context = monitor_context()
    settings = context.settings
    start, end = requested_range(request.args, today(settings.tz))
    as_of = traffic.summary_as_of(ledger_state(context.database, settings))
    if as_of is None:
        counted = traffic.count_days(context.predictions, start, end, settings.classes, settings.tz)
        documents = {day: found.document(day, datetime.now(UTC)) for day, found in counted.items()}
    else:
        documents = traffic.summary_days(context.database, start, end)
    return answers.answer(
        answers.Traffic.model_validate(
            {
                "start_date": start,
                "end_date": end,
                "timezone": settings.TIMEZONE,
                "days": [
                    traffic_day(day.isoformat(), documents.get(day.isoformat())) for day in days_between(start, end)
                ],
                "as_of": None if as_of is None else as_of.isoformat(),
                "source": "predictions" if as_of is None else "summary",
            }
        )
    )
