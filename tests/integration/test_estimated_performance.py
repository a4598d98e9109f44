"""GET /api/estimated-performance: the expected accuracy of the predictions not reviewed yet, on synthetic data
whose truth is known to the test and hidden from the service.

Reviewed days first, then UNREVIEWED_DAYS days of 300 predictions a day nobody has reviewed, whose mix
of confidence (and of predicted class) shifts towards the harder predictions day after day: the naive
guess "as accurate as the last reviewed week" is then wrong, and an estimate calibrated on confidence
must follow the shift.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
from flask.testing import FlaskClient
from pymongo.database import Database

from clara_common.days import day_start, today
from clara_common.settings import CommonSettings
from clara_logger.tick import LoggerService
from tests.utils.drawn_predictions import drawn_prediction
from tests.utils.settings import monitor_settings

pytestmark = pytest.mark.integration

PER_DAY = 300
REVIEWED_DAYS = 35
UNREVIEWED_DAYS = 10


def chance_right(predicted: np.ndarray, confidence: np.ndarray) -> np.ndarray:
    """The model's true accuracy given class and confidence: miscalibrated, and worse on classes 2 and 5."""
    return np.clip(0.08 + 0.9 * confidence**1.4 - 0.12 * np.isin(predicted, [2, 5]), 0.02, 0.99)


def day_of_predictions(rng: np.random.Generator, shift: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return a day's predicted classes, confidences (NaN: none) and hidden correctness; shift 0..1 hardens the mix."""
    hard = 0.15 + 0.35 * shift
    predicted = np.where(rng.random(PER_DAY) < hard, rng.choice([2, 5], PER_DAY), rng.choice([0, 1, 3, 4, 6], PER_DAY))
    confidence = rng.beta(8 - 5 * shift, 2, PER_DAY)
    correct = rng.random(PER_DAY) < chance_right(predicted, confidence)
    confidence[rng.random(PER_DAY) < 0.02] = np.nan
    return predicted, confidence, correct


def documents(
    settings: CommonSettings, rng: np.random.Generator, day: date, shift: float, reviewed: bool
) -> tuple[list[dict], float]:
    predicted, confidence, correct = day_of_predictions(rng, shift)
    start = day_start(day, settings.tz)
    docs = []
    for p, c, ok in zip(predicted, confidence, correct):
        made = start + timedelta(seconds=int(rng.integers(0, 80_000)))
        filename = f"img-{int(rng.integers(10**9))}.jpg"
        verdict = (int(p) if ok else int((p + 1 + rng.integers(0, 6)) % 7)) if reviewed else None
        docs.append(drawn_prediction(filename, p, c, made, verdict, delay=timedelta(hours=2)))
    return docs, float(correct.mean())


def test_the_estimate_follows_a_shift_the_naive_guess_misses(
    db: Database, settings: CommonSettings, logger: LoggerService, client: FlaskClient
) -> None:
    rng = np.random.default_rng(2026)
    current = today(settings.tz)
    first_unreviewed = current - timedelta(days=UNREVIEWED_DAYS)
    collection = db[settings.PREDICTIONS_COLLECTION]
    hidden: dict[str, float] = {}
    for offset in range(REVIEWED_DAYS, 0, -1):
        day = first_unreviewed - timedelta(days=offset)
        collection.insert_many(documents(settings, rng, day, 0.0, reviewed=True)[0])
    for index in range(UNREVIEWED_DAYS):
        day = first_unreviewed + timedelta(days=index)
        docs, truth = documents(settings, rng, day, (index + 1) / UNREVIEWED_DAYS, reviewed=False)
        collection.insert_many(docs)
        hidden[day.isoformat()] = truth
    logger.tick()

    last_reviewed = first_unreviewed - timedelta(days=1)
    # The naive guess: the accuracy of the last reviewed week, from the monitor's own metrics.
    week = client.get(f"/api/metrics?start_date={last_reviewed - timedelta(days=6)}&end_date={last_reviewed}")
    naive = week.get_json()["metrics"]["accuracy"]
    answer = client.get(f"/api/estimated-performance?start_date={last_reviewed - timedelta(days=2)}&end_date={current}")
    assert answer.status_code == 200
    body = answer.get_json()
    daily = client.get(f"/api/metrics?start_date={last_reviewed - timedelta(days=2)}&end_date={current}")
    realised_by_metrics = {day: m["accuracy"] for day, m in daily.get_json()["daily_metrics"].items()}

    days = {d["day"]: d for d in body["days"]}
    estimated = np.array([days[day]["estimated_accuracy"] for day in hidden])
    truth = np.array(list(hidden.values()))
    covered = np.mean([days[day]["lower"] <= hidden[day] <= days[day]["upper"] for day in hidden])
    mae, naive_mae = np.abs(estimated - truth).mean(), np.abs(naive - truth).mean()
    print(
        f"\nestimate MAE {100 * mae:.2f} pp, naive (last reviewed week, {100 * naive:.1f}%) MAE "
        f"{100 * naive_mae:.2f} pp, band coverage {covered:.0%} over {UNREVIEWED_DAYS} days of {PER_DAY}"
    )
    for day, truth_of_day in hidden.items():
        print(
            f"{day}: realised {truth_of_day:.3f}, estimate {days[day]['estimated_accuracy']:.3f} "
            f"[{days[day]['lower']:.3f}, {days[day]['upper']:.3f}]"
        )
    assert all(days[day]["unreviewed"] == PER_DAY for day in hidden)
    assert mae <= 0.035
    assert covered >= 0.8
    assert mae < naive_mae
    # Reviewed days have nothing to estimate; their realised accuracy is the history's (the Main chart's).
    assert days[last_reviewed.isoformat()]["unreviewed"] == 0
    assert days[last_reviewed.isoformat()]["estimated_accuracy"] is None
    assert days[last_reviewed.isoformat()]["realised_accuracy"] == pytest.approx(
        realised_by_metrics[last_reviewed.isoformat()]
    )
    assert days[current.isoformat()]["realised_accuracy"] is None
    window = body["calibration_window"]
    assert window["days"] == monitor_settings(settings).ESTIMATE_CALIBRATION_DAYS == 30
    assert window["end_date"] == current.isoformat()
    assert window["validated_with_confidence"] > 20 * PER_DAY * 0.9


def test_without_a_history_the_estimate_leans_on_calibrated_priors(
    db: Database, settings: CommonSettings, client: FlaskClient
) -> None:
    """No logger has run: no bin is fitted, and the estimate is the confidences' mean (the prior), with a wide band."""
    rng = np.random.default_rng(1)
    current = today(settings.tz)
    docs, _ = documents(settings, rng, current - timedelta(days=1), 0.0, reviewed=False)
    db[settings.PREDICTIONS_COLLECTION].insert_many(docs)
    body = client.get("/api/estimated-performance").get_json()
    day = {d["day"]: d for d in body["days"]}[(current - timedelta(days=1)).isoformat()]
    assert day["unreviewed"] == PER_DAY
    assert body["calibration_window"]["validated_with_confidence"] == 0 and body["as_of"] is None
    assert 0.6 < day["estimated_accuracy"] < 0.85
    assert day["upper"] - day["lower"] > 0.05
