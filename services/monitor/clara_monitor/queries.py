"""The monitor's MongoDB adapter: confusion counts per local day, and the cache that keeps them.

Counting a day means scanning its documents, which is slow on a long range (about 40 µs a document
on the embedded database), so each day's counts are kept in MONITOR_CACHE_COLLECTION: one document
per (cache key, day) with its confusion counts and its count of contract-breaking documents. The
cache is shared by every worker and replica. The key covers the time zone, the class ids and the
source collection, so a change to any of them starts a new cache.

Freshness. Every request first looks for what changed since the previous look (the watermark, held
in one state document): documents inserted since (`_id` after the watermark, through the `_id_desc`
index) and documents validated since (`timestamp_validated` at or after it, through its index), each
look-up reaching back MONITOR_CACHE_SKEW_SECONDS to allow for writers' clocks and slow writes. A day
such a document lands in is marked stale; the document may also have been counted before, on a day
that is now unknown (a re-validation, or a change made while a recount ran), so every cached day from
its prediction day on is marked stale too, unless it is a pending document never seen before. Stale
and missing days are recounted from the source, by three aggregations per run of days. Recounting is
idempotent, and a write only replaces an entry computed earlier than itself, so concurrent workers
cannot double count or put back an older count.

Limits: a change that neither inserts a document nor sets `timestamp_validated` to a recent time (an
in-place edit of the verdict, a back-dated validation, a delete, an insert with a hand-made old
`_id`, as clara-seed writes) is not seen until the cache is rebuilt (`clara-monitor --rebuild-cache`).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl
from bson import ObjectId
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from clara_common.classes import ClassCatalog
from clara_common.contract import (
    REJECTED_TRUE_CLASS,
    ContractError,
    mongo_plain_validated_filter,
    mongo_record,
    parse_timestamp,
)
from clara_common.db import create_prediction_indexes
from clara_common.days import days_between, local_day, range_bounds
from clara_common.metrics import COUNT_SCHEMA


log = logging.getLogger(__name__)

# Bump when the shape of a cache entry or the counting rules change: old entries are then ignored.
CACHE_VERSION = 1
# The state document remembers at most this many (document, validation time) pairs seen.
RECENT_LIMIT = 50_000
# Above every ISO-8601 string (they start with a digit): the upper end of open string ranges.
STRING_CEILING = ":"


@dataclass(frozen=True)
class DayCounts:
    """One local day's confusion counts, as (true, predicted, n) rows, and its invalid documents."""

    day: str
    counts: tuple[tuple[int, int, int], ...]
    invalid: int


def validated_range_filters(first: date, last: date, tz: Any) -> list[dict[str, Any]]:
    """Return index-friendly filters that together find every document validated on local days `first` to `last`.

    A BSON date range is exact. ISO strings sort as text, so their range is widened by a day on
    each side (any offset is under a day) and the exact day is decided after parsing. Two filters,
    not one $or: the embedded database scans the whole collection for an $or.
    """
    start, end = range_bounds(first, last, tz)
    return [
        {"timestamp_validated": {"$gte": start, "$lt": end}},
        {
            "timestamp_validated": {
                "$gte": (first - timedelta(days=1)).isoformat(),
                "$lt": (last + timedelta(days=2)).isoformat(),
            }
        },
    ]


def record_counts_pipeline(
    matches: list[dict[str, Any]], first: date, last: date, classes: ClassCatalog, tz_name: str
) -> list[dict[str, Any]]:
    """Return the aggregation that judges each matched document by the contract and counts them per day and verdict."""
    return [
        *({"$match": match} for match in matches),
        {"$project": {"_id": 0, "r": mongo_record(classes, tz_name)}},
        {
            "$match": {
                "r.day": {"$gte": first.isoformat(), "$lte": last.isoformat()},
                "$or": [{"r.valid": False}, {"r.reviewed": True}],
            }
        },
        {
            "$group": {
                "_id": {"day": "$r.day", "valid": "$r.valid", "true": "$r.true", "predicted": "$r.predicted"},
                "n": {"$sum": 1},
            }
        },
    ]


