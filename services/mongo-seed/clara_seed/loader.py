"""Write seed documents to MongoDB: insert the missing ones, never touch the ones already there."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any

from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import BulkWriteError

from clara_common.db import Document
from clara_seed.generator import FILENAME_PREFIX, SeedPlan

SEED_RUNS = "seed_runs"
DUPLICATE_KEY = 11000
# The parameters that define a seed run: a run with other values would write other documents.
PLAN_KEYS = ("seed", "days", "per_day", "end")


@dataclass(frozen=True)
class LoadResult:
    inserted: int
    already_there: int


def _batches(documents: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    iterator = iter(documents)
    while batch := list(islice(iterator, size)):
        yield batch


def insert_missing(
    collection: Collection[Document],
    documents: Iterable[dict[str, Any]],
    batch_size: int = 2000,
    on_batch: Callable[[int], None] | None = None,
) -> LoadResult:
    """Insert the documents whose _id is not in `collection` yet; existing ones are left as they are.

    Leaving them alone matters: the logger may have marked them `logged` since the last run.
    """
    inserted = already_there = 0
    for batch in _batches(documents, batch_size):
        ids = [doc["_id"] for doc in batch]
        present = {doc["_id"] for doc in collection.find({"_id": {"$in": ids}}, {"_id": 1})}
        missing = [doc for doc in batch if doc["_id"] not in present]
        already_there += len(present)
        if missing:
            try:
                inserted += len(collection.insert_many(missing, ordered=False).inserted_ids)
            except BulkWriteError as exc:
                # Another seed running at the same time inserted some of them first: that is fine.
                errors = exc.details.get("writeErrors", [])
                if any(error.get("code") != DUPLICATE_KEY for error in errors):
                    raise
                inserted += exc.details.get("nInserted", 0)
                already_there += len(errors)
        if on_batch is not None:
            on_batch(len(batch))
    return LoadResult(inserted=inserted, already_there=already_there)


def plan_record(plan: SeedPlan, now: datetime) -> dict[str, Any]:
    """Return the record of a seed run: its parameters and the instant its data was generated for."""
    return {
        "_id": "seed",
        "seed": plan.seed,
        "days": plan.days,
        "per_day": plan.per_day,
        "end": plan.end.isoformat(),
        "now": now,
    }


def previous_run(database: Database[Document]) -> dict[str, Any] | None:
    """Return the record of the last seed run in `database`, if any."""
    return database[SEED_RUNS].find_one({"_id": "seed"})


def record_run(database: Database[Document], plan: SeedPlan, now: datetime) -> None:
    database[SEED_RUNS].replace_one({"_id": "seed"}, plan_record(plan, now), upsert=True)


def record_complete(database: Database[Document], documents: int) -> None:
    """Record that the run finished with `documents` seed documents in place: a rerun can then skip the check."""
    database[SEED_RUNS].update_one({"_id": "seed"}, {"$set": {"complete": True, "documents": documents}})


def seeded_count(collection: Collection[Document]) -> int:
    """Return how many documents of a seed run are in the collection (through the filename index)."""
    return collection.count_documents({"filename": {"$regex": f"^{FILENAME_PREFIX}"}})


def delete_seeded(collection: Collection[Document], database: Database[Document]) -> int:
    """Delete every document an earlier seed run wrote; return how many."""
    deleted = collection.delete_many({"filename": {"$regex": f"^{FILENAME_PREFIX}"}}).deleted_count
    database[SEED_RUNS].delete_many({})
    return deleted
