"""`clara-logger`: profile validated predictions on a schedule, keep their history, raise alerts."""

from __future__ import annotations

import argparse
import logging
import signal
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType

import schedule
from pymongo.errors import ConnectionFailure, PyMongoError

from clara_common.days import local_day
from clara_common.db import make_client, redact_uri
from clara_common.ledger.state import LedgerMismatch
from clara_common.logs import configure_logging
from clara_common.settings import CommonSettings, SettingsError
from clara_logger.retry import retry_delay
from clara_logger.settings import LoggerSettings
from clara_logger.tick import LoggerService

log = logging.getLogger("clara_logger")

# How often the loop looks at the schedule and at a stop request.
POLL_SECONDS = 0.2


class StopFlag:
    """Set by SIGTERM/SIGINT; the tick in hand finishes its batch, then the process exits."""

    def __init__(self) -> None:
        self.requested = False

    def request(self, signum: int, frame: FrameType | None) -> None:
        log.info("received %s: finishing the batch in hand, then stopping", signal.Signals(signum).name)
        self.requested = True

    def __call__(self) -> bool:
        return self.requested


def database_error(exc: PyMongoError, settings: CommonSettings) -> str:
    """Return one log line naming the database and what went wrong, without pymongo's topology dump.

    "Unavailable" only when it did not answer: an error it returned (a refused write, a failed
    login) is said to be one, so that it is never taken for an outage.
    """
    reason = str(exc).partition(", Topology Description:")[0]
    uri = redact_uri(settings.MONGODB_URI.get_secret_value())
    if isinstance(exc, ConnectionFailure):
        return f"database unavailable (MONGODB_URI={uri}): {reason}"
    return f"database error (MONGODB_URI={uri}): {reason}"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="clara-logger",
        description="Log validated predictions with whylogs every LOGGER_INTERVAL_MINUTES; keep their history, "
        "watch for drift, raise alerts.",
    )
    parser.add_argument("--once", action="store_true", help="run one tick and exit")
    parser.add_argument(
        "--reconcile",
        action="store_true",
        help="recount recent days from the predictions collection, repair the history days that "
        "differ, print each change, and exit",
    )
    parser.add_argument(
        "--days",
        type=int,
        default=None,
        help="with --reconcile: how many days back from today (default LOGGER_RECONCILE_DAYS)",
    )
    parser.add_argument(
        "--all",
        action="store_true",
        help="with --reconcile: every day; rebuilds the whole history if it was built in another TIMEZONE",
    )
    args = parser.parse_args(argv)
    if (args.days is not None or args.all) and not args.reconcile:
        parser.error("--days and --all go with --reconcile")
    if args.days is not None and args.days < 1:
        parser.error("--days must be a positive number of days")
    if args.days is not None and args.all:
        parser.error("--days and --all exclude each other")
    return args


def run_reconcile(settings: LoggerSettings, days: int | None, everything: bool) -> int:
    """Reconcile the history with the predictions collection; print what changed; return the exit code."""
    with make_client(settings, appname="clara-logger") as client:
        logger = LoggerService(settings, client)
        logger.ensure_indexes()
        if everything:
            rebuilt = logger.rebuild_if_needed()
            if rebuilt:
                print(f"rebuilt the history in TIMEZONE={settings.TIMEZONE} from {rebuilt} logged predictions")
            first, last = logger.history_span()
        else:
            last = local_day(datetime.now(UTC), settings.tz)
            first = last - timedelta(days=(days or settings.LOGGER_RECONCILE_DAYS) - 1)
        logger.tick()  # log what is waiting first: a reconcile compares what is logged
        repairs = logger.reconcile(first, last)
        if everything:
            # Unreviewed predictions may be older than any validation: recount the whole summary.
            print(f"recounted the unreviewed summary: {logger.recount_unreviewed()} day(s)")
        for repair in repairs:
            print(f"repaired {repair.line()}")
        print(f"reconciled {first} to {last}: {len(repairs)} day(s) changed")
    return 0


