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


# ISO-8601 strings in the extended format that writers use, and no other, so that the parser and its
# aggregation twin below (which must find them with a string range) accept the same language:
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


# --- The same contract as a MongoDB aggregation expression -------------------------------------
#
# The monitor counts records inside the database, so the rules above exist a second time as an
# aggregation expression. tests/integration/test_contract_mongo.py holds the two to the same verdict.
#
# What Python's str.strip() removes, which `$trim` must remove too (its default set differs).
_PYTHON_WHITESPACE = "".join(chr(c) for c in range(0x110000) if chr(c).isspace())
_NUMBER_TYPES = ["int", "long", "double"]


def _type_is(expr: object, *types: str) -> dict[str, Any]:
    return {"$in": [{"$type": expr}, list(types)]}


def _is_nullish(expr: object) -> dict[str, Any]:
    return _type_is(expr, "missing", "null")


def _mongo_class_id_ok(expr: object, classes: ClassCatalog) -> dict[str, Any]:
    # `$in` compares numerically, so an integral double matches and 2.5 or NaN do not.
    return {"$and": [_type_is(expr, *_NUMBER_TYPES), {"$in": [expr, list(classes.ids)]}]}


def _mongo_trimmed(expr: object) -> dict[str, Any]:
    return {"$trim": {"input": expr, "chars": _PYTHON_WHITESPACE}}


def _to_int(capture: object, default: int = 0) -> dict[str, Any]:
    return {"$ifNull": [{"$toInt": capture}, default]}


def _mongo_iso_instant(text: object, tz_name: str) -> dict[str, Any]:
    """Return an expression: the UTC instant of an ISO-8601 string (see above), or null."""
    capture = [{"$arrayElemAt": ["$$m.captures", i]} for i in range(8)]
    year, month, day, hour, minute, second, fraction, offset = capture
    # Z, ±HH or ±HHMM; Python allows one space before the offset, unless a fraction precedes it.
    offset_text = {
        "$replaceAll": {
            "input": {"$replaceAll": {"input": offset, "find": ":", "replacement": ""}},
            "find": " ",
            "replacement": "",
        }
    }
    offset_hours = {"$toInt": {"$substrCP": [offset_text, 1, 2]}}
    offset_minutes = _to_int(
        {"$cond": [{"$eq": [{"$strLenCP": offset_text}, 5]}, {"$substrCP": [offset_text, 3, 2]}, None]}
    )
    sign = {"$cond": [{"$eq": [{"$substrCP": [offset_text, 0, 1]}, "-"]}, -1, 1]}
    # $dateFromParts takes only a constant zone here, so an explicit offset is subtracted by hand.
    offset_ms = {
        "$cond": [
            {"$eq": [offset_text, "Z"]},
            0,
            {"$multiply": [sign, {"$add": [{"$multiply": [offset_hours, 60]}, offset_minutes]}, 60_000]},
        ]
    }
    parts = {
        "year": _to_int(year),
        "month": _to_int(month),
        "day": _to_int(day),
        "hour": _to_int(hour),
        "minute": _to_int(minute),
        "second": _to_int(second),
        # Milliseconds: BSON dates hold no finer time, and truncation never moves an instant's day.
        "millisecond": _to_int({"$substrCP": [{"$concat": [{"$ifNull": [fraction, ""]}, "000"]}, 0, 3]}),
    }
    # $dateFromParts rolls 30 February over to March: a calendar date is valid if it survives a round trip.
    calendar_date = {"$dateFromParts": {"year": parts["year"], "month": parts["month"], "day": parts["day"]}}
    in_range = {
        "$and": [
            {"$gte": [parts["year"], 2]},
            {"$lte": [parts["year"], 9998]},
            {"$gte": [parts["month"], 1]},
            {"$lte": [parts["month"], 12]},
            {"$gte": [parts["day"], 1]},
            {"$lte": [parts["day"], 31]},
            {"$eq": [{"$month": calendar_date}, parts["month"]]},
            {"$lte": [parts["hour"], 23]},
            {"$lte": [parts["minute"], 59]},
            {"$lte": [parts["second"], 59]},
            {
                "$or": [
                    {"$eq": [fraction, None]},
                    {"$eq": [offset, None]},
                    {"$ne": [{"$substrCP": [offset, 0, 1]}, " "]},
                ]
            },
            # Python takes any offset minutes (+01:75 is +02:15) as long as the offset is under a day.
            {
                "$or": [
                    {"$eq": [offset, None]},
                    {"$eq": [offset_text, "Z"]},
                    {"$lt": [{"$add": [{"$multiply": [offset_hours, 60]}, offset_minutes]}, 24 * 60]},
                ]
            },
        ]
    }
    return {
        "$let": {
            "vars": {"m": {"$regexFind": {"input": text, "regex": ISO_DATETIME_REGEX}}},
            "in": {
                "$cond": [
                    {"$eq": ["$$m", None]},
                    None,
                    # $and stops at the first false, so $dateFromParts only ever sees parts in range.
                    {
                        "$cond": [
                            {"$not": [in_range]},
                            None,
                            {
                                "$cond": [
                                    {"$eq": [offset, None]},
                                    {"$dateFromParts": {**parts, "timezone": tz_name}},
                                    {"$subtract": [{"$dateFromParts": parts}, offset_ms]},
                                ]
                            },
                        ]
                    },
                ]
            },
        }
    }


