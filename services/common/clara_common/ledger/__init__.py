"""The ledger: what the logger counted, per local day, and what each prediction was counted as.

The logger is the only writer; the monitor reads. Two places hold the ledger:

- `logger_history`, one document per local day of validation (see clara_logger/history.py):
  `confusion` {true id: {predicted id: n}}, `invalid` (reviewed documents that break the contract),
  `count`, `confidence_histogram`, `drift`, `applied_batches` (the batches counted in the day) and
  `version`.
- on each prediction the logger has claimed: `logged_as`, a copy of the contract's fields (and of the
  `trained` and `logged` flags as they were) taken atomically by the claim, with the claiming batch's
  id (a value over the contract's size limit is not copied: `oversized` keeps its size, which is all
  the contract needs to reject it, so a claim adds a few hundred bytes to a document at most), and
  `previous_as`, the copy it replaced (absent on a first claim). The claim's batch adds what
  `logged_as` counts and takes out what `previous_as` counted, so a review corrected later moves in
  the history exactly once.

What a copy counts as is decided by the one record contract (`parse_prediction`): this module turns a
document, or a copy, into a `Contribution`, and says which contributions the history holds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

import bson

from clara_common.classes import ClassCatalog
from clara_common.contract import (
    FIELD_LIMIT_BYTES,
    FIELDS,
    ContractError,
    Oversized,
    Rejection,
    field_size,
    is_flag,
    parse_prediction,
    parse_timestamp,
)
from clara_common.days import local_day

if TYPE_CHECKING:
    from clara_common.settings import CommonSettings

HISTORY_COLLECTION = "logger_history"
BATCHES_COLLECTION = "logger_batches"
ALERTS_COLLECTION = "logger_alerts"
STATE_COLLECTION = "logger_state"
# Per local day of prediction, the predictions not reviewed yet (clara_common/unreviewed.py).
UNREVIEWED_COLLECTION = "logger_unreviewed"
# Per local day, the predictions made and the reviews written, by hour (clara_common/traffic.py).
TRAFFIC_COLLECTION = "logger_traffic"
# The one state document: the ledger's time zone and classes, the logger's last tick, its watermark.
STATE_ID = "ledger"

# The document's own flags, copied too: the contract rejects a flag that is not a boolean. A claim
# overwrites `logged`, so its copy is where the value the writer left is kept.
FLAG_FIELDS = ("trained", "logged")
# The fields of the record contract that decide what a prediction counts as.
CONTRACT_FIELDS = tuple(name for name in FIELDS if name not in FLAG_FIELDS)
# What a reader needs to judge a document by the contract.
JUDGED_FIELDS = FIELDS
# Where a copy keeps the size of each value it left out for being over the contract's limit.
OVERSIZED = "oversized"
# Above every ISO-8601 string (they start with a digit): the upper end of ranges of such strings.
STRING_CEILING = ":"
# Above every string a writer sends: the upper end of any range of strings. MongoDB ends an open range
# of strings where strings end in the index ({"$gte": ":"} and {"$gte": ":", "$lte": STRING_TOP} read
# the same keys there); the embedded database reads on to the end of the index, through every date
# (docs/benchmarks.md, "Query shapes"). So ranges are closed.
STRING_TOP = "\U0010ffff" * 4
LOGGED_AS = "logged_as"
PREVIOUS_AS = "previous_as"
# The logger's mark on a prediction not logged with a review time and no verdict (`true`): the monitor's tail
# passes over marked ones, unless a verdict has been written since (clara_monitor.tail.unlogged_queries).
# A claim removes it.
PENDING = "logger_pending"
# A review is looked at for a correction if validated after the previous look, less this margin for
# writers' clocks and slow writes. An older one (a back-dated or in-place edit) waits for a reconcile.
CORRECTION_LOOKBACK = timedelta(seconds=30)


@dataclass(frozen=True)
class Contribution:
    """What one reviewed document adds to one day: a confusion cell, or one invalid record."""

    day: str
    true: int | None  # None: the document breaks the contract
    predicted: int | None
    confidence: float | None

    @property
    def is_valid(self) -> bool:
        return self.true is not None


def snapshot_stage(batch_id: str) -> dict[str, Any]:
    """Return the update-pipeline stage a claim runs: copy the contract's fields into `logged_as`.

    The copy is taken by the same atomic write that binds the document to the batch, so the batch
    counts exactly what it claimed, whatever a reviewer writes a moment later.
    """
    # `logged` is copied whatever its size: the claim overwrites it, so the copy moves it, and a set-aside
    # document gets it back.
    copied = [name for name in JUDGED_FIELDS if name != "logged"]
    copy: dict[str, Any] = {name: {"$cond": [_fits(name), f"${name}", "$$REMOVE"]} for name in copied}
    copy["logged"] = "$logged"
    oversized = {name: {"$cond": [_fits(name), "$$REMOVE", _size(name)]} for name in copied}
    copy[OVERSIZED] = {"$let": {"vars": {"o": oversized}, "in": {"$cond": [{"$eq": ["$$o", {}]}, "$$REMOVE", "$$o"]}}}
    return {
        "$set": {
            "logged": True,
            "logger_batch": {"$literal": batch_id},
            PREVIOUS_AS: f"${LOGGED_AS}",  # missing on a first claim, and then the field is removed
            LOGGED_AS: {**copy, "batch": {"$literal": batch_id}},
        }
    }


def _size(name: str) -> dict[str, Any]:
    return {"$bsonSize": {"v": f"${name}"}}  # field_size, in the database


def _fits(name: str) -> dict[str, Any]:
    return {"$lte": [_size(name), FIELD_LIMIT_BYTES]}


def as_judged(copy: object) -> object:
    """Return a copy as the contract reads it: each value left out for its size stands as `Oversized`."""
    if not isinstance(copy, Mapping):
        return copy
    sizes = copy.get(OVERSIZED)
    judged = {name: value for name, value in copy.items() if name != OVERSIZED}
    if isinstance(sizes, Mapping):
        judged.update({name: Oversized(size) for name, size in sizes.items() if isinstance(size, int)})
    return judged


def _is_reviewed(fields: Mapping[str, Any]) -> bool:
    return fields.get("output_validated") is not None


def max_skew(settings: CommonSettings) -> timedelta:
    """Return how far ahead of the clock a validation time may be and still count (MAX_CLOCK_SKEW_MINUTES)."""
    return timedelta(minutes=settings.MAX_CLOCK_SKEW_MINUTES)


def dates_within(value: object, start: datetime, end: datetime) -> list[datetime]:
    """Return the BSON dates in [start, end) of a field found by a date range: itself, or an array's elements.

    A query matches an array by its elements (each bound by a different one, even), so a hostile array
    may come back from a range query over dates.
    """
    values = value if isinstance(value, list) else [value]
    return [v for v in values if isinstance(v, datetime) and start <= v < end]


def readable_day(value: object, tz: tzinfo) -> str | None:
    """Return the local day (YYYY-MM-DD) of a time field's value, or None when it cannot be read."""
    try:
        return local_day(parse_timestamp(value, "timestamp_validated", tz), tz).isoformat()
    except (ContractError, OverflowError):
        return None


