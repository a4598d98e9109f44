"""The original CLARA dashboard's routes, for the clients written against it: /data, /training-data, /min-date.

Same shapes and averaging as the original, from the same counts as /api/metrics (the ledger plus its tail).
Where the original's numbers were accidents, these differ, on purpose (docs/api.md, "The original routes"):
a day without validations has 0 entries and null scores (the original carried the previous day's, or
an invented 0.75, forward); days are local days of TIMEZONE; a legacy `false` review is a wrong
prediction, never a class; a bad date is a 400 JSON, not a 500.
"""

from __future__ import annotations

from flask import Blueprint
from flask.typing import ResponseReturnValue

from clara_common.days import range_days
from clara_common.metrics import original_class_scores, original_daily_summaries, original_summary, true_class_totals
from clara_monitor import answers
from clara_monitor.context import monitor_context

bp = Blueprint("original", __name__)

# The original's default range: from a week before the end (today by default) to the end, both included.
DEFAULT_DAYS_BEFORE = 7


@bp.get("/data")
def data() -> ResponseReturnValue:
    """Return the range's totals, weighted precision and F1, micro recall, per day and per class (zero_division=1)."""
    context = monitor_context()
    classes = context.settings.classes
    start, end, read = context.read_requested_range(default_days=DEFAULT_DAYS_BEFORE + 1)
    totals = true_class_totals(read.counts)
    overall = original_summary(read.counts)
    scores = original_class_scores(read.counts, classes.ids)
    return answers.answer(
        answers.OriginalData.model_validate(
            {
                "total_validated": overall.pop("entries"),
                "class_counts": {c.name: totals.get(c.id, 0) for c in classes.classes},
                "metrics": overall,
                "daily_metrics": original_daily_summaries(read.counts, range_days(start, end)),
                "class_metrics": {c.name: scores[c.id] for c in classes.classes},
                "color_dict": classes.color_dict(),
            }
        )
    )


@bp.get("/training-data")
def training_data() -> ResponseReturnValue:
    """Return the configured training set's class counts and the class colours."""
    classes = monitor_context().settings.classes
    return answers.answer(
        answers.OriginalTrainingData(class_counts=classes.training_counts(), color_dict=classes.color_dict())
    )


@bp.get("/min-date")
def min_date() -> ResponseReturnValue:
    """Return the first local day with validated predictions (null when there is none)."""
    first, _ = monitor_context().first_and_last_day()
    return answers.answer(answers.OriginalMinDate.model_validate({"min_date": first}))
