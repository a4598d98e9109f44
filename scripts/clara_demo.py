"""`clara-demo` (`make demo`): the whole stack without Docker, stopped by one Ctrl-C.

The embedded database keeps its data in a local folder (default `.data/mongo`), the seed loads the
sample predictions (a second run adds nothing), then the logger and the monitor run until interrupted.

Before anything starts, the demo checks that the monitor's port is free (`--port`, else MONITOR_PORT,
else 5004) and that no other demo runs on the same data folder: the running one holds the lock file
`clara-demo.lock` there, which names its pid and port. Either problem stops it with one line and exit
code 2. If the database stops while the demo runs, the demo stops too (exit code 1) rather than
restarting it: a database that died once (killed, out of memory or disk) would likely die again, and
`make demo` starts it again on the same data. On Linux the database, the logger and the monitor also
stop when the demo itself is killed, so that nothing holds the port or the data folder afterwards.
"""

from __future__ import annotations

import argparse
import ctypes
import fcntl
import importlib.util
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TextIO

from clara_common.embedded import EmbeddedMongo, EmbeddedMongoError, free_port
from clara_common.logs import configure_logging
from clara_common.settings import SettingsError
from clara_common.signals import stop_requested_on_signals

log = logging.getLogger("clara_demo")

# (console command, module that must be importable for it to exist)
SERVICES = [("clara-logger", "clara_logger.cli"), ("clara-monitor", "clara_monitor.cli")]
# Held (flock) by the running demo inside its data folder; its text names the demo's pid and port.
LOCK_NAME = "clara-demo.lock"
# Where clara-monitor listens unless told otherwise (its --host default).
MONITOR_HOST = "0.0.0.0"
# How the embedded database says that another process has its data folder open (WiredTiger's lock).
FOLDER_HELD = "already being managed by another process"
PR_SET_PDEATHSIG = 1  # prctl(2)
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None


class DemoAlreadyRuns(Exception):
    """Another clara-demo holds the data folder's lock."""


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def port_is_taken(port: int, host: str = MONITOR_HOST) -> bool:
    """Tell whether binding `host:port` fails, as it would for gunicorn (which also sets SO_REUSEADDR)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
        return False


def next_free_port(port: int) -> int:
    """Return the first free port after `port` (among the next hundred), else any free one."""
    return next((p for p in range(port + 1, min(port + 101, 65536)) if not port_is_taken(p)), free_port())


def taken_port_message(port: int, suggestion: int) -> str:
    return (
        f"port {port} is taken (another program listens there: a monitor from `make up` or another demo?); choose "
        f"another with `MONITOR_PORT={suggestion} make run` (or `make demo`), or `clara-demo --port {suggestion}`"
    )


def lock_data_folder(data: Path) -> TextIO:
    """Take the demo lock of the data folder `data`, held while the returned file stays open.

    An flock, so the kernel lets go of it when its demo exits, however it ends: the file a killed demo
    leaves behind blocks nothing. Raise DemoAlreadyRuns, with the lock file's text, if another demo holds it.
    """
    data.mkdir(parents=True, exist_ok=True)
    lock = open(data / LOCK_NAME, "a+")  # noqa: SIM115 (held open for the demo's lifetime)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        holder = lock.read()
        lock.close()
        raise DemoAlreadyRuns(holder) from None
    return lock


def write_holder(lock: TextIO, pid: int, port: int | None) -> None:
    """Write into the held lock file which demo holds it."""
    lock.seek(0)
    lock.truncate()
    lock.write(json.dumps({"pid": pid, "port": port}) + "\n")
    lock.flush()


def read_holder(text: str) -> tuple[int | None, int | None]:
    """Return the pid and the monitor port that a lock file's text names (None for what cannot be read)."""
    try:
        holder = json.loads(text)
        pid, port = holder.get("pid"), holder.get("port")
    except (ValueError, AttributeError):
        return None, None
    return (pid if isinstance(pid, int) else None), (port if isinstance(port, int) else None)


def already_runs_message(data: str, pid: int | None, port: int | None) -> str:
    which = ", ".join([f"pid {pid}" if pid else "pid unknown", *([f"http://localhost:{port}"] if port else [])])
    stop_hint = f"Ctrl-C in its terminal, or `kill {pid}`" if pid else "Ctrl-C in its terminal"
    return (
        f"a demo already runs on {data} ({which}): use that one, or stop it ({stop_hint}) first; "
        "a second demo needs a data folder of its own (--data) and another port (--port)"
    )


def database_failure_message(data: str, error: EmbeddedMongoError) -> str:
    """Return one line for a database that did not start: why, as far as its last line of output says."""
    text = str(error)
    if FOLDER_HELD in text:
        return (
            f"the embedded database cannot open {data}: another process holds it (a database that an earlier "
            "demo left running?); stop that process, or choose another folder with --data"
        )
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    reason = f"{lines[0]} {lines[-1]}" if len(lines) > 1 else text
    return f"the embedded database did not start on {data}: {reason}"


def describe_exit(code: int) -> str:
    """Return 'exit code 3' or, for a process ended by a signal (a negative code), 'killed by SIGKILL'."""
    if code >= 0:
        return f"exit code {code}"
    try:
        return f"killed by {signal.Signals(-code).name}"
    except ValueError:
        return f"killed by signal {-code}"