class GuardedJob:
    """A scheduled job whose exceptions are logged and backed off, so that the loop goes on."""

    def __init__(self, job: Callable[[], None], settings: LoggerSettings) -> None:
        self.job = job
        self.settings = settings
        self.failures = 0
        self.not_before = 0.0  # monotonic time before which a failed job is not retried

    @property
    def retry_due(self) -> bool:
        """Return True when the last run failed and its backoff is over."""
        return self.failures > 0 and time.monotonic() >= self.not_before

    def __call__(self) -> None:
        if time.monotonic() < self.not_before:
            return
        try:
            self.job()
        except LedgerMismatch:
            raise  # a history built in another time zone: retrying cannot mend it
        except Exception as exc:  # one failed tick must not end the service
            self.failures += 1
            wait = retry_delay(
                self.failures, self.settings.LOGGER_RETRY_MIN_SECONDS, self.settings.LOGGER_RETRY_MAX_SECONDS
            )
            self.not_before = time.monotonic() + wait
            if isinstance(exc, PyMongoError):
                log.error("%s; retrying in %.0fs", database_error(exc, self.settings), wait)
            else:
                log.exception("tick failed; retrying in %.0fs", wait)
            return
        self.failures = 0


def run(settings: LoggerSettings, once: bool) -> int:
    """Run the logger; return the process exit code."""
    stop = StopFlag()
    signal.signal(signal.SIGTERM, stop.request)
    signal.signal(signal.SIGINT, stop.request)
    if settings.whylabs_enabled:
        log.info(
            "WhyLabs upload on: %s (dataset %s)", settings.WHYLABS_API_ENDPOINT, settings.WHYLABS_DEFAULT_DATASET_ID
        )
    else:
        log.info(
            "WhyLabs upload off (WHYLABS_API_KEY, WHYLABS_DEFAULT_ORG_ID and WHYLABS_DEFAULT_DATASET_ID are not "
            "all set); the history store keeps every profile"
        )
    with make_client(settings, appname="clara-logger") as client:
        logger = LoggerService(settings, client)

        def tick() -> None:
            report = logger.tick(should_stop=stop)
            log.info(report.line())
            if settings.LOGGER_HEARTBEAT_FILE:
                # The container's healthcheck: healthy while this file keeps being touched.
                Path(settings.LOGGER_HEARTBEAT_FILE).touch()

        ledger_checked = False

        def start_then_tick() -> None:
            # Inside the job, so that a database down at start is waited for like any outage.
            nonlocal ledger_checked
            if not ledger_checked:
                logger.check_ledger()
                ledger_checked = True
            logger.ensure_indexes()
            tick()

        if once:
            start_then_tick()
            return 0

        job = GuardedJob(start_then_tick, settings)
        scheduler = schedule.Scheduler()
        # schedule takes a float number of seconds; its annotation says int.
        scheduler.every(settings.LOGGER_INTERVAL_MINUTES * 60).seconds.do(job)  # type: ignore[arg-type]
        log.info("logging every %g minutes", settings.LOGGER_INTERVAL_MINUTES)
        job()
        while not stop():
            scheduler.run_pending()
            if job.retry_due:
                job()  # the backoff after a failure is shorter than the interval: retry now
            time.sleep(POLL_SECONDS)
    log.info("stopped")
    return 0


def main(argv: list[str] | None = None) -> int:
    configure_logging()
    args = parse_args(argv)
    try:
        settings = LoggerSettings.from_env()
    except SettingsError as exc:
        log.error("bad configuration: %s", exc)
        return 2
    try:
        if args.reconcile:
            return run_reconcile(settings, args.days, args.all)
        return run(settings, args.once)
    except LedgerMismatch as exc:
        log.error("%s", exc)
        return 2
    except PyMongoError as exc:  # --once or --reconcile: the one attempt found no database
        log.error("%s", database_error(exc, settings))
        return 1
    except ValueError as exc:  # e.g. a WHYLABS_API_KEY that is not shaped like one
        log.error("bad configuration: %s", exc)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
