"""The training tab counts the predictions marked `trained` as the record contract judges them.

The oracle is parse_prediction over every document of the collection, hostile shapes included (the
contract's tested shapes, each marked `trained`); the monitor reads them through the `trained` index.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import UTC, datetime

import pytest
from bson import Decimal128, Int64, ObjectId
from pymongo import MongoClient
from pymongo.collection import Collection

from clara_common.contract import Prediction, parse_prediction
from clara_common.db import ensure_indexes, predictions
from clara_common.settings import CommonSettings
from clara_monitor.settings import MonitorSettings
from tests.utils.contract_documents import CLASSES, MALFORMED, document
from tests.utils.monitor_app import MakeMonitor

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
    # Reviews validated in the future: the training tab counts them (it judges with no clock).
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
# Arrays and nested objects where a scalar belongs, in every field: a query matches an array by its
# elements (`{"trained": true}` finds `[true]`), so these are where a query and the parser part ways.
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
# At the size limit (FIELD_LIMIT_BYTES, 13 bytes of it BSON framing) and around it.
EXTRA_SHAPES["filename at 1 KiB"] = document(filename="f" * 1011)
EXTRA_SHAPES["filename at 1 KiB less a byte, two-byte characters"] = document(filename="é" * 505)
EXTRA_SHAPES["filename of 300 characters"] = document(filename="g" * 300)
EXTRA_SHAPES["filename of 252 four-byte characters"] = document(filename="\U0001f600" * 252)
EXTRA_SHAPES["filename of 253 four-byte characters"] = document(filename="\U0001f600" * 253)


def hostile_shapes() -> list[dict]:
    """Return every tested shape, marked `trained` where the shape does not set `trained` itself."""
    shapes = [doc for doc, _ in MALFORMED.values() if isinstance(doc, dict)] + list(EXTRA_SHAPES.values())
    for text in TIMESTAMP_STRINGS:
        shapes += [document(timestamp_validated=text), document(timestamp=text)]
    return [{**shape, "trained": True} if shape.get("trained") is False else shape for shape in shapes]


def plain_documents() -> list[dict]:
    """Return valid reviews of every class in different numbers, marked and not, and pending ones marked."""
    docs = []
    for class_id in CLASSES.ids:
        for n in range(class_id + 2):
            docs.append(document(output_prediction=class_id, output_validated=class_id, trained=True))
            docs.append(document(output_validated=class_id, trained=n % 2 == 0))
        docs.append(document(output_validated=None, timestamp_validated=None, trained=True))
    return docs


def oracle(collection: Collection, settings: MonitorSettings) -> dict[str, int]:
    """Return class name -> validated predictions marked trained, by parse_prediction over every document."""
    counts: Counter[int] = Counter()
    for doc in collection.find():
        record = parse_prediction(doc, settings.classes, settings.tz)
        if isinstance(record, Prediction) and record.trained and record.is_validated:
            counts[record.true_class] += 1
    return {c.name: counts[c.id] for c in settings.classes.classes}


@pytest.mark.parametrize("tz_name", TIME_ZONES)
def test_trained_counts_equal_the_contracts_verdict_on_every_document(
    settings: CommonSettings, mongo_client: MongoClient, make_monitor: MakeMonitor, tz_name: str
) -> None:
    monitor_settings = MonitorSettings.from_env(
        {}, MONGODB_URI=settings.MONGODB_URI, MONGODB_DB=settings.MONGODB_DB, TIMEZONE=tz_name
    )
    ensure_indexes(mongo_client, monitor_settings)
    collection = predictions(mongo_client, monitor_settings)
    collection.insert_many([{**doc, "_id": ObjectId()} for doc in hostile_shapes() + plain_documents()])
    try:
        want = oracle(collection, monitor_settings)
        client = make_monitor(monitor_settings)
        body = client.get("/api/training-data").get_json()
        assert body["trained_predictions"] == want
        configured = monitor_settings.classes.training_counts()
        assert body["class_counts"] == {name: configured[name] + want[name] for name in configured}
        # The sample holds documents marked `trained` that the contract refuses, and a count in every class.
        assert collection.count_documents({"trained": True}) > sum(want.values())
        assert all(want.values())
    finally:
        mongo_client.drop_database(monitor_settings.MONGODB_DB)
