"""The JSON API: metrics, drift, alerts and the confusion matrix of a date range; training-set counts;
the date range with data; the ledger's status; health.

Every count comes from the logger's history plus the tail it has not logged yet (range_counts.py).
/api/metrics' answer is also given as CSV (its daily and its class metrics, written by export.py). The
original CLARA dashboard's routes (/data, /training-data, /min-date) are original.py's.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
from flask import Blueprint, request
from flask.typing import ResponseReturnValue

from clara_common.contract import REJECTED_TRUE_CLASS
from clara_common.days import range_days, today
from clara_common.ledger import ALERTS_COLLECTION
from clara_common.ledger.drift import FEATURES
from clara_common.ledger.state import judged_with
from clara_common.metrics import class_scores, daily_summaries, label_table, summary, true_class_totals
from clara_monitor import answers, export, incidents
from clara_monitor.context import MonitorContext, monitor_context
from clara_monitor.ledger_status import status
from clara_monitor.params import requested_average, requested_range

bp = Blueprint("api", __name__)


@bp.get("/api/metrics")
def metrics() -> ResponseReturnValue:
    """Return the metrics of a date range: overall, per day and per class, and the ledger's status."""
    return answers.answer(answers.Metrics.model_validate(range_metrics(monitor_context())))


def range_metrics(context: MonitorContext) -> dict[str, Any]:
    """Return /api/metrics' answer for the request's range and average (the CSV exports are cut from it)."""
    settings, classes = context.settings, context.settings.classes
    average = requested_average(request.args)
    start, end, read = context.read_requested_range()
    judged = judged_with(read.ledger)

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
        # The logger's ALERT_MIN_SAMPLES, as it recorded it; "defaults" when it recorded none.
        low_sample_threshold=judged.ALERT_MIN_SAMPLES,
        low_sample_threshold_source=judged.source,
        reference=incidents.reference_levels(read.ledger, classes),
        # The range's backlog, which the read just counted: the whole collection's is /api/status'.
        ledger={
            **status(context.database, context.predictions, settings, read),
            "backlog_scope": "range",
            "tail_documents": read.tail_documents,
        },
    )


@bp.get("/api/metrics.csv")
def daily_metrics_csv() -> ResponseReturnValue:
    """Return /api/metrics' daily metrics as CSV: one row per day (day, entries, precision, accuracy, recall, f1)."""
    answer = range_metrics(monitor_context())
    name = f"clara-metrics_{answer['start_date']}_{answer['end_date']}_{answer['average']}.csv"
    return export.csv_response(export.keyed_csv(export.DAILY_COLUMNS, answer["daily_metrics"]), name)


@bp.get("/api/class-metrics.csv")
def class_metrics_csv() -> ResponseReturnValue:
    """Return /api/metrics' class metrics as CSV: one row per class, over the whole range."""
    answer = range_metrics(monitor_context())
    name = f"clara-class-metrics_{answer['start_date']}_{answer['end_date']}.csv"
    return export.csv_response(export.keyed_csv(export.CLASS_COLUMNS, answer["class_metrics"]), name)


@bp.get("/api/status")
def ledger_status() -> ResponseReturnValue:
    """Return how far behind the logger's history is: its last tick and the validated predictions not logged yet."""
    context = monitor_context()
    return answers.answer(
        answers.Status.model_validate(status(context.database, context.predictions, context.settings))
    )


@bp.get("/api/confusion")
def confusion() -> ResponseReturnValue:
    """Return the range's confusion matrix: rows the true class, columns the predicted class, catalogue order."""
    context = monitor_context()
    classes = context.settings.classes
    start, end, read = context.read_requested_range()
    cells = {(t, p): n for t, p, n in read.counts.group_by("true", "predicted").agg(pl.col("n").sum()).iter_rows()}
    return answers.answer(
        answers.Confusion(
            start_date=start,
            end_date=end,
            timezone=context.settings.TIMEZONE,
            labels=list(classes.ids),
            names=list(classes.names),
            colors=[c.color for c in classes.classes],
            matrix=[[cells.get((t, p), 0) for p in classes.ids] for t in classes.ids],
            rejected={c.name: cells.get((REJECTED_TRUE_CLASS, c.id), 0) for c in classes.classes},
            total=int(read.counts["n"].sum()),
        )
    )


