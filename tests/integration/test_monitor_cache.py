"""The shared day-count cache: newest count wins, stale marks hold, rebuild starts afresh."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from pymongo.database import Database

from clara_common.settings import Settings
from clara_monitor.queries import DayCountCache, DayCounts, contiguous_runs

pytestmark = pytest.mark.integration

DAY = date(2026, 3, 2)


@pytest.fixture
def cache(db: Database, settings: Settings) -> DayCountCache:
    return DayCountCache(db[settings.PREDICTIONS_COLLECTION], db, settings.classes, "UTC", UTC)


def stored(cache: DayCountCache) -> dict:
    return cache.entries.find_one({"_id": cache._entry_id(DAY)})


def test_an_older_count_never_replaces_a_newer_one(cache: DayCountCache) -> None:
    now = datetime.now(UTC)
    cache._write(DayCounts(DAY.isoformat(), ((1, 1, 5),), 0), now)
    cache._write(DayCounts(DAY.isoformat(), ((1, 1, 3),), 0), now - timedelta(seconds=1))  # a slow worker
    assert stored(cache)["counts"] == [[1, 1, 5]]
    cache._write(DayCounts(DAY.isoformat(), ((1, 1, 6),), 0), now + timedelta(seconds=1))
    assert stored(cache)["counts"] == [[1, 1, 6]]


def test_a_count_begun_before_a_stale_mark_does_not_clear_it(cache: DayCountCache) -> None:
    started = datetime.now(UTC)
    cache._write(DayCounts(DAY.isoformat(), ((2, 2, 1),), 0), started - timedelta(seconds=5))
    cache._mark_stale({DAY}, None, started + timedelta(seconds=1))
    cache._write(DayCounts(DAY.isoformat(), ((2, 2, 1),), 0), started)  # began before the change was seen
    assert "counts" not in stored(cache)


def test_rebuild_forgets_every_day_and_the_watermark(cache: DayCountCache) -> None:
    cache.day_counts(DAY, DAY + timedelta(days=2))
    assert cache.entries.count_documents({"key": cache.key}) == 3
    assert cache.rebuild() == 3
    assert cache.entries.count_documents({}) == 0 and cache.state.find_one({"_id": cache.key}) is None


def test_contiguous_runs_split_at_gaps() -> None:
    days = [DAY, DAY + timedelta(days=1), DAY + timedelta(days=3), DAY - timedelta(days=2)]
    assert list(contiguous_runs(days)) == [
        (DAY - timedelta(days=2), DAY - timedelta(days=2)),
        (DAY, DAY + timedelta(days=1)),
        (DAY + timedelta(days=3), DAY + timedelta(days=3)),
    ]


def test_rebuild_cache_command_empties_the_cache(cache: DayCountCache, settings: Settings) -> None:
    import os
    import subprocess
    import sys

    cache.day_counts(DAY, DAY)
    env = {**os.environ, "MONGODB_URI": settings.MONGODB_URI, "MONGODB_DB": settings.MONGODB_DB, "TIMEZONE": "UTC"}
    done = subprocess.run([sys.executable, "-m", "clara_monitor.cli", "--rebuild-cache"], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "dropped 1 cached days" in done.stderr
    assert cache.entries.count_documents({}) == 0