def _mongo_size_ok(expr: object) -> dict[str, Any]:
    """Return an expression: whether a field is within FIELD_LIMIT_BYTES (check_size)."""
    return {"$lte": [{"$bsonSize": {"v": expr}}, FIELD_LIMIT_BYTES]}


def mongo_instant(expr: object, tz_name: str) -> dict[str, Any]:
    """Return an expression: the instant of a BSON date or ISO-8601 string field in the contract's years, else null."""
    trimmed = _mongo_trimmed(expr)
    instant = {
        "$switch": {
            "branches": [
                {"case": {"$not": [_mongo_size_ok(expr)]}, "then": None},
                {"case": {"$eq": [{"$type": expr}, "date"]}, "then": expr},
                {"case": {"$eq": [{"$type": expr}, "string"]}, "then": _mongo_iso_instant(trimmed, tz_name)},
            ],
            "default": None,
        }
    }
    # Null sorts before every date, so it fails the first bound and stays null.
    in_years = {"$and": [{"$gte": ["$$instant", FIRST_INSTANT]}, {"$lt": ["$$instant", END_INSTANT]}]}
    return {"$let": {"vars": {"instant": instant}, "in": {"$cond": [in_years, "$$instant", None]}}}


def mongo_record(
    classes: ClassCatalog, tz_name: str, now: datetime | None = None, max_skew: timedelta | None = None
) -> dict[str, Any]:
    """Return an expression giving parse_prediction's verdict on `$$ROOT` as {valid, reviewed, true, predicted, day}.

    `valid` is whether the document honours the contract (given `now` and `max_skew`, as the parser);
    `reviewed` whether it is validated; `true` and `predicted` are class ids (true is
    REJECTED_TRUE_CLASS for a legacy `false`), null when not valid; `day` is the local day
    (YYYY-MM-DD in `tz_name`) of `timestamp_validated`, null when that cannot be read, whatever the
    rest of the document says.
    """
    latest = latest_due(now, max_skew)
    verdict = "$output_validated"

    def flag_ok(name: str) -> dict[str, Any]:
        return {"$or": [_is_nullish(f"${name}"), {"$eq": [{"$type": f"${name}"}, "bool"]}]}

    reviewed = {"$not": [_is_nullish(verdict)]}
    verdict_ok = {
        "$or": [
            _is_nullish(verdict),
            {"$eq": [{"$type": verdict}, "bool"]},
            _mongo_class_id_ok(verdict, classes),
        ]
    }
    filename_ok = {
        "$cond": [
            {"$eq": [{"$type": "$filename"}, "string"]},
            {"$gt": [{"$strLenCP": _mongo_trimmed("$filename")}, 0]},
            False,
        ]
    }
    confidence_ok = {
        "$or": [
            _is_nullish("$output_confidence"),
            {
                "$and": [
                    _type_is("$output_confidence", *_NUMBER_TYPES),
                    {"$gte": ["$output_confidence", 0]},
                    {"$lte": ["$output_confidence", 1]},
                ]
            },
        ]
    }
    # A review validated after `latest` is not due yet; a pending document's validation time is only read.
    due = True if latest is None else {"$or": [{"$not": [reviewed]}, {"$lte": ["$$validated_at", latest]}]}
    validated_ok = {
        "$cond": [
            _is_nullish("$timestamp_validated"),
            {"$not": [reviewed]},
            {"$and": [{"$ne": ["$$validated_at", None]}, due]},
        ]
    }
    valid = {
        "$and": [
            *(_mongo_size_ok(f"${name}") for name in FIELDS),
            filename_ok,
            _mongo_class_id_ok("$output_prediction", classes),
            confidence_ok,
            {"$ne": [mongo_instant("$timestamp", tz_name), None]},
            verdict_ok,
            validated_ok,
            flag_ok("trained"),
            flag_ok("logged"),
        ]
    }
    true_class = {
        "$switch": {
            "branches": [
                {"case": {"$eq": [verdict, True]}, "then": {"$toInt": "$output_prediction"}},
                {"case": {"$eq": [verdict, False]}, "then": REJECTED_TRUE_CLASS},
                {"case": reviewed, "then": {"$toInt": verdict}},
            ],
            "default": None,
        }
    }
    return {
        "$let": {
            "vars": {"validated_at": mongo_instant("$timestamp_validated", tz_name)},
            "in": {
                "$let": {
                    "vars": {"valid": valid},
                    "in": {
                        "valid": "$$valid",
                        "reviewed": reviewed,
                        "true": {"$cond": ["$$valid", true_class, None]},
                        "predicted": {"$cond": ["$$valid", {"$toInt": "$output_prediction"}, None]},
                        "day": {
                            "$cond": [
                                {"$eq": ["$$validated_at", None]},
                                None,
                                {
                                    "$dateToString": {
                                        "date": "$$validated_at",
                                        "format": "%Y-%m-%d",
                                        "timezone": tz_name,
                                    }
                                },
                            ]
                        },
                    },
                }
            },
        }
    }


