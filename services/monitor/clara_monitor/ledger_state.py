"""The ledger's state as the monitor reads it: the logger's state document (refused if built in another time
zone) and the states of its batches."""

from __future__ import annotations

from typing import Any

from pymongo.database import Database

from clara_common.db import Document
from clara_common.ledger import (
    BATCHES_COLLECTION,
    STATE_COLLECTION,
    STATE_ID,
)
from clara_monitor.settings import MonitorSettings

UNFINISHED_BATCHES = ["claiming", "built"]


class LedgerMismatch(RuntimeError):
    """The history was built in another TIMEZONE than the monitor's."""


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


def ledger_state(database: Database[Document], settings: MonitorSettings) -> dict[str, Any] | None:
    """Return the ledger's state document (None: no logger has run), refusing a history of another time zone."""
    ledger = read_state(database)
    check_timezone(ledger, settings)
    return ledger


def unfinished_batches(database: Database[Document]) -> dict[str, str]:
    """Return the state of each batch not applied yet, by batch id."""
    query = {"state": {"$in": UNFINISHED_BATCHES}}
    return {r["_id"]: r["state"] for r in database[BATCHES_COLLECTION].find(query, {"state": 1})}


def fully_applied(database: Database[Document], batch_ids: set[str]) -> set[str]:
    """Return which of these batches are applied to every day they touch."""
    if not batch_ids:
        return set()
    query = {"_id": {"$in": sorted(batch_ids)}, "state": "applied"}
    return {r["_id"] for r in database[BATCHES_COLLECTION].find(query, {"_id": 1})}
