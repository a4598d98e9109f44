"""The logger records in the ledger the interval and thresholds it judged with, and the monitor shows those: the
monitor has no settings of its own for them (issue 20, item 2)."""

from __future__ import annotations

import pytest

from clara_common import settings as common
from clara_common.ledger import STATE_COLLECTION, STATE_ID
from clara_common.ledger.state import JUDGED_WITH
from clara_monitor.settings import MonitorSettings
from tests.utils.monitor_databases import log_once

pytestmark = pytest.mark.integration


def shown(client) -> tuple[dict, int, str | None]:
    """Return /api/drift's thresholds and /api/metrics' low-count threshold and its source."""
    thresholds = client.get("/api/drift").get_json()["thresholds"]
    metrics = client.get("/api/metrics").get_json()
    return thresholds, metrics["low_sample_threshold"], metrics.get("low_sample_threshold_source")


def test_the_monitor_shows_the_thresholds_the_logger_ran_with(settings, client) -> None:
    log_once(settings, DRIFT_P_VALUE=0.01, ALERT_MIN_SAMPLES=20, DRIFT_ALGORITHM="hellinger")
    thresholds, low, source = shown(client)
    assert thresholds == {
        "algorithm": "hellinger",
        "p_value": 0.01,
        "hellinger_threshold": common.DRIFT_HELLINGER_THRESHOLD,
        "min_samples": common.DRIFT_MIN_SAMPLES,
        "source": "logger",
    }
    assert (low, source) == (20, "logger")
    assert not {"DRIFT_P_VALUE", "ALERT_MIN_SAMPLES"} & set(MonitorSettings.model_fields)  # the monitor's say nothing


def test_a_logger_restarted_with_other_values_overwrites_them(settings, client) -> None:
    log_once(settings, DRIFT_P_VALUE=0.01, ALERT_MIN_SAMPLES=20)
    log_once(settings, DRIFT_P_VALUE=0.02, ALERT_MIN_SAMPLES=35, DRIFT_MIN_SAMPLES=70)
    thresholds, low, source = shown(client)
    assert (thresholds["p_value"], thresholds["min_samples"], low, source) == (0.02, 70, 35, "logger")


def test_without_a_record_the_monitor_says_it_shows_the_defaults(settings, db, client) -> None:
    thresholds, low, source = shown(client)  # no logger has run: no state document
    assert thresholds == {
        "algorithm": common.DRIFT_ALGORITHM,
        "p_value": common.DRIFT_P_VALUE,
        "hellinger_threshold": common.DRIFT_HELLINGER_THRESHOLD,
        "min_samples": common.DRIFT_MIN_SAMPLES,
        "source": "defaults",
    }
    assert (low, source) == (common.ALERT_MIN_SAMPLES, "defaults")
    log_once(settings, ALERT_MIN_SAMPLES=20)
    # A logger of a release before the record, and a record the monitor cannot use: the defaults, said so.
    for record in (None, {"ALERT_MIN_SAMPLES": -3}, "twenty"):
        update = {"$unset": {JUDGED_WITH: ""}} if record is None else {"$set": {JUDGED_WITH: record}}
        db[STATE_COLLECTION].update_one({"_id": STATE_ID}, update)
        assert shown(client)[1:] == (common.ALERT_MIN_SAMPLES, "defaults")
