"""Benchmark the monitor (history + unlogged tail) against the old per-day cache, under live load.

Both designs run in the same run, on the same database (the embedded one unless --mongo-image), as
real `clara-monitor` processes (gunicorn, --workers). The old design is commit 5429b76
(`monitor_day_counts`), extracted with `git archive` into a temporary folder and run with PYTHONPATH
pointing there.

1. Load N predictions over D days ending today: first the newest tenth (D/10 days), then the rest.
   After each load, `clara-logger --once` ticks until nothing validated is left unlogged (timed:
   predictions/s; the first tick also runs the one-time adoption scan). Quiet figures of both
   designs (a fresh monitor's first 90-day answer, single-client p50 over 7/30/90 days) give the
   p50 growth for 10x the history.
2. Live load: a real `clara-logger` in the background (LOGGER_INTERVAL_MINUTES=0.5) and a writer
   process that inserts new pending predictions and validates pending ones at --rate a second
   (BSON dates, `timestamp_validated` = now, `logged: False`). Once the logger's first tick (with its
   daily reconcile) is done, for each design: a freshly started monitor's first 90-day answer (the
   old one right after `--rebuild-cache`), then /api/metrics over 90 days from 4 client threads
   while /healthz is sampled (the new design for --live-seconds, two ticks at least; the old one for
   a bounded number of requests), then single-client 7- and 30-day p50s. The quiet figures of step 1
   are taken once the history's last change is POLL_MARGIN old (see settle()).
3. Exactness: writer and logger stopped, one final `--once` tick; the 90-day totals of each monitor
   (validated, per true class, the confusion matrix, invalid records) against counts made here in
   Python from the documents with the record contract (`parse_prediction`).
4. The logger stopped for a day's worth of validations: a day's worth is the dataset's daily volume,
   N/D (2,740 at 1,000,000 over 365 days), validated by the writer at --backlog-rate a second; then
   the 90-day answer is timed and checked against the documents again, and the reader's queries are
   timed one by one (with the plan of the slowest).

At the whole history (step 1), /api/date-range and /min-date (asked on every page load) are timed on the
new design and on the monitor of --scan-commit, the last one that sorted every document's validation
time for them, in the same run; their answers must agree.

It ends with a table: metric, new design, old design, new/old, target, OK/MISSED; then one of the page-load
routes, after against before. Every request loop
is bounded in count and time; all traffic stays on this machine.

    .venv/bin/python bench/monitor.py                 # 1,000,000 predictions over 365 days (30-60 min)
    .venv/bin/python bench/monitor.py --quick         # 50,000 over 60 days, fewer requests
    .venv/bin/python bench/monitor.py --mongo-image mongo:7   # on MongoDB 7 in a container, if Docker has it

With --mongo-image (or MONGO_IMAGE) it runs on that image in a container through testcontainers when
a Docker engine answers and has the image or can pull it; otherwise it says why and runs on the
embedded database. The first and last lines name the database it ran on.

The new design is whatever `clara_common`, `clara_logger` and `clara_monitor` import as. To measure a
fixed commit while the working tree changes, put its extracted services first on PYTHONPATH:

    git archive HEAD services | tar -x -C /tmp/snap
    PYTHONPATH=/tmp/snap/services/common:/tmp/snap/services/logger:/tmp/snap/services/monitor \
        .venv/bin/python bench/monitor.py --count 200000
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("WHYLOGS_NO_ANALYTICS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from bson import ObjectId  # noqa: E402
from pymongo import DESCENDING, MongoClient  # noqa: E402

from bench.sample_load import bench_database  # noqa: E402
from clara_common.contract import REJECTED_TRUE_CLASS, Rejection, parse_prediction  # noqa: E402
from clara_common.days import day_start, local_day, range_bounds, today  # noqa: E402
from clara_common.db import ensure_indexes, predictions  # noqa: E402
from clara_common.embedded import EmbeddedMongo, free_port  # noqa: E402
from clara_common.ledger import CONTRACT_FIELDS, HISTORY_COLLECTION, STATE_COLLECTION, STATE_ID  # noqa: E402
from clara_monitor.range_counts import POLL_MARGIN  # noqa: E402
from clara_monitor.settings import MonitorSettings  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
OLD_COMMIT = "5429b76"
# The last commit whose /api/date-range and /min-date sorted every document's validation time.
SCAN_COMMIT = "7c5ea09"
# Asked by every page load (dashboard.js, the original dashboard's clients).
PAGE_LOAD_ROUTES = ("/api/date-range", "/min-date")
# Timed requests per page-load route on --scan-commit's monitor: each sorts the whole collection.
SCAN_REQUESTS = 3
# The live phase's 4-client loop runs for --live-seconds, at most this many requests.
LIVE_REQUEST_CAP = 20_000
WINDOWS = (7, 30, 90)
LOG_DIR = Path(tempfile.gettempdir())
# The old design finds "inserted since the watermark" through this index (its clara_common.db makes it).
OLD_ID_INDEX = "_id_desc"
TICK_LINE = re.compile(r"tick found=(\d+) logged=(\d+) .*corrected=(\d+) .*duration=([\d.]+)s")
UNLOGGED_VALIDATED = {"logged": {"$in": [False, None]}, "output_validated": {"$ne": None}}


# -- data -----------------------------------------------------------------------------------------


def generate(
    first: date, days: int, count: int, classes: int, rng: random.Random, now: datetime
) -> Iterator[dict[str, Any]]:
    """Yield `count` validated-or-pending predictions spread evenly over `days` days from `first` (UTC)."""
    per_day = count / days
    made = 0
    for offset in range(days):
        start = day_start(first + timedelta(days=offset), UTC)
        target = round(per_day * (offset + 1)) - made
        for _ in range(target):
            created = start + timedelta(seconds=rng.randrange(86_400))
            if created > now:
                created = now - timedelta(seconds=rng.randrange(3600))
            predicted = rng.randrange(classes)
            true = predicted if rng.random() < 0.85 else rng.randrange(classes)
            validated = created + timedelta(seconds=rng.randrange(6 * 3600))
            doc = {
                "_id": ObjectId.from_datetime(created),
                "filename": f"bench-{made}.jpg",
                "output_confidence": round(rng.random(), 4),
                "output_prediction": predicted,
                "output_validated": None,
                "timestamp": created,
                "logged": False,
                "timestamp_validated": None,
            }
            if validated <= now and rng.random() < 0.95:
                doc["output_validated"] = true
                doc["timestamp_validated"] = validated
            made += 1
            yield doc


def load(collection: Any, docs: Iterator[dict[str, Any]], batch: int = 20_000) -> int:
    """Insert the documents in batches; return how many."""
    total, chunk = 0, []
    for doc in docs:
        # The _id's random tail, so ObjectIds stamped in the same second stay unique.
        doc["_id"] = ObjectId(doc["_id"].binary[:4] + os.urandom(8))
        chunk.append(doc)
        if len(chunk) == batch:
            collection.insert_many(chunk, ordered=False)
            total += len(chunk)
            chunk = []
            print(f"  loaded {total:,}", end="\r", flush=True)
    if chunk:
        collection.insert_many(chunk, ordered=False)
        total += len(chunk)
    print(f"  loaded {total:,}      ")
    return total


# -- the writer (a process of its own, so its work does not share the clients' GIL) ---------------


def run_writer(uri: str, database: str, collection_name: str, rate: float, limit: int | None, seed: int) -> int:
    """Insert pending predictions and validate pending ones at `rate` a second until SIGTERM or `limit` validations.

    Validates the oldest of its own pending inserts (a queue primed with a few seconds' worth), with
    `timestamp_validated` = now: what reviewers do. Prints its figures as one JSON line.
    """
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    rng = random.Random(seed)
    client = MongoClient(uri, tz_aware=True)
    collection = client[database][collection_name]
    made = 0

    def insert_pending() -> tuple[ObjectId, int]:
        nonlocal made
        made += 1
        doc = {
            "filename": f"live-{seed}-{made}.jpg",
            "output_confidence": round(rng.random(), 4),
            "output_prediction": rng.randrange(7),
            "output_validated": None,
            "timestamp": datetime.now(UTC),
            "logged": False,
            "timestamp_validated": None,
        }
        return collection.insert_one(doc).inserted_id, doc["output_prediction"]

    queue = [insert_pending() for _ in range(max(10, int(rate * 3)))]
    inserted, validated = len(queue), 0
    started = time.monotonic()
    next_at = started
    while not stop.is_set() and (limit is None or validated < limit):
        queue.append(insert_pending())
        inserted += 1
        doc_id, predicted = queue.pop(0)
        verdict = predicted if rng.random() < 0.85 else rng.randrange(7)
        collection.update_one(
            {"_id": doc_id}, {"$set": {"output_validated": verdict, "timestamp_validated": datetime.now(UTC)}}
        )
        validated += 1
        next_at += 1 / rate
        pause = next_at - time.monotonic()
        if pause > 0:
            stop.wait(pause)
    seconds = time.monotonic() - started
    client.close()
    print(
        json.dumps(
            {
                "inserted": inserted,
                "validated": validated,
                "seconds": seconds,
                "validated_per_s": validated / seconds if seconds else 0.0,
            }
        ),
        flush=True,
    )
    return 0


class Writer:
    """The writer subprocess: started, then stopped with SIGTERM; its figures read from its last line."""

    def __init__(self, settings: MonitorSettings, rate: float, limit: int | None = None, seed: int = 7) -> None:
        command = [
            sys.executable,
            __file__,
            "--writer",
            "--uri",
            settings.MONGODB_URI.get_secret_value(),
            "--db",
            settings.MONGODB_DB,
            "--rate",
            str(rate),
            "--seed",
            str(seed),
        ]
        if limit is not None:
            command += ["--limit", str(limit)]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        self.figures: dict[str, Any] = {}

    def stop(self, wait: float = 60) -> dict[str, Any]:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        out, _ = self.process.communicate(timeout=wait)
        lines = [line for line in out.splitlines() if line.startswith("{")]
        self.figures = json.loads(lines[-1]) if lines else {}
        return self.figures

    def wait(self, timeout: float) -> dict[str, Any]:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout)
        return self.stop()


# -- processes: logger and monitors --------------------------------------------------------------


def service_env(settings: MonitorSettings, pythonpath: str | None = None, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "MONGODB_URI": settings.MONGODB_URI.get_secret_value(),
        "MONGODB_DB": settings.MONGODB_DB,
        "LOG_LEVEL": "INFO",
        "WHYLOGS_NO_ANALYTICS": "1",
        **extra,
    }
    for name in ("WHYLABS_API_KEY", "WHYLABS_DEFAULT_ORG_ID", "WHYLABS_DEFAULT_DATASET_ID", "ALERT_WEBHOOK_URL"):
        env.pop(name, None)  # no traffic off this machine
    if pythonpath is not None:
        env["PYTHONPATH"] = pythonpath
    return env


def logger_once(settings: MonitorSettings) -> dict[str, float]:
    """Run `clara-logger --once`; return its tick's figures (found, logged, corrected, tick seconds, wall seconds)."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "clara_logger.cli", "--once"],
        env=service_env(settings),
        capture_output=True,
        text=True,
        timeout=7200,
    )
    wall = time.perf_counter() - started
    with open(LOG_DIR / "clara-bench-logger.log", "a") as log:
        log.write(done.stderr)
    match = TICK_LINE.search(done.stderr)
    if done.returncode != 0 or match is None:
        raise RuntimeError(f"clara-logger --once failed ({done.returncode}):\n{done.stderr[-2000:]}")
    found, logged, corrected, tick = match.groups()
    return {"found": int(found), "logged": int(logged), "corrected": int(corrected), "tick": float(tick), "wall": wall}


