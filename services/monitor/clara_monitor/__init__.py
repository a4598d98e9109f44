"""CLARA Monitor's web service: the JSON API and the dashboard, built by `create_app`."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from flask import Flask, current_app
from flask.json.provider import DefaultJSONProvider
from pymongo import MongoClient
from pymongo.collection import Collection
from pymongo.database import Database

from clara_common.db import Document, get_database, make_client, predictions
from clara_monitor import security
from clara_monitor.reader import CountedDays, HistoryCache, LiveTail, RangeCounts, TailJudgements, range_counts
from clara_monitor.settings import MonitorSettings
from clara_monitor.training import TrainedCounts

log = logging.getLogger(__name__)
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
        """Return the exact counts of local days `first` to `last` (reader.range_counts), with this process's caches."""
        return range_counts(
            self.database, self.predictions, first, last, self.settings, self.history, self.tail, self.live
        )


class OrderedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, with each object's keys in the order the answer built them rather than sorted."""

    sort_keys = False


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the monitor: defaults, then the environment's settings, then `test_config`.

    `test_config` may hold Flask keys and a "SETTINGS" entry (a MonitorSettings object) that replaces the
    environment's settings.
    """
    app = Flask(__name__)
    # Under gunicorn, the app's records go through gunicorn's handlers, to the same stream.
    gunicorn_log = logging.getLogger("gunicorn.error")
    if gunicorn_log.handlers:
        for name in ("clara_monitor", app.logger.name):
            bridged = logging.getLogger(name)
            bridged.handlers = gunicorn_log.handlers
            bridged.setLevel(gunicorn_log.level)
            bridged.propagate = False  # the root logger's handler would print each line twice
    settings = MonitorSettings.from_env()
    if test_config is not None:
        settings = test_config.get("SETTINGS", settings)
        app.config.from_mapping({k: v for k, v in test_config.items() if k != "SETTINGS"})
    app.json = OrderedJSONProvider(app)
    # Before anything is connected: half-set credentials or an unreadable password file stop the app here.
    required = security.credentials(settings)
    # One client per process: made here (after gunicorn forks its workers), never at import time.
    client = make_client(
        settings,
        appname="clara-monitor",
        serverSelectionTimeoutMS=settings.MONITOR_DB_TIMEOUT_MS,
        # Not short: the driver's heartbeats use it, and a database busy with a long count must not
        # be taken for a down one (the server-selection timeout above gives the quick 503).
        connectTimeoutMS=20_000,
    )
    app.extensions["clara_monitor"] = MonitorContext(
        settings=settings, client=client, trained=TrainedCounts(settings.MONITOR_TRAINING_CACHE_SECONDS)
    )

    from clara_monitor import api, errors, estimate, export, openapi, original, prometheus, traffic, views

    app.register_blueprint(api.bp)
    app.register_blueprint(original.bp)
    app.register_blueprint(export.bp)
    app.register_blueprint(estimate.bp)
    app.register_blueprint(traffic.bp)
    app.register_blueprint(openapi.bp)
    app.register_blueprint(prometheus.bp)
    app.register_blueprint(views.bp)
    errors.register(app)
    security.register(app, required, settings.METRICS_TOKEN)
    return app


def monitor_context() -> MonitorContext:
    """Return the current app's MonitorContext: its settings, database client and caches."""
    context: MonitorContext = current_app.extensions["clara_monitor"]
    return context