def _stop_with_parent() -> None:
    """Run in a child before it starts: have Linux send it SIGTERM when the demo dies, even by SIGKILL."""
    if _LIBC is not None:
        _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


PREEXEC: Callable[[], None] | None = _stop_with_parent if _LIBC is not None else None


def _command(name: str) -> list[str]:
    """Return the console command `name` from this interpreter's environment."""
    return [str(Path(sys.executable).with_name(name))]


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def available_services() -> list[str]:
    """Return the console commands of the services that are installed."""
    return [name for name, module in SERVICES if _importable(module)]


def _stop_all(processes: dict[str, subprocess.Popen[bytes]]) -> None:
    for process in processes.values():
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + 20
    for name, process in processes.items():
        try:
            process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop in time; killing it", name)
            process.kill()


def _port_number(text: str) -> int:
    port = int(text)
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be between 1 and 65535, not {port}")
    return port


def monitor_port(env: Mapping[str, str]) -> int:
    """Return the port the monitor reads from `env` (MONITOR_PORT, else its default); SettingsError if invalid."""
    from clara_monitor.settings import MonitorSettings

    return MonitorSettings.from_env(env).MONITOR_PORT


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="clara-demo",
        description=__doc__.splitlines()[0],
        epilog="A taken port or a demo already running on the data folder stops it with exit code 2; a "
        "database that stops while the demo runs stops the demo (exit code 1): `make demo` starts it again.",
    )
    parser.add_argument("--data", default=".data/mongo", help="embedded database folder (default .data/mongo)")
    parser.add_argument("--db-port", type=int, default=27017, help="embedded database port (a free one if taken)")
    parser.add_argument(
        "--port", type=_port_number, default=None, help="the monitor's port (default MONITOR_PORT, else 5004)"
    )
    parser.add_argument("--seed-args", default="", help="extra arguments for clara-seed, e.g. '--days 90'")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure_logging()
    services = available_services()
    env = {**os.environ, "WHYLOGS_NO_ANALYTICS": "1"}
    if args.port is not None:
        env["MONITOR_PORT"] = str(args.port)
    port: int | None = None
    if "clara-monitor" in services:
        try:
            port = monitor_port(env)
        except SettingsError as exc:
            log.error("bad configuration: %s", exc)
            return 2
    try:
        lock = lock_data_folder(Path(args.data))
    except DemoAlreadyRuns as exc:
        log.error("%s", already_runs_message(args.data, *read_holder(str(exc))))
        return 2
    with lock:
        if port is not None and port_is_taken(port):
            log.error("%s", taken_port_message(port, next_free_port(port)))
            return 2
        write_holder(lock, os.getpid(), port)
        return run(args, env, services, port)


def run(args: argparse.Namespace, env: dict[str, str], services: list[str], port: int | None) -> int:
    """Start the database, seed it and run the services until a stop is asked or one of them stops; return the exit
    code."""
    stop = stop_requested_on_signals()
    # Closing the terminal stops the demo as Ctrl-C does, rather than leaving its services behind.
    signal.signal(signal.SIGHUP, lambda signum, frame: stop.set())
    db_port = args.db_port if _port_is_free(args.db_port) else free_port()
    database = EmbeddedMongo(port=db_port, storage_path=args.data, preexec_fn=PREEXEC)
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        try:
            database.start()
        except EmbeddedMongoError as exc:
            log.error("%s", database_failure_message(args.data, exc))
            return 1
        env["MONGODB_URI"] = database.uri
        log.info("embedded database at %s, data in %s", database.uri, args.data)
        seeded = subprocess.run(_command("clara-seed") + args.seed_args.split(), env=env, check=False)
        if seeded.returncode != 0:
            log.error("clara-seed failed with exit code %d", seeded.returncode)
            return seeded.returncode
        for name in services:
            # Own process groups, so the Ctrl-C meant for the demo reaches them only through _stop_all.
            processes[name] = subprocess.Popen(_command(name), env=env, start_new_session=True, preexec_fn=PREEXEC)
        if port is not None:
            log.info("CLARA Monitor: http://localhost:%d (Ctrl-C stops everything)", port)
        else:
            log.info("the monitor is not installed yet; Ctrl-C stops the database")
        return watch(database, processes, stop, args.data)
    finally:
        if processes:
            log.info("stopping %s", ", ".join([*processes, "the database"]))
        _stop_all(processes)
        database.stop()


def watch(
    database: EmbeddedMongo, processes: dict[str, subprocess.Popen[bytes]], stop: threading.Event, data: str
) -> int:
    """Wait until a stop is asked (0), a service exits (its code), or the database does (1)."""
    while not stop.wait(0.5):
        database_exit = database.exit_code()
        if database_exit is not None:
            tail = database.log_tail(10).strip()
            log.error(
                "the embedded database stopped (%s) while the demo ran: stopping the demo. "
                "`make demo` starts it again on the same data (%s)",
                describe_exit(database_exit),
                data,
            )
            if tail:
                log.warning("the database's last output:\n%s", tail)
            return 1
        for name, process in processes.items():
            if process.poll() is not None:
                log.error("%s exited with code %d; stopping the demo", name, process.returncode)
                return process.returncode or 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
