"""Benchmark /api/metrics against the original CLARA algorithm on the embedded database.

Loads N predictions over D days ending today in two steps: first the newest tenth of the history
(D/10 days), then the rest. After each step it rebuilds the monitor's count cache, starts
`clara-monitor` (gunicorn), and times /api/metrics over 7-, 30- and 90-day windows: the first
(cold) request, which counts the window from the source, then R warm requests (p50 and p95). After
the full load it times the original algorithm on the same windows: fetch every document of the
range, loop per day, scikit-learn. It prints a table with the ratios.

    .venv/bin/python bench/monitor.py                       # 1,000,000 predictions over 365 days
    .venv/bin/python bench/monitor.py --count 20000 --requests 5 --baseline-requests 2   # a quick run
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
from bson import ObjectId
from pymongo import MongoClient
from sklearn.metrics import accuracy_score, precision_recall_fscore_support

from clara_common.db import ensure_indexes, predictions
from clara_common.days import day_start, local_day, today
from clara_common.embedded import EmbeddedMongo, free_port
from clara_common.settings import Settings
from clara_monitor.queries import DayCountCache

WINDOWS = (7, 30, 90)


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


def original_metrics(collection: Any, first: date, last: date, settings: Settings) -> dict[str, Any]:
    """Compute the dashboard's figures the way the original CLARA monitor did: all documents, per day, sklearn."""
    start, end = day_start(first, settings.tz), day_start(last + timedelta(days=1), settings.tz)
    docs = list(
        collection.find({"timestamp_validated": {"$gte": start, "$lt": end}, "output_validated": {"$ne": None}})
    )
    by_day: dict[date, list[dict[str, Any]]] = {}
    for doc in docs:
        by_day.setdefault(local_day(doc["timestamp_validated"], settings.tz), []).append(doc)
    daily = {}
    day = first
    while day <= last:
        of_day = by_day.get(day, [])
        if of_day:
            y_true = [d["output_validated"] for d in of_day]
            y_pred = [d["output_prediction"] for d in of_day]
            p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, average="macro", zero_division=np.nan)
            daily[day.isoformat()] = (p, accuracy_score(y_true, y_pred), r, f)
        day += timedelta(days=1)
    y_true = [d["output_validated"] for d in docs]
    y_pred = [d["output_prediction"] for d in docs]
    overall = precision_recall_fscore_support(y_true, y_pred, average="macro", zero_division=np.nan) if docs else None
    return {"total": len(docs), "overall": overall, "daily": daily}


