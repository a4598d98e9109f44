"""`clara-monitor`: serve the dashboard and its API under gunicorn."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from gunicorn.app.base import BaseApplication

from clara_common.logs import configure_logging
from clara_common.settings import Settings, SettingsError

log = logging.getLogger("clara_monitor")

# Threads per gunicorn worker.
MONITOR_THREADS = 4


class MonitorServer(BaseApplication):
    """Gunicorn running `create_app()` in each worker: no preload, so no client crosses a fork."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from clara_monitor import create_app

        return create_app()


def parse_args(argv: list[str] | None, settings: Settings) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="clara-monitor", description="Serve the CLARA Monitor dashboard and API.")
    parser.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")
    parser.add_argument(
        "--port", type=int, default=settings.MONITOR_PORT, help=f"port (default MONITOR_PORT, {settings.MONITOR_PORT})"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=settings.MONITOR_WORKERS,
        help=f"gunicorn worker processes (default MONITOR_WORKERS, {settings.MONITOR_WORKERS})",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the monitor under gunicorn until stopped."""
    configure_logging()
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        log.error("bad configuration: %s", exc)
        return 2
    args = parse_args(argv, settings)
    log.info("serving on http://%s:%d with %d workers", args.host, args.port, args.workers)
    MonitorServer(
        {
            "bind": f"{args.host}:{args.port}",
            "workers": args.workers,
            # Threads, so that /healthz and quick requests never queue behind a long one.
            "worker_class": "gthread",
            "threads": MONITOR_THREADS,
            "accesslog": "-",  # access log on stdout
            "errorlog": "-",
            # A monitor without a logger counts a long range from the source: minutes on the embedded database.
            "timeout": 600,
            "preload_app": False,
        }
    ).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
