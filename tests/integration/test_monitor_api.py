"""Every monitor route against the real database, checked against parse_prediction and scikit-learn."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from flask.testing import FlaskClient
from pymongo import MongoClient
from pymongo.collection import Collection
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support, precision_score, recall_score

from clara_common.contract import REJECTED_TRUE_CLASS, Prediction, parse_prediction
from clara_common.days import day_start, local_day, today
from clara_common.db import ensure_indexes, predictions
from clara_common.settings import CommonSettings
from clara_monitor.settings import MonitorSettings
from tests.utils.monitor_app import MakeMonitor
from tests.utils.monitor_databases import sample_database, unreachable_settings
from tests.utils.reference import source_records

pytestmark = pytest.mark.integration

TZ_NAME = "Europe/Madrid"
SEED_DAYS = 20


def malformed_documents(settings: MonitorSettings) -> list[dict]:
    """Return contract-breaking documents validated inside the seeded range, and two valid string-dated ones."""
    when = day_start(today(settings.tz) - timedelta(days=3), settings.tz) + timedelta(hours=12)
    base = {
        "filename": "odd.jpg",
        "output_prediction": 1,
        "output_validated": 1,
        "timestamp": when,
        "timestamp_validated": when,
    }
    return [
        {**base, "output_prediction": 42},
        {**base, "output_validated": "blue"},
        {**base, "output_confidence": math.nan},
        {**base, "filename": ""},
        {**base, "timestamp": "not a date"},
        {
            **base,
            "timestamp_validated": when.astimezone(settings.tz).replace(tzinfo=None).isoformat(),
        },  # valid, local string
        {
            **base,
            "timestamp_validated": (when + timedelta(hours=1)).isoformat(),
            "output_validated": False,
        },  # valid, legacy
    ]


@pytest.fixture(scope="module")
def seeded(mongo_uri: str, mongo_client: MongoClient) -> Iterator[MonitorSettings]:
    """Return settings for a database seeded once for this module."""
    with sample_database(
        mongo_uri, mongo_client, "test_monitor", days=SEED_DAYS, per_day=40, seed=3, TIMEZONE=TZ_NAME
    ) as settings:
        predictions(mongo_client, settings).insert_many(malformed_documents(settings))
        yield settings


@pytest.fixture(name="monitor_settings")
def seeded_monitor_settings(seeded: MonitorSettings) -> MonitorSettings:
    """Point the `client` fixture's monitor at the module's sample database."""
    return seeded


@pytest.fixture
def fresh(
    settings: CommonSettings, mongo_client: MongoClient, make_monitor: MakeMonitor
) -> Iterator[tuple[FlaskClient, Collection, MonitorSettings]]:
    """Return a client over this test's own (empty) database, for tests that write."""
    settings = MonitorSettings.from_env(
        {}, MONGODB_URI=settings.MONGODB_URI, MONGODB_DB=settings.MONGODB_DB, TIMEZONE=TZ_NAME
    )
    ensure_indexes(mongo_client, settings)
    yield make_monitor(settings), predictions(mongo_client, settings), settings
    mongo_client.drop_database(settings.MONGODB_DB)


def reference(collection: Collection, settings: MonitorSettings, first: date, last: date, average: str) -> dict:
    """Return the expected answer: every document parsed in Python, metrics by scikit-learn."""
    records, invalid = [], 0
    for doc in collection.find():
        validated_at = doc.get("timestamp_validated")
        record = parse_prediction(doc, settings.classes, settings.tz)
        if isinstance(record, Prediction):
            if record.is_validated and first <= local_day(record.timestamp_validated, settings.tz) <= last:
                records.append(record)
        elif isinstance(validated_at, datetime) and first <= local_day(validated_at, settings.tz) <= last:
            invalid += 1
    y_true = [r.true_class for r in records]
    y_pred = [r.predicted_class for r in records]
    labels = sorted({*y_true, *y_pred} - {REJECTED_TRUE_CLASS})
    nan_none = lambda v: None if math.isnan(v) else v  # noqa: E731
    precision, recall, f1, _ = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average=average, zero_division=np.nan
    )
    by_class = {c.name: sum(1 for r in records if r.true_class == c.id) for c in settings.classes.classes}
    return {
        "total_validated": len(records),
        "metrics": {
            "precision": nan_none(precision),
            "accuracy": accuracy_score(y_true, y_pred),
            "recall": nan_none(recall),
            "f1": nan_none(f1),
        },
        "class_counts": by_class,
        "invalid_records": invalid,
        "days": {
            d: sum(1 for r in records if local_day(r.timestamp_validated, settings.tz).isoformat() == d)
            for d in {local_day(r.timestamp_validated, settings.tz).isoformat() for r in records}
        },
    }


