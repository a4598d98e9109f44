"""The logger's tick against the real database: what it logs, what it sets aside, what it stores."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, timedelta

import pytest
from whylogs.migration.converters import read_v0_to_view

from clara_common.days import local_day
from clara_common.db import make_client
from clara_common.ledger.batches import APPLIED
from clara_logger import batches, history
from clara_logger.tick import LoggerService, PartBuilder, batch_changes
from tests.utils.predictions import START, expected_confusion, prediction, stored_confusion
from tests.utils.settings import logger_settings

pytestmark = pytest.mark.integration


@pytest.fixture
def logger(settings, mongo_uri):
    with make_client(settings) as client:
        instance = LoggerService(logger_settings(settings), client)
        instance.ensure_indexes()
        yield instance


def test_one_tick_logs_exactly_the_validated_unlogged_documents_and_a_second_logs_nothing(db, settings, logger):
    rng = random.Random(7)
    to_log = [prediction(rng, i) for i in range(40)] + [prediction(rng, 100 + i, legacy=True) for i in range(6)]
    pending = [prediction(rng, 200 + i, reviewed=False) for i in range(5)]
    already = [prediction(rng, 300 + i, logged=True) for i in range(4)]
    unknown_class = prediction(rng, 400)
    unknown_class["output_prediction"] = 99
    no_review_time = prediction(rng, 401)
    no_review_time["timestamp_validated"] = None
    collection = db[settings.PREDICTIONS_COLLECTION]
    collection.insert_many(to_log + pending + already + [unknown_class, no_review_time])

    report = logger.tick()

    assert (report.logged, report.quarantined) == (46, 2)
    # Marked logged by another logger (the original CLARA one): counted in the history too, not uploaded.
    assert report.corrected == len(already)
    assert stored_confusion(db) == expected_confusion(to_log + already)
    logged_ids = {d["_id"] for d in collection.find({"logged": True, "logger_batch": {"$exists": True}})}
    assert logged_ids == {d["_id"] for d in to_log + already}
    # Each malformed document is one invalid record: on the day of its validation time, or of its
    # prediction time when the validation time is missing.
    invalid_days = Counter(
        local_day(when, UTC).isoformat() for when in (unknown_class["timestamp_validated"], no_review_time["timestamp"])
    )
    assert {r["_id"]: r["invalid"] for r in history.history(db).find({"invalid": {"$gt": 0}})} == invalid_days
    assert collection.count_documents({"logged": False, "logger_batch": {"$exists": False}}) == len(pending)
    set_aside = {d["_id"]: d["logged_error"] for d in collection.find({"logged_error": {"$exists": True}})}
    assert set(set_aside) == {unknown_class["_id"], no_review_time["_id"]}
    assert "unknown class id 99" in set_aside[unknown_class["_id"]]
    assert "timestamp_validated" in set_aside[no_review_time["_id"]]

    before = list(history.history(db).find({}, {"profile": 0, "updated_at": 0}))
    second = logger.tick()
    assert (second.found, second.logged, second.quarantined, second.corrected) == (0, 0, 0, 0)
    assert list(history.history(db).find({}, {"profile": 0, "updated_at": 0})) == before


def test_predictions_validated_later_are_added_to_their_day_once(db, settings, logger):
    rng = random.Random(11)
    collection = db[settings.PREDICTIONS_COLLECTION]
    first = [prediction(rng, i) for i in range(30)]
    collection.insert_many(first)
    logger.tick()
    later = [prediction(rng, 1000 + i) for i in range(25)]
    collection.insert_many(later)

    report = logger.tick()

    assert report.logged == 25
    assert stored_confusion(db) == expected_confusion(first + later)
    for record in history.history(db).find():
        assert record["count"] == sum(sum(row.values()) for row in record["confusion"].values())
        assert len(record["applied_batches"]) == len(set(record["applied_batches"]))


def test_a_stored_day_profile_reads_back_with_plain_whylogs(db, settings, logger, tmp_path):
    rng = random.Random(3)
    docs = [prediction(rng, i) for i in range(50)]
    db[settings.PREDICTIONS_COLLECTION].insert_many(docs)
    logger.tick()
    # A second, smaller tick adds to the same days: the stored profile is a merge.
    more = [prediction(rng, 500 + i) for i in range(20)]
    db[settings.PREDICTIONS_COLLECTION].insert_many(more)
    logger.tick()

    expected = Counter(local_day(d["timestamp_validated"], UTC).isoformat() for d in docs + more)
    for record in history.history(db).find():
        path = tmp_path / f"{record['_id']}.bin"
        path.write_bytes(bytes(record["profile"]))
        view = read_v0_to_view(str(path))
        assert view.get_column("predicted_class").get_metric("counts").n.value == expected[record["_id"]]
        assert view.get_column("confidence").get_metric("distribution").n == expected[record["_id"]]
        labels = set(view.model_performance_metrics.confusion_matrix.labels)
        assert labels <= set(settings.classes.names)
        assert view.dataset_timestamp.date().isoformat() == record["_id"]


def test_day_metrics_are_stored_with_the_counts(db, settings, logger):
    rng = random.Random(5)
    docs = [prediction(rng, i) for i in range(60)]
    db[settings.PREDICTIONS_COLLECTION].insert_many(docs)
    logger.tick()

    for record in history.history(db).find():
        day_docs = [d for d in docs if local_day(d["timestamp_validated"], UTC).isoformat() == record["_id"]]
        correct = sum(d["output_validated"] == d["output_prediction"] for d in day_docs)
        assert record["metrics"]["accuracy"] == pytest.approx(correct / len(day_docs))
        assert record["metrics"]["entries"] == len(day_docs)
        assert set(record["metrics"]) >= {"precision", "recall", "f1", "per_class"}


def test_a_batch_record_left_built_by_a_dead_logger_is_finished_once(db, settings, logger):
    rng = random.Random(9)
    docs = [prediction(rng, i) for i in range(30)]
    collection = db[settings.PREDICTIONS_COLLECTION]
    collection.insert_many(docs)
    # Do what a tick does up to the batch record, then "die" before the history.
    records = batches.batches(db)
    batch_id = batches.open_batch(records, "dead-logger", lease_seconds=0.01)
    batches.claim_window(collection, batch_id, START, START + timedelta(days=30))
    claimed = [doc for chunk in batches.claimed_documents(collection, batch_id, 100) for doc in chunk]
    valid = batch_changes(claimed, settings).added
    builder = PartBuilder(settings)
    builder.add(valid)
    batches.save_built(records, batch_id, builder.parts(), len(valid), 0, batches.UPLOAD_OFF)
    history.apply_part(history.history(db), builder.parts()[0], batch_id)

    report = logger.tick()

    assert report.recovered == 1
    assert report.found == 0
    assert stored_confusion(db) == expected_confusion(docs)
    assert records.find_one({"_id": batch_id})["state"] == APPLIED


def test_iso_string_validation_times_are_logged_alongside_bson_dates(db, settings, logger):
    rng = random.Random(13)
    dated = [prediction(rng, i) for i in range(20)]
    as_strings = [prediction(rng, 100 + i) for i in range(7)]
    stored = [{**doc, "timestamp_validated": doc["timestamp_validated"].isoformat()} for doc in as_strings]
    db[settings.PREDICTIONS_COLLECTION].insert_many(dated + stored)

    report = logger.tick()

    assert report.logged == 27 and report.quarantined == 0
    assert stored_confusion(db) == expected_confusion(dated + as_strings)
