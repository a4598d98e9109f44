"""A range's exact counts: the logger's history plus the tail it has not logged yet, read consistently.

    history days (as read) + Σ over tail documents (what it counts now - what the history holds of it)

What the history holds of a tail document (tail.py) is decided by its batch: applied to all its days, or in
flight and then by the batch ids each day records. The history's days are kept in each process
(HistoryCache, below) and refreshed from the days the logger changed lately, looked up before and after the
tail: if one changed in between, the read is done again, so an answer is exact as of one instant.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from typing import Any

import polars as pl
from pymongo.collection import Collection
from pymongo.database import Database

from clara_common.days import range_bounds, range_days
from clara_common.db import Document
from clara_common.ledger import BATCHES_COLLECTION, HISTORY_COLLECTION
from clara_common.ledger.batches import applied_among, unfinished_batches
from clara_common.ledger.state import read_state
from clara_common.ledger.stored import HISTORY, typed
from clara_common.metrics import COUNT_SCHEMA
from clara_monitor.ledger_state import check_timezone
from clara_monitor.settings import MonitorSettings
from clara_monitor.tail import (
    RAW,
    READ_ATTEMPTS,
    Judged,
    LiveTail,
    TailJudgements,
    batches_of,
    tail_deltas,
    tail_documents,
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


def history_day(record: dict[str, Any]) -> dict[str, Any]:
    """Return a history day as read: a field of another type than the logger writes left out (stored.typed)."""
    return typed(record, HISTORY, HISTORY_COLLECTION) or {}


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
                    self.days[record["_id"]] = history_day(record)
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
                    self.days.setdefault(record["_id"], history_day(record))
                self.known.update(wanted)
            return {day: self.days[day] for day in wanted if day in self.days}


def day_batches(database: Database[Document], first: date, last: date) -> dict[str, dict[str, Any]]:
    """Return the batch ids and version of the history days `first` to `last`."""
    query = {"_id": {"$gte": first.isoformat(), "$lte": last.isoformat()}}
    return {
        r["_id"]: history_day(r) for r in database[HISTORY_COLLECTION].find(query, {"applied_batches": 1, "version": 1})
    }


@dataclass
class RangeCounts:
    """A range's confusion counts per day, its invalid records per day, and how they were read."""

    rows: list[tuple[str, int, int, int]]  # (day, true, predicted, ±n): the history's cells and the tail's deltas
    invalid: dict[str, int]
    tail_documents: int
    unlogged: int  # validated predictions of the range not logged yet
    attempts: int = 1
    days: dict[str, dict[str, Any]] = field(default_factory=dict)
    ledger: dict[str, Any] | None = None  # the state document the read was made against
    # What the counts were made of (the history days' versions, the tail's deltas): two reads with the
    # same fingerprint have the same counts, so what is computed from them can be kept.
    fingerprint: tuple[Any, ...] = ()

    @cached_property
    def counts(self) -> pl.DataFrame:
        """The confusion counts per day (COUNT_SCHEMA): each cell summed, none zero; made when first asked."""
        return (
            pl.DataFrame(self.rows, schema=COUNT_SCHEMA, orient="row")
            .group_by("day", "true", "predicted")
            .agg(pl.col("n").sum())
            .filter(pl.col("n") != 0)
            .sort("day", "true", "predicted")
        )


@dataclass(frozen=True)
class TailRead:
    """The tail as judged by one consistent read, and where the history holds its documents' batches."""

    tail: list[Judged]
    done: set[str]  # the batches applied to every day they touch
    applied: dict[str, set[str]]  # per day, the batch ids it records (read only while a batch is in flight)
    attempts: int

    def held(self, day: str, batch: str | None) -> bool:
        """Return whether day `day` of the history holds what batch `batch` claimed."""
        return batch is not None and (batch in self.done or batch in self.applied.get(day, ()))


