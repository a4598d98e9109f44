"""Time each query shape tuned for the embedded database beside the shape MongoDB 7 wants, on the same data.

Loads sample predictions (clara-seed's generator, logged by one logger tick: bench/sample_load.seed)
into a fresh database, takes the logger's copies off the last day's reviews (a backlog for the tail),
adds --batch-records applied batch records (two weeks of 2-minute ticks), then times each pair of
shapes --repeat times, alternating, and prints the median of each, the ratio MongoDB shape / tuned
shape, and whether both found the same. Then the cost of inserting predictions with and without the
old `_id_desc` index.

The last column says which shape the services run on the embedded database (on MongoDB they run
the MongoDB shape, except where the row says "both"). The trained counts' row sets the monitor's read
(the `trained` index) beside parse_prediction over every document, the count its tests hold it to.
Only the ratios of one run mean much.

    .venv/bin/python bench/query_shapes.py                          # about 46,000 predictions over 365 days
    .venv/bin/python bench/query_shapes.py --mongo-image mongo:7    # the same on MongoDB 7, if Docker has it
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("WHYLOGS_NO_ANALYTICS", "1")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bson import ObjectId  # noqa: E402
from pymongo import DESCENDING, MongoClient  # noqa: E402

from bench.sample_load import bench_database, seed  # noqa: E402
from clara_common.days import range_bounds, today  # noqa: E402
from clara_common.db import PREDICTION_INDEXES, predictions  # noqa: E402
from clara_common.ledger import BATCHES_COLLECTION, HISTORY_COLLECTION, STRING_CEILING, STRING_TOP  # noqa: E402
from clara_common.ledger.batches import APPLIED  # noqa: E402
from clara_common.ledger.state import read_state  # noqa: E402
from clara_common.unreviewed import UNREVIEWED_COLLECTION  # noqa: E402
from clara_logger import reconcile  # noqa: E402
from clara_logger.batches import NOT_IN_A_WINDOW, UNLOGGED_VALIDATED  # noqa: E402
from clara_logger.settings import LoggerSettings  # noqa: E402
from clara_monitor import tail  # noqa: E402
from clara_monitor.accuracy_estimates import HISTORY_FIELDS  # noqa: E402
from clara_monitor.training import PROJECTION, count_trained, trained_counts  # noqa: E402

DATABASE = "bench_query_shapes"


@dataclass
class Shape:
    """Two ways to ask one question: as tuned for the embedded database, and as MongoDB 7 wants it."""

    name: str
    tuned: Callable[[], Any] | None  # None: the services do not ask (see the row's note)
    mongo: Callable[[], Any]
    on_embedded: str  # which of the two the services run there


def separately(collection: Any, queries: list[dict[str, Any]], projection: dict[str, Any]) -> set[Any]:
    """The tuned shape of an `$or`: one query per branch, merged by _id here."""
    return {doc["_id"] for query in queries for doc in collection.find(query, projection)}


def one_or(collection: Any, queries: list[dict[str, Any]], projection: dict[str, Any]) -> set[Any]:
    """MongoDB's shape: one `$or`, each branch through its own index."""
    return {doc["_id"] for doc in collection.find({"$or": queries}, projection)}


def ids_docs(collection: Any, queries: list[dict[str, Any]], projection: dict[str, Any]) -> list[dict[str, Any]]:
    """The tuned shape of an `$or`, keeping the documents: one query per branch, once each."""
    found = {doc["_id"]: doc for query in queries for doc in collection.find(query, projection)}
    return list(found.values())


def ids(cursor: Any) -> set[Any]:
    return {doc["_id"] for doc in cursor}


