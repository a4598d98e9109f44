"""The ledger's state as the monitor reads it: the logger's state document, refused if built in another time
zone (the document, its error and the batch queries are clara_common.ledger's)."""

from __future__ import annotations

from typing import Any

from pymongo.database import Database

from clara_common.db import Document
from clara_common.ledger.state import LedgerMismatch, read_state
from clara_monitor.settings import MonitorSettings


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
