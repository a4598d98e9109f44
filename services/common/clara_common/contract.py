"""The prediction record contract: one raw MongoDB document in, a typed record or a rejection out.

The classifier writes one document per prediction (see docs/contract.md):

    filename             str                      base name of the image
    output_confidence    float in [0, 1], optional confidence of the predicted class
    output_prediction    int class id             predicted class (an integral double, 3.0, counts as 3)
    output_validated     int | bool | null        the reviewer's verdict (below; an integral double too)
    timestamp            BSON date | ISO-8601 str when the prediction was made
    trained              bool, optional           already used for retraining
    logged               bool                     already logged by clara-logger (absent = false)
    timestamp_validated  BSON date | ISO-8601 str when it was reviewed; required once reviewed

Every field above holds at most 1 KiB (FIELD_LIMIT_BYTES, measured as BSON): a larger value, such as a
9 MB filename, breaks the contract. Valid values are far smaller, and the bound keeps what the logger
copies onto each document it claims (clara_common.ledger) small whatever a writer stores.

`output_validated` is the reviewer's class id (the original implementation) or, per the reference
document, a bool: `true` confirms the prediction (true class = predicted class), `false` rejects it
without naming the right class (it counts against accuracy and the predicted class's precision, and
in no class's recall), null or absent means not reviewed yet.

BSON dates are UTC. An ISO-8601 string with an offset is exact; one without an offset is read in
the configured time zone, as the original classifier wrote local times. Either must fall in the years
2 to 9998 (UTC), away from the calendar's ends where a local day overflows. Given the current time, a
review validated further ahead than the allowed clock skew is rejected as "in the future" until due.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from enum import Enum
from typing import Any, TypeGuard

import bson

from clara_common.classes import ClassCatalog
from clara_common.days import as_utc

# The largest value a field of the contract may hold, as the BSON document {"v": value} it encodes to.
FIELD_LIMIT_BYTES = 1024
# The fields the contract reads, in the order their sizes are checked.
FIELDS = (
    "filename",
    "output_prediction",
    "output_confidence",
    "output_validated",
    "timestamp",
    "timestamp_validated",
    "trained",
    "logged",
)
# The true class recorded for a prediction the reviewer rejected without naming the right class.
REJECTED_TRUE_CLASS = -1


class Review(str, Enum):  # noqa: UP042 - StrEnum would change str() and format() of the members
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


@dataclass(frozen=True)
class Oversized:
    """A field's value known only by its size: what the logger's copy keeps of a value over the limit."""

    size: int


def field_size(value: object) -> int:
    """Return the size of `{"v": value}` as BSON, as MongoDB's `$bsonSize` measures it."""
    if isinstance(value, Oversized):
        return value.size
    if value is None or isinstance(value, (bool, int, float, datetime)):
        return 0  # far below the limit (a number or a date is at most 8 bytes)
    if isinstance(value, str) and 4 * len(value) + 13 <= FIELD_LIMIT_BYTES:
        return 0  # below the limit whatever its characters (at most 4 bytes each in UTF-8)
    try:
        return len(bson.encode({"v": value}))
    except (bson.errors.BSONError, TypeError, OverflowError):
        return 0  # not a BSON value: its type breaks the contract instead


def check_size(value: object, name: str) -> None:
    """Raise ContractError when a field's value is larger than FIELD_LIMIT_BYTES."""
    size = field_size(value)
    if size > FIELD_LIMIT_BYTES:
        raise ContractError(name, f"is larger than {FIELD_LIMIT_BYTES} bytes ({size:,} bytes as BSON)")


def _is_number(value: object) -> TypeGuard[int | float]:
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


# ISO-8601 strings in the extended format that writers use, and no other:
#   YYYY-MM-DD[(T|space)HH[:MM[:SS[(.|,)fraction]]][[space]Z|±HH|±HHMM|±HH:MM]]
# with range checks (month, day of month, hour < 24, minutes and seconds < 60, offset under 24 hours,
# no space between a fraction and the offset) and years 2 to 9998, away from the calendar's ends
# where converting to UTC overflows.
ISO_DATETIME_REGEX = (
    r"^([0-9]{4})-([0-9]{2})-([0-9]{2})"
    r"(?:[T ]([0-9]{2})(?::([0-9]{2})(?::([0-9]{2})(?:[.,]([0-9]+))?)?)?"
    r"( ?(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?))?)?$"
)
_ISO_DATETIME = re.compile(ISO_DATETIME_REGEX)
YEARS = range(2, 9999)
# The instants of those years in UTC, for BSON dates and converted strings alike: a local day of any
# instant in [FIRST_INSTANT, END_INSTANT) exists in every time zone.
FIRST_INSTANT = datetime(YEARS.start, 1, 1, tzinfo=UTC)
END_INSTANT = datetime(YEARS.stop, 1, 1, tzinfo=UTC)
IN_THE_FUTURE = "is in the future"


