"""Corrections and reconciles: find claimed predictions whose review changed, and repair history days.

A correction is found by its new validation time (reviews validated since the last tick). A change
that keeps an old time (an in-place edit, a withdrawn review), a delete, or a prediction logged
before this ledger existed is found by a reconcile, which reads a range of days whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pymongo.collection import Collection

from clara_common.contract import END_INSTANT, FIRST_INSTANT
from clara_common.days import days_between, local_day, range_bounds
from clara_common.db import Document, find_once
from clara_common.ledger import (
    JUDGED_FIELDS,
    LOGGED_AS,
    PREVIOUS_AS,
    STRING_CEILING,
    STRING_TOP,
    copy_differs,
    counted,
    dates_within,
)
from clara_common.ledger import batches as ledger_batches
from clara_common.settings import CommonSettings
from clara_logger import history
from clara_logger.history import COUNT_FIELDS, DayTally

PROJECTION = {name: 1 for name in (*JUDGED_FIELDS, "logger_batch", LOGGED_AS, PREVIOUS_AS)}
# The documents set aside as malformed, through their sparse index: they are few, and the invalid record
# of one whose validation time cannot be read sits on the day of its prediction time, where no day
# query finds it.
SET_ASIDE = {"logged_error": {"$exists": True}}


def _find_all(predictions: Collection[Document], queries: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the documents any of the queries finds, once each, with what the logger stored on them."""
    return find_once(predictions, queries, PROJECTION)


def time_ranges(field: str, start: datetime, end: datetime | None = None) -> list[dict[str, Any]]:
    """Return queries for `field` from `start` (to `end`): BSON dates exactly, ISO strings widened by a day."""
    dates: dict[str, Any] = {"$gte": start, **({"$lt": end} if end else {})}
    strings = {
        "$gte": (start - timedelta(days=1)).date().isoformat(),
        "$lt": (end + timedelta(days=1)).date().isoformat() if end else STRING_CEILING,
    }
    return [{field: dates}, {field: strings}]


def changed_since(predictions: Collection[Document], since: datetime) -> list[dict[str, Any]]:
    """Return the documents validated since `since` (with what the logger stored on them)."""
    return _find_all(predictions, time_ranges("timestamp_validated", since))


def day_queries(first: date, last: date, tz: Any) -> list[dict[str, Any]]:
    """Return the queries that find the documents counted on local days `first` to `last`, now or when copied.

    Those validated on those days, and every document set aside (its invalid record may be on any day).
    """
    start, end = range_bounds(first, last, tz)
    copied = f"{LOGGED_AS}.timestamp_validated"
    return [*time_ranges("timestamp_validated", start, end), *time_ranges(copied, start, end), SET_ASIDE]


def day_documents(predictions: Collection[Document], first: date, last: date, tz: Any) -> list[dict[str, Any]]:
    """Return the documents validated on local days `first` to `last`, now or when they were copied."""
    return _find_all(predictions, day_queries(first, last, tz))


def needs_claim_again(doc: dict[str, Any]) -> bool:
    """Return whether a document must be counted again: its fields changed since its copy, or it was never copied
    though marked logged (by the original CLARA logger) or marked with a `logged` no claim selects (`[true]`,
    an object)."""
    if LOGGED_AS in doc:
        return copy_differs(doc)
    logged = doc.get("logged")
    return "logger_batch" not in doc and logged is not None and logged is not False


def to_claim_again(candidates: Sequence[dict[str, Any]], records: Collection[Document]) -> dict[Any, str | None]:
    """Return document id -> the batch it is bound to, for the candidates to claim again now.

    A document bound to a batch that is not applied yet waits: that batch has yet to count it.
    """
    wanted = [doc for doc in candidates if needs_claim_again(doc)]
    applied = ledger_batches.applied_among(records, {doc["logger_batch"] for doc in wanted if "logger_batch" in doc})
    return {
        doc["_id"]: doc.get("logger_batch")
        for doc in wanted
        if "logger_batch" not in doc or doc["logger_batch"] in applied
    }


# How much validation time one look for predictions logged by another logger covers.
ADOPTION_WINDOW = timedelta(days=7)


def unadopted(predictions: Collection[Document], limit: int) -> Iterator[list[dict[str, Any]]]:
    """Yield, up to `limit` at a time, the reviewed predictions marked logged by another logger than this one.

    Nothing to look for (one index look-up) when no prediction is marked logged. Otherwise the marked
    ones are read in windows of validation time through the (logged, timestamp_validated) index:
    bounded reads, where one query for the unindexed "no logger_batch" scans the whole collection.
    """
    if predictions.find_one({"logged": True}, {"_id": 1}) is None:
        return
    found: list[dict[str, Any]] = []
    for window in adoption_windows(predictions):
        for doc in predictions.find({"logged": True, "timestamp_validated": window}, PROJECTION):
            if "logger_batch" not in doc and doc.get("output_validated") is not None:
                found.append(doc)
        while len(found) >= limit:
            yield found[:limit]
            found = found[limit:]
    if found:
        yield found