def range_counts(
    database: Database[Document],
    predictions: Collection[Document],
    first: date,
    last: date,
    settings: MonitorSettings,
    cache: HistoryCache | None = None,
    judgements: TailJudgements | None = None,
    live: LiveTail | None = None,
) -> RangeCounts:
    """Return the exact counts of local days `first` to `last`: history plus tail, read consistently (read_tail)."""
    ledger = read_state(database)
    check_timezone(ledger, settings)
    cache = cache or HistoryCache()
    read = read_tail(
        database, predictions, first, last, settings, ledger, cache, judgements or TailJudgements(), live or LiveTail()
    )
    records = cache.records(database, first, last) if ledger else {}
    first_day, last_day = first.isoformat(), last.isoformat()
    deltas, invalid_deltas = tail_deltas(read.tail, read.held, first_day, last_day)
    return RangeCounts(
        rows=history_rows(records.values()) + deltas,
        invalid=invalid_per_day(records, invalid_deltas),
        tail_documents=len(read.tail),
        unlogged=unlogged_within(read.tail, first_day, last_day),
        attempts=read.attempts,
        days=records,
        ledger=ledger,
        fingerprint=counts_fingerprint(records, deltas, invalid_deltas),
    )


def read_tail(
    database: Database[Document],
    predictions: Collection[Document],
    first: date,
    last: date,
    settings: MonitorSettings,
    ledger: dict[str, Any] | None,
    cache: HistoryCache,
    judgements: TailJudgements,
    live: LiveTail,
) -> TailRead:
    """Return the tail of local days `first` to `last`, judged, as of one instant of the history.

    The days changed lately are looked up before and after the tail; if one changed in between, a
    batch was applied meanwhile and the read is done again. A batch that touched a tail document is
    either applied to all its days (its record says so) or in flight, and then the days' own lists
    of batch ids say where it is counted already.
    """
    start, end = range_bounds(first, last, settings.tz)
    raw_predictions = predictions.with_options(codec_options=RAW)
    for attempt in range(1, READ_ATTEMPTS + 1):  # noqa: B007 - read after the loop: how many attempts it took
        since = cache.refresh(database, ledger) if ledger else None
        records = cache.records(database, first, last) if ledger else {}
        unfinished = unfinished_batches(database[BATCHES_COLLECTION]) if ledger else {}
        found = tail_documents(raw_predictions, start, end, ledger, unfinished, (cache.moves, unfinished), live)
        now = datetime.now(UTC)
        tail = [judgements.judge(doc, settings, now, predictions.codec_options) for doc in found]
        done = applied_among(database[BATCHES_COLLECTION], batches_of(tail)) if ledger else set()
        in_flight = batches_of(tail) - done
        lists = day_batches(database, first, last) if in_flight else {}
        stable = since is None or history_unchanged(database, cache, since, records, lists)
        applied = {day: set(r.get("applied_batches", [])) for day, r in lists.items()}
        if stable:
            break
    return TailRead(tail, done, applied, attempt)


def history_unchanged(
    database: Database[Document],
    cache: HistoryCache,
    since: datetime,
    records: dict[str, dict[str, Any]],
    lists: dict[str, dict[str, Any]],
) -> bool:
    """Return whether no history day changed since `since`, and the days' batch lists are of the records' versions."""
    return cache.unchanged_since(database, since) and all(
        r.get("version") == records.get(day, {}).get("version") for day, r in lists.items()
    )


def invalid_per_day(records: dict[str, dict[str, Any]], deltas: dict[str, int]) -> dict[str, int]:
    """Return each day's invalid records: the history's, plus the tail's deltas."""
    invalid = {day: r.get("invalid", 0) for day, r in records.items()}
    for day, n in deltas.items():
        invalid[day] = invalid.get(day, 0) + n
    return invalid


def counts_fingerprint(
    records: dict[str, dict[str, Any]], deltas: list[tuple[str, int, int, int]], invalid_deltas: dict[str, int]
) -> tuple[Any, ...]:
    """Return what the counts were made of: the history days' versions and the tail's deltas."""
    return (
        tuple((day, r.get("version"), r.get("updated_at")) for day, r in sorted(records.items())),
        tuple(sorted(deltas)),
        tuple(sorted(invalid_deltas.items())),
    )


def unlogged_within(tail: list[Judged], first_day: str, last_day: str) -> int:
    """Return how many tail documents are validated, not logged yet, and count on a day `first_day` to `last_day`."""
    return sum(
        1 for judged in tail if judged.unlogged and judged.current and first_day <= judged.current.day <= last_day
    )
