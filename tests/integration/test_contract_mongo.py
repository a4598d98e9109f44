"""The contract's aggregation form gives parse_prediction's verdict on every shape the parser is tested on."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from bson import Decimal128, Int64, ObjectId
from pymongo.database import Database

from clara_common.contract import (
    ContractError,
    Prediction,
    mongo_plain_validated_filter,
    mongo_record,
    parse_prediction,
    parse_timestamp,
)
from clara_common.days import local_day
from tests.utils.contract_documents import CLASSES, MALFORMED, document

pytestmark = pytest.mark.integration

TIME_ZONES = ["UTC", "Europe/Madrid", "America/New_York", "Asia/Kolkata"]

TIMESTAMP_STRINGS = [
    "2026-03-02",
    "2026-03-02T09",
    "2026-03-02T09:30",
    "2026-03-02 09:30:00",
    "2026-03-02T23:59:59.999999",
    "2026-03-02T00:00:00.5",
    "2026-03-02T09:30:00,25",
    "2026-03-02T09:30:00.1234567",
    "2026-03-02T09:30Z",
    "2026-03-02T23:30:00Z",
    "2026-03-02T00:30:00+01:00",
    "2026-03-02T00:30:00+0100",
    "2026-03-02T00:30:00-05",
    "2026-03-02T22:30:00-02:30",
    "2026-03-02T00:30:00+23:59",
    "  2026-03-02T09:30:00Z\n",
    "2024-02-29T12:00:00",
    "2026-03-29T02:30:00",
    "2026-10-25T02:30:00",
    "2026-12-31T23:59:59+14:00",
    # malformed
    "2026-02-29T12:00:00",
    "2026-02-30",
    "2026-04-31",
    "2026-13-01",
    "2026-00-10",
    "2026-01-00",
    "2026-03-02T24:00",
    "2026-03-02T23:60",
    "2026-03-02T23:59:60",
    "2026-03-02T09:30:00+24:00",
    "2026-3-2",
    "2026-03-02T9:30",
    "2026-03-02T",
    "2026-03-02T09:30:00.",
    "02/03/2026",
    "yesterday",
    "2026-03-02Z",
    "",
    "   ",
    "0000-01-01",
    "2026-03-02T09:30:00 +01:00",
    "2026-03-02T09:30:00+1",
    "2026-03-02T09:30:00+01:75",
    "2026-03-02T09:30:00+23:99",
    "2026-03-02T09:30:00.5 +01:00",
    "2026-03-02T09 +01",
    "2026-03-02T09:30  Z",
]

EXTRA_SHAPES = {
    "verdict zero is a class": document(output_validated=0),
    "legacy true": document(output_validated=True),
    "legacy false": document(output_validated=False),
    "pending without validation time": document(output_validated=None, timestamp_validated=None),
    "pending with validation time": document(output_validated=None),
    "pending with bad validation time": document(output_validated=None, timestamp_validated="soon"),
    "integral doubles": document(output_prediction=3.0, output_validated=3.0),
    "int64 class ids": document(output_prediction=Int64(2), output_validated=Int64(2)),
    "decimal class id": document(output_prediction=Decimal128("2")),
    "confidence zero": document(output_confidence=0),
    "confidence one": document(output_confidence=1.0),
    "confidence absent": document(output_confidence=...),
    "confidence null": document(output_confidence=None),
    "trained true": document(trained=True),
    "logged null": document(logged=None),
    "filename padded": document(filename="  a.jpg "),
    "filename nbsp only": document(filename="\u00a0\u2003"),
    "timestamp an int64": document(timestamp=Int64(5)),
    "timestamp a bool": document(timestamp=True),
    "prediction infinite": document(output_prediction=math.inf),
    "verdict infinite": document(output_validated=-math.inf),
    # Hostile shapes and the edges of the contract's years.
    "validation time NaN": document(timestamp_validated=math.nan),
    "validation time an object id": document(timestamp_validated=ObjectId()),
    "logged a number": document(logged=0),
    "trained a string": document(trained="no"),
    "validation time at the first instant": document(timestamp_validated=datetime(2, 1, 1, tzinfo=UTC)),
    "validation time at the last millisecond": document(
        timestamp_validated=datetime(9998, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)
    ),
    "validation time in year 9999": document(timestamp_validated=datetime(9999, 1, 1, tzinfo=UTC)),
    "validation time the last BSON-decodable instant": document(
        timestamp_validated=datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)
    ),
    "validation time the first BSON-decodable instant": document(timestamp_validated=datetime(1, 1, 1, tzinfo=UTC)),
    "prediction time in year 1": document(timestamp=datetime(1, 6, 1, tzinfo=UTC)),
    "prediction time in year 9999": document(timestamp=datetime(9999, 6, 1, tzinfo=UTC)),
    "pending, validation time in year 1": document(
        output_validated=None, timestamp_validated=datetime(1, 6, 1, tzinfo=UTC)
    ),
    # Around NOW + SKEW, the instant after which a review is in the future (see the tests given `now`).
    "validated at the skew's end": document(timestamp_validated=datetime(2026, 6, 1, 12, 10, tzinfo=UTC)),
    "validated a millisecond later": document(timestamp_validated=datetime(2026, 6, 1, 12, 10, 0, 1000, tzinfo=UTC)),
    "validated tomorrow": document(timestamp_validated=datetime(2026, 6, 2, 9, tzinfo=UTC)),
    "validated tomorrow as a string": document(timestamp_validated="2026-06-02T09:00:00+02:00"),
    "validated in an hour, local string": document(timestamp_validated="2026-06-01T13:00:00"),
    "pending, validated tomorrow": document(
        output_validated=None, timestamp_validated=datetime(2026, 6, 2, 9, tzinfo=UTC)
    ),
    "legacy true validated tomorrow": document(
        output_validated=True, timestamp_validated=datetime(2026, 6, 2, 9, tzinfo=UTC)
    ),
}
# The clock the tests "given now" run at: some shapes and strings above lie after NOW + SKEW.
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SKEW = timedelta(minutes=10)
# Arrays and nested objects where a scalar belongs, in every field: a query filter matches an array
# by its elements, so these are where a filter and the parser part ways.
_SCALARS = {
    "filename": "a.jpg",
    "output_prediction": 2,
    "output_confidence": 0.5,
    "output_validated": 2,
    "timestamp": datetime(2026, 3, 2, 8, tzinfo=UTC),
    "timestamp_validated": datetime(2026, 3, 2, 9, tzinfo=UTC),
    "trained": True,
    "logged": False,
}
for _field, _value in _SCALARS.items():
    EXTRA_SHAPES[f"{_field} an array of two"] = document(**{_field: [_value, _value]})
    EXTRA_SHAPES[f"{_field} an array of one"] = document(**{_field: [_value]})
    EXTRA_SHAPES[f"{_field} an empty array"] = document(**{_field: []})
    EXTRA_SHAPES[f"{_field} a nested object"] = document(**{_field: {"value": _value}})
EXTRA_SHAPES["verdict [1, 2]"] = document(output_validated=[1, 2])
# At the size limit (FIELD_LIMIT_BYTES, 13 bytes of it BSON framing) and past the plain filter's bound.
EXTRA_SHAPES["filename at 1 KiB"] = document(filename="f" * 1011)
EXTRA_SHAPES["filename at 1 KiB less a byte, two-byte characters"] = document(filename="é" * 505)
EXTRA_SHAPES["filename of 300 characters"] = document(filename="g" * 300)
EXTRA_SHAPES["filename of 252 four-byte characters"] = document(filename="\U0001f600" * 252)
EXTRA_SHAPES["filename of 253 four-byte characters"] = document(filename="\U0001f600" * 253)


def expected_verdict(raw: dict, tz_name: str, now: datetime | None = None) -> dict:
    """Return what parse_prediction says about `raw` (at `now`, if given), in the aggregation's shape."""
    tz = ZoneInfo(tz_name)
    record = parse_prediction(raw, CLASSES, tz, now, SKEW if now else None)
    try:
        validated_at = parse_timestamp(raw["timestamp_validated"], "timestamp_validated", tz)
        day = local_day(validated_at, tz).isoformat()
    except (KeyError, ContractError):
        day = None
    if not isinstance(record, Prediction):
        return {
            "valid": False,
            "reviewed": raw.get("output_validated") is not None,
            "true": None,
            "predicted": None,
            "day": day,
        }
    return {
        "valid": True,
        "reviewed": record.is_validated,
        "true": record.true_class,
        "predicted": record.predicted_class,
        "day": day,
    }


