"""`clara-monitor`: serve the dashboard and its API under gunicorn."""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from gunicorn.app.base import BaseApplication
from werkzeug.wsgi import ClosingIterator

from clara_common.logs import configure_logging
from clara_common.settings import SettingsError
from clara_monitor.settings import MonitorSettings

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from flask import Flask

log = logging.getLogger("clara_monitor")

# Requests the app works on at once in each gunicorn worker: each may hold a year of documents.
APP_REQUESTS = 4
# Gunicorn's threads per worker. More than APP_REQUESTS, so that while the app is busy a thread is
# still free for /healthz: the app's further requests wait for a slot (see AppRequestLimit), holding a
# thread but no documents. Only this many requests at once in one worker would make a probe queue.
MONITOR_THREADS = 32
# How long a thread may keep the GIL while another waits for it (Python's default: 5 ms). The probe's
# thread needs the GIL a dozen times per answer, and the app's threads hold it while they parse a
# year of documents; a shorter interval lets the probe in sooner, and the slow requests go no slower
# (measured by tests/integration/test_monitor_liveness.py against the default).
SWITCH_INTERVAL = 0.0005
# Gunicorn's timeout: how long a worker's main loop may go without telling the master it is alive
# before the master replaces the worker. In a gthread worker that loop never runs a request (the
# threads do), so it bounds a hung worker, not a slow request: a year counted from the source
# without a logger still finishes (tests/integration/test_monitor_liveness.py).
WORKER_TIMEOUT = 60


def is_probe(environ: WSGIEnvironment) -> bool:
    """Return whether a request is a liveness probe: GET or HEAD /healthz, which never reads the database."""
    return environ.get("PATH_INFO") == "/healthz" and environ.get("REQUEST_METHOD") in ("GET", "HEAD")


class AppRequestLimit:
    """WSGI middleware: at most `limit` requests at once reach the app; a liveness probe goes straight in.

    /healthz must answer at once even when the app is busy (a year of metrics counted from the source,
    or requests waiting out MONITOR_DB_TIMEOUT_MS on a down database): an orchestrator would otherwise
    restart a healthy monitor. Gunicorn gives each worker MONITOR_THREADS threads, and this limit keeps
    the app itself to APP_REQUESTS of them, so a probe finds a free thread and no queue. The probe
    still goes through the whole app, with its headers and gunicorn's access-log line. A slot is held
    until the server closes the answer's body (PEP 3333), so a streamed body counts too.
    """

    def __init__(self, app: WSGIApplication, limit: int) -> None:
        self.app = app
        self.slots = threading.BoundedSemaphore(limit)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if is_probe(environ):
            return self.app(environ, start_response)
        self.slots.acquire()
        try:
            body = self.app(environ, start_response)
        except BaseException:
            self.slots.release()
            raise
        return ClosingIterator(body, self.slots.release)


def start_worker(worker: Any) -> None:
    """Gunicorn's post_worker_init hook: let a waiting thread (a probe's) take the GIL sooner."""
    sys.setswitchinterval(SWITCH_INTERVAL)


class MonitorServer(BaseApplication):  # type: ignore[misc]  # gunicorn has no type information
    """Gunicorn running `create_app()` in each worker: no preload, so no client crosses a fork."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        from clara_monitor.app import create_app

        app = create_app()
        app.wsgi_app = AppRequestLimit(app.wsgi_app, APP_REQUESTS)  # type: ignore[method-assign]
        return app


def positive_int(text: str) -> int:
    """Read a command-line count that must be 1 or more (argparse reports the error with the option's name)."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def parse_args(argv: list[str] | None, settings: MonitorSettings) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="clara-monitor", description="Serve the CLARA Monitor dashboard and API.")
    parser.add_argument(
        "--host",
        default="0.0.0.0",
        help="address to listen on (default 0.0.0.0; 127.0.0.1 keeps the dashboard to this machine)",
    )
    parser.add_argument(
        "--port", type=int, default=settings.MONITOR_PORT, help=f"port (default MONITOR_PORT, {settings.MONITOR_PORT})"
    )
    parser.add_argument(
        "--workers",
        type=positive_int,
        default=settings.MONITOR_WORKERS,
        help=f"gunicorn worker processes (default MONITOR_WORKERS, {settings.MONITOR_WORKERS})",
    )
    parser.add_argument(
        "--timeout",
        type=positive_int,
        default=WORKER_TIMEOUT,
        help=f"seconds a worker may go silent before gunicorn replaces it (default {WORKER_TIMEOUT}); "
        "no limit on how long a request takes",
    )
    return parser.parse_args(argv)


def gunicorn_options(args: argparse.Namespace) -> dict[str, Any]:
    """Return gunicorn's settings for the parsed command line: gthread workers with threads to spare."""
    return {
        "bind": f"{args.host}:{args.port}",
        "workers": args.workers,
        "worker_class": "gthread",
        "threads": MONITOR_THREADS,
        "post_worker_init": start_worker,
        "accesslog": "-",  # access log on stdout
        "errorlog": "-",
        "timeout": args.timeout,
        "preload_app": False,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the monitor under gunicorn until stopped."""
    configure_logging()
    try:
        settings = MonitorSettings.from_env()
        # Checked here too (each worker checks again in create_app): a mistake stops the command with
        # one line, instead of every worker failing to boot.
        from clara_monitor.security import credentials

        required = credentials(settings)
    except SettingsError as exc:
        log.error("bad configuration: %s", exc)
        return 2
    args = parse_args(argv, settings)
    log.info(
        "serving on http://%s:%d with %d workers; authentication %s",
        args.host,
        args.port,
        args.workers,
        f"on (HTTP Basic, user {required.username})" if required else "off",
    )
    MonitorServer(gunicorn_options(args)).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
