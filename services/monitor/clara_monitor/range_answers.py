"""The answers several routes cut from one range's counts: the range a request asks for and its counts,
/api/metrics' answer (the CSV exports are cut from it), and the first and last day with data."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import request

from clara_common.days import range_days, today
from clara_common.ledger.state import judged_with
from clara_common.metrics import class_scores, daily_summaries, summary, true_class_totals
from clara_monitor import incidents
from clara_monitor.context import MonitorContext
from clara_monitor.date_range import day_bounds
from clara_monitor.ledger_status import status
from clara_monitor.params import DEFAULT_DAYS, FIRST_YEAR, LAST_YEAR, requested_average, requested_range
from clara_monitor.range_counts import RangeCounts


def counts_for(context: MonitorContext, default_days: int = DEFAULT_DAYS) -> tuple[date, date, RangeCounts]:
    """Return the range the request asks for (the last `default_days` days by default) and its counts."""
    start, end = requested_range(request.args, today(context.settings.tz), default_days)
    return start, end, context.read_range(start, end)


def range_metrics(context: MonitorContext) -> dict[str, Any]:
    """Return /api/metrics' answer for the request's range and average (the CSV exports are cut from it)."""
    settings, classes = context.settings, context.settings.classes
    average = requested_average(request.args)
    start, end, read = counts_for(context)
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
