"""Logger batches: claiming predictions, and the batch record that carries a batch to its sinks.

Exactly once, without transactions:
1. A batch record is written first (state "claiming", with an owner and a lease).
2. The predictions are claimed with one `update_many` that sets `logged: true, logger_batch: <id>`
   and copies the contract's fields into `logged_as` (clara_common.ledger), on documents that are
   still unlogged, in a window of validation time: each document is bound to exactly one batch,
   even with two loggers claiming at once, and the batch counts the copy, whatever changes after.
   Claiming costs one write per document. Windows rather than a list of ids: one `update_many` over
   an index range, with no ids sent back and forth; on MongoDB a window costs in proportion to what
   it holds, as a list would (its span adapts to hold about LOGGER_CLAIM_SIZE predictions). On the
   embedded database a list of ids would cost far more (`_id: {$in: [...]}` is quadratic there:
   docs/benchmarks.md, "Figures behind design choices"). Windows end at the current time plus the allowed clock skew: a
   review validated later is left unclaimed until it is due. The rare documents no window can claim
   (a validation time that is no date in the contract's years, a `logged` flag that is not a boolean)
   are claimed by id, first, so that a stream of new predictions never starves them.
3. The batch's per-day counts and profiles are computed from the documents bound to it and saved
   on the record (state "built"), then added to the history, each day at most once per batch id
   (history.py); then the record is "applied".
4. An unfinished record whose lease has run out (its logger died) is finished by the next logger
   that looks: the documents bound to it say exactly what it holds.
5. A correction: a logged prediction whose fields no longer match its copy (a new review) is claimed
   again, by compare-and-set on the batch it is bound to, once that batch is applied. The claim
   moves the old copy to `previous_as`; the new batch adds the new copy and takes the old one out.
The WhyLabs upload is a separate outbox state on the record, retried with backoff until done.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any

from pymongo import ReturnDocument
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import WriteError

from clara_common.contract import END_INSTANT, FIRST_INSTANT
from clara_common.db import Document, find_any
from clara_common.ledger import (
    BATCHES_COLLECTION,
    LOGGED_AS,
    PENDING,
    PREVIOUS_AS,
    STRING_TOP,
    dates_within,
    snapshot_stage,
)
from clara_common.ledger.batches import APPLIED, BUILT, CLAIMING, UNFINISHED
from clara_logger.history import DayPart

log = logging.getLogger(__name__)

UPLOAD_PENDING = "pending"
UPLOAD_DONE = "done"
UPLOAD_OFF = "off"  # WhyLabs not configured when the batch was applied

# Validated (reviewed, whatever the verdict's shape), not logged, not set aside as malformed.
# `logged: {$in: [false, null]}` also matches an absent field, and can use the (logged, ...) index.
UNLOGGED_VALIDATED: dict[str, Any] = {
    "logged": {"$in": [False, None]},
    "output_validated": {"$ne": None},
    "logged_error": {"$exists": False},
}


def batches(database: Database[Document]) -> Collection[Document]:
    """Return the collection of batch records."""
    return database[BATCHES_COLLECTION]


def logger_identity() -> str:
    """Return a name for this logger process, for the batch records it owns."""
    return f"{socket.gethostname()}:{os.getpid()}"


def now_utc() -> datetime:
    return datetime.now(UTC)


# How much a window's span may grow or shrink from one batch to the next.
MAX_SPAN_CHANGE = 8.0
# A day: a steady tick claims everything in one window; a backlog reaches full windows in a few steps.
FIRST_SPAN = timedelta(days=1)
# Not logged and due to be looked at, whatever the shape of `logged`: the claim's re-check.
NOT_CLAIMED: dict[str, Any] = {
    "logged": {"$ne": True},
    "output_validated": {"$ne": None},
    "logged_error": {"$exists": False},
}
# What no date window claims, claimed by id a few at a time: a validation time that is not a BSON date
# in the contract's years (an ISO-8601 string, or missing or mistyped on a malformed document), or a
# `logged` flag that is a string or a number (not logged either, and rejected by the contract). Each
# is an index range, and find_any asks for them as one `$or` (on the embedded database, one at a time).
# (An array holding `true` reads as logged to every query, and an object in `logged` is selected by
# no cheap range: a reconcile finds the first as logged by another logger.)
NOT_IN_A_WINDOW: list[dict[str, Any]] = [
    {**UNLOGGED_VALIDATED, "timestamp_validated": {"$not": {"$gte": FIRST_INSTANT, "$lt": END_INSTANT}}},
    {**NOT_CLAIMED, "logged": {"$gte": "", "$lte": STRING_TOP}},
    {**NOT_CLAIMED, "logged": {"$gte": -math.inf, "$lte": math.inf}},
]


def next_span(span: timedelta, claimed: int, target: int) -> timedelta:
    """Return the next window's span: scaled so it would have held `target`, within MAX_SPAN_CHANGE."""
    factor = target / claimed if claimed else MAX_SPAN_CHANGE
    return span * min(MAX_SPAN_CHANGE, max(1 / MAX_SPAN_CHANGE, factor))


