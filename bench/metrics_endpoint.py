"""Time GET /metrics (Prometheus) beside GET /api/metrics over 7 days, in the same run, on the embedded database.

Seeds sample predictions (clara-seed's generator) into the embedded database on disk, logs them with one
logger tick, then runs a real `clara-monitor` (gunicorn) and times, one client at a time and
alternating, /metrics (three windows, drift, the logger's state, the unreviewed predictions) and
/api/metrics (the default 7-day range: the baseline). A second run with the same --data folder reuses
its database. Every request goes to 127.0.0.1; the loops are bounded.

    .venv/bin/python bench/metrics_endpoint.py                      # 90 days, 300 a weekday
    .venv/bin/python bench/metrics_endpoint.py --days 365 --per-day 550 --requests 200
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("WHYLOGS_NO_ANALYTICS", "1")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pymongo import MongoClient  # noqa: E402

from bench.sample_load import percentile, seed, timed  # noqa: E402
from clara_common.db import predictions  # noqa: E402
from clara_common.embedded import EmbeddedMongo  # noqa: E402
from clara_logger.settings import LoggerSettings  # noqa: E402
from tests.utils.monitor_process import running_monitor  # noqa: E402

DATABASE = "bench_metrics_endpoint"
ROUTES = {"/metrics": "/metrics", "/api/metrics (7 days)": "/api/metrics"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--per-day", type=int, default=300)
    parser.add_argument("--requests", type=int, default=100, help="timed requests per route")
    parser.add_argument("--warm-up", type=int, default=10)
    parser.add_argument(
        "--data",
        type=Path,
        default=Path(tempfile.gettempdir()) / "clara-bench-metrics-endpoint",
        help="the embedded database's folder (kept, and reused by the next run)",
    )
    args = parser.parse_args()
    with EmbeddedMongo(storage_path=args.data) as server:
        settings = LoggerSettings.from_env({}, MONGODB_URI=server.uri, MONGODB_DB=DATABASE, LOGGER_INTERVAL_MINUTES=600)
        with MongoClient(server.uri, tz_aware=True) as client:
            seed(client, settings, args.days, args.per_day)
            unreviewed = predictions(client, settings).count_documents({"timestamp_validated": None})
        print(f"predictions without a review: {unreviewed:,}")
        env = {"MONGODB_URI": server.uri, "MONGODB_DB": DATABASE, "LOGGER_INTERVAL_MINUTES": "600"}
        log = Path(tempfile.gettempdir()) / "clara-bench-metrics-endpoint-monitor.log"
        with running_monitor(env, log, workers=1) as monitor:
            connection = http.client.HTTPConnection(monitor.host, monitor.port, timeout=60)
            figures: dict[str, list[float]] = {name: [] for name in ROUTES}
            for _ in range(args.warm_up):
                for path in ROUTES.values():
                    timed(connection, path)
            for _ in range(args.requests):  # alternating, so that both meet the same conditions
                for name, path in ROUTES.items():
                    figures[name].append(timed(connection, path))
            connection.close()
    print(f"\n{'route':<24} {'p50 ms':>8} {'p95 ms':>8} {'mean ms':>8}   ({args.requests} requests each, one client)")
    for name, values in figures.items():
        print(
            f"{name:<24} {statistics.median(values):8.1f} {percentile(values, 0.95):8.1f} "
            f"{statistics.fmean(values):8.1f}"
        )
    ratio = statistics.median(figures["/metrics"]) / statistics.median(figures["/api/metrics (7 days)"])
    target = statistics.median(figures["/metrics"]) <= 100
    print(f"/metrics p50 / baseline p50: {ratio:.2f}; target p50 <= 100 ms: {'met' if target else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
