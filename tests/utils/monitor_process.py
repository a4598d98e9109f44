"""A real `clara-monitor` (gunicorn) child process for the tests that need one, and ways to look at it."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from clara_common.embedded import free_port


@dataclass
class MonitorProcess:
    """A running clara-monitor: its gunicorn master, its address, and where its output goes."""

    process: subprocess.Popen[bytes]
    host: str
    port: int
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def worker_pids(self) -> list[int]:
        """Return the pids of the gunicorn workers (the master's children)."""
        return child_pids(self.process.pid)


def child_pids(pid: int) -> list[int]:
    """Return the pids of `pid`'s children, from /proc."""
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            children += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue  # the thread ended meanwhile
    return sorted(set(children))


def rss_kib(pid: int) -> int:
    """Return the resident set size of `pid` in KiB (VmRSS in /proc/<pid>/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def get(
    host: str, port: int, path: str, timeout: float = 60.0, headers: Mapping[str, str] | None = None
) -> tuple[int, bytes]:
    """GET `path` on a fresh connection; return the status and the body."""
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("GET", path, headers=dict(headers or {}))
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


@contextmanager
def running_monitor(
    env: Mapping[str, str],
    log_path: Path,
    workers: int = 2,
    startup_timeout: float = 60.0,
    args: Sequence[str] = (),
) -> Iterator[MonitorProcess]:
    """Run `python -m clara_monitor.cli` (with `args`) on a free loopback port with `env` added; stop it afterwards."""
    host, port = "127.0.0.1", free_port()
    command = [
        sys.executable,
        "-m",
        "clara_monitor.cli",
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
        *args,
    ]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
    monitor = MonitorProcess(process, host, port, log_path)
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            try:
                # Every worker up: each one answers /healthz only once it has built the app.
                if get(host, port, "/healthz", timeout=5)[0] == 200 and len(monitor.worker_pids()) >= workers:
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"clara-monitor did not start:\n{monitor.log_tail()}")
            time.sleep(0.2)
        yield monitor
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
