"""CSV text of /api/metrics' answer: its daily metrics (one row per day) and its class metrics (one row per class).

api.py's two CSV routes take /api/metrics' parameters and cut these from its answer (api.range_metrics),
so a cell always equals the JSON's value: a number as Python writes it (the same shortest round-trip form as the JSON),
an undefined value (null) as an empty cell. Bad input and a down database answer as the JSON route
does (400 and 503 JSON), because the same function raises the same errors. A text cell that a
spreadsheet would take for a formula (a class name from CLASSES_FILE such as `=1+1`) starts with `'`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from flask import Response

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


def keyed_csv(columns: Sequence[str], by_key: Mapping[str, Mapping[str, Any]]) -> str:
    """Return CSV with one row per key of `by_key`: the key under `columns[0]`, then its mapping's other columns."""
    return csv_text(columns, ([key, *(values[c] for c in columns[1:])] for key, values in by_key.items()))


def csv_response(text: str, filename: str) -> Response:
    """Return `text` as a CSV download named `filename`."""
    response = Response(text, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
