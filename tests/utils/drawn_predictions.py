"""Prediction documents made from what a test drew (the class, the confidence, whether the model was right), so that
the truth a service estimates is known to the test."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta


def drawn_prediction(
    filename: str,
    predicted: int,
    confidence: float,
    made: datetime,
    verdict: int | None = None,
    delay: timedelta = timedelta(hours=1),
    margin: timedelta = timedelta(minutes=1),
) -> dict:
    """Return a prediction made at `made`, not logged; a NaN `confidence` is stored as none. With a `verdict`, it was
    reviewed `delay` after it was made, but `margin` before now at the latest."""
    doc = {
        "filename": filename,
        "output_prediction": int(predicted),
        "output_confidence": None if math.isnan(confidence) else float(confidence),
        "timestamp": made,
        "output_validated": None,
        "timestamp_validated": None,
        "logged": False,
    }
    if verdict is not None:
        doc["output_validated"] = verdict
        doc["timestamp_validated"] = min(made + delay, datetime.now(UTC) - margin)
    return doc
