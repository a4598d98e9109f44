"""/healthz under load: this clara-monitor against an earlier commit's, in the same run, on the same database.

    .venv/bin/python bench/healthz.py [--before c373ccd] [--rounds 2]

Each design runs as a real `clara-monitor --workers 2` (gunicorn). The earlier one is `--before`'s
services, extracted with `git archive` and put first on PYTHONPATH; by default the last commit with
ProbeLaneWorker (a gthread worker patched to give /healthz a thread of its own), against which this
one (documented gthread settings and AppRequestLimit) is compared. Two loads, the ones of
tests/integration/test_monitor_liveness.py: 8 clients asking a year of /api/metrics counted from the
source (no logger has run), and 8 clients asking /api/metrics of a database that is down
(MONITOR_DB_TIMEOUT_MS=2000); meanwhile 40 probes of /healthz, each on a new connection. The designs
alternate, `--rounds` times each. The table gives the probes' p50 and p95 and the slow requests' p50
and count, and after/before.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import uuid
from collections import defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("WHYLOGS_NO_ANALYTICS", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pymongo import MongoClient  # noqa: E402

from bench.sample_load import percentile  # noqa: E402
from clara_common.days import today  # noqa: E402
from clara_common.db import ensure_indexes, predictions  # noqa: E402
from clara_common.embedded import MEMORY, EmbeddedMongo, free_port  # noqa: E402
from clara_monitor.settings import MonitorSettings  # noqa: E402
from clara_seed.generator import SeedPlan, generate  # noqa: E402
from tests.integration.test_monitor_liveness import PER_DAY, SEED_DAYS, probe_under_load  # noqa: E402
from tests.utils.monitor_process import running_monitor  # noqa: E402

BEFORE = "c373ccd"  # the last commit whose monitor ran ProbeLaneWorker
SERVICES = ("common", "logger", "mongo-seed", "monitor")


@contextmanager
def extracted(commit: str) -> Iterator[str]:
    """Extract `commit`'s services into a temporary folder; yield the PYTHONPATH that puts them first."""
    with tempfile.TemporaryDirectory(prefix=f"healthz-{commit}-") as folder:
        command = ["git", "-C", str(ROOT), "archive", commit, "services"]
        archive = subprocess.run(command, check=True, capture_output=True)
        subprocess.run(["tar", "-x", "-C", folder], input=archive.stdout, check=True)
        yield ":".join(f"{folder}/services/{service}" for service in SERVICES)


def measure(env: Mapping[str, str], slow_path: str, log: Path) -> tuple[list[float], list[float]]:
    """Run one monitor with `env` under the load of `slow_path`; return the probes' ms and the slow requests' s."""
    with running_monitor(env, log, workers=2) as server:
        latencies, load = probe_under_load(server, slow_path)
    if load.errors:
        raise RuntimeError(f"slow requests failed: {load.errors[:3]}")
    return latencies, load.seconds


def figures(probe_ms: list[float], slow_seconds: list[float]) -> dict[str, float]:
    """Return the table's figures of one design under one load."""
    return {
        "/healthz p50 ms": round(statistics.median(probe_ms), 2),
        "/healthz p95 ms": round(percentile(probe_ms, 0.95), 2),
        "slow requests p50 s": round(statistics.median(slow_seconds), 2),
        "slow requests answered": float(len(slow_seconds)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=BEFORE, help=f"the commit to compare against (default {BEFORE})")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each design under each load (default 2)")
    args = parser.parse_args()
    probes: dict[tuple[str, str], list[float]] = defaultdict(list)
    slow: dict[tuple[str, str], list[float]] = defaultdict(list)
    with EmbeddedMongo(storage_path=MEMORY) as database, extracted(args.before) as before_path:
        settings = MonitorSettings.from_env({}, MONGODB_URI=database.uri, MONGODB_DB=f"healthz_{uuid.uuid4().hex[:8]}")
        with MongoClient[dict[str, Any]](database.uri) as client:
            ensure_indexes(client, settings)
            plan = SeedPlan(end=today(settings.tz), days=SEED_DAYS, per_day=PER_DAY, seed=11)
            predictions(client, settings).insert_many(list(generate(plan, settings.classes, settings.tz)))
        end = today(settings.tz)
        loads = {
            "a year, 8 clients": (
                {"MONGODB_URI": database.uri, "MONGODB_DB": settings.MONGODB_DB},
                f"/api/metrics?start_date={end - timedelta(days=365)}&end_date={end}",
            ),
            "database down, 8 clients": (
                {"MONGODB_URI": f"mongodb://127.0.0.1:{free_port()}", "MONITOR_DB_TIMEOUT_MS": "2000"},
                "/api/metrics",
            ),
        }
        designs = {"before": {"PYTHONPATH": before_path}, "after": {}}
        for round_ in range(args.rounds):
            for load_name, (env, path) in loads.items():
                for design, extra in designs.items():
                    log = Path(tempfile.gettempdir()) / f"healthz-{design}-monitor.log"
                    latencies, seconds = measure({**env, **extra}, path, log)
                    probes[load_name, design] += latencies
                    slow[load_name, design] += seconds
                    print(f"round {round_ + 1}, {load_name}, {design}: {dict(figures(latencies, seconds))}")
    print(f"\nafter: this working tree; before: {args.before}; {args.rounds} round(s) of 40 probes each")
    print(f"{'load':<26} {'figure':<22} {'after':>10} {'before':>10} {'after/before':>13}")
    for load_name in loads:
        after = figures(probes[load_name, "after"], slow[load_name, "after"])
        before = figures(probes[load_name, "before"], slow[load_name, "before"])
        for figure, value in after.items():
            print(f"{load_name:<26} {figure:<22} {value:10.2f} {before[figure]:10.2f} {value / before[figure]:13.2f}")


if __name__ == "__main__":
    main()
