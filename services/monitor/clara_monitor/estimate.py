"""Calibration and estimated accuracy before review: two routes served from the logger's history.

    GET /api/calibration             reliability diagram and ECE of a range (history days of validation)
    GET /api/estimated-performance   per day of prediction, the expected accuracy of the predictions not
                                     reviewed yet, with a 90% band, beside the realised accuracy

Both read the history's `calibration` tables (clara_common/calibration.py has the arithmetic): they
answer as of the logger's last tick (`as_of`), without the not-yet-logged tail. A history day written
before the tables existed has none until `clara-logger --reconcile` recounts it: such days are listed
in `days_without_bins` and left out, never guessed. The unreviewed predictions are read from the
predictions collection through the (timestamp_validated, timestamp) index and judged by the record
contract (`parse_prediction`).

The unreviewed predictions come from the logger's summary (`logger_unreviewed`, clara_common/unreviewed.py:
per day of prediction, per class and confidence bin, n, Σ confidence and Σ confidence²), as of its
last refresh (`unreviewed_as_of`): predictions made, or reviewed, since then are not in it. The map is
linear in confidence within a bin, so Σp = a·n + b·Σc and Σp² = a²n + 2ab·Σc + b²·Σc² per bin give the
same estimate and Poisson-binomial variance as a sum over the predictions. Where no logger has written
a summary (`unreviewed_source: "predictions"`), the predictions themselves are read at the request,
one by one: the reference computation, slower as they grow (see docs/benchmarks.md).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue
from pymongo.collection import Collection
from pymongo.database import Database

from clara_common import calibration, unreviewed
from clara_common.contract import Rejection, parse_prediction
from clara_common.days import days_between, local_day, range_bounds, today
from clara_common.db import Document, find_once
from clara_common.ledger import HISTORY_COLLECTION, JUDGED_FIELDS
from clara_monitor import monitor_context
from clara_monitor.api import requested_range
from clara_monitor.reader import check_timezone, read_state, time_queries
from clara_monitor.settings import MonitorSettings

bp = Blueprint("estimate", __name__)

HISTORY_FIELDS = {"count": 1, "confusion": 1, "confidence_missing": 1, "calibration": 1}
SOURCE_NOTE = (
    "served from the logger's history as of its last tick (as_of): predictions validated since are not included"
)
UNREVIEWED_NOTE = {
    "summary": "the unreviewed predictions are the logger's summary as of unreviewed_as_of: predictions made or "
    "reviewed since are not included",
    "predictions": "no logger has written the unreviewed summary yet: the unreviewed predictions were read from "
    "the predictions collection at this request",
}


def history_days(database: Database[Document], first: date, last: date) -> list[dict[str, Any]]:
    """Return the history's count fields of local days `first` to `last`, oldest first."""
    # The days by name, on every request of two routes with a 100 ms target. MongoDB reads the same _id
    # keys for `$in` as for a range; the embedded database reads every day for a range (bench/query_shapes.py,
    # 90 of 365 days: 26 to 31 ms by name, 36 to 38 ms as a range; at 1,000,000 predictions 28 against 63 ms).
    query = {"_id": {"$in": [day.isoformat() for day in days_between(first, last)]}}
    return list(database[HISTORY_COLLECTION].find(query, HISTORY_FIELDS, sort=[("_id", 1)]))


def has_bins(day: dict[str, Any]) -> bool:
    return isinstance(day.get("calibration"), dict)


def without_bins(days: Iterable[dict[str, Any]]) -> list[str]:
    """Return the days with validated predictions but no calibration table (written before it existed)."""
    return [day["_id"] for day in days if not has_bins(day) and day.get("count", 0)]


def ledger_state(database: Database[Document], settings: MonitorSettings) -> dict[str, Any] | None:
    """Return the ledger's state document (None: no logger has run), refusing a history of another time zone."""
    ledger = read_state(database)
    check_timezone(ledger, settings)
    return ledger


def tick_finished(ledger: Mapping[str, Any] | None) -> str | None:
    """Return when the logger last finished a tick (None: never)."""
    finished = ((ledger or {}).get("last_tick") or {}).get("finished_at")
    return finished.isoformat() if isinstance(finished, datetime) else None


