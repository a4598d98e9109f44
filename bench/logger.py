"""Benchmark the logger against the original approach on a backlog of validated predictions.

    .venv/bin/python bench/logger.py                       # backlogs of 20,000 and 200,000
    .venv/bin/python bench/logger.py --sizes 2000 20000    # a quick run

For each backlog size, the embedded database is loaded with that many validated, unlogged
predictions (twice, one copy per approach), then each approach runs in a subprocess of its own, so
that its peak RSS (ru_maxrss) is its own:

- original: the original logger as it was written: one pandas frame of all new entries,
  `why.log_classification_metrics`, one `update_many` of `{_id: {$in: <their ids>}}`. That
  `$in` is quadratic on the embedded database (about 43 s for 5,000 ids), so it runs only for
  backlogs up to --original-max;
- baseline: the same with the `update_many` by the read's filter instead of the ids: much faster
  here, but unsafe in production (it also marks predictions validated after the read, which are then
  never logged), so a stronger baseline than the original;
- logger: one `clara-logger` tick (claim windows, per-day profiles, history store).

Figures are printed as a table, with the logger/baseline ratios measured in the same run: the
machine is shared, so only the ratios mean much.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from datetime import UTC, date, datetime

os.environ.setdefault("WHYLOGS_NO_ANALYTICS", "1")

from clara_common.classes import load_catalog  # noqa: E402
from clara_common.db import ensure_indexes, make_client  # noqa: E402
from clara_common.embedded import EmbeddedMongo  # noqa: E402
from clara_logger.settings import LoggerSettings  # noqa: E402
from clara_seed.generator import SeedPlan, generate  # noqa: E402
from clara_seed.loader import insert_missing  # noqa: E402

DAYS = 60
UNLOGGED_VALIDATED = {"logged": {"$in": [False, None]}, "output_validated": {"$ne": None}}


def load_backlog(settings: LoggerSettings, size: int) -> int:
    """Insert about `size` validated, unlogged predictions over DAYS days; return how many."""
    # Weekends carry 0.6 of a weekday: 5 + 2 * 0.6 = 6.2 weekday-equivalents a week.
    per_day = max(1, round(size / (DAYS * 6.2 / 7)))
    plan = SeedPlan(end=date(2026, 6, 30), days=DAYS, per_day=per_day, never_reviewed_share=0.0)
    # Far enough ahead that every review has happened: the whole backlog is validated.
    now = datetime(2027, 1, 1, tzinfo=UTC)
    with make_client(settings) as client:
        ensure_indexes(client, settings)
        collection = client[settings.MONGODB_DB][settings.PREDICTIONS_COLLECTION]
        insert_missing(collection, generate(plan, load_catalog(), settings.tz, now=now), batch_size=5000)
        return collection.count_documents(UNLOGGED_VALIDATED)


def run_original(settings: LoggerSettings) -> int:
    """Log the backlog as the original logger did, marking by id; return how many predictions it logged."""
    return run_baseline(settings, mark_by_ids=True)


def run_baseline(settings: LoggerSettings, mark_by_ids: bool = False) -> int:
    """Log the backlog the original way, marking by filter; return how many predictions it logged."""
    import pandas as pd
    import whylogs as why

    classes = settings.classes
    with make_client(settings) as client:
        collection = client[settings.MONGODB_DB][settings.PREDICTIONS_COLLECTION]
        entries = list(collection.find(UNLOGGED_VALIDATED))
        frame = pd.DataFrame(entries)
        # The reviewer's class id (bool verdicts: the legacy shape) and the prediction, as names.
        truth = frame.apply(
            lambda row: (
                row["output_prediction"]
                if row["output_validated"] is True
                else (-1 if row["output_validated"] is False else row["output_validated"])
            ),
            axis=1,
        )
        frame["true_class"] = [classes.name_of(int(t)) if t != -1 else "rejected" for t in truth]
        frame["predicted_class"] = [classes.name_of(int(p)) for p in frame["output_prediction"]]
        why.log_classification_metrics(
            frame[["true_class", "predicted_class", "output_confidence"]],
            target_column="true_class",
            prediction_column="predicted_class",
            score_column="output_confidence",
        )
        marked = {"_id": {"$in": list(frame["_id"])}} if mark_by_ids else UNLOGGED_VALIDATED
        collection.update_many(marked, {"$set": {"logged": True}})
        return len(entries)


def run_logger(settings: LoggerSettings) -> int:
    """Log the backlog with one clara-logger tick; return how many predictions it logged."""
    from clara_logger.tick import LoggerService

    with make_client(settings) as client:
        return LoggerService(settings, client).tick().logged


def child(approach: str, uri: str, database: str, batch_size: int, claim_size: int) -> None:
    """Run one approach and print its figures as JSON (the subprocess side)."""
    settings = LoggerSettings.from_env(
        {}, MONGODB_URI=uri, MONGODB_DB=database, LOGGER_BATCH_SIZE=batch_size, LOGGER_CLAIM_SIZE=claim_size
    )
    # Import before the clock starts: start-up is not throughput.
    import pandas  # noqa: F401
    import whylogs  # noqa: F401

    import clara_logger.tick  # noqa: F401

    started = time.perf_counter()
    logged = {"original": run_original, "baseline": run_baseline, "logger": run_logger}[approach](settings)
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux
    print(json.dumps({"approach": approach, "logged": logged, "seconds": seconds, "peak_rss_mb": peak_mb}))


def measure(approach: str, uri: str, database: str, batch_size: int, claim_size: int) -> dict:
    output = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            approach,
            "--uri",
            uri,
            "--db",
            database,
            "--batch-size",
            str(batch_size),
            "--claim-size",
            str(claim_size),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 200_000], help="backlog sizes")
    defaults = LoggerSettings.from_env({})
    parser.add_argument(
        "--batch-size",
        type=int,
        default=defaults.LOGGER_BATCH_SIZE,
        help=f"LOGGER_BATCH_SIZE (default {defaults.LOGGER_BATCH_SIZE})",
    )
    parser.add_argument(
        "--claim-size",
        type=int,
        default=defaults.LOGGER_CLAIM_SIZE,
        help=f"LOGGER_CLAIM_SIZE (default {defaults.LOGGER_CLAIM_SIZE})",
    )
    parser.add_argument(
        "--original-max",
        type=int,
        default=20_000,
        help="largest backlog the original (quadratic here) runs on (default 20,000)",
    )
    parser.add_argument("--child", choices=["original", "baseline", "logger"], help=argparse.SUPPRESS)
    parser.add_argument("--uri", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.uri, args.db, args.batch_size, args.claim_size)
        return 0

    rows = []
    with EmbeddedMongo() as server:
        for size in args.sizes:
            approaches = ("original", "baseline", "logger") if size <= args.original_max else ("baseline", "logger")
            for approach in approaches:
                database = f"bench_{approach}_{size}"
                settings = LoggerSettings.from_env({}, MONGODB_URI=server.uri, MONGODB_DB=database)
                backlog = load_backlog(settings, size)
                result = measure(approach, server.uri, database, args.batch_size, args.claim_size)
                with make_client(settings) as client:
                    left = client[database][settings.PREDICTIONS_COLLECTION].count_documents(UNLOGGED_VALIDATED)
                    client.drop_database(database)
                rows.append({**result, "backlog": backlog, "left_unlogged": left})
                print(
                    f"{approach:8} backlog {backlog:>8,}: {result['logged'] / result['seconds']:8.0f} predictions/s, "
                    f"peak RSS {result['peak_rss_mb']:6.0f} MB, {result['seconds']:7.1f} s, "
                    f"{left} left unlogged",
                    flush=True,
                )

    print()
    print(f"{'approach':10}{'backlog':>10}{'logged':>10}{'seconds':>10}{'pred/s':>10}{'peak MB':>10}")
    for row in rows:
        print(
            f"{row['approach']:10}{row['backlog']:>10,}{row['logged']:>10,}{row['seconds']:>10.1f}"
            f"{row['logged'] / row['seconds']:>10.0f}{row['peak_rss_mb']:>10.0f}"
        )
    by = {(r["approach"], r["backlog"]): r for r in rows}
    sizes = sorted({r["backlog"] for r in rows})
    rate = {key: row["logged"] / row["seconds"] for key, row in by.items()}
    for size in sizes:
        for reference in ("original", "baseline"):
            if (reference, size) in by:
                print(
                    f"backlog {size:,}: logger throughput = {rate[('logger', size)] / rate[(reference, size)]:.2f} x "
                    f"{reference}; peak RSS {by[('logger', size)]['peak_rss_mb']:.0f} MB vs "
                    f"{by[(reference, size)]['peak_rss_mb']:.0f} MB"
                )
    if len(sizes) > 1:
        small, large = sizes[0], sizes[-1]
        for approach in ("baseline", "logger"):
            growth = by[(approach, large)]["peak_rss_mb"] / by[(approach, small)]["peak_rss_mb"]
            print(f"{approach}: peak RSS x{growth:.2f} when the backlog grows x{large / small:.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
