"""CSV exports of /api/metrics: its daily metrics (one row per day) and its class metrics (one row per class).

Both take /api/metrics' parameters and are cut from its answer (range_answers.range_metrics), so a cell always
equals the JSON's value: a number as Python writes it (the same shortest round-trip form as the JSON),
an undefined value (null) as an empty cell. Bad input and a down database answer as the JSON route
does (400 and 503 JSON), because the same function raises the same errors. A text cell that a
spreadsheet would take for a formula (a class name from CLASSES_FILE such as `=1+1`) starts with `'`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from flask import Blueprint, Response
from flask.typing import ResponseReturnValue

from clara_monitor.context import monitor_context
from clara_monitor.range_answers import range_metrics

bp = Blueprint("export", __name__)

DAILY_COLUMNS = ("day", "entries", "precision", "accuracy", "recall", "f1")
CLASS_COLUMNS = ("class", "precision", "recall", "f1", "support")


# A text cell starting with one of these is a formula to a spreadsheet (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutral(cell: Any) -> Any:
    """Return a text cell that a spreadsheet would run as a formula with a leading ', as OWASP recommends.

    Numbers are left as they are (a negative number is data, and written by Python, not by a user).
    """
    return f"'{cell}" if isinstance(cell, str) and cell.startswith(FORMULA_STARTS) else cell


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Return RFC 4180 CSV: the header, then one line per row; None is an empty cell, formulas neutralised."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([neutral(cell) for cell in header])
    writer.writerows([neutral(cell) for cell in row] for row in rows)
    return out.getvalue()


def csv_response(text: str, filename: str) -> Response:
    """Return `text` as a CSV download named `filename`."""
    response = Response(text, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.get("/api/metrics.csv")
def daily_metrics_csv() -> ResponseReturnValue:
    """Return /api/metrics' daily metrics as CSV: one row per day (day, entries, precision, accuracy, recall, f1)."""
    answer = range_metrics(monitor_context())
    rows = ([day, *(scores[c] for c in DAILY_COLUMNS[1:])] for day, scores in answer["daily_metrics"].items())
    name = f"clara-metrics_{answer['start_date']}_{answer['end_date']}_{answer['average']}.csv"
    return csv_response(csv_text(DAILY_COLUMNS, rows), name)


@bp.get("/api/class-metrics.csv")
def class_metrics_csv() -> ResponseReturnValue:
    """Return /api/metrics' class metrics as CSV: one row per class, over the whole range."""
    answer = range_metrics(monitor_context())
    rows = ([name, *(scores[c] for c in CLASS_COLUMNS[1:])] for name, scores in answer["class_metrics"].items())
    name = f"clara-class-metrics_{answer['start_date']}_{answer['end_date']}.csv"
    return csv_response(csv_text(CLASS_COLUMNS, rows), name)
