"""The expected accuracy of the predictions not reviewed yet, from a calibration map fitted on the logger's history.

/api/estimated-performance (estimate.py) and /metrics (prometheus.py) answer from these. The map is fitted on
the history days' `calibration` tables; the unreviewed predictions come from the logger's summary
(clara_common/unreviewed.py), else are read from the predictions collection at the request.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from pymongo.collection import Collection
from pymongo.database import Database

from clara_common import calibration, unreviewed
from clara_common.contract import Rejection, parse_prediction
from clara_common.days import days_between, local_day, range_bounds
from clara_common.db import Document, find_once
from clara_common.ledger import HISTORY_COLLECTION, JUDGED_FIELDS
from clara_monitor.range_counts import history_day
from clara_monitor.settings import MonitorSettings
from clara_monitor.tail import time_queries

HISTORY_FIELDS = {"count": 1, "confusion": 1, "confidence_missing": 1, "calibration": 1}


def history_days(database: Database[Document], first: date, last: date) -> list[dict[str, Any]]:
    """Return the history's count fields of local days `first` to `last`, oldest first."""
    # The days by name, on every request of two routes. MongoDB reads the same _id keys for `$in` as for a
    # range; the embedded database reads every day for a range (bench/query_shapes.py, docs/benchmarks.md).
    query = {"_id": {"$in": [day.isoformat() for day in days_between(first, last)]}}
    return [history_day(r) for r in database[HISTORY_COLLECTION].find(query, HISTORY_FIELDS, sort=[("_id", 1)])]


def has_bins(day: dict[str, Any]) -> bool:
    return isinstance(day.get("calibration"), dict)


def calibration_map(days: Iterable[dict[str, Any]]) -> calibration.CalibrationMap:
    """Return the calibration map fitted on history days (their tables, and their confusion for class precision)."""
    days = list(days)
    confusion: dict[str, dict[str, int]] = {}
    for day in days:
        for true, row in (day.get("confusion") or {}).items():
            target = confusion.setdefault(true, {})
            for predicted, count in row.items():
                target[predicted] = target.get(predicted, 0) + count
    table = calibration.sum_tables(day["calibration"] for day in days if has_bins(day))
    return calibration.CalibrationMap(table, calibration.precision_counts(confusion))


def unreviewed_cells(
    predictions: Collection[Document], first: date, last: date, settings: MonitorSettings
) -> tuple[dict[str, Counter[tuple[int, float | None]]], int]:
    """Return, per local day of prediction time, the unreviewed predictions counted by (predicted class, confidence).

    The confidence is None for a prediction without one. Found through the (timestamp_validated,
    timestamp) index: no validation time, prediction time in the range (BSON dates exactly, ISO strings
    widened by a day, then read as the contract reads them). Also returns how many broke the contract.
    """
    start, end = range_bounds(first, last, settings.tz)
    queries = time_queries("timestamp", start, end, {"timestamp_validated": None})
    cells: dict[str, Counter[tuple[int, float | None]]] = {}
    invalid = 0
    for doc in find_once(predictions, queries, {name: 1 for name in JUDGED_FIELDS}):
        parsed = parse_prediction(doc, settings.classes, settings.tz)
        if isinstance(parsed, Rejection):
            invalid += 1
            continue
        if parsed.is_validated:
            continue
        day = local_day(parsed.timestamp, settings.tz)
        if first <= day <= last:
            key = (parsed.predicted_class, parsed.confidence)
            cells.setdefault(day.isoformat(), Counter())[key] += 1
    return cells, invalid


@dataclass(frozen=True)
class Unreviewed:
    """A range's unreviewed predictions under a calibration map: per day how many and their band, and the range's.

    The range's band is computed from every day's groups together, as a day's is from its own: the
    predictions that lean on one posterior of the map share its uncertainty across days too.
    """

    days: dict[str, tuple[int, calibration.Band | None]]
    total: tuple[int, calibration.Band | None]
    invalid: int
    as_of: str | None  # when the logger's summary read them; None: read from the predictions at the request
    source: str  # "summary" or "predictions"


def unreviewed_estimates(
    database: Database[Document],
    predictions: Collection[Document],
    fitted: calibration.CalibrationMap,
    first: date,
    last: date,
    settings: MonitorSettings,
    ledger: Mapping[str, Any] | None,
) -> Unreviewed:
    """Return the expected accuracy of the unreviewed predictions, per day and over the range.

    From the logger's summary, else a recount of the predictions.
    """
    as_of = unreviewed.summary_as_of(ledger)
    if as_of is None:
        cells, invalid = unreviewed_cells(predictions, first, last, settings)
        probabilities = {
            day: [(fitted.probability(predicted, confidence), n) for (predicted, confidence), n in counts.items()]
            for day, counts in cells.items()
        }
        return Unreviewed(
            {day: (sum(cells[day].values()), calibration.accuracy_band(pairs)) for day, pairs in probabilities.items()},
            (
                sum(sum(counts.values()) for counts in cells.values()),
                calibration.accuracy_band(pair for pairs in probabilities.values() for pair in pairs),
            ),
            invalid,
            None,
            "predictions",
        )
    documents = unreviewed.summary_days(database, first, last)
    sums = {day: unreviewed.day_sums(fitted, doc) for day, doc in documents.items()}
    return Unreviewed(
        {day: (doc.get("unreviewed", 0), calibration.band_of_sums(sums[day])) for day, doc in documents.items()},
        (
            sum(doc.get("unreviewed", 0) for doc in documents.values()),
            calibration.band_of_sums(group for groups in sums.values() for group in groups),
        ),
        sum(doc.get("invalid", 0) for doc in documents.values()),
        as_of.isoformat(),
        "summary",
    )


def fitted_map(
    database: Database[Document], settings: MonitorSettings, current: date, days: list[dict[str, Any]] | None = None
) -> tuple[calibration.CalibrationMap, date, list[dict[str, Any]]]:
    """Return the calibration map of the last ESTIMATE_CALIBRATION_DAYS history days, its first day and those days.

    `days`: history days read already that cover the window (else they are read here).
    """
    window_first = current - timedelta(days=settings.ESTIMATE_CALIBRATION_DAYS - 1)
    if days is None:
        window = history_days(database, window_first, current)
    else:
        window = [day for day in days if window_first.isoformat() <= day["_id"] <= current.isoformat()]
    return calibration_map(window), window_first, window