def invalid_day(fields: Mapping[str, Any], tz: tzinfo) -> str | None:
    """Return the day a reviewed document that breaks the contract is counted on as invalid.

    The day of its validation time; when that cannot be read (a number, a bad offset, missing, out of
    the contract's years), the day of its prediction time; None when neither can be read.
    """
    return readable_day(fields.get("timestamp_validated"), tz) or readable_day(fields.get("timestamp"), tz)


def contribution(
    fields: object, classes: ClassCatalog, tz: tzinfo, now: datetime | None = None, skew: timedelta | None = None
) -> Contribution | None:
    """Return what a document (or a `logged_as` copy) adds to the ledger, or None when nothing.

    A pending document adds nothing. A reviewed one that breaks the contract (given `now` and `skew`,
    a review validated in the future too, until it is due) adds one invalid record to its
    `invalid_day`, or nothing when it has none.
    """
    if not isinstance(fields, Mapping) or not _is_reviewed(fields):
        return None
    parsed = parse_prediction(fields, classes, tz, now, skew)
    if isinstance(parsed, Rejection):
        day = invalid_day(fields, tz)
        return None if day is None else Contribution(day, None, None, None)
    return Contribution(
        local_day(parsed.timestamp_validated, tz).isoformat(),  # type: ignore[arg-type]
        parsed.true_class,
        parsed.predicted_class,
        parsed.confidence,
    )


