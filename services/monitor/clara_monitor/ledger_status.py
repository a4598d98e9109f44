"""How far behind the logger's history is: its last tick, and the validated predictions not logged yet."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.collection import Collection
from pymongo.database import Database

from clara_common.db import Document, find_once, splits_or
from clara_common.ledger import (
    PENDING,
    STRING_CEILING,
)
from clara_common.ledger.state import judged_with, read_state
from clara_monitor.answers import Reconcile, stored_part
from clara_monitor.range_counts import RangeCounts
from clara_monitor.settings import MonitorSettings
from clara_monitor.tail import VERDICTS

# How long after its last tick a logger is taken for behind: a few missed intervals (of its recorded interval).
BEHIND_AFTER_INTERVALS = 3


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
        interval = judged_with(ledger).LOGGER_INTERVAL_MINUTES  # the logger's own, as it recorded it
        late = now - last_tick_at > timedelta(minutes=interval * BEHIND_AFTER_INTERVALS)
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
        "last_reconcile": last_reconcile(ledger),
        "history_timezone": (ledger or {}).get("timezone"),
        "timezone": settings.TIMEZONE,
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def last_reconcile(ledger: dict[str, Any] | None) -> dict[str, Any] | None:
    """Return the logger's last reconcile as the answers give it; None without one, or in a shape they don't know."""
    stored = (ledger or {}).get("last_reconcile")
    if not isinstance(stored, dict):
        return None
    fields = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in stored.items()}
    record = stored_part(Reconcile, fields, "the ledger's last reconcile")
    return record.model_dump(mode="json") if record is not None else None