@pytest.mark.parametrize("average", ["macro", "weighted", "micro"])
def test_metrics_equal_the_reference_over_a_range(
    client: FlaskClient, seeded: MonitorSettings, mongo_client: MongoClient, average: str
) -> None:
    last = today(seeded.tz)
    first = last - timedelta(days=9)
    answer = client.get(f"/api/metrics?start_date={first}&end_date={last}&average={average}")
    assert answer.status_code == 200
    body = answer.get_json()
    want = reference(predictions(mongo_client, seeded), seeded, first, last, average)
    assert body["total_validated"] == want["total_validated"] > 100
    assert body["class_counts"] == want["class_counts"]
    assert body["invalid_records"] == want["invalid_records"] == 5
    for name, value in want["metrics"].items():
        assert body["metrics"][name] == pytest.approx(value, rel=1e-12)
    assert list(body["daily_metrics"]) == [(first + timedelta(days=i)).isoformat() for i in range(10)]
    assert {d: m["entries"] for d, m in body["daily_metrics"].items() if m["entries"]} == want["days"]
    assert (body["start_date"], body["end_date"], body["timezone"], body["average"]) == (
        str(first),
        str(last),
        TZ_NAME,
        average,
    )
    assert body["color_dict"] == seeded.classes.color_dict()
    assert set(body["class_metrics"]) == set(seeded.classes.names)


def test_default_range_is_the_last_seven_days_and_macro(client: FlaskClient, seeded: MonitorSettings) -> None:
    body = client.get("/api/metrics").get_json()
    assert body["end_date"] == today(seeded.tz).isoformat()
    assert body["start_date"] == (today(seeded.tz) - timedelta(days=6)).isoformat()
    assert body["average"] == "macro" and len(body["daily_metrics"]) == 7


def test_range_without_data_has_zero_entries_and_null_metrics(client: FlaskClient) -> None:
    body = client.get("/api/metrics?start_date=2001-01-01&end_date=2001-01-03").get_json()
    assert body["total_validated"] == 0
    assert body["metrics"] == {"precision": None, "accuracy": None, "recall": None, "f1": None}
    assert all(
        day == {"entries": 0, "precision": None, "accuracy": None, "recall": None, "f1": None}
        for day in body["daily_metrics"].values()
    )


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("start_date=2026-02-30&end_date=2026-03-02", "start_date is not a calendar date"),
        ("start_date=03/01/2026", "start_date must be a date written YYYY-MM-DD"),
        ("start_date=20260301", "start_date must be a date written YYYY-MM-DD"),
        ("end_date=tomorrow", "end_date must be a date written YYYY-MM-DD"),
        ("start_date=2026-03-05&end_date=2026-03-01", "is after end_date"),
        ("start_date=2025-01-01&end_date=2026-01-02", "at most 366"),
        ("average=binary", "average must be one of macro, weighted, micro"),
    ],
)
def test_bad_input_is_a_400_that_says_what_is_wrong(client: FlaskClient, query: str, message: str) -> None:
    answer = client.get(f"/api/metrics?{query}")
    assert answer.status_code == 400
    assert message in answer.get_json()["error"]


def test_a_range_of_exactly_366_days_is_allowed(client: FlaskClient) -> None:
    assert client.get("/api/metrics?start_date=2024-01-01&end_date=2024-12-31").status_code == 200


def test_date_range_spans_the_first_and_last_validated_day(
    client: FlaskClient, seeded: MonitorSettings, mongo_client: MongoClient
) -> None:
    days = sorted(
        local_day(r.timestamp_validated, seeded.tz).isoformat()
        for r in (parse_prediction(d, seeded.classes, seeded.tz) for d in predictions(mongo_client, seeded).find())
        if isinstance(r, Prediction) and r.is_validated
    )
    body = client.get("/api/date-range").get_json()
    assert (body["min_date"], body["max_date"]) == (days[0], days[-1])


def test_training_data_adds_trained_predictions_to_the_configured_counts(
    client: FlaskClient, seeded: MonitorSettings, mongo_client: MongoClient
) -> None:
    trained = {c.name: 0 for c in seeded.classes.classes}
    for doc in predictions(mongo_client, seeded).find():  # every document: the route reads through an index
        record = parse_prediction(doc, seeded.classes, seeded.tz)
        if (
            isinstance(record, Prediction)
            and record.trained
            and record.is_validated
            and record.true_class != REJECTED_TRUE_CLASS
        ):
            trained[seeded.classes.name_of(record.true_class)] += 1
    body = client.get("/api/training-data").get_json()
    configured = seeded.classes.training_counts()
    assert body["class_counts"] == {name: configured[name] + trained[name] for name in configured}
    assert body["color_dict"] == seeded.classes.color_dict()