def adoption_windows(predictions: Collection[Document]) -> Iterator[dict[str, Any]]:
    """Yield ranges of validation time that together cover every BSON date and ISO string of the collection."""
    first = earliest_validation(predictions)
    if first is not None:
        start, end = first, END_INSTANT
        now = datetime.now(UTC)
        while start <= now:
            yield {"$gte": start, "$lt": start + ADOPTION_WINDOW}
            start += ADOPTION_WINDOW
        yield {"$gte": start, "$lt": end}
    yield {"$gte": "", "$lte": STRING_TOP}


def earliest_validation(predictions: Collection[Document]) -> datetime | None:
    """Return the earliest BSON-date validation time in the contract's years, or None.

    Sorted on the server. An array sorts by its least element of any type (a number before any date),
    not by the date that matched, so arrays met before the first plain date are read for their dates:
    an array after it holds no earlier date.
    """
    in_years = {"$gte": FIRST_INSTANT, "$lt": END_INSTANT}
    found: list[datetime] = []
    for doc in predictions.find({"timestamp_validated": in_years}, {"timestamp_validated": 1}).sort(
        "timestamp_validated", 1
    ):
        value = doc.get("timestamp_validated")
        found += dates_within(value, FIRST_INSTANT, END_INSTANT)
        if not isinstance(value, list):
            break
    return min(found, default=None)


def oldest_validation_day(predictions: Collection[Document], tz: Any) -> date | None:
    """Return the local day of the earliest BSON-date validation time in the contract's years, or None."""
    first = earliest_validation(predictions)
    return None if first is None else local_day(first, tz)


@dataclass(frozen=True)
class Repair:
    """A history day a reconcile changed: its counts before and after."""

    day: str
    before: dict[str, Any]
    after: dict[str, Any]

    def line(self) -> str:
        filled = not isinstance(self.before.get("calibration"), dict) and isinstance(
            self.after.get("calibration"), dict
        )
        return (
            f"{self.day}: validated {self.before['count']} -> {self.after['count']}, "
            f"invalid {self.before['invalid']} -> {self.after['invalid']}"
            + (", calibration bins filled" if filled else "")
        )

    def to_document(self) -> dict[str, Any]:
        return {"day": self.day, "before": self.before, "after": self.after}


def stored_counts(record: dict[str, Any] | None) -> dict[str, Any]:
    """Return a history day's count fields (zeros for a day with no record; no calibration table: None)."""
    if record is None:
        return DayTally().as_counts()
    return {name: record.get(name, None if name == "calibration" else 0) for name in COUNT_FIELDS}


def expected_counts(
    docs: Iterable[dict[str, Any]], day: str, applied: set[str], settings: CommonSettings
) -> dict[str, Any]:
    """Return what a history day holding the batches `applied` must count, from the documents' copies."""
    tally = DayTally()
    for doc in docs:
        for item in counted(doc, settings.classes, settings.tz, lambda d, b: d == day and b in applied):
            if item.day == day:
                tally.count_in(item)
    return tally.as_counts()


def _same(stored: dict[str, Any], expected: dict[str, Any]) -> bool:
    return all(stored[name] == expected[name] for name in COUNT_FIELDS)


def repair_days(
    predictions: Collection[Document],
    days_collection: Collection[Document],
    records: Collection[Document],
    first: date,
    last: date,
    settings: CommonSettings,
    attempts: int = 10,
) -> list[Repair]:
    """Recount local days `first` to `last` from the predictions' copies; repair and return the days that differ."""
    repairs = []
    for day in days_between(first, last):
        name = day.isoformat()
        for _ in range(attempts):
            # The day first, then the documents: a batch applied in between changes the day's version,
            # and the write below then fails and is tried again.
            record = days_collection.find_one({"_id": name})
            applied = set(record.get("applied_batches", [])) if record else set()
            queries = [*day_queries(day, day, settings.tz)]
            if in_flight := ledger_batches.unfinished_batches(records):
                queries.append({"logger_batch": {"$in": sorted(in_flight)}})
            docs = _find_all(predictions, queries)
            before, after = stored_counts(record), expected_counts(docs, name, applied, settings)
            if _same(before, after):
                break
            if history.replace_counts(days_collection, name, record["version"] if record else None, after):
                repairs.append(Repair(name, before, after))
                break
    return repairs
