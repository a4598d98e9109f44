"""Prediction documents in every shape the record contract is tested on: one valid document to vary, and
the malformed variations, each with the field its rejection must name."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from bson import ObjectId

from clara_common.classes import load_catalog

CLASSES = load_catalog()
UTC = UTC
PREDICTED_AT = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
VALIDATED_AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def document(**changes: object) -> dict[str, object]:
    """Return a valid validated document with `changes` applied; a value of ... removes the field."""
    doc: dict[str, object] = {
        "_id": ObjectId(),
        "filename": "img_0001.jpg",
        "output_confidence": 0.93,
        "output_prediction": 1,
        "output_validated": 5,
        "timestamp": PREDICTED_AT,
        "trained": False,
        "logged": False,
        "timestamp_validated": VALIDATED_AT,
    }
    for key, value in changes.items():
        if value is ...:
            doc.pop(key, None)
        else:
            doc[key] = value
    return doc


# The malformed shapes: name -> (document, the field its rejection names; None where it is no mapping).
MALFORMED = {
    "not a mapping": (["filename", "x.jpg"], None),
    "filename missing": (document(filename=...), "filename"),
    "filename not a string": (document(filename=17), "filename"),
    "filename empty": (document(filename="  "), "filename"),
    "filename over 1 KiB": (document(filename="f" * 1012), "filename"),
    "filename over 1 KiB in two-byte characters": (document(filename="é" * 506), "filename"),
    "timestamp over 1 KiB": (document(timestamp="2026-03-02T10:00:00." + "0" * 1000), "timestamp"),
    "validation time over 1 KiB": (
        document(timestamp_validated="2026-03-02T12:00:00." + "0" * 1000),
        "timestamp_validated",
    ),
    "prediction missing": (document(output_prediction=...), "output_prediction"),
    "prediction a string": (document(output_prediction="blue"), "output_prediction"),
    "prediction a bool": (document(output_prediction=True), "output_prediction"),
    "prediction unknown class": (document(output_prediction=7), "output_prediction"),
    "prediction negative": (document(output_prediction=-1), "output_prediction"),
    "prediction fractional": (document(output_prediction=2.5), "output_prediction"),
    "verdict unknown class": (document(output_validated=42), "output_validated"),
    "verdict a string": (document(output_validated="blue"), "output_validated"),
    "verdict NaN": (document(output_validated=math.nan), "output_validated"),
    "confidence NaN": (document(output_confidence=math.nan), "output_confidence"),
    "confidence infinite": (document(output_confidence=math.inf), "output_confidence"),
    "confidence above one": (document(output_confidence=1.5), "output_confidence"),
    "confidence negative": (document(output_confidence=-0.1), "output_confidence"),
    "confidence a string": (document(output_confidence="0.9"), "output_confidence"),
    "timestamp missing": (document(timestamp=...), "timestamp"),
    "timestamp unparseable": (document(timestamp="yesterday"), "timestamp"),
    "timestamp a number": (document(timestamp=1767225600), "timestamp"),
    "validated without validation time": (document(timestamp_validated=...), "timestamp_validated"),
    "legacy true without validation time": (
        document(output_validated=True, timestamp_validated=None),
        "timestamp_validated",
    ),
    "validation time unparseable": (document(timestamp_validated="2026-13-45"), "timestamp_validated"),
    "validation time empty": (document(timestamp_validated=""), "timestamp_validated"),
    "validation time in basic format": (document(timestamp_validated="20260302T093000Z"), "timestamp_validated"),
    "validation time as a week date": (document(timestamp_validated="2026-W09-1"), "timestamp_validated"),
    "validation time at the calendar's start": (
        document(timestamp_validated="0001-01-01T00:00+01:00"),
        "timestamp_validated",
    ),
    "validation time with hour 24": (document(timestamp_validated="2026-03-02T24:00:00"), "timestamp_validated"),
    "trained not a bool": (document(trained="yes"), "trained"),
    "logged not a bool": (document(logged=1), "logged"),
    # Hostile shapes: each is left out and counted as invalid by every service.
    "validation time a number": (document(timestamp_validated=1767225600), "timestamp_validated"),
    "validation time a bool": (document(timestamp_validated=True), "timestamp_validated"),
    "validation time garbage": (document(timestamp_validated="yesterday at noon"), "timestamp_validated"),
    "validation time with a bad offset": (
        document(timestamp_validated="2026-03-02T09:30:00+25:00"),
        "timestamp_validated",
    ),
    "validation time null on a review": (document(timestamp_validated=None), "timestamp_validated"),
    "logged a string": (document(logged="yes"), "logged"),
    "logged an object": (document(logged={"by": "clara"}), "logged"),
    "validation time a BSON date in year 1": (
        document(timestamp_validated=datetime(1, 1, 1, tzinfo=UTC)),
        "timestamp_validated",
    ),
    "validation time a BSON date in year 9999": (
        document(timestamp_validated=datetime(9999, 12, 31, tzinfo=UTC)),
        "timestamp_validated",
    ),
    "validation time a naive BSON date in year 1": (
        document(timestamp_validated=datetime(1, 1, 1, 12)),
        "timestamp_validated",
    ),
    "validation time a string that is year 1 in UTC": (
        document(timestamp_validated="0002-01-01T00:30+01:00"),
        "timestamp_validated",
    ),
    "validation time a string that is year 9999 in UTC": (
        document(timestamp_validated="9998-12-31T23:30-01:00"),
        "timestamp_validated",
    ),
    "prediction time a BSON date in year 1": (document(timestamp=datetime(1, 1, 1, tzinfo=UTC)), "timestamp"),
    "prediction time a BSON date in year 9999": (document(timestamp=datetime(9999, 6, 1, tzinfo=UTC)), "timestamp"),
}