# -- the original CLARA dashboard's routes ------------------------------------------------------------


def original_expected(records: list[Prediction], settings: MonitorSettings) -> dict:
    """Return what the original /data computed for these records: weighted precision and F1, micro recall and
    one-vs-rest scores per class, all with zero_division=1 (legacy rejections are wrong, never a label)."""
    y_true = [r.true_class for r in records]
    y_pred = [r.predicted_class for r in records]
    labels = sorted({*y_true, *y_pred} - {REJECTED_TRUE_CLASS})
    return {
        "metrics": {
            "precision": precision_score(y_true, y_pred, labels=labels, average="weighted", zero_division=1),
            "accuracy": accuracy_score(y_true, y_pred),
            "recall": recall_score(y_true, y_pred, labels=labels, average="micro", zero_division=1),
            "f1": f1_score(y_true, y_pred, labels=labels, average="weighted", zero_division=1),
        },
        "class_metrics": {
            c.name: {
                "precision": precision_score([t == c.id for t in y_true], [p == c.id for p in y_pred], zero_division=1),
                "recall": recall_score([t == c.id for t in y_true], [p == c.id for p in y_pred], zero_division=1),
                "f1": f1_score([t == c.id for t in y_true], [p == c.id for p in y_pred], zero_division=1),
            }
            for c in settings.classes.classes
        },
    }


def test_original_data_route_answers_the_originals_shape_and_averaging(
    client: FlaskClient, seeded: MonitorSettings, mongo_client: MongoClient
) -> None:
    last = today(seeded.tz)
    first = last - timedelta(days=9)
    body = client.get(f"/data?start_date={first}&end_date={last}").get_json()
    assert list(body) == ["total_validated", "class_counts", "metrics", "daily_metrics", "class_metrics", "color_dict"]
    records, _ = source_records(predictions(mongo_client, seeded), seeded, first, last)
    want = original_expected(records, seeded)
    assert body["total_validated"] == len(records) > 100
    assert body["class_counts"] == {c.name: sum(r.true_class == c.id for r in records) for c in seeded.classes.classes}
    assert body["metrics"] == pytest.approx(want["metrics"], rel=1e-12)
    for name, scores in want["class_metrics"].items():
        assert body["class_metrics"][name] == pytest.approx(scores, rel=1e-12), name
    assert body["color_dict"] == seeded.classes.color_dict()
    days = [(first + timedelta(days=i)).isoformat() for i in range(10)]
    assert list(body["daily_metrics"]) == days
    for day in days:
        of_day = [r for r in records if local_day(r.timestamp_validated, seeded.tz).isoformat() == day]
        daily = body["daily_metrics"][day]
        assert daily["entries"] == len(of_day)
        if of_day:
            assert daily == pytest.approx({"entries": len(of_day), **original_expected(of_day, seeded)["metrics"]})
    # Not /api/metrics' macro averages: an existing client keeps the numbers it got.
    assert (
        body["metrics"]["precision"]
        != client.get(f"/api/metrics?start_date={first}&end_date={last}").get_json()["metrics"]["precision"]
    )


def test_original_data_route_defaults_to_the_week_before_today_inclusive(
    client: FlaskClient, seeded: MonitorSettings
) -> None:
    body = client.get("/data").get_json()
    current = today(seeded.tz)
    assert list(body["daily_metrics"]) == [(current - timedelta(days=7 - i)).isoformat() for i in range(8)]


def test_original_data_route_gives_empty_days_null_scores_not_a_carried_value(client: FlaskClient) -> None:
    body = client.get("/data?start_date=2001-01-01&end_date=2001-01-02").get_json()
    assert body["total_validated"] == 0
    assert body["metrics"] == {"precision": None, "accuracy": None, "recall": None, "f1": None}
    assert body["daily_metrics"]["2001-01-01"] == {
        "entries": 0,
        "precision": None,
        "accuracy": None,
        "recall": None,
        "f1": None,
    }


def test_original_data_route_refuses_a_bad_date_with_a_400(client: FlaskClient) -> None:
    for query in ("start_date=2026-13-01", "end_date=yesterday"):
        answer = client.get(f"/data?{query}")
        assert answer.status_code == 400 and "error" in answer.get_json()


