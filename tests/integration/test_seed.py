"""clara-seed against the real database: realistic, idempotent, indexed."""

from __future__ import annotations

import logging
import time
from datetime import date, timedelta

import pytest
from pymongo.database import Database

from clara_common.contract import Prediction, parse_prediction
from clara_common.days import local_day
from clara_common.settings import CommonSettings
from clara_seed import cli

pytestmark = pytest.mark.integration

END = date(2026, 5, 31)


def seed(settings: CommonSettings, *args: str) -> int:
    argv = ["--days", "30", "--count", "60", "--end-date", END.isoformat(), "--no-progress", *args]
    return cli.run(cli.parse_args(argv), settings)


def snapshot(db: Database, settings: CommonSettings) -> list[dict]:
    return list(db[settings.PREDICTIONS_COLLECTION].find().sort("_id", 1))


def test_second_run_leaves_the_same_documents(db: Database, settings: CommonSettings) -> None:
    assert seed(settings) == 0
    first = snapshot(db, settings)
    assert seed(settings) == 0
    assert snapshot(db, settings) == first
    assert len(first) > 30 * 30


def test_rerunning_a_finished_seed_takes_a_fraction_of_the_first_run(
    db: Database, settings: CommonSettings, caplog
) -> None:
    started = time.perf_counter()
    seed(settings, "--days", "60", "--count", "100")
    first = time.perf_counter() - started
    started = time.perf_counter()
    with caplog.at_level(logging.INFO, logger="clara_seed"):
        seed(settings, "--days", "60", "--count", "100")
    second = time.perf_counter() - started
    assert any("already seeded" in r.getMessage() for r in caplog.records)
    assert second < min(2.0, first / 5), (first, second)


def test_a_rerun_after_a_seed_document_was_deleted_puts_it_back(db: Database, settings: CommonSettings) -> None:
    seed(settings)
    collection = db[settings.PREDICTIONS_COLLECTION]
    before = collection.count_documents({})
    collection.delete_one({})
    seed(settings)
    assert collection.count_documents({}) == before


def test_second_run_leaves_logged_marks_alone(db: Database, settings: CommonSettings) -> None:
    seed(settings)
    collection = db[settings.PREDICTIONS_COLLECTION]
    collection.update_many({}, {"$set": {"logged": True}})
    seed(settings)
    assert collection.count_documents({"logged": {"$ne": True}}) == 0


def test_run_with_other_parameters_adds_nothing_unless_replace(db: Database, settings: CommonSettings) -> None:
    seed(settings)
    first_ids = [doc["_id"] for doc in snapshot(db, settings)]
    assert seed(settings, "--seed", "7") == 0
    assert [doc["_id"] for doc in snapshot(db, settings)] == first_ids
    assert seed(settings, "--seed", "7", "--replace") == 0
    replaced_ids = {doc["_id"] for doc in snapshot(db, settings)}
    assert replaced_ids and replaced_ids.isdisjoint(first_ids)


def test_seeded_documents_honour_the_contract_and_span_the_days(db: Database, settings: CommonSettings) -> None:
    seed(settings)
    records = [parse_prediction(doc, settings.classes, settings.tz) for doc in snapshot(db, settings)]
    assert all(isinstance(r, Prediction) for r in records)
    days = {local_day(r.timestamp, settings.tz) for r in records}
    assert min(days) == END - timedelta(days=29) and max(days) == END


def test_seed_creates_the_indexes_the_services_need(db: Database, settings: CommonSettings) -> None:
    seed(settings)
    names = set(db[settings.PREDICTIONS_COLLECTION].index_information())
    assert {
        "timestamp_validated",
        "logged_timestamp_validated",
        "filename",
        "logged_as_timestamp_validated",
        "trained",
    } <= names