def first_dated(predictions: Collection[Document], latest: datetime) -> datetime | None:
    """Return the earliest validation time of the validated, unlogged predictions a window can claim, or None.

    Sorted on the validation time alone: `logged` absent, null or false are all "not logged", and
    sorting on it first would let a stream of one kind starve the others.
    """
    first = predictions.find_one(
        {**UNLOGGED_VALIDATED, "timestamp_validated": {"$gte": FIRST_INSTANT, "$lt": latest}},
        {"timestamp_validated": 1},
        sort=[("timestamp_validated", 1)],
    )
    if first is None:
        return None
    # A hostile array may match with no element in range: then start at the first instant, and the first
    # window, which matches it the same way, claims it.
    return min(dates_within(first["timestamp_validated"], FIRST_INSTANT, latest), default=FIRST_INSTANT)


def claim_window(predictions: Collection[Document], batch_id: str, start: datetime, end: datetime) -> int:
    """Bind the validated, unlogged predictions validated in [start, end) to the batch; return how many."""
    window = {**UNLOGGED_VALIDATED, "timestamp_validated": {"$gte": start, "$lt": end}}
    return claim_matching(predictions, batch_id, window)


def claim_update(batch_id: str) -> list[dict[str, Any]]:
    """Return the update pipeline that binds a document to a batch with a copy of its fields."""
    return [snapshot_stage(batch_id), {"$unset": ["logged_error", PENDING]}]


def claim_matching(predictions: Collection[Document], batch_id: str, query: dict[str, Any]) -> int:
    """Bind the documents `query` matches (none of them claimed) to the batch; return how many.

    One `update_many`. When the server refuses one document (a WriteError: one the copy would take
    past the 16 MiB limit, one a collection validator rejects), the update stops there: the rest are
    claimed one at a time, and each refused one is set aside alone with the server's reason.
    """
    try:
        return predictions.update_many(query, claim_update(batch_id)).modified_count
    except WriteError:
        pass
    for doc in list(predictions.find(query, {"_id": 1})):
        claim_one(predictions, batch_id, {**query, "_id": doc["_id"]})
    return predictions.count_documents({"logger_batch": batch_id})


def claim_one(predictions: Collection[Document], batch_id: str, query: dict[str, Any]) -> int:
    """Bind the one document `query` matches to the batch (1), or set it aside if the server refuses it (0)."""
    try:
        return predictions.update_one(query, claim_update(batch_id)).modified_count
    except WriteError as exc:
        set_aside(predictions, query, f"cannot be claimed: {server_reason(exc)}")
        return 0


def server_reason(exc: WriteError) -> str:
    """Return a short reason for a write the server refused: its code and the start of its message."""
    message = str((exc.details or {}).get("errmsg", exc))
    return f"MongoDB error {exc.code}: {message[:MAX_REASON]}"


# A reason is kept short: it is written onto documents that may be near the 16 MiB limit.
MAX_REASON = 120


def set_aside(predictions: Collection[Document], query: dict[str, Any], reason: str) -> None:
    """Set the document `query` matches aside with `reason` in `logged_error`, without claiming it.

    If even that is refused (a document within bytes of the limit), it is left as it is and said in the log.
    """
    try:
        predictions.update_one(query, {"$set": {"logged_error": reason}})
        log.warning("prediction %s set aside: %s", query.get("_id"), reason)
    except WriteError as exc:
        log.error("prediction %s %s, and cannot be set aside either: %s", query.get("_id"), reason, server_reason(exc))


# Not logged, not set aside, not marked, with a validation time the monitor's tail reads (a BSON date or a
# string): equalities then one range, through the (logged, logged_error, logger_pending, timestamp_validated)
# index, on the embedded database too.
UNMARKED: list[dict[str, Any]] = [
    {"logged": logged, "logged_error": None, PENDING: None, "timestamp_validated": times}
    for logged in (False, None)
    for times in (
        {"$gte": datetime(1, 1, 1, tzinfo=UTC), "$lte": datetime.max.replace(tzinfo=UTC)},
        {"$gte": "", "$lte": STRING_TOP},
    )
]


