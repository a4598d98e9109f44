"""The live benchmark's figures for the monitor of another commit and of this working tree, in one run.

A refactoring must leave the monitor's figures where they were. bench/monitor.py measures the design
against an old one; this script puts any earlier commit's monitor beside the current code, on the same
database, under the same live load, taking turns so that both see the same machine:

1. Load N predictions over D days ending today and log them (`clara-logger --once`, the current code).
2. Live load: a real `clara-logger` in the background (LOGGER_INTERVAL_MINUTES=0.5) and a writer that
   inserts and validates predictions at --rate a second. Then --rounds rounds; in each, each monitor in
   turn (the order alternates) is started fresh as a real `clara-monitor` (gunicorn), its first 90-day
   answer is timed, then /api/metrics over 90 days from --clients threads for --live-seconds.
3. Exactness: writer and logger stopped, one final `--once` tick; each monitor's 90-day totals and
   confusion matrix against counts made here from the documents with the record contract.

It ends with a table: first answer (median over the rounds), p50 and p95 of the pooled live requests,
each before and after with the ratio and whether it is within --tolerance (10%).

    .venv/bin/python bench/commits.py --before 669f200              # 50,000 predictions over 60 days
    .venv/bin/python bench/commits.py --before 669f200 --count 200000 --rounds 5
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

os.environ.setdefault("WHYLOGS_NO_ANALYTICS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pymongo import MongoClient  # noqa: E402

from bench.monitor import (  # noqa: E402
    Monitor,
    Sample,
    Service,
    Writer,
    compare,
    concurrent,
    direct_counts,
    extract_old,
    first_answer,
    generate,
    load,
    log_backlog,
    logger_once,
    service_env,
    settle,
)
from bench.sample_load import bench_database  # noqa: E402
from clara_common.days import today  # noqa: E402
from clara_common.db import ensure_indexes, predictions  # noqa: E402
from clara_monitor.settings import MonitorSettings  # noqa: E402


def within(after: float, before: float, tolerance: float) -> str:
    """Return the verdict on one figure: no worse than `before` by more than `tolerance`."""
    return "ok" if after <= before * (1 + tolerance) else "WORSE"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", required=True, help="the commit whose monitor is the baseline")
    parser.add_argument("--count", type=int, default=50_000, help="predictions (default 50,000)")
    parser.add_argument("--days", type=int, default=60, help="days of history (default 60)")
    parser.add_argument("--rounds", type=int, default=3, help="fresh starts of each monitor (default 3)")
    parser.add_argument("--live-seconds", type=float, default=20.0, help="live requests per round (default 20)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent /api/metrics clients (default 4)")
    parser.add_argument("--rate", type=float, default=10.0, help="validations (and inserts) a second (default 10)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--tolerance", type=float, default=0.10, help="allowed slowdown (default 0.10)")
    args = parser.parse_args(argv)

    root = extract_old(args.before)
    designs = {"before": f"{root}/services/common:{root}/services/monitor", "after": None}
    first: dict[str, list[float]] = {name: [] for name in designs}
    live: dict[str, Sample] = {name: Sample() for name in designs}
    exact: dict[str, list[str]] = {}
    timeout = 300.0
    data = tempfile.mkdtemp(prefix="clara-bench-data-")
    with contextlib.ExitStack() as stack:
        uri, where, server = stack.enter_context(bench_database(None, data))
        settings = MonitorSettings.from_env({}, MONGODB_URI=uri, MONGODB_DB=f"bench_commits_{int(time.time())}")
        client = stack.enter_context(MongoClient(uri, tz_aware=True))
        collection = predictions(client, settings)
        ensure_indexes(client, settings)
        current = today(settings.tz)
        print(
            f"The monitor of {args.before} (before) and of this working tree (after): {args.count:,} predictions "
            f"over {args.days} days on {where}; {args.rounds} rounds; {args.clients} clients for "
            f"{args.live_seconds:g} s; writer {args.rate:g}/s"
        )
        load(
            collection,
            generate(
                current - timedelta(days=args.days - 1),
                args.days,
                args.count,
                len(settings.classes),
                random.Random(1),
                datetime.now(UTC),
            ),
        )
        log_backlog(collection, settings, "history", server)
        settle(client[settings.MONGODB_DB])
        logger = Service(
            "logger",
            [sys.executable, "-m", "clara_logger.cli"],
            service_env(settings, LOGGER_INTERVAL_MINUTES="0.5"),
        )
        writer = Writer(settings, args.rate)
        try:
            for round_number in range(args.rounds):
                order = list(designs) if round_number % 2 == 0 else list(reversed(designs))
                for name in order:
                    monitor = Monitor(name, settings, args.workers, designs[name])
                    try:
                        label = f"round {round_number + 1}, {name}"
                        first[name].append(first_answer(monitor, current, timeout, label))
                        sample, _, _ = concurrent(
                            monitor.url(90, current),
                            f"{monitor.base}/healthz",
                            args.clients,
                            100_000,
                            args.live_seconds,
                            timeout,
                        )
                        print(f"    90 days, {args.clients} clients: {sample.line()}")
                        live[name].times += sample.times
                        live[name].errors += sample.errors
                    finally:
                        monitor.stop()
        finally:
            writer.stop()
            logger.stop()
        logger_once(settings)
        expected = direct_counts(collection, current - timedelta(days=89), current, settings)
        for name in designs:
            monitor = Monitor(name, settings, args.workers, designs[name])
            try:
                exact[name] = compare(monitor, current, 90, expected, with_matrix=True)
            finally:
                monitor.stop()

    print(f"\n| figure | before ({args.before}) | after | after / before | within {args.tolerance:.0%} |")
    print("| --- | ---: | ---: | ---: | --- |")
    rows = [
        ("first 90-day answer, median", statistics.median(first["before"]), statistics.median(first["after"])),
        ("live 90 days, p50", live["before"].p50 or float("nan"), live["after"].p50 or float("nan")),
        ("live 90 days, p95", live["before"].p95 or float("nan"), live["after"].p95 or float("nan")),
    ]
    for label, before, after in rows:
        verdict = within(after, before, args.tolerance)
        print(f"| {label} | {before:,.1f} ms | {after:,.1f} ms | {after / before:.2f} | {verdict} |")
    for name in designs:
        verdict = "exact" if not exact[name] else "; ".join(exact[name])
        errors = f", {len(live[name].errors)} failed requests" if live[name].errors else ""
        print(f"{name}: after the final tick {verdict}{errors}")
    return 0 if all(not differences for differences in exact.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
