"""The first run of `clara-demo` (issue 19, items 1 to 3): real demo processes, free ports, a temporary data folder.

A taken monitor port stops the demo before the database starts, naming the port and how to choose another;
a second demo on the same data folder names the one that runs (its pid and port) and exits 2, while a killed
demo leaves nothing behind that blocks the next; a database that dies stops the demo with one message.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from clara_common.embedded import EmbeddedMongo, free_port
from tests.utils.monitor_process import child_pids, get
from tests.utils.processes import stop

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DEMO = str(Path(sys.executable).with_name("clara-demo"))
# A seed of a few dozen predictions: the demo's start is what these tests look at, not the data.
SMALL_SEED = ["--seed-args", "--days 2 --count 20 --no-progress"]


@dataclass
class Demo:
    """A running clara-demo: its process, the monitor's port, and the file its output goes to."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def descendants(self) -> list[int]:
        """Return the pids of the demo's children and grandchildren (the database, the logger, gunicorn's processes)."""
        children = child_pids(self.process.pid)
        return children + [grandchild for child in children for grandchild in _child_pids_or_none(child)]


def _child_pids_or_none(pid: int) -> list[int]:
    try:
        return child_pids(pid)
    except OSError:
        return []  # it ended meanwhile


def demo_env(port: int) -> dict[str, str]:
    """Return the environment of a demo whose monitor listens on `port` (MONITOR_PORT, as `make run` passes it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WHYLABS_", "ALERT_", "LOGGER_", "MONGODB_"))}
    env.pop("MONITOR_PORT", None)
    return {**env, "MONITOR_PORT": str(port), "WHYLOGS_NO_ANALYTICS": "1"}


def demo_command(data: Path, args: Sequence[str] = ()) -> list[str]:
    return [DEMO, "--data", str(data), "--db-port", str(free_port()), *SMALL_SEED, *args]


def alive(pid: int) -> bool:
    """Tell whether `pid` runs (a zombie, exited but not yet reaped, does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


def wait_until(condition, timeout: float, what: str, demo: Demo | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout:.0f}s" + (f":\n{demo.output()[-4000:]}" if demo else ""))
        time.sleep(0.2)


def healthy(port: int) -> bool:
    try:
        return get("127.0.0.1", port, "/healthz", timeout=2)[0] == 200
    except OSError:
        return False


def end(pids: Sequence[int]) -> None:
    """Kill whatever of `pids` still runs: what a failed test's demo left behind."""
    for pid in pids:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


@contextmanager
def running_demo(
    data: Path, log_path: Path, port: int | None = None, env_port: int | None = None, args: Sequence[str] = ()
) -> Iterator[Demo]:
    """Run clara-demo on `data` until its monitor answers on `port` (a free one if None); stop it afterwards.

    MONITOR_PORT is `env_port`, or `port` when that is None.
    """
    port = port or free_port()
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            demo_command(data, args), env=demo_env(env_port or port), stdout=log, stderr=subprocess.STDOUT
        )
    demo = Demo(process, port, log_path)
    seen: list[int] = []
    try:
        wait_until(lambda: healthy(port) or process.poll() is not None, 90, "the demo's monitor did not answer", demo)
        assert process.poll() is None, demo.output()
        seen = demo.descendants()
        yield demo
    finally:
        seen = sorted({*seen, *demo.descendants()}) if process.poll() is None else seen
        stop(process, 30)
        try:
            wait_until(lambda: not any(alive(pid) for pid in seen), 30, "the demo's processes did not all stop")
        finally:
            end(seen)