def mark_pending(predictions: Collection[Document]) -> int:
    """Mark the predictions not logged with a review time and no verdict (`logger_pending`); return how many.

    The monitor's tail reads every prediction not logged on every request, and passes over marked ones
    unless a verdict has been written since (clara_monitor.tail.unlogged_queries): a prediction that
    waits for a verdict costs a request nothing once marked. Run after the claims, the look finds those
    left since the previous tick. Each is marked only while it still has no verdict (compare-and-set on
    the verdict): a verdict written meanwhile leaves it unmarked, and a claim removes the mark.
    """
    marked = 0
    for doc in find_any(predictions, UNMARKED, {"output_validated": 1}):
        if doc.get("output_validated") is None:
            query = {"_id": doc["_id"], "output_validated": None, PENDING: None}
            marked += predictions.update_one(query, {"$set": {PENDING: True}}).modified_count
    return marked


def claim_by_id(
    predictions: Collection[Document], batch_id: str, limit: int, is_early: Callable[[dict[str, Any]], bool]
) -> int:
    """Bind up to `limit` of the validated, unlogged predictions no window claims; return how many.

    Those validated in the future (`is_early`) are passed over until they are due.
    """
    projection = {"timestamp_validated": 1, "output_validated": 1}
    ids: list[Any] = []
    for doc in find_any(predictions, NOT_IN_A_WINDOW, projection):
        if len(ids) >= limit:
            break
        if not is_early(doc):
            ids.append(doc["_id"])
    if not ids:
        return 0
    return claim_matching(predictions, batch_id, {"_id": {"$in": ids}, **NOT_CLAIMED})


def claim_again(predictions: Collection[Document], batch_id: str, bound_to: dict[Any, str | None]) -> int:
    """Bind documents to a new batch if each is still bound to the batch given (None: to none); return how many.

    Compare-and-set on `logger_batch`, one document at a time: corrections are few, and two loggers
    may find the same one.
    """
    claimed = 0
    for doc_id, old_batch in bound_to.items():
        current = old_batch if old_batch is not None else {"$exists": False}
        claimed += claim_one(predictions, batch_id, {"_id": doc_id, "logger_batch": current})
    return claimed


def forget_claims(predictions: Collection[Document]) -> None:
    """Turn every claimed prediction back into one "logged by another logger", for a history rebuilt from nothing."""
    predictions.update_many(
        {"logger_batch": {"$exists": True}},
        [{"$set": {"logged": True}}, {"$unset": ["logger_batch", "logged_as", "previous_as", "logged_error"]}],
    )


def open_batch(records: Collection[Document], owner: str, lease_seconds: float, kind: str = "claim") -> str:
    """Write a new batch record in state "claiming" and return its id.

    `kind`: "claim" (new reviews), "correction" (reviews changed since they were logged), "reconcile"
    or "adoption" (predictions logged before this ledger existed).
    """
    batch_id = uuid.uuid4().hex
    now = now_utc()
    records.insert_one(
        {
            "_id": batch_id,
            "kind": kind,
            "state": CLAIMING,
            "owner": owner,
            "created_at": now,
            "lease_until": now + timedelta(seconds=lease_seconds),
        }
    )
    return batch_id


def claimed_documents(predictions: Collection[Document], batch_id: str, chunk: int) -> Iterator[list[dict[str, Any]]]:
    """Yield the documents bound to a batch, `chunk` at a time (those it set aside as malformed too)."""
    cursor = predictions.find({"logger_batch": batch_id}, batch_size=chunk)
    while documents := list(islice(cursor, chunk)):
        yield documents


def quarantine(predictions: Collection[Document], batch_id: str, reasons: dict[Any, str]) -> None:
    """Set malformed documents aside: `logged` as the writer left it (false if absent), the reason in `logged_error`.

    The flag comes back from the claim's copy, so that the document reads as what was counted.
    """
    for doc_id, reason in reasons.items():
        query = {"_id": doc_id, "logger_batch": batch_id}
        written = {"$ifNull": [f"${LOGGED_AS}.logged", False]}
        try:
            predictions.update_one(query, [{"$set": {"logged": written, "logged_error": {"$literal": reason}}}])
        except WriteError:  # the flag the writer left is too large to hold twice: it stays in the copy alone
            set_aside(predictions, query, reason[:MAX_REASON])


