"""The record contract: every valid shape is accepted, every malformed shape rejected with a reason."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from clara_common.contract import (
    FIELD_LIMIT_BYTES,
    IN_THE_FUTURE,
    REJECTED_TRUE_CLASS,
    Oversized,
    Prediction,
    Rejection,
    Review,
    field_size,
    is_early,
    parse_prediction,
)
from tests.utils.contract_documents import CLASSES, MALFORMED, PREDICTED_AT, UTC, VALIDATED_AT, document

MADRID = ZoneInfo("Europe/Madrid")


def parse(doc: object, tz=UTC) -> Prediction | Rejection:
    return parse_prediction(doc, CLASSES, tz)


def test_reviewer_class_id_is_the_true_class() -> None:
    record = parse(document())
    assert isinstance(record, Prediction)
    assert (record.review, record.predicted_class, record.true_class) == (Review.LABELLED, 1, 5)
    assert record.true_class != record.predicted_class
    assert record.timestamp == PREDICTED_AT and record.timestamp_validated == VALIDATED_AT


def test_legacy_true_confirms_the_prediction() -> None:
    record = parse(document(output_validated=True))
    assert isinstance(record, Prediction)
    assert (record.review, record.true_class) == (Review.CONFIRMED, record.predicted_class)


def test_legacy_false_rejects_the_prediction_without_a_true_class() -> None:
    record = parse(document(output_validated=False))
    assert isinstance(record, Prediction)
    assert (record.review, record.true_class) == (Review.REJECTED, REJECTED_TRUE_CLASS)


@pytest.mark.parametrize("pending", [None, ...])
def test_null_or_absent_verdict_is_pending_and_needs_no_validation_time(pending: object) -> None:
    record = parse(document(output_validated=pending, timestamp_validated=...))
    assert isinstance(record, Prediction)
    assert (record.review, record.true_class, record.is_validated) == (Review.PENDING, None, False)


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


@pytest.mark.parametrize(
    "value",
    [
        datetime(2, 1, 1, tzinfo=UTC),
        datetime(9998, 12, 31, 23, 59, 59, 999000, tzinfo=UTC),
        "0002-01-01T00:00:00Z",
        "9998-12-31T23:59:59Z",
    ],
)
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
    assert isinstance(
        parse_prediction(document(timestamp_validated=value), CLASSES, UTC, now=NOW, max_skew=SKEW), Prediction
    )


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


def test_the_contract_table_says_what_the_contract_accepts_as_a_class_id() -> None:
    """Issue 18, item 6: the code accepts integral doubles as class ids, so docs/contract.md's table must say so."""
    page = (Path(__file__).resolve().parents[2] / "docs" / "contract.md").read_text()
    rows = {line.split("|")[1].strip(): line for line in page.splitlines() if line.startswith("| `output_")}
    assert parse(document(output_prediction=3.0, output_validated=3.0)).predicted_class == 3
    assert "integral double" in rows["`output_prediction`"] and "integral double" in rows["`output_validated`"]


def test_a_field_over_the_size_limit_breaks_the_contract() -> None:
    """Issue 18, item 1: a 9 MB filename is no base name; the bound keeps the logger's copies small."""
    at_limit = "a" * (FIELD_LIMIT_BYTES - 13)  # {"v": "..."} encodes to exactly FIELD_LIMIT_BYTES
    assert isinstance(parse(document(filename=at_limit)), Prediction)
    over = parse(document(filename=at_limit + "a"))
    assert isinstance(over, Rejection)
    assert str(over) == f"filename: is larger than {FIELD_LIMIT_BYTES} bytes ({FIELD_LIMIT_BYTES + 1:,} bytes as BSON)"
    # A value the parser would otherwise read (a long fraction of a second) counts by its size first.
    long_iso = "2026-03-02T10:00:00." + "0" * 2000
    assert str(parse(document(timestamp=long_iso))).startswith("timestamp: is larger than")


def test_an_oversized_value_known_by_its_size_is_judged_as_the_value() -> None:
    value = ["x"] * 500
    size = field_size(value)
    assert size > FIELD_LIMIT_BYTES
    assert str(parse(document(output_prediction=Oversized(size)))) == str(parse(document(output_prediction=value)))
