"""The tail: the documents whose current contribution may differ from what the history holds, the queries
that find them and their judgements by the record contract.

The tail is every document whose current contribution may differ from what the history holds:
validated but not logged yet, validated since the logger last looked for corrections, bound to a batch
not applied yet, or (until the logger has adopted them) marked logged by another logger. Each is
judged by the one record contract (clara_common.ledger). A prediction that can never count is not read
(unlogged_queries): one the logger set aside, whose invalid record the history holds (fixed later, it is
found by its new review time or, fixed in place, by the next reconcile, as any counted prediction edited in
place is), and one the logger marked as having a review time and no verdict, until it has one. The tail's
recent reviews are kept in the process (LiveTail): a request reads those validated since the newest it
holds; a delete, an edit that keeps its time, or a review written more than LiveTail.MARGIN after its
validation time shows within REREAD_AFTER.

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
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import bson
from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument
from pymongo.collection import Collection

from clara_common.contract import END_INSTANT, FIRST_INSTANT, is_early
from clara_common.db import find_once
from clara_common.ledger import (
    CORRECTION_LOOKBACK,
    JUDGED_FIELDS,
    LOGGED_AS,
    PENDING,
    PREVIOUS_AS,
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
# Tail documents are read as raw BSON: their bytes key the judgements (TailJudgements).
RAW = CodecOptions(document_class=RawBSONDocument, tz_aware=True)
# How many times a read is done again when the history changes under it.
READ_ATTEMPTS = 5


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


def batches_of(tail: Iterable[Judged]) -> set[str]:
    """Return the ids of the batches the documents' copies were claimed by."""
    return {
        batch for judged in tail for batch in (judged.copies.new_batch, judged.copies.old_batch) if batch is not None
    }


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
