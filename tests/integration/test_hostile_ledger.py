"""The ledger's own documents in a shape no model declares (a release before or after this one, a hand edit):
the answers that pass them through leave the part that does not fit out, and keep answering 200."""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from pymongo import MongoClient
from pymongo.database import Database

from clara_common.days import local_day, today
from clara_common.db import make_client
from clara_common.ledger import (
    ALERTS_COLLECTION,
    BATCHES_COLLECTION,
    HISTORY_COLLECTION,
    STATE_COLLECTION,
    STATE_ID,
    TRAFFIC_COLLECTION,
    UNREVIEWED_COLLECTION,
    stored,
)
from clara_common.settings import CommonSettings
from clara_logger.tick import LoggerService
from clara_monitor.settings import MonitorSettings
from tests.utils.monitor_app import build_monitor, close_monitor
from tests.utils.predictions import prediction
from tests.utils.settings import logger_settings, monitor_settings

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


# -- one field of one ledger document of another type, every route ------------------------------------------------
#
# One logged database for the module; each case corrupts one field of the first document of a collection, asks
# every GET route of a monitor built for the case (its caches start empty), and puts the document back.

ROUTES = (
    "/api/metrics",
    "/api/status",
    "/api/drift",
    "/api/alerts",
    "/api/confusion",
    "/api/class-metrics/daily",
    "/api/training-data",
    "/api/date-range",
    "/api/calibration",
    "/api/estimated-performance",
    "/api/traffic",
    "/data",
    "/training-data",
    "/min-date",
    "/metrics",
)
# The routes asked without a range.
UNRANGED = ("/api/status", "/api/date-range")
BAD_VALUES = ("x", {"weird": 1})
FIELDS = {
    STATE_COLLECTION: (
        "adopted_at",
        "corrections_since",
        "created_at",
        "judged_with",
        "last_reconcile",
        "last_reconcile_at",
        "last_tick",
        "signal",
        "timezone",
        "traffic_as_of",
        "unreviewed_as_of",
    ),
    HISTORY_COLLECTION: (
        "applied_batches",
        "calibration",
        "confidence_histogram",
        "confidence_missing",
        "confusion",
        "count",
        "drift",
        "drift_stale",
        "invalid",
        "metrics",
        "profile",
        "updated_at",
        "version",
    ),
    UNREVIEWED_COLLECTION: ("as_of", "cells", "invalid", "unreviewed", "without_confidence"),
    TRAFFIC_COLLECTION: (
        "as_of",
        "awaiting",
        "invalid",
        "median_review_hours",
        "predictions",
        "predictions_by_hour",
        "reviewed",
        "reviews_by_hour",
    ),
}
TRAFFIC_DAY_FIELDS = ("predictions", "reviewed", "awaiting", "median_review_hours", "invalid")


@dataclass(frozen=True)
class Ledger:
    """The module's logged database, its monitor settings, and every route's answer before any corruption."""

    db: Database
    settings: MonitorSettings
    query: str
    day: str
    baseline: dict[str, Any]

    def first(self, collection: str) -> dict[str, Any]:
        found = self.db[collection].find_one({}, sort=[("_id", 1)])
        assert found is not None, f"the logger wrote no {collection} document"
        return found

    def answers(self) -> tuple[dict[str, Any], list[tuple[str, int]]]:
        """Return every route's JSON answer (None for text), and the routes that answered 5xx, from a new monitor."""
        app = build_monitor(self.settings)
        try:
            client = app.test_client()
            found, failed = {}, []
            for route in ROUTES:
                response = client.get(
                    route + ("" if route in UNRANGED or not route.startswith("/api/") else self.query)
                )
                if response.status_code >= 500:
                    failed.append((route, response.status_code))
                found[route] = response.get_json(silent=True)
            return found, failed
        finally:
            close_monitor(app)


