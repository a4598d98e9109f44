"""The monitor's read side: a range's counts from the logger's history plus the tail it has not logged yet.

    history days (as read) + Σ over tail documents (what it counts now - what the history holds of it)

The tail is every document whose current contribution may differ from what the history holds:
validated but not logged yet, validated since the logger last looked for corrections, bound to a batch
not applied yet, or (until the logger has adopted them) marked logged by another logger. Each is
judged by the one record contract (clara_common.ledger). A prediction that can never count is not read
(unlogged_queries): one the logger set aside, whose invalid record the history holds (fixed later, it is
found by its new review time or, fixed in place, by the next reconcile, as any counted prediction edited in
place is), and one the logger marked as having a review time and no verdict, until it has one. What the
history holds of a document is
decided by its batch: applied to all its days, or in flight and then by the batch ids each day
records. The history's days are kept in each process and refreshed from the days the logger changed
lately, looked up before and after the tail: if one changed in between, the read is done again, so an
answer is exact as of one instant. The tail's recent reviews are kept in the process too (LiveTail):
a request reads those validated since the newest it holds; a delete, an edit that keeps its time, or
a review written more than LiveTail.MARGIN after its validation time shows within REREAD_AFTER.

Without a logger (no state document), the whole range is read from the source, with the reviewed
documents whose validation time cannot be read but can be found through its index (a number, a date
outside the contract's years, a string that does not start with a digit): their invalid record is on
the day of their prediction time. With a logger, such documents are counted from the history once
it has set them aside.

A review validated beyond now + MAX_CLOCK_SKEW_MINUTES is counted as invalid on its day until due.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from typing import Any

import bson
import polars as pl
from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument
from pymongo.collection import Collection
from pymongo.database import Database

from clara_common.contract import END_INSTANT, FIRST_INSTANT, is_early
from clara_common.days import day_start, days_between, local_day, range_bounds
from clara_common.db import Document, find_once, splits_or
from clara_common.ledger import (
    BATCHES_COLLECTION,
    CORRECTION_LOOKBACK,
    HISTORY_COLLECTION,
    JUDGED_FIELDS,
    LOGGED_AS,
    PENDING,
    PREVIOUS_AS,
    STATE_COLLECTION,
    STATE_ID,
    STRING_CEILING,
    STRING_TOP,
    Contribution,
    Copies,
    as_written,
    contribution,
    copies,
    dates_within,
    max_skew,
)
from clara_common.metrics import COUNT_SCHEMA
from clara_monitor.settings import MonitorSettings

PROJECTION = {name: 1 for name in (*JUDGED_FIELDS, "logged_error", "logger_batch", LOGGED_AS, PREVIOUS_AS)}
# Validation times no day can be read from, each range through the index: dates outside the contract's
# years, numbers, and strings that do not start with a digit (ISO-8601 strings all do).
UNREADABLE_TIMES = [
    {"$gte": datetime(1, 1, 1, tzinfo=UTC), "$lt": FIRST_INSTANT},
    {"$gte": END_INSTANT, "$lte": datetime.max.replace(tzinfo=UTC)},
    {"$gte": -math.inf, "$lte": math.inf},
    {"$gte": "", "$lt": "0"},
    {"$gte": STRING_CEILING, "$lte": STRING_TOP},
]
UNFINISHED_BATCHES = ["claiming", "built"]
# Tail documents are read as raw BSON: their bytes key the judgements (TailJudgements).
RAW = CodecOptions(document_class=RawBSONDocument, tz_aware=True)
# How far back each look for history days changed lately reaches before the previous look: the
# logger's and the monitor's clocks may differ (NTP keeps them within milliseconds; one host in
# Compose), and a day's write lands a moment after its updated_at. Every day changed within it is
# read again by every request, so it is short: after a tick that touched a whole year, 2 minutes cost
# 80 ms a request on the embedded database.
POLL_MARGIN = timedelta(seconds=15)
# How many times a read is done again when the history changes under it.
READ_ATTEMPTS = 5
# How long after its last tick a logger is taken for behind: a few missed intervals.
BEHIND_AFTER_INTERVALS = 3


class LedgerMismatch(RuntimeError):
    """The history was built in another TIMEZONE than the monitor's."""


@dataclass
class RangeCounts:
    """A range's confusion counts per day, its invalid records per day, and how they were read."""

    rows: list[tuple[str, int, int, int]]  # (day, true, predicted, ±n): the history's cells and the tail's deltas
    invalid: dict[str, int]
    tail_documents: int
    unlogged: int  # validated predictions of the range not logged yet
    from_history: bool
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


