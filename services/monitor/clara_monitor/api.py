"""The JSON API: metrics, drift, alerts and the confusion matrix of a date range; training-set counts;
the date range with data; the ledger's status; health.

Every count comes from the logger's history plus the tail it has not logged yet (reader.py).
The original CLARA dashboard's routes (/data, /training-data, /min-date) are original.py's.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import polars as pl
from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from clara_common.contract import REJECTED_TRUE_CLASS
from clara_common.days import today
from clara_common.ledger import ALERTS_COLLECTION
from clara_common.metrics import AVERAGES, class_scores, daily_summaries, label_table, summary, true_class_totals
from clara_monitor import MonitorContext, incidents, monitor_context
from clara_monitor.errors import InvalidParameter
from clara_monitor.reader import RangeCounts, day_bounds, range_days, status

bp = Blueprint("api", __name__)

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


def counts_for(context: MonitorContext, default_days: int = DEFAULT_DAYS) -> tuple[date, date, RangeCounts]:
    """Return the range the request asks for (the last `default_days` days by default) and its counts."""
    start, end = requested_range(request.args, today(context.settings.tz), default_days)
    return start, end, context.read_range(start, end)


@bp.get("/api/metrics")
def metrics() -> ResponseReturnValue:
    """Return the metrics of a date range: overall, per day and per class, and the ledger's status."""
    return jsonify(range_metrics(monitor_context()))


def range_metrics(context: MonitorContext) -> dict[str, Any]:
    """Return /api/metrics' answer for the request's range and average (the CSV exports are cut from it)."""
    settings, classes = context.settings, context.settings.classes
    average = requested_average(request.args)
    start, end, read = counts_for(context)

    def computed() -> dict[str, Any]:
        counts = read.counts
        totals = true_class_totals(counts)
        scores = class_scores(counts)
        undefined = {"precision": None, "recall": None, "f1": None, "support": 0}
        overall = summary(counts, average)
        return dict(
            total_validated=overall.pop("entries"),
            class_counts={c.name: totals.get(c.id, 0) for c in classes.classes},
            metrics=overall,
            daily_metrics=daily_summaries(counts, range_days(start, end), average),
            class_metrics={c.name: scores.get(c.id, undefined) for c in classes.classes},
        )

    return dict(
        start_date=start.isoformat(),
        end_date=end.isoformat(),
        timezone=settings.TIMEZONE,
        average=average,
        **context.answers.get(("metrics", start, end, average, read.fingerprint), computed),
        color_dict=classes.color_dict(),
        invalid_records=sum(read.invalid.values()),
        low_sample_threshold=settings.ALERT_MIN_SAMPLES,
        reference=incidents.reference_levels(read.ledger, classes),
        # The range's backlog, which the read just counted: the whole collection's is /api/status'.
        ledger={
            **status(context.database, context.predictions, settings, read),
            "backlog_scope": "range",
            "tail_documents": read.tail_documents,
        },
    )


@bp.get("/api/status")
def ledger_status() -> ResponseReturnValue:
    """Return how far behind the logger's history is: its last tick and the validated predictions not logged yet."""
    context = monitor_context()
    return jsonify(status(context.database, context.predictions, context.settings))


@bp.get("/api/confusion")
def confusion() -> ResponseReturnValue:
    """Return the range's confusion matrix: rows the true class, columns the predicted class, catalogue order."""
    context = monitor_context()
    classes = context.settings.classes
    start, end, read = counts_for(context)
    cells = {(t, p): n for t, p, n in read.counts.group_by("true", "predicted").agg(pl.col("n").sum()).iter_rows()}
    return jsonify(
        start_date=start.isoformat(),
        end_date=end.isoformat(),
        timezone=context.settings.TIMEZONE,
        labels=list(classes.ids),
        names=list(classes.names),
        colors=[c.color for c in classes.classes],
        matrix=[[cells.get((t, p), 0) for p in classes.ids] for t in classes.ids],
        rejected={c.name: cells.get((REJECTED_TRUE_CLASS, c.id), 0) for c in classes.classes},
        total=int(read.counts["n"].sum()),
    )