def verdicts(
    db: Database, shapes: dict[str, dict], tz_name: str, now: datetime | None = None
) -> list[tuple[str, dict, dict]]:
    """Store every shape and return (name, parser's verdict, pipeline's verdict) for each, at `now` if given."""
    collection = db["shapes"]
    collection.delete_many({})
    collection.insert_many([{**shape, "shape": name} for name, shape in shapes.items()])
    stored = {doc["shape"]: doc for doc in collection.find()}
    record = mongo_record(CLASSES, tz_name, now, SKEW if now else None)
    computed = {doc["shape"]: doc["r"] for doc in collection.aggregate([{"$project": {"shape": 1, "r": record}}])}
    return [(name, expected_verdict(stored[name], tz_name, now), computed[name]) for name in shapes]


def all_shapes() -> dict[str, dict]:
    shapes = {name: doc for name, (doc, _) in MALFORMED.items() if isinstance(doc, dict)}
    shapes.update(EXTRA_SHAPES)
    for i, text in enumerate(TIMESTAMP_STRINGS):
        shapes[f"validated at {text!r}"] = document(timestamp_validated=text)
        shapes[f"predicted at {text!r} #{i}"] = document(timestamp=text)
    return shapes


@pytest.mark.parametrize("tz_name", TIME_ZONES)
def test_pipeline_verdict_equals_parser_verdict_on_every_shape(db: Database, tz_name: str) -> None:
    mismatches = [(name, want, got) for name, want, got in verdicts(db, all_shapes(), tz_name) if want != got]
    assert not mismatches, "\n".join(f"{n}: parser {w} pipeline {g}" for n, w, g in mismatches)


