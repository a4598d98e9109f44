"""The traffic summary: per local day, the predictions made and the reviews written, by hour.

The logger writes it (clara_logger/traffic.py), the monitor reads it (`/api/traffic`).

One document per local day (TIMEZONE) in `logger_traffic` (TRAFFIC_COLLECTION):

    {_id: "YYYY-MM-DD",
     as_of:       when the logger began reading the day (the day counts every change made before it),
     predictions: the predictions made on the day (local day of `timestamp`) that honour the contract,
     reviewed:    those of them with a verdict now;  awaiting: those without one,
     median_review_hours: the median of timestamp_validated - timestamp over the reviewed ones (null: none),
     invalid:     the day's documents (by `timestamp`) that break the contract,
     predictions_by_hour: [24 counts]: the day's predictions by local hour of `timestamp`,
     reviews_by_hour:     [24 counts]: the reviews written on the day (local day of `timestamp_validated`),
                          of predictions of any day, by local hour}

The first five are by day of prediction, `reviews_by_hour` by day of review: the traffic detector
needs the times at which reviews are written. Every figure is judged by the one record contract
(`parse_prediction`); a document that breaks it counts only in `invalid`, on the day of its
`timestamp` (nowhere when that cannot be read). A day is always recounted whole, never added to, so
its median is exact (statistics.median over the day's lags). The local hour of a 25-hour day's repeated
hour holds both; a 23-hour day's missing hour stays 0.

The ledger's state document records when the summary was last refreshed (`traffic_as_of`); without
it, no logger has written one, and readers count from the predictions themselves (`summarise`).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from pymongo.collection import Collection
from pymongo.database import Database

from clara_common.classes import ClassCatalog
from clara_common.contract import Prediction, Rejection, parse_prediction
from clara_common.days import as_utc, days_between, range_bounds
from clara_common.db import Document, find_once
from clara_common.ledger import JUDGED_FIELDS, TRAFFIC_COLLECTION, readable_day
from clara_common.ledger.stored import TRAFFIC, typed

# The ledger state's field: when the logger last refreshed the summary (absent: never).
STATE_FIELD = "traffic_as_of"
HOURS = 24
PROJECTION = {name: 1 for name in JUDGED_FIELDS}
SECONDS_PER_HOUR = 3600.0


@dataclass
class DayTraffic:
    """One local day's traffic, accumulated one document at a time."""

    predictions_by_hour: list[int] = field(default_factory=lambda: [0] * HOURS)
    reviews_by_hour: list[int] = field(default_factory=lambda: [0] * HOURS)
    reviewed: int = 0
    lags: list[float] = field(default_factory=list)  # hours from prediction to review, of the reviewed ones
    invalid: int = 0

    @property
    def predictions(self) -> int:
        return sum(self.predictions_by_hour)

    def add_prediction(self, record: Prediction, tz: tzinfo) -> None:
        """Count a prediction made on this day that honours the contract."""
        self.predictions_by_hour[local_hour(record.timestamp, tz)] += 1
        if record.timestamp_validated is not None:
            self.reviewed += 1
            self.lags.append((record.timestamp_validated - record.timestamp).total_seconds() / SECONDS_PER_HOUR)

    def document(self, day: str, as_of: datetime) -> dict[str, Any]:
        """Return the day's stored document."""
        return {
            "_id": day,
            "as_of": as_of,
            "predictions": self.predictions,
            "reviewed": self.reviewed,
            "awaiting": self.predictions - self.reviewed,
            "median_review_hours": statistics.median(self.lags) if self.lags else None,
            "invalid": self.invalid,
            "predictions_by_hour": self.predictions_by_hour,
            "reviews_by_hour": self.reviews_by_hour,
        }


def local_hour(instant: datetime, tz: tzinfo) -> int:
    """Return the local hour (0 to 23) of `instant` in `tz`."""
    return as_utc(instant).astimezone(tz).hour


def local_day_of(instant: datetime, tz: tzinfo) -> str:
    return as_utc(instant).astimezone(tz).date().isoformat()


def summarise(
    by_prediction: Iterable[Mapping[str, Any]],
    by_review: Iterable[Mapping[str, Any]],
    classes: ClassCatalog,
    tz: tzinfo,
    days: Iterable[date] | None = None,
) -> dict[str, DayTraffic]:
    """Return each local day's traffic: `by_prediction` found by `timestamp`, `by_review` by `timestamp_validated`.

    Given `days`, only those days are counted (the queries find documents a day beyond each end).
    """
    wanted = None if days is None else {day.isoformat() for day in days}
    found: dict[str, DayTraffic] = {}

    def day_of(name: str) -> DayTraffic | None:
        return None if wanted is not None and name not in wanted else found.setdefault(name, DayTraffic())

    for doc in by_prediction:
        parsed = parse_prediction(doc, classes, tz)
        if isinstance(parsed, Rejection):
            if (name := readable_day(doc.get("timestamp"), tz)) is not None and (traffic := day_of(name)):
                traffic.invalid += 1
        elif traffic := day_of(local_day_of(parsed.timestamp, tz)):
            traffic.add_prediction(parsed, tz)
    for doc in by_review:
        parsed = parse_prediction(doc, classes, tz)
        if isinstance(parsed, Rejection) or parsed.timestamp_validated is None:
            continue
        if traffic := day_of(local_day_of(parsed.timestamp_validated, tz)):
            traffic.reviews_by_hour[local_hour(parsed.timestamp_validated, tz)] += 1
    return found


def empty_document(day: str, as_of: datetime) -> dict[str, Any]:
    """Return the document of a day without traffic (one that dropped to zero)."""
    return DayTraffic().document(day, as_of)


# -- reading the predictions ----------------------------------------------------------------------------


def time_queries(name: str, first: date, last: date, tz: tzinfo) -> list[dict[str, Any]]:
    """Return the queries for `name` on local days `first` to `last`, each served by an index on `name`.

    BSON dates exactly; ISO strings widened by a day each side (summarise() reads them as the contract does).
    """
    start, end = range_bounds(first, last, tz)
    strings = {
        "$gte": (start - timedelta(days=1)).date().isoformat(),
        "$lt": (end + timedelta(days=1)).date().isoformat(),
    }
    return [{name: {"$gte": start, "$lt": end}}, {name: strings}]


def count_days(
    predictions: Collection[Document], first: date, last: date, classes: ClassCatalog, tz: tzinfo
) -> dict[str, DayTraffic]:
    """Return the traffic of local days `first` to `last`, counted from the predictions (days without any left out).

    Through the `timestamp` index (predictions of the days) and the `timestamp_validated` one (their reviews).
    """
    return summarise(
        find_once(predictions, time_queries("timestamp", first, last, tz), PROJECTION),
        find_once(predictions, time_queries("timestamp_validated", first, last, tz), PROJECTION),
        classes,
        tz,
        days_between(first, last),
    )


# -- reading the summary --------------------------------------------------------------------------------


def summary_as_of(ledger: Mapping[str, Any] | None) -> datetime | None:
    """Return when the logger last refreshed the summary, from the ledger's state document (None: never)."""
    value = (ledger or {}).get(STATE_FIELD)
    return value if isinstance(value, datetime) else None


def summary_days(database: Database[Document], first: date, last: date) -> dict[str, dict[str, Any]]:
    """Return the summary's documents of local days `first` to `last`, by day."""
    query = {"_id": {"$gte": first.isoformat(), "$lte": last.isoformat()}}
    return {
        doc["_id"]: typed(doc, TRAFFIC, TRAFFIC_COLLECTION) or {} for doc in database[TRAFFIC_COLLECTION].find(query)
    }
