"""Time a 90-day answer with and without 40,000 predictions that can never count, in one run, as ratios.

Issue 19, item 13. Seeds sample predictions (clara-seed's generator) into the embedded database on disk and
logs them with one logger tick (bench.sample_load.seed). Then, with a real `clara-monitor` (one gunicorn
worker) and one client, it times /api/metrics over the last 90 days, /api/status and /api/date-range, the
routes alternating: first as seeded ("without"), then after adding --never predictions in the same 90 days,
half with a review time and no verdict (`output_validated: null`, `logged: false`), half reviewed but
malformed (the predicted class an object), which a second logger tick sets aside (`logged_error`, `logged`
back to false) ("with"). The never-counting predictions are validated days ago, before the logger's last
look, as they are in a deployment. The figures are the p50 (and p95) of each phase and the ratio with /
without; a request's cost must not grow with such documents. It also prints how many documents a fresh
process's read of the 90 days judges (`RangeCounts.tail_documents`) in each phase, and checks that the
90-day totals equal what the predictions collection says, in both.

    .venv/bin/python bench/tail_cost.py                       # ~100,000 predictions over 90 days, 40,000 added
    .venv/bin/python bench/tail_cost.py --never 100000        # more of them
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import statistics
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("WHYLOGS_NO_ANALYTICS", "1")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pymongo import MongoClient  # noqa: E402

from bench._common import embedded_database, one_monitor, table, time_routes  # noqa: E402
from bench.sample_load import percentile, seed  # noqa: E402
from clara_common.days import day_start, today  # noqa: E402
from clara_common.db import make_client, predictions  # noqa: E402
from clara_logger.settings import LoggerSettings  # noqa: E402
from clara_logger.tick import LoggerService  # noqa: E402
from clara_monitor.range_counts import range_counts  # noqa: E402
from clara_monitor.settings import MonitorSettings  # noqa: E402
from tests.utils.reference import source_records  # noqa: E402

DATABASE = "bench_tail_cost"
PREFIX = "never-counts-"


def never_counting(settings: LoggerSettings, count: int, first: date, last: date) -> list[dict[str, Any]]:
    """Return `count` predictions validated between `first` and yesterday: half pending, half malformed."""
    rng = random.Random(19)
    days = (last - first).days
    docs = []
    for i in range(count):
        day = first + timedelta(days=rng.randrange(days))
        when = day_start(day, settings.tz) + timedelta(seconds=rng.randrange(86_400))
        doc = {
            "filename": f"{PREFIX}{i}.jpg",
            "output_prediction": rng.randrange(7),
            "output_confidence": round(rng.random(), 3),
            "output_validated": rng.randrange(7),
            "timestamp": when - timedelta(minutes=5),
            "timestamp_validated": when,
            "logged": False,
        }
        if i % 2:
            doc["output_validated"] = None  # a review time and no verdict
        else:
            doc["output_prediction"] = {"id": doc["output_prediction"]}  # malformed: set aside by a tick
        docs.append(doc)
    return docs


def tick(settings: LoggerSettings) -> str:
    with make_client(settings, appname="clara-logger") as client:
        return LoggerService(settings, client).tick().line()


def read_figures(client: MongoClient, settings: LoggerSettings, first: date, last: date) -> tuple[int, int, bool]:
    """Return (documents a fresh process's read judges, validated predictions counted, equal to the source)."""
    monitor_settings = MonitorSettings.from_env(
        {}, MONGODB_URI=settings.MONGODB_URI.get_secret_value(), MONGODB_DB=settings.MONGODB_DB
    )
    database = client[settings.MONGODB_DB]
    counts = range_counts(database, predictions(client, settings), first, last, monitor_settings)
    counted = int(counts.counts["n"].sum())
    records, invalid = source_records(predictions(client, settings), monitor_settings, first, last)
    exact = counted == len(records) and sum(counts.invalid.values()) == invalid
    return counts.tail_documents, counted, exact


def timed_routes(host: str, port: int, routes: dict[str, str], warm_up: int, requests: int) -> dict[str, list[float]]:
    """Time the routes on a connection of their own (the monitor closes one left idle through a tick)."""
    connection = http.client.HTTPConnection(host, port, timeout=600)
    try:
        return time_routes(connection, routes, warm_up, requests)
    finally:
        connection.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--per-day", type=int, default=1100, help="sample predictions a day (default 1,100)")
    parser.add_argument("--never", type=int, default=40_000, help="never-counting predictions added (default 40,000)")
    parser.add_argument("--requests", type=int, default=60, help="timed requests per route and phase")
    parser.add_argument("--warm-up", type=int, default=5)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="clara-bench-tail-cost-") as data,
        embedded_database(Path(data), DATABASE) as settings,
    ):
        uri = settings.MONGODB_URI.get_secret_value()
        last = today(settings.tz)
        first = last - timedelta(days=89)
        routes = {
            "/api/metrics 90 days": f"/api/metrics?start_date={first}&end_date={last}",
            "/api/status": "/api/status",
            "/api/date-range": "/api/date-range",
        }
        with MongoClient(uri, tz_aware=True) as client:
            seed(client, settings, args.days, args.per_day)
            collection = predictions(client, settings)
            reviewed = collection.count_documents({"output_validated": {"$ne": None}})
            phases: dict[str, dict[str, list[float]]] = {}
            reads: dict[str, tuple[int, int, bool]] = {}
            with one_monitor(settings, "clara-bench-tail-cost") as monitor:
                reads["without"] = read_figures(client, settings, first, last)
                phases["without"] = timed_routes(monitor.host, monitor.port, routes, args.warm_up, args.requests)
                added = never_counting(settings, args.never, first, last - timedelta(days=1))
                for start in range(0, len(added), 20_000):
                    collection.insert_many(added[start : start + 20_000])
                print(f"added {len(added):,} never-counting predictions; {tick(settings)}")
                reads["with"] = read_figures(client, settings, first, last)
                phases["with"] = timed_routes(monitor.host, monitor.port, routes, args.warm_up, args.requests)
            set_aside = collection.count_documents({"logged_error": {"$exists": True}})
            pending = collection.count_documents({"output_validated": None, "timestamp_validated": {"$ne": None}})
    print(
        f"\n{reviewed:,} reviewed predictions over {args.days} days; with: {pending:,} with a review time and no "
        f"verdict, {set_aside:,} set aside; one client, {args.requests} requests a route and phase"
    )
    for phase, figures in phases.items():
        judged, counted, exact = reads[phase]
        print(
            f"\n{phase}: a fresh read of 90 days judges {judged:,} documents, counts {counted:,} validated "
            f"predictions ({'equal to' if exact else 'NOT EQUAL TO'} the collection's)"
        )
        print("\n".join(table(figures, 22)))
    print(f"\n{'ratio with / without':<22} {'p50':>8} {'p95':>8}")
    for name in routes:
        without, with_them = phases["without"][name], phases["with"][name]
        p50 = statistics.median(with_them) / statistics.median(without)
        p95 = percentile(with_them, 0.95) / percentile(without, 0.95)
        print(f"{name:<22} {p50:8.2f} {p95:8.2f}")
    return 0 if all(exact for _, _, exact in reads.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