def log_backlog(
    collection: Any, settings: MonitorSettings, label: str, server: EmbeddedMongo | None = None, max_ticks: int = 10
) -> dict[str, float]:
    """Tick `clara-logger --once` until no validated prediction is left unlogged; print and return the figures.

    A failed tick is reported and followed by another (a batch it left unfinished is finished by a
    later tick once its lease runs out, and meanwhile read from the tail).
    """
    backlog = collection.count_documents(UNLOGGED_VALIDATED)
    total = {"logged": 0, "tick": 0.0, "wall": 0.0, "ticks": 0, "first_tick": 0.0, "failures": 0}
    while total["ticks"] < max_ticks:
        try:
            figures = logger_once(settings)
        except RuntimeError as exc:
            total["failures"] += 1
            total["ticks"] += 1
            print(f"  clara-logger --once FAILED: {str(exc).strip().splitlines()[-1][:300]}")
            if server is not None:
                print("  embedded database log:\n    " + server.log_tail(15).replace("\n", "\n    "))
            if total["failures"] >= 3:
                raise
            continue
        total["ticks"] += 1
        total["logged"] += figures["logged"]
        total["tick"] += figures["tick"]
        total["wall"] += figures["wall"]
        if total["ticks"] == 1:
            total["first_tick"] = figures["tick"]
        if collection.count_documents(UNLOGGED_VALIDATED) == 0:
            break
    total["backlog"] = backlog
    total["rate"] = total["logged"] / total["tick"] if total["tick"] else 0.0
    print(
        f"  clara-logger --once ({label}): backlog {backlog:,}, logged {total['logged']:,} in {total['ticks']} "
        f"tick(s), {total['tick']:.0f} s of ticks ({total['wall']:.0f} s wall with start-up): "
        f"{total['rate']:,.0f} predictions/s" + (f"; {total['failures']} tick(s) failed" if total["failures"] else "")
    )
    return total


