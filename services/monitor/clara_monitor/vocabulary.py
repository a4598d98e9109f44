"""GET /api/vocabulary: the values the page shares with the API, each taken from the one module that holds it.

The drift features, their names and what a class's share is a share of (clara_common.ledger.drift); the
request limits and averages (clara_monitor.params, clara_common.metrics); and the low-count threshold's
default (clara_common.settings), which the page uses until /api/metrics gives the one the logger recorded.
The page asks for it once, before it draws anything, so that none of these is written a second time in
dashboard.js.
"""

from __future__ import annotations

from flask import Blueprint
from flask.typing import ResponseReturnValue

from clara_common import settings as common
from clara_common.ledger.drift import FEATURE_NAMES, FEATURES, SHARE_OF
from clara_common.metrics import AVERAGES
from clara_monitor import answers
from clara_monitor.params import DEFAULT_DAYS, FIRST_YEAR, LAST_YEAR, MAX_RANGE_DAYS

bp = Blueprint("vocabulary", __name__)

VOCABULARY = answers.Vocabulary.model_validate(
    {
        "drift_features": list(FEATURES),
        "drift_feature_names": FEATURE_NAMES,
        "drift_share_of": SHARE_OF,
        "default_days": DEFAULT_DAYS,
        "max_range_days": MAX_RANGE_DAYS,
        "first_year": FIRST_YEAR,
        "last_year": LAST_YEAR,
        "averages": list(AVERAGES),
        "low_sample_threshold": common.ALERT_MIN_SAMPLES,
    }
)


@bp.get("/api/vocabulary")
def vocabulary() -> ResponseReturnValue:
    """Return the drift features and their names, the request limits, and the low-count threshold's default.

    The page reads these before it draws. `low_sample_threshold` is ALERT_MIN_SAMPLES' default: /api/metrics
    gives the one the logger recorded in the ledger.
    """
    return answers.answer(VOCABULARY)
