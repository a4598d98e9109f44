"""The ledger's own documents in a shape no model declares (a release before or after this one, a hand edit):
the answers that pass them through leave the part that does not fit out, and keep answering 200."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from flask.testing import FlaskClient
from pymongo.database import Database

from clara_common.days import local_day, today
from clara_common.ledger import HISTORY_COLLECTION, STATE_COLLECTION, STATE_ID
from clara_common.settings import CommonSettings
from clara_logger.tick import LoggerService
from tests.utils.predictions import prediction

pytestmark = pytest.mark.integration


@pytest.fixture
def logged(db: Database, settings: CommonSettings, logger: LoggerService) -> str:
    """Log a day of reviewed predictions; return the day."""
    rng = random.Random(3)
    now = datetime.now(UTC) - timedelta(hours=1)
    docs = [
        {**prediction(rng, i), "timestamp": now - timedelta(minutes=5), "timestamp_validated": now} for i in range(40)
    ]
    db[settings.PREDICTIONS_COLLECTION].insert_many(docs)
    logger.tick()
    return local_day(now, settings.tz).isoformat()


def test_a_reconcile_record_of_another_shape_leaves_metrics_and_status_answering(
    db: Database, settings: CommonSettings, logged: str, client: FlaskClient
) -> None:
    db[STATE_COLLECTION].update_one(
        {"_id": STATE_ID}, {"$set": {"last_reconcile": {"first_day": 7, "repaired": "some", "by": "a hand"}}}
    )
    day = today(settings.tz)

    metrics = client.get(f"/api/metrics?start_date={day - timedelta(days=6)}&end_date={day}")
    status = client.get("/api/status")

    assert metrics.status_code == 200 and status.status_code == 200
    assert status.get_json()["last_reconcile"] is None
    assert metrics.get_json()["total_validated"] == 40


def test_a_drift_result_of_another_shape_is_left_out_and_the_others_kept(
    db: Database, settings: CommonSettings, logged: str, client: FlaskClient
) -> None:
    stored = db[HISTORY_COLLECTION].find_one({"_id": logged})
    assert stored is not None
    good = {"algorithm": "chi-square", "statistic": 1.5, "p_value": 0.2, "category": "no_drift"}
    db[HISTORY_COLLECTION].update_one(
        {"_id": logged},
        {
            "$set": {
                "drift.predicted_class": good,
                "drift.true_class": {"statistic": "large", "category": "who knows"},
                "drift.evaluated_at": datetime.now(UTC),
            }
        },
    )

    answer = client.get(f"/api/drift?start_date={logged}&end_date={logged}")

    assert answer.status_code == 200
    features = answer.get_json()["days"][0]["features"]
    assert "true_class" not in features
    assert set(features) == {"predicted_class"} | ({"confidence"} & set(stored.get("drift", {})))
    assert features["predicted_class"]["statistic"] == 1.5
