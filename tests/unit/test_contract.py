"""The record contract: every valid shape is accepted, every malformed shape rejected with a reason."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from bson import ObjectId

from clara_common.classes import load_catalog
from clara_common.contract import (
    IN_THE_FUTURE, REJECTED_TRUE_CLASS, Prediction, Rejection, Review, is_early, parse_prediction,
)

CLASSES = load_catalog()
UTC = timezone.utc
MADRID = ZoneInfo("Europe/Madrid")
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


def parse(doc: object, tz=UTC) -> Prediction | Rejection:
    return parse_prediction(doc, CLASSES, tz)


def test_reviewer_class_id_is_the_true_class() -> None:
    record = parse(document())
    assert isinstance(record, Prediction)
    assert (record.review, record.predicted_class, record.true_class) == (Review.LABELLED, 1, 5)
    assert record.is_correct is False
    assert record.timestamp == PREDICTED_AT and record.timestamp_validated == VALIDATED_AT


def test_legacy_true_confirms_the_prediction() -> None:
    record = parse(document(output_validated=True))
    assert isinstance(record, Prediction)
    assert (record.review, record.true_class, record.is_correct) == (Review.CONFIRMED, 1, True)


def test_legacy_false_rejects_the_prediction_without_a_true_class() -> None:
    record = parse(document(output_validated=False))
    assert isinstance(record, Prediction)
    assert (record.review, record.true_class, record.is_correct) == (Review.REJECTED, REJECTED_TRUE_CLASS, False)


@pytest.mark.parametrize("pending", [None, ...])
def test_null_or_absent_verdict_is_pending_and_needs_no_validation_time(pending: object) -> None:
    record = parse(document(output_validated=pending, timestamp_validated=...))
    assert isinstance(record, Prediction)
    assert (record.review, record.true_class, record.is_validated, record.is_correct) == (
        Review.PENDING, None, False, None,
    )


@pytest.mark.parametrize("field", ["output_confidence", "trained", "logged"])
def test_optional_fields_may_be_absent(field: str) -> None:
    record = parse(document(**{field: ...}))
    assert isinstance(record, Prediction)


def test_absent_optional_flags_default_to_false_and_confidence_to_none() -> None:
    record = parse(document(output_confidence=None, trained=..., logged=...))
    assert isinstance(record, Prediction)
    assert (record.confidence, record.trained, record.logged) == (None, False, False)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-02T09:30:00Z", VALIDATED_AT),
        ("2026-03-02T10:30:00+01:00", VALIDATED_AT),
        ("2026-03-02 09:30:00.000+00:00", VALIDATED_AT),
        (datetime(2026, 3, 2, 9, 30), VALIDATED_AT),  # naive BSON date: UTC
    ],
)
def test_timestamps_may_be_bson_dates_or_iso_strings(value: object, expected: datetime) -> None:
    record = parse(document(timestamp_validated=value))
    assert isinstance(record, Prediction)
    assert record.timestamp_validated == expected


def test_iso_string_without_offset_is_read_in_the_configured_time_zone() -> None:
    record = parse(document(timestamp_validated="2026-03-02T10:30:00"), tz=MADRID)
    assert isinstance(record, Prediction)
    assert record.timestamp_validated == VALIDATED_AT


def test_integral_double_class_ids_are_accepted() -> None:
    record = parse(document(output_prediction=3.0, output_validated=3.0))
    assert isinstance(record, Prediction)
    assert (record.predicted_class, record.true_class) == (3, 3)


MALFORMED = {
    "not a mapping": (["filename", "x.jpg"], None),
    "filename missing": (document(filename=...), "filename"),
    "filename not a string": (document(filename=17), "filename"),
    "filename empty": (document(filename="  "), "filename"),
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
    "legacy true without validation time": (document(output_validated=True, timestamp_validated=None), "timestamp_validated"),
    "validation time unparseable": (document(timestamp_validated="2026-13-45"), "timestamp_validated"),
    "validation time empty": (document(timestamp_validated=""), "timestamp_validated"),
    "validation time in basic format": (document(timestamp_validated="20260302T093000Z"), "timestamp_validated"),
    "validation time as a week date": (document(timestamp_validated="2026-W09-1"), "timestamp_validated"),
    "validation time at the calendar's start": (document(timestamp_validated="0001-01-01T00:00+01:00"), "timestamp_validated"),
    "validation time with hour 24": (document(timestamp_validated="2026-03-02T24:00:00"), "timestamp_validated"),
    "trained not a bool": (document(trained="yes"), "trained"),
    "logged not a bool": (document(logged=1), "logged"),
    # Hostile shapes: each is left out and counted as invalid by every service.
    "validation time a number": (document(timestamp_validated=1767225600), "timestamp_validated"),
    "validation time a bool": (document(timestamp_validated=True), "timestamp_validated"),
    "validation time garbage": (document(timestamp_validated="yesterday at noon"), "timestamp_validated"),
    "validation time with a bad offset": (document(timestamp_validated="2026-03-02T09:30:00+25:00"),
                                          "timestamp_validated"),
    "validation time null on a review": (document(timestamp_validated=None), "timestamp_validated"),
    "logged a string": (document(logged="yes"), "logged"),
    "logged an object": (document(logged={"by": "clara"}), "logged"),
    "validation time a BSON date in year 1": (document(timestamp_validated=datetime(1, 1, 1, tzinfo=UTC)),
                                              "timestamp_validated"),
    "validation time a BSON date in year 9999": (document(timestamp_validated=datetime(9999, 12, 31, tzinfo=UTC)),
                                                 "timestamp_validated"),
    "validation time a naive BSON date in year 1": (document(timestamp_validated=datetime(1, 1, 1, 12)),
                                                    "timestamp_validated"),
    "validation time a string that is year 1 in UTC": (document(timestamp_validated="0002-01-01T00:30+01:00"),
                                                       "timestamp_validated"),
    "validation time a string that is year 9999 in UTC": (document(timestamp_validated="9998-12-31T23:30-01:00"),
                                                          "timestamp_validated"),
    "prediction time a BSON date in year 1": (document(timestamp=datetime(1, 1, 1, tzinfo=UTC)), "timestamp"),
    "prediction time a BSON date in year 9999": (document(timestamp=datetime(9999, 6, 1, tzinfo=UTC)), "timestamp"),
}


@pytest.mark.parametrize(("doc", "field"), list(MALFORMED.values()), ids=list(MALFORMED))
def test_malformed_documents_are_rejected_with_field_and_reason(doc: object, field: str | None) -> None:
    rejection = parse(doc)
    assert isinstance(rejection, Rejection)
    assert rejection.field == field
    assert rejection.reason
    assert str(rejection).startswith(field or "")


def test_rejection_keeps_the_document_id_for_quarantine() -> None:
    doc = document(output_prediction="blue")
    rejection = parse(doc)
    assert isinstance(rejection, Rejection) and rejection.id == doc["_id"]


def test_verdict_time_may_precede_or_follow_prediction_by_days() -> None:
    late = parse(document(timestamp_validated=PREDICTED_AT + timedelta(days=30)))
    assert isinstance(late, Prediction)


@pytest.mark.parametrize("value", [
    datetime(2, 1, 1, tzinfo=UTC),
    datetime(9998, 12, 31, 23, 59, 59, 999000, tzinfo=UTC),
    "0002-01-01T00:00:00Z",
    "9998-12-31T23:59:59Z",
])
def test_the_contracts_first_and_last_instants_are_accepted(value: object) -> None:
    assert isinstance(parse(document(timestamp_validated=value), tz=MADRID), Prediction)


NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SKEW = timedelta(minutes=10)


@pytest.mark.parametrize("value", [NOW + SKEW + timedelta(seconds=1), "2026-03-02T13:30:00+01:00", "2026-03-03"])
def test_a_review_validated_beyond_the_clock_skew_is_rejected_as_in_the_future(value: object) -> None:
    rejection = parse_prediction(document(timestamp_validated=value), CLASSES, MADRID, now=NOW, max_skew=SKEW)
    assert isinstance(rejection, Rejection)
    assert rejection.field == "timestamp_validated" and rejection.reason.startswith(IN_THE_FUTURE)


@pytest.mark.parametrize("value", [NOW, NOW + SKEW, "2026-03-02T13:10:00+01:00", VALIDATED_AT])
def test_a_review_validated_within_the_clock_skew_is_accepted(value: object) -> None:
    assert isinstance(parse_prediction(document(timestamp_validated=value), CLASSES, UTC, now=NOW, max_skew=SKEW),
                      Prediction)


def test_a_future_validation_time_counts_only_when_now_is_given_and_only_on_a_review() -> None:
    later = NOW + timedelta(days=3)
    assert isinstance(parse(document(timestamp_validated=later)), Prediction)
    pending = document(output_validated=None, timestamp_validated=later)
    assert isinstance(parse_prediction(pending, CLASSES, UTC, now=NOW, max_skew=SKEW), Prediction)


def test_is_early_says_which_documents_wait_until_due() -> None:
    assert is_early(document(timestamp_validated=NOW + timedelta(hours=1)), UTC, NOW, SKEW)
    assert not is_early(document(timestamp_validated=NOW + timedelta(minutes=5)), UTC, NOW, SKEW)
    assert not is_early(document(timestamp_validated="garbage"), UTC, NOW, SKEW)  # malformed: set aside now
    assert not is_early(document(timestamp_validated=NOW + timedelta(hours=1)), UTC, None, SKEW)
    assert not is_early(document(output_validated=None, timestamp_validated=NOW + timedelta(hours=1)), UTC, NOW, SKEW)
