"""The ledger's state document as both services read it, its one mismatch error, and the settings the logger
judged with, which it records there for the monitor.

The logger writes the document (clara_logger/state.py): its time zone, its last tick, the corrections
watermark, the reference levels of its last judgement, and `judged_with`: its interval and the drift and
alert thresholds it ran with. The monitor shows those and judges "behind" by that interval, so that the two
services never disagree about a setting only the logger acts on; without a record (no logger has run, or a
release before the record) the monitor answers with the common defaults and says so (`source`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError
from pymongo.database import Database

from clara_common import settings as common
from clara_common.db import Document
from clara_common.ledger import STATE_COLLECTION, STATE_ID
from clara_common.ledger.stored import STATE, typed
from clara_common.settings import DriftAlgorithm, PositiveFloat, PositiveInt, UnitInterval

# Where the state document keeps the logger's settings.
JUDGED_WITH = "judged_with"


class LedgerMismatch(RuntimeError):
    """The history was built under another TIMEZONE than its reader's: its days are not the reader's days."""


def read_state(database: Database[Document]) -> dict[str, Any] | None:
    """Return the ledger's state document, or None when no logger has run; a field of another type left out (typed)."""
    return typed(database[STATE_COLLECTION].find_one({"_id": STATE_ID}), STATE, STATE_COLLECTION)


class JudgedWith(BaseModel):
    """The logger's settings the monitor needs: each field is the logger's environment variable.

    `source` says where they come from: "logger" (its record) or "defaults" (clara_common.settings').
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    LOGGER_INTERVAL_MINUTES: PositiveFloat = common.LOGGER_INTERVAL_MINUTES
    DRIFT_ALGORITHM: DriftAlgorithm = common.DRIFT_ALGORITHM
    DRIFT_P_VALUE: UnitInterval = common.DRIFT_P_VALUE
    DRIFT_HELLINGER_THRESHOLD: UnitInterval = common.DRIFT_HELLINGER_THRESHOLD
    DRIFT_MIN_SAMPLES: PositiveInt = common.DRIFT_MIN_SAMPLES
    ALERT_MIN_SAMPLES: PositiveInt = common.ALERT_MIN_SAMPLES
    DRIFT_MIN_PSI: PositiveFloat = common.DRIFT_MIN_PSI
    DRIFT_WINDOW_DAYS: PositiveInt = common.DRIFT_WINDOW_DAYS
    ALERT_FALSE_ALARMS_PER_90_DAYS: PositiveFloat = common.ALERT_FALSE_ALARMS_PER_90_DAYS
    ALERT_MIN_ACCURACY: UnitInterval | None = common.ALERT_MIN_ACCURACY
    source: Literal["logger", "defaults"] = "defaults"


# The settings the logger records: every field but `source`.
RECORDED = tuple(name for name in JudgedWith.model_fields if name != "source")


def record_of(settings: object) -> dict[str, Any]:
    """Return what the logger records of its `settings` (a LoggerSettings): the RECORDED values by name."""
    return {name: getattr(settings, name) for name in RECORDED}


def judged_with(ledger: Mapping[str, Any] | None) -> JudgedWith:
    """Return the settings the logger recorded in the state document, or the defaults when it recorded none.

    A record the monitor cannot use (written by hand, or hostile) counts as none: the defaults, said so.
    """
    record = (ledger or {}).get(JUDGED_WITH)
    if not isinstance(record, Mapping):
        return JudgedWith()
    try:
        return JudgedWith.model_validate({**record, "source": "logger"})
    except ValidationError:
        return JudgedWith()
