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


def _validated(day: date, predicted_days_before: int = 0, validated: bool = True) -> dict:
    at = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    return {
        "filename": "x.jpg",
        "output_prediction": 1,
        "output_validated": 1 if validated else None,
        "timestamp": at - timedelta(days=predicted_days_before),
        "timestamp_validated": at if validated else None,
    }


def cached_days(cache: DayCountCache) -> set[str]:
    return {entry["day"] for entry in cache.entries.find({"key": cache.key, "counts": {"$exists": True}})}


def test_a_new_pending_prediction_leaves_every_cached_day_alone(cache: DayCountCache) -> None:
    today = datetime.now(UTC).date()
    cache.predictions.insert_one(_validated(today - timedelta(days=3)))
    cache.day_counts(today - timedelta(days=5), today)
    before = cached_days(cache)
    cache.predictions.insert_one(_validated(today, validated=False))
    cache.refresh()
    assert cached_days(cache) == before and len(before) == 6


def test_a_late_validated_insert_marks_its_day_and_the_days_since_its_prediction(cache: DayCountCache) -> None:
    today = datetime.now(UTC).date()
    cache.day_counts(today - timedelta(days=9), today)
    cache.predictions.insert_one(_validated(today - timedelta(days=6), predicted_days_before=1))
    cache.refresh()
    still_cached = cached_days(cache)
    assert still_cached == {(today - timedelta(days=d)).isoformat() for d in range(8, 10)}
    counts = cache.day_counts(today - timedelta(days=9), today)
    assert [d.counts for d in counts if d.counts] == [((1, 1, 1),)]
