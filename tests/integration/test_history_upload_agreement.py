"""History and uploads agree: every logged prediction is in its day's history counts once, and once in
the classification metrics of the profile uploaded for that day, with or without a confidence."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from clara_common.contract import Prediction, parse_prediction
from clara_common.days import local_day
from clara_common.db import make_client
from clara_logger import history, profiles
from clara_logger.tick import LoggerService
from tests.utils.predictions import prediction
from tests.utils.whylabs_endpoint import WhyLabsEndpoint, whylabs_settings

pytestmark = pytest.mark.integration


def source_cells(db, settings) -> Counter:
    """Return (day, true name, predicted name) -> validated predictions, parsed from the source."""
    cells: Counter = Counter()
    for doc in db[settings.PREDICTIONS_COLLECTION].find():
        record = parse_prediction(doc, settings.classes, settings.tz)
        if isinstance(record, Prediction) and record.is_validated:
            cells[
                (
                    local_day(record.timestamp_validated, settings.tz).isoformat(),
                    profiles.class_label(record.true_class, settings.classes),
                    settings.classes.name_of(record.predicted_class),
                )
            ] += 1
    return cells


def history_cells(db, settings) -> Counter:
    cells: Counter = Counter()
    for record in history.history(db).find():
        for true, row in record["confusion"].items():
            for predicted, n in row.items():
                cells[
                    (
                        record["_id"],
                        profiles.class_label(int(true), settings.classes),
                        settings.classes.name_of(int(predicted)),
                    )
                ] += n
    return cells


def uploaded_cells(whylabs: WhyLabsEndpoint) -> Counter:
    """Return the same cells, read from the classification metrics of the profiles the endpoint received."""
    cells: Counter = Counter()
    for upload in whylabs.uploads:
        view = profiles.deserialize(upload.body)
        matrix = view.model_performance_metrics.confusion_matrix
        day = view.dataset_timestamp.date().isoformat()
        for (predicted, true), metric in matrix.confusion_matrix.items():
            if metric.n:
                cells[(day, matrix.labels[true], matrix.labels[predicted])] += metric.n
    return cells


def test_each_logged_prediction_is_once_in_the_history_and_once_in_the_uploaded_metrics(db, settings, whylabs):
    rng = random.Random(21)
    docs = [prediction(rng, i, legacy=i % 9 == 0) for i in range(120)]
    for doc in docs[::4]:
        del doc["output_confidence"]  # no confidence: still one prediction in every count
    db[settings.PREDICTIONS_COLLECTION].insert_many(docs)
    configured = whylabs_settings(settings, whylabs.url)
    with make_client(configured) as client:
        LoggerService(configured, client).tick()

    want = source_cells(db, settings)
    assert sum(want.values()) == len(docs)
    assert any(true == "rejected" for _, true, _ in want)
    assert history_cells(db, settings) == want
    assert uploaded_cells(whylabs) == want
