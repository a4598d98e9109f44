"""Keep the summary of the predictions not reviewed yet (clara_common/unreviewed.py): a document per day of prediction.

Each tick recounts, whole and from the source, only the days that can have changed since the previous
refresh (less CORRECTION_LOOKBACK, for writers' clocks and slow writes):

- the local days from the previous refresh to now (new predictions land on today);
- the prediction days of documents validated since then (a review takes a prediction out of its day).

A change that leaves no such trace (a prediction inserted with a time days back, a delete, an edit in
place, a review withdrawn with its validation time cleared) is found by a reconcile: the daily one
recounts the last LOGGER_RECONCILE_DAYS days, and `clara-logger --reconcile --all` recounts every day.
(Inserts could be told by their ObjectId's time, which MongoDB reads through the `_id` index; the
embedded database scans the whole collection for an `_id` range, on every tick; docs/benchmarks.md,
"Figures behind design choices".) The first refresh (no `unreviewed_as_of` in the
ledger's state) and one after a long stop recount everything. A day is replaced only by a count read
later than the one it holds, so two loggers at once never put an older count back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from clara_common.days import days_between, local_day, range_bounds
from clara_common.db import Document, find_once
from clara_common.ledger import (
    CORRECTION_LOOKBACK,
    JUDGED_FIELDS,
    STATE_ID,
    STRING_CEILING,
    UNREVIEWED_COLLECTION,
    readable_day,
)
from clara_common.unreviewed import STATE_FIELD, empty_document, summarise, summary_as_of

if TYPE_CHECKING:
    from clara_logger.settings import LoggerSettings as Settings

log = logging.getLogger(__name__)

PROJECTION = {name: 1 for name in JUDGED_FIELDS}
# Past this many days since the previous refresh, one pass over every unreviewed prediction is simpler.
MAX_INCREMENTAL_DAYS = 31


@dataclass
class Refresh:
    """What one refresh did: how many days it recounted, whether it recounted everything, how long it took."""

    days: int = 0
    everything: bool = False
    seconds: float = 0.0


def summaries(database: Database[Document]) -> Collection[Document]:
    """Return the summary's collection (its documents are keyed by day)."""
    return database[UNREVIEWED_COLLECTION]


def day_queries(first: date, last: date, settings: Settings) -> list[dict[str, Any]]:
    """Return the queries for the documents without a validation time made on local days `first` to `last`.

    BSON dates exactly; ISO strings widened by a day each side (summarise() reads them as the contract does).
    """
    start, end = range_bounds(first, last, settings.tz)
    strings = {
        "$gte": (start - timedelta(days=1)).date().isoformat(),
        "$lt": (end + timedelta(days=1)).date().isoformat(),
    }
    return [
        {"timestamp_validated": None, "timestamp": {"$gte": start, "$lt": end}},
        {"timestamp_validated": None, "timestamp": strings},
    ]


def runs(days: Iterable[date]) -> list[tuple[date, date]]:
    """Return the days as runs of consecutive days (first, last), oldest first."""
    result: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if result and day == result[-1][1] + timedelta(days=1):
            result[-1] = (result[-1][0], day)
        else:
            result.append((day, day))
    return result


def store(collection: Collection[Document], document: dict[str, Any]) -> bool:
    """Replace a day's document unless it holds a count read later; return whether it was written."""
    try:
        collection.replace_one({"_id": document["_id"], "as_of": {"$lte": document["as_of"]}}, document, upsert=True)
    except DuplicateKeyError:
        return False  # another logger stored a later count
    return True


def recount_days(
    predictions: Collection[Document],
    collection: Collection[Document],
    days: Iterable[date],
    settings: Settings,
    as_of: datetime,
) -> int:
    """Recount the given local days from the predictions and store each (zero when none is left); return how many."""
    wanted = set(days)
    for first, last in runs(wanted):
        found = summarise(
            find_once(predictions, day_queries(first, last, settings), PROJECTION), settings.classes, settings.tz
        )
        for day in days_between(first, last):
            name = day.isoformat()
            store(collection, found[name].document(name, as_of) if name in found else empty_document(name, as_of))
    return len(wanted)


def recount_all(
    predictions: Collection[Document], collection: Collection[Document], settings: Settings, as_of: datetime
) -> int:
    """Recount every day from every prediction without a validation time; days no longer found drop to zero."""
    found = summarise(predictions.find({"timestamp_validated": None}, PROJECTION), settings.classes, settings.tz)
    for name, summary in found.items():
        store(collection, summary.document(name, as_of))
    stale = [
        doc["_id"]
        for doc in collection.find({}, {"unreviewed": 1, "invalid": 1})
        if doc["_id"] not in found and (doc.get("unreviewed") or doc.get("invalid"))
    ]
    for name in stale:
        store(collection, empty_document(name, as_of))
    return len(found) + len(stale)


def changed_days(predictions: Collection[Document], since: datetime, settings: Settings) -> set[date]:
    """Return the prediction days of documents validated since `since` (ISO strings: from the day before)."""
    validated: list[dict[str, Any]] = [
        {"timestamp_validated": {"$gte": since}},
        {"timestamp_validated": {"$gte": (since - timedelta(days=1)).date().isoformat(), "$lt": STRING_CEILING}},
    ]
    days = set()
    for doc in find_once(predictions, validated, {"timestamp": 1}):
        if (day := readable_day(doc.get("timestamp"), settings.tz)) is not None:
            days.add(date.fromisoformat(day))
    return days


def refresh(
    predictions: Collection[Document],
    collection: Collection[Document],
    state: Collection[Document],
    settings: Settings,
    ledger: dict[str, Any] | None = None,
) -> Refresh:
    """Recount the days that can have changed since the previous refresh, then record this one's time."""
    started = time.monotonic()
    as_of = datetime.now(UTC)
    previous = summary_as_of(ledger if ledger is not None else state.find_one({"_id": STATE_ID}))
    report = Refresh()
    today = local_day(as_of, settings.tz)
    if previous is None or (today - local_day(previous, settings.tz)).days >= MAX_INCREMENTAL_DAYS:
        report.days, report.everything = recount_all(predictions, collection, settings, as_of), True
        log.info("unreviewed summary: every day recounted (%d)", report.days)
    else:
        since = previous - CORRECTION_LOOKBACK
        days = set(days_between(local_day(since, settings.tz), today)) | changed_days(predictions, since, settings)
        report.days = recount_days(predictions, collection, days, settings, as_of)
    state.update_one({"_id": STATE_ID}, {"$max": {STATE_FIELD: as_of}})
    report.seconds = time.monotonic() - started
    return report