def read_state(database: Database[Document]) -> dict[str, Any] | None:
    """Return the ledger's state document, or None when no logger has run."""
    return database[STATE_COLLECTION].find_one({"_id": STATE_ID})


def check_timezone(ledger: dict[str, Any] | None, settings: MonitorSettings) -> None:
    """Refuse a history built in another time zone: its days would not be this monitor's days."""
    if ledger is not None and ledger.get("timezone") != settings.TIMEZONE:
        raise LedgerMismatch(
            f"the logger's history was built with TIMEZONE={ledger.get('timezone')}, and this monitor runs with "
            f"TIMEZONE={settings.TIMEZONE}: give both the same TIMEZONE, or rebuild the history with "
            f"`clara-logger --reconcile --all` under TIMEZONE={settings.TIMEZONE}"
        )


def time_queries(
    name: str, start: datetime, end: datetime, extra: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Return queries for `name` in [start, end): BSON dates exactly, ISO strings widened by a day each side."""
    strings = {
        "$gte": (start - timedelta(days=1)).date().isoformat(),
        "$lt": (end + timedelta(days=1)).date().isoformat(),
    }
    return [{**(extra or {}), name: {"$gte": start, "$lt": end}}, {**(extra or {}), name: strings}]


def recent_start(ledger: dict[str, Any], start: datetime) -> datetime:
    """Return where the tail's recent validations begin: the logger's corrections watermark less its look-back."""
    since = ledger.get("corrections_since")
    return max(start, since - CORRECTION_LOOKBACK) if since else start


# A verdict as an index range: one closed range per type of verdict a writer sends (numbers, and an array by
# its numbers; booleans and NaN; strings), for the predictions the logger marked as having none. A verdict of
# another type (an object, a date), malformed and rare, written onto a marked prediction with its old review
# time counts from the history once the logger has set it aside, within a tick.
VERDICTS: list[dict[str, Any]] = [
    {"$gte": -math.inf, "$lte": math.inf},
    {"$in": [False, True, math.nan]},
    {"$gte": "", "$lte": STRING_TOP},
]


def unlogged_queries(start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Return the queries that find the predictions not logged validated in [start, end) that may count.

    Passed over: those the logger set aside (`logged_error`: the history holds their invalid record) and those
    it marked as having no verdict (`logger_pending`), unless a verdict has been written since, whatever its
    review time. Each query is equalities then one range, through an index (clara_common.db), which the
    embedded database reads as such too: neither kind is read, however many there are.
    """
    unmarked = {"logged_error": None, PENDING: None}
    queries = [
        query
        for logged in (False, None)
        for query in time_queries("timestamp_validated", start, end, {"logged": logged, **unmarked})
    ]
    return queries + [{PENDING: True, "output_validated": verdict} for verdict in VERDICTS]


def tail_queries(
    start: datetime,
    end: datetime,
    ledger: dict[str, Any] | None,
    unfinished: Iterable[str],
    recent_dates: bool = True,
    not_logged: Callable[[datetime, datetime], list[dict[str, Any]]] = unlogged_queries,
) -> list[dict[str, Any]]:
    """Return the queries that together find the tail of [start, end), each through an index (for find_any).

    `recent_dates=False` leaves out the recent BSON-date validations, which a LiveTail keeps. `not_logged`
    gives the queries of the predictions not logged validated before the corrections watermark.
    """
    if ledger is None:
        unreadable = [{"timestamp_validated": times} for times in UNREADABLE_TIMES]
        return time_queries("timestamp_validated", start, end) + unreadable
    recent_from = recent_start(ledger, start)
    # Not logged yet, validated before the corrections watermark (after it, the next queries find them).
    queries = not_logged(start, max(start, recent_from))
    if recent_from < end:
        dates, strings = time_queries("timestamp_validated", recent_from, end)
        queries += [dates, strings] if recent_dates else [strings]
    if not ledger.get("adopted_at"):
        queries += time_queries("timestamp_validated", start, end, {"logged": True})
    if unfinished:
        queries.append({"logger_batch": {"$in": sorted(unfinished)}})
    return queries


def validated_not_logged(start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Return the queries of every prediction not logged validated in [start, end), verdict or not (day_bounds:
    a review time is a day to show)."""
    return [
        query
        for logged in (False, None)
        for query in time_queries("timestamp_validated", start, end, {"logged": logged})
    ]


def unfinished_batches(database: Database[Document]) -> dict[str, str]:
    """Return the state of each batch not applied yet, by batch id."""
    query = {"state": {"$in": UNFINISHED_BATCHES}}
    return {r["_id"]: r["state"] for r in database[BATCHES_COLLECTION].find(query, {"state": 1})}


@dataclass(frozen=True)
class Judged:
    """A tail document as the record contract judges it: what it counts now, what its copies count."""

    current: Contribution | None
    copies: Copies
    unlogged: bool  # validated, not logged, not set aside by the logger
    due_later: bool  # validated ahead of the clock: what it counts changes when it is due


def judge(doc: Mapping[str, Any], settings: MonitorSettings, now: datetime) -> Judged:
    """Return what the document counts at `now` and what its `logged_as` and previous copies count."""
    written = as_written(doc)
    return Judged(
        current=contribution(written, settings.classes, settings.tz, now, max_skew(settings)),
        copies=copies(doc, settings.classes, settings.tz),
        unlogged=(
            doc.get("logged") is not True and doc.get("output_validated") is not None and "logged_error" not in doc
        ),
        due_later=is_early(written, settings.tz, now, max_skew(settings)),
    )


class TailJudgements:
    """Each tail document judged once per version in this process: keyed by its bytes as read.

    The tail is read again by every request, and between two requests most of it has not changed: the
    same bytes are the same judgement, except for a review validated ahead of the clock, judged again
    until it is due. At most LIMIT entries are kept (then all are dropped): memory stays bounded.
    """

    LIMIT = 50_000

    def __init__(self) -> None:
        self._judged: dict[bytes, Judged] = {}

    def judge(
        self, raw: RawBSONDocument, settings: MonitorSettings, now: datetime, codec_options: CodecOptions[Any]
    ) -> Judged:
        key = bytes(raw.raw)  # the same object: a raw document's bytes
        known = self._judged.get(key)
        if known is not None and not known.due_later:
            return known
        judged = judge(bson.decode(key, codec_options), settings, now)
        if len(self._judged) >= self.LIMIT:
            self._judged = {}
        self._judged[key] = judged
        return judged


class LiveTail:
    """The tail's recent BSON-date validations, kept in this process and brought up to date by each request.

    They are most of the tail (every review since the logger's last look for corrections) and, read
    again for every request, they cost more than the rest of the answer. Kept here, a request reads
    only those validated since the newest it has, less MARGIN for a write that lands late; the whole
    window is read again when the ledger moves (its state document, a batch, a history day: the
    logger may have claimed any of them), and after REREAD_AFTER otherwise, for what no newer time
    reveals: a delete, or an edit that keeps its time (the logger waits for a reconcile for those).
    """

    MARGIN = timedelta(seconds=2)
    REREAD_AFTER = timedelta(seconds=10)

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: Any = None
        self._documents: dict[Any, RawBSONDocument] = {}
        self._newest: datetime | None = None  # the newest validation time read, not beyond the reading clock
        self._read_at: datetime | None = None

    def documents(
        self, predictions: Collection[RawBSONDocument], ledger: dict[str, Any], ledger_moves: Any
    ) -> list[RawBSONDocument]:
        """Return the documents validated (BSON date) since `recent_start(ledger)`, as of now.

        `ledger_moves`: anything that changes whenever the logger may have written to a prediction.
        """
        start = recent_start(ledger, FIRST_INSTANT)
        key = (ledger, ledger_moves)
        with self._lock:
            now = datetime.now(UTC)
            whole = key != self._key or self._read_at is None or now - self._read_at > self.REREAD_AFTER
            since = start if whole or self._newest is None else max(start, self._newest - self.MARGIN)
            found = predictions.find({"timestamp_validated": {"$gte": since, "$lt": END_INSTANT}}, PROJECTION)
            if whole:
                self._documents, self._newest, self._key, self._read_at = {}, None, key, now
            for doc in found:
                self._documents[doc["_id"]] = doc
                newest = max(dates_within(doc["timestamp_validated"], since, now), default=None)
                if newest is not None and (self._newest is None or newest > self._newest):
                    self._newest = newest
            return list(self._documents.values())


def tail_deltas(
    tail: Iterable[Judged],
    held: Callable[[str, str | None], bool],
    first: str,
    last: str,
) -> tuple[list[tuple[str, int, int, int]], dict[str, int]]:
    """Return (day, true, predicted, ±1) rows and invalid deltas per day: what each document counts now
    less what the history holds of it, inside days `first` to `last`."""
    rows: list[tuple[str, int, int, int]] = []
    invalid: dict[str, int] = {}
    for judged in tail:
        signed = [(judged.current, 1)] if judged.current is not None else []
        signed += [(item, -1) for item in judged.copies.held(held)]
        for item, sign in signed:
            if not first <= item.day <= last:
                continue
            if item.is_valid:
                rows.append((item.day, item.true, item.predicted, sign))  # type: ignore[arg-type]
            else:
                invalid[item.day] = invalid.get(item.day, 0) + sign
    return rows, invalid


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

    Reading 90 days on every request costs tens of milliseconds on the embedded database; the days a
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


def fully_applied(database: Database[Document], batch_ids: set[str]) -> set[str]:
    """Return which of these batches are applied to every day they touch."""
    if not batch_ids:
        return set()
    query = {"_id": {"$in": sorted(batch_ids)}, "state": "applied"}
    return {r["_id"] for r in database[BATCHES_COLLECTION].find(query, {"_id": 1})}


def batches_of(tail: Iterable[Judged]) -> set[str]:
    """Return the ids of the batches the documents' copies were claimed by."""
    return {
        batch for judged in tail for batch in (judged.copies.new_batch, judged.copies.old_batch) if batch is not None
    }


def day_batches(database: Database[Document], first: date, last: date) -> dict[str, dict[str, Any]]:
    """Return the batch ids and version of the history days `first` to `last`."""
    query = {"_id": {"$gte": first.isoformat(), "$lte": last.isoformat()}}
    return {r["_id"]: r for r in database[HISTORY_COLLECTION].find(query, {"applied_batches": 1, "version": 1})}


def tail_documents(
    predictions: Collection[RawBSONDocument],
    start: datetime,
    end: datetime,
    ledger: dict[str, Any] | None,
    unfinished: dict[str, str],
    ledger_moves: Any,
    live: LiveTail,
) -> list[RawBSONDocument]:
    """Return the tail of [start, end), once each document.

    With an adopted ledger the tail is small, so the whole of it is read (its days sorted out later):
    a document may have moved out of the range since its copy was counted. Its recent BSON-date
    validations come from the LiveTail.
    """
    if ledger is None or not ledger.get("adopted_at"):
        return find_once(predictions, tail_queries(start, end, ledger, unfinished), PROJECTION)
    found = {doc["_id"]: doc for doc in live.documents(predictions, ledger, ledger_moves)}
    rest = tail_queries(FIRST_INSTANT, END_INSTANT, ledger, unfinished, recent_dates=False)
    found.update((doc["_id"], doc) for doc in find_once(predictions, rest, PROJECTION))
    return list(found.values())


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
    """Return the exact counts of local days `first` to `last`: history plus tail, read consistently.

    The days changed lately are looked up before and after the tail; if one changed in between, a
    batch was applied meanwhile and the read is done again. A batch that touched a tail document is
    either applied to all its days (its record says so) or in flight, and then the days' own lists
    of batch ids say where it is counted already.
    """
    ledger = read_state(database)
    check_timezone(ledger, settings)
    start, end = range_bounds(first, last, settings.tz)
    cache = cache or HistoryCache()
    judgements = judgements or TailJudgements()
    live = live or LiveTail()
    raw_predictions = predictions.with_options(codec_options=RAW)
    applied: dict[str, set[str]] = {}
    for attempt in range(1, READ_ATTEMPTS + 1):  # noqa: B007 - read after the loop: how many attempts it took
        since = cache.refresh(database, ledger) if ledger else None
        records = cache.records(database, first, last) if ledger else {}
        unfinished = unfinished_batches(database) if ledger else {}
        found = tail_documents(raw_predictions, start, end, ledger, unfinished, (cache.moves, unfinished), live)
        now = datetime.now(UTC)
        tail = [judgements.judge(doc, settings, now, predictions.codec_options) for doc in found]
        done = fully_applied(database, batches_of(tail)) if ledger else set()
        in_flight = batches_of(tail) - done
        lists = day_batches(database, first, last) if in_flight else {}
        stable = since is None or (
            cache.unchanged_since(database, since)
            and all(r.get("version") == records.get(d, {}).get("version") for d, r in lists.items())
        )
        applied = {day: set(r.get("applied_batches", [])) for day, r in lists.items()}
        if stable:
            break
    records = cache.records(database, first, last) if ledger else {}

    def held(day: str, batch: str | None) -> bool:
        return batch is not None and (batch in done or batch in applied.get(day, ()))

    first_day, last_day = first.isoformat(), last.isoformat()
    deltas, invalid_deltas = tail_deltas(tail, held, first_day, last_day)
    invalid = {day: r.get("invalid", 0) for day, r in records.items()}
    for day, n in invalid_deltas.items():
        invalid[day] = invalid.get(day, 0) + n
    fingerprint = (
        tuple((day, r.get("version"), r.get("updated_at")) for day, r in sorted(records.items())),
        tuple(sorted(deltas)),
        tuple(sorted(invalid_deltas.items())),
    )
    unlogged = sum(
        1 for judged in tail if judged.unlogged and judged.current and first_day <= judged.current.day <= last_day
    )
    rows = history_rows(records.values()) + deltas
    return RangeCounts(rows, invalid, len(tail), unlogged, ledger is not None, attempt, records, ledger, fingerprint)


# -- status and bounds -----------------------------------------------------------------------------


def backlog(predictions: Collection[Document]) -> int:
    """Return how many validated predictions wait to be logged (BSON-date and ISO-string validation times).

    Through the indexes of unlogged_queries: neither those set aside nor those marked as having no verdict
    are read (one marked that has a verdict now is counted).
    """
    unmarked = {"logged_error": None, PENDING: None}
    ranges = [
        {"logged": logged, **unmarked, "timestamp_validated": values}
        for logged in (False, None)
        for values in ({"$gte": datetime(1, 1, 1, tzinfo=UTC)}, {"$gte": "0", "$lt": STRING_CEILING})
    ]
    verdicts = [{PENDING: True, "output_validated": verdict} for verdict in VERDICTS]
    if not splits_or(predictions):
        reviewed = [{**query, "output_validated": {"$ne": None}} for query in ranges]
        return predictions.count_documents({"$or": reviewed + verdicts})
    # The embedded database reads every document for an `$or`, and for a verdict beside a range of times: the
    # ranges' documents are counted here, those not marked yet without a verdict left out.
    found = find_once(predictions, ranges + verdicts, {"output_validated": 1})
    return sum(1 for doc in found if doc.get("output_validated") is not None)


def status(
    database: Database[Document],
    predictions: Collection[Document],
    settings: MonitorSettings,
    read: RangeCounts | None = None,
) -> dict[str, Any]:
    """Return how far behind the history is: the logger's last tick and the validated predictions not logged yet.

    Given a range's `read`, its state document and its backlog; else the state is read and the whole
    collection's backlog counted.
    """
    now = datetime.now(UTC)
    ledger = read_state(database) if read is None else read.ledger
    where = "" if read is None else " in this range"
    waiting = backlog(predictions) if read is None else read.unlogged
    tick = (ledger or {}).get("last_tick") or {}
    last_tick_at = tick.get("finished_at")
    if ledger is None or last_tick_at is None:
        state = "absent"
        message = (
            f"No logger has run on this database: every answer is counted from the predictions collection "
            f"({waiting:,} validated predictions{where} not logged)."
        )
    else:
        late = now - last_tick_at > timedelta(minutes=settings.LOGGER_INTERVAL_MINUTES * BEHIND_AFTER_INTERVALS)
        state = "behind" if late else "current"
        message = (
            f"The logger last finished a tick at {last_tick_at.isoformat(timespec='seconds')}; "
            f"{waiting:,} validated predictions{where} are not logged yet"
            + (" (answers still count them, from the predictions collection)." if late else ".")
        )
    return {
        "state": state,
        "message": message,
        "backlog": waiting,
        "last_tick_at": last_tick_at.isoformat() if last_tick_at else None,
        "last_tick_report": tick.get("report"),
        "corrections_since": _iso((ledger or {}).get("corrections_since")),
        "last_reconcile": _iso_fields((ledger or {}).get("last_reconcile")),
        "history_timezone": (ledger or {}).get("timezone"),
        "timezone": settings.TIMEZONE,
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _iso_fields(document: dict[str, Any] | None) -> dict[str, Any] | None:
    if document is None:
        return None
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in document.items()}


class CountedDays:
    """The history's days with counts, kept in this process: every day's count read once, then the days
    changed lately (looked up through `updated_at`, reaching POLL_MARGIN further back, as HistoryCache does).

    The embedded database reads each day's whole record (its profile too) to find the days with counts,
    hundreds of milliseconds for a year: too much for every page load.
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
    unfinished = unfinished_batches(database) if ledger else {}
    for _ in range(READ_ATTEMPTS):
        queries = tail_queries(start, end, ledger, unfinished, not_logged=validated_not_logged)
        times = tail_ends(predictions, queries, start, end)
        # What the logger set aside, whatever its `logged`: the history counts it as invalid, not by day.
        times += found_ends(predictions, {"logged_error": {"$exists": True}}, start, end)
        now_unfinished = unfinished_batches(database) if ledger else {}
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


def range_days(first: date, last: date) -> list[str]:
    return [d.isoformat() for d in days_between(first, last)]