def plain_counts_pipeline(matches: list[dict[str, Any]], tz_name: str) -> list[dict[str, Any]]:
    """Return the aggregation that counts plain-shaped validated documents per day, true and predicted class."""
    return [
        *({"$match": match} for match in matches),
        {
            "$group": {
                "_id": {
                    "day": {
                        "$dateToString": {"date": "$timestamp_validated", "format": "%Y-%m-%d", "timezone": tz_name}
                    },
                    "valid": True,
                    "true": {"$toInt": "$output_validated"},
                    "predicted": {"$toInt": "$output_prediction"},
                },
                "n": {"$sum": 1},
            }
        },
    ]


def day_counts_pipelines(
    first: date, last: date, classes: ClassCatalog, tz_name: str, tz: Any
) -> list[list[dict[str, Any]]]:
    """Return the aggregations whose groups together are the counts of local days `first` to `last`.

    Plain documents validated at a BSON date are counted directly; every other document of the
    range (and every ISO-string date) is judged by the full contract expression.
    """
    dates, strings = validated_range_filters(first, last, tz)
    plain = mongo_plain_validated_filter(classes)
    # The range first, in a $match of its own: the embedded database uses no index for a filter
    # with a top-level operator ($and, $nor), and scans the whole collection instead.
    return [
        plain_counts_pipeline([dates, plain], tz_name),
        record_counts_pipeline([dates, {"$nor": [plain]}], first, last, classes, tz_name),
        record_counts_pipeline([strings], first, last, classes, tz_name),
    ]


def count_days(
    collection: Collection, first: date, last: date, classes: ClassCatalog, tz_name: str, tz: Any
) -> dict[str, DayCounts]:
    """Return the counts of every local day from `first` to `last`, read from the predictions collection."""
    rows: dict[str, dict[tuple[int, int], int]] = {}
    invalid: dict[str, int] = {}
    for pipeline in day_counts_pipelines(first, last, classes, tz_name, tz):
        for group in collection.aggregate(pipeline):
            key, n = group["_id"], int(group["n"])
            if key["valid"]:
                cells = rows.setdefault(key["day"], {})
                cell = (int(key["true"]), int(key["predicted"]))
                cells[cell] = cells.get(cell, 0) + n
            else:
                invalid[key["day"]] = invalid.get(key["day"], 0) + n
    result = {}
    for day in days_between(first, last):
        name = day.isoformat()
        cells = rows.get(name, {})
        result[name] = DayCounts(name, tuple((t, p, n) for (t, p), n in sorted(cells.items())), invalid.get(name, 0))
    return result


def counts_frame(days: Iterable[DayCounts]) -> pl.DataFrame:
    """Return the confusion-count table (day, true, predicted, n) of some days."""
    records = [(d.day, t, p, n) for d in days for t, p, n in d.counts]
    return pl.DataFrame(records, schema=COUNT_SCHEMA, orient="row")


def contiguous_runs(days: Iterable[date]) -> Iterator[tuple[date, date]]:
    """Yield (first, last) for each run of consecutive days."""
    run: list[date] = []
    for day in sorted(set(days)):
        if run and day != run[-1] + timedelta(days=1):
            yield run[0], run[-1]
            run = []
        run.append(day)
    if run:
        yield run[0], run[-1]


def cache_key(classes: ClassCatalog, tz_name: str, collection: Collection) -> str:
    """Return the key that separates caches of different time zones, class lists or collections."""
    spec = json.dumps([CACHE_VERSION, tz_name, list(classes.ids), collection.database.name, collection.name])
    return hashlib.sha256(spec.encode()).hexdigest()[:16]


def _id_of(doc: dict[str, Any]) -> str:
    return repr(doc["_id"]).replace("|", "/")


def _pair(doc: dict[str, Any]) -> str:
    """Return a fingerprint of a document's identity and validation time."""
    validated = doc.get("timestamp_validated")
    shown = validated.isoformat() if isinstance(validated, datetime) else repr(validated)
    return f"{_id_of(doc)}|{shown}"


def _inserted_at(doc: dict[str, Any]) -> datetime | None:
    return doc["_id"].generation_time if isinstance(doc["_id"], ObjectId) else None


