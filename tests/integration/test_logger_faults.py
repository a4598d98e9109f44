"""Fault injection: real `clara-logger` processes, SIGKILLed at random instants, and two at once.

Whatever instant a logger dies at (claiming, profiling, between the batch record and the history,
halfway through the history's days, before marking the record applied), the stored history must
equal the ground truth computed from the documents: every validated prediction counted once.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from clara_common.ledger.batches import UNFINISHED
from clara_logger import batches, history
from tests.utils.predictions import expected_confusion, prediction, stored_confusion

pytestmark = [pytest.mark.integration, pytest.mark.slow]

RUNS = 20
NEW_PER_RUN = 40
START_MARK = "WhyLabs upload off"


def logger_env(settings, lease_seconds: float) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WHYLABS_", "ALERT_", "LOGGER_", "DRIFT_"))}
    env.update(
        {
            "MONGODB_URI": settings.MONGODB_URI.get_secret_value(),
            "MONGODB_DB": settings.MONGODB_DB,
            "LOGGER_BATCH_SIZE": "10",
            "LOGGER_CLAIM_SIZE": "15",
            "LOGGER_LEASE_SECONDS": str(lease_seconds),
            "WHYLOGS_NO_ANALYTICS": "1",
            "LOG_LEVEL": "INFO",
        }
    )
    return env


def start_logger(env: dict[str, str], log_path: Path) -> subprocess.Popen:
    with log_path.open("wb") as log_file:
        return subprocess.Popen(
            [sys.executable, "-m", "clara_logger.cli", "--once"], env=env, stdout=log_file, stderr=subprocess.STDOUT
        )


def wait_for_start(process: subprocess.Popen, log_path: Path, timeout: float = 60.0) -> None:
    """Wait until the logger has imported everything and is about to tick."""
    deadline = time.monotonic() + timeout
    while START_MARK not in log_path.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"the logger did not start:\n{log_path.read_text(errors='replace')}")
        time.sleep(0.01)


def assert_history_matches(db, valid_docs: list[dict]) -> None:
    assert stored_confusion(db) == expected_confusion(valid_docs)
    assert sum(r["count"] for r in history.history(db).find()) == len(valid_docs)
    for record in history.history(db).find():
        assert len(record["applied_batches"]) == len(set(record["applied_batches"]))
    assert batches.batches(db).count_documents({"state": {"$in": UNFINISHED}}) == 0
    assert history.stale_days(history.history(db)) == []  # every changed day had its drift evaluated


def test_killing_the_logger_at_random_instants_loses_and_doubles_nothing(db, settings, tmp_path):
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    collection = db[settings.PREDICTIONS_COLLECTION]
    valid: list[dict] = []
    malformed = prediction(rng, 99_999)
    malformed["output_prediction"] = 42
    pending = [prediction(rng, 90_000 + i, reviewed=False) for i in range(5)]
    collection.insert_many([malformed, *pending])
    env = logger_env(settings, lease_seconds=0.2)
    killed = left_unfinished = 0
    work_seconds = None  # how long a run's tick takes here, measured by a first run left alone
    for run in range(RUNS + 1):
        new = [prediction(rng, run * 1000 + i) for i in range(NEW_PER_RUN)]
        collection.insert_many(new)
        valid += new
        log_path = tmp_path / f"run-{run}.log"
        process = start_logger(env, log_path)
        wait_for_start(process, log_path)
        if work_seconds is None:
            started = time.monotonic()
            assert process.wait(timeout=120) == 0, log_path.read_text()
            work_seconds = time.monotonic() - started
            continue
        time.sleep(rng.uniform(0.0, 0.9 * work_seconds))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            killed += 1
        process.wait(timeout=60)
        left_unfinished += batches.batches(db).count_documents({"state": {"$in": UNFINISHED}})
        time.sleep(0.25)  # the dead logger's lease runs out; the next run finishes its batch

    drain = start_logger(env, tmp_path / "drain.log")
    assert drain.wait(timeout=120) == 0, (tmp_path / "drain.log").read_text()

    context = (
        f"seed {seed}: {killed} of {RUNS} runs killed, {left_unfinished} batches left unfinished, "
        f"a tick takes {work_seconds:.2f}s"
    )
    assert killed >= RUNS // 2, context
    assert left_unfinished >= 1, context  # the kills did land in the middle of batches
    assert_history_matches(db, valid)
    assert collection.count_documents({"logged": True}) == len(valid), context
    assert collection.find_one({"_id": malformed["_id"]})["logged_error"].startswith("output_prediction")
    assert collection.count_documents({"_id": {"$in": [p["_id"] for p in pending]}, "logged": False}) == len(pending)


def test_two_loggers_at_once_count_every_prediction_once(db, settings, tmp_path):
    rng = random.Random(21)
    docs = [prediction(rng, i) for i in range(400)]
    db[settings.PREDICTIONS_COLLECTION].insert_many(docs)
    env = logger_env(settings, lease_seconds=60)
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    processes = [start_logger(env, path) for path in logs]
    for process, path in zip(processes, logs):
        assert process.wait(timeout=180) == 0, path.read_text()

    assert_history_matches(db, docs)
    owners = {b["owner"] for b in batches.batches(db).find()}
    assert len(owners) == 2, "both loggers should have logged part of the backlog"


def wait_for_text(path: Path, text: str, process: subprocess.Popen, timeout: float = 60.0, count: int = 1) -> None:
    deadline = time.monotonic() + timeout
    while path.read_text(errors="replace").count(text) < count:
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"never saw {text!r}:\n{path.read_text(errors='replace')}")
        time.sleep(0.05)


def start_service(env: dict[str, str], log_path: Path) -> subprocess.Popen:
    with log_path.open("wb") as log_file:
        return subprocess.Popen(
            [sys.executable, "-m", "clara_logger.cli"], env=env, stdout=log_file, stderr=subprocess.STDOUT
        )


def test_the_service_ticks_on_schedule_and_sigterm_ends_it_cleanly(db, settings, tmp_path):
    rng = random.Random(5)
    collection = db[settings.PREDICTIONS_COLLECTION]
    first = [prediction(rng, i) for i in range(30)]
    collection.insert_many(first)
    env = {**logger_env(settings, lease_seconds=60), "LOGGER_INTERVAL_MINUTES": "0.01"}
    log_path = tmp_path / "service.log"
    service = start_service(env, log_path)
    try:
        wait_for_text(log_path, "tick found=30 ", service)
        later = [prediction(rng, 500 + i) for i in range(30)]
        collection.insert_many(later)
        wait_for_text(log_path, "tick found=30 ", service, count=2)
        service.send_signal(signal.SIGTERM)
        assert service.wait(timeout=60) == 0, log_path.read_text()
    finally:
        if service.poll() is None:
            service.kill()
    assert "stopped" in log_path.read_text()
    assert_history_matches(db, first + later)


def test_a_database_outage_is_logged_backed_off_and_survived(settings, tmp_path):
    from pymongo import MongoClient

    from clara_common.embedded import EmbeddedMongo

    storage = tmp_path / "data"
    server = EmbeddedMongo(storage_path=storage).start()
    env = {
        **logger_env(settings, lease_seconds=60),
        "MONGODB_URI": server.uri,
        "MONGODB_DB": "outage",
        "LOGGER_INTERVAL_MINUTES": "0.01",
        "MONGODB_TIMEOUT_MS": "500",
        "LOGGER_RETRY_MIN_SECONDS": "0.2",
        "LOGGER_RETRY_MAX_SECONDS": "1",
    }
    rng = random.Random(8)
    before = [prediction(rng, i) for i in range(20)]
    after = [prediction(rng, 500 + i) for i in range(20)]
    log_path = tmp_path / "service.log"
    service = None
    try:
        with MongoClient(server.uri, tz_aware=True) as client:
            client.outage[settings.PREDICTIONS_COLLECTION].insert_many(before)
        service = start_service(env, log_path)
        wait_for_text(log_path, "tick found=20 ", service)
        server.stop()
        wait_for_text(log_path, "database unavailable", service)
        server = EmbeddedMongo(port=server.port, storage_path=storage).start()
        with MongoClient(server.uri, tz_aware=True) as client:
            client.outage[settings.PREDICTIONS_COLLECTION].insert_many(after)
        wait_for_text(log_path, "tick found=20 ", service, count=2)
        service.send_signal(signal.SIGTERM)
        assert service.wait(timeout=60) == 0, log_path.read_text()
        with MongoClient(server.uri, tz_aware=True) as client:
            assert_history_matches(client.outage, before + after)
    finally:
        if service is not None and service.poll() is None:
            service.kill()
        server.stop()
