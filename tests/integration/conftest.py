"""Fixtures for the integration tests: a logger and a monitor on the test's database, stand-ins for the services the
logger talks to over HTTP, and a record of the monitor's constant-time comparisons."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pytest_httpserver import HTTPServer

from clara_common.db import make_client
from clara_common.settings import CommonSettings
from clara_logger.tick import LoggerService
from clara_monitor import security
from clara_monitor.settings import MonitorSettings
from tests.utils import settings as deployment
from tests.utils.monitor_app import MakeMonitor, build_monitor, close_monitor
from tests.utils.settings import logger_settings
from tests.utils.whylabs_endpoint import WhyLabsEndpoint


@pytest.fixture
def logger(settings: CommonSettings) -> Iterator[LoggerService]:
    """Return a logger with default settings on the test's database (the `settings` fixture's)."""
    with make_client(settings, appname="clara-logger") as client:
        yield LoggerService(logger_settings(settings), client)


@pytest.fixture(name="monitor_settings")
def default_monitor_settings(settings: CommonSettings) -> MonitorSettings:
    """Return the monitor's settings of the test's database, defaults otherwise: what `app` and `client` build.

    A module or a test that wants other settings (authentication, a time zone, a sample database) defines a
    fixture of this name, which pytest uses instead of this one.
    """
    return deployment.monitor_settings(settings)


@pytest.fixture
def app(monitor_settings: MonitorSettings) -> Iterator[Flask]:
    """Return the monitor built from `monitor_settings` (the test's database unless overridden)."""
    app = build_monitor(monitor_settings)
    yield app
    close_monitor(app)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """Return a test client of `app`."""
    return app.test_client()


@pytest.fixture
def make_monitor() -> Iterator[MakeMonitor]:
    """Return a function that builds a monitor from settings and returns its test client, for tests that need
    two monitors or settings they decide themselves; each monitor's database client is closed afterwards."""
    apps: list[Flask] = []

    def make(settings: MonitorSettings) -> FlaskClient:
        apps.append(build_monitor(settings))
        return apps[-1].test_client()

    yield make
    for app in apps:
        close_monitor(app)


@pytest.fixture
def whylabs() -> Iterator[WhyLabsEndpoint]:
    """Serve a WhyLabs-compatible upload endpoint on 127.0.0.1 for this test alone.

    Its own server, not the shared `httpserver`: it answers several uploads at once (threaded), a test
    may stop and restart it, and a slow answer left over from one test must not reach the next.
    """
    with HTTPServer(host="127.0.0.1", port=0, threaded=True) as server:
        yield WhyLabsEndpoint(server)
        server.check()  # no request went unanswered for want of a handler, and no handler raised


@pytest.fixture
def compared(monkeypatch: pytest.MonkeyPatch) -> list[tuple[bytes, bytes]]:
    """Return the pairs the monitor's authentication compares in constant time (hmac.compare_digest) during the
    test, in order; each is still compared."""
    pairs: list[tuple[bytes, bytes]] = []
    real = security.hmac.compare_digest

    def recording(a: bytes, b: bytes) -> bool:
        pairs.append((a, b))
        return real(a, b)

    monkeypatch.setattr(security.hmac, "compare_digest", recording)
    return pairs