@pytest.mark.parametrize("tz_name", TIME_ZONES)
def test_given_now_pipeline_and_parser_both_leave_out_reviews_validated_in_the_future(
    db: Database, tz_name: str
) -> None:
    results = verdicts(db, all_shapes(), tz_name, now=NOW)
    mismatches = [(name, want, got) for name, want, got in results if want != got]
    assert not mismatches, "\n".join(f"{n}: parser {w} pipeline {g}" for n, w, g in mismatches)
    valid = {name for name, want, _ in results if want["valid"]}
    assert {"validated at the skew's end", "pending, validated tomorrow"} <= valid
    assert not valid & {
        "validated a millisecond later",
        "validated tomorrow",
        "validated tomorrow as a string",
        "legacy true validated tomorrow",
    }


def test_dates_outside_the_contracts_years_are_invalid_with_no_day(db: Database) -> None:
    shapes = {
        name: EXTRA_SHAPES[name]
        for name in (
            "validation time in year 9999",
            "validation time the first BSON-decodable instant",
            "prediction time in year 1",
            "pending, validation time in year 1",
        )
    }
    for name, want, got in verdicts(db, shapes, "America/New_York"):
        assert got == want and got["valid"] is False, name
        assert got["day"] is None or name == "prediction time in year 1", name


