"""The JSON API: metrics for a date range, training-set counts, the date range with data, health.

The original CLARA dashboard's routes (/data, /training-data, /min-date) answer as aliases.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from clara_common.days import days_between, today
from clara_common.metrics import AVERAGES, class_scores, daily_summaries, summary, true_class_totals
from clara_monitor import get_db
from clara_monitor.errors import BadRequest
from clara_monitor.queries import cached_trained_counts, counts_frame


bp = Blueprint("api", __name__)

DEFAULT_DAYS = 7
MAX_RANGE_DAYS = 366
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_day(name: str, text: str | None) -> date | None:
    """Return the YYYY-MM-DD query parameter `name` as a date, None when absent."""
    if text is None or text == "":
        return None
    if not _DATE.fullmatch(text):
        raise BadRequest(f"{name} must be a date written YYYY-MM-DD, got {text[:40]!r}")
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise BadRequest(f"{name} is not a calendar date: {text!r} ({exc})") from None


def requested_range(args: Any, current_day: date) -> tuple[date, date]:
    """Return the inclusive (start, end) asked for; the default is the last DEFAULT_DAYS days."""
    start = parse_day("start_date", args.get("start_date"))
    end = parse_day("end_date", args.get("end_date"))
    if end is None:
        end = max(current_day, start) if start is not None else current_day
    if start is None:
        start = end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise BadRequest(f"start_date {start} is after end_date {end}")
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise BadRequest(
            f"the range {start} to {end} spans {(end - start).days + 1} days; at most {MAX_RANGE_DAYS} are allowed"
        )
    return start, end


def requested_average(args: Any) -> str:
    """Return the `average` query parameter, macro by default."""
    average = args.get("average", "macro") or "macro"
    if average not in AVERAGES:
        raise BadRequest(f"average must be one of {', '.join(AVERAGES)}, got {average[:40]!r}")
    return average


@bp.get("/api/metrics")
@bp.get("/data")
def metrics() -> ResponseReturnValue:
    """Return the metrics of a date range: overall, per day and per class."""
    context = get_db()
    settings, classes = context.settings, context.settings.classes
    start, end = requested_range(request.args, today(settings.tz))
    average = requested_average(request.args)
    days = context.cache.day_counts(start, end)
    counts = counts_frame(days)
    totals = true_class_totals(counts)
    scores = class_scores(counts)
    undefined = {"precision": None, "recall": None, "f1": None, "support": 0}
    overall = summary(counts, average)
    return jsonify(
        start_date=start.isoformat(),
        end_date=end.isoformat(),
        timezone=settings.TIMEZONE,
        average=average,
        total_validated=overall.pop("entries"),
        class_counts={c.name: totals.get(c.id, 0) for c in classes.classes},
        metrics=overall,
        daily_metrics=daily_summaries(counts, [d.isoformat() for d in days_between(start, end)], average),
        class_metrics={c.name: scores.get(c.id, undefined) for c in classes.classes},
        color_dict=classes.color_dict(),
        invalid_records=sum(d.invalid for d in days),
    )


@bp.get("/api/training-data")
@bp.get("/training-data")
def training_data() -> ResponseReturnValue:
    """Return the training set's class counts: the configured counts plus validated predictions marked trained."""
    context = get_db()
    settings, classes = context.settings, context.settings.classes
    trained = cached_trained_counts(
        context.predictions,
        context.cache.state,
        context.cache.key,
        classes,
        settings.TIMEZONE,
        timedelta(seconds=settings.MONITOR_TRAINING_CACHE_SECONDS),
    )
    configured = classes.training_counts()
    return jsonify(
        class_counts={c.name: configured[c.name] + trained.get(c.id, 0) for c in classes.classes},
        configured_counts=configured,
        trained_predictions={c.name: trained.get(c.id, 0) for c in classes.classes},
        color_dict=classes.color_dict(),
    )


@bp.get("/api/date-range")
@bp.get("/min-date")
def date_range() -> ResponseReturnValue:
    """Return the first and last local day with validated predictions (null and null when there are none)."""
    context = get_db()
    first, last = context.cache.day_bounds()
    return jsonify(
        min_date=first,
        max_date=last,
        today=today(context.settings.tz).isoformat(),
        timezone=context.settings.TIMEZONE,
    )


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """Answer while the process is up."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> ResponseReturnValue:
    """Answer 200 when the database answers a ping (a down database is a 503 from the error handler)."""
    get_db().client.admin.command("ping")
    return jsonify(status="ready")