def parse_timestamp(value: object, name: str, tz: tzinfo) -> datetime:
    """Return a BSON date or an ISO-8601 string as an aware UTC datetime in the contract's years."""
    check_size(value, name)
    if isinstance(value, datetime):
        try:
            instant = as_utc(value)
        except OverflowError:
            raise ContractError(name, f"is outside the years {YEARS.start} to {YEARS.stop - 1}") from None
    elif isinstance(value, str):
        instant = _parse_iso(value, name, tz)
    else:
        raise ContractError(name, f"must be a BSON date or an ISO-8601 string, got {type(value).__name__}")
    if not FIRST_INSTANT <= instant < END_INSTANT:
        raise ContractError(name, f"is outside the years {YEARS.start} to {YEARS.stop - 1}: {instant.isoformat()}")
    return instant


def _parse_iso(value: str, name: str, tz: tzinfo) -> datetime:
    text = value.strip()
    if not text:
        raise ContractError(name, "is an empty string")
    try:
        if not _ISO_DATETIME.fullmatch(text):
            raise ValueError(text)
        parsed = datetime.fromisoformat(text)
        if parsed.year not in YEARS:
            raise ValueError(text)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=tz)
        return as_utc(parsed)
    except (ValueError, OverflowError):
        raise ContractError(name, f"is not an ISO-8601 date-time (YYYY-MM-DDTHH:MM:SS±HH:MM): {value[:40]!r}") from None


def latest_due(now: datetime | None, max_skew: timedelta | None) -> datetime | None:
    """Return the latest validation time counted at `now`: now plus the writers' allowed clock skew (None: no limit)."""
    return None if now is None else as_utc(now) + (max_skew or timedelta(0))


def is_early(raw: object, tz: tzinfo, now: datetime | None, max_skew: timedelta | None = None) -> bool:
    """Return whether a review's validation time is readable and later than `latest_due`: it waits until due."""
    limit = latest_due(now, max_skew)
    if limit is None or not isinstance(raw, Mapping) or raw.get("output_validated") is None:
        return False
    if raw.get("timestamp_validated") is None:
        return False
    try:
        return parse_timestamp(raw["timestamp_validated"], "timestamp_validated", tz) > limit
    except ContractError:
        return False


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


def is_flag(value: object) -> bool:
    """Return whether a value is what the contract takes for a flag: a bool, or null (absent) for false."""
    return value is None or isinstance(value, bool)


def _parse_flag(raw: Mapping[str, Any], name: str) -> bool:
    value = raw.get(name)
    if not is_flag(value):
        raise ContractError(name, f"must be a boolean, got {type(value).__name__}")
    return bool(value)


def _parse(raw: Mapping[str, Any], classes: ClassCatalog, tz: tzinfo, latest: datetime | None) -> Prediction:
    for name in FIELDS:
        check_size(raw.get(name), name)
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
        if review is not Review.PENDING and latest is not None and validated_at > latest:
            raise ContractError(
                "timestamp_validated",
                f"{IN_THE_FUTURE}: {validated_at.isoformat()} is after "
                f"{latest.isoformat()}, the current time plus the clock skew",
            )
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


def parse_prediction(
    raw: object, classes: ClassCatalog, tz: tzinfo, now: datetime | None = None, max_skew: timedelta | None = None
) -> Prediction | Rejection:
    """Return the typed record for a raw document, or a Rejection that says what is wrong.

    With `now`, a review validated after now + `max_skew` is rejected as in the future until it is due.
    """
    if not isinstance(raw, Mapping):
        return Rejection(id=None, field=None, reason=f"a document must be a mapping, got {type(raw).__name__}")
    try:
        return _parse(raw, classes, tz, latest_due(now, max_skew))
    except ContractError as exc:
        return Rejection(id=raw.get("_id"), field=exc.field, reason=exc.reason)
