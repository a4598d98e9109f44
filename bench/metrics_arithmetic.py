"""Time the metrics arithmetic of one /api/metrics answer: this tree's clara_common.metrics beside a baseline's.

The baseline is the last polars implementation (commit 7474796), read with `git show` into a module of
its own; both get the same confusion-count table (--days days of --per-day random validations over the
seven classes, legacy rejections included) and must give the same answer. Prints the mean time per
answer (summary, daily summaries, class scores, true-class totals) of each and the ratio.

    .venv/bin/python bench/metrics_arithmetic.py
    .venv/bin/python bench/metrics_arithmetic.py --days 365 --baseline <commit>
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import random
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import polars as pl

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "services" / "common"))

from clara_common import metrics  # noqa: E402
from clara_common.contract import REJECTED_TRUE_CLASS  # noqa: E402

BASELINE = "7474796"


def baseline_module(commit: str) -> ModuleType:
    source = subprocess.run(
        ["git", "-C", str(REPO), "show", f"{commit}:services/common/clara_common/metrics.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = Path(tempfile.mkdtemp(prefix="clara-metrics-baseline-")) / "baseline_metrics.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("baseline_metrics", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def counts_table(days: int, per_day: int, rng: random.Random) -> tuple[pl.DataFrame, list[str]]:
    cells: dict[tuple[str, int, int], int] = {}
    names = [(date(2026, 1, 1) + timedelta(days=d)).isoformat() for d in range(days)]
    for day in names:
        for _ in range(per_day):
            predicted = rng.randrange(7)
            true = predicted if rng.random() < 0.8 else rng.choice([REJECTED_TRUE_CLASS, *range(7)])
            cells[(day, true, predicted)] = cells.get((day, true, predicted), 0) + 1
    rows = [(*cell, n) for cell, n in cells.items()]
    return pl.DataFrame(rows, schema=metrics.COUNT_SCHEMA, orient="row"), names


def answer(module: ModuleType, counts: pl.DataFrame, days: list[str], average: str) -> dict[str, Any]:
    return {
        "summary": module.summary(counts, average),
        "daily": module.daily_summaries(counts, days, average),
        "classes": module.class_scores(counts),
        "totals": module.true_class_totals(counts),
    }


def same(a: Any, b: Any) -> bool:
    """Equal, floats to 1e-12 (the two sum in different orders)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
    return bool(a == b)


def mean_ms(module: ModuleType, counts: pl.DataFrame, days: list[str], average: str, repeats: int) -> float:
    answer(module, counts, days, average)  # warm
    started = time.perf_counter()
    for _ in range(repeats):
        answer(module, counts, days, average)
    return (time.perf_counter() - started) / repeats * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--per-day", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--baseline", default=BASELINE, help=f"the baseline commit (default {BASELINE})")
    args = parser.parse_args()
    baseline = baseline_module(args.baseline)
    counts, days = counts_table(args.days, args.per_day, random.Random(1))
    print(f"{args.days} days, {counts.height:,} confusion cells; baseline {args.baseline}")
    for average in metrics.AVERAGES:
        if not same(answer(metrics, counts, days, average), answer(baseline, counts, days, average)):
            print(f"  {average}: the answers DIFFER")
            return 1
        now = mean_ms(metrics, counts, days, average, args.repeats)
        before = mean_ms(baseline, counts, days, average, args.repeats)
        print(f"  {average:8s}: this tree {now:6.2f} ms, baseline {before:6.2f} ms, ratio {now / before:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
