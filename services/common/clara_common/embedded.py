"""The embedded database: a SecantusDB server (MongoDB wire protocol) started as a child process.

It is the default where no MongoDB runs: `make demo` keeps its data in a local folder, and the
tests use one in memory when neither MONGODB_URI nor Docker is available.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from clara_common.signals import stop_requested_on_signals

log = logging.getLogger(__name__)

MEMORY = ":memory:"


class EmbeddedMongoError(RuntimeError):
    """The embedded server could not be started."""


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that is free on `host` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class EmbeddedMongo:
    """A SecantusDB server on `host:port`, storing its data in `storage_path` (or in memory)."""

    def __init__(
        self,
        port: int | None = None,
        storage_path: str | Path = MEMORY,
        host: str = "127.0.0.1",
        preexec_fn: Callable[[], object] | None = None,
    ) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.storage_path = str(storage_path)
        # Run in the server's process before it starts (subprocess.Popen's preexec_fn): clara-demo's asks
        # Linux to stop the server when the demo dies.
        self._preexec_fn = preexec_fn
        self._process: subprocess.Popen[bytes] | None = None
        # Open for the server's lifetime (its stdout and stderr), closed in stop(): no `with` can hold it.
        self._log_file = tempfile.NamedTemporaryFile(prefix="secantus-", suffix=".log", delete=False)  # noqa: SIM115

    @property
    def uri(self) -> str:
        return f"mongodb://{self.host}:{self.port}"

    def start(self, timeout: float = 60.0) -> EmbeddedMongo:
        """Start the server and wait until it answers a ping."""
        if self.storage_path != MEMORY:
            Path(self.storage_path).mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable,
            "-m",
            "secantus",
            "--standalone",
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--storage-path",
            self.storage_path,
            "--log-level",
            "WARNING",
        ]
        log.info("starting embedded database: %s", " ".join(command))
        # A session of its own, so that a Ctrl-C aimed at the caller's group does not kill it mid-write.
        self._process = subprocess.Popen(
            command,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=self._preexec_fn,
        )
        self._wait_until_ready(timeout)
        return self

    def _wait_until_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise EmbeddedMongoError(f"the embedded database exited early:\n{self.log_tail()}")
            try:
                with MongoClient[dict[str, Any]](self.uri, serverSelectionTimeoutMS=500) as client:
                    client.admin.command("ping")
                return
            except PyMongoError:
                time.sleep(0.2)
        self.stop()
        raise EmbeddedMongoError(f"the embedded database did not answer within {timeout:.0f}s:\n{self.log_tail()}")

    def exit_code(self) -> int | None:
        """Return the server's exit code if it has exited since start(), None while it runs (or before start)."""
        return None if self._process is None else self._process.poll()

    def log_tail(self, lines: int = 30) -> str:
        """Return the last lines the server printed."""
        text = Path(self._log_file.name).read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 20.0) -> None:
        """Stop the server: SIGTERM, then SIGKILL if it does not exit in time."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._log_file.close()
        if os.path.exists(self._log_file.name):
            os.unlink(self._log_file.name)

    def __enter__(self) -> EmbeddedMongo:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    """Run the embedded database in the foreground until interrupted."""
    parser = argparse.ArgumentParser(description="Run the embedded MongoDB-compatible database (SecantusDB).")
    parser.add_argument("--port", type=int, default=27017)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--data", default=MEMORY, help=f"data folder, or {MEMORY} (default)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    server = EmbeddedMongo(port=args.port, storage_path=args.data, host=args.host).start()
    log.info("embedded database ready at %s (data: %s)", server.uri, args.data)
    stop_requested_on_signals().wait()
    server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