def ledger_as_of(database: Database[Document], settings: MonitorSettings) -> str | None:
    """Return when the logger last finished a tick (None: never), refusing a history of another time zone."""
    return tick_finished(ledger_state(database, settings))


@bp.get("/api/calibration")
def calibration_curve() -> ResponseReturnValue:
    """Return a range's reliability diagram: per confidence bin its count, mean confidence and accuracy; and the ECE."""
    context = monitor_context()
    settings = context.settings
    start, end = requested_range(request.args, today(settings.tz))
    as_of = ledger_as_of(context.database, settings)
    days = history_days(context.database, start, end)
    binned = [day for day in days if has_bins(day)]
    bins = calibration.pooled(calibration.sum_tables(day["calibration"] for day in binned))
    missing = without_bins(days)
    return jsonify(
        start_date=start.isoformat(),
        end_date=end.isoformat(),
        timezone=settings.TIMEZONE,
        bins=calibration.reliability(bins),
        ece=calibration.expected_calibration_error(bins),
        with_confidence=sum(cell[0] for cell in bins),
        without_confidence=sum(day.get("confidence_missing", 0) for day in binned),
        days_without_bins=missing,
        validated_without_bins=sum(day.get("count", 0) for day in days if day["_id"] in missing),
        as_of=as_of,
        source=SOURCE_NOTE,
    )


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


def realised(day: dict[str, Any] | None) -> tuple[float | None, int]:
    """Return a history day's accuracy (None without validated predictions) and its validated count."""
    if not day or not day.get("count"):
        return None, 0
    confusion = day.get("confusion") or {}
    correct = sum(row.get(true, 0) for true, row in confusion.items())
    return correct / day["count"], day["count"]


def estimated(count: int, band: calibration.Band | None) -> dict[str, Any]:
    """Return how many predictions await review, their expected accuracy and its band (None: no predictions)."""
    return {
        "unreviewed": count,
        "estimated_accuracy": band.estimate if band else None,
        "lower": band.lower if band else None,
        "upper": band.upper if band else None,
    }


@bp.get("/api/estimated-performance")
def estimated_performance() -> ResponseReturnValue:
    """Return, per day of prediction and over the range, the expected accuracy of unreviewed predictions and its band.

    The band is 90% (band_level); the range's `total` is computed from all its predictions together.
    """
    context = monitor_context()
    settings = context.settings
    current = today(settings.tz)
    start, end = requested_range(request.args, current)
    ledger = ledger_state(context.database, settings)
    window_first = current - timedelta(days=settings.ESTIMATE_CALIBRATION_DAYS - 1)
    if start <= current + timedelta(days=1) and end >= window_first - timedelta(days=1):
        # The range meets the calibration window (the usual case: both end today): one read of the history.
        read = history_days(context.database, min(start, window_first), max(end, current))
        fitted, window_first, window = fitted_map(context.database, settings, current, read)
        history = {day["_id"]: day for day in read if start.isoformat() <= day["_id"] <= end.isoformat()}
    else:
        fitted, window_first, window = fitted_map(context.database, settings, current)
        history = {day["_id"]: day for day in history_days(context.database, start, end)}
    found = unreviewed_estimates(context.database, context.predictions, fitted, start, end, settings, ledger)
    answer_days = []
    for day in days_between(start, end):
        name = day.isoformat()
        accuracy, validated = realised(history.get(name))
        answer_days.append(
            {
                "day": name,
                **estimated(*found.days.get(name, (0, None))),
                "realised_accuracy": accuracy,
                "validated": validated,
            }
        )
    return jsonify(
        start_date=start.isoformat(),
        end_date=end.isoformat(),
        timezone=settings.TIMEZONE,
        days=answer_days,
        total=estimated(*found.total),
        calibration_window={
            "start_date": window_first.isoformat(),
            "end_date": current.isoformat(),
            "days": settings.ESTIMATE_CALIBRATION_DAYS,
            "validated_with_confidence": fitted.validated,
            "days_without_bins": without_bins(window),
        },
        band_level=calibration.BAND_LEVEL,
        invalid_unreviewed=found.invalid,
        as_of=tick_finished(ledger),
        unreviewed_as_of=found.as_of,
        unreviewed_source=found.source,
        source=f"{SOURCE_NOTE}; {UNREVIEWED_NOTE[found.source]}",
    )