def timed(call: Callable[[], Any], repeat: int) -> list[float]:
    """Return the wall times of `repeat` calls, in milliseconds."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def get_json(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=600) as answer:
        return json.load(answer)


def start_monitor(settings: Settings, workers: int) -> tuple[subprocess.Popen, str]:
    """Start clara-monitor (gunicorn) against the benchmark database; return it and its base URL."""
    port = free_port()
    env = {**os.environ, "MONGODB_URI": settings.MONGODB_URI, "MONGODB_DB": settings.MONGODB_DB, "LOG_LEVEL": "INFO"}
    command = [
        sys.executable,
        "-m",
        "clara_monitor.cli",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    # The monitor's own log, for when a figure looks wrong.
    log = open(os.path.join(tempfile.gettempdir(), "clara-bench-monitor.log"), "ab")  # noqa: SIM115
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            get_json(f"{base}/healthz")
            return server, base
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("clara-monitor did not start")


def measure_api(base: str, windows: tuple[int, ...], requests: int, current: date) -> dict[int, dict[str, float]]:
    """Return, per window, the cold request time and the warm p50 and p95 of /api/metrics."""
    results = {}
    for days in windows:
        url = f"{base}/api/metrics?start_date={current - timedelta(days=days - 1)}&end_date={current}"
        cold = timed(lambda: get_json(url), 1)[0]
        warm = timed(lambda: get_json(url), requests)
        results[days] = {
            "cold": cold,
            "p50": percentile(warm, 50),
            "p95": percentile(warm, 95),
            "entries": get_json(url)["total_validated"],
        }
        p50, p95 = results[days]["p50"], results[days]["p95"]
        print(f"  /api/metrics {days:>3} days: cold {cold:8.0f} ms, p50 {p50:6.1f} ms, p95 {p95:6.1f} ms")
    return results


def measure_other_routes(base: str, requests: int) -> None:
    """Print the first and the warm answer times of the date-range and training routes."""
    for route in ("/api/date-range", "/api/training-data"):
        first = timed(lambda: get_json(f"{base}{route}"), 1)[0]
        warm = timed(lambda: get_json(f"{base}{route}"), requests)
        print(f"  {route}: first {first:8.0f} ms, p50 {percentile(warm, 50):6.1f} ms")


def measure_live_traffic(base: str, collection: Any, requests: int, current: date, rng: random.Random) -> None:
    """Print /api/metrics over 90 days while reviewers validate and the classifier inserts between requests.

    Each new validation makes the cache recount the days it may have touched (its prediction day
    to today), so this is the price of staying exact under traffic.
    """
    url = f"{base}/api/metrics?start_date={current - timedelta(days=89)}&end_date={current}"
    # Reviewers work on recent predictions: pending ones from the last two days (found through _id_desc).
    recent = {"_id": {"$gt": ObjectId.from_datetime(datetime.now(UTC) - timedelta(days=2))}, "output_validated": None}
    pending = [d["_id"] for d in collection.find(recent, {"_id": 1}).limit(requests * 5)]
    times = []
    for i in range(requests):
        now = datetime.now(UTC)
        for _id in pending[i * 5 : i * 5 + 5]:
            verdict = {"output_validated": rng.randrange(7), "timestamp_validated": now}
            collection.update_one({"_id": _id}, {"$set": verdict})
        fresh = {"output_confidence": 0.5, "output_validated": None, "timestamp": now, "logged": False}
        collection.insert_many(
            [{**fresh, "filename": f"live-{i}-{k}.jpg", "output_prediction": rng.randrange(7)} for k in range(5)]
        )
        times += timed(lambda: get_json(url), 1)
    print(f"  /api/metrics  90 days, 5 validations + 5 inserts before each request: "
          f"p50 {percentile(times, 50):6.0f} ms, p95 {percentile(times, 95):6.0f} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--count", type=int, default=1_000_000, help="predictions in the full history (default 1,000,000)"
    )
    parser.add_argument("--days", type=int, default=365, help="days of history (default 365)")
    parser.add_argument("--requests", type=int, default=20, help="warm /api/metrics requests per window (default 20)")
    parser.add_argument(
        "--baseline-requests", type=int, default=5, help="runs of the original algorithm per window (default 5)"
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--uri", default=None, help="a MongoDB to use instead of a fresh embedded one")
    args = parser.parse_args(argv)

    server = None if args.uri else EmbeddedMongo().start()
    uri = args.uri or server.uri
    settings = Settings.from_env({}, MONGODB_URI=uri, MONGODB_DB=f"bench_monitor_{int(time.time())}")
    client = MongoClient(uri, tz_aware=True)
    collection = predictions(client, settings)
    ensure_indexes(client, settings)
    cache = DayCountCache(collection, client[settings.MONGODB_DB], settings.classes, settings.TIMEZONE, settings.tz)
    cache.ensure_index()
    now = datetime.now(UTC)
    current = today(settings.tz)
    rng = random.Random(1)
    first_day = current - timedelta(days=args.days - 1)
    recent_days = max(1, args.days // 10)
    recent_count = args.count // 10
    print(f"CLARA Monitor benchmark: {args.count:,} predictions over {args.days} days, "
          f"{args.requests} warm requests per window")
    phases: dict[str, dict[int, dict[str, float]]] = {}
    try:
        for name, first, days, count in (
            ("history/10", current - timedelta(days=recent_days - 1), recent_days, recent_count),
            ("history", first_day, args.days - recent_days, args.count - recent_count),
        ):
            print(f"loading {count:,} predictions ({name}) ...")
            started = time.perf_counter()
            load(collection, generate(first, days, count, len(settings.classes), rng, now))
            print(f"  in {time.perf_counter() - started:.0f} s")
            # The history is loaded with historical _ids, which the watermark does not see: rebuild, as documented.
            cache.rebuild()
            monitor, base = start_monitor(settings, args.workers)
            try:
                print(f"/api/metrics with {collection.estimated_document_count():,} predictions stored:")
                phases[name] = measure_api(base, WINDOWS, args.requests, current)
                if name == "history":
                    for extra in (lambda: measure_other_routes(base, 5),
                                  lambda: measure_live_traffic(base, collection, min(args.requests, 10), current, rng)):
                        try:
                            extra()
                        except urllib.error.HTTPError as exc:
                            print(f"  failed: {exc} {exc.read().decode()[:300]}")
            finally:
                monitor.terminate()
                monitor.wait(30)
        print("original algorithm (fetch the range, loop per day, scikit-learn):")
        baseline = {}
        for days in WINDOWS:
            window_first = current - timedelta(days=days - 1)
            runs = timed(lambda: original_metrics(collection, window_first, current, settings), args.baseline_requests)
            baseline[days] = {"p50": percentile(runs, 50), "p95": percentile(runs, 95)}
            print(f"  {days:>3} days: p50 {baseline[days]['p50']:8.0f} ms, p95 {baseline[days]['p95']:8.0f} ms")
    finally:
        client.close()
        if server is not None:
            server.stop()

    full, small = phases["history"], phases["history/10"]
    print()
    print(
        f"{'window':>7} | {'validated':>9} | {'cold ms':>8} | {'p50 ms':>7} | {'p95 ms':>7} | {'original p50':>12} | "
        f"{'speed-up':>8} | {'p50 at history/10':>17} | {'growth':>6}"
    )
    print("-" * 113)
    for days in WINDOWS:
        speedup = baseline[days]["p50"] / full[days]["p50"]
        growth = full[days]["p50"] / small[days]["p50"]
        row = full[days]
        print(
            f"{days:>5} d | {int(row['entries']):>9,} | {row['cold']:>8.0f} | {row['p50']:>7.1f} | "
            f"{row['p95']:>7.1f} | {baseline[days]['p50']:>10.0f} ms | {speedup:>7.0f}x | "
            f"{small[days]['p50']:>14.1f} ms | {growth:>5.2f}x"
        )
    ninety = full[90]
    print()
    speedup, growth = baseline[90]["p50"] / ninety["p50"], ninety["p50"] / small[90]["p50"]
    verdict = lambda ok: "OK" if ok else "MISSED"  # noqa: E731
    print(
        f"targets: 90-day p50 <= 300 ms: {ninety['p50']:.1f} ms {verdict(ninety['p50'] <= 300)}; "
        f">= 30x the original: {speedup:.0f}x {verdict(speedup >= 30)}; "
        f"growth < 1.5x with 10x history: {growth:.2f}x {verdict(growth < 1.5)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
