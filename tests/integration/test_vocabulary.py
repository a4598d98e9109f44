"""GET /api/vocabulary gives the page the values it shares with the API, each from the module that holds it, and
dashboard.js writes none of them a second time."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from clara_common import settings as common
from clara_common.ledger import drift
from clara_common.metrics import AVERAGES
from clara_monitor import params

pytestmark = pytest.mark.integration

DASHBOARD = Path(__file__).resolve().parents[2] / "services/monitor/clara_monitor/static/dashboard.js"


def test_the_vocabulary_is_the_api_s_own(client) -> None:
    answer = client.get("/api/vocabulary")
    assert answer.status_code == 200
    assert answer.get_json() == {
        "drift_features": list(drift.FEATURES),
        "drift_feature_names": drift.FEATURE_NAMES,
        "drift_share_of": drift.SHARE_OF,
        "default_days": params.DEFAULT_DAYS,
        "max_range_days": params.MAX_RANGE_DAYS,
        "first_year": params.FIRST_YEAR,
        "last_year": params.LAST_YEAR,
        "averages": list(AVERAGES),
        "low_sample_threshold": common.ALERT_MIN_SAMPLES,
    }


def test_the_page_writes_none_of_it_again() -> None:
    script = DASHBOARD.read_text(encoding="utf-8")
    copies = [
        r'"of reviewed predictions"',
        r"\b366\b",
        r'\["macro", "weighted", "micro"\]',
        r'\["predicted_class", "true_class", "confidence"\]',
        r"\b2100\b",
        r"= 50;",
    ]
    assert [pattern for pattern in copies if re.search(pattern, script)] == []