class DayCountCache:
    """Confusion counts per local day, kept in MongoDB and brought up to date on every read."""

    def __init__(
        self,
        predictions: Collection,
        database: Database,
        classes: ClassCatalog,
        tz_name: str,
        tz: Any,
        *,
        cache_collection: str = "monitor_day_counts",
        skew: timedelta = timedelta(seconds=120),
    ) -> None:
        self.predictions = predictions
        self.entries = database[cache_collection]
        self.state = database[f"{cache_collection}_state"]
        self.classes = classes
        self.tz_name = tz_name
        self.tz = tz
        self.skew = skew
        self.key = cache_key(classes, tz_name, predictions)
        self._index_ready = False

    # -- reading ----------------------------------------------------------------------------------

    def day_counts(self, first: date, last: date, now: datetime | None = None) -> list[DayCounts]:
        """Return the counts of every day from `first` to `last`, current as of this call."""
        self.refresh(now)
        days = list(days_between(first, last))
        found = {
            entry["day"]: DayCounts(entry["day"], tuple(tuple(row) for row in entry["counts"]), entry["invalid"])
            for entry in self.entries.find({"_id": {"$in": [self._entry_id(d) for d in days]}})
            if "counts" in entry
        }
        missing = [d for d in days if d.isoformat() not in found]
        for run_first, run_last in contiguous_runs(missing):
            found.update(self._recount(run_first, run_last))
        return [found[d.isoformat()] for d in days]

    def day_bounds(self, now: datetime | None = None) -> tuple[str | None, str | None]:
        """Return the first and last local day with validated predictions (YYYY-MM-DD), or None and None.

        Found once by a full scan, then widened by every refresh that sees a newly validated document.
        """
        self.refresh(now)
        state = self.state.find_one({"_id": self.key}) or {}
        if not state.get("bounds_known"):
            first, last = scan_validated_day_bounds(self.predictions, self.classes, self.tz_name, self.tz)
            self._widen_bounds(first, last)
            self.state.update_one({"_id": self.key}, {"$set": {"bounds_known": True}})
            state = self.state.find_one({"_id": self.key}) or {}
        return state.get("first_day"), state.get("last_day")

    def _widen_bounds(self, first: str | None, last: str | None) -> None:
        if first is not None and last is not None:
            self.state.update_one({"_id": self.key}, {"$min": {"first_day": first}, "$max": {"last_day": last}})

    def _entry_id(self, day: date | str) -> str:
        return f"{self.key}:{day if isinstance(day, str) else day.isoformat()}"

    def _recount(self, first: date, last: date) -> dict[str, DayCounts]:
        started = datetime.now(UTC)
        counted = count_days(self.predictions, first, last, self.classes, self.tz_name, self.tz)
        for day in counted.values():
            self._write(day, started)
        log.info("recounted %s to %s in %.0f ms", first, last, (datetime.now(UTC) - started).total_seconds() * 1000)
        return counted

    def _write(self, day: DayCounts, started: datetime) -> None:
        # Only replace an entry computed (or marked stale) before this count began.
        try:
            self.entries.update_one(
                {"_id": self._entry_id(day.day), "version_at": {"$lt": started}},
                {
                    "$set": {
                        "key": self.key,
                        "day": day.day,
                        "counts": [list(r) for r in day.counts],
                        "invalid": day.invalid,
                        "version_at": started,
                    }
                },
                upsert=True,
            )
        except DuplicateKeyError:
            pass  # a newer count or a newer stale mark is already there

    # -- freshness --------------------------------------------------------------------------------

    def refresh(self, now: datetime | None = None) -> None:
        """Mark stale every cached day that a document inserted or validated since the watermark lands in."""
        started = now or datetime.now(UTC)
        state = self.state.find_one({"_id": self.key})
        if state is None:
            self._start(started)
            return
        since = state["at"] - self.skew
        changed = self._changed_since(since)
        recent = set(state.get("recent", []))
        seen_ids = {pair.split("|", 1)[0] for pair in recent}
        fresh = [doc for doc in changed if _pair(doc) not in recent]
        stale_days: set[date] = set()
        stale_from: date | None = None
        for doc in fresh:
            day = self._local_day(doc.get("timestamp_validated"))
            if day is not None:
                stale_days.add(day)
                if doc.get("output_validated") is not None and state.get("bounds_known"):
                    self._widen_bounds(day.isoformat(), day.isoformat())
            # The day it was counted in before, if ever, is unknown: a re-validation, or a change made
            # while a recount ran, left it somewhere from its prediction day on. Only a pending
            # document never seen before cannot have been counted.
            never_counted = day is None and doc.get("output_validated") is None and _id_of(doc) not in seen_ids
            if not never_counted:
                predicted_day = self._local_day(doc.get("timestamp"))
                if predicted_day is not None and (stale_from is None or predicted_day < stale_from):
                    stale_from = predicted_day
        marked_at = datetime.now(UTC)
        if stale_days or stale_from is not None:
            self._mark_stale(stale_days, stale_from, marked_at)
            log.info(
                "%d changed documents: %d days stale%s",
                len(fresh),
                len(stale_days),
                f", and every day from {stale_from}" if stale_from else "",
            )
        next_since = started - self.skew
        keep = [_pair(doc) for doc in changed if self._found_since(doc, next_since)][:RECENT_LIMIT]
        self.state.update_one({"_id": self.key, "at": {"$lt": started}}, {"$set": {"at": started, "recent": keep}})

    def _start(self, started: datetime) -> None:
        """Create the watermark; entries left from a lost watermark cannot be trusted, so drop them."""
        self.ensure_index()
        try:
            self.state.insert_one({"_id": self.key, "at": started, "recent": []})
        except DuplicateKeyError:
            return  # another worker started it
        self.entries.delete_many({"key": self.key})
        # Every count from now on includes the documents already there: the next look for changes
        # need not take those of its look-back window for new.
        seen = [_pair(doc) for doc in self._changed_since(started - self.skew)][:RECENT_LIMIT]
        self.state.update_one({"_id": self.key, "at": started}, {"$set": {"recent": seen}})

    def ensure_index(self) -> None:
        """Create the predictions' indexes, among them the one that finds documents inserted since the watermark."""
        if not self._index_ready:
            create_prediction_indexes(self.predictions)
            self._index_ready = True

    def _changed_since(self, since: datetime) -> list[dict[str, Any]]:
        """Return the documents inserted or validated since `since` (identity and times only)."""
        projection = {"timestamp_validated": 1, "timestamp": 1, "output_validated": 1}
        # Three look-ups, not one $or: each uses its index, which the embedded database's $or does not.
        queries = [
            {"_id": {"$gt": ObjectId.from_datetime(since)}},
            {"timestamp_validated": {"$gte": since}},
            # Bounded above: an open string range makes the embedded database scan everything.
            {"timestamp_validated": {"$gte": (since - timedelta(days=1)).date().isoformat(), "$lt": STRING_CEILING}},
        ]
        by_id: dict[Any, dict[str, Any]] = {}
        for query in queries:
            for doc in self.predictions.find(query, projection):
                by_id[doc["_id"]] = doc
        return list(by_id.values())

    def _found_since(self, doc: dict[str, Any], since: datetime) -> bool:
        """Return whether `_changed_since(since)` would find `doc` again."""
        inserted = _inserted_at(doc)
        validated = doc.get("timestamp_validated")
        return bool(
            (inserted is not None and inserted > since)
            or (isinstance(validated, datetime) and validated >= since)
            or (
                isinstance(validated, str)
                and (since - timedelta(days=1)).date().isoformat() <= validated < STRING_CEILING
            )
        )

    def _local_day(self, value: object) -> date | None:
        try:
            return local_day(parse_timestamp(value, "timestamp", self.tz), self.tz)
        except (ContractError, OverflowError):
            return None

    def _mark_stale(self, days: set[date], stale_from: date | None, marked_at: datetime) -> None:
        stale = {"$set": {"version_at": marked_at}, "$unset": {"counts": "", "invalid": ""}}
        for day in sorted(days):
            try:
                self.entries.update_one(
                    {"_id": self._entry_id(day), "version_at": {"$lt": marked_at}},
                    {**stale, "$setOnInsert": {"key": self.key, "day": day.isoformat()}},
                    upsert=True,
                )
            except DuplicateKeyError:
                pass  # counted after this mark: already current
        if stale_from is not None:
            self.entries.update_many(
                {"key": self.key, "day": {"$gte": stale_from.isoformat()}, "version_at": {"$lt": marked_at}}, stale
            )

    def rebuild(self) -> int:
        """Forget every cached day and the watermark; return how many entries were dropped."""
        self.state.delete_one({"_id": self.key})
        return self.entries.delete_many({"key": self.key}).deleted_count


