"""The states of the logger's batch records, and the two questions both services ask of them.

The logger writes the states (clara_logger/batches.py); the monitor reads them to tell which claimed
predictions the history holds yet (clara_monitor/range_counts.py, date_range.py).
"""

from __future__ import annotations

from pymongo.collection import Collection

from clara_common.db import Document

# A record's life: written "claiming" before its claim, "built" once its per-day parts are saved on it,
# "applied" once every day it touches holds them.
CLAIMING = "claiming"
BUILT = "built"
APPLIED = "applied"
# Not applied yet: its documents may have left the unlogged ones before the history holds them.
UNFINISHED = [CLAIMING, BUILT]


def applied_among(records: Collection[Document], batch_ids: set[str]) -> set[str]:
    """Return which of these batches are applied to every day they touch."""
    if not batch_ids:
        return set()
    query = {"_id": {"$in": sorted(batch_ids)}, "state": APPLIED}
    return {r["_id"] for r in records.find(query, {"_id": 1})}


def unfinished_batches(records: Collection[Document]) -> dict[str, str]:
    """Return the state of each batch not applied yet, by batch id."""
    return {r["_id"]: r["state"] for r in records.find({"state": {"$in": UNFINISHED}}, {"state": 1})}