class Service:
    """A background service process (`clara-monitor` or `clara-logger`), its output in a log file."""

    def __init__(self, name: str, command: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.log_path = LOG_DIR / f"clara-bench-{name}.log"
        self.log = open(self.log_path, "ab")  # noqa: SIM115
        self.log.write(f"\n==== {datetime.now(UTC).isoformat()} {' '.join(command)}\n".encode())
        self.log.flush()
        self.started = time.perf_counter()
        self.process = subprocess.Popen(command, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def stop(self, wait: float = 300) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(wait)
            except subprocess.TimeoutExpired:
                print(f"  {self.name} did not stop in {wait:.0f} s: killed")
                self.process.kill()
                self.process.wait()
        self.log.close()


class Monitor(Service):
    """A `clara-monitor` under gunicorn, new or old design; ready when /healthz answers."""

    def __init__(self, design: str, settings: MonitorSettings, workers: int, pythonpath: str | None) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        command = [
            sys.executable,
            "-m",
            "clara_monitor.cli",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(workers),
        ]
        super().__init__(f"monitor-{design}", command, service_env(settings, pythonpath))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"clara-monitor ({design}) exited; see {self.log_path}")
            try:
                get_json(f"{self.base}/healthz", timeout=5)
                self.ready_after = time.perf_counter() - self.started
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"clara-monitor ({design}) did not start; see {self.log_path}")

    def url(self, days: int, current: date, route: str = "/api/metrics") -> str:
        return f"{self.base}{route}?start_date={current - timedelta(days=days - 1)}&end_date={current}"


# -- HTTP measurements ----------------------------------------------------------------------------


def get_json(url: str, timeout: float = 600) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=timeout) as answer:
        return json.load(answer)


def timed_get(url: str, timeout: float) -> tuple[float, dict[str, Any] | None, str | None]:
    """Return (milliseconds, answer or None, error or None) of one GET."""
    started = time.perf_counter()
    try:
        answer = get_json(url, timeout)
        return (time.perf_counter() - started) * 1000, answer, None
    except (OSError, ValueError) as exc:
        detail = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, urllib.error.HTTPError):
            detail += " " + exc.read().decode(errors="replace")[:200]
        return (time.perf_counter() - started) * 1000, None, detail


