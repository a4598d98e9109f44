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

import http.client
import os
import statistics
import sys
from pathlib import Path

os.environ.setdefault("WHYLOGS_NO_ANALYTICS", "1")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pymongo import MongoClient  # noqa: E402

from bench._common import embedded_database, one_monitor, route_options, table, time_routes  # noqa: E402
from bench.sample_load import seed  # noqa: E402
from clara_common.db import predictions  # noqa: E402

DATABASE = "bench_metrics_endpoint"
ROUTES = {"/metrics": "/metrics", "/api/metrics (7 days)": "/api/metrics"}


def main() -> int:
    args = route_options(__doc__.splitlines()[0], "clara-bench-metrics-endpoint", days=90, per_day=300).parse_args()
    with embedded_database(args.data, DATABASE) as settings:
        with MongoClient(settings.MONGODB_URI.get_secret_value(), tz_aware=True) as client:
            seed(client, settings, args.days, args.per_day)
            unreviewed = predictions(client, settings).count_documents({"timestamp_validated": None})
        print(f"predictions without a review: {unreviewed:,}")
        with one_monitor(settings, "clara-bench-metrics-endpoint") as monitor:
            connection = http.client.HTTPConnection(monitor.host, monitor.port, timeout=60)
            figures = time_routes(connection, ROUTES, args.warm_up, args.requests)
            connection.close()
    header, *rows = table(figures, 24)
    print(f"\n{header}   ({args.requests} requests each, one client)")
    print("\n".join(rows))
    ratio = statistics.median(figures["/metrics"]) / statistics.median(figures["/api/metrics (7 days)"])
    target = statistics.median(figures["/metrics"]) <= 100
    print(f"/metrics p50 / baseline p50: {ratio:.2f}; target p50 <= 100 ms: {'met' if target else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