# -- the training tab and the date pickers ------------------------------------------------------

def trained_counts(collection: Collection, classes: ClassCatalog, tz_name: str) -> dict[int, int]:
    """Return true class -> validated predictions marked `trained` (legacy rejections have no class)."""
    plain = mongo_plain_validated_filter(classes)
    pipelines = [
        [
            {"$match": {"trained": True}},
            {"$match": plain},
            {"$group": {"_id": {"$toInt": "$output_validated"}, "n": {"$sum": 1}}},
        ],
        [
            {"$match": {"trained": True}},
            {"$match": {"$nor": [plain]}},
            {"$project": {"_id": 0, "r": mongo_record(classes, tz_name)}},
            {"$match": {"r.valid": True, "r.reviewed": True, "r.true": {"$ne": REJECTED_TRUE_CLASS}}},
            {"$group": {"_id": "$r.true", "n": {"$sum": 1}}},
        ],
    ]
    counts: dict[int, int] = {}
    for pipeline in pipelines:
        for group in collection.aggregate(pipeline):
            counts[int(group["_id"])] = counts.get(int(group["_id"]), 0) + int(group["n"])
    return counts


def cached_trained_counts(
    collection: Collection, state: Collection, key: str, classes: ClassCatalog, tz_name: str, max_age: timedelta
) -> dict[int, int]:
    """Return trained_counts, recounted at most once per `max_age` across all workers.

    Marking a prediction `trained` changes no indexed time, so these counts cannot follow the
    watermark; they are at most `max_age` old instead.
    """
    now = datetime.now(UTC)
    kept = state.find_one({"_id": f"{key}:trained"})
    if kept is not None and now - kept["at"] < max_age:
        return {int(k): v for k, v in kept["counts"].items()}
    create_prediction_indexes(collection)
    counts = trained_counts(collection, classes, tz_name)
    state.update_one(
        {"_id": f"{key}:trained"}, {"$set": {"at": now, "counts": {str(k): v for k, v in counts.items()}}}, upsert=True
    )
    return counts


