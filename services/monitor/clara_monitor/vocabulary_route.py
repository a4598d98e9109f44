"""GET /api/vocabulary: what the page shares with the API (clara_monitor.vocabulary), asked for before it draws.

A view of its own, so that openapi.py, another view, can take the answer's schema from the model's module.
"""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from clara_monitor.vocabulary import VOCABULARY

bp = Blueprint("vocabulary", __name__)


@bp.get("/api/vocabulary")
def vocabulary() -> ResponseReturnValue:
    """Return the drift features and their names, the request limits, and the low-count threshold's default.

    The page reads these before it draws. `low_sample_threshold` is ALERT_MIN_SAMPLES' default: /api/metrics
    gives the one the logger recorded in the ledger.
    """
    return jsonify(VOCABULARY.model_dump(mode="json"))
