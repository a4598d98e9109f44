"""The whole stack, as `docker compose up` runs it: seed, logger's first tick, monitor API and page.

Every expected number is computed here from the raw documents in MongoDB, never from CLARA code.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, datetime, time, timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.probes import Stack, get_json, http_get, wait_for

pytestmark = pytest.mark.e2e

SEED_PREFIX = "clara-seed-"
VALIDATED = {"output_validated": {"$ne": None}}


@pytest.fixture(scope="session")
def seed_run(mongo_db: Any) -> dict[str, Any]:
    """Return the record the seed writes once it has loaded its documents."""
    run = mongo_db["seed_runs"].find_one({"_id": "seed"})
    assert run is not None, "the seed_runs record is missing: mongo-seed did not complete"
    return run


@pytest.fixture(scope="session")
def seeded_range(seed_run: dict[str, Any]) -> tuple[date, date]:
    """Return the first and last day of the seeded history."""
    end = date.fromisoformat(seed_run["end"])
    return end - timedelta(days=seed_run["days"] - 1), end


def _true_class(doc: dict[str, Any]) -> int | None:
    """Return the reviewer's class: an int is the class, True confirms the prediction, False has none."""
    validated = doc["output_validated"]
    if validated is True:
        return doc["output_prediction"]
    if validated is False:
        return None
    return validated


def _is_correct(doc: dict[str, Any]) -> bool:
    return _true_class(doc) == doc["output_prediction"]


def test_seed_loaded_its_sample_and_indexes(predictions: Any, seed_run: dict[str, Any]) -> None:
    total = predictions.count_documents({})
    seeded = predictions.count_documents({"filename": {"$regex": f"^{SEED_PREFIX}"}})
    validated = predictions.count_documents(VALIDATED)
    days_with_data = len({doc["timestamp"].date() for doc in predictions.find({}, {"timestamp": 1})})

    assert total > 1000, f"only {total} predictions after the seed"
    assert seeded == total, "the collection holds documents the seed did not write"
    assert 0 < validated < total, "the seed should leave the last days partly unreviewed"
    assert days_with_data >= seed_run["days"] - 1
    index_names = set(predictions.index_information())
    assert {"timestamp_validated", "logged_timestamp_validated"} <= index_names


def test_first_logger_tick_logged_every_validated_prediction_once(
    predictions: Any, mongo_db: Any, stack: Stack
) -> None:
    validated = predictions.count_documents(VALIDATED)

    # The runner starts once the logger is healthy, i.e. after its first tick; wait a little anyway.
    def all_logged() -> bool | None:
        return True if predictions.count_documents({**VALIDATED, "logged": {"$ne": True}}) == 0 else None

    wait_for("the logger to mark every validated prediction logged", all_logged, stack.wait_seconds)

    assert predictions.count_documents({**VALIDATED, "logged": True}) == validated
    assert predictions.count_documents({"output_validated": None, "logged": True}) == 0, (
        "the logger marked predictions that nobody validated"
    )
    assert predictions.count_documents({"logged_error": {"$exists": True}}) == 0, (
        "the logger rejected seeded documents, which all follow the contract"
    )
    # The history store counts each prediction exactly once, on its local day of validation.
    tz = ZoneInfo(stack.timezone)
    expected_per_day = Counter(
        doc["timestamp_validated"].astimezone(tz).date().isoformat()
        for doc in predictions.find(VALIDATED, {"timestamp_validated": 1})
    )
    stored_per_day = {doc["_id"]: doc["count"] for doc in mongo_db["logger_history"].find({}, {"count": 1})}
    assert stored_per_day == dict(expected_per_day)


def _expected_metrics(predictions: Any, first: date, last: date, tz: ZoneInfo) -> dict[str, Any]:
    """Return what /api/metrics must answer for first..last, computed from the raw documents."""
    start = datetime.combine(first, time.min, tz)
    stop = datetime.combine(last + timedelta(days=1), time.min, tz)
    docs = list(
        predictions.find(
            {**VALIDATED, "timestamp_validated": {"$gte": start, "$lt": stop}},
            {"output_validated": 1, "output_prediction": 1, "timestamp_validated": 1},
        )
    )
    per_day = Counter(doc["timestamp_validated"].astimezone(tz).date().isoformat() for doc in docs)
    return {
        "total": len(docs),
        "correct": sum(_is_correct(doc) for doc in docs),
        "by_true_class": Counter(c for doc in docs if (c := _true_class(doc)) is not None),
        "per_day": per_day,
    }