@pytest.fixture(scope="module")
def ledger(mongo_client: MongoClient, mongo_uri: str) -> Iterator[Ledger]:
    """Log 40 reviewed predictions and 10 awaiting review into a database of the module's own; yield its answers."""
    common = CommonSettings.from_env({}, MONGODB_URI=mongo_uri, MONGODB_DB=f"test_{uuid.uuid4().hex[:12]}")
    db = mongo_client[common.MONGODB_DB]
    rng = random.Random(3)
    now = datetime.now(UTC) - timedelta(hours=1)
    docs = [
        {**prediction(rng, i), "timestamp": now - timedelta(minutes=5), "timestamp_validated": now} for i in range(40)
    ]
    docs += [{**prediction(rng, 100 + i, reviewed=False), "timestamp": now} for i in range(10)]
    db[common.PREDICTIONS_COLLECTION].insert_many(docs)
    with make_client(common, appname="clara-logger") as client:
        LoggerService(logger_settings(common), client).tick()
    day = today(common.tz)
    found = Ledger(db, monitor_settings(common), f"?start_date={day - timedelta(days=6)}&end_date={day}", "", {})
    baseline, failed = found.answers()
    assert not failed
    yield Ledger(db, found.settings, found.query, local_day(now, common.tz).isoformat(), baseline)
    mongo_client.drop_database(common.MONGODB_DB)


@contextmanager
def corrupted(db: Database, collection: str, document: dict[str, Any], changes: dict[str, Any]) -> Iterator[None]:
    """Set `changes` (dotted paths allowed) on a stored document, and put the document back afterwards."""
    db[collection].update_one({"_id": document["_id"]}, {"$set": changes})
    try:
        yield
    finally:
        db[collection].replace_one({"_id": document["_id"]}, document)


def kept(ledger: Ledger, collection: str, field: str, found: dict[str, Any]) -> list[str]:
    """Return the parts of the answers a corrupted `field` of `collection` must leave as they were, that changed."""
    expected = []
    # Another time zone is refused (409); the confusion is what the total counts.
    if (collection, field) not in {(STATE_COLLECTION, "timezone"), (HISTORY_COLLECTION, "confusion")}:
        expected.append(("/api/metrics", "total_validated"))
    if collection == HISTORY_COLLECTION and field != "calibration":
        expected.append(("/api/calibration", "with_confidence"))
    changed = [
        f"{route} {key}: {ledger.baseline[route][key]!r} -> {(found[route] or {}).get(key)!r}"
        for route, key in expected
        if (found[route] or {}).get(key) != ledger.baseline[route][key]
    ]
    if collection == TRAFFIC_COLLECTION:
        before = next(d for d in ledger.baseline["/api/traffic"]["days"] if d["day"] == ledger.day)
        after = next(d for d in found["/api/traffic"]["days"] if d["day"] == ledger.day)
        changed += [
            f"/api/traffic {name}: {before[name]!r} -> {after[name]!r}"
            for name in TRAFFIC_DAY_FIELDS
            if name != field and before[name] != after[name]
        ]
    return changed


@pytest.mark.parametrize("bad", BAD_VALUES, ids=("string", "object"))
@pytest.mark.parametrize(
    ("collection", "field"), [(collection, field) for collection, fields in FIELDS.items() for field in fields]
)
def test_one_ledger_field_of_another_type_leaves_every_route_answering_and_the_rest_of_the_answer(
    ledger: Ledger, collection: str, field: str, bad: object
) -> None:
    with corrupted(ledger.db, collection, ledger.first(collection), {field: bad}):
        found, failed = ledger.answers()

    assert failed == []
    assert kept(ledger, collection, field, found) == []


def confusion_cell(ledger: Ledger) -> tuple[str, str, int]:
    """Return a nonzero cell of the first history day's confusion: (true id, predicted id, n)."""
    confusion = ledger.first(HISTORY_COLLECTION)["confusion"]
    return next((t, p, n) for t, row in confusion.items() for p, n in row.items() if n)


def test_a_confusion_row_of_another_type_is_left_out_and_the_other_rows_counted(ledger: Ledger) -> None:
    true, _, _ = confusion_cell(ledger)
    history = ledger.first(HISTORY_COLLECTION)
    row = sum(history["confusion"][true].values())

    with corrupted(ledger.db, HISTORY_COLLECTION, history, {f"confusion.{true}": "x"}):
        found, failed = ledger.answers()

    assert failed == []
    assert found["/api/metrics"]["total_validated"] == ledger.baseline["/api/metrics"]["total_validated"] - row


