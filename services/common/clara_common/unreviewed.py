"""The summary of the predictions not reviewed yet, per local day of prediction.

The logger writes it, the monitor reads it.

One document per local day of `timestamp` (TIMEZONE) in `logger_unreviewed` (UNREVIEWED_COLLECTION):

    {_id: "YYYY-MM-DD",
     as_of:      when the logger began reading the day (the day counts every change made before it),
     unreviewed: the day's predictions without a validation time that honour the contract,
     cells:      {predicted class id: [[n, Σ confidence, Σ confidence²] for each of CALIBRATION_BINS bins]},
     without_confidence: {predicted class id: n},
     invalid:    the day's documents without a validation time that break the contract}

A prediction is unreviewed when its `timestamp_validated` is null or absent (found through the
(timestamp_validated, timestamp) index), judged by the one record contract, `parse_prediction`: one
that breaks it is left out of the cells and counted in `invalid` on the day of its `timestamp`
(nowhere when that cannot be read). The bins are calibration.py's. The sums are floats, each the
correctly rounded exact sum of its confidences (`math.fsum`): a day is always recounted whole, never
added to or taken from, so a recount in any order gives the same bits, and the monitor's estimate
from them equals the per-prediction computation to floating-point rounding (a sum in millionths
would shift each confidence by up to 5e-7).

The ledger's state document records when the summary was last refreshed (`unreviewed_as_of`); without
it, no logger has written a summary, and readers count from the predictions themselves.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import date, datetime, tzinfo
from typing import Any

from pymongo.database import Database

from clara_common import calibration
from clara_common.classes import ClassCatalog
from clara_common.contract import Rejection, parse_prediction
from clara_common.days import local_day
from clara_common.ledger import UNREVIEWED_COLLECTION, readable_day
from clara_common.ledger.stored import UNREVIEWED, typed

# The ledger state's field: when the logger last refreshed the summary (absent: never).
STATE_FIELD = "unreviewed_as_of"


class DaySummary:
    """The unreviewed predictions of one day, accumulated one document at a time."""

    def __init__(self) -> None:
        self.confidences: dict[tuple[int, int], list[float]] = {}
        self.without_confidence: dict[int, int] = {}
        self.invalid = 0

    def add(self, predicted: int, confidence: float | None) -> None:
        """Count one unreviewed prediction that honours the contract."""
        if confidence is None:
            self.without_confidence[predicted] = self.without_confidence.get(predicted, 0) + 1
        else:
            self.confidences.setdefault((predicted, calibration.confidence_bin(confidence)), []).append(confidence)

    @property
    def unreviewed(self) -> int:
        return sum(len(values) for values in self.confidences.values()) + sum(self.without_confidence.values())

    def document(self, day: str, as_of: datetime) -> dict[str, Any]:
        """Return the day's stored document."""
        cells: dict[str, list[list[float]]] = {}
        for (predicted, k), values in sorted(self.confidences.items()):
            row = cells.setdefault(str(predicted), [[0, 0.0, 0.0] for _ in range(calibration.CALIBRATION_BINS)])
            row[k] = [len(values), math.fsum(values), math.fsum(c * c for c in values)]
        return {
            "_id": day,
            "as_of": as_of,
            "unreviewed": self.unreviewed,
            "cells": cells,
            "without_confidence": {str(p): n for p, n in sorted(self.without_confidence.items())},
            "invalid": self.invalid,
        }


def summarise(documents: Iterable[Mapping[str, Any]], classes: ClassCatalog, tz: tzinfo) -> dict[str, DaySummary]:
    """Return, per local day of prediction (ISO), the summary of documents found without a validation time."""
    days: dict[str, DaySummary] = {}
    for doc in documents:
        parsed = parse_prediction(doc, classes, tz)
        if isinstance(parsed, Rejection):
            if (day := readable_day(doc.get("timestamp"), tz)) is not None:
                days.setdefault(day, DaySummary()).invalid += 1
            continue
        if parsed.is_validated:  # not found by a null validation time; here for other callers' documents
            continue
        days.setdefault(local_day(parsed.timestamp, tz).isoformat(), DaySummary()).add(
            parsed.predicted_class, parsed.confidence
        )
    return days


def empty_document(day: str, as_of: datetime) -> dict[str, Any]:
    """Return the document of a day without unreviewed predictions (one that dropped to zero)."""
    return DaySummary().document(day, as_of)


# -- reading ------------------------------------------------------------------------------------------


def summary_as_of(ledger: Mapping[str, Any] | None) -> datetime | None:
    """Return when the logger last refreshed the summary, from the ledger's state document (None: never)."""
    value = (ledger or {}).get(STATE_FIELD)
    return value if isinstance(value, datetime) else None


def summary_days(database: Database[dict[str, Any]], first: date, last: date) -> dict[str, dict[str, Any]]:
    """Return the summary's documents of local days `first` to `last`, by day."""
    query = {"_id": {"$gte": first.isoformat(), "$lte": last.isoformat()}}
    return {
        doc["_id"]: typed(doc, UNREVIEWED, UNREVIEWED_COLLECTION) or {}
        for doc in database[UNREVIEWED_COLLECTION].find(query)
    }


def day_sums(fitted: calibration.CalibrationMap, document: Mapping[str, Any]) -> list[calibration.Sums]:
    """Return Σp and Σp² of a summary day's predictions under the map: per (class, bin), per class if no confidence."""
    groups = []
    for key, row in (document.get("cells") or {}).items():
        for k, (count, confidence_sum, square_sum) in enumerate(row):
            if count:
                groups.append(fitted.bin_sums(int(key), k, count, confidence_sum, square_sum))
    for key, count in (document.get("without_confidence") or {}).items():
        p = fitted.without_confidence(int(key))
        groups.append(calibration.Sums(count, count * p.mean, count * p.mean * p.mean, p.own, p.own_variance, p.shared))
    return groups