def release(predictions: Collection[Document], batch_id: str, ids: Sequence[Any]) -> None:
    """Undo the claim of documents validated in the future: bound again to the batch and copy they had, or to none.

    Claims pass over such documents; this is for one whose review changed between the look and the claim.
    """
    for doc_id in ids:
        predictions.update_one(
            {"_id": doc_id, "logger_batch": batch_id},
            [
                {
                    "$set": {
                        "logged": f"${LOGGED_AS}.logged",
                        "logger_batch": f"${PREVIOUS_AS}.batch",
                        LOGGED_AS: f"${PREVIOUS_AS}",
                    }
                },
                {"$unset": [PREVIOUS_AS]},
            ],
        )


def drop_batch(records: Collection[Document], batch_id: str) -> None:
    """Delete a record that claimed nothing."""
    records.delete_one({"_id": batch_id, "state": CLAIMING})


def save_built(
    records: Collection[Document],
    batch_id: str,
    parts: Sequence[DayPart],
    predictions: int,
    quarantined: int,
    upload_state: str,
    corrected: int = 0,
) -> None:
    """Store the batch's per-day parts (the outbox of its sinks) and mark it "built".

    `corrected`: how many of its predictions were counted before, under an earlier review.
    """
    records.update_one(
        {"_id": batch_id, "state": {"$in": UNFINISHED}},
        {
            "$set": {
                "state": BUILT,
                "days": [part.to_document() for part in parts],
                "predictions": predictions,
                "quarantined": quarantined,
                "corrected": corrected,
                "upload": {"state": upload_state, "uploaded_days": [], "attempts": 0, "next_attempt_at": now_utc()},
            }
        },
    )


def mark_applied(records: Collection[Document], batch_id: str) -> None:
    """Record that every day of the batch is in the history."""
    records.update_one({"_id": batch_id}, {"$set": {"state": APPLIED, "applied_at": now_utc()}})


def take_over_expired(records: Collection[Document], owner: str, lease_seconds: float) -> Iterator[dict[str, Any]]:
    """Yield unfinished records whose lease ran out, each after taking its lease for `owner`.

    Each as it was before the take-over, so that `owner` still names the logger that left it.
    """
    now = now_utc()
    for record in records.find({"state": {"$in": UNFINISHED}, "lease_until": {"$lt": now}}, {"days": 0}):
        taken = records.find_one_and_update(
            {"_id": record["_id"], "lease_until": record["lease_until"]},
            {"$set": {"owner": owner, "lease_until": now + timedelta(seconds=lease_seconds)}},
            projection={"days": 0},
            return_document=ReturnDocument.BEFORE,
        )
        if taken is not None:
            yield taken


def get_batch(records: Collection[Document], batch_id: str) -> dict[str, Any] | None:
    return records.find_one({"_id": batch_id})


def take_due_upload(records: Collection[Document], lease_seconds: float) -> dict[str, Any] | None:
    """Return the oldest applied batch whose WhyLabs upload is due, its next attempt pushed past the lease.

    Pushing the attempt time forward first means a second logger does not upload the same batch
    meanwhile; if this one dies, the batch is due again once the lease has run out.
    """
    now = now_utc()
    return records.find_one_and_update(
        {"state": APPLIED, "upload.state": UPLOAD_PENDING, "upload.next_attempt_at": {"$lte": now}},
        {"$set": {"upload.next_attempt_at": now + timedelta(seconds=lease_seconds)}},
        sort=[("created_at", 1)],
        return_document=ReturnDocument.AFTER,
    )


def record_uploaded_day(records: Collection[Document], batch_id: str, day: str) -> None:
    records.update_one({"_id": batch_id}, {"$addToSet": {"upload.uploaded_days": day}})


def record_upload_done(records: Collection[Document], batch_id: str) -> None:
    """Mark the upload done and drop the profile bytes, which no sink needs any more."""
    records.update_one(
        {"_id": batch_id},
        {"$set": {"upload.state": UPLOAD_DONE, "upload.done_at": now_utc()}, "$unset": {"days.$[].profile": ""}},
    )


def record_upload_failure(records: Collection[Document], batch_id: str, error: str, next_attempt_at: datetime) -> None:
    records.update_one(
        {"_id": batch_id},
        {
            "$set": {"upload.last_error": error[:500], "upload.next_attempt_at": next_attempt_at},
            "$inc": {"upload.attempts": 1},
        },
    )


def drop_profiles(records: Collection[Document], batch_id: str) -> None:
    """Drop the profile bytes of a batch that has no upload to make."""
    records.update_one({"_id": batch_id}, {"$unset": {"days.$[].profile": ""}})