def pct(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


@dataclass
class Sample:
    """Latencies of one measurement (milliseconds) and what went wrong."""

    times: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def p50(self) -> float | None:
        return pct(self.times, 50)

    @property
    def p95(self) -> float | None:
        return pct(self.times, 95)

    def line(self) -> str:
        if not self.times:
            return f"no answer ({len(self.errors)} errors: {self.errors[:1]})"
        text = f"n={len(self.times)}, p50 {self.p50:,.1f} ms, p95 {self.p95:,.1f} ms, max {max(self.times):,.0f} ms"
        return text + (f", {len(self.errors)} errors (first: {self.errors[0][:160]})" if self.errors else "")


def sequential(url: str, requests: int, time_limit: float, timeout: float) -> Sample:
    """Send up to `requests` GETs one after another, for at most `time_limit` seconds."""
    sample = Sample()
    deadline = time.monotonic() + time_limit
    for _ in range(requests):
        if time.monotonic() > deadline:
            break
        ms, _, error = timed_get(url, timeout)
        (sample.errors.append(error) if error else sample.times.append(ms))
    return sample


def concurrent(
    url: str,
    health_url: str,
    clients: int,
    requests: int,
    time_limit: float,
    timeout: float,
    health_every: float = 0.25,
) -> tuple[Sample, Sample, float]:
    """Send `requests` GETs from `clients` threads (at most `time_limit` s) while one thread samples /healthz.

    Returns the request sample, the /healthz sample and the wall time.
    """
    metrics, health = Sample(), Sample()
    lock = threading.Lock()
    left = [requests]
    done = threading.Event()
    deadline = time.monotonic() + time_limit

    def client() -> None:
        while time.monotonic() < deadline:
            with lock:
                if left[0] <= 0:
                    return
                left[0] -= 1
            ms, _, error = timed_get(url, timeout)
            with lock:
                (metrics.errors.append(error) if error else metrics.times.append(ms))

    def sampler() -> None:
        while not done.is_set():
            ms, _, error = timed_get(health_url, timeout)
            (health.errors.append(error) if error else health.times.append(ms))
            done.wait(health_every)

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    watcher = threading.Thread(target=sampler)
    watcher.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    watcher.join()
    return metrics, health, time.perf_counter() - started


# -- exactness ------------------------------------------------------------------------------------


def direct_counts(collection: Any, first: date, last: date, settings: MonitorSettings) -> dict[str, Any]:
    """Count local days `first` to `last` straight from the documents, with the record contract."""
    tz, classes = settings.tz, settings.classes
    start, end = range_bounds(first, last, tz)
    # A day wider each side, then each document's own local day decides.
    query = {"timestamp_validated": {"$gte": start - timedelta(days=1), "$lt": end + timedelta(days=1)}}
    total, invalid = 0, 0
    by_class = {c.name: 0 for c in classes.classes}
    matrix: dict[tuple[int, int], int] = {}
    for doc in collection.find(query, {name: 1 for name in CONTRACT_FIELDS}):
        parsed = parse_prediction(doc, classes, tz)
        if isinstance(parsed, Rejection):
            validated_at = doc.get("timestamp_validated")
            if (
                doc.get("output_validated") is not None
                and isinstance(validated_at, datetime)
                and first <= local_day(validated_at, tz) <= last
            ):
                invalid += 1
            continue
        if not parsed.is_validated or not first <= local_day(parsed.timestamp_validated, tz) <= last:
            continue
        total += 1
        if parsed.true_class != REJECTED_TRUE_CLASS:
            by_class[classes.name_of(parsed.true_class)] += 1
        cell = (parsed.true_class, parsed.predicted_class)
        matrix[cell] = matrix.get(cell, 0) + 1
    return {"total_validated": total, "class_counts": by_class, "invalid_records": invalid, "matrix": matrix}


def compare(monitor: Monitor, current: date, days: int, expected: dict[str, Any], with_matrix: bool) -> list[str]:
    """Return the differences between a monitor's answer for the window and the direct counts (empty: exact)."""
    answer = get_json(monitor.url(days, current), timeout=900)
    differences = []
    for key in ("total_validated", "class_counts", "invalid_records"):
        if answer.get(key) != expected[key]:
            differences.append(f"{key}: monitor {answer.get(key)} != documents {expected[key]}")
    if with_matrix:
        confusion = get_json(monitor.url(days, current, "/api/confusion"), timeout=900)
        cells = {
            (t, p): n
            for t, row in zip(confusion["labels"], confusion["matrix"])
            for p, n in zip(confusion["labels"], row)
            if n
        }
        wanted = {cell: n for cell, n in expected["matrix"].items() if cell[0] != REJECTED_TRUE_CLASS}
        if cells != wanted:
            differences.append(f"confusion matrix differs in {len(set(cells.items()) ^ set(wanted.items()))} cells")
    return differences


# -- the reader, query by query -------------------------------------------------------------------


def reader_breakdown(client: MongoClient, settings: MonitorSettings, first: date, last: date) -> None:
    """Time each query of one range read (as clara_monitor.range_counts makes them) and print the slowest one's plan."""
    try:
        from clara_common.ledger import BATCHES_COLLECTION
        from clara_common.ledger.batches import unfinished_batches
        from clara_common.ledger.state import read_state
        from clara_monitor import ledger_status, range_counts, tail
    except ImportError as exc:  # the monitor's code changed under the run
        print(f"  reader breakdown skipped: {exc}")
        return
    database = client[settings.MONGODB_DB]
    collection = predictions(client, settings)
    plans.clear()
    ledger = read_state(database)
    start, end = range_bounds(first, last, settings.tz)
    steps: list[tuple[str, float, int, Any]] = []

    def step(name: str, call: Callable[[], Any], plan: Any = None) -> Any:
        started = time.perf_counter()
        result = call()
        steps.append(
            (
                name,
                (time.perf_counter() - started) * 1000,
                len(result) if hasattr(result, "__len__") else int(result),
                plan,
            )
        )
        return result

    cache = range_counts.HistoryCache()
    if ledger is not None:
        step("history: the process's first read of the range", lambda: cache.records(database, first, last))
        step("history: the days changed lately", lambda: cache.refresh(database, ledger) and cache.days)
    unfinished = step("unfinished_batches", lambda: unfinished_batches(database[BATCHES_COLLECTION]))
    for query in tail.tail_queries(start, end, ledger, unfinished):
        step(f"tail find {query}", lambda q=query: list(collection.find(q, tail.PROJECTION)), query)
    step(
        "ledger_status.backlog() (the whole collection's backlog, /api/status)",
        lambda: ledger_status.backlog(collection),
    )
    for label in ("range_counts, first in this process", "range_counts, warm"):
        step(
            label, lambda: range_counts.range_counts(database, collection, first, last, settings, cache).tail_documents
        )
    print(f"  the reader's queries for {first} to {last}, in this process:")
    for name, ms, n, _ in steps:
        print(f"    {ms:9.1f} ms  {n:>9,}  {name}")
    queries = [s for s in steps if s[3] is not None]
    if queries:
        name, ms, _, query = max(queries, key=lambda s: s[1])
        print(f"    slowest tail query ({ms:.0f} ms): {query}")
        explain_find(database, collection.name, query, "      ", print_now=True)
    for line in plans:
        print(line)


plans: list[str] = []


def explain_find(database: Any, collection: str, query: dict[str, Any], indent: str, print_now: bool = False) -> None:
    """Record (or print) the winning plan and execution figures of a find; best effort on the embedded database."""
    try:
        plan = database.command("explain", {"find": collection, "filter": query}, verbosity="executionStats")
        winning = (plan.get("queryPlanner") or {}).get("winningPlan", plan)
        stats = plan.get("executionStats") or {}
        lines = [
            f"{indent}plan of {query}: {json.dumps(winning, default=str)[:500]}",
            f"{indent}  nReturned={stats.get('nReturned')} totalDocsExamined={stats.get('totalDocsExamined')} "
            f"totalKeysExamined={stats.get('totalKeysExamined')} executionTimeMillis="
            f"{stats.get('executionTimeMillis')}",
        ]
    except Exception as exc:  # noqa: BLE001
        lines = [f"{indent}explain of {query} failed: {exc}"]
    if print_now:
        print("\n".join(lines))
    else:
        plans.extend(lines)


# -- one design under load ------------------------------------------------------------------------


@dataclass
class Figures:
    """What one design measured."""

    first_90: dict[str, float] = field(default_factory=dict)  # phase -> ms
    quiet_p50: dict[str, dict[int, float | None]] = field(default_factory=dict)  # phase -> window -> ms
    live: Sample | None = None
    health: Sample | None = None
    live_seconds: float = 0.0
    live_single: dict[int, Sample] = field(default_factory=dict)
    exact: list[str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def first_answer(monitor: Monitor, current: date, timeout: float, label: str) -> float:
    """Time the first 90-day answer of a monitor that has just started; print it."""
    ms, answer, error = timed_get(monitor.url(90, current), timeout)
    shown = f"{answer['total_validated']:,} validated" if answer else f"FAILED {error}"
    tail = f", tail {answer['ledger'].get('tail_documents')}" if answer and "ledger" in answer else ""
    print(f"  {label}: started in {monitor.ready_after:.1f} s; first 90-day answer {ms:,.0f} ms ({shown}{tail})")
    return ms if answer else float("nan")


def page_load_figures(
    monitor: Monitor, requests: int, timeout: float, time_limit: float
) -> dict[str, tuple[Sample, dict[str, Any] | None]]:
    """Time each page-load route from one client after one warm-up request; print them; return each sample
    and the warm-up's answer."""
    figures = {}
    for route in PAGE_LOAD_ROUTES:
        url = f"{monitor.base}{route}"
        _, answer, _ = timed_get(url, timeout)
        sample = sequential(url, requests, time_limit, timeout)
        figures[route] = (sample, answer)
        print(f"    {route}, one client: {sample.line()}; {answer}")
    return figures


def wait_for_tick(database: Any, after: datetime, timeout: float) -> float:
    """Wait until the logger records a tick finished after `after`; return the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        state = database[STATE_COLLECTION].find_one({"_id": STATE_ID}) or {}
        finished = (state.get("last_tick") or {}).get("finished_at")
        if finished is not None and finished > after:
            return time.monotonic() - started
        time.sleep(0.5)
    raise RuntimeError(f"the logger finished no tick in {timeout:.0f} s; see {LOG_DIR}/clara-bench-logger.log")


def settle(database: Any) -> None:
    """Wait until the history's last change is POLL_MARGIN old: the quiet figures are those of a steady state.

    Within POLL_MARGIN of a tick that touched every day (the bench's backlog ticks), each request reads
    those days' versions again; in production only adoption and `--reconcile --all` touch every day.
    """
    newest = database[HISTORY_COLLECTION].find_one({}, {"updated_at": 1}, sort=[("updated_at", DESCENDING)])
    if newest is not None:
        wait = (newest["updated_at"] + POLL_MARGIN - datetime.now(UTC)).total_seconds() + 1
        if wait > 0:
            print(f"  waiting {wait:.0f} s for the history's last change to be {POLL_MARGIN.seconds} s old")
            time.sleep(wait)


def quiet_p50s(
    monitor: Monitor, current: date, requests: int, timeout: float, time_limit: float
) -> dict[int, float | None]:
    """Single-client p50 of each window, after one warm-up request; print them."""
    result = {}
    for days in WINDOWS:
        timed_get(monitor.url(days, current), timeout)
        sample = sequential(monitor.url(days, current), requests, time_limit, timeout)
        result[days] = sample.p50
        print(f"    /api/metrics {days:>2} days, one client: {sample.line()}")
    return result


def live_figures(
    monitor: Monitor, current: date, figures: Figures, requests: int, clients: int, time_limit: float, timeout: float
) -> None:
    """Measure 4 clients on 90 days with /healthz sampled, then single-client 7/30 days; print them."""
    figures.live, figures.health, figures.live_seconds = concurrent(
        monitor.url(90, current), f"{monitor.base}/healthz", clients, requests, time_limit, timeout
    )
    print(f"    /api/metrics 90 days, {clients} clients, {figures.live_seconds:.0f} s: {figures.live.line()}")
    print(f"    /healthz meanwhile: {figures.health.line()}")
    for days in (7, 30):
        figures.live_single[days] = sequential(monitor.url(days, current), max(3, requests // 4), time_limit, timeout)
        print(f"    /api/metrics {days:>2} days, one client: {figures.live_single[days].line()}")


# -- the old design -------------------------------------------------------------------------------


def extract_old(commit: str) -> Path:
    """Extract the services of `commit` into a temporary folder; return it."""
    folder = Path(tempfile.mkdtemp(prefix="clara-old-"))
    archive = subprocess.run(["git", "-C", str(REPO), "archive", commit, "services"], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder


def old_rebuild(settings: MonitorSettings, pythonpath: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "clara_monitor.cli", "--rebuild-cache"],
        check=True,
        timeout=600,
        env=service_env(settings, pythonpath),
        capture_output=True,
    )


def old_index(collection: Any, present: bool) -> None:
    """Give the old design the `_id` index it relies on (made outside its timings), or take it away again."""
    names = collection.index_information()
    if present and OLD_ID_INDEX not in names:
        collection.create_index([("_id", DESCENDING)], name=OLD_ID_INDEX)
    if not present and OLD_ID_INDEX in names:
        collection.drop_index(OLD_ID_INDEX)


# -- the run --------------------------------------------------------------------------------------


def fmt(value: float | None, unit: str = "ms") -> str:
    if value is None or value != value:
        return "-"
    if unit == "ms":
        return f"{value:,.0f} ms" if value >= 100 else f"{value:.1f} ms"
    if unit == "x":
        return f"{value:.2f}x"
    return f"{value:,.0f} {unit}"


def ratio(new: float | None, old: float | None) -> str:
    if not new or not old or new != new or old != old:
        return "-"
    return f"{new / old:.3f}" if new / old < 1 else f"{new / old:.2f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=None, help="predictions in the history (default 1,000,000)")
    parser.add_argument("--days", type=int, default=None, help="days of history (default 365)")
    parser.add_argument(
        "--requests",
        type=int,
        default=None,
        help="single-client requests per window, quiet and with the logger stopped (default 120)",
    )
    parser.add_argument(
        "--old-requests",
        type=int,
        default=None,
        help="old design: 90-day requests from the 4 clients (default 16; each may take seconds)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a small run: 50,000 predictions over 60 days, 40 requests, 8 old ones"
    )
    parser.add_argument("--rate", type=float, default=10.0, help="validations (and inserts) a second (default 10)")
    parser.add_argument(
        "--backlog-rate",
        type=float,
        default=100.0,
        help="validations a second while the logger is stopped (default 100: a day's worth quicker)",
    )
    parser.add_argument("--clients", type=int, default=4, help="concurrent /api/metrics clients (default 4)")
    parser.add_argument(
        "--live-seconds",
        type=float,
        default=65.0,
        help="new design, live: seconds of 4-client 90-day requests, then of each single-client window "
        "(default 65: two logger ticks at least)",
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--old-commit", default=OLD_COMMIT, help=f"the old design's commit (default {OLD_COMMIT})")
    parser.add_argument(
        "--scan-commit",
        default=SCAN_COMMIT,
        help=f"the page-load routes' baseline: the last commit that sorted every document (default {SCAN_COMMIT})",
    )
    parser.add_argument(
        "--mongo-image",
        default=os.environ.get("MONGO_IMAGE"),
        help="run on this image (e.g. mongo:7) in a container through testcontainers, when a Docker engine "
        "answers and has or can pull it; else on the embedded database, as without it (default: MONGO_IMAGE)",
    )
    parser.add_argument("--writer", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--uri", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=7, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.writer:
        return run_writer(
            args.uri, args.db, MonitorSettings.from_env({}).PREDICTIONS_COLLECTION, args.rate, args.limit, args.seed
        )
    quick = args.quick
    count = args.count or (50_000 if quick else 1_000_000)
    days = args.days or (60 if quick else 365)
    requests = args.requests or (40 if quick else 120)
    old_requests = args.old_requests or (8 if quick else 16)
    timeout = 300.0  # one request; the old design's answers under load take seconds
    if days < 90:
        print(f"note: {days} days of history: the 90-day window holds all of it")

    old_root = extract_old(args.old_commit)
    old_path = f"{old_root}/services/common:{old_root}/services/monitor"
    scan_root = extract_old(args.scan_commit)
    scan_path = f"{scan_root}/services/common:{scan_root}/services/monitor"
    page_loads: dict[str, dict[str, tuple[Sample, dict[str, Any] | None]]] = {}
    # On disk, as `make demo` runs it: at 1,000,000 predictions the logger's copies (logged_as) overflow
    # the in-memory store's cache (WT_CACHE_FULL).
    data = tempfile.mkdtemp(prefix="clara-bench-data-")
    database = contextlib.ExitStack()
    uri, where, server = database.enter_context(bench_database(args.mongo_image, data))
    settings = MonitorSettings.from_env({}, MONGODB_URI=uri, MONGODB_DB=f"bench_monitor_{int(time.time())}")
    client = MongoClient(uri, tz_aware=True)
    collection = predictions(client, settings)
    ensure_indexes(client, settings)
    now = datetime.now(UTC)
    current = today(settings.tz)
    rng = random.Random(1)
    recent_days = max(1, days // 10)
    recent_count = count // 10
    daily = round(count / days)
    new, old = Figures(), Figures()
    logger_runs: dict[str, dict[str, float]] = {}
    background: list[Service] = []
    writer: Writer | None = None
    run_started = time.perf_counter()
    print(
        f"CLARA Monitor benchmark: {count:,} predictions over {days} days on {where}; "
        f"writer {args.rate:g} validations/s; {args.clients} clients; {args.workers} gunicorn workers; "
        f"old design from {args.old_commit} ({old_root}); logs in {LOG_DIR}/clara-bench-*.log"
    )
    try:
        # 1. History, logged, quiet figures at a tenth and at the whole.
        for phase, first, span, n in (
            ("history/10", current - timedelta(days=recent_days - 1), recent_days, recent_count),
            ("history", current - timedelta(days=days - 1), days - recent_days, count - recent_count),
        ):
            print(f"loading {n:,} predictions ({phase}) ...")
            started = time.perf_counter()
            load(collection, generate(first, span, n, len(settings.classes), rng, now))
            print(f"  in {time.perf_counter() - started:.0f} s; {collection.estimated_document_count():,} stored")
            logger_runs[phase] = log_backlog(collection, settings, phase, server)
            settle(client[settings.MONGODB_DB])
            print(f"quiet, {phase}:")
            monitor = Monitor("new", settings, args.workers, None)
            try:
                new.first_90[phase] = first_answer(monitor, current, timeout, "new design, fresh monitor")
                new.quiet_p50[phase] = quiet_p50s(monitor, current, requests // 4, timeout, 60)
                if phase == "history":
                    page_loads["after"] = page_load_figures(monitor, requests, timeout, 60)
            finally:
                monitor.stop()
            if phase == "history":
                reader_breakdown(client, settings, current - timedelta(days=89), current)
                page_loads.update(page_load_baseline(settings, args, scan_path, requests, timeout))
            if phase == "history/10":
                # The old design's quiet p50 at a tenth of the history (its p50 at the whole is taken
                # after the live phase, when its cache holds the whole history).
                old_index(collection, True)
                old_rebuild(settings, old_path)
                monitor = Monitor("old", settings, args.workers, old_path)
                try:
                    old.first_90[phase] = first_answer(monitor, current, timeout, "old design, after --rebuild-cache")
                    old.quiet_p50[phase] = quiet_p50s(monitor, current, requests // 4, timeout, 60)
                finally:
                    monitor.stop()
                old_index(collection, False)

        # 2. Live load: the logger running, the writer writing; each design in turn.
        print(f"live load: clara-logger every 0.5 min, writer at {args.rate:g} validations/s")
        background.append(
            Service(
                "logger",
                [sys.executable, "-m", "clara_logger.cli"],
                service_env(settings, LOGGER_INTERVAL_MINUTES="0.5"),
            )
        )
        writer = Writer(settings, args.rate)
        first_tick = wait_for_tick(client[settings.MONGODB_DB], datetime.now(UTC), 900)
        print(f"  the logger's first tick (its daily reconcile included) finished after {first_tick:.0f} s")
        print("  new design:")
        monitor = Monitor("new", settings, args.workers, None)
        try:
            new.first_90["live"] = first_answer(monitor, current, timeout, "fresh monitor under load")
            # For --live-seconds (a tick or more), not a count: the answers in a tick's wake are part of it.
            live_figures(monitor, current, new, LIVE_REQUEST_CAP, args.clients, args.live_seconds, timeout)
            reader_breakdown(client, settings, current - timedelta(days=89), current)
        finally:
            monitor.stop()
        print("  old design:")
        old_index(collection, True)
        started = time.perf_counter()
        old_rebuild(settings, old_path)
        print(f"    --rebuild-cache: {time.perf_counter() - started:.1f} s")
        monitor = Monitor("old", settings, args.workers, old_path)
        try:
            old.first_90["live"] = first_answer(monitor, current, 900, "after --rebuild-cache, under load")
            live_figures(monitor, current, old, old_requests, args.clients, 300, timeout)
        finally:
            monitor.stop()
        live_writer = writer.stop()
        writer = None
        print(
            f"  writer: {live_writer.get('validated', 0):,} validated, {live_writer.get('inserted', 0):,} inserted "
            f"in {live_writer.get('seconds', 0):.0f} s ({live_writer.get('validated_per_s', 0):.1f} validated/s)"
        )
        for service in background:
            service.stop()
        background.clear()

        # 3. Exactness after one final tick.
        print("exactness: writer and logger stopped, one final clara-logger --once:")
        final = logger_once(settings)
        print(f"  final tick: logged {final['logged']:,}, corrected {final['corrected']:,} in {final['tick']:.1f} s")
        window_first = current - timedelta(days=89)
        started = time.perf_counter()
        expected = direct_counts(collection, window_first, current, settings)
        print(
            f"  counted from the documents in {time.perf_counter() - started:.0f} s: "
            f"{expected['total_validated']:,} validated over 90 days"
        )
        monitor = Monitor("new", settings, args.workers, None)
        try:
            new.exact = compare(monitor, current, 90, expected, with_matrix=True)
            print(f"  new design: {'exact' if not new.exact else new.exact}")
        finally:
            monitor.stop()
        monitor = Monitor("old", settings, args.workers, old_path)
        try:
            old.exact = compare(monitor, current, 90, expected, with_matrix=False)
            print(f"  old design: {'exact' if not old.exact else old.exact}")
            print("  old design, quiet, whole history (cache warm):")
            old.quiet_p50["history"] = quiet_p50s(monitor, current, max(4, old_requests // 2), timeout, 180)
        finally:
            monitor.stop()
        old_index(collection, False)

        # 4. The logger stopped for a day's worth of validations.
        print(
            f"logger stopped: the writer validates a day's worth ({count:,}/{days} = {daily:,}) "
            f"at {args.backlog_rate:g}/s ..."
        )
        writer = Writer(settings, args.backlog_rate, limit=daily, seed=11)
        backlog_writer = writer.wait(timeout=max(600, 3 * daily / args.backlog_rate))
        writer = None
        print(
            f"  validated {backlog_writer.get('validated', 0):,} in {backlog_writer.get('seconds', 0):.0f} s; "
            f"{collection.count_documents(UNLOGGED_VALIDATED):,} validated predictions not logged"
        )
        monitor = Monitor("new", settings, args.workers, None)
        try:
            new.first_90["stopped"] = first_answer(monitor, current, timeout, "new design, fresh monitor")
            stopped = sequential(monitor.url(90, current), max(5, requests // 4), 180, timeout)
            print(f"    /api/metrics 90 days, one client: {stopped.line()}")
            stopped_4, stopped_health, _ = concurrent(
                monitor.url(90, current), f"{monitor.base}/healthz", args.clients, max(8, requests // 2), 180, timeout
            )
            print(f"    /api/metrics 90 days, {args.clients} clients: {stopped_4.line()}")
            print(f"    /healthz meanwhile: {stopped_health.line()}")
            expected = direct_counts(collection, window_first, current, settings)
            new.extra["stopped_exact"] = compare(monitor, current, 90, expected, with_matrix=True)
            print(
                "  exact with the logger stopped: "
                f"{'yes' if not new.extra['stopped_exact'] else new.extra['stopped_exact']}"
            )
            new.extra.update(stopped=stopped, stopped_4=stopped_4, stopped_health=stopped_health)
            reader_breakdown(client, settings, window_first, current)
        finally:
            monitor.stop()
    finally:
        if writer is not None:
            writer.stop()
        for service in background:
            service.stop()
        client.close()
        database.close()
        shutil.rmtree(data, ignore_errors=True)

    print(f"\nrun took {(time.perf_counter() - run_started) / 60:.0f} min")
    report(new, old, logger_runs, count, days, daily, args, requests, old_requests, where)
    page_load_report(page_loads, count, args.scan_commit)
    return 0


def page_load_baseline(
    settings: MonitorSettings, args: argparse.Namespace, scan_path: str, requests: int, timeout: float
) -> dict[str, dict[str, tuple[Sample, dict[str, Any] | None]]]:
    """Time the page-load routes on --scan-commit's monitor (before) at the whole history, quiet."""
    print(f"  the page-load routes before ({args.scan_commit}, a sort over every document):")
    monitor = Monitor("before", settings, args.workers, scan_path)
    try:
        return {"before": page_load_figures(monitor, min(SCAN_REQUESTS, requests), timeout, 300)}
    finally:
        monitor.stop()


def page_load_report(
    figures: dict[str, dict[str, tuple[Sample, dict[str, Any] | None]]], count: int, scan_commit: str
) -> None:
    """Print the page-load routes' table: after against before, measured in the same run, and whether they agree."""
    after, before = figures.get("after", {}), figures.get("before", {})
    print(
        f"\npage-load routes at the whole history ({count:,} predictions), quiet, one client: after (the ledger "
        f"and the tail) against before ({scan_commit}: a sort over every document)"
    )
    header = ("route", "after p50", "after p95", "before p50", "after/before", "same answer", "target", "")
    rows = []
    for route in PAGE_LOAD_ROUTES:
        new_sample, new_answer = after.get(route, (Sample(), None))
        old_sample, old_answer = before.get(route, (Sample(), None))
        same = new_answer is not None and new_answer == old_answer
        ok = same and not new_sample.errors and new_sample.p50 is not None and new_sample.p50 <= 50
        rows.append(
            (
                route,
                fmt(new_sample.p50),
                fmt(new_sample.p95),
                fmt(old_sample.p50),
                f"{new_sample.p50 / old_sample.p50:.2g}" if new_sample.p50 and old_sample.p50 else "-",
                "yes" if same else "NO",
                "<= 50 ms, same",
                "OK" if ok else "MISSED",
            )
        )
    widths = [max(len(r[i]) for r in [*rows, header]) for i in range(len(header))]
    for r in [header, *rows]:
        print(" | ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))


def report(
    new: Figures,
    old: Figures,
    logger_runs: dict[str, dict[str, float]],
    count: int,
    days: int,
    daily: int,
    args: argparse.Namespace,
    requests: int,
    old_requests: int,
    where: str,
) -> None:
    """Print the final table."""

    def verdict(ok: bool | None) -> str:
        return "-" if ok is None else ("OK" if ok else "MISSED")

    def growth(figures: Figures) -> float | None:
        small, full = figures.quiet_p50.get("history/10", {}).get(90), figures.quiet_p50.get("history", {}).get(90)
        return full / small if small and full else None

    rows: list[tuple[str, str, str, str, str, str]] = []

    def row(
        metric: str, new_value: float | None, old_value: float | None, target: str, ok: bool | None, unit: str = "ms"
    ) -> None:
        rows.append(
            (metric, fmt(new_value, unit), fmt(old_value, unit), ratio(new_value, old_value), target, verdict(ok))
        )

    live, old_live = new.live or Sample(), old.live or Sample()
    health, old_health = new.health or Sample(), old.health or Sample()
    live_ok = not live.errors
    row(
        f"/api/metrics 90 d, {args.clients} clients, p50",
        live.p50,
        old_live.p50,
        "<= 50 ms",
        live_ok and live.p50 is not None and live.p50 <= 50,
    )
    row(
        f"/api/metrics 90 d, {args.clients} clients, p95",
        live.p95,
        old_live.p95,
        "<= 150 ms",
        live_ok and live.p95 is not None and live.p95 <= 150,
    )
    row(
        "/healthz p50 at the same time",
        health.p50,
        old_health.p50,
        "<= 20 ms",
        health.p50 is not None and health.p50 <= 20,
    )
    row("/healthz p95 at the same time", health.p95, old_health.p95, "", None)
    for days_ in (7, 30):
        row(
            f"/api/metrics {days_} d, one client, p50, live",
            new.live_single.get(days_, Sample()).p50,
            old.live_single.get(days_, Sample()).p50,
            "",
            None,
        )
    first_new, first_old = new.first_90.get("live"), old.first_90.get("live")
    row(
        "first 90-d answer, fresh monitor (old: after rebuild)",
        first_new,
        first_old,
        "<= 1 s",
        first_new is not None and first_new <= 1000,
    )
    for phase in ("history/10", "history"):
        row(
            f"/api/metrics 90 d, one client, quiet, p50, {phase}",
            new.quiet_p50.get(phase, {}).get(90),
            old.quiet_p50.get(phase, {}).get(90),
            "",
            None,
        )
    g_new, g_old = growth(new), growth(old)
    row("p50 growth for 10x the history (90 d, quiet)", g_new, g_old, "< 1.5x", g_new is not None and g_new < 1.5, "x")
    stopped = new.extra.get("stopped", Sample())
    stopped_4 = new.extra.get("stopped_4", Sample())
    exact_stopped = new.extra.get("stopped_exact")
    row(
        f"logger stopped, {daily:,} unlogged: 90 d p50, one client",
        stopped.p50,
        None,
        "exact; time stated",
        exact_stopped == [] if exact_stopped is not None else None,
    )
    row(f"logger stopped: 90 d p50, {args.clients} clients", stopped_4.p50, None, "", None)
    row(f"logger stopped: 90 d p95, {args.clients} clients", stopped_4.p95, None, "", None)
    rows.append(
        (
            "90 d totals = documents (after final tick)",
            "exact" if new.exact == [] else ("differs" if new.exact else "-"),
            "exact" if old.exact == [] else ("differs" if old.exact else "-"),
            "-",
            "exact",
            verdict(new.exact == [] if new.exact is not None else None),
        )
    )
    rows.append(
        (
            "logger, first load (with adoption scan)",
            fmt(logger_runs.get("history/10", {}).get("rate"), "pred/s"),
            "-",
            "-",
            "",
            "-",
        )
    )
    rows.append(
        (
            "logger, the rest of the history",
            fmt(logger_runs.get("history", {}).get("rate"), "pred/s"),
            "-",
            "-",
            "",
            "-",
        )
    )
    widths = [
        max(len(r[i]) for r in rows + [("metric", "new design", "old design", "new/old", "target", "")])
        for i in range(6)
    ]
    header = ("metric", "new design", "old design", "new/old", "target", "")
    print(
        f"\non {where}: {count:,} predictions over {days} days; writer {args.rate:g} validations/s; "
        f"{len((new.live or Sample()).times):,} new ({args.live_seconds:g} s) / "
        f"{len((old.live or Sample()).times)} old 90-day requests from {args.clients} clients; "
        f"a day's worth = {count:,}/{days} = {daily:,} validations"
    )
    print(" | ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths))))
    print("-+-".join("-" * w for w in widths))
    for r in rows:
        print(" | ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))


if __name__ == "__main__":
    sys.exit(main())
