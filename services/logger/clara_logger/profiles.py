"""whylogs profiles of validated predictions: build one per day, serialize, read back, merge.

A profile holds the classification metrics (true class against predicted class, confidence as the
score) and the distributions of predicted class, true class and confidence. It is stored in
whylogs' v0 format, the one the WhyLabs writer sends for profiles with model metrics:
`DatasetProfileView.serialize()` (v1) silently drops those metrics. Read a stored profile back with
plain whylogs: `whylogs.migration.converters.read_v0_to_view(path)`.
"""

from __future__ import annotations

import io
import logging
import math
import os
from collections.abc import Sequence
from datetime import datetime

# Before whylogs is imported: it reads this once, and must not phone home.
os.environ.setdefault("WHYLOGS_NO_ANALYTICS", "1")

import numpy as np  # noqa: E402
import numpy.typing as npt  # noqa: E402
import pandas as pd  # noqa: E402
import whylogs as why  # noqa: E402
from whylogs.core import DatasetProfileView  # noqa: E402
from whylogs.core.metrics.metrics import DistributionMetric  # noqa: E402
from whylogs.core.model_performance_metrics import ModelPerformanceMetrics  # noqa: E402
from whylogs.core.model_performance_metrics.confusion_matrix import ConfusionMatrix  # noqa: E402
from whylogs.core.preprocessing import PreprocessedColumn  # noqa: E402
from whylogs.core.proto.v0 import DatasetProfileMessageV0  # noqa: E402
from whylogs.core.resolvers import StandardResolver  # noqa: E402
from whylogs.core.schema import DatasetSchema  # noqa: E402
from whylogs.core.utils.protobuf_utils import read_delimited_protobuf, write_delimited_protobuf  # noqa: E402
from whylogs.migration.converters import v0_to_v1_view, v1_to_dataset_profile_message_v0  # noqa: E402

from clara_common.classes import ClassCatalog  # noqa: E402

# Reading a v0 profile, whylogs first tries the old float sketch, fails, warns, then reads the double
# sketch its own writer stored: the expected path, not worth a warning per profile.
logging.getLogger("whylogs.migration.converters").setLevel(logging.ERROR)
from clara_common.contract import REJECTED_TRUE_CLASS, Prediction  # noqa: E402

TRUE_CLASS = "true_class"
PREDICTED_CLASS = "predicted_class"
CONFIDENCE = "confidence"
# The true-class label of a prediction the reviewer rejected without naming the right class.
REJECTED_LABEL = "rejected"


def class_label(class_id: int, classes: ClassCatalog) -> str:
    """Return the profile label of a class id: its name, or REJECTED_LABEL for a legacy `false`."""
    return REJECTED_LABEL if class_id == REJECTED_TRUE_CLASS else classes.name_of(class_id)


def prediction_frame(predictions: Sequence[Prediction], classes: ClassCatalog) -> pd.DataFrame:
    """Return the frame whylogs profiles: true class, predicted class (names) and confidence."""
    return pd.DataFrame(
        {
            TRUE_CLASS: [class_label(p.true_class, classes) for p in predictions],  # type: ignore[arg-type]
            PREDICTED_CLASS: [classes.name_of(p.predicted_class) for p in predictions],
            # A missing confidence is NaN: the confidence column counts it as null, not as a value.
            CONFIDENCE: [math.nan if p.confidence is None else p.confidence for p in predictions],
        }
    )


def cell_scores(frame: pd.DataFrame) -> npt.NDArray[np.float64]:
    """Return the score each prediction adds to its confusion cell: its confidence, 1.0 if missing."""
    # A cell's count is its score sketch's n, which skips NaN; 1.0 is whylogs' own score when none is given.
    scores: npt.NDArray[np.float64] = np.nan_to_num(frame[CONFIDENCE].to_numpy(dtype=float), nan=1.0)
    return scores


def confusion_matrix(frame: pd.DataFrame) -> ConfusionMatrix:
    """Return whylogs' confusion matrix of a frame: a distribution of confidence per (predicted, true) cell.

    What `ModelPerformanceMetrics.compute_confusion_matrix` builds, but it hands each cell's scores
    to whylogs as a list, which costs milliseconds per cell; an array costs far less (docs/benchmarks.md,
    "Figures behind design choices").
    """
    targets = frame[TRUE_CLASS].tolist()
    predictions = frame[PREDICTED_CLASS].tolist()
    matrix = ConfusionMatrix(labels=sorted(set(targets) | set(predictions)))
    index = {label: position for position, label in enumerate(matrix.labels)}
    scores = cell_scores(frame)
    cells = pd.Series(range(len(frame))).groupby([[index[p] for p in predictions], [index[t] for t in targets]])
    for cell, rows in cells.groups.items():
        metric = DistributionMetric.zero(matrix.default_config)
        metric.columnar_update(PreprocessedColumn.apply(scores[np.asarray(rows)]))
        matrix.confusion_matrix[(int(cell[0]), int(cell[1]))] = metric
    return matrix


def profile_frame(frame: pd.DataFrame, dataset_timestamp: datetime) -> DatasetProfileView:
    """Return the profile of a frame of predictions, with classification metrics."""
    # The same metrics as the default (declarative) resolver, resolved faster (docs/benchmarks.md):
    # this runs once per batch and day.
    result = why.log(
        pandas=frame, schema=DatasetSchema(resolvers=StandardResolver()), dataset_timestamp=dataset_timestamp
    )
    performance = ModelPerformanceMetrics()
    if len(frame):
        performance.confusion_matrix = confusion_matrix(frame)
    result.add_model_performance_metrics(performance)
    return result.view()


def serialize(view: DatasetProfileView) -> bytes:
    """Return the profile as whylogs v0 bytes, which keep the classification metrics."""
    buffer = io.BytesIO()
    write_delimited_protobuf(buffer, v1_to_dataset_profile_message_v0(view, None, None))
    return buffer.getvalue()


def deserialize(data: bytes) -> DatasetProfileView:
    """Return the profile stored as whylogs v0 bytes."""
    return v0_to_v1_view(read_delimited_protobuf(io.BytesIO(data), DatasetProfileMessageV0))


def _fill_confusion_cells(view: DatasetProfileView) -> DatasetProfileView:
    # whylogs 1.6.4 cannot merge two confusion matrices when one has a cell the other lacks
    # (`_merge_CM` calls `merge(None)`); an empty distribution in every cell makes merges total.
    performance = view.model_performance_metrics
    matrix = performance.confusion_matrix if performance is not None else None
    if matrix is None or not matrix.labels:
        return view
    size = len(matrix.labels)
    for row in range(size):
        for column in range(size):
            if matrix.confusion_matrix.get((row, column)) is None:
                matrix.confusion_matrix[(row, column)] = DistributionMetric.zero(matrix.default_config)
    return view


def merge(left: DatasetProfileView | None, right: DatasetProfileView) -> DatasetProfileView:
    """Return the merge of two profiles (`left` may be None)."""
    if left is None:
        return right
    return _fill_confusion_cells(left).merge(_fill_confusion_cells(right))