def shapes(client: MongoClient, settings: LoggerSettings, batch_ids: list[str]) -> list[Shape]:
    database = client[settings.MONGODB_DB]
    collection = predictions(client, settings)
    history, summary, records = (database[n] for n in (HISTORY_COLLECTION, UNREVIEWED_COLLECTION, BATCHES_COLLECTION))
    current = today(settings.tz)
    first = current - timedelta(days=89)
    start, end = range_bounds(first, current, settings.tz)
    ledger = read_state(database)
    day = datetime.now(UTC) - timedelta(days=1)
    days = [(first + timedelta(days=n)).isoformat() for n in range(90)]
    by_name, by_range = {"_id": {"$in": days}}, {"_id": {"$gte": days[0], "$lte": days[-1]}}
    backlog_ranges = [
        {"logged": logged, "timestamp_validated": values}
        for logged in (False, None)
        for values in ({"$gte": datetime(1, 1, 1, tzinfo=UTC)}, {"$gte": "0", "$lt": STRING_CEILING})
    ]
    window = {**UNLOGGED_VALIDATED, "timestamp_validated": {"$gte": day, "$lt": datetime.now(UTC)}}

    def pair(name: str, queries: list[dict[str, Any]], projection: dict[str, Any]) -> Shape:
        return Shape(
            name,
            lambda: separately(collection, queries, projection),
            lambda: one_or(collection, queries, projection),
            "tuned",
        )

    projection = tail.PROJECTION
    return [
        pair("tail, no logger, 90 days (tail.tail_queries)", tail.tail_queries(start, end, None, []), projection),
        pair(
            "tail, with a logger, 90 days (tail.tail_queries)",
            tail.tail_queries(start, end, ledger, batch_ids[:1]),
            projection,
        ),
        pair(
            "unreviewed, 90 days (estimate, prometheus)",
            tail.time_queries("timestamp", start, end, {"timestamp_validated": None}),
            {"timestamp": 1, "output_validated": 1},
        ),
        pair(
            "validated since yesterday (reconcile, unreviewed)",
            reconcile.time_ranges("timestamp_validated", day),
            {"timestamp": 1},
        ),
        pair(
            "a reconcile's 7 days (reconcile.day_queries)",
            reconcile.day_queries(current - timedelta(days=6), current, settings.tz),
            projection,
        ),
        pair("claims by id (batches.NOT_IN_A_WINDOW)", NOT_IN_A_WINDOW, {"timestamp_validated": 1}),
        Shape(
            "backlog (ledger_status.backlog): count",
            lambda: sum(
                1 for doc in ids_docs(collection, backlog_ranges, {"logged_error": 1}) if "logged_error" not in doc
            ),
            lambda: collection.count_documents({"$or": backlog_ranges, "logged_error": {"$exists": False}}),
            "tuned",
        ),
        Shape(
            "history, 90 of 365 days (accuracy_estimates; HistoryCache, first read)",
            lambda: ids(history.find(by_name, HISTORY_FIELDS)),
            lambda: ids(history.find(by_range, HISTORY_FIELDS)),
            "tuned; MongoDB",
        ),
        Shape(
            "unreviewed summary, 90 days",
            lambda: ids(summary.find(by_name)),
            lambda: ids(summary.find(by_range)),
            "MongoDB",
        ),
        Shape(
            f"batch states, {records.estimated_document_count():,} records (clara_common.ledger.batches.applied_among)",
            lambda: {
                r["_id"] for r in records.find({"_id": {"$in": batch_ids}}, {"state": 1}) if r["state"] == APPLIED
            },
            lambda: ids(records.find({"_id": {"$in": batch_ids}, "state": APPLIED}, {"_id": 1})),
            "MongoDB",
        ),
        Shape(
            "ISO-string validation times (ledger.STRING_TOP)",
            lambda: ids(collection.find({"timestamp_validated": {"$gte": STRING_CEILING, "$lte": STRING_TOP}})),
            lambda: ids(collection.find({"timestamp_validated": {"$gte": STRING_CEILING}})),
            "tuned (both)",
        ),
        Shape(
            "claim window, a day (batches.claim_window)",
            lambda: separately(collection, [{**window, "logged": v} for v in (False, None)], {"_id": 1}),
            lambda: ids(collection.find(window, {"_id": 1})),
            "MongoDB",
        ),
        Shape(
            "inserted since yesterday by _id (unreviewed.py)",
            None,
            lambda: ids(collection.find({"_id": {"$gte": ObjectId.from_datetime(day)}}, {"timestamp": 1})),
            "neither (reconcile)",
        ),
        Shape(
            "trained counts: `trained` index / every document",
            lambda: trained_counts(collection, settings.classes, settings.TIMEZONE),
            lambda: count_trained(collection.find({}, PROJECTION), settings.classes, settings.tz),
            "tuned (both)",
        ),
    ]