def random_iso(rng: random.Random) -> str:
    """Return a random extended-format ISO string, often with a field out of range."""
    text = f"{rng.choice([1999, 2024, 2026])}-{rng.randint(0, 13):02d}-{rng.randint(0, 32):02d}"
    if rng.random() < 0.9:
        text += rng.choice("T ") + f"{rng.randint(0, 24):02d}"
        if rng.random() < 0.9:
            text += f":{rng.randint(0, 60):02d}"
            if rng.random() < 0.8:
                text += f":{rng.randint(0, 60):02d}"
                if rng.random() < 0.5:
                    text += rng.choice(".,") + str(rng.randint(0, 10 ** rng.randint(1, 8)))
        if rng.random() < 0.6:
            text += rng.choice(
                [
                    "Z",
                    f"+{rng.randint(0, 24):02d}:{rng.randint(0, 60):02d}",
                    f"-{rng.randint(0, 24):02d}{rng.randint(0, 59):02d}",
                    f"+{rng.randint(0, 23):02d}",
                ]
            )
    return text


def test_pipeline_reads_random_iso_strings_as_the_parser_does(db: Database) -> None:
    rng = random.Random(7)
    shapes = {
        f"{i}: {text}": document(timestamp_validated=text) for i, text in enumerate(random_iso(rng) for _ in range(400))
    }
    results = verdicts(db, shapes, "Europe/Madrid")
    assert sum(want["valid"] for _, want, _ in results) > 50  # the sample holds valid and invalid strings
    mismatches = [(name, want, got) for name, want, got in results if want != got]
    assert not mismatches, "\n".join(f"{n}: parser {w} pipeline {g}" for n, w, g in mismatches[:20])


def test_bson_dates_are_bucketed_in_the_configured_time_zone(db: Database) -> None:
    shapes = {"late evening UTC": document(timestamp_validated=datetime(2026, 3, 2, 23, 30, tzinfo=UTC))}
    [(_, want, got)] = verdicts(db, shapes, "Europe/Madrid")
    assert got == want and got["day"] == "2026-03-03"


def test_plain_filter_matches_only_validated_documents_the_parser_accepts(db: Database) -> None:
    shapes = all_shapes()
    shapes["filename starting with nbsp"] = document(filename="\u00a0a.jpg")
    collection = db["plain"]
    collection.insert_many([{**shape, "shape": name} for name, shape in shapes.items()])
    matched = list(collection.find(mongo_plain_validated_filter(CLASSES)))
    for doc in matched:
        record = parse_prediction(doc, CLASSES, UTC)
        assert isinstance(record, Prediction) and record.is_validated, doc["shape"]
        assert (record.true_class, record.predicted_class) == (doc["output_validated"], doc["output_prediction"]), doc[
            "shape"
        ]
    names = {doc["shape"] for doc in matched}
    assert {"verdict zero is a class", "integral doubles", "int64 class ids", "confidence one", "logged null"} <= names
    assert not names & {"filename starting with nbsp", "filename padded", "legacy true", "confidence absent"}
    assert "filename of 252 four-byte characters" in names  # the longest a plain filename may be
    assert not names & {"filename of 253 four-byte characters", "filename of 300 characters", "filename over 1 KiB"}
    assert not names & {
        "validation time the first BSON-decodable instant",
        "validation time in year 9999",
        "prediction time in year 1",
    }


def test_given_now_the_plain_filter_leaves_out_reviews_validated_in_the_future(db: Database) -> None:
    collection = db["plain_now"]
    collection.insert_many([{**shape, "shape": name} for name, shape in all_shapes().items()])
    for doc in collection.find(mongo_plain_validated_filter(CLASSES, NOW, SKEW)):
        record = parse_prediction(doc, CLASSES, UTC, NOW, SKEW)
        assert isinstance(record, Prediction) and record.is_validated, doc["shape"]
    names = {doc["shape"] for doc in collection.find(mongo_plain_validated_filter(CLASSES, NOW, SKEW))}
    assert "validated at the skew's end" in names
    assert not names & {"validated a millisecond later", "validated tomorrow"}
