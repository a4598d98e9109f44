"""GET /metrics: the monitor's figures in Prometheus' text format, for the windows 1d, 7d and 30d, and open incidents.

A window of N days is the last N local days of TIMEZONE, today included: 7d is /api/metrics' default
range, and every figure of a window equals /api/metrics' for that range (same read, same metric code).
One read of the 30 days serves the three windows: its counts are per day, so a window is a slice.

    clara_accuracy, clara_precision, clara_recall, clara_f1 {window}        macro, as /api/metrics
    clara_class_precision, clara_class_recall, clara_class_f1 {class, window}
    clara_validated_predictions {window}     /api/metrics' total_validated (days of validation)
    clara_unreviewed_predictions {window}    predictions made in the window with no review (below)
    clara_estimated_accuracy {window="1d"}   expected accuracy of today's unreviewed predictions, as
                                             /api/estimated-performance's estimate for today
    clara_invalid_records {window}           /api/metrics' invalid_records
    clara_drift_p_value, clara_drift_statistic, clara_drift_detected {feature, algorithm}
    clara_drift_day_timestamp_seconds        start of the day those drift results are of
    clara_open_incidents {kind, metric, class}  open incidents of logger_alerts (class "" for the whole
                                             model); a combination with none is left out
    clara_logger_backlog                     /api/status' backlog (the whole collection's)
    clara_logger_last_tick_timestamp_seconds when the logger last finished a tick

An undefined value (null in the JSON: a metric of a window without the predictions it needs, a drift
result under DRIFT_MIN_SAMPLES, no tick yet) is left out of the exposition, never written as 0.
Each request builds its own registry: nothing is kept between requests.

The unreviewed predictions and their estimate come from the logger's summary (clara_common/unreviewed.py)
as of its last refresh, as /api/estimated-performance's do: quicker than counting them from the predictions
(bench/estimate.py, docs/benchmarks.md). Without a logger's summary they
are counted from the predictions (`unreviewed_by_day`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import polars as pl
from flask import Blueprint, Response
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from pymongo.collection import Collection
from pymongo.database import Database

from clara_common import unreviewed as unreviewed_summary
from clara_common.contract import ContractError, parse_timestamp
from clara_common.days import day_start, local_day, range_bounds, today
from clara_common.db import Document, find_once
from clara_common.ledger import ALERTS_COLLECTION, HISTORY_COLLECTION
from clara_common.ledger.drift import FEATURES
from clara_common.ledger.state import read_state
from clara_common.metrics import class_scores, summary
from clara_common.settings import CommonSettings
from clara_monitor import incidents
from clara_monitor.accuracy_estimates import fitted_map, unreviewed_estimates
from clara_monitor.context import monitor_context
from clara_monitor.ledger_status import status
from clara_monitor.range_counts import history_day
from clara_monitor.settings import MonitorSettings
from clara_monitor.tail import time_queries

if TYPE_CHECKING:
    from clara_monitor.context import MonitorContext

bp = Blueprint("prometheus", __name__)

# Window label -> its number of local days, today included.
WINDOWS = {"1d": 1, "7d": 7, "30d": 30}
AVERAGE = "macro"  # /api/metrics' default
# The logger's drift categories that say something; insufficient_data and in_reference leave it undefined.
DRIFT_DETECTED = {"drift": 1.0, "no_drift": 0.0}
# The classic text format (what generate_latest writes for these names), which every Prometheus reads.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# One sample of a family: its label values and its value (None: undefined, left out).
Sample = tuple[tuple[str, ...], float | None]


@dataclass(frozen=True)
class Gauge:
    """One gauge family: its name, help text and label names."""

    name: str
    documentation: str
    labels: tuple[str, ...] = ()

    def family(self, samples: Iterable[Sample]) -> GaugeMetricFamily:
        """Return the family with its samples; a None value is undefined and left out."""
        family = GaugeMetricFamily(self.name, self.documentation, labels=list(self.labels))
        for labels, value in samples:
            if value is not None:
                family.add_metric(list(labels), float(value))
        return family


SCORES = {
    "accuracy": Gauge(
        "clara_accuracy",
        "Accuracy of the predictions validated in the window (local days of timestamp_validated, today included)",
        ("window",),
    ),
    "precision": Gauge(
        "clara_precision", "Macro-averaged precision over the classes present in the window", ("window",)
    ),
    "recall": Gauge("clara_recall", "Macro-averaged recall over the classes present in the window", ("window",)),
    "f1": Gauge("clara_f1", "Macro-averaged F1 over the classes present in the window", ("window",)),
}
CLASS_SCORES = {
    score: Gauge(f"clara_class_{score}", f"{score.capitalize()} of one class in the window", ("class", "window"))
    for score in ("precision", "recall", "f1")
}
VALIDATED = Gauge("clara_validated_predictions", "Predictions validated in the window", ("window",))
UNREVIEWED = Gauge(
    "clara_unreviewed_predictions",
    "Predictions made in the window (local day of timestamp) with neither a verdict nor a validation time",
    ("window",),
)
ESTIMATED_ACCURACY = Gauge(
    "clara_estimated_accuracy",
    "Expected accuracy of the predictions made today and not reviewed yet (the logger's "
    "summary as of its last tick, calibrated on ESTIMATE_CALIBRATION_DAYS days of reviews)",
    ("window",),
)
INVALID = Gauge("clara_invalid_records", "Documents of the window that break the record contract", ("window",))
DRIFT_P_VALUE = Gauge(
    "clara_drift_p_value",
    "Drift p-value of the latest day before today with drift results (chi-square, ks; none for hellinger)",
    ("feature", "algorithm"),
)
DRIFT_STATISTIC = Gauge(
    "clara_drift_statistic",
    "Drift statistic of that day: chi-square, KS distance or Hellinger distance",
    ("feature", "algorithm"),
)
DRIFT_DETECTED_GAUGE = Gauge(
    "clara_drift_detected",
    "1 when the logger found drift on that day, 0 when not "
    "(absent under DRIFT_MIN_SAMPLES or inside the reference window)",
    ("feature", "algorithm"),
)
DRIFT_DAY = Gauge("clara_drift_day_timestamp_seconds", "Start of the local day the drift results are of")
OPEN_INCIDENTS = Gauge(
    "clara_open_incidents",
    "Open incidents: performance, traffic, and drift notices (docs/signal.md); class is empty for the whole model",
    ("kind", "metric", "class"),
)
BACKLOG = Gauge("clara_logger_backlog", "Validated predictions the logger has not logged yet")
LAST_TICK = Gauge("clara_logger_last_tick_timestamp_seconds", "When the logger last finished a tick")


class Families(Collector):
    """A collector of families computed beforehand (for one request's registry)."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterator[Metric]:
        return iter(self.families)


def window_starts(current: date) -> dict[str, str]:
    """Return each window's first local day (ISO), given today."""
    return {name: (current - timedelta(days=days - 1)).isoformat() for name, days in WINDOWS.items()}


def window_families(
    counts: pl.DataFrame,
    invalid: dict[str, int],
    unreviewed: dict[str, int],
    starts: dict[str, str],
    class_names: dict[int, str],
) -> list[Metric]:
    """Return the windows' metric, count and per-class families from per-day counts of the longest window."""
    scores: dict[str, list[Sample]] = {name: [] for name in SCORES}
    per_class: dict[str, list[Sample]] = {name: [] for name in CLASS_SCORES}
    validated, unreviewed_samples, invalid_samples = [], [], []
    for window, first in starts.items():
        in_window = counts.filter(pl.col("day") >= first)
        overall = summary(in_window, AVERAGE)
        for name in SCORES:
            scores[name].append(((window,), overall[name]))
        by_class = class_scores(in_window)
        for class_id, name in class_names.items():
            for score in CLASS_SCORES:
                per_class[score].append(((name, window), by_class.get(class_id, {}).get(score)))
        validated.append(((window,), overall["entries"]))
        unreviewed_samples.append(((window,), sum(n for day, n in unreviewed.items() if day >= first)))
        invalid_samples.append(((window,), sum(n for day, n in invalid.items() if day >= first)))
    return [
        *(SCORES[name].family(samples) for name, samples in scores.items()),
        *(CLASS_SCORES[name].family(samples) for name, samples in per_class.items()),
        VALIDATED.family(validated),
        UNREVIEWED.family(unreviewed_samples),
        INVALID.family(invalid_samples),
    ]


def unreviewed_by_day(
    predictions: Collection[Document], first: date, last: date, settings: CommonSettings
) -> dict[str, int]:
    """Return, per local day of prediction time, the predictions with neither a verdict nor a validation time.

    Found through the (timestamp_validated, timestamp) index: null validation time, prediction time in
    the range (BSON dates exactly, ISO strings widened by a day and read here as the contract reads them).
    A prediction whose verdict was withdrawn but whose validation time was kept is not counted.
    """
    start, end = range_bounds(first, last, settings.tz)
    queries = time_queries("timestamp", start, end, {"timestamp_validated": None})
    found: Counter[str] = Counter()
    for doc in find_once(predictions, queries, {"timestamp": 1, "output_validated": 1}):
        if doc.get("output_validated") is not None:
            continue  # a verdict without its validation time: an invalid review, counted as such
        try:
            day = local_day(parse_timestamp(doc.get("timestamp"), "timestamp", settings.tz), settings.tz)
        except ContractError:
            continue
        if first <= day <= last:
            found[day.isoformat()] += 1
    return dict(found)


def unreviewed_counts(
    context: MonitorContext, first: date, last: date, settings: CommonSettings, ledger: dict[str, Any] | None
) -> dict[str, int]:
    """Return, per local day of prediction, the unreviewed predictions: the logger's summary, else the predictions."""
    if unreviewed_summary.summary_as_of(ledger) is None:
        return unreviewed_by_day(context.predictions, first, last, settings)
    return {
        day: doc.get("unreviewed", 0)
        for day, doc in unreviewed_summary.summary_days(context.database, first, last).items()
    }


def estimated_today(
    context: MonitorContext, current: date, settings: MonitorSettings, ledger: dict[str, Any] | None
) -> float | None:
    """Return the expected accuracy of today's unreviewed predictions (None: none), as /api/estimated-performance."""
    fitted, _, _ = fitted_map(context.database, settings, current)
    found = unreviewed_estimates(context.database, context.predictions, fitted, current, current, settings, ledger)
    band = found.days.get(current.isoformat(), (0, None))[1]
    return band.estimate if band is not None else None


def latest_drift(
    database: Database[Document], current: date, days: dict[str, dict[str, Any]]
) -> tuple[str, dict[str, Any]] | None:
    """Return the latest day before `current` that has stored drift results, with them (None: no such day).

    Looked up first in `days` (the history records a range read returned, as /api/drift reads them),
    then in the whole history.
    """
    for day in sorted(days, reverse=True):
        if day < current.isoformat() and days[day].get("drift"):
            return day, days[day]["drift"]
    record = database[HISTORY_COLLECTION].find_one(
        {"_id": {"$lt": current.isoformat()}, "drift": {"$exists": True}}, {"drift": 1}, sort=[("_id", -1)]
    )
    drift = history_day(record).get("drift") if record is not None else None
    return (record["_id"], drift) if record is not None and drift else None


def drift_families(latest: tuple[str, dict[str, Any]] | None, settings: CommonSettings) -> list[Metric]:
    """Return the drift families of the latest day with drift results (empty families when there is none)."""
    p_values, statistics, detected, day = [], [], [], []
    if latest is not None:
        stored_day, drift = latest
        day.append(((), day_start(date.fromisoformat(stored_day), settings.tz).timestamp()))
        for feature in FEATURES:
            result = drift.get(feature)
            if not result:
                continue
            labels = (feature, str(result.get("algorithm")))
            p_values.append((labels, result.get("p_value")))
            statistics.append((labels, result.get("statistic")))
            detected.append((labels, DRIFT_DETECTED.get(result.get("category"))))
    return [
        DRIFT_P_VALUE.family(p_values),
        DRIFT_STATISTIC.family(statistics),
        DRIFT_DETECTED_GAUGE.family(detected),
        DRIFT_DAY.family(day),
    ]


def open_incidents(collection: Collection[Document]) -> Counter[tuple[str, str, str]]:
    """Return how many incidents are open, by (kind, metric, class name or ""); a malformed document is left out."""
    found: Counter[tuple[str, str, str]] = Counter()
    for document in collection.find({"status": "open"}, {"kind": 1, "metric": 1, "class": 1, "status": 1}):
        kind, metric, name = document.get("kind"), document.get("metric"), document.get("class")
        if (
            document.get("status") == "open"
            and kind in incidents.KINDS
            and isinstance(metric, str)
            and (name is None or isinstance(name, str))
        ):
            found[(kind, metric, name or "")] += 1
    return found


def logger_families(ledger: dict[str, Any]) -> list[Metric]:
    """Return the logger's backlog and last tick from /api/status' answer."""
    last_tick = ledger.get("last_tick_at")
    return [
        BACKLOG.family([((), ledger["backlog"])]),
        LAST_TICK.family([((), datetime.fromisoformat(last_tick).timestamp() if last_tick else None)]),
    ]


@bp.get("/metrics")
def metrics() -> Response:
    """Return the figures of the windows 1d, 7d and 30d, drift and the logger's state, for Prometheus."""
    context = monitor_context()
    settings = context.settings
    current = today(settings.tz)
    starts = window_starts(current)
    first = date.fromisoformat(min(starts.values()))
    read = context.read_range(first, current)
    ledger = read_state(context.database)
    unreviewed = unreviewed_counts(context, first, current, settings, ledger)
    families = [
        ESTIMATED_ACCURACY.family([(("1d",), estimated_today(context, current, settings, ledger))]),
        *window_families(
            read.counts, read.invalid, unreviewed, starts, {c.id: c.name for c in settings.classes.classes}
        ),
        *drift_families(latest_drift(context.database, current, read.days), settings),
        OPEN_INCIDENTS.family(open_incidents(context.database[ALERTS_COLLECTION]).items()),
        *logger_families(status(context.database, context.predictions, settings)),
    ]
    registry = CollectorRegistry(auto_describe=False)
    registry.register(Families(families))
    return Response(generate_latest(registry), content_type=CONTENT_TYPE)
