"""/healthz answers at once while every app thread is busy: real `clara-monitor` processes under load.

Each test starts `python -m clara_monitor.cli --workers 2` (gunicorn gthread, 2 workers of
MONITOR_THREADS threads, APP_REQUESTS of them for the app), keeps CLIENTS threads sending slow
requests, and meanwhile sends PROBES requests to /healthz, one every PROBE_EVERY seconds, each on a new
connection as an orchestrator's probe does. With plain gthread workers of 4 threads each (no thread
left for the probe) or sync workers, a probe waited behind the slow requests for seconds.
"""

from __future__ import annotations

import statistics
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from pymongo import MongoClient

from clara_common.days import today
from clara_common.db import ensure_indexes, predictions
from clara_common.embedded import free_port
from clara_monitor.settings import MonitorSettings
from clara_seed.generator import SeedPlan, generate
from tests.utils.monitor_process import MonitorProcess, get, running_monitor

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CLIENTS = 8
PROBES = 40
PROBE_EVERY = 0.25  # seconds: 40 probes over about 10 s
P50_LIMIT_MS = P95_LIMIT_MS = 100.0
# Enough predictions that a year of metrics counted from the source (no logger has run) takes about
# a second alone, and several with 8 at once.
SEED_DAYS, PER_DAY = 60, 300


@dataclass
class Load:
    """What the slow clients did: how long each request took and what it answered."""

    seconds: list[float] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def percentile(values: list[float], share: float) -> float:
    """Return the nearest-rank percentile of `values`."""
    ordered = sorted(values)
    return ordered[max(0, int(round(share * len(ordered))) - 1)]


def probe_under_load(server: MonitorProcess, slow_path: str) -> tuple[list[float], Load]:
    """Keep CLIENTS threads requesting `slow_path` while probing /healthz; return the probes' milliseconds."""
    load, stop = Load(), threading.Event()
    lock = threading.Lock()

    def hammer() -> None:
        while not stop.is_set():
            started = time.perf_counter()
            try:
                status, _ = get(server.host, server.port, slow_path, timeout=120)
            except OSError as exc:
                with lock:
                    load.errors.append(repr(exc))
                continue
            with lock:
                load.seconds.append(time.perf_counter() - started)
                load.statuses.append(status)

    clients = [threading.Thread(target=hammer, daemon=True) for _ in range(CLIENTS)]
    for client in clients:
        client.start()
    time.sleep(1.0)  # every client's first request is in flight
    latencies = []
    try:
        for _ in range(PROBES):
            started = time.perf_counter()
            status, body = get(server.host, server.port, "/healthz", timeout=30)
            latencies.append((time.perf_counter() - started) * 1000)
            assert (status, body) == (200, b'{"status":"ok"}\n')
            time.sleep(max(0.0, PROBE_EVERY - latencies[-1] / 1000))
    finally:
        stop.set()
        for client in clients:
            client.join(180)
    return latencies, load


def assert_quick(latencies: list[float], load: Load, server: MonitorProcess) -> None:
    figures = (
        f"/healthz over {len(latencies)} probes: median {statistics.median(latencies):.1f} ms, "
        f"p95 {percentile(latencies, 0.95):.1f} ms, max {max(latencies):.1f} ms; slow requests: "
        f"{len(load.seconds)}, median {statistics.median(load.seconds or [0]):.2f} s"
    )
    print(figures)
    assert not load.errors, load.errors[:3]
    assert statistics.median(latencies) < P50_LIMIT_MS, f"{figures}\n{server.log_tail()}"
    assert percentile(latencies, 0.95) < P95_LIMIT_MS, f"{figures}\n{server.log_tail()}"


@pytest.fixture(scope="module")
def seeded(mongo_uri: str, mongo_client: MongoClient) -> Iterator[MonitorSettings]:
    settings = MonitorSettings.from_env({}, MONGODB_URI=mongo_uri, MONGODB_DB=f"test_liveness_{uuid.uuid4().hex[:8]}")
    ensure_indexes(mongo_client, settings)
    plan = SeedPlan(end=today(settings.tz), days=SEED_DAYS, per_day=PER_DAY, seed=11)
    predictions(mongo_client, settings).insert_many(list(generate(plan, settings.classes, settings.tz)))
    yield settings
    mongo_client.drop_database(settings.MONGODB_DB)


def test_healthz_answers_quickly_while_every_thread_counts_a_year(seeded: MonitorSettings, tmp_path: Path) -> None:
    env = {"MONGODB_URI": seeded.MONGODB_URI.get_secret_value(), "MONGODB_DB": seeded.MONGODB_DB}
    end = today(seeded.tz)
    year = f"/api/metrics?start_date={end - timedelta(days=365)}&end_date={end}"
    with running_monitor(env, tmp_path / "monitor.log", workers=2) as server:
        latencies, load = probe_under_load(server, year)
    assert set(load.statuses) == {200}
    # The load was there: the year-long reads were slow, and the clients outnumbered the app's threads.
    assert statistics.median(load.seconds) > 0.5
    assert_quick(latencies, load, server)


def test_healthz_answers_quickly_while_the_database_is_down(tmp_path: Path) -> None:
    # Nothing listens there: each API request waits MONITOR_DB_TIMEOUT_MS for a server, then answers 503.
    env = {"MONGODB_URI": f"mongodb://127.0.0.1:{free_port()}", "MONITOR_DB_TIMEOUT_MS": "2000"}
    with running_monitor(env, tmp_path / "monitor.log", workers=2) as server:
        latencies, load = probe_under_load(server, "/api/metrics")
    assert set(load.statuses) == {503}
    assert min(load.seconds) > 1.5
    assert_quick(latencies, load, server)


def test_a_request_may_outlast_the_worker_timeout(tmp_path: Path) -> None:
    # Gunicorn's timeout watches a gthread worker's main loop, not its requests: a request waiting 4 s
    # for a down database outlasts a 1 s timeout, and the worker answers it and is not replaced.
    env = {"MONGODB_URI": f"mongodb://127.0.0.1:{free_port()}", "MONITOR_DB_TIMEOUT_MS": "4000"}
    with running_monitor(env, tmp_path / "monitor.log", workers=1, args=["--timeout", "1"]) as server:
        workers = server.worker_pids()
        started = time.monotonic()
        status, _ = get(server.host, server.port, "/api/metrics", timeout=30)
        took = time.monotonic() - started
        assert (status, server.worker_pids()) == (503, workers), server.log_tail()
    assert took > 3.5
    assert "WORKER TIMEOUT" not in server.log_tail(100_000)


def test_the_worker_timeout_is_gunicorns_usual_minute() -> None:
    from clara_monitor.cli import WORKER_TIMEOUT, parse_args

    assert WORKER_TIMEOUT == 60
    assert parse_args([], MonitorSettings.from_env({})).timeout == 60
