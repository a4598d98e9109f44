"""What the benchmarks that time the monitor's routes on sample data share: their options, the embedded database
on disk they run on, one clara-monitor worker on it, and the timing of routes in turn with its table."""

from __future__ import annotations

import argparse
import http.client
import statistics
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.sample_load import percentile, timed
from clara_common.embedded import EmbeddedMongo
from clara_logger.settings import LoggerSettings
from tests.utils.monitor_process import MonitorProcess, running_monitor

# Long: no logger tick is due while a benchmark runs, so that the history it reads stays "current".
INTERVAL_MINUTES = 600


def route_options(description: str, name: str, days: int, per_day: int) -> argparse.ArgumentParser:
    """Return the parser of the options every such benchmark takes; `name` names its database's folder."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--days", type=int, default=days)
    parser.add_argument("--per-day", type=int, default=per_day)
    parser.add_argument("--requests", type=int, default=100, help="timed requests per route")
    parser.add_argument("--warm-up", type=int, default=10)
    parser.add_argument(
        "--data",
        type=Path,
        default=Path(tempfile.gettempdir()) / name,
        help="the embedded database's folder (kept, and reused by the next run)",
    )
    return parser


@contextmanager
def embedded_database(data: Path, database: str) -> Iterator[LoggerSettings]:
    """Run the embedded database in `data`; yield the logger's settings of `database` on it."""
    with EmbeddedMongo(storage_path=data) as server:
        yield LoggerSettings.from_env(
            {}, MONGODB_URI=server.uri, MONGODB_DB=database, LOGGER_INTERVAL_MINUTES=INTERVAL_MINUTES
        )


@contextmanager
def one_monitor(settings: LoggerSettings, name: str) -> Iterator[MonitorProcess]:
    """Run a clara-monitor of one worker on `settings`' database, its log in the temporary folder after `name`."""
    env = {
        "MONGODB_URI": settings.MONGODB_URI.get_secret_value(),
        "MONGODB_DB": settings.MONGODB_DB,
    }
    with running_monitor(env, Path(tempfile.gettempdir()) / f"{name}-monitor.log", workers=1) as monitor:
        yield monitor


def time_routes(
    connection: http.client.HTTPConnection, routes: dict[str, str], warm_up: int, requests: int
) -> dict[str, list[float]]:
    """Return each route's times in ms over `requests` rounds after `warm_up` untimed ones, the routes alternating
    in each round, so that all meet the same conditions."""
    figures: dict[str, list[float]] = {name: [] for name in routes}
    for _ in range(warm_up):
        for path in routes.values():
            timed(connection, path)
    for _ in range(requests):
        for name, path in routes.items():
            figures[name].append(timed(connection, path))
    return figures


def table(figures: dict[str, list[float]], width: int) -> list[str]:
    """Return the lines of a table of each route's p50, p95 and mean, its header first."""
    return [f"{'route':<{width}} {'p50 ms':>8} {'p95 ms':>8} {'mean ms':>8}"] + [
        f"{name:<{width}} {statistics.median(values):8.1f} {percentile(values, 0.95):8.1f} "
        f"{statistics.fmean(values):8.1f}"
        for name, values in figures.items()
    ]