@bp.get("/api/class-metrics/daily")
def class_metrics_daily() -> ResponseReturnValue:
    """Return precision, recall, F1 and support per day and class."""
    context = monitor_context()
    classes = context.settings.classes
    start, end, read = counts_for(context)
    table = label_table(read.counts, ["day"])
    by_day: dict[str, dict[int, dict[str, Any]]] = {}
    for row in table.iter_rows(named=True):
        by_day.setdefault(row["day"], {})[int(row["label"])] = {
            "precision": row["precision"],
            "recall": row["recall"],
            "f1": row["f1"],
            "support": int(row["true_sum"]),
        }
    entries = {day: int(n) for day, n in read.counts.group_by("day").agg(pl.col("n").sum()).iter_rows()}
    undefined = {"precision": None, "recall": None, "f1": None, "support": 0}
    return jsonify(
        start_date=start.isoformat(),
        end_date=end.isoformat(),
        timezone=context.settings.TIMEZONE,
        names=list(classes.names),
        color_dict=classes.color_dict(),
        days=[
            {
                "day": day,
                "count": entries.get(day, 0),
                "classes": {c.name: by_day.get(day, {}).get(c.id, undefined) for c in classes.classes},
            }
            for day in range_days(start, end)
        ],
    )


@bp.get("/api/drift")
def drift() -> ResponseReturnValue:
    """Return each day's drift results as the logger stored them, each with the thresholds it was judged with.

    `thresholds` are the monitor's current settings, for clients of releases before the days kept theirs.
    """
    context = monitor_context()
    settings = context.settings
    start, end, read = counts_for(context)
    entries = {day: int(n) for day, n in read.counts.group_by("day").agg(pl.col("n").sum()).iter_rows()}
    # `threshold` of releases before the corrected tests; the thresholds each day was judged with since.
    fields = (
        "algorithm",
        "statistic",
        "p_value",
        "threshold",
        "category",
        "alpha",
        "psi",
        "psi_threshold",
        "window_days",
        "shifts",
    )
    days = []
    for day in range_days(start, end):
        stored = (read.days.get(day) or {}).get("drift") or {}
        features = {
            name: {k: stored[name].get(k) for k in fields}
            for name in ("predicted_class", "true_class", "confidence")
            if name in stored
        }
        days.append(
            {
                "day": day,
                "count": entries.get(day, 0),
                "features": features,
                "evaluated_at": stored["evaluated_at"].isoformat() if "evaluated_at" in stored else None,
            }
        )
    return jsonify(
        start_date=start.isoformat(),
        end_date=end.isoformat(),
        timezone=settings.TIMEZONE,
        thresholds={
            "algorithm": settings.DRIFT_ALGORITHM,
            "p_value": settings.DRIFT_P_VALUE,
            "hellinger_threshold": settings.DRIFT_HELLINGER_THRESHOLD,
            "min_samples": settings.DRIFT_MIN_SAMPLES,
        },
        days=days,
    )


@bp.get("/api/alerts")
def alert_list() -> ResponseReturnValue:
    """Return the incidents and drift notices that overlap the range, with the verdict over them.

    Also the day alerts of releases before incidents, for the range's days, as one-day resolved
    incidents (`legacy`); a stored alert of neither shape is left out and counted (`invalid_alerts`).
    See docs/signal.md.
    """
    context = monitor_context()
    start, end = requested_range(request.args, today(context.settings.tz))
    alerts, invalid = incidents.read_alerts(context.database[ALERTS_COLLECTION], start, end)
    return jsonify(
        start_date=start.isoformat(),
        end_date=end.isoformat(),
        verdict=incidents.verdict(alerts, end.isoformat()),
        alerts=alerts,
        invalid_alerts=invalid,
    )


@bp.get("/api/training-data")
def training_data() -> ResponseReturnValue:
    """Return the training set's class counts: the configured counts plus validated predictions marked trained."""
    context = monitor_context()
    settings, classes = context.settings, context.settings.classes
    trained = context.trained.get(context.predictions, classes, settings.TIMEZONE)
    configured = classes.training_counts()
    return jsonify(
        class_counts={c.name: configured[c.name] + trained.get(c.id, 0) for c in classes.classes},
        configured_counts=configured,
        trained_predictions={c.name: trained.get(c.id, 0) for c in classes.classes},
        color_dict=classes.color_dict(),
    )


def first_and_last_day(context: MonitorContext) -> tuple[str | None, str | None]:
    """Return the first and last local day with validated predictions (None and None when there are none).

    Both within the days a request may name, and never after today.
    """
    current_day = today(context.settings.tz)
    return day_bounds(
        context.database,
        context.predictions,
        context.settings,
        date(FIRST_YEAR, 1, 1),
        min(current_day, date(LAST_YEAR, 12, 31)),
        context.counted_days,
    )


@bp.get("/api/date-range")
def date_range() -> ResponseReturnValue:
    """Return the first and last local day with validated predictions, today and the time zone."""
    context = monitor_context()
    first, last = first_and_last_day(context)
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
    monitor_context().client.admin.command("ping")
    return jsonify(status="ready")