def run_demo(
    data: Path, env_port: int, args: Sequence[str] = (), timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run clara-demo to its end (it is expected to stop by itself) and return what it printed."""
    return subprocess.run(
        demo_command(data, args),
        env=demo_env(env_port),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@contextmanager
def listening(port: int) -> Iterator[socket.socket]:
    """Hold `port` on every address, as another program would."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("0.0.0.0", port))
        sock.listen()
        yield sock


def test_a_taken_monitor_port_stops_the_demo_before_the_database_starts(tmp_path):
    port = free_port()
    with listening(port):
        result = run_demo(tmp_path / "mongo", env_port=port)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert f"port {port} is taken" in output, output
    assert "MONITOR_PORT=" in output and "make run" in output and "--port" in output, output
    assert "starting embedded database" not in output and "seeding" not in output, output
    assert "Connection in use" not in output and "Traceback" not in output, output


def test_the_port_option_chooses_the_monitor_port(tmp_path):
    port, taken = free_port(), free_port()
    # MONITOR_PORT names a taken port: --port wins over it.
    with (
        listening(taken),
        running_demo(
            tmp_path / "mongo", tmp_path / "demo.log", port=port, env_port=taken, args=["--port", str(port)]
        ) as demo,
    ):
        assert f"CLARA Monitor: http://localhost:{port}" in demo.output()


def test_a_second_demo_on_the_same_data_names_the_running_one_and_exits_2(tmp_path):
    data = tmp_path / "mongo"
    with running_demo(data, tmp_path / "first.log") as first:
        started = time.monotonic()
        second = run_demo(data, env_port=free_port())
        output = second.stdout + second.stderr
        assert second.returncode == 2, output
        assert "Traceback" not in output, output
        assert "already runs" in output, output
        assert f"pid {first.process.pid}" in output and f"http://localhost:{first.port}" in output, output
        assert time.monotonic() - started < 20
        # The first one goes on, untouched.
        assert first.process.poll() is None and healthy(first.port), first.output()


def test_a_killed_demo_leaves_nothing_that_blocks_the_next(tmp_path):
    data, port = tmp_path / "mongo", free_port()
    with running_demo(data, tmp_path / "first.log", port=port) as first:
        left = first.descendants()
        first.process.kill()
        first.process.wait(10)
        try:
            # Its database, logger and monitor stop with it: the port and the data folder are free again.
            wait_until(lambda: not any(alive(pid) for pid in left), 30, "the killed demo's processes went on")
        finally:
            end(left)
    with running_demo(data, tmp_path / "second.log", port=port) as second:
        assert healthy(second.port)


def test_a_dead_database_stops_the_demo_with_one_message(tmp_path):
    with running_demo(tmp_path / "mongo", tmp_path / "demo.log") as demo:
        databases = [
            pid for pid in child_pids(demo.process.pid) if b"secantus" in Path(f"/proc/{pid}/cmdline").read_bytes()
        ]
        assert len(databases) == 1, databases
        others = [pid for pid in demo.descendants() if pid not in databases]
        os.kill(databases[0], signal.SIGKILL)
        wait_until(lambda: demo.process.poll() is not None, 30, "the demo went on without its database", demo)
        output = demo.output()
        assert demo.process.returncode == 1, output
        assert "the embedded database stopped" in output, output
        assert "make demo" in output, output  # how to start it again
        assert "Traceback" not in output, output
        wait_until(lambda: not any(alive(pid) for pid in others), 30, "the logger and the monitor went on")


def test_a_data_folder_held_by_another_database_is_one_line(tmp_path):
    data = tmp_path / "mongo"
    with EmbeddedMongo(storage_path=data):
        result = run_demo(data, env_port=free_port())
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output, output
    errors = [line for line in output.splitlines() if " ERROR " in line]
    assert len(errors) == 1, output
    assert str(data) in errors[0] and "another process" in errors[0], output


def test_closing_the_terminal_stops_the_demo_and_everything_it_started(tmp_path):
    with running_demo(tmp_path / "mongo", tmp_path / "demo.log") as demo:
        started = demo.descendants()
        demo.process.send_signal(signal.SIGHUP)  # what a closed terminal sends
        wait_until(lambda: demo.process.poll() is not None, 30, "the demo went on after SIGHUP", demo)
        assert demo.process.returncode == 0, demo.output()
        try:
            wait_until(lambda: not any(alive(pid) for pid in started), 30, "what the demo started went on")
        finally:
            end(started)
