"""Calibration and estimated accuracy before review: two routes served from the logger's history.

    GET /api/calibration             reliability diagram and ECE of a range (history days of validation)
    GET /api/estimated-performance   per day of prediction, the expected accuracy of the predictions not
                                     reviewed yet, with a 90% band, beside the realised accuracy

Both read the history's `calibration` tables (clara_common/calibration.py has the arithmetic): they
answer as of the logger's last tick (`as_of`), without the not-yet-logged tail. A history day written
before the tables existed has none until `clara-logger --reconcile` recounts it: such days are listed
in `days_without_bins` and left out, never guessed. The unreviewed predictions are read from the
predictions collection through the (timestamp_validated, timestamp) index and judged by the record
contract (`parse_prediction`).

The unreviewed predictions come from the logger's summary (`logger_unreviewed`, clara_common/unreviewed.py:
per day of prediction, per class and confidence bin, n, Σ confidence and Σ confidence²), as of its
last refresh (`unreviewed_as_of`): predictions made, or reviewed, since then are not in it. The map is
linear in confidence within a bin, so Σp = a·n + b·Σc and Σp² = a²n + 2ab·Σc + b²·Σc² per bin give the
same estimate and Poisson-binomial variance as a sum over the predictions. Where no logger has written
a summary (`unreviewed_source: "predictions"`), the predictions themselves are read at the request,
one by one: the reference computation, slower as they grow (see docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, request
from flask.typing import ResponseReturnValue
from pymongo.database import Database

from clara_common import calibration
from clara_common.days import days_between, today
from clara_common.db import Document
from clara_common.metrics import accuracy
from clara_monitor import answers
from clara_monitor.accuracy_estimates import fitted_map, has_bins, history_days, unreviewed_estimates
from clara_monitor.context import monitor_context
from clara_monitor.ledger_state import ledger_state
from clara_monitor.params import requested_range
from clara_monitor.settings import MonitorSettings

bp = Blueprint("estimate", __name__)

SOURCE_NOTE = (
    "served from the logger's history as of its last tick (as_of): predictions validated since are not included"
)
UNREVIEWED_NOTE = {
    "summary": "the unreviewed predictions are the logger's summary as of unreviewed_as_of: predictions made or "
    "reviewed since are not included",
    "predictions": "no logger has written the unreviewed summary yet: the unreviewed predictions were read from "
    "the predictions collection at this request",
}


def without_bins(days: Iterable[dict[str, Any]]) -> list[str]:
    """Return the days with validated predictions but no calibration table (written before it existed)."""
    return [day["_id"] for day in days if not has_bins(day) and day.get("count", 0)]


def tick_finished(ledger: Mapping[str, Any] | None) -> str | None:
    """Return when the logger last finished a tick (None: never)."""
    finished = ((ledger or {}).get("last_tick") or {}).get("finished_at")
    return finished.isoformat() if isinstance(finished, datetime) else None


def ledger_as_of(database: Database[Document], settings: MonitorSettings) -> str | None:
    """Return when the logger last finished a tick (None: never), refusing a history of another time zone."""
    return tick_finished(ledger_state(database, settings))


@bp.get("/api/calibration")
def calibration_curve() -> ResponseReturnValue:
    """Return a range's reliability diagram: per confidence bin its count, mean confidence and accuracy; and the ECE."""
    context = monitor_context()
    settings = context.settings
    start, end = requested_range(request.args, today(settings.tz))
    as_of = ledger_as_of(context.database, settings)
    days = history_days(context.database, start, end)
    binned = [day for day in days if has_bins(day)]
    bins = calibration.pooled(calibration.sum_tables(day["calibration"] for day in binned))
    missing = without_bins(days)
    return answers.answer(
        answers.Calibration.model_validate(
            {
                "start_date": start,
                "end_date": end,
                "timezone": settings.TIMEZONE,
                "bins": calibration.reliability(bins),
                "ece": calibration.expected_calibration_error(bins),
                "with_confidence": sum(cell[0] for cell in bins),
                "without_confidence": sum(day.get("confidence_missing", 0) for day in binned),
                "days_without_bins": missing,
                "validated_without_bins": sum(day.get("count", 0) for day in days if day["_id"] in missing),
                "as_of": as_of,
                "source": SOURCE_NOTE,
            }
        )
    )


def realised(day: dict[str, Any] | None) -> tuple[float | None, int]:
    """Return a history day's accuracy (None without validated predictions) and its validated count."""
    if not day or not day.get("count"):
        return None, 0
    confusion = day.get("confusion") or {}
    correct = sum(row.get(true, 0) for true, row in confusion.items())
    return accuracy(correct, day["count"]), day["count"]


def estimated(count: int, band: calibration.Band | None) -> dict[str, Any]:
    """Return how many predictions await review, their expected accuracy and its band (None: no predictions)."""
    return {
        "unreviewed": count,
        "estimated_accuracy": band.estimate if band else None,
        "lower": band.lower if band else None,
        "upper": band.upper if band else None,
    }


@bp.get("/api/estimated-performance")
def estimated_performance() -> ResponseReturnValue:
    """Return, per day of prediction and over the range, the expected accuracy of unreviewed predictions and its band.

    The band is 90% (band_level); the range's `total` is computed from all its predictions together.
    """
    context = monitor_context()
    settings = context.settings
    current = today(settings.tz)
    start, end = requested_range(request.args, current)
    ledger = ledger_state(context.database, settings)
    window_first = current - timedelta(days=settings.ESTIMATE_CALIBRATION_DAYS - 1)
    if start <= current + timedelta(days=1) and end >= window_first - timedelta(days=1):
        # The range meets the calibration window (the usual case: both end today): one read of the history.
        read = history_days(context.database, min(start, window_first), max(end, current))
        fitted, window_first, window = fitted_map(context.database, settings, current, read)
        history = {day["_id"]: day for day in read if start.isoformat() <= day["_id"] <= end.isoformat()}
    else:
        fitted, window_first, window = fitted_map(context.database, settings, current)
        history = {day["_id"]: day for day in history_days(context.database, start, end)}
    found = unreviewed_estimates(context.database, context.predictions, fitted, start, end, settings, ledger)
    answer_days = []
    for day in days_between(start, end):
        name = day.isoformat()
        accuracy, validated = realised(history.get(name))
        answer_days.append(
            {
                "day": name,
                **estimated(*found.days.get(name, (0, None))),
                "realised_accuracy": accuracy,
                "validated": validated,
            }
        )
    return answers.answer(
        answers.EstimatedPerformance.model_validate(
            {
                "start_date": start,
                "end_date": end,
                "timezone": settings.TIMEZONE,
                "days": answer_days,
                "total": estimated(*found.total),
                "calibration_window": {
                    "start_date": window_first,
                    "end_date": current,
                    "days": settings.ESTIMATE_CALIBRATION_DAYS,
                    "validated_with_confidence": fitted.validated,
                    "days_without_bins": without_bins(window),
                },
                "band_level": calibration.BAND_LEVEL,
                "invalid_unreviewed": found.invalid,
                "as_of": tick_finished(ledger),
                "unreviewed_as_of": found.as_of,
                "unreviewed_source": found.source,
                "source": f"{SOURCE_NOTE}; {UNREVIEWED_NOTE[found.source]}",
            }
        )
    )
