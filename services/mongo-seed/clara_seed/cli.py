"""`clara-seed`: load realistic sample predictions into the predictions collection."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import UTC, date, datetime

from pymongo.errors import PyMongoError
from tqdm import tqdm

from clara_common.days import today
from clara_common.db import ensure_indexes, get_database, make_client, predictions
from clara_common.logs import configure_logging
from clara_common.settings import CommonSettings, SettingsError
from clara_seed.generator import SeedPlan, generate
from clara_seed.loader import (
    PLAN_KEYS,
    delete_seeded,
    insert_missing,
    plan_record,
    previous_run,
    record_complete,
    record_run,
    seeded_count,
)

log = logging.getLogger("clara_seed")


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="clara-seed",
        description="Load realistic sample predictions (deterministic for a seed; a second run adds nothing).",
    )
    parser.add_argument("--days", type=_positive, default=60, help="days of history, ending today (default 60)")
    parser.add_argument("--count", type=_positive, default=300, help="mean predictions per weekday (default 300)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument(
        "--end-date", type=date.fromisoformat, default=None, help="last day, YYYY-MM-DD (default today)"
    )
    parser.add_argument("--replace", action="store_true", help="delete an earlier seed's documents and seed anew")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser.parse_args(argv)


def run(args: argparse.Namespace, settings: CommonSettings) -> int:
    """Seed the database; return the process exit code."""
    with make_client(settings, appname="clara-seed") as client:
        database = get_database(client, settings)
        collection = predictions(client, settings)
        ensure_indexes(client, settings)
        plan = SeedPlan(end=args.end_date or today(settings.tz), days=args.days, per_day=args.count, seed=args.seed)
        # Whole seconds, which MongoDB stores exactly, so that a later run regenerates for the same instant.
        now = datetime.now(UTC).replace(microsecond=0)
        previous = previous_run(database)
        if previous is not None and args.replace:
            log.info("deleted %d documents of the earlier seed run", delete_seeded(collection, database))
            previous = None
        if previous is not None:
            wanted = plan_record(plan, now)
            if any(previous.get(key) != wanted[key] for key in PLAN_KEYS):
                log.info(
                    "already seeded (seed %s, %s days ending %s); nothing to do. --replace seeds anew.",
                    previous["seed"],
                    previous["days"],
                    previous["end"],
                )
                return 0
            if previous.get("complete") and seeded_count(collection) == previous.get("documents"):
                # The same run finished before and its documents are all there: nothing to check again.
                log.info(
                    "already seeded (seed %s, %s days ending %s, %d predictions); nothing to do.",
                    previous["seed"],
                    previous["days"],
                    previous["end"],
                    previous["documents"],
                )
                return 0
            # Regenerate for the first run's instant, so a second run yields the very same documents.
            now = previous["now"]
        record_run(database, plan, now)
        log.info(
            "seeding %s.%s: %d days ending %s, about %d predictions a weekday, seed %d",
            settings.MONGODB_DB,
            settings.PREDICTIONS_COLLECTION,
            plan.days,
            plan.end,
            plan.per_day,
            plan.seed,
        )
        documents = generate(plan, settings.classes, settings.tz, now=now)
        with tqdm(desc="predictions", unit="doc", disable=args.no_progress or None, file=sys.stderr) as bar:
            result = insert_missing(collection, documents, on_batch=bar.update)
        record_complete(database, result.inserted + result.already_there)
        log.info("inserted %d predictions, %d were already there", result.inserted, result.already_there)
    return 0


def main(argv: list[str] | None = None) -> int:
    configure_logging()
    args = parse_args(argv)
    try:
        return run(args, CommonSettings.from_env())
    except SettingsError as exc:
        log.error("bad configuration: %s", exc)
        return 2
    except PyMongoError as exc:
        log.error("database error: %s", exc)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
