"""Time GET /api/calibration and GET /api/estimated-performance beside GET /api/metrics, 90 days each, in one run.

Seeds sample predictions (clara-seed's generator) into the embedded database on disk, logs them with one
logger tick, then times the logger's unreviewed summary: the tick that builds it (or catches up), a
recount of everything, a tick after a tick's worth of changes (new predictions, reviews spread over the
last 30 days) and an idle tick. Then it runs a real `clara-monitor` (gunicorn) and times the routes and
/metrics over the last 90 days, one client, alternating (/api/metrics is the baseline): first served
from the summary, then with the summary hidden from the monitor (the ledger state's `unreviewed_as_of`
unset, restored afterwards), which is the previous design: every unreviewed prediction read per request.
A second run with the same --data folder reuses its database. Every request goes to 127.0.0.1; the
loops are bounded.

    .venv/bin/python bench/estimate.py                                # 365 days, 275 a weekday: ~100,000
    .venv/bin/python bench/estimate.py --per-day 2750 --data /tmp/clara-bench-estimate-1m   # ~1,000,000
"""

from __future__ import annotations

import http.client
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bson import ObjectId

os.environ.setdefault("WHYLOGS_NO_ANALYTICS", "1")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pymongo import MongoClient  # noqa: E402

from bench._common import embedded_database, one_monitor, route_options, table, time_routes  # noqa: E402
from bench.sample_load import seed  # noqa: E402
from clara_common.days import day_start, today  # noqa: E402
from clara_common.db import make_client, predictions  # noqa: E402
from clara_common.ledger import CORRECTION_LOOKBACK, STATE_COLLECTION, STATE_ID  # noqa: E402
from clara_common.unreviewed import STATE_FIELD  # noqa: E402
from clara_logger import unreviewed  # noqa: E402
from clara_logger.settings import LoggerSettings  # noqa: E402
from clara_logger.tick import LoggerService  # noqa: E402

DATABASE = "bench_estimate"
ROUTES: dict[str, str] = {}  # filled in main(): the last 90 days


def tick(settings: LoggerSettings, what: str) -> None:
    """Run one logger tick and print its duration and the unreviewed summary's share of it."""
    with make_client(settings) as client:
        report = LoggerService(settings, client).tick()
    print(
        f"tick ({what}): {report.duration * 1000:,.0f} ms, of which the unreviewed summary "
        f"{report.unreviewed_seconds * 1000:,.0f} ms ({report.unreviewed_days} day(s) recounted)"
    )


def summary_costs(client: MongoClient, settings: LoggerSettings, new: int, reviews: int) -> None:
    """Time the summary: catching up, a recount of everything, a tick after a tick's worth of changes, an idle tick."""
    tick(settings, "catching up: everything is recounted when there is no summary yet")
    database = client[settings.MONGODB_DB]
    started = time.monotonic()
    days = unreviewed.recount_all(
        predictions(client, settings), database["logger_unreviewed"], settings, datetime.now(UTC)
    )
    print(
        f"recount of every day (the alternative to recounting the days that can change): "
        f"{(time.monotonic() - started) * 1000:,.0f} ms, {days} day(s)"
    )
    collection = predictions(client, settings)
    rng = random.Random(7)
    now = datetime.now(UTC)
    recent = list(
        collection.find(
            {
                "timestamp_validated": None,
                "timestamp": {"$gte": day_start(today(settings.tz) - timedelta(days=29), settings.tz)},
            },
            {"output_prediction": 1},
        )
    )
    picked = rng.sample(recent, min(reviews, len(recent)))
    for doc in picked:
        collection.update_one(
            {"_id": doc["_id"]},
            {
                "$set": {
                    "output_validated": doc.get("output_prediction"),
                    "timestamp_validated": now - timedelta(seconds=5),
                }
            },
        )
    collection.insert_many(
        [
            {
                "_id": ObjectId(),
                "filename": f"bench-new-{i}.jpg",
                "output_prediction": rng.randrange(7),
                "output_confidence": rng.random(),
                "output_validated": None,
                "timestamp_validated": None,
                "timestamp": now - timedelta(seconds=rng.randrange(60)),
                "logged": False,
            }
            for i in range(new)
        ]
    )
    # A review is looked at again by a tick that starts within CORRECTION_LOOKBACK of it: wait that out,
    # so that the next tick is idle (between ticks minutes apart, that is what most reviews see).
    time.sleep(CORRECTION_LOOKBACK.total_seconds() + 1)
    tick(settings, f"after {new} new predictions and {len(picked)} reviews over the last 30 days")
    tick(settings, "idle")


def main() -> int:
    parser = route_options(__doc__.splitlines()[0], "clara-bench-estimate", days=365, per_day=275)
    parser.add_argument("--new", type=int, default=100, help="predictions made between two ticks")
    parser.add_argument("--reviews", type=int, default=300, help="reviews between two ticks")
    args = parser.parse_args()
    with embedded_database(args.data, DATABASE) as settings:
        uri = settings.MONGODB_URI.get_secret_value()
        with MongoClient(uri, tz_aware=True) as client:
            seed(client, settings, args.days, args.per_day)
            summary_costs(client, settings, args.new, args.reviews)
            total = predictions(client, settings).estimated_document_count()
        last = today(settings.tz)
        window = f"start_date={last - timedelta(days=89)}&end_date={last}"
        ROUTES.update(
            {
                "/api/metrics": f"/api/metrics?{window}",
                "/api/calibration": f"/api/calibration?{window}",
                "/api/estimated-performance": f"/api/estimated-performance?{window}",
                "/metrics": "/metrics",
            }
        )
        with MongoClient(uri, tz_aware=True) as client:
            unreviewed = predictions(client, settings).count_documents({"timestamp_validated": None})
        print(f"predictions without a review: {unreviewed:,}")
        hidden_routes = {name: ROUTES[name] for name in ("/api/metrics", "/api/estimated-performance", "/metrics")}
        with one_monitor(settings, "clara-bench-estimate") as monitor, MongoClient(uri, tz_aware=True) as client:
            connection = http.client.HTTPConnection(monitor.host, monitor.port, timeout=120)
            state = client[DATABASE][STATE_COLLECTION]
            as_of = state.find_one({"_id": STATE_ID})[STATE_FIELD]
            figures = time_routes(connection, ROUTES, args.warm_up, args.requests)
            # The previous design: no summary, every unreviewed prediction read per request.
            state.update_one({"_id": STATE_ID}, {"$unset": {STATE_FIELD: ""}})
            try:
                hidden = time_routes(connection, hidden_routes, args.warm_up, max(args.requests // 3, 5))
            finally:
                state.update_one({"_id": STATE_ID}, {"$max": {STATE_FIELD: as_of}})
            connection.close()
    print(f"\n{total:,} predictions; 90 days; {args.requests} requests each, one client")
    for title, found in (("served from the summary", figures), ("summary hidden (previous design)", hidden)):
        print(f"\n{title}")
        print("\n".join(table(found, 28)))
    baseline = statistics.median(figures["/api/metrics"])
    for name in ("/api/calibration", "/api/estimated-performance"):
        p50 = statistics.median(figures[name])
        print(
            f"{name} p50 / /api/metrics p50: {p50 / baseline:.2f}; target p50 <= 100 ms: "
            f"{'met' if p50 <= 100 else 'MISSED'}"
        )
    previous = statistics.median(hidden["/api/estimated-performance"])
    print(
        f"/api/estimated-performance p50, summary / previous design: "
        f"{statistics.median(figures['/api/estimated-performance']) / previous:.3f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
