"""What the views share in one process: the settings, the database client and the caches (MonitorContext)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from flask import current_app, request
from pymongo import MongoClient
from pymongo.collection import Collection
from pymongo.database import Database

from clara_common.days import today
from clara_common.db import Document, get_database, predictions
from clara_monitor.date_range import CountedDays, day_bounds
from clara_monitor.params import DEFAULT_DAYS, FIRST_YEAR, LAST_YEAR, requested_range
from clara_monitor.range_counts import HistoryCache, RangeCounts, range_counts
from clara_monitor.settings import MonitorSettings
from clara_monitor.tail import LiveTail, TailJudgements
from clara_monitor.training import TrainedCounts

T = TypeVar("T")


class Answers:
    """What was computed from a read's counts, by what it was asked and the read's fingerprint: reads that
    find nothing new (most, between two reviews) skip the arithmetic. The oldest are dropped past LIMIT."""

    LIMIT = 256

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: OrderedDict[Hashable, Any] = OrderedDict()

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            if key in self._kept:
                self._kept.move_to_end(key)
                kept: T = self._kept[key]
                return kept
        value = compute()
        with self._lock:
            self._kept[key] = value
            while len(self._kept) > self.LIMIT:
                self._kept.popitem(last=False)
        return value


@dataclass
class MonitorContext:
    """What the views need: the settings, the one client of this process, and what it keeps between requests
    (the training counts, the history's days, the tail's judgements and recent documents, the answers)."""

    settings: MonitorSettings
    client: MongoClient[Document]
    trained: TrainedCounts
    history: HistoryCache = field(default_factory=HistoryCache)
    counted_days: CountedDays = field(default_factory=CountedDays)
    tail: TailJudgements = field(default_factory=TailJudgements)
    live: LiveTail = field(default_factory=LiveTail)
    answers: Answers = field(default_factory=Answers)

    @property
    def predictions(self) -> Collection[Document]:
        return predictions(self.client, self.settings)

    @property
    def database(self) -> Database[Document]:
        return get_database(self.client, self.settings)

    def read_range(self, first: date, last: date) -> RangeCounts:
        """Return the exact counts of local days `first` to `last` (range_counts.py), with this process's caches."""
        return range_counts(
            self.database, self.predictions, first, last, self.settings, self.history, self.tail, self.live
        )

    def read_requested_range(self, default_days: int = DEFAULT_DAYS) -> tuple[date, date, RangeCounts]:
        """Return the range the request asks for (the last `default_days` days by default) and its counts."""
        start, end = requested_range(request.args, today(self.settings.tz), default_days)
        return start, end, self.read_range(start, end)

    def first_and_last_day(self) -> tuple[str | None, str | None]:
        """Return the first and last local day with validated predictions (None and None when there are none).

        Both within the days a request may name, and never after today.
        """
        current_day = today(self.settings.tz)
        return day_bounds(
            self.database,
            self.predictions,
            self.settings,
            date(FIRST_YEAR, 1, 1),
            min(current_day, date(LAST_YEAR, 12, 31)),
            self.counted_days,
        )


def monitor_context() -> MonitorContext:
    """Return the current app's MonitorContext: its settings, database client and caches."""
    context: MonitorContext = current_app.extensions["clara_monitor"]
    return context
