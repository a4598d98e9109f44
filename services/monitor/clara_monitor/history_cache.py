"""The logger's history days, kept in each process (HistoryCache) and refreshed from the days it changed lately."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pymongo.database import Database

from clara_common.days import days_between
from clara_common.db import Document
from clara_common.ledger import (
    HISTORY_COLLECTION,
)

# How far back each look for history days changed lately reaches before the previous look: the
# logger's and the monitor's clocks may differ (NTP keeps them within milliseconds; one host in
# Compose), and a day's write lands a moment after its updated_at. Every day changed within it is
# read again by every request, so it is short (docs/benchmarks.md).
POLL_MARGIN = timedelta(seconds=15)


def history_rows(records: Iterable[dict[str, Any]]) -> list[tuple[str, int, int, int]]:
    """Return the confusion rows (day, true, predicted, n) of history records."""
    return [
        (r["_id"], int(t), int(p), n)
        for r in records
        for t, row in r.get("confusion", {}).items()
        for p, n in row.items()
        if n
    ]


class HistoryCache:
    """The history's days as this process last read them, brought up to date from the days changed lately.

    Reading 90 days on every request is slow on the embedded database (docs/benchmarks.md); the days a
    request must read again are only those the logger changed since the previous look (`updated_at`,
    looked up through its index, reaching POLL_MARGIN further back for clocks and slow writes).
    """

    FIELDS = {"profile": 0, "applied_batches": 0}

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.days: dict[str, dict[str, Any]] = {}
        self.known: set[str] = set()  # days read at least once, with or without a record
        self.generation: Any = None
        self.polled_at: datetime | None = None
        self.moves = 0  # how many times a day was found changed: a mark that moves with the history

    def refresh(self, database: Database[Document], ledger: dict[str, Any]) -> datetime:
        """Bring the cache up to date; return the time from which the days changed lately were looked up."""
        with self._lock:
            if ledger.get("created_at") != self.generation:  # a history rebuilt from nothing
                self.days, self.known, self.polled_at = {}, set(), None
                self.generation = ledger.get("created_at")
            started = datetime.now(UTC)
            since = (self.polled_at or started) - POLL_MARGIN
            history = database[HISTORY_COLLECTION]
            # Their versions first: after a tick that touched many days, every request finds them all
            # changed lately for POLL_MARGIN, and only the days whose version moved are read again.
            recent = history.find({"updated_at": {"$gte": since}}, {"version": 1, "updated_at": 1})
            moved = [r["_id"] for r in recent if not self._holds(r)]
            if moved:
                self.moves += 1
                for record in history.find({"_id": {"$in": moved}}, self.FIELDS):
                    self.days[record["_id"]] = record
            self.polled_at = started if self.polled_at is None else max(self.polled_at, started)
            return since

    def _holds(self, record: dict[str, Any]) -> bool:
        held = self.days.get(record["_id"])
        return (
            held is not None
            and held.get("version") == record.get("version")
            and held.get("updated_at") == record.get("updated_at")
        )

    def unchanged_since(self, database: Database[Document], since: datetime) -> bool:
        """Return whether every day changed since `since` is in the cache at the version it holds."""
        recent = database[HISTORY_COLLECTION].find({"updated_at": {"$gte": since}}, {"version": 1, "updated_at": 1})
        with self._lock:
            return all(self._holds(r) for r in recent)

    def records(self, database: Database[Document], first: date, last: date) -> dict[str, dict[str, Any]]:
        """Return the cached records of local days `first` to `last`, reading the days never read before."""
        wanted = range_days(first, last)
        with self._lock:
            if not self.known.issuperset(wanted):
                query = {"_id": {"$gte": wanted[0], "$lte": wanted[-1]}}
                for record in database[HISTORY_COLLECTION].find(query, self.FIELDS):
                    self.days.setdefault(record["_id"], record)
                self.known.update(wanted)
            return {day: self.days[day] for day in wanted if day in self.days}


def day_batches(database: Database[Document], first: date, last: date) -> dict[str, dict[str, Any]]:
    """Return the batch ids and version of the history days `first` to `last`."""
    query = {"_id": {"$gte": first.isoformat(), "$lte": last.isoformat()}}
    return {r["_id"]: r for r in database[HISTORY_COLLECTION].find(query, {"applied_batches": 1, "version": 1})}


def range_days(first: date, last: date) -> list[str]:
    return [d.isoformat() for d in days_between(first, last)]
