"""Incidents on the monitor's side (docs/signal.md): /api/alerts with its verdict, the reference levels of
/api/metrics, the judged thresholds of /api/drift, the open-incidents gauge and the range total of
/api/estimated-performance.

The incidents are written here as the logger writes them (documents in `logger_alerts`), hostile ones
beside them; the verdict's text is checked on the pure function first.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from statistics import NormalDist
from typing import Any

import pytest
from bson import ObjectId
from flask.testing import FlaskClient
from pymongo.database import Database

from clara_common import calibration
from clara_common.contract import Prediction, parse_prediction
from clara_common.days import day_start, local_day, today
from clara_common.db import ensure_indexes
from clara_common.ledger import ALERTS_COLLECTION, HISTORY_COLLECTION, STATE_COLLECTION, STATE_ID
from clara_common.settings import CommonSettings
from clara_logger.tick import LoggerService
from clara_monitor import accuracy_estimates, incidents
from tests.utils.drawn_predictions import drawn_prediction
from tests.utils.monitor_app import MakeMonitor
from tests.utils.settings import monitor_settings

pytestmark = pytest.mark.integration

NOW = datetime(2025, 11, 28, 9, 30, tzinfo=UTC)
FIRST, LAST = "2025-11-20", "2025-11-30"
RANGE = f"start_date={FIRST}&end_date={LAST}"


def stored_incident(
    kind: str = "performance",
    metric: str = "recall",
    name: str | None = "green",
    day: str = "2025-11-24",
    since: str = "2025-11-23",
    status: str = "open",
    resolved_day: str | None = None,
    value: float | None = 0.48,
    reference: float | None = 0.87,
    **changes: Any,
) -> dict[str, Any]:
    """Return an incident as the logger stores it in logger_alerts (docs/signal.md), with `changes` applied."""
    document: dict[str, Any] = {
        "_id": f"{kind}:{metric}:{name or 'all'}:{day}",
        "kind": kind,
        "metric": metric,
        "class": name,
        "class_id": None,
        "day": day,
        "since": since,
        "status": status,
        "resolved_day": resolved_day,
        "value": value,
        "reference": reference,
        "reference_band": None if reference is None else [reference - 0.03, reference + 0.03],
        "count": 590,
        "text": f"{name} {metric} since {since}",
        "webhook": {"state": "sent", "attempts": 1, "next_attempt_at": NOW},
        "resolution_webhook": None,
        "announced": True,
        "created_at": NOW,
        "updated_at": NOW,
    }
    if kind == "performance":
        document["confusion"] = {"class": "green_point", "count": 285, "text": "mostly predicted as green_point, 285"}
    if kind == "drift":
        document["shifts"] = [{"class": "yellow", "reference": 0.25, "current": 0.40}]
        document["effect"] = {"psi": 0.31, "p_value": 1e-9, "psi_threshold": 0.1, "alpha": 0.0033}
    for name_, change in changes.items():
        if change is ...:
            document.pop(name_)
        else:
            document[name_] = change
    return document


def legacy_alert(kind: str, day: str, **fields: Any) -> dict[str, Any]:
    """Return a day alert as releases before incidents stored it."""
    return {
        "_id": f"{kind}:{day}",
        "kind": kind,
        "day": day,
        "count": 312,
        "text": f"CLARA {kind} on {day}",
        "created_at": NOW,
        "webhook": {"state": "pending", "attempts": 0, "next_attempt_at": NOW},
        **fields,
    }


@pytest.fixture
def client(client: FlaskClient, settings: CommonSettings, db: Database) -> FlaskClient:
    """Return the conftest's monitor client, over the test's database indexed as the logger leaves it."""
    ensure_indexes(db.client, settings)
    return client


def alerts_of(client: FlaskClient, query: str = RANGE) -> dict[str, Any]:
    answer = client.get(f"/api/alerts?{query}")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()


# -- the verdict, a pure function ------------------------------------------------------------------------


def shown(**fields: Any) -> dict[str, Any]:
    return incidents.incident(stored_incident(**fields))


def test_the_verdict_names_the_one_incident_with_its_onset_its_levels_and_its_confusion() -> None:
    found = incidents.verdict([shown()])
    assert found == {
        "state": "degraded",
        "since": "2025-11-23",
        "text": "Degraded since Nov 23: green recall 87% → 48% (mostly predicted as green_point)",
        "incidents": ["performance:recall:green:2025-11-24"],
        "notices": [],
    }


def test_the_verdict_names_the_most_severe_of_several_and_counts_the_others() -> None:
    small_drop = shown(name="blue", since="2025-11-10", day="2025-11-12", value=0.80, reference=0.90)
    large_drop = shown(name="brown", value=0.30, reference=0.90)
    resolved_larger = shown(name="grey", status="resolved", resolved_day="2025-11-26", value=0.1, reference=0.9)
    accuracy = shown(metric="accuracy", name=None, value=0.78, reference=0.86, **{"confusion": ...})
    notice = shown(kind="drift", metric="predicted_class", name=None, value=None, reference=None)
    found = incidents.verdict([small_drop, notice, resolved_larger, large_drop, accuracy])
    assert found["state"] == "degraded"
    assert found["since"] == "2025-11-23"  # the onset of the one it names
    assert found["text"] == (
        "Degraded since Nov 23: brown recall 90% → 30% (mostly predicted as green_point) and 3 more"
    )
    assert found["incidents"] == [large_drop["id"], small_drop["id"], accuracy["id"], resolved_larger["id"]]
    assert found["notices"] == [notice["id"]]


def test_incidents_resolved_within_the_range_leave_it_healthy_and_say_so() -> None:
    blip = shown(name="grey", since="2025-11-10", day="2025-11-10", status="resolved", resolved_day="2025-11-11")
    found = incidents.verdict([blip], end="2025-11-30")
    assert (found["state"], found["since"], found["text"]) == (
        "healthy",
        None,
        "Healthy (1 incident in this range, resolved by Nov 11)",
    )
    assert found["incidents"] == [blip["id"]]
    # Resolved only after the range's last day: the range ended degraded.
    assert incidents.verdict([blip], end="2025-11-10")["state"] == "degraded"


def test_a_withdrawn_incident_never_degrades_the_verdict() -> None:
    withdrawn = incidents.incident(stored_incident(status="resolved", resolved_day="2025-11-30", withdrawn=True))
    assert withdrawn["withdrawn"] is True
    assert incidents.verdict([withdrawn], end="2025-11-25") == {
        "state": "healthy",
        "since": None,
        "text": "Healthy",
        "incidents": [],
        "notices": [],
    }


def test_the_verdict_says_the_confusion_in_the_loggers_words_without_its_count() -> None:
    accuracy = shown(
        metric="accuracy",
        name=None,
        value=0.81,
        reference=0.86,
        confusion={"class": "green_point", "count": 178, "text": "mostly green predicted as green_point, 178"},
    )
    assert incidents.verdict([accuracy])["text"] == (
        "Degraded since Nov 23: accuracy 86% → 81% (mostly green predicted as green_point)"
    )
    without_text = shown(confusion={"class": "green_point", "count": 285, "text": None})
    assert incidents.headline(without_text) == "green recall 87% → 48% (mostly predicted as green_point)"


def test_the_verdict_is_healthy_when_only_drift_notices_overlap_the_range() -> None:
    notices = [
        shown(kind="drift", metric="predicted_class", name=None, value=None, reference=None),
        shown(kind="drift", metric="confidence", name=None, value=None, reference=None, day="2025-11-25"),
    ]
    assert incidents.verdict(notices) == {
        "state": "healthy",
        "since": None,
        "text": "Healthy",
        "incidents": [],
        "notices": [n["id"] for n in notices],
    }
    assert incidents.verdict([])["text"] == "Healthy"


def test_a_traffic_incident_degrades_the_verdict_and_says_what_stopped() -> None:
    stopped = shown(
        kind="traffic",
        metric="predictions",
        name=None,
        value=None,
        reference=None,
        day="2026-01-01",
        since="2025-12-31",
    )
    assert incidents.verdict([stopped])["text"] == "Degraded since Dec 31: no predictions arriving"


def test_days_are_written_with_english_month_abbreviations() -> None:
    days = ["2026-01-02", "2026-05-06", "2026-09-01", "2026-12-31"]
    assert [incidents.short_day(day) for day in days] == ["Jan 2", "May 6", "Sep 1", "Dec 31"]


# -- /api/alerts -----------------------------------------------------------------------------------------


def test_alerts_are_the_incidents_that_overlap_the_range(client: FlaskClient, db: Database) -> None:
    inside = {
        "open since before": stored_incident(name="green", since="2025-11-01", day="2025-11-03"),
        "open since the last day": stored_incident(name="blue", since=LAST, day=LAST),
        "resolved on the first day": stored_incident(
            name="brown", since="2025-10-01", day="2025-10-02", status="resolved", resolved_day=FIRST
        ),
        "resolved inside": stored_incident(
            kind="drift",
            metric="confidence",
            name=None,
            day="2025-11-22",
            since="2025-11-21",
            status="resolved",
            resolved_day="2025-11-25",
            value=None,
            reference=None,
        ),
    }
    outside = {
        "resolved the day before": stored_incident(
            name="grey", since="2025-10-01", day="2025-10-02", status="resolved", resolved_day="2025-11-19"
        ),
        "open since after": stored_incident(name="yellow", since="2025-12-01", day="2025-12-01"),
    }
    db[ALERTS_COLLECTION].insert_many([*inside.values(), *outside.values()])
    body = alerts_of(client)
    assert (body["start_date"], body["end_date"], body["invalid_alerts"]) == (FIRST, LAST, 0)
    # Open first, then by the day opened, latest first.
    assert [a["id"] for a in body["alerts"]] == [
        inside["open since the last day"]["_id"],
        inside["open since before"]["_id"],
        inside["resolved inside"]["_id"],
        inside["resolved on the first day"]["_id"],
    ]
    green = body["alerts"][1]
    assert green == {
        "id": "performance:recall:green:2025-11-03",
        "kind": "performance",
        "metric": "recall",
        "class": "green",
        "day": "2025-11-03",
        "since": "2025-11-01",
        "status": "open",
        "resolved_day": None,
        "value": 0.48,
        "reference": 0.87,
        "reference_band": [0.87 - 0.03, 0.87 + 0.03],
        "count": 590,
        "confusion": {"class": "green_point", "count": 285, "text": "mostly predicted as green_point, 285"},
        "shifts": None,
        "text": "green recall since 2025-11-01",
        "delivered": True,
        "created_at": NOW.isoformat(),
        "legacy": False,
        "withdrawn": False,
    }
    drift = body["alerts"][2]
    assert drift["shifts"] == [{"class": "yellow", "reference": 0.25, "current": 0.40}]
    assert drift["confusion"] is None and drift["resolved_day"] == "2025-11-25"
    assert body["verdict"]["state"] == "degraded"
    assert body["verdict"]["since"] == "2025-11-01"  # the onset of the most severe still open at the end
    assert body["verdict"]["notices"] == [drift["id"]]
    assert set(body["verdict"]["incidents"]) == {a["id"] for a in body["alerts"] if a["kind"] == "performance"}
    # A range before everything: nothing, and healthy.
    early = alerts_of(client, "start_date=2025-09-01&end_date=2025-09-30")
    assert early["alerts"] == [] and early["verdict"]["text"] == "Healthy"


def test_legacy_day_alerts_of_the_range_are_one_day_resolved_incidents(client: FlaskClient, db: Database) -> None:
    db[ALERTS_COLLECTION].insert_many(
        [
            legacy_alert("accuracy", "2025-11-21", value=0.74, threshold=0.8),
            legacy_alert(
                "drift",
                "2025-11-22",
                features=["true_class", "predicted_class"],
                results={"true_class": {"algorithm": "chi-square", "p_value": 0.01}},
                webhook={"state": "off"},
            ),
            legacy_alert("accuracy", "2025-11-19", value=0.7, threshold=0.8),  # before the range
        ]
    )
    body = alerts_of(client)
    assert body["alerts"] == [
        {
            "id": "drift:2025-11-22",
            "kind": "drift",
            "metric": "true_class",
            "class": None,
            "day": "2025-11-22",
            "since": "2025-11-22",
            "status": "resolved",
            "resolved_day": "2025-11-22",
            "value": None,
            "reference": None,
            "reference_band": None,
            "count": 312,
            "confusion": None,
            "shifts": None,
            "text": "CLARA drift on 2025-11-22",
            "delivered": None,
            "created_at": NOW.isoformat(),
            "legacy": True,
            "withdrawn": False,
        },
        {
            "id": "accuracy:2025-11-21",
            "kind": "performance",
            "metric": "accuracy",
            "class": None,
            "day": "2025-11-21",
            "since": "2025-11-21",
            "status": "resolved",
            "resolved_day": "2025-11-21",
            "value": 0.74,
            "reference": 0.8,
            "reference_band": None,
            "count": 312,
            "confusion": None,
            "shifts": None,
            "text": "CLARA accuracy on 2025-11-21",
            "delivered": False,
            "created_at": NOW.isoformat(),
            "legacy": True,
            "withdrawn": False,
        },
    ]
    assert body["verdict"]["text"] == "Healthy (1 incident in this range, resolved by Nov 21)"
    assert body["verdict"]["notices"] == ["drift:2025-11-22"]


HOSTILE = {
    "kind unknown": {"kind": "anomaly"},
    "kind a number": {"kind": 3},
    "kind a document": {"kind": {"name": "performance"}},
    "status unknown": {"status": "maybe"},
    "status a list": {"status": ["open"]},
    "since a date": {"since": datetime(2025, 11, 23, tzinfo=UTC)},
    "since not a calendar day": {"since": "2025-02-30"},
    "since after the day opened": {"since": "2025-11-25"},
    "resolved without a day": {"status": "resolved", "resolved_day": None},
    "resolved day a number": {"status": "resolved", "resolved_day": 20251125},
    "resolved before its onset": {"status": "resolved", "resolved_day": "2025-11-22"},
    "day missing": {"day": ...},
    "metric missing": {"metric": ...},
    "class a number": {"class": 3},
    "value not a number": {"value": float("nan")},
    "value a string": {"value": "48%"},
    "value a boolean": {"value": True},
    "reference infinite": {"reference": float("inf")},
    "band of one": {"reference_band": [0.8]},
    "band reversed": {"reference_band": [0.9, 0.8]},
    "count negative": {"count": -1},
    "count a float": {"count": 2.5},
    "confusion a list": {"confusion": ["green_point"]},
    "confusion without its class": {"confusion": {"count": 3}},
    "text a number": {"text": 1},
    "id an ObjectId": {"_id": ObjectId()},
}


def test_hostile_alert_documents_are_left_out_and_counted_never_a_500(client: FlaskClient, db: Database) -> None:
    documents = [
        {
            name: value
            for name, value in {**stored_incident(), "_id": f"hostile-{i}", **changes}.items()
            if value is not ...
        }
        for i, changes in enumerate(HOSTILE.values())
    ]
    documents += [
        {**stored_incident(kind="drift", metric="true_class", name=None), "_id": "drift shifts", "shifts": "yellow"},
        {**stored_incident(kind="drift", metric="true_class", name=None), "_id": "drift shift", "shifts": [{"a": 1}]},
        {"_id": "empty"},
        legacy_alert("accuracy", "2025-11-22", value="low"),
        legacy_alert("drift", "2025-11-23", features=[]),
        legacy_alert("drift", "2025-11-24", features="confidence"),
        {**legacy_alert("accuracy", "2025-11-22"), "_id": "legacy day a date", "day": datetime(2025, 11, 22)},
    ]
    well_formed = [
        stored_incident(),
        # Fields a document may lack or hold loosely without losing its shape.
        stored_incident(name="blue", webhook="sent", created_at="yesterday", count=None, **{"confusion": ...}),
    ]
    db[ALERTS_COLLECTION].insert_many(documents + well_formed)
    body = alerts_of(client)
    assert body["invalid_alerts"] == len(documents)
    assert sorted(a["id"] for a in body["alerts"]) == sorted(d["_id"] for d in well_formed)
    loose = next(a for a in body["alerts"] if a["class"] == "blue")
    assert (loose["delivered"], loose["created_at"], loose["count"], loose["confusion"]) == (None, None, None, None)
    assert body["verdict"]["state"] == "degraded"


# -- /api/metrics' reference, /api/drift's judged thresholds ----------------------------------------------------


def write_state(db: Database, settings: CommonSettings, **fields: Any) -> None:
    """Write the ledger's state document as a logger that has run (in the deployment's time zone) leaves it."""
    state = {"_id": STATE_ID, "timezone": settings.TIMEZONE, "created_at": NOW, **fields}
    db[STATE_COLLECTION].replace_one({"_id": STATE_ID}, state, upsert=True)


def level(value: float, count: int) -> dict[str, Any]:
    return {"value": value, "low": value - 0.02, "high": value + 0.02, "count": count}


def test_metrics_gives_the_reference_levels_by_class_name(
    client: FlaskClient, db: Database, settings: CommonSettings
) -> None:
    assert client.get("/api/metrics").get_json()["reference"] is None  # no logger has run
    write_state(db, settings)
    assert client.get("/api/metrics").get_json()["reference"] is None  # a logger without signal
    signal = {
        "evaluated_at": NOW,
        "judged_through": "2025-11-27",
        "reference_window": ["2025-10-01", "2025-10-28"],
        "reference": {
            "accuracy": level(0.86, 6200),
            # By name, by id (translated), and a class this catalogue does not have (left out).
            "classes": {
                "green": {"recall": level(0.87, 900), "precision": level(0.9, 880)},
                "4": {"recall": level(0.8, 300), "precision": None},
                "violet": {"recall": level(0.5, 3)},
            },
        },
        "settings": {"false_alarms_per_90_days": 1, "drift_min_psi": 0.1, "drift_alpha": 0.01, "drift_window_days": 3},
    }
    write_state(db, settings, signal=signal)
    body = client.get("/api/metrics").get_json()
    assert body["reference"] == {
        "accuracy": level(0.86, 6200),
        "classes": {
            "green": {"recall": level(0.87, 900), "precision": level(0.9, 880)},
            "green_point": {"recall": level(0.8, 300), "precision": None},
        },
    }
    assert {"metrics", "daily_metrics", "class_metrics", "ledger", "color_dict"} <= set(body)
    write_state(db, settings, signal={**signal, "reference": {"accuracy": {"value": float("nan")}, "classes": {}}})
    assert client.get("/api/metrics").get_json()["reference"] is None


def test_drift_gives_each_day_the_thresholds_it_was_judged_with(
    client: FlaskClient, db: Database, settings: CommonSettings
) -> None:
    write_state(db, settings)
    shifts = [
        {"class": "yellow", "reference": 0.25, "current": 0.4},
        {"class": "blue", "reference": 0.2, "current": 0.1},
    ]
    judged = {
        "algorithm": "chi-square",
        "reference": "window",
        "count": 300,
        "window_days": 3,
        "statistic": 41.5,
        "p_value": 1e-7,
        "alpha": 0.0033,
        "psi": 0.21,
        "psi_threshold": 0.1,
        "category": "drift",
        "shifts": shifts,
    }
    old = {"algorithm": "chi-square", "reference": "window", "count": 250, "statistic": 3.1, "p_value": 0.2,
           "threshold": 0.05, "category": "no_drift"}  # fmt: skip
    days = {
        "2025-11-21": {"predicted_class": old, "evaluated_at": NOW},
        "2025-11-22": {"predicted_class": judged, "confidence": {**judged, "algorithm": "ks", "shifts": None}},
    }
    db[HISTORY_COLLECTION].insert_many(
        [
            {"_id": day, "count": 0, "confusion": {}, "drift": drift, "version": 1, "updated_at": NOW}
            for day, drift in days.items()
        ]
    )
    body = client.get(f"/api/drift?{RANGE}").get_json()
    assert set(body["thresholds"]) == {"algorithm", "p_value", "hellinger_threshold", "min_samples", "source"}
    by_day = {d["day"]: d["features"] for d in body["days"]}
    assert by_day["2025-11-21"]["predicted_class"] == {
        "algorithm": "chi-square",
        "statistic": 3.1,
        "p_value": 0.2,
        "threshold": 0.05,
        "category": "no_drift",
        "alpha": None,
        "psi": None,
        "psi_threshold": None,
        "window_days": None,
        "shifts": None,
    }
    assert by_day["2025-11-22"]["predicted_class"] == {
        "algorithm": "chi-square",
        "statistic": 41.5,
        "p_value": 1e-7,
        "threshold": None,
        "category": "drift",
        "alpha": 0.0033,
        "psi": 0.21,
        "psi_threshold": 0.1,
        "window_days": 3,
        "shifts": shifts,
    }
    assert by_day["2025-11-22"]["confidence"]["shifts"] is None
    assert by_day["2025-11-23"] == {}


# -- the gauge of open incidents -------------------------------------------------------------------------------


def test_the_gauge_counts_open_incidents_by_kind_metric_and_class(client: FlaskClient, db: Database) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    db[ALERTS_COLLECTION].insert_many(
        [
            stored_incident(name="green", day="2025-11-24"),
            stored_incident(name="green", day="2025-11-10", since="2025-11-09"),
            stored_incident(name="green", metric="precision"),
            stored_incident(metric="accuracy", name=None),
            stored_incident(kind="traffic", metric="predictions", name=None, value=None, reference=None),
            stored_incident(kind="drift", metric="predicted_class", name=None, value=None, reference=None),
            stored_incident(name="blue", status="resolved", resolved_day="2025-11-26"),  # resolved: not counted
            {**stored_incident(name="grey"), "_id": "hostile", "kind": ["performance"]},
            {**stored_incident(name="grey"), "_id": "hostile class", "class": 4},
            legacy_alert("accuracy", "2025-11-21", value=0.7, threshold=0.8),
        ]
    )
    answer = client.get("/metrics")
    assert answer.status_code == 200
    gauge = {
        (s.labels["kind"], s.labels["metric"], s.labels["class"]): s.value
        for family in text_string_to_metric_families(answer.get_data(as_text=True))
        for s in family.samples
        if s.name == "clara_open_incidents"
    }
    assert gauge == {
        ("performance", "recall", "green"): 2,
        ("performance", "precision", "green"): 1,
        ("performance", "accuracy", ""): 1,
        ("traffic", "predictions", ""): 1,
        ("drift", "predicted_class", ""): 1,
    }


# -- the range total of the estimate -------------------------------------------------------------------------------


def unreviewed_day(settings: CommonSettings, rng: random.Random, day: date, n: int, reviewed: bool) -> list[dict]:
    """Return `n` predictions made on `day`, of every class and confidence (some without one)."""
    start = day_start(day, settings.tz)
    docs = []
    for i in range(n):
        predicted = rng.randrange(7)
        confidence = math.nan if rng.random() < 0.05 else rng.betavariate(5, 2)
        right = rng.random() < (0.5 if math.isnan(confidence) else confidence**1.5)
        made = min(start + timedelta(seconds=rng.randrange(86_000)), datetime.now(UTC) - timedelta(minutes=3))
        verdict = (predicted if right else (predicted + 1) % 7) if reviewed else None
        docs.append(
            drawn_prediction(f"t-{day}-{i}.jpg", predicted, confidence, made, verdict, margin=timedelta(minutes=2))
        )
    return docs


def independent_total(
    fitted: calibration.CalibrationMap, predictions: list[Prediction], level: float
) -> tuple[float, float, float]:
    """Return the estimate and band of all these predictions, summed one prediction at a time.

    The realised accuracy is the mean of independent Bernoulli(p_i) (variance Σ p_i(1 - p_i) / n²), plus
    the map's uncertainty: each posterior's variance times (the weight of the predictions that use it)²,
    whichever day they were made on.
    """
    n = len(predictions)
    probabilities = [fitted.probability(p.predicted_class, p.confidence) for p in predictions]
    sampling = sum(p.mean * (1 - p.mean) for p in probabilities)
    users: dict[Any, float] = defaultdict(float)
    variances: dict[Any, float] = {}
    for p in probabilities:
        users[("own", p.own)] += 1
        variances[("own", p.own)] = p.own_variance
        for key, weight, variance in p.shared:
            users[("shared", key)] += weight
            variances[("shared", key)] = variance
    spread = sum(users[key] ** 2 * variances[key] for key in users)
    mean = sum(p.mean for p in probabilities) / n
    half = NormalDist().inv_cdf(0.5 + level / 2) * math.sqrt(sampling + spread) / n
    return mean, max(0.0, mean - half), min(1.0, mean + half)


def unreviewed_of(db: Database, settings: CommonSettings, first: date, last: date) -> list[Prediction]:
    found = []
    for doc in db[settings.PREDICTIONS_COLLECTION].find({"timestamp_validated": None}):
        parsed = parse_prediction(doc, settings.classes, settings.tz)
        if isinstance(parsed, Prediction) and first <= local_day(parsed.timestamp, settings.tz) <= last:
            found.append(parsed)
    return found


@pytest.mark.parametrize("logged", [True, False], ids=["the logger's summary", "the predictions"])
def test_the_estimate_total_is_all_the_ranges_unreviewed_predictions_together(
    db: Database, settings: CommonSettings, logger: LoggerService, make_monitor: MakeMonitor, logged: bool
) -> None:
    rng = random.Random(17)
    current = today(settings.tz)
    collection = db[settings.PREDICTIONS_COLLECTION]
    for offset in range(20, 6, -1):
        collection.insert_many(unreviewed_day(settings, rng, current - timedelta(days=offset), 120, reviewed=True))
    for offset, n in ((6, 90), (4, 150), (1, 60), (0, 40)):
        collection.insert_many(unreviewed_day(settings, rng, current - timedelta(days=offset), n, reviewed=False))
    if logged:
        logger.tick()
    first = current - timedelta(days=5)
    service = monitor_settings(settings)
    client = make_monitor(service)
    body = client.get(f"/api/estimated-performance?start_date={first}&end_date={current}").get_json()
    assert body["unreviewed_source"] == ("summary" if logged else "predictions")
    total = body["total"]
    predictions = unreviewed_of(db, settings, first, current)
    assert total["unreviewed"] == len(predictions) == 150 + 60 + 40 == sum(d["unreviewed"] for d in body["days"])
    fitted = accuracy_estimates.fitted_map(db, service, current)[0]
    estimate_, lower, upper = independent_total(fitted, predictions, body["band_level"])
    assert total["estimated_accuracy"] == pytest.approx(estimate_, rel=1e-9)
    assert (total["lower"], total["upper"]) == (pytest.approx(lower, rel=1e-9), pytest.approx(upper, rel=1e-9))
    # The unreviewed-count-weighted estimate of the days; and a band no average of theirs gives.
    days = [d for d in body["days"] if d["unreviewed"]]
    weighted = sum(d["unreviewed"] * d["estimated_accuracy"] for d in days) / total["unreviewed"]
    assert total["estimated_accuracy"] == pytest.approx(weighted, rel=1e-9)
    average_width = sum(d["unreviewed"] * (d["upper"] - d["lower"]) for d in days) / total["unreviewed"]
    assert total["upper"] - total["lower"] < average_width


def test_the_estimate_total_of_a_range_without_unreviewed_predictions_is_empty(client: FlaskClient) -> None:
    body = client.get(f"/api/estimated-performance?{RANGE}").get_json()
    assert body["total"] == {"unreviewed": 0, "estimated_accuracy": None, "lower": None, "upper": None}
