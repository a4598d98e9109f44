"""The ledger's documents as the monitor reads them: each field of the type the logger writes, or left out.

The logger is the only writer, but a release before or after this one, or a hand edit, may leave a field
of another type (any BSON type) in a state, history, summary or traffic document. Readers take each
document through `typed` with the shape of its collection (STATE, HISTORY, UNREVIEWED, TRAFFIC): a field
that does not fit, or an entry of one (a confusion row or cell, a drift result, a calibration row), is
left out as if absent and logged once, so that one field never takes the rest of an answer with it.
Fields a shape does not name are kept as stored: no reader looks into them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Final

from clara_common.calibration import CALIBRATION_BINS
from clara_common.ledger.drift import FEATURES

log = logging.getLogger(__name__)


class _Absent:
    """What a reader returns for a value that does not fit: the field is left out."""


ABSENT: Final = _Absent()

# A reader: given a stored value, its path (for the warning) and where to note the parts it leaves out,
# return the value as the monitor reads it, or ABSENT.
Reader = Callable[[Any, str, list[str]], Any]

# (collection, document, path) already warned about: each is logged once per process.
_warned: set[tuple[str, str, str]] = set()
WARNED_LIMIT = 10_000


def of(*types: type) -> Reader:
    """Return a reader that keeps a value of one of `types` (a boolean is not an int unless bool is named)."""

    def read(value: Any, path: str, left: list[str]) -> Any:
        if isinstance(value, bool) and bool not in types:
            return ABSENT
        return value if isinstance(value, types) else ABSENT

    return read


def mapping_of(entry: Reader, key: Callable[[str], bool] = lambda _: True) -> Reader:
    """Return a reader of a mapping whose entries are each read by `entry`; an entry that does not fit is left out."""

    def read(value: Any, path: str, left: list[str]) -> Any:
        if not isinstance(value, Mapping):
            return ABSENT
        kept = {}
        for name, item in value.items():
            read_item = entry(item, f"{path}.{name}", left) if isinstance(name, str) and key(name) else ABSENT
            if read_item is ABSENT:
                left.append(f"{path}.{name}")
            else:
                kept[name] = read_item
        return kept

    return read


def list_of(item: Reader, length: int | None = None) -> Reader:
    """Return a reader of a list (of `length` items, if given) whose items all fit `item`; else the list is left out."""

    def read(value: Any, path: str, left: list[str]) -> Any:
        if not isinstance(value, list) or (length is not None and len(value) != length):
            return ABSENT
        items = [item(v, path, []) for v in value]
        return ABSENT if any(v is ABSENT for v in items) else items

    return read


def fields(shape: Mapping[str, Reader]) -> Reader:
    """Return a reader of a (sub)document: each field `shape` names read by its reader, the others kept as stored."""

    def read(value: Any, path: str, left: list[str]) -> Any:
        if not isinstance(value, Mapping):
            return ABSENT
        kept = {}
        for name, item in value.items():
            reader = shape.get(name)
            read_item = item if reader is None else reader(item, f"{path}.{name}" if path else name, left)
            if read_item is ABSENT:
                left.append(f"{path}.{name}" if path else name)
            else:
                kept[name] = read_item
        return kept

    return read


def typed(document: Mapping[str, Any] | None, shape: Mapping[str, Reader], collection: str) -> dict[str, Any] | None:
    """Return a stored ledger document with each field `shape` names as the monitor reads it, or left out.

    Each part left out is logged once (collection, document and field).
    """
    if document is None:
        return None
    left: list[str] = []
    kept: dict[str, Any] = fields(shape)(document, "", left)
    for path in left:
        _warn(collection, str(document.get("_id")), path)
    return kept


def _warn(collection: str, document: str, path: str) -> None:
    key = (collection, document, path)
    if key in _warned:
        return
    if len(_warned) < WARNED_LIMIT:
        _warned.add(key)
    log.warning(
        "%s document %s: %s left out, as if absent: not of the type the logger writes", collection, document, path
    )


def _is_id(name: str) -> bool:
    """Return whether a key is a class id as the logger writes it: digits, or "-1" (REJECTED_TRUE_CLASS)."""
    return name.removeprefix("-").isdigit()


COUNT = of(int)
NUMBER = of(int, float)
INSTANT = of(datetime)
TEXT = of(str)
MAPPING = of(dict)

# logger_state's one document (clara_common/ledger/state.py). `last_reconcile`, `judged_with` and `signal`
# are read further by their own readers (stored_part, JudgedWith, reference_levels).
STATE: dict[str, Reader] = {
    "timezone": TEXT,
    "created_at": INSTANT,
    "adopted_at": INSTANT,
    "corrections_since": INSTANT,
    "last_tick": fields({"started_at": INSTANT, "finished_at": INSTANT, "report": TEXT}),
    "last_reconcile": MAPPING,
    "judged_with": MAPPING,
    "signal": MAPPING,
    "unreviewed_as_of": INSTANT,
    "traffic_as_of": INSTANT,
}

# A calibration row: per confidence bin, [count, correct, confidence sum in millionths].
CALIBRATION_ROW = list_of(list_of(COUNT, 3), CALIBRATION_BINS)

# logger_history's day documents (clara_logger/history.py). A drift result is read further (stored_part).
HISTORY: dict[str, Reader] = {
    "count": COUNT,
    "invalid": COUNT,
    "confidence_missing": COUNT,
    "confusion": mapping_of(mapping_of(COUNT, _is_id), _is_id),
    "calibration": mapping_of(CALIBRATION_ROW, _is_id),
    "drift": fields({"evaluated_at": INSTANT, **{feature: of(dict, type(None)) for feature in FEATURES}}),
    "applied_batches": list_of(TEXT),
    "version": COUNT,
    "updated_at": INSTANT,
}

# logger_unreviewed's day documents (clara_common/unreviewed.py): per class, per bin, [n, Σc, Σc²].
UNREVIEWED: dict[str, Reader] = {
    "as_of": INSTANT,
    "unreviewed": COUNT,
    "invalid": COUNT,
    "cells": mapping_of(list_of(list_of(NUMBER, 3), CALIBRATION_BINS), _is_id),
    "without_confidence": mapping_of(COUNT, _is_id),
}

# logger_traffic's day documents (clara_common/traffic.py).
TRAFFIC: dict[str, Reader] = {
    "as_of": INSTANT,
    "predictions": COUNT,
    "reviewed": COUNT,
    "awaiting": COUNT,
    "invalid": COUNT,
    "median_review_hours": of(int, float, type(None)),  # None: no review
    "predictions_by_hour": list_of(COUNT, 24),
    "reviews_by_hour": list_of(COUNT, 24),
}
