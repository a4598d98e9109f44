"""The monitor's Flask application, built by `create_app`: settings, one database client, the views."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask.json.provider import DefaultJSONProvider

from clara_common.db import make_client
from clara_monitor import security
from clara_monitor.context import MonitorContext
from clara_monitor.settings import MonitorSettings
from clara_monitor.training import TrainedCounts


class OrderedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, with each object's keys in the order the answer built them rather than sorted."""

    sort_keys = False


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the monitor: defaults, then the environment's settings, then `test_config`.

    `test_config` may hold Flask keys and a "SETTINGS" entry (a MonitorSettings object) that replaces the
    environment's settings.
    """
    app = Flask("clara_monitor")
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

    # The views are imported here, as before the split: importing the package (gunicorn's master, the CLI)
    # loads none of them.
    from clara_monitor import (
        api,
        errors,
        estimate,
        openapi,
        original,
        prometheus,
        traffic,
        views,
        vocabulary,
    )

    app.register_blueprint(api.bp)
    app.register_blueprint(original.bp)
    app.register_blueprint(estimate.bp)
    app.register_blueprint(traffic.bp)
    app.register_blueprint(openapi.bp)
    app.register_blueprint(prometheus.bp)
    app.register_blueprint(vocabulary.bp)
    app.register_blueprint(views.bp)
    errors.register(app)
    security.register(app, required, settings.METRICS_TOKEN)
    return app