def test_original_training_data_and_min_date_routes_answer_the_originals_shape(
    client: FlaskClient, seeded: MonitorSettings
) -> None:
    assert client.get("/training-data").get_json() == {
        "class_counts": seeded.classes.training_counts(),
        "color_dict": seeded.classes.color_dict(),
    }
    assert client.get("/min-date").get_json() == {"min_date": client.get("/api/date-range").get_json()["min_date"]}


def test_health_and_readiness(client: FlaskClient) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/readyz").get_json() == {"status": "ready"}


def test_dashboard_page_is_served_with_vendored_chart_js(client: FlaskClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and b"chart.umd.min.js" in page.data
    with client.get("/static/vendor/chart.umd.min.js") as script:
        assert script.status_code == 200 and b"Chart.js v4" in script.data


def test_unknown_route_is_a_json_404(client: FlaskClient) -> None:
    answer = client.get("/api/nothing")
    assert answer.status_code == 404 and "error" in answer.get_json()


def test_database_down_is_a_503_with_a_json_error(make_monitor: MakeMonitor) -> None:
    assert_all_503(make_monitor(unreachable_settings()))


def assert_all_503(client: FlaskClient) -> None:
    for route in ("/api/metrics", "/api/date-range", "/api/training-data", "/readyz", "/data"):
        answer = client.get(route)
        assert answer.status_code == 503, route
        assert "database is unavailable" in answer.get_json()["error"]
        assert b"Traceback" not in answer.data
    assert client.get("/healthz").status_code == 200


# -- the cache -------------------------------------------------------------------------------------


def validated_doc(settings: MonitorSettings, day: date, predicted: int, true: int, hour: int = 12) -> dict:
    at = day_start(day, settings.tz) + timedelta(hours=hour)
    return {
        "filename": f"{uuid.uuid4().hex}.jpg",
        "output_prediction": predicted,
        "output_validated": true,
        "timestamp": at - timedelta(hours=1),
        "timestamp_validated": at,
        "logged": False,
    }


def entries(client: FlaskClient, first: date, last: date) -> dict[str, int]:
    body = client.get(f"/api/metrics?start_date={first}&end_date={last}").get_json()
    return {day: m["entries"] for day, m in body["daily_metrics"].items()}


def test_a_late_insert_into_a_closed_day_is_counted(fresh) -> None:
    client, collection, settings = fresh
    closed = today(settings.tz) - timedelta(days=5)
    collection.insert_many([validated_doc(settings, closed, 1, 1), validated_doc(settings, closed, 2, 2)])
    assert entries(client, closed, closed) == {closed.isoformat(): 2}
    collection.insert_one(validated_doc(settings, closed, 3, 4))
    assert entries(client, closed, closed) == {closed.isoformat(): 3}
    body = client.get(f"/api/metrics?start_date={closed}&end_date={closed}").get_json()
    assert body["metrics"]["accuracy"] == pytest.approx(2 / 3)


def test_a_revalidation_that_moves_a_record_to_another_day_is_counted_once(fresh) -> None:
    client, collection, settings = fresh
    current = today(settings.tz)
    closed = current - timedelta(days=4)
    doc = validated_doc(settings, closed, 1, 1)
    collection.insert_many([doc, validated_doc(settings, closed, 2, 2)])
    first = current - timedelta(days=6)
    assert entries(client, first, current)[closed.isoformat()] == 2
    collection.update_one(
        {"_id": doc["_id"]}, {"$set": {"output_validated": 5, "timestamp_validated": datetime.now(UTC)}}
    )
    after = entries(client, first, current)
    assert after[closed.isoformat()] == 1
    assert after[current.isoformat()] == 1
    body = client.get(f"/api/metrics?start_date={current}&end_date={current}").get_json()
    assert body["metrics"]["accuracy"] == 0.0 and body["class_counts"]["grey"] == 1


def test_a_new_validation_of_a_pending_prediction_is_counted(fresh) -> None:
    client, collection, settings = fresh
    current = today(settings.tz)
    pending = {**validated_doc(settings, current - timedelta(days=1), 6, None), "timestamp_validated": None}
    collection.insert_one(pending)
    assert entries(client, current, current) == {current.isoformat(): 0}
    collection.update_one(
        {"_id": pending["_id"]}, {"$set": {"output_validated": 6, "timestamp_validated": datetime.now(UTC)}}
    )
    assert entries(client, current, current) == {current.isoformat(): 1}