def _validated_instant_bounds(collection: Collection, tz: Any) -> tuple[datetime | None, datetime | None]:
    """Return the earliest and latest `timestamp_validated` of reviewed documents, contract aside."""
    instants: list[datetime] = []
    ranges = [{"$gte": datetime(1, 1, 1, tzinfo=UTC)}, {"$gte": "0", "$lt": STRING_CEILING}]
    for values in ranges:
        pipeline = [
            {"$match": {"timestamp_validated": values}},
            {"$match": {"output_validated": {"$ne": None}}},
            {
                "$group": {
                    "_id": None,
                    "first": {"$min": "$timestamp_validated"},
                    "last": {"$max": "$timestamp_validated"},
                }
            },
        ]
        for bounds in collection.aggregate(pipeline):
            for value in (bounds["first"], bounds["last"]):
                try:
                    instants.append(parse_timestamp(value, "timestamp_validated", tz))
                except (ContractError, OverflowError):
                    pass  # an unreadable string: the contract leaves it out anyway
    if not instants:
        return None, None
    return min(instants), max(instants)


def scan_validated_day_bounds(
    collection: Collection, classes: ClassCatalog, tz_name: str, tz: Any
) -> tuple[str | None, str | None]:
    """Return the first and last local day with a validated prediction that honours the contract.

    One pass over the index finds the extreme validation times; the days at the ends are then
    counted under the contract, moving inwards past any day whose documents all break it. Strings
    sort as text, so their ends are approximate to the day.
    """
    first_at, last_at = _validated_instant_bounds(collection, tz)
    if first_at is None or last_at is None:
        return None, None
    first, last = local_day(first_at, tz), local_day(last_at, tz)

    def has_records(day: date) -> bool:
        counted = count_days(collection, day, day, classes, tz_name, tz)[day.isoformat()]
        return bool(counted.counts)

    while first <= last and not has_records(first):
        first += timedelta(days=1)
    while last >= first and not has_records(last):
        last -= timedelta(days=1)
    if first > last:
        return None, None
    return first.isoformat(), last.isoformat()
