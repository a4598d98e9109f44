"""`clara-demo` (`make demo`): the whole stack without Docker, stopped by one Ctrl-C.

The embedded database keeps its data in a local folder (default `.data/mongo`), the seed loads the
sample predictions (a second run adds nothing), then the logger and the monitor run until interrupted.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from clara_common.embedded import EmbeddedMongo, free_port
from clara_common.logs import configure_logging
from clara_common.signals import stop_requested_on_signals

log = logging.getLogger("clara_demo")

# (console command, module that must be importable for it to exist)
SERVICES = [("clara-logger", "clara_logger.cli"), ("clara-monitor", "clara_monitor.cli")]


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="clara-demo", description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=".data/mongo", help="embedded database folder (default .data/mongo)")
    parser.add_argument("--db-port", type=int, default=27017, help="embedded database port (a free one if taken)")
    parser.add_argument("--seed-args", default="", help="extra arguments for clara-seed, e.g. '--days 90'")
    args = parser.parse_args(argv)
    configure_logging()
    port = args.db_port if _port_is_free(args.db_port) else free_port()
    processes: dict[str, subprocess.Popen[bytes]] = {}
    stop = stop_requested_on_signals()
    with EmbeddedMongo(port=port, storage_path=args.data) as database:
        env = {**os.environ, "MONGODB_URI": database.uri, "WHYLOGS_NO_ANALYTICS": "1"}
        log.info("embedded database at %s, data in %s", database.uri, args.data)
        seeded = subprocess.run(_command("clara-seed") + args.seed_args.split(), env=env, check=False)
        if seeded.returncode != 0:
            log.error("clara-seed failed with exit code %d", seeded.returncode)
            return seeded.returncode
        for name in available_services():
            # Own process groups, so the Ctrl-C meant for the demo reaches them only through _stop_all.
            processes[name] = subprocess.Popen(_command(name), env=env, start_new_session=True)
        if "clara-monitor" in processes:
            # Installed, since it runs: the port is the one the monitor reads from the same environment.
            from clara_monitor.settings import MonitorSettings

            monitor_port = MonitorSettings.from_env(env).MONITOR_PORT
            log.info("CLARA Monitor: http://localhost:%d (Ctrl-C stops everything)", monitor_port)
        else:
            log.info("the monitor is not installed yet; Ctrl-C stops the database")
        exit_code = 0
        while not stop.wait(0.5):
            for name, process in processes.items():
                if process.poll() is not None:
                    log.error("%s exited with code %d; stopping the demo", name, process.returncode)
                    exit_code = process.returncode or 1
                    stop.set()
        log.info("stopping %s", ", ".join([*processes, "the database"]))
        _stop_all(processes)
    return exit_code


if __name__ == "__main__":
    raise SystemExit(main())
