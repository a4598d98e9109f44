"""Oversized documents (issue 18, item 1): one document must never stop the logger.

A claim copies the contract's fields onto the document it claims. A 9 MB filename once pushed that
copy past MongoDB's 16 MiB limit (error 10334): every tick failed as "database unavailable", and
nothing else was logged. Now values over the contract's size limit are not copied (the copy keeps
their size), and a document the server still refuses to claim is set aside alone, with its reason.
Real `clara-logger` processes on the test database.
"""

from __future__ import annotations

import dataclasses
import os
import random
import subprocess
import sys

import bson
import pytest
from bson import Binary

from clara_common.contract import FIELD_LIMIT_BYTES, Rejection, parse_prediction
from clara_common.ledger import contribution, copy_differs, copy_of
from clara_logger import batches
from tests.utils.predictions import prediction, stored_confusion

pytestmark = [pytest.mark.integration, pytest.mark.slow]

NINE_MB = 9 * 2**20
MAX_DOCUMENT = 16 * 2**20


def logger_env(settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WHYLABS_", "ALERT_", "LOGGER_", "MONGODB_"))}
    env.update(
        {
            "MONGODB_URI": settings.MONGODB_URI.get_secret_value(),
            "MONGODB_DB": settings.MONGODB_DB,
            "PREDICTIONS_COLLECTION": settings.PREDICTIONS_COLLECTION,
            "WHYLOGS_NO_ANALYTICS": "1",
        }
    )
    return env


def run_logger(settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "clara_logger.cli", *args],
        env=logger_env(settings),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def good_predictions(count: int) -> list[dict]:
    rng = random.Random(18)
    return [prediction(rng, index) for index in range(count)]


def near_the_limit(margin: int) -> dict:
    """Return a valid prediction whose BSON size is `margin` bytes under 16 MiB (a large field outside the contract)."""
    doc = {**good_predictions(1)[0], "_id": "near-the-limit", "filename": "near-the-limit.jpg", "notes": ""}
    doc["notes"] = "x" * (MAX_DOCUMENT - margin - len(bson.encode(doc)))
    assert len(bson.encode(doc)) == MAX_DOCUMENT - margin
    return doc


def test_a_9_mb_filename_is_set_aside_alone_and_the_rest_is_logged(db, settings):
    good = good_predictions(30)
    huge = {**good_predictions(1)[0], "_id": "huge-filename", "filename": "a" * NINE_MB}
    predictions = db[settings.PREDICTIONS_COLLECTION]
    predictions.insert_many([huge, *good])

    result = run_logger(settings, "--once")

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert "database unavailable" not in result.stderr
    stored = stored_confusion(db)
    assert sum(stored.values()) == 30  # every good prediction, and the oversized one only as invalid
    assert sum(day["invalid"] for day in db.logger_history.find()) == 1
    kept = predictions.find_one({"_id": "huge-filename"})
    assert kept["filename"] == huge["filename"]  # nothing lost
    reason = f"filename: is larger than {FIELD_LIMIT_BYTES} bytes ({NINE_MB + 13:,} bytes as BSON)"
    assert kept["logged_error"] == reason
    assert kept["logged"] is False  # as the writer left it
    assert "filename" not in kept["logged_as"]  # the copy keeps its size, not its bytes
    assert kept["logged_as"]["oversized"] == {"filename": NINE_MB + 13}

    again = run_logger(settings, "--once")  # the next tick does not take it up again
    assert again.returncode == 0, again.stderr
    assert "tick found=0 " in again.stderr, again.stderr
    assert sum(day["invalid"] for day in db.logger_history.find()) == 1


def test_a_document_the_server_refuses_to_claim_is_set_aside_with_the_servers_reason(db, settings):
    good = good_predictions(30)
    refused = near_the_limit(margin=250)  # a copy and a batch id do not fit; a short reason does
    predictions = db[settings.PREDICTIONS_COLLECTION]
    predictions.insert_many([refused, *good])

    result = run_logger(settings, "--once")

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert "database unavailable" not in result.stderr
    assert sum(stored_confusion(db).values()) == 30
    kept = predictions.find_one({"_id": "near-the-limit"}, {"notes": 0})
    assert kept["logged_error"].startswith("cannot be claimed: MongoDB error 10334"), kept["logged_error"]
    assert "logged_as" not in kept and "logger_batch" not in kept
    assert run_logger(settings, "--once").returncode == 0  # and it is not tried again


def test_reconcile_adopts_an_oversized_document_logged_by_the_original_logger(db, settings):
    predictions = db[settings.PREDICTIONS_COLLECTION]
    predictions.insert_many(good_predictions(10))
    assert run_logger(settings, "--once").returncode == 0
    # Logged by the original CLARA logger (no copy): a reconcile adopts it, which claims it again.
    predictions.insert_one({**good_predictions(1)[0], "_id": "adopted", "filename": "b" * NINE_MB, "logged": True})

    result = run_logger(settings, "--reconcile", "--all")

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    kept = predictions.find_one({"_id": "adopted"})
    assert kept["logged_error"].startswith("filename: is larger than")
    assert kept["logged"] is True  # as the writer left it
    assert sum(day["invalid"] for day in db.logger_history.find()) == 1


BOUNDARY_VALUES = [
    "c" * (FIELD_LIMIT_BYTES - 13),  # exactly at the limit
    "c" * (FIELD_LIMIT_BYTES - 12),  # one byte over
    "é" * ((FIELD_LIMIT_BYTES - 13) // 2),  # two bytes a character, at the limit
    "é" * ((FIELD_LIMIT_BYTES - 13) // 2 + 1),
    " " * 2000 + "x",  # white space around a name: valid under the limit only
    ["d"] * 300,
    {"nested": "e" * 2000},
    Binary(b"\0" * 1500),
    "2026-03-02T10:00:00." + "0" * 2000,  # an ISO-8601 date-time the parser would read, but oversized
]
FIELDS_TRIED = ["filename", "output_prediction", "timestamp", "timestamp_validated", "output_validated", "trained"]


def judging(settings):
    return settings.classes, settings.tz


def verdict(fields, settings) -> object:
    """Return what the contract says of `fields`, whatever their `_id` (a copy has none)."""
    parsed = parse_prediction(fields, *judging(settings))
    return str(parsed) if isinstance(parsed, Rejection) else dataclasses.replace(parsed, id=None)


def test_a_claims_copy_is_judged_as_its_document_at_the_size_limit(db, settings):
    """The copy the database makes ($bsonSize) and the contract (field_size) agree at the boundary, on every field."""
    predictions = db[settings.PREDICTIONS_COLLECTION]
    base = good_predictions(1)[0]
    docs = [
        {**base, "_id": f"{name}-{i}", name: value} for name in FIELDS_TRIED for i, value in enumerate(BOUNDARY_VALUES)
    ]
    predictions.insert_many(docs)
    batch_id = "boundary"
    predictions.update_many({}, batches.claim_update(batch_id))

    for claimed in predictions.find():
        original = next(doc for doc in docs if doc["_id"] == claimed["_id"])
        copy = copy_of(claimed)
        assert verdict(copy, settings) == verdict(original, settings), claimed["_id"]
        assert contribution(copy, *judging(settings)) == contribution(original, *judging(settings))
        assert len(bson.encode(claimed)) - len(bson.encode(original)) < 9 * FIELD_LIMIT_BYTES


def test_an_unchanged_oversized_document_is_no_correction_and_a_changed_one_is(db, settings):
    predictions = db[settings.PREDICTIONS_COLLECTION]
    predictions.insert_one({**good_predictions(1)[0], "_id": "big", "filename": "f" * 5000})
    predictions.update_one({"_id": "big"}, batches.claim_update("b1"))
    claimed = predictions.find_one({"_id": "big"})
    assert not copy_differs(claimed)
    assert copy_differs({**claimed, "filename": "fixed.jpg"})
    assert copy_differs({**claimed, "filename": "f" * 6000})
