"""`clara-monitor`: serve the dashboard and its API under gunicorn."""

from __future__ import annotations

import argparse
import logging
import selectors
import socket
import sys
import time
from concurrent import futures
from functools import partial
from typing import TYPE_CHECKING, Any

from gunicorn.app.base import BaseApplication
from gunicorn.workers.gthread import ThreadWorker

from clara_common.logs import configure_logging
from clara_common.settings import SettingsError
from clara_monitor.settings import MonitorSettings

if TYPE_CHECKING:
    from flask import Flask

log = logging.getLogger("clara_monitor")

# Threads per gunicorn worker for the app's requests.
MONITOR_THREADS = 4
# Threads per worker that answer GET /healthz only (see ProbeLaneWorker).
PROBE_THREADS = 1
# How a liveness probe's request line starts; a query string or anything longer is an ordinary request.
PROBE_REQUEST_LINES = (b"GET /healthz HTTP/", b"HEAD /healthz HTTP/")
PEEK_BYTES = max(len(line) for line in PROBE_REQUEST_LINES)
# How long a thread may keep the GIL while another waits for it (Python's default: 5 ms). The probe
# thread needs the GIL a dozen times per answer, and the app's threads hold it while they parse a
# year of documents: under the load of test_monitor_liveness.py (2 CPUs), /healthz took 38 to 114 ms
# at the 95th percentile with 5 ms (six runs), 13 to 36 ms with 0.5 ms (three runs), and the slow
# requests went no slower.
SWITCH_INTERVAL = 0.0005
# Gunicorn's timeout: how long a worker's main loop may go without telling the master it is alive
# before the master replaces the worker. In a gthread worker that loop never runs a request (the
# threads do), so it bounds a hung worker, not a slow request: a year counted from the source
# without a logger still finishes (tests/integration/test_monitor_liveness.py).
WORKER_TIMEOUT = 60


def peek(sock: socket.socket) -> bytes | None:
    """Return the first bytes waiting on `sock` without consuming them: None if none has arrived yet."""
    try:
        return sock.recv(PEEK_BYTES, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except (BlockingIOError, InterruptedError):
        return None
    except OSError:
        return b""  # the app's thread meets the same error and closes the connection


class ProbeLaneWorker(ThreadWorker):  # type: ignore[misc]  # gunicorn has no type information
    """Gunicorn's gthread worker, with a thread of its own for GET /healthz.

    /healthz must answer at once even when every app thread is busy: 4 threads a worker are taken by 4
    slow requests (a year of metrics counted from the source, or 4 requests waiting out
    MONITOR_DB_TIMEOUT_MS on a down database), and a probe queued behind them waited seconds, enough
    for an orchestrator to restart a healthy monitor. More threads only move the point where that
    happens (and let more year-long reads hold memory at once), so instead the main loop looks at
    each request's first bytes (MSG_PEEK: nothing is consumed) and sends a probe to PROBE_THREADS
    threads that nothing else uses. The probe still goes through the whole app, with its headers and
    its access-log line. A connection that has sent nothing yet waits on the poller, without a
    thread, as gunicorn's own deferred connections do (closed after the keep-alive timeout).

    Built on gthread's ThreadWorker internals of gunicorn 27 (enqueue_req, tpool, pending_conns,
    on_pending_socket_readable); check_config refuses to start with a gunicorn that lacks them.
    tests/integration/test_monitor_liveness.py measures it against real processes.
    """

    REQUIRED = ("enqueue_req", "on_pending_socket_readable", "murder_pending")
    tpool: futures.ThreadPoolExecutor  # gthread's pool of app threads, made by its init_process

    @classmethod
    def check_config(cls, cfg: Any, log: Any) -> None:
        missing = [name for name in cls.REQUIRED if not hasattr(ThreadWorker, name)]
        if missing:
            raise RuntimeError(
                f"clara-monitor's worker needs gunicorn's gthread worker with {', '.join(missing)}: "
                "install the gunicorn version services/monitor/pyproject.toml names"
            )
        super().check_config(cfg, log)

    def init_process(self) -> None:
        self.probe_pool = futures.ThreadPoolExecutor(max_workers=PROBE_THREADS, thread_name_prefix="healthz")
        sys.setswitchinterval(SWITCH_INTERVAL)
        super().init_process()  # runs the worker until it stops

    def enqueue_req(self, conn: Any) -> None:
        head = peek(conn.sock)
        if head is None and not conn.initialized and not conn.data_ready:
            self.wait_for_first_bytes(conn)
        elif head and head.startswith(PROBE_REQUEST_LINES):
            # The parent submits to self.tpool; only this (main) thread reads it.
            app_pool, self.tpool = self.tpool, self.probe_pool
            try:
                super().enqueue_req(conn)
            finally:
                self.tpool = app_pool
        else:
            super().enqueue_req(conn)

    def wait_for_first_bytes(self, conn: Any) -> None:
        """Watch `conn` on the poller until its request starts (gthread's path for a deferred connection)."""
        conn.sock.setblocking(False)
        conn.timeout = time.monotonic() + self.cfg.keepalive
        self.pending_conns.append(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self.on_pending_socket_readable, conn))

    def run(self) -> None:
        try:
            super().run()
        finally:
            self.probe_pool.shutdown(wait=False)


class MonitorServer(BaseApplication):  # type: ignore[misc]  # gunicorn has no type information
    """Gunicorn running `create_app()` in each worker: no preload, so no client crosses a fork."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        from clara_monitor import create_app

        return create_app()


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
    MonitorServer(
        {
            "bind": f"{args.host}:{args.port}",
            "workers": args.workers,
            # gthread, with /healthz on a thread of its own: see ProbeLaneWorker.
            "worker_class": ProbeLaneWorker,
            "threads": MONITOR_THREADS,
            "accesslog": "-",  # access log on stdout
            "errorlog": "-",
            "timeout": args.timeout,
            "preload_app": False,
        }
    ).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