def test_metrics_api_answers_with_the_seeded_numbers(
    monitor: str, predictions: Any, seeded_range: tuple[date, date], class_names: dict[int, str], stack: Stack
) -> None:
    first, last = seeded_range
    status, body = get_json(f"{monitor}/api/metrics?start_date={first}&end_date={last}")
    assert status == 200, body
    assert body["timezone"] == stack.timezone
    expected = _expected_metrics(predictions, first, last, ZoneInfo(stack.timezone))

    assert (body["start_date"], body["end_date"]) == (first.isoformat(), last.isoformat())
    assert body["total_validated"] == expected["total"] > 0
    counts = {name: n for name, n in body["class_counts"].items() if n}
    assert counts == {class_names[c]: n for c, n in expected["by_true_class"].items()}
    assert body["metrics"]["accuracy"] == pytest.approx(expected["correct"] / expected["total"], abs=1e-9)
    assert 0.7 < body["metrics"]["accuracy"] < 0.95, "the seed aims at an accuracy around 0.85"

    days = [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]
    assert list(body["daily_metrics"]) == days
    for day in days:
        entry = body["daily_metrics"][day]
        assert entry["entries"] == expected["per_day"].get(day, 0), day
        if entry["entries"] == 0:
            assert entry["accuracy"] is None, f"{day} has no validated predictions but a made-up accuracy"


def test_ledger_routes_answer_from_the_logged_history(
    monitor: str, predictions: Any, seeded_range: tuple[date, date], class_names: dict[int, str], stack: Stack
) -> None:
    first, last = seeded_range
    query = f"start_date={first}&end_date={last}"
    expected = _expected_metrics(predictions, first, last, ZoneInfo(stack.timezone))

    status, body = get_json(f"{monitor}/api/status")
    assert status == 200, body
    assert body["state"] in ("current", "behind") and body["last_tick_at"], "the logger's tick is not recorded"

    status, confusion = get_json(f"{monitor}/api/confusion?{query}")
    assert status == 200, confusion
    by_true_class = {class_names[label]: sum(row) for label, row in zip(confusion["labels"], confusion["matrix"])}
    want = {class_names[c]: n for c, n in expected["by_true_class"].items()}
    assert {name: n for name, n in by_true_class.items() if n} == want
    diagonal = sum(confusion["matrix"][i][i] for i in range(len(confusion["labels"])))
    assert diagonal == expected["correct"]

    status, drift = get_json(f"{monitor}/api/drift?{query}")
    assert status == 200, drift
    evaluated = [d for d in drift["days"] if d["features"]]
    assert evaluated, "the logger evaluated no day's drift"
    status, alerts = get_json(f"{monitor}/api/alerts?{query}")
    assert status == 200 and isinstance(alerts["alerts"], list), alerts


def test_metrics_api_rejects_a_reversed_range_with_400(monitor: str) -> None:
    status, body = get_json(f"{monitor}/api/metrics?start_date=2024-02-01&end_date=2024-01-01")
    assert status == 400
    assert body["error"]


def test_monitor_is_ready_when_the_database_answers(monitor: str) -> None:
    status, _, _ = http_get(f"{monitor}/readyz")
    assert status == 200


def test_the_monitors_database_user_reads_but_cannot_write(predictions: Any, mongo_db: Any) -> None:
    from pymongo.errors import OperationFailure

    assert predictions.find_one({}) is not None, "the monitor's user cannot read the predictions"
    for write in (
        lambda: predictions.insert_one({"filename": "e2e-must-not-land.jpg"}),
        lambda: predictions.update_one({}, {"$set": {"logged": False}}),
        lambda: mongo_db["logger_history"].delete_many({}),
    ):
        with pytest.raises(OperationFailure) as refused:
            write()
        assert refused.value.code == 13, refused.value.details  # Unauthorized
    assert predictions.count_documents({"filename": "e2e-must-not-land.jpg"}) == 0


def test_the_database_refuses_a_client_that_does_not_log_in(stack: Stack) -> None:
    from pymongo import MongoClient
    from pymongo.errors import OperationFailure

    anonymous_uri = stack.mongodb_uri.split("://", 1)[0] + "://" + stack.mongodb_uri.split("@", 1)[-1]
    with (
        MongoClient(anonymous_uri, serverSelectionTimeoutMS=5000) as client,
        pytest.raises(OperationFailure) as refused,
    ):
        client[stack.database][stack.collection].find_one({})
    assert refused.value.code == 13, refused.value.details


class _Assets(HTMLParser):
    """Collect the scripts and stylesheets a page loads."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script" and values.get("src"):
            self.urls.append(values["src"])
        if tag == "link" and values.get("rel") == "stylesheet" and values.get("href"):
            self.urls.append(values["href"])


def test_dashboard_page_loads_with_its_own_assets(monitor: str) -> None:
    status, content_type, body = http_get(f"{monitor}/")
    assert status == 200
    assert content_type.startswith("text/html")
    page = body.decode("utf-8")
    assert re.search(r"<title>[^<]*CLARA", page, re.IGNORECASE), "the page has no CLARA title"

    assets = _Assets()
    assets.feed(page)
    assert any("chart" in url.lower() for url in assets.urls), "the page loads no Chart.js"
    for url in assets.urls:
        assert not re.match(r"^(https?:)?//", url), f"{url} is not served by the monitor (offline use)"
        asset_status, _, asset_body = http_get(urljoin(f"{monitor}/", url))
        assert asset_status == 200 and asset_body, url
