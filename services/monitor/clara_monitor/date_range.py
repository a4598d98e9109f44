"""The first and last local day with validated predictions: the history's days with counts (CountedDays),
and the earliest and latest validation times of the tail."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pymongo.collection import Collection
from pymongo.database import Database

from clara_common.days import day_start, local_day
from clara_common.db import Document
from clara_common.ledger import (
    BATCHES_COLLECTION,
    HISTORY_COLLECTION,
    dates_within,
    max_skew,
)
from clara_common.ledger.batches import unfinished_batches
from clara_common.ledger.state import read_state
from clara_monitor.range_counts import POLL_MARGIN
from clara_monitor.settings import MonitorSettings
from clara_monitor.tail import READ_ATTEMPTS, tail_queries, validated_not_logged


class CountedDays:
    """The history's days with counts, kept in this process: every day's count read once, then the days
    changed lately (looked up through `updated_at`, reaching POLL_MARGIN further back, as HistoryCache does).

    The embedded database reads each day's whole record (its profile too) to find the days with counts:
    too slow for every page load (docs/benchmarks.md).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._days: set[str] = set()
        self._generation: Any = None
        self._polled_at: datetime | None = None

    def refresh(self, database: Database[Document], ledger: dict[str, Any] | None) -> None:
        """Bring the days up to date: all of them for a new history, else those changed lately."""
        with self._lock:
            started = datetime.now(UTC)
            generation = (ledger or {}).get("created_at")
            changed: dict[str, Any] = {}
            if generation != self._generation or self._polled_at is None:  # first, or rebuilt from nothing
                self._days, self._generation = set(), generation
            else:
                changed = {"updated_at": {"$gte": self._polled_at - POLL_MARGIN}}
            for record in database[HISTORY_COLLECTION].find(changed, {"count": 1}):
                count = record.get("count")
                if isinstance(count, int | float) and count > 0:
                    self._days.add(record["_id"])
                else:
                    self._days.discard(record["_id"])
            self._polled_at = started

    def ends(self, first: str, last: str) -> list[str]:
        """Return the first and last day with counts from `first` to `last` (none: an empty list)."""
        with self._lock:
            inside = [day for day in self._days if first <= day <= last]
        return [min(inside), max(inside)] if inside else []


def day_bounds(
    database: Database[Document],
    predictions: Collection[Document],
    settings: MonitorSettings,
    earliest: date,
    latest: date,
    counted: CountedDays | None = None,
) -> tuple[str | None, str | None]:
    """Return the first and last local day with validated predictions within `earliest` to `latest`.

    The history's first and last day with counts (`counted`, this process's, brought up to date), and
    the days of the tail's earliest and latest BSON-date validation times (without a logger, the tail is
    every document): the days a look at every document's validation time gives, reading only the tail.
    A validation time that is not due yet (beyond now + MAX_CLOCK_SKEW_MINUTES) is left out, so that
    the dashboard never opens on a day to come.

    The history is read last: a review the logger claims meanwhile is in the tail or already in a day.
    """
    start = day_start(earliest, settings.tz)
    end = min(day_start(latest + timedelta(days=1), settings.tz), datetime.now(UTC) + max_skew(settings))
    ledger = read_state(database)
    times = tail_times(database, predictions, ledger, start, end)
    counted = counted or CountedDays()
    counted.refresh(database, ledger)
    days = [local_day(t, settings.tz).isoformat() for t in times]
    days += counted.ends(earliest.isoformat(), latest.isoformat())
    return (min(days), max(days)) if days else (None, None)


def tail_times(
    database: Database[Document],
    predictions: Collection[Document],
    ledger: dict[str, Any] | None,
    start: datetime,
    end: datetime,
) -> list[datetime]:
    """Return BSON-date validation times in [start, end) of the tail: among them its earliest and latest.

    Read again while a batch opened after the look for unfinished ones: its documents may have left the
    tail's other queries before the history holds them.
    """
    unfinished = unfinished_batches(database[BATCHES_COLLECTION]) if ledger else {}
    for _ in range(READ_ATTEMPTS):
        queries = tail_queries(start, end, ledger, unfinished, not_logged=validated_not_logged)
        times = tail_ends(predictions, queries, start, end)
        # What the logger set aside, whatever its `logged`: the history counts it as invalid, not by day.
        times += found_ends(predictions, {"logged_error": {"$exists": True}}, start, end)
        now_unfinished = unfinished_batches(database[BATCHES_COLLECTION]) if ledger else {}
        if now_unfinished.keys() <= unfinished.keys():
            break
        unfinished = now_unfinished
    return times


def tail_ends(
    predictions: Collection[Document], queries: list[dict[str, Any]], start: datetime, end: datetime
) -> list[datetime]:
    """Return the earliest and latest BSON-date validation times in [start, end) of each query's documents.

    A query of a range of dates is sorted on the server: its first and last documents. An array sorts by
    its least or greatest element of any type, which need not be the date in range, so a query whose
    first or last document holds one is read whole. A query of strings or numbers finds no BSON date; one
    of no validation time (a batch's documents, few) is read whole.
    """
    times = []
    for query in queries:
        validated = query.get("timestamp_validated")
        if validated is None:
            times += found_ends(predictions, query, start, end)
        elif isinstance(validated.get("$gte"), datetime):
            ends = [
                predictions.find_one(query, {"timestamp_validated": 1}, sort=[("timestamp_validated", order)])
                for order in (1, -1)
            ]
            values = [doc["timestamp_validated"] for doc in ends if doc is not None]
            if any(isinstance(value, list) for value in values):
                times += found_ends(predictions, query, start, end)
            else:
                times += [t for value in values for t in dates_within(value, start, end)]
    return times


def found_ends(
    predictions: Collection[Document], query: dict[str, Any], start: datetime, end: datetime
) -> list[datetime]:
    """Return the earliest and latest BSON-date validation times in [start, end) of every document `query` finds."""
    first = last = None
    for doc in predictions.find(query, {"timestamp_validated": 1}):
        for time in dates_within(doc.get("timestamp_validated"), start, end):
            first = time if first is None else min(first, time)
            last = time if last is None else max(last, time)
    return [] if first is None or last is None else [first, last]
