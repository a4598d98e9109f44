"""The monitor built from the app factory, as the tests see it (the `app`, `client` and `make_monitor` fixtures of
tests/integration/conftest.py build it with these)."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

from clara_monitor import create_app
from clara_monitor.settings import MonitorSettings

MakeMonitor = Callable[[MonitorSettings], FlaskClient]
"""The `make_monitor` fixture's type: settings in, a test client of a monitor built from them out."""


def build_monitor(settings: MonitorSettings) -> Flask:
    """Return the monitor built from `settings` by the app factory, in testing mode."""
    return create_app({"TESTING": True, "SETTINGS": settings})


def close_monitor(app: Flask) -> None:
    """Close the database client of a monitor `build_monitor` built."""
    app.extensions["clara_monitor"].client.close()
