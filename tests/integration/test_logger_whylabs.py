"""The WhyLabs sink against a local endpoint speaking the writer's protocol, failures included."""

from __future__ import annotations

import logging
import random
import signal
import time
from collections import Counter

import pytest

from clara_common.db import make_client
from clara_logger import batches, history, profiles
from clara_logger.tick import LoggerService
from tests.utils.predictions import prediction
from tests.utils.whylabs_endpoint import API_KEY, WhyLabsEndpoint, whylabs_settings

pytestmark = pytest.mark.integration


def insert(db, settings, count: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    docs = [prediction(rng, seed * 1000 + i) for i in range(count)]
    db[settings.PREDICTIONS_COLLECTION].insert_many(docs)
    return docs


def uploaded_counts(whylabs: WhyLabsEndpoint) -> Counter:
    """Return dataset day -> predictions, read back from the profiles the endpoint received."""
    counts: Counter = Counter()
    for upload in whylabs.uploads:
        view = profiles.deserialize(upload.body)
        day = view.dataset_timestamp.date().isoformat()
        counts[day] += view.get_column("predicted_class").get_metric("counts").n.value
    return counts


def history_counts(db) -> Counter:
    return Counter({r["_id"]: r["count"] for r in history.history(db).find()})


def test_each_batch_day_is_uploaded_once_with_its_profile(db, settings, whylabs):
    settings = whylabs_settings(settings, whylabs.url)
    insert(db, settings, 50, seed=1)
    with make_client(settings) as client:
        report = LoggerService(settings, client).tick()

    assert report.uploaded == len(whylabs.uploads) > 0
    assert uploaded_counts(whylabs) == history_counts(db)
    assert {(u.dataset_id, u.api_key) for u in whylabs.uploads} == {("model-7", API_KEY)}
    view = profiles.deserialize(whylabs.uploads[0].body)
    assert view.model_performance_metrics is not None  # the classification metrics travel too
    assert batches.batches(db).count_documents({"upload.state": batches.UPLOAD_DONE}) == report.batches
    assert batches.batches(db).count_documents({"days.profile": {"$exists": True}}) == 0


@pytest.mark.parametrize("failure", ["error", "put_error", "timeout", "refused"])
def test_a_failing_endpoint_leaves_batches_pending_until_it_recovers_then_uploads_each_once(
    db, settings, whylabs, failure
):
    settings = whylabs_settings(settings, whylabs.url)
    insert(db, settings, 45, seed=2)
    if failure == "refused":
        whylabs.server.stop()
    else:
        whylabs.fail_with(failure, delay=3.0)
    with make_client(settings) as client:
        logger = LoggerService(settings, client)
        first = logger.tick()
        assert first.logged == 45 and first.uploaded == 0 and first.upload_failures == 1
        assert sum(history_counts(db).values()) == 45  # the history does not wait for WhyLabs
        pending = list(batches.batches(db).find({"upload.state": batches.UPLOAD_PENDING}))
        assert len(pending) == first.batches
        tried = [p for p in pending if p["upload"]["attempts"]]  # the others wait while the endpoint is down
        assert len(tried) == 1 and tried[0]["upload"]["attempts"] == 1 and tried[0]["upload"]["last_error"]

        time.sleep(0.1)
        still_failing = logger.tick()
        assert still_failing.uploaded == 0 and still_failing.upload_failures == 1

        if failure == "refused":
            whylabs.server.start()
        whylabs.fail_with("none")
        insert(db, settings, 10, seed=3)  # new work arrives while the old uploads wait
        time.sleep(0.1)
        recovered = logger.tick()
        idle = logger.tick()

    assert recovered.upload_failures == 0
    assert idle.uploaded == 0
    days_per_batch = [len(b["days"]) for b in batches.batches(db).find()]
    assert len(whylabs.uploads) == sum(days_per_batch)  # every (batch, day) exactly once
    assert uploaded_counts(whylabs) == history_counts(db)
    assert batches.batches(db).count_documents({"upload.state": {"$ne": batches.UPLOAD_DONE}}) == 0


def test_without_credentials_the_logger_runs_fully_and_says_so_once(db, settings, caplog):
    from clara_logger import cli

    insert(db, settings, 20, seed=4)
    env = {"MONGODB_URI": settings.MONGODB_URI.get_secret_value(), "MONGODB_DB": settings.MONGODB_DB}
    with pytest.MonkeyPatch.context() as patch:
        for name in ("WHYLABS_API_KEY", "WHYLABS_DEFAULT_ORG_ID", "WHYLABS_DEFAULT_DATASET_ID"):
            patch.delenv(name, raising=False)
        for name, value in env.items():
            patch.setenv(name, value)
        handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            with caplog.at_level(logging.INFO, logger="clara_logger"):
                assert cli.main(["--once"]) == 0
        finally:
            for sig, handler in handlers.items():
                signal.signal(sig, handler)

    assert len([r for r in caplog.records if r.getMessage().startswith("WhyLabs upload off")]) == 1
    assert sum(history_counts(db).values()) == 20
    records = batches.batches(db)
    assert records.count_documents({}) == records.count_documents({"upload.state": batches.UPLOAD_OFF}) > 0


def test_two_loggers_retrying_uploads_at_once_upload_each_batch_day_once(db, settings, whylabs):
    import threading

    from clara_logger.tick import TickReport

    settings = whylabs_settings(settings, whylabs.url)
    insert(db, settings, 60, seed=5)
    whylabs.fail_with("error")
    with make_client(settings) as client_a, make_client(settings) as client_b:
        first = LoggerService(settings, client_a, owner="a")
        second = LoggerService(settings, client_b, owner="b")
        first.tick()
        whylabs.fail_with("none")
        time.sleep(0.1)
        workers = [threading.Thread(target=logger.upload_due, args=(TickReport(),)) for logger in (first, second)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=60)

    days_per_batch = [len(b["days"]) for b in batches.batches(db).find()]
    assert len(whylabs.uploads) == sum(days_per_batch) > 1
    assert uploaded_counts(whylabs) == history_counts(db)
