"""The ledger's state document: its time zone and classes, the last tick, the corrections watermark, and the
settings the last tick judged with.

Readers (the monitor) learn from it how far behind the history is, and from which validation time
on a review may still be waiting to be corrected (`corrections_since` less CORRECTION_LOOKBACK); and the
interval and thresholds the logger runs with (clara_common.ledger.state.judged_with), which they show.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from clara_common.db import Document
from clara_common.ledger import STATE_COLLECTION, STATE_ID
from clara_common.ledger.state import JUDGED_WITH, LedgerMismatch, record_of
from clara_common.settings import CommonSettings
from clara_logger.settings import LoggerSettings

# How often the running logger reconciles its recent days.
RECONCILE_EVERY = timedelta(days=1)


def state(database: Database[Document]) -> Collection[Document]:
    """Return the collection of the ledger's state document."""
    return database[STATE_COLLECTION]


def open_ledger(collection: Collection[Document], settings: CommonSettings) -> dict[str, Any]:
    """Return the state document, created for this time zone if there is none; refuse another time zone."""
    now = datetime.now(UTC)
    with contextlib.suppress(DuplicateKeyError):
        collection.insert_one(
            {
                "_id": STATE_ID,
                "timezone": settings.TIMEZONE,
                "created_at": now,
                "last_reconcile_at": now,
            }
        )
    ledger = collection.find_one({"_id": STATE_ID}) or {}
    if ledger.get("timezone") != settings.TIMEZONE:
        raise LedgerMismatch(
            f"the history was built with TIMEZONE={ledger.get('timezone')}, and this logger runs with "
            f"TIMEZONE={settings.TIMEZONE}; run `clara-logger --reconcile --all` to rebuild it in {settings.TIMEZONE}"
        )
    return ledger


def reset(collection: Collection[Document], settings: CommonSettings) -> None:
    """Start the state afresh for a history rebuilt in this time zone."""
    collection.delete_one({"_id": STATE_ID})
    open_ledger(collection, settings)
    mark_adopted(collection)


def record_tick(
    collection: Collection[Document],
    started_at: datetime,
    line: str,
    corrections_since: datetime | None,
    settings: LoggerSettings,
) -> None:
    """Record a finished tick and the settings it judged with (a logger restarted with others overwrites them).

    `corrections_since`: where the next look for corrections starts (validation time).
    """
    tick = {"started_at": started_at, "finished_at": datetime.now(UTC), "report": line}
    update: dict[str, Any] = {"$set": {"last_tick": tick, JUDGED_WITH: record_of(settings)}}
    if corrections_since is not None:
        update["$max"] = {"corrections_since": corrections_since}
    collection.update_one({"_id": STATE_ID}, update)


def mark_adopted(collection: Collection[Document]) -> None:
    """Record that every prediction logged before this ledger existed has been counted."""
    collection.update_one({"_id": STATE_ID}, {"$set": {"adopted_at": datetime.now(UTC)}})


def take_reconcile_turn(collection: Collection[Document], now: datetime) -> bool:
    """Return True, once per RECONCILE_EVERY across all loggers, when the daily reconcile is due."""
    taken = collection.find_one_and_update(
        {"_id": STATE_ID, "last_reconcile_at": {"$lte": now - RECONCILE_EVERY}},
        {"$set": {"last_reconcile_at": now}},
        return_document=ReturnDocument.AFTER,
    )
    return taken is not None


def record_reconcile(collection: Collection[Document], first: date, last: date, repaired: int) -> None:
    collection.update_one(
        {"_id": STATE_ID},
        {
            "$set": {
                "last_reconcile": {
                    "first_day": first.isoformat(),
                    "last_day": last.isoformat(),
                    "repaired_days": repaired,
                    "at": datetime.now(UTC),
                }
            }
        },
    )


def record_signal(collection: Collection[Document], signal: dict[str, Any]) -> None:
    """Record the last judgement of incidents: the reference levels and settings it used (the monitor shows them)."""
    collection.update_one({"_id": STATE_ID}, {"$set": {"signal": signal}})