def batch_of(copy: object) -> str | None:
    """Return the batch id a `logged_as` copy was claimed by."""
    return copy.get("batch") if isinstance(copy, Mapping) and isinstance(copy.get("batch"), str) else None


def copy_of(doc: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """Return what a claimed document was counted as: its copy, or itself if claimed before copies existed."""
    copy = as_judged(doc.get(LOGGED_AS))
    if isinstance(copy, Mapping):
        return copy
    if isinstance(doc.get("logger_batch"), str):
        return {**{name: doc[name] for name in CONTRACT_FIELDS if name in doc}, "batch": doc["logger_batch"]}
    return None


@dataclass(frozen=True)
class Copies:
    """What a claimed document's two copies count, and the batches that claimed them."""

    new: Contribution | None
    new_batch: str | None
    old: Contribution | None
    old_batch: str | None

    def held(self, applied: Callable[[str, str | None], bool]) -> list[Contribution]:
        """Return the contributions the history holds, given which batches each day holds.

        `applied(day, batch)` says whether `batch` is counted in `day`. A batch adds its copy and takes
        out the previous one, day by day: while it is being applied, the old contribution may still be there.
        """
        held = []
        if self.new is not None and applied(self.new.day, self.new_batch):
            held.append(self.new)
        if self.old is not None and applied(self.old.day, self.old_batch) and not applied(self.old.day, self.new_batch):
            held.append(self.old)
        return held


def copies(doc: Mapping[str, Any], classes: ClassCatalog, tz: tzinfo) -> Copies:
    """Return what `doc`'s copy and previous copy count (nothing for a document never claimed)."""
    new_copy, old_copy = copy_of(doc), previous_of(doc)
    return Copies(
        contribution(new_copy, classes, tz), batch_of(new_copy), contribution(old_copy, classes, tz), batch_of(old_copy)
    )


def previous_of(doc: Mapping[str, Any]) -> object:
    """Return what a claimed document was counted as before its last claim (its `previous_as`), or None."""
    return as_judged(doc.get(PREVIOUS_AS))


def counted(
    doc: Mapping[str, Any], classes: ClassCatalog, tz: tzinfo, applied: Callable[[str, str | None], bool]
) -> list[Contribution]:
    """Return the contributions of `doc` that the history holds, given which batches each day holds (Copies.held)."""
    return copies(doc, classes, tz).held(applied)


def as_written(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    """Return a document with `logged` as its writer left it: a claim overwrites it, and the claim's copy keeps it."""
    copy = doc.get(LOGGED_AS)
    if not isinstance(copy, Mapping):
        return doc
    written = {name: value for name, value in doc.items() if name != "logged"}
    if "logged" in copy:
        written["logged"] = copy["logged"]
    return written


def copy_differs(doc: Mapping[str, Any]) -> bool:
    """Return whether a claimed document's contract fields changed since its `logged_as` copy.

    The flags count only by whether the contract takes them: the logger itself sets `logged`, and
    marking a prediction `trained` changes nothing the ledger counts.
    """
    copy = as_judged(doc.get(LOGGED_AS))
    if not isinstance(copy, Mapping):
        return True
    return any(not _same_bson(copy, doc, name) for name in CONTRACT_FIELDS) or any(
        _flag_verdict(copy.get(name)) != _flag_verdict(doc.get(name)) for name in FLAG_FIELDS
    )


def _flag_verdict(value: object) -> tuple[bool, bool]:
    return is_flag(value), field_size(value) > FIELD_LIMIT_BYTES


def _same_bson(copy: Mapping[str, Any], doc: Mapping[str, Any], name: str) -> bool:
    # Compared as BSON: the types must match too (1 and 1.0 differ), and NaN equals NaN. A value the copy
    # left out for its size is the same while the document's value has that size (and so counts the same).
    if (name in copy) != (name in doc):
        return False
    if name not in copy:
        return True
    if isinstance(copy[name], Oversized):
        return field_size(doc[name]) == int(copy[name].size)
    return bson.encode({"v": copy[name]}) == bson.encode({"v": doc[name]})