@bp.get("/api/class-metrics/daily")
def class_metrics_daily() -> ResponseReturnValue:
    """Return precision, recall, F1 and support per day and class."""
    context = monitor_context()
    classes = context.settings.classes
    start, end, read = context.read_requested_range()
    table = label_table(read.counts, ["day"])
    by_day: dict[str, dict[int, answers.ClassScores]] = {}
    for row in table.iter_rows(named=True):
        by_day.setdefault(row["day"], {})[int(row["label"])] = answers.ClassScores(
            precision=row["precision"], recall=row["recall"], f1=row["f1"], support=int(row["true_sum"])
        )
    entries = {day: int(n) for day, n in read.counts.group_by("day").agg(pl.col("n").sum()).iter_rows()}
    undefined = answers.ClassScores(precision=None, recall=None, f1=None, support=0)
    return answers.answer(
        answers.ClassMetricsDaily(
            start_date=start,
            end_date=end,
            timezone=context.settings.TIMEZONE,
            names=list(classes.names),
            color_dict=classes.color_dict(),
            days=[
                answers.ClassMetricsDay(
                    day=date.fromisoformat(day),
                    count=entries.get(day, 0),
                    classes={c.name: by_day.get(day, {}).get(c.id, undefined) for c in classes.classes},
                )
                for day in range_days(start, end)
            ],
        )
    )


@bp.get("/api/drift")
def drift() -> ResponseReturnValue:
    """Return each day's drift results as the logger stored them, each with the thresholds it was judged with.

    `thresholds` are those the logger recorded in the ledger with its last tick (`source`: "logger"), or the
    common defaults when it recorded none ("defaults"), for clients of releases before the days kept theirs.
    """
    context = monitor_context()
    settings = context.settings
    start, end, read = context.read_requested_range()
    judged = judged_with(read.ledger)  # the thresholds the logger recorded, or the defaults
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
        days.append(
            answers.DriftDay.model_validate(
                {
                    "day": day,
                    "count": entries.get(day, 0),
                    "features": {
                        name: result
                        for name in FEATURES
                        if isinstance(stored.get(name), dict)
                        and (
                            result := answers.stored_part(
                                answers.DriftResult,
                                {k: stored[name].get(k) for k in fields},
                                f"{day}'s {name} drift result",
                            )
                        )
                    },
                    "evaluated_at": stored["evaluated_at"].isoformat() if "evaluated_at" in stored else None,
                }
            )
        )
    return answers.answer(
        answers.Drift(
            start_date=start,
            end_date=end,
            timezone=settings.TIMEZONE,
            thresholds=answers.DriftThresholds.model_validate(
                {
                    "algorithm": judged.DRIFT_ALGORITHM,
                    "p_value": judged.DRIFT_P_VALUE,
                    "hellinger_threshold": judged.DRIFT_HELLINGER_THRESHOLD,
                    "min_samples": judged.DRIFT_MIN_SAMPLES,
                    "source": judged.source,
                }
            ),
            days=days,
        )
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
    return answers.answer(
        answers.Alerts.model_validate(
            {
                "start_date": start,
                "end_date": end,
                "verdict": incidents.verdict(alerts, end.isoformat()),
                "alerts": alerts,
                "invalid_alerts": invalid,
            }
        )
    )


@bp.get("/api/training-data")
def training_data() -> ResponseReturnValue:
    """Return the training set's class counts: the configured counts plus validated predictions marked trained."""
    context = monitor_context()
    settings, classes = context.settings, context.settings.classes
    trained = context.trained.get(context.predictions, classes, settings.TIMEZONE)
    configured = classes.training_counts()
    return answers.answer(
        answers.TrainingData(
            class_counts={c.name: configured[c.name] + trained.get(c.id, 0) for c in classes.classes},
            configured_counts=configured,
            trained_predictions={c.name: trained.get(c.id, 0) for c in classes.classes},
            color_dict=classes.color_dict(),
        )
    )


@bp.get("/api/date-range")
def date_range() -> ResponseReturnValue:
    """Return the first and last local day with validated predictions, today and the time zone."""
    context = monitor_context()
    first, last = context.first_and_last_day()
    return answers.answer(
        answers.DateRange.model_validate(
            {
                "min_date": first,
                "max_date": last,
                "today": today(context.settings.tz),
                "timezone": context.settings.TIMEZONE,
            }
        )
    )


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """Answer while the process is up."""
    return answers.answer(answers.Health(status="ok"))


@bp.get("/readyz")
def readyz() -> ResponseReturnValue:
    """Answer 200 when the database answers a ping (a down database is a 503 from the error handler)."""
    monitor_context().client.admin.command("ping")
    return answers.answer(answers.Ready(status="ready"))
