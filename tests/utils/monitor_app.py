"""The monitor built from the app factory, as a Flask test client."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask.testing import FlaskClient

from clara_monitor import create_app
from clara_monitor.settings import MonitorSettings


@contextmanager
def monitor(settings: MonitorSettings) -> Iterator[FlaskClient]:
    """Yield a test client of a monitor built from `settings`; close its database client afterwards."""
    app = create_app({"TESTING": True, "SETTINGS": settings})
    try:
        yield app.test_client()
    finally:
        app.extensions["clara_monitor"].client.close()