def timed(call: Callable[[], Any], times: list[float]) -> Any:
    """Call, append the milliseconds it took to `times`, return what it returned."""
    started = time.perf_counter()
    result = call()
    times.append((time.perf_counter() - started) * 1000)
    return result


def insert_costs(client: MongoClient, settings: LoggerSettings, count: int, repeat: int) -> tuple[float, float]:
    """Return the median ms to insert `count` predictions with the services' indexes, without and with `_id_desc`."""
    source = list(predictions(client, settings).find({}, {"_id": 0}).limit(count))
    times: dict[bool, list[float]] = {False: [], True: []}
    for n in range(repeat):
        for with_id_desc in (False, True):
            target = client[settings.MONGODB_DB][f"insert_{n}_{int(with_id_desc)}"]
            target.create_indexes(PREDICTION_INDEXES)
            if with_id_desc:
                target.create_index([("_id", DESCENDING)], name="_id_desc")
            docs = [dict(doc) for doc in source]
            timed(lambda t=target, d=docs: t.insert_many(d), times[with_id_desc])
            target.drop()
    return statistics.median(times[False]), statistics.median(times[True])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--per-day", type=int, default=140, help="sample predictions a day (default 140)")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs of each shape (default 7)")
    parser.add_argument("--batch-records", type=int, default=10_000, help="batch records added (default 10,000)")
    parser.add_argument("--inserts", type=int, default=5_000, help="predictions per timed insert (default 5,000)")
    parser.add_argument(
        "--mongo-image",
        default=os.environ.get("MONGO_IMAGE"),
        help="run on this image in a container (testcontainers) instead of the embedded database, when "
        "Docker has it (default: MONGO_IMAGE; unset: the embedded database)",
    )
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="clara-bench-shapes-") as data,
        bench_database(args.mongo_image, data) as (uri, where, _),
    ):
        settings = LoggerSettings.from_env({}, MONGODB_URI=uri, MONGODB_DB=DATABASE, LOGGER_INTERVAL_MINUTES=600)
        with MongoClient(uri, tz_aware=True) as client:
            seed(client, settings, args.days, args.per_day)
            collection = predictions(client, settings)
            reviews = {"timestamp_validated": {"$gte": datetime.now(UTC) - timedelta(days=1)}}
            unlogged = collection.update_many(reviews, {"$set": {"logged": False}}).modified_count
            records = client[DATABASE][BATCHES_COLLECTION]
            batch_ids = [r["_id"] for r in records.find({}, {"_id": 1})]
            # Copies of the smallest record (a day or two, as a steady tick's): a deployment's past ticks.
            smallest = min(records.find(), key=lambda r: len(r.get("days", [])))
            for first in range(0, args.batch_records, 1000):
                last = min(first + 1000, args.batch_records)
                records.insert_many([{**smallest, "_id": f"filler-{n:07d}"} for n in range(first, last)])
            print(
                f"on {where}: {collection.estimated_document_count():,} predictions over {args.days} days, "
                f"{unlogged:,} reviews of the last day not logged, {records.estimated_document_count():,} "
                f"batch records; median of {args.repeat} runs each\n"
            )
            print(f"{'shape':<58} {'tuned ms':>9} {'MongoDB ms':>10} {'ratio':>7}  same  on embedded")
            for shape in shapes(client, settings, batch_ids[:3] + ["filler-0000001"]):
                tuned_ms: list[float] = []
                mongo_ms: list[float] = []
                for _ in range(args.repeat + 1):  # the first of each is a warm-up
                    tuned = timed(shape.tuned, tuned_ms) if shape.tuned else None
                    found = timed(shape.mongo, mongo_ms)
                t = statistics.median(tuned_ms[1:]) if tuned_ms else None
                m = statistics.median(mongo_ms[1:])
                same = "-" if shape.tuned is None else ("yes" if tuned == found else "NO")
                print(
                    f"{shape.name:<58} {f'{t:.1f}' if t is not None else '-':>9} {m:10.1f} "
                    f"{f'{m / t:.2f}' if t else '-':>7}  {same:<4}  {shape.on_embedded}"
                )
            without, with_id_desc = insert_costs(client, settings, args.inserts, args.repeat)
            print(
                f"\ninsert {args.inserts:,} predictions, median ms: with `_id_desc` {with_id_desc:.0f}, without "
                f"{without:.0f} (without / with: {without / with_id_desc:.2f})"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
