"""`make up`'s check of the monitor's port (issue 19, item 1): scripts/check-monitor-port.sh, run as `make up` runs it.

Real sockets on free ports; a stand-in for the Compose command (a script that reports the stack's monitor as
running, or not), so that no Docker engine is needed.
"""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from clara_common.embedded import free_port

REPO = Path(__file__).resolve().parents[2]
CHECK = REPO / "scripts" / "check-monitor-port.sh"


@contextmanager
def listening(port: int) -> Iterator[None]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("0.0.0.0", port))
        sock.listen()
        yield


def fake_compose(folder: Path, monitor_running: bool) -> str:
    """Return a Compose command whose `ps -q monitor` lists a container id if `monitor_running`."""
    script = folder / "compose"
    script.write_text(f"#!/bin/sh\n{'echo 0123456789ab' if monitor_running else ':'}\n")
    script.chmod(0o755)
    return str(script)


def check(
    folder: Path, env_port: int | str | None = None, monitor_running: bool = False
) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ["PATH"], "COMPOSE": fake_compose(folder, monitor_running)}
    if env_port is not None:
        env["MONITOR_PORT"] = str(env_port)
    return subprocess.run(
        ["bash", str(CHECK), str(folder / ".env")], env=env, capture_output=True, text=True, timeout=30, check=False
    )


def test_a_taken_port_stops_make_up_naming_it_and_monitor_port(tmp_path):
    port = free_port()
    with listening(port):
        result = check(tmp_path, env_port=port)
    assert result.returncode == 2, result
    assert f"port {port} is taken" in result.stderr
    assert "MONITOR_PORT=" in result.stderr and "make run" in result.stderr


def test_the_port_in_env_file_is_the_one_checked(tmp_path):
    port = free_port()
    (tmp_path / ".env").write_text(f"MONGO_ROOT_PASSWORD=x\nexport MONITOR_PORT='{port}'\n")
    with listening(port):
        assert check(tmp_path).returncode == 2
    assert check(tmp_path).stdout.strip() == str(port)


def test_a_free_port_is_printed(tmp_path):
    port = free_port()
    result = check(tmp_path, env_port=port)
    assert (result.returncode, result.stdout.strip()) == (0, str(port)), result


def test_the_stacks_own_monitor_on_the_port_does_not_stop_make_up(tmp_path):
    port = free_port()
    with listening(port):
        result = check(tmp_path, env_port=port, monitor_running=True)
    assert (result.returncode, result.stdout.strip()) == (0, str(port)), result


def test_a_port_range_is_left_to_compose(tmp_path):
    port = free_port()
    with listening(port):
        result = check(tmp_path, env_port=f"{port}-{port + 2}")
    assert (result.returncode, result.stdout.strip()) == (0, f"{port}-{port + 2}"), result
