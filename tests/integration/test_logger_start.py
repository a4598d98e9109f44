"""A logger started while its database does not answer: real `clara-logger` processes, a real embedded database.

The running service waits for it with the backoff of any outage and logs once it answers; `--once` and
`--reconcile` make one attempt and exit with one line naming the database.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pymongo import MongoClient

from clara_common.embedded import EmbeddedMongo, free_port
from tests.utils.predictions import prediction
from tests.utils.processes import stop

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DATABASE = "late_start"
COLLECTION = "image_logs"


def logger_env(port: int) -> dict[str, str]:
    """Return a logger's environment for a database on `port`: short timeouts and backoff, a tick a second."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("WHYLABS_", "ALERT_", "LOGGER_", "DRIFT_", "MONGODB_", "TRAFFIC_"))
    }
    env.update(
        {
            "MONGODB_URI": f"mongodb://127.0.0.1:{port}",
            "MONGODB_DB": DATABASE,
            "PREDICTIONS_COLLECTION": COLLECTION,
            "MONGODB_TIMEOUT_MS": "300",
            "LOGGER_INTERVAL_MINUTES": "0.01",
            "LOGGER_RETRY_MIN_SECONDS": "0.2",
            "LOGGER_RETRY_MAX_SECONDS": "1",
            "WHYLOGS_NO_ANALYTICS": "1",
            "LOG_LEVEL": "INFO",
        }
    )
    return env


def wait_for_text(
    path: Path, text: str, process: subprocess.Popen[bytes], count: int = 1, timeout: float = 60.0
) -> None:
    """Wait until `text` shows `count` times in the log at `path`, while `process` keeps running."""
    deadline = time.monotonic() + timeout
    while path.read_text(errors="replace").count(text) < count:
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"never saw {text!r} {count} time(s):\n{path.read_text(errors='replace')}")
        time.sleep(0.05)


@pytest.mark.parametrize("mode", ["--once", "--reconcile"])
def test_one_attempt_without_a_database_exits_with_one_line_naming_it(mode):
    port = free_port()  # nothing listens there
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "clara_logger.cli", mode],
        env=logger_env(port),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert time.monotonic() - started < 60
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if " ERROR " in line]
    assert len(errors) == 1, result.stderr
    assert f"database unavailable (MONGODB_URI=mongodb://127.0.0.1:{port})" in errors[0]
    assert "Topology Description" not in errors[0]


def test_a_service_started_before_its_database_waits_for_it_then_logs(tmp_path):
    port = free_port()
    log_path = tmp_path / "service.log"
    with log_path.open("wb") as log_file:
        service = subprocess.Popen(
            [sys.executable, "-m", "clara_logger.cli"], env=logger_env(port), stdout=log_file, stderr=subprocess.STDOUT
        )
    server = EmbeddedMongo(port=port)
    try:
        # Several attempts, each its own line, while nothing listens: the service waits, it does not quit.
        wait_for_text(log_path, f"database unavailable (MONGODB_URI=mongodb://127.0.0.1:{port})", service, count=3)
        server.start()
        rng = random.Random(18)
        with MongoClient(server.uri, tz_aware=True) as client:
            client[DATABASE][COLLECTION].insert_many([prediction(rng, i) for i in range(12)])
        wait_for_text(log_path, "tick found=12 ", service)
        service.send_signal(signal.SIGTERM)
        assert service.wait(timeout=60) == 0, log_path.read_text()
    finally:
        stop(service, timeout=10)
        server.stop()
    retries = [line for line in log_path.read_text().splitlines() if "database unavailable" in line]
    assert all("retrying in" in line and "Topology Description" not in line for line in retries), retries
