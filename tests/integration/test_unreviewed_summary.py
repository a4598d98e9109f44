"""The logger's summary of the predictions not reviewed yet (`logger_unreviewed`) and the estimate served from it.

The summary is held to a direct recount of the documents after inserts, reviews, corrections,
back-dated inserts, deletes, edits in place and hostile documents; the estimate and its band from the
summary are held to the per-prediction computation (the reference path) on random data.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from bson import ObjectId
from flask.testing import FlaskClient
from pymongo.database import Database

from clara_common.calibration import CALIBRATION_BINS, confidence_bin
from clara_common.contract import Rejection, parse_prediction
from clara_common.days import day_start, local_day, today
from clara_common.ledger import STATE_COLLECTION, STATE_ID, UNREVIEWED_COLLECTION, readable_day
from clara_common.settings import CommonSettings
from clara_logger.tick import LoggerService
from clara_monitor import accuracy_estimates
from tests.utils.drawn_predictions import drawn_prediction
from tests.utils.settings import monitor_settings

pytestmark = pytest.mark.integration


def recount(db: Database, settings: CommonSettings) -> dict[str, dict]:
    """Return the summary of every day counted straight from the documents (the reference, by hand)."""
    days: dict[str, dict] = {}

    def day_of(name: str) -> dict:
        return days.setdefault(name, {"cells": {}, "without_confidence": {}, "invalid": 0, "unreviewed": 0})

    for doc in db[settings.PREDICTIONS_COLLECTION].find():
        if doc.get("timestamp_validated") is not None:
            continue
        parsed = parse_prediction(doc, settings.classes, settings.tz)
        if isinstance(parsed, Rejection):
            if (name := readable_day(doc.get("timestamp"), settings.tz)) is not None:
                day_of(name)["invalid"] += 1
            continue
        day = day_of(local_day(parsed.timestamp, settings.tz).isoformat())
        day["unreviewed"] += 1
        key = str(parsed.predicted_class)
        if parsed.confidence is None:
            day["without_confidence"][key] = day["without_confidence"].get(key, 0) + 1
        else:
            day["cells"].setdefault(key, [[] for _ in range(CALIBRATION_BINS)])[
                confidence_bin(parsed.confidence)
            ].append(parsed.confidence)
    for day in days.values():
        day["cells"] = {
            key: [[len(c), math.fsum(c), math.fsum(x * x for x in c)] for c in row]
            for key, row in sorted(day["cells"].items())
        }
    return days


def assert_summary_is_a_recount(db: Database, settings: CommonSettings) -> dict[str, dict]:
    """Assert every stored day equals the recount, and every day the recount has is stored; return the stored days."""
    want = recount(db, settings)
    stored = {doc.pop("_id"): doc for doc in db[UNREVIEWED_COLLECTION].find()}
    assert set(want) <= set(stored), f"days missing from the summary: {sorted(set(want) - set(stored))}"
    for day, doc in stored.items():
        expected = want.get(day, {"cells": {}, "without_confidence": {}, "invalid": 0, "unreviewed": 0})
        got = {name: doc[name] for name in ("cells", "without_confidence", "invalid", "unreviewed")}
        assert got == expected, day  # sums compared to the last bit: both are correctly rounded (fsum)
    return stored


def pending(rng: random.Random, settings: CommonSettings, day: date, n: int) -> dict:
    """Return an unreviewed prediction of local `day` (times as BSON dates or ISO strings, some without confidence)."""
    when = min(
        day_start(day, settings.tz) + timedelta(seconds=rng.randrange(86_400)), datetime.now(UTC) - timedelta(minutes=2)
    ).replace(microsecond=0)
    roll = rng.random()
    stamp: object = when
    if roll < 0.1:
        stamp = when.isoformat()  # an ISO string with an offset
    elif roll < 0.15:
        stamp = when.astimezone(settings.tz).replace(tzinfo=None).isoformat()  # local time, no offset
    confidence = rng.choice([None, 0.0, 0.1, 0.9, 1.0, 0.45]) if rng.random() < 0.1 else rng.random()
    return {
        "_id": ObjectId(),
        "filename": f"u-{n}.jpg",
        "output_prediction": rng.randrange(7),
        "output_confidence": confidence,
        "output_validated": None,
        "timestamp": stamp,
        "timestamp_validated": None,
        "logged": False,
    }


def hostile(settings: CommonSettings, day: date) -> list[dict]:
    """Return unreviewed documents that break the contract, on `day` (and two whose day cannot be read)."""
    at = day_start(day, settings.tz) + timedelta(hours=9)
    base = {
        "filename": "h.jpg",
        "output_prediction": 1,
        "output_confidence": 0.5,
        "output_validated": None,
        "timestamp": at,
        "timestamp_validated": None,
    }
    return [
        {**base, "output_prediction": [1, 2]},
        {**base, "output_prediction": 99},
        {**base, "output_confidence": float("nan")},
        {**base, "output_confidence": 1.5},
        {**base, "output_confidence": [0.5]},
        {key: value for key, value in base.items() if key != "filename"},
        {**base, "logged": "yes"},
        {**base, "output_validated": 3},  # a verdict without its validation time
        {**base, "timestamp": f"{day.isoformat()}T25:00:00"},  # found by the day's strings, unreadable: no day
        {**base, "timestamp": 1767225600},  # a number: no day
    ]


def test_the_summary_equals_a_recount_after_inserts_reviews_corrections_deletes_and_hostile_documents(
    db: Database, settings: CommonSettings, logger: LoggerService
) -> None:
    rng = random.Random(11)
    collection = db[settings.PREDICTIONS_COLLECTION]
    current = today(settings.tz)
    collection.insert_many([pending(rng, settings, current - timedelta(days=rng.randrange(12)), n) for n in range(700)])
    collection.insert_many(hostile(settings, current - timedelta(days=2)))
    first = logger.tick()
    assert first.unreviewed_days >= 12
    stored = assert_summary_is_a_recount(db, settings)
    assert stored[(current - timedelta(days=2)).isoformat()]["invalid"] == 8
    as_of = db[STATE_COLLECTION].find_one({"_id": STATE_ID})["unreviewed_as_of"]

    # Reviews: some anywhere, and every prediction of one day, which drops to zero.
    emptied = current - timedelta(days=9)
    docs = list(collection.find({"output_validated": None, "output_prediction": {"$in": list(range(7))}}))
    reviewed_ids = [d["_id"] for d in docs if readable_day(d["timestamp"], settings.tz) == emptied.isoformat()]
    reviewed_ids += [d["_id"] for d in rng.sample(docs, 80)]
    now = datetime.now(UTC) - timedelta(seconds=5)
    collection.update_many(
        {"_id": {"$in": reviewed_ids}}, {"$set": {"output_validated": 2, "timestamp_validated": now}}
    )
    report = logger.tick()
    assert db[STATE_COLLECTION].find_one({"_id": STATE_ID})["unreviewed_as_of"] > as_of
    assert report.unreviewed_days <= 13  # only the days that can have changed
    stored = assert_summary_is_a_recount(db, settings)
    assert stored[emptied.isoformat()]["unreviewed"] == 0 and stored[emptied.isoformat()]["cells"] == {}

    # A correction (a new verdict, a new time) changes nothing unreviewed; new predictions of today, with
    # ids that are no ObjectId too, are found.
    collection.update_many(
        {"_id": {"$in": reviewed_ids[:10]}}, {"$set": {"output_validated": 4, "timestamp_validated": datetime.now(UTC)}}
    )
    collection.insert_many([{**pending(rng, settings, current, 2000 + n), "_id": f"string-id-{n}"} for n in range(5)])
    logger.tick()
    assert_summary_is_a_recount(db, settings)

    # A back-dated insert, a delete and an edit in place leave no trace a tick can find: a reconcile
    # recounts those days.
    collection.insert_many([pending(rng, settings, current - timedelta(days=6), 1000 + n) for n in range(5)])
    older = current - timedelta(days=5)
    victims = [
        d["_id"]
        for d in collection.find(
            {
                "timestamp_validated": None,
                "timestamp": {
                    "$gte": day_start(older, settings.tz),
                    "$lt": day_start(older + timedelta(days=1), settings.tz),
                },
            }
        )
    ]
    assert victims
    collection.delete_many({"_id": {"$in": victims[:3]}})
    collection.update_one({"_id": victims[3]}, {"$set": {"output_confidence": 0.123}})
    logger.tick()
    logger.reconcile(current - timedelta(days=7), current)
    assert_summary_is_a_recount(db, settings)

    # A full recount (`--reconcile --all`) gives the same, and a day with nothing left drops to zero.
    collection.insert_many([pending(rng, settings, current - timedelta(days=20), 3000 + n) for n in range(5)])
    emptied = (current - timedelta(days=11)).isoformat()
    collection.delete_many(
        {
            "_id": {
                "$in": [
                    d["_id"]
                    for d in collection.find({"timestamp_validated": None})
                    if readable_day(d.get("timestamp"), settings.tz) == emptied
                ]
            }
        }
    )
    logger.recount_unreviewed()
    stored = assert_summary_is_a_recount(db, settings)
    assert stored[(current - timedelta(days=20)).isoformat()]["unreviewed"] == 5
    assert stored[emptied]["unreviewed"] == 0 and stored[emptied]["invalid"] == 0


def random_day(settings: CommonSettings, rng: np.random.Generator, day: date, n: int, reviewed: bool) -> list[dict]:
    predicted = rng.integers(0, 7, n)
    confidence = rng.beta(5, 2, n)
    confidence[rng.random(n) < 0.05] = np.nan
    edges = rng.random(n) < 0.05
    confidence[edges] = rng.choice([0.0, 0.1, 0.5, 0.9, 1.0], edges.sum())
    correct = rng.random(n) < np.clip(confidence**1.5 - 0.1 * (predicted == 3), 0.01, 0.99)
    start = day_start(day, settings.tz)
    docs = []
    for i, (p, c, ok) in enumerate(zip(predicted, confidence, correct)):
        made = min(start + timedelta(seconds=int(rng.integers(0, 86_000))), datetime.now(UTC) - timedelta(minutes=3))
        verdict = (int(p) if ok else int((p + 1) % 7)) if reviewed else None
        docs.append(drawn_prediction(f"r-{day}-{i}.jpg", p, c, made, verdict, margin=timedelta(minutes=2)))
    return docs


def test_the_estimate_from_the_summary_equals_the_per_prediction_computation(
    db: Database, settings: CommonSettings, logger: LoggerService
) -> None:
    """Σp and the Poisson-binomial variance from (n, Σc, Σc²) per bin equal the sums over the predictions."""
    rng = np.random.default_rng(5)
    collection = db[settings.PREDICTIONS_COLLECTION]
    current = today(settings.tz)
    for offset in range(25, 8, -1):
        collection.insert_many(random_day(settings, rng, current - timedelta(days=offset), 150, reviewed=True))
    for offset in range(8, -1, -1):
        collection.insert_many(random_day(settings, rng, current - timedelta(days=offset), 200, reviewed=False))
    logger.tick()
    service = monitor_settings(settings)
    ledger = db[STATE_COLLECTION].find_one({"_id": STATE_ID})
    fitted = accuracy_estimates.fitted_map(db, service, current)[0]
    first = current - timedelta(days=10)
    from_summary = accuracy_estimates.unreviewed_estimates(db, collection, fitted, first, current, service, ledger)
    per_prediction = accuracy_estimates.unreviewed_estimates(db, collection, fitted, first, current, service, None)
    assert (from_summary.source, per_prediction.source) == ("summary", "predictions")
    assert from_summary.as_of is not None and per_prediction.as_of is None
    days = [day for day, (count, _) in per_prediction.days.items() if count]
    assert len(days) == 9
    slopes = {fitted.line(k // 10, k % 10).slope for k in range(70)}
    assert len(slopes) > 10, "the map must move within bins, or the test proves nothing"
    for day in days:
        count, band = from_summary.days[day]
        reference_count, reference = per_prediction.days[day]
        assert count == reference_count == 200
        for name in ("estimate", "lower", "upper", "sampling_sd", "calibration_sd"):
            assert getattr(band, name) == pytest.approx(getattr(reference, name), rel=1e-12, abs=1e-13), (day, name)


def test_the_route_answers_from_the_summary_as_of_the_tick_and_without_a_logger_from_the_predictions(
    db: Database, settings: CommonSettings, logger: LoggerService, client: FlaskClient
) -> None:
    rng = random.Random(3)
    collection = db[settings.PREDICTIONS_COLLECTION]
    current = today(settings.tz)
    yesterday = current - timedelta(days=1)
    collection.insert_many([pending(rng, settings, yesterday, n) for n in range(40)])
    route = f"/api/estimated-performance?start_date={yesterday}&end_date={current}"
    before = client.get(route).get_json()  # no logger yet: read from the predictions
    assert before["unreviewed_source"] == "predictions" and before["unreviewed_as_of"] is None
    logger.tick()
    collection.insert_many([pending(rng, settings, current, 100 + n) for n in range(7)])
    after = client.get(route).get_json()
    logger.tick()
    later = client.get(route).get_json()
    counts = [[d["unreviewed"] for d in body["days"]] for body in (before, after, later)]
    assert counts == [[40, 0], [40, 0], [40, 7]]  # made after the tick: counted from the next one
    assert after["unreviewed_source"] == "summary"
    assert later["unreviewed_as_of"] > after["unreviewed_as_of"] and "summary" in later["source"]
