"""The prediction record contract: one raw MongoDB document in, a typed record or a rejection out.

The classifier writes one document per prediction (see the README's "Record contract"):

    filename             str                      base name of the image
    output_confidence    float in [0, 1], optional confidence of the predicted class
    output_prediction    int class id             predicted class
    output_validated     int | bool | null        the reviewer's verdict (below)
    timestamp            BSON date | ISO-8601 str when the prediction was made
    trained              bool, optional           already used for retraining
    logged               bool                     already logged by clara-logger (absent = false)
    timestamp_validated  BSON date | ISO-8601 str when it was reviewed; required once reviewed

`output_validated` is the reviewer's class id (the original implementation) or, per the reference
document, a bool: `true` confirms the prediction (true class = predicted class), `false` rejects it
without naming the right class (it counts against accuracy and the predicted class's precision, and
in no class's recall), null or absent means not reviewed yet.

BSON dates are UTC. An ISO-8601 string with an offset is exact; one without an offset is read in
the configured time zone, as the original classifier wrote local times.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from enum import Enum
from typing import Any

from clara_common.classes import ClassCatalog
from clara_common.days import as_utc

# The true class recorded for a prediction the reviewer rejected without naming the right class.
REJECTED_TRUE_CLASS = -1


class Review(str, Enum):
    """What the reviewer said about a prediction."""

    PENDING = "pending"  # not reviewed yet
    LABELLED = "labelled"  # the reviewer named the true class
    CONFIRMED = "confirmed"  # legacy `true`: the prediction is right
    REJECTED = "rejected"  # legacy `false`: the prediction is wrong, true class unknown


@dataclass(frozen=True)
class Prediction:
    """A prediction document that honours the contract."""

    id: Any
    filename: str
    predicted_class: int
    confidence: float | None
    timestamp: datetime
    review: Review
    true_class: int | None  # None while pending; REJECTED_TRUE_CLASS when rejected
    timestamp_validated: datetime | None
    trained: bool
    logged: bool

    @property
    def is_validated(self) -> bool:
        return self.review is not Review.PENDING

    @property
    def is_correct(self) -> bool | None:
        """Return whether the prediction was right, or None while it is not reviewed."""
        if not self.is_validated:
            return None
        return self.true_class == self.predicted_class


@dataclass(frozen=True)
class Rejection:
    """A document that breaks the contract, with the field at fault and why."""

    id: Any
    field: str | None
    reason: str

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}" if self.field else self.reason


class ContractError(ValueError):
    """A field breaks the contract; carries the field's name."""

    def __init__(self, field: str | None, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def _is_number(value: object) -> bool:
    # bool is an int subclass in Python; a JSON/BSON true is never a number here.
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def parse_class_id(value: object, name: str, classes: ClassCatalog) -> int:
    """Return `value` as a known class id; integral doubles (as JavaScript writers send) are accepted."""
    if not _is_number(value):
        raise ContractError(name, f"must be an integer class id, got {type(value).__name__}")
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise ContractError(name, f"must be an integer class id, got {value!r}")
        value = int(value)
    if value not in classes:
        raise ContractError(name, f"unknown class id {value}; known ids are {list(classes.ids)}")
    return int(value)


def parse_timestamp(value: object, name: str, tz: tzinfo) -> datetime:
    """Return a BSON date or an ISO-8601 string as an aware UTC datetime."""
    if isinstance(value, datetime):
        return as_utc(value)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise ContractError(name, "is an empty string")
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise ContractError(name, f"is not an ISO-8601 date-time: {value[:40]!r}") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=tz)
        return as_utc(parsed)
    raise ContractError(name, f"must be a BSON date or an ISO-8601 string, got {type(value).__name__}")


def _parse_confidence(value: object) -> float | None:
    if value is None:
        return None
    if not _is_number(value):
        raise ContractError("output_confidence", f"must be a number, got {type(value).__name__}")
    confidence = float(value)
    if not math.isfinite(confidence):
        raise ContractError("output_confidence", f"must be finite, got {confidence}")
    if not 0.0 <= confidence <= 1.0:
        raise ContractError("output_confidence", f"must be between 0 and 1, got {confidence}")
    return confidence


def _parse_review(value: object, predicted: int, classes: ClassCatalog) -> tuple[Review, int | None]:
    if value is None:
        return Review.PENDING, None
    if value is True:
        return Review.CONFIRMED, predicted
    if value is False:
        return Review.REJECTED, REJECTED_TRUE_CLASS
    return Review.LABELLED, parse_class_id(value, "output_validated", classes)


def _parse_flag(raw: Mapping[str, Any], name: str) -> bool:
    value = raw.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ContractError(name, f"must be a boolean, got {type(value).__name__}")
    return value


def _parse(raw: Mapping[str, Any], classes: ClassCatalog, tz: tzinfo) -> Prediction:
    filename = raw.get("filename")
    if not isinstance(filename, str) or not filename.strip():
        raise ContractError("filename", "must be a non-empty string")
    if "output_prediction" not in raw:
        raise ContractError("output_prediction", "is missing")
    predicted = parse_class_id(raw["output_prediction"], "output_prediction", classes)
    confidence = _parse_confidence(raw.get("output_confidence"))
    if raw.get("timestamp") is None:
        raise ContractError("timestamp", "is missing")
    timestamp = parse_timestamp(raw["timestamp"], "timestamp", tz)
    review, true_class = _parse_review(raw.get("output_validated"), predicted, classes)
    raw_validated_at = raw.get("timestamp_validated")
    if raw_validated_at is None:
        if review is not Review.PENDING:
            raise ContractError("timestamp_validated", "is missing on a validated prediction")
        validated_at = None
    else:
        validated_at = parse_timestamp(raw_validated_at, "timestamp_validated", tz)
    return Prediction(
        id=raw.get("_id"),
        filename=filename,
        predicted_class=predicted,
        confidence=confidence,
        timestamp=timestamp,
        review=review,
        true_class=true_class,
        timestamp_validated=validated_at if review is not Review.PENDING else None,
        trained=_parse_flag(raw, "trained"),
        logged=_parse_flag(raw, "logged"),
    )


def parse_prediction(raw: object, classes: ClassCatalog, tz: tzinfo) -> Prediction | Rejection:
    """Return the typed record for a raw document, or a Rejection that says what is wrong."""
    if not isinstance(raw, Mapping):
        return Rejection(id=None, field=None, reason=f"a document must be a mapping, got {type(raw).__name__}")
    try:
        return _parse(raw, classes, tz)
    except ContractError as exc:
        return Rejection(id=raw.get("_id"), field=exc.field, reason=exc.reason)