# The longest filename the plain shape takes: 4 bytes per character at most, plus the BSON framing.
PLAIN_FILENAME_CHARACTERS = (FIELD_LIMIT_BYTES - 13) // 4


def mongo_plain_validated_filter(
    classes: ClassCatalog, now: datetime | None = None, max_skew: timedelta | None = None
) -> dict[str, Any]:
    """Return a query filter that matches only validated documents the parser accepts, in the plain shape.

    The plain shape is what the classifier and the review tool write: a filename that does not start
    with white space, class ids as numbers, the reviewer's class id as the verdict, a confidence in
    [0, 1], BSON dates in the contract's years (and, given `now`, a validation time that is due). For
    such a document the true class is `output_validated` and the day is that of `timestamp_validated`,
    so it can be counted without `mongo_record`. Every other document goes through `mongo_record`. On
    the embedded database the training tab's counts took 5.2 s with this filter first and 9.7 s through
    the twin alone (bench/query_shapes.py, 45,454 predictions). On MongoDB the filter costs a second
    aggregate over the same index, and saves evaluating the twin on most documents (not measured there).
    """
    latest = latest_due(now, max_skew)
    in_years = {"$gte": FIRST_INSTANT, "$lt": END_INSTANT}
    due = {} if latest is None else {"$lte": latest}
    numbers = {"$type": _NUMBER_TYPES}
    # A query matches an array by its elements: `[1, 2]` would pass `$in` and `$type`. No arrays.
    scalar = {"$not": {"$type": "array"}}
    return {
        # Literal characters, not escapes: the class must mean the same to PCRE and to Python's re.
        # At most PLAIN_FILENAME_CHARACTERS characters (the lookahead): within FIELD_LIMIT_BYTES whatever they are.
        "filename": {
            "$type": "string",
            "$regex": f"^(?![\\s\\S]{{{PLAIN_FILENAME_CHARACTERS + 1}}})[^{_PYTHON_WHITESPACE}]",
            **scalar,
        },
        "output_prediction": {"$in": list(classes.ids), **numbers, **scalar},
        "output_validated": {"$in": list(classes.ids), **numbers, **scalar},
        "output_confidence": {"$gte": 0, "$lte": 1, **numbers, **scalar},
        "timestamp": {"$type": "date", **in_years, **scalar},
        "timestamp_validated": {"$type": "date", **in_years, **due, **scalar},
        "trained": {"$in": [True, False, None], **scalar},
        "logged": {"$in": [True, False, None], **scalar},
    }
