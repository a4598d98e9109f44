"""An existing database's indexes: an equivalent index under another name is reused, a conflicting one is
logged and passed over, and no service fails to start because of one."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import ASCENDING, DESCENDING

from clara_common.db import ensure_indexes
from clara_common.settings import CommonSettings
from tests.utils.monitor_app import MakeMonitor
from tests.utils.settings import monitor_settings

pytestmark = pytest.mark.integration

# Indexes an existing CLARA database may hold: MongoDB's default names for the keys the services index.
DEFAULT_NAMES = {
    "timestamp_validated_1": [("timestamp_validated", ASCENDING)],
    "logged_1_timestamp_validated_1": [("logged", ASCENDING), ("timestamp_validated", ASCENDING)],
}


def run_logger_once(settings: CommonSettings) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "MONGODB_URI": settings.MONGODB_URI.get_secret_value(),
        "MONGODB_DB": settings.MONGODB_DB,
        "WHYLOGS_NO_ANALYTICS": "1",
        "LOG_LEVEL": "INFO",
    }
    return subprocess.run(
        [sys.executable, "-m", "clara_logger.cli", "--once"], env=env, capture_output=True, text=True, timeout=120
    )


def one_review(db, settings: CommonSettings) -> None:
    when = datetime.now(UTC) - timedelta(hours=1)
    db[settings.PREDICTIONS_COLLECTION].insert_one(
        {
            "filename": "a.jpg",
            "output_prediction": 1,
            "output_validated": 1,
            "timestamp": when,
            "timestamp_validated": when,
            "logged": False,
        }
    )


def keys_held_twice(db, settings: CommonSettings) -> list:
    info = db[settings.PREDICTIONS_COLLECTION].index_information()
    return [key for key, n in Counter(tuple(i["key"]) for i in info.values()).items() if n > 1]


@pytest.mark.parametrize("name", list(DEFAULT_NAMES))
def test_the_logger_reuses_an_equivalent_index_under_another_name(db, settings, name) -> None:
    one_review(db, settings)
    db[settings.PREDICTIONS_COLLECTION].create_index(DEFAULT_NAMES[name], name=name)

    done = run_logger_once(settings)

    assert done.returncode == 0, done.stderr
    assert "IndexOptionsConflict" not in done.stderr and "not created" not in done.stderr
    assert db[settings.PREDICTIONS_COLLECTION].count_documents({"logged": True}) == 1
    info = db[settings.PREDICTIONS_COLLECTION].index_information()
    assert name in info and not keys_held_twice(db, settings)


@pytest.mark.parametrize("name", list(DEFAULT_NAMES))
def test_ensure_indexes_returns_the_names_in_use_whatever_they_are(db, settings, name) -> None:
    db[settings.PREDICTIONS_COLLECTION].create_index(DEFAULT_NAMES[name], name=name)
    first = ensure_indexes(db.client, settings)
    assert name in first and ensure_indexes(db.client, settings) == first


def test_an_index_that_cannot_be_created_is_logged_and_the_logger_runs_without_it(db, settings) -> None:
    one_review(db, settings)
    # Our name, other keys: ours cannot be created under it.
    db[settings.PREDICTIONS_COLLECTION].create_index([("filename", DESCENDING)], name="filename")

    done = run_logger_once(settings)

    assert done.returncode == 0, done.stderr
    assert "index filename on" in done.stderr and "not created" in done.stderr
    assert db[settings.PREDICTIONS_COLLECTION].count_documents({"logged": True}) == 1


def test_the_monitor_creates_no_index(db, settings, make_monitor: MakeMonitor) -> None:
    one_review(db, settings)
    before = db[settings.PREDICTIONS_COLLECTION].index_information()
    client = make_monitor(monitor_settings(settings))  # built after the look: building makes no index either
    for route in ("/api/metrics", "/api/status", "/api/date-range", "/api/training-data", "/readyz"):
        assert client.get(route).status_code == 200, route
    assert db[settings.PREDICTIONS_COLLECTION].index_information() == before
    assert sorted(db.list_collection_names()) == [settings.PREDICTIONS_COLLECTION]


def test_an_id_desc_index_an_earlier_version_made_is_left_in_place_and_never_made_again(db, settings) -> None:
    # Earlier versions made {_id: -1} ("_id_desc"), which only duplicates the _id index: no longer made,
    # and never dropped from a database that has it.
    collection = db[settings.PREDICTIONS_COLLECTION]
    one_review(db, settings)
    ensure_indexes(db.client, settings)
    assert [("_id", DESCENDING)] not in [info["key"] for info in collection.index_information().values()]

    collection.create_index([("_id", DESCENDING)], name="_id_desc")
    done = run_logger_once(settings)

    assert done.returncode == 0, done.stderr
    assert collection.count_documents({"logged": True}) == 1
    assert "_id_desc" in collection.index_information()
    assert "_id_desc" not in ensure_indexes(db.client, settings)
