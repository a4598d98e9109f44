"""clara-monitor's command line, gunicorn's settings, and the limit that keeps a thread free for /healthz."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from clara_monitor.cli import (
    APP_REQUESTS,
    MONITOR_THREADS,
    WORKER_TIMEOUT,
    AppRequestLimit,
    gunicorn_options,
    parse_args,
)
from clara_monitor.settings import MonitorSettings

SETTINGS = MonitorSettings.from_env({})


def test_defaults_come_from_the_settings_and_the_worker_timeout() -> None:
    args = parse_args([], SETTINGS)
    assert (args.workers, args.timeout) == (SETTINGS.MONITOR_WORKERS, WORKER_TIMEOUT)


@pytest.mark.parametrize("option", ["--workers", "--timeout"])
@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_a_count_below_one_or_not_a_number_is_refused_with_the_option_named(
    option: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        parse_args([option, value], SETTINGS)
    assert stopped.value.code == 2
    assert f"argument {option}:" in capsys.readouterr().err


@pytest.mark.parametrize("option", ["--workers", "--timeout"])
def test_a_positive_count_is_taken(option: str) -> None:
    assert getattr(parse_args([option, "3"], SETTINGS), option.lstrip("-")) == 3


def test_gunicorn_runs_documented_gthread_workers_with_threads_to_spare_for_the_probe() -> None:
    options = gunicorn_options(parse_args([], SETTINGS))
    assert (options["worker_class"], options["threads"]) == ("gthread", MONITOR_THREADS)
    assert MONITOR_THREADS > APP_REQUESTS


class BlockingApp:
    """A WSGI app that holds each ordinary request until released; /healthz answers at once."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        if environ["PATH_INFO"] != "/healthz":
            self.release.wait(10)
        start_response("200 OK", [])
        return [environ["PATH_INFO"].encode()]


def call(app: AppRequestLimit, path: str, method: str = "GET") -> list[bytes]:
    """Call `app` as a server does (PEP 3333: read the body, then close it if it can be); return the body."""
    body = app({"PATH_INFO": path, "REQUEST_METHOD": method}, lambda status, headers: None)
    try:
        return list(body)
    finally:
        getattr(body, "close", lambda: None)()


def test_the_probe_passes_while_every_app_slot_is_taken_and_others_wait() -> None:
    inner = BlockingApp()
    app = AppRequestLimit(inner, limit=2)
    with ThreadPoolExecutor(3) as pool:
        busy = [pool.submit(call, app, "/api/metrics") for _ in range(2)]
        time.sleep(0.2)
        waiting = pool.submit(call, app, "/api/alerts")
        assert call(app, "/healthz") == [b"/healthz"]
        assert call(app, "/healthz", "HEAD") == [b"/healthz"]
        time.sleep(0.2)
        assert not any(future.done() for future in [*busy, waiting])
        inner.release.set()
        assert [future.result(5) for future in [*busy, waiting]] == [[b"/api/metrics"]] * 2 + [[b"/api/alerts"]]


def test_a_slot_is_given_back_when_the_body_is_closed_or_the_app_raises() -> None:
    def failing(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        raise RuntimeError("boom")

    inner = BlockingApp()
    inner.release.set()
    app = AppRequestLimit(inner, limit=1)
    for _ in range(3):
        assert call(app, "/api/metrics") == [b"/api/metrics"]
    raising = AppRequestLimit(failing, limit=1)
    for _ in range(3):
        with pytest.raises(RuntimeError):
            call(raising, "/api/metrics")
