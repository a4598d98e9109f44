"""GET /api/calibration: the reliability diagram and ECE of a range, served from the logger's history.

The logger keeps per day, predicted class and confidence bin the count, the correct count and the sum
of confidences; the answers are compared with scikit-learn's calibration_curve and numpy on the
predictions collection itself, after corrections, and for history days written before the bins.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from bson import ObjectId
from flask.testing import FlaskClient
from pymongo.collection import Collection
from pymongo.database import Database
from sklearn.calibration import calibration_curve

from clara_common.days import day_start, today
from clara_common.settings import CommonSettings
from clara_logger import history
from clara_logger.tick import LoggerService
from tests.utils.monitor_app import MakeMonitor
from tests.utils.monitor_databases import answers_with_the_database_down, unreachable_settings
from tests.utils.reference import source_records
from tests.utils.settings import monitor_settings

pytestmark = pytest.mark.integration

DAYS = 4


def window(settings: CommonSettings) -> tuple[date, date]:
    last = today(settings.tz)
    return last - timedelta(days=DAYS - 1), last


def validation_time(settings: CommonSettings, rng: random.Random, day_offset: int) -> datetime:
    first, _ = window(settings)
    when = day_start(first + timedelta(days=day_offset), settings.tz) + timedelta(seconds=rng.randrange(86_400))
    return min(when, datetime.now(UTC) - timedelta(minutes=5)).replace(microsecond=0)


def reviewed(settings: CommonSettings, rng: random.Random, day_offset: int) -> dict:
    predicted = rng.randrange(7)
    confidence = None if rng.random() < 0.1 else rng.random()
    right = rng.random() < (confidence if confidence is not None else 0.7)
    roll = rng.random()
    verdict: int | bool = right if roll < 0.08 else (predicted if right else (predicted + 1) % 7)
    when = validation_time(settings, rng, day_offset)
    return {
        "_id": ObjectId(),
        "filename": f"img-{rng.randrange(10**9)}.jpg",
        "output_prediction": predicted,
        "output_confidence": confidence,
        "output_validated": verdict,
        "timestamp": when - timedelta(hours=2),
        "timestamp_validated": when,
        "logged": False,
    }


def expected(collection: Collection, settings: CommonSettings, first: date, last: date) -> dict:
    """Return the reliability diagram by scikit-learn and the ECE by numpy, from the documents themselves."""
    records, _ = source_records(collection, settings, first, last)
    scored = [r for r in records if r.confidence is not None]
    confidence = np.array([r.confidence for r in scored])
    correct = np.array([r.true_class == r.predicted_class for r in scored])
    prob_true, prob_pred = calibration_curve(correct, confidence, n_bins=10, strategy="uniform")
    counts = np.histogram(confidence, bins=np.linspace(0, 1, 11))[0]
    ece = float(np.sum(counts[counts > 0] / len(scored) * np.abs(prob_true - prob_pred)))
    return {
        "counts": counts.tolist(),
        "accuracy": prob_true,
        "mean_confidence": prob_pred,
        "ece": ece,
        "without": len(records) - len(scored),
    }


def assert_matches(body: dict, want: dict) -> None:
    assert [b["count"] for b in body["bins"]] == want["counts"]
    filled = [b for b in body["bins"] if b["count"]]
    np.testing.assert_allclose([b["accuracy"] for b in filled], want["accuracy"], atol=1e-12)
    np.testing.assert_allclose([b["mean_confidence"] for b in filled], want["mean_confidence"], atol=1e-6)
    assert all(b["accuracy"] is None for b in body["bins"] if not b["count"])
    assert body["ece"] == pytest.approx(want["ece"], abs=1e-6)
    assert body["without_confidence"] == want["without"]


def seed_and_log(db: Database, settings: CommonSettings, logger: LoggerService, count: int = 800) -> Collection:
    """Insert `count` reviewed predictions over the window's first days and log them with one tick; return the
    predictions collection."""
    collection = db[settings.PREDICTIONS_COLLECTION]
    rng = random.Random(41)
    collection.insert_many([reviewed(settings, rng, rng.randrange(DAYS - 1)) for _ in range(count)])
    logger.tick()
    return collection


def test_calibration_equals_scikit_learn_after_corrections(
    db: Database, settings: CommonSettings, logger: LoggerService, client: FlaskClient
) -> None:
    collection = seed_and_log(db, settings, logger)
    # Corrections: re-reviewed today (moved out of their old day and bin's correct count), confidences unchanged.
    rng = random.Random(5)
    for doc in collection.find().limit(150):
        collection.update_one(
            {"_id": doc["_id"]},
            {
                "$set": {
                    "output_validated": rng.choice(
                        [doc["output_prediction"], (doc["output_prediction"] + 3) % 7, False]
                    ),
                    "timestamp_validated": datetime.now(UTC),
                }
            },
        )
    logger.tick()
    first, last = window(settings)
    body = client.get(f"/api/calibration?start_date={first}&end_date={last}").get_json()
    assert_matches(body, expected(collection, settings, first, last))
    assert body["days_without_bins"] == []
    assert body["as_of"] is not None
    # One day of the range alone: the corrected predictions left it.
    day = first.isoformat()
    one = client.get(f"/api/calibration?start_date={day}&end_date={day}").get_json()
    assert_matches(one, expected(collection, settings, first, first))
    assert one["with_confidence"] < body["with_confidence"]


def test_the_tail_is_not_included_until_the_logger_ticks(
    db: Database, settings: CommonSettings, logger: LoggerService, client: FlaskClient
) -> None:
    collection = seed_and_log(db, settings, logger, 200)
    first, last = window(settings)
    url = f"/api/calibration?start_date={first}&end_date={last}"
    before = client.get(url).get_json()
    rng = random.Random(9)
    collection.insert_many([{**reviewed(settings, rng, DAYS - 1), "output_confidence": 0.95} for _ in range(30)])
    assert client.get(url).get_json()["with_confidence"] == before["with_confidence"]
    logger.tick()
    after = client.get(url).get_json()
    assert after["with_confidence"] == before["with_confidence"] + 30
    assert after["as_of"] > before["as_of"]
    assert_matches(after, expected(collection, settings, first, last))


def test_days_written_before_the_bins_are_reported_and_a_reconcile_fills_them(
    db: Database, settings: CommonSettings, logger: LoggerService, client: FlaskClient
) -> None:
    collection = seed_and_log(db, settings, logger)
    days = history.history(db)
    first, last = window(settings)
    old = [(first + timedelta(days=i)).isoformat() for i in range(2)]
    # As a logger older than the bins left them.
    days.update_many({"_id": {"$in": old}}, {"$unset": {"calibration": ""}})
    # A batch of the new logger on such a day keeps it without bins (its bins would be partial).
    rng = random.Random(2)
    collection.insert_many([reviewed(settings, rng, 0) for _ in range(20)])
    logger.tick()
    assert days.find_one({"_id": old[0]}).get("calibration") is None
    url = f"/api/calibration?start_date={first}&end_date={last}"
    partial = client.get(url).get_json()
    assert partial["days_without_bins"] == old
    assert partial["validated_without_bins"] == sum(days.find_one({"_id": d})["count"] for d in old)
    later = first + timedelta(days=2)
    assert_matches(partial, expected(collection, settings, later, last))
    env = {**os.environ, "MONGODB_URI": settings.MONGODB_URI.get_secret_value(), "MONGODB_DB": settings.MONGODB_DB}
    done = subprocess.run(
        [sys.executable, "-m", "clara_logger.cli", "--reconcile", "--days", str(DAYS + 1)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "calibration bins filled" in done.stdout + done.stderr
    filled = client.get(url).get_json()
    assert filled["days_without_bins"] == []
    assert_matches(filled, expected(collection, settings, first, last))


def test_bad_dates_are_400_and_another_timezone_is_409(
    db: Database,
    settings: CommonSettings,
    logger: LoggerService,
    client: FlaskClient,
    make_monitor: MakeMonitor,
) -> None:
    seed_and_log(db, settings, logger, 20)
    for query in (
        "start_date=2026-13-01",
        "start_date=2026-05-02&end_date=2026-05-01",
        "start_date=2020-01-01&end_date=2022-01-01",
        "end_date=yesterday",
    ):
        for route in ("/api/calibration", "/api/estimated-performance"):
            answer = client.get(f"{route}?{query}")
            assert answer.status_code == 400, (route, query)
            assert "error" in answer.get_json()
    client = make_monitor(monitor_settings(settings, TIMEZONE="Europe/Madrid"))
    for route in ("/api/calibration", "/api/estimated-performance"):
        refused = client.get(route)
        assert refused.status_code == 409
        assert "clara-logger --reconcile --all" in refused.get_json()["error"]


def test_a_down_database_is_a_503_json(make_monitor: MakeMonitor) -> None:
    routes = ("/api/calibration", "/api/estimated-performance")
    for route, body in answers_with_the_database_down(make_monitor(unreachable_settings()), routes).items():
        assert "database is unavailable" in body["error"], route
