"""Fixtures for the integration tests: a logger on the test's database, stand-ins for the services the logger
talks to over HTTP, and a record of the monitor's constant-time comparisons."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_httpserver import HTTPServer

from clara_common.db import make_client
from clara_common.settings import CommonSettings
from clara_logger.tick import LoggerService
from clara_monitor import security
from tests.utils.settings import logger_settings
from tests.utils.whylabs_endpoint import WhyLabsEndpoint


@pytest.fixture
def logger(settings: CommonSettings) -> Iterator[LoggerService]:
    """Return a logger with default settings on the test's database (the `settings` fixture's)."""
    with make_client(settings, appname="clara-logger") as client:
        yield LoggerService(logger_settings(settings), client)


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