def test_a_confusion_cell_of_another_type_is_left_out_and_the_other_cells_counted(ledger: Ledger) -> None:
    true, predicted, n = confusion_cell(ledger)
    history = ledger.first(HISTORY_COLLECTION)

    with corrupted(ledger.db, HISTORY_COLLECTION, history, {f"confusion.{true}.{predicted}": "x"}):
        found, failed = ledger.answers()

    assert failed == []
    assert found["/api/metrics"]["total_validated"] == ledger.baseline["/api/metrics"]["total_validated"] - n


@pytest.mark.parametrize(
    "changes",
    [
        {"drift.predicted_class": "x"},
        {"drift.evaluated_at": "x"},
        {"drift.evaluated_at": {"weird": 1}},
        {"calibration.0": "x"},
        {"calibration.0.0": "x"},
        {"calibration.0.0.0": "x"},
    ],
    ids=str,
)
def test_a_nested_history_part_of_another_type_leaves_every_route_answering(
    ledger: Ledger, changes: dict[str, Any]
) -> None:
    with corrupted(ledger.db, HISTORY_COLLECTION, ledger.first(HISTORY_COLLECTION), changes):
        found, failed = ledger.answers()

    assert failed == []
    assert found["/api/metrics"]["total_validated"] == ledger.baseline["/api/metrics"]["total_validated"]


@pytest.mark.parametrize(
    "changes",
    [
        {"last_tick.finished_at": "x"},
        {"last_tick.report": {"weird": 1}},
        {"signal.reference": "x"},
        {"signal.reference.classes": "x"},
        {"last_reconcile": {"first_day": 7}},
    ],
    ids=str,
)
def test_a_nested_state_part_of_another_type_leaves_every_route_answering(
    ledger: Ledger, changes: dict[str, Any]
) -> None:
    with corrupted(ledger.db, STATE_COLLECTION, ledger.first(STATE_COLLECTION), changes):
        found, failed = ledger.answers()

    assert failed == []
    assert found["/api/metrics"]["total_validated"] == ledger.baseline["/api/metrics"]["total_validated"]


@pytest.mark.parametrize("collection", [ALERTS_COLLECTION, BATCHES_COLLECTION])
def test_any_field_of_an_alert_or_a_batch_of_another_type_leaves_every_route_answering(
    ledger: Ledger, collection: str
) -> None:
    """Their fields differ by kind and state: each field of the first stored one, in turn (an incident of the
    logger's shape where these predictions made none)."""
    incident = {
        "_id": f"performance:accuracy:{ledger.day}",
        "kind": "performance",
        "metric": "accuracy",
        "day": ledger.day,
        "since": ledger.day,
        "status": "open",
        "value": 0.5,
        "reference": 0.9,
        "count": 40,
        "text": "accuracy fell",
        "created_at": datetime.now(UTC),
    }
    added = collection == ALERTS_COLLECTION and ledger.db[collection].find_one() is None
    if added:
        ledger.db[collection].insert_one(incident)
    document = ledger.first(collection)
    failures = []
    try:
        for field in [name for name in document if name != "_id"]:
            for bad in BAD_VALUES:
                with corrupted(ledger.db, collection, document, {field: bad}):
                    failures += [(field, bad, route, code) for route, code in ledger.answers()[1]]
    finally:
        if added:
            ledger.db[collection].delete_one({"_id": incident["_id"]})

    assert failures == []


def test_a_field_left_out_is_logged_once_naming_its_collection_document_and_field(
    ledger: Ledger, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stored, "_warned", set())
    state = ledger.first(STATE_COLLECTION)

    with corrupted(ledger.db, STATE_COLLECTION, state, {"corrections_since": "x"}), caplog.at_level(logging.WARNING):
        ledger.answers()
        ledger.answers()

    warnings = [r.getMessage() for r in caplog.records if "corrections_since" in r.getMessage()]
    assert len(warnings) == 1
    assert STATE_COLLECTION in warnings[0] and STATE_ID in warnings[0]
