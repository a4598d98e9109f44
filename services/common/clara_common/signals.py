"""Graceful stop: turn SIGINT and SIGTERM into an event the main loop checks."""

from __future__ import annotations

import signal
import threading


def stop_requested_on_signals() -> threading.Event:
    """Return an event that SIGINT or SIGTERM sets, so the loop in hand can finish before exiting."""
    stop = threading.Event()

    def request_stop(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    return stop
