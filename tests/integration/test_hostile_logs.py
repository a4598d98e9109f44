"""Quiet logs with progress: no third-party INFO lines in a tick, a progress line in a long one, and a taken-over
batch named after the logger that left it."""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from datetime import timedelta

import pytest

from clara_common.db import make_client
from clara_common.logs import QUIET_LOGGERS, configure_logging
from clara_common.settings import CommonSettings
from clara_logger import batches, tick
from clara_logger.settings import LoggerSettings
from clara_logger.tick import LoggerService
from tests.utils.predictions import prediction
from tests.utils.settings import logger_settings

pytestmark = pytest.mark.integration


@pytest.fixture
def restored_levels() -> Iterator[None]:
    """Put back the levels configure_logging changes, for the tests that follow."""
    names = ["", *QUIET_LOGGERS]
    levels = {name: logging.getLogger(name).level for name in names}
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.fixture
def small_batches(settings: CommonSettings) -> LoggerSettings:
    return logger_settings(settings, LOGGER_BATCH_SIZE=5, LOGGER_CLAIM_SIZE=20)


def run_tick(settings: CommonSettings, owner: str | None = None) -> tick.TickReport:
    with make_client(settings) as client:
        return LoggerService(logger_settings(settings), client, owner=owner).tick()


def test_a_tick_writes_no_third_party_info_lines(db, small_batches, caplog, restored_levels) -> None:
    rng = random.Random(1)
    db[small_batches.PREDICTIONS_COLLECTION].insert_many([prediction(rng, i) for i in range(30)])
    run_tick(small_batches)  # history days with profiles: the next tick merges into them
    db[small_batches.PREDICTIONS_COLLECTION].insert_many([prediction(rng, 100 + i) for i in range(30)])
    configure_logging("INFO")
    with caplog.at_level(logging.INFO):
        report = run_tick(small_batches)
    assert report.logged == 30
    ours = ("clara_", "tests")
    assert [r.getMessage() for r in caplog.records if not r.name.startswith(ours) and r.levelno < logging.WARNING] == []


def test_a_long_tick_logs_its_progress(db, small_batches, caplog, monkeypatch) -> None:
    monkeypatch.setattr(tick, "PROGRESS_SECONDS", 0.0)
    rng = random.Random(2)
    db[small_batches.PREDICTIONS_COLLECTION].insert_many([prediction(rng, i) for i in range(30)])
    with caplog.at_level(logging.INFO, logger="clara_logger"):
        run_tick(small_batches)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("progress:")]
    assert lines, "no progress line"
    assert lines[-1].startswith("progress: 30 of 30 predictions") and lines[-1].endswith("/s)")


def test_no_progress_line_in_a_short_tick(db, small_batches, caplog) -> None:
    db[small_batches.PREDICTIONS_COLLECTION].insert_many([prediction(random.Random(3), i) for i in range(5)])
    with caplog.at_level(logging.INFO, logger="clara_logger"):
        run_tick(small_batches)
    assert not [r for r in caplog.records if r.getMessage().startswith("progress:")]


def test_finishing_a_batch_names_the_logger_that_left_it(db, settings, caplog) -> None:
    rng = random.Random(4)
    docs = [prediction(rng, i) for i in range(5)]
    collection = db[settings.PREDICTIONS_COLLECTION]
    collection.insert_many(docs)
    batch_id = batches.open_batch(batches.batches(db), "dead-host:41", lease_seconds=-1)
    first = min(d["timestamp_validated"] for d in docs)
    assert batches.claim_window(collection, batch_id, first, first + timedelta(days=10)) == 5

    with caplog.at_level(logging.INFO, logger="clara_logger"):
        report = run_tick(settings, owner="new-host:42")

    assert report.recovered == 1
    assert f"finishing batch {batch_id} left claiming by dead-host:41" in caplog.messages
    assert batches.get_batch(batches.batches(db), batch_id)["owner"] == "new-host:42"
