"""Fixtures for the end-to-end tests, which run against the real Docker Compose stack.

These tests run only inside compose.test.yaml's test-runner (`make e2e`), which sets CLARA_E2E=1.
Anywhere else, `make test` included, nothing in this folder is collected: there is no stack to test.
Inside the runner, a service that cannot be reached fails the run loudly; nothing is skipped.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.probes import Stack, http_get, wait_for

E2E_ENABLED = os.environ.get("CLARA_E2E") == "1"

if not E2E_ENABLED:
    # Not in the compose test-runner: collect nothing here.
    collect_ignore_glob = ["*"]


def _required(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        pytest.fail(f"{name} is not set: run the end-to-end tests with `make e2e` (compose.test.yaml sets it)")
    return value


def _password() -> str | None:
    """Return the password in E2E_MONGODB_PASSWORD_FILE (a secret volume of the stack), None when unset."""
    path = os.environ.get("E2E_MONGODB_PASSWORD_FILE", "").strip()
    if not path:
        return None
    with open(path, encoding="utf-8") as handle:
        return handle.read().strip()


@pytest.fixture(scope="session")
def stack() -> Stack:
    return Stack(
        mongodb_uri=_required("E2E_MONGODB_URI"),
        mongodb_password=_password(),
        database=_required("E2E_MONGODB_DB"),
        collection=_required("E2E_PREDICTIONS_COLLECTION"),
        monitor_url=_required("E2E_MONITOR_URL").rstrip("/"),
        classes_file=_required("E2E_CLASSES_FILE"),
        timezone=_required("E2E_TIMEZONE"),
        wait_seconds=float(os.environ.get("E2E_WAIT_SECONDS", "240")),
    )


@pytest.fixture(scope="session")
def mongo_db(stack: Stack) -> Iterator[Any]:
    """Return the stack's database, once MongoDB answers."""
    from pymongo import MongoClient

    with MongoClient(
        stack.mongodb_uri, password=stack.mongodb_password, tz_aware=True, serverSelectionTimeoutMS=5000
    ) as client:
        wait_for(f"MongoDB at {stack.mongodb_uri}", lambda: client.admin.command("ping"), stack.wait_seconds)
        yield client[stack.database]


@pytest.fixture(scope="session")
def predictions(mongo_db: Any, stack: Stack) -> Any:
    return mongo_db[stack.collection]


@pytest.fixture(scope="session")
def monitor(stack: Stack) -> str:
    """Return the monitor's base URL, once GET /healthz answers 200."""

    def healthy() -> bool | None:
        status, _, _ = http_get(f"{stack.monitor_url}/healthz", timeout=5)
        return True if status == 200 else None

    wait_for(f"the monitor at {stack.monitor_url}/healthz", healthy, stack.wait_seconds)
    return stack.monitor_url


@pytest.fixture(scope="session")
def class_names(stack: Stack) -> dict[int, str]:
    """Return class id -> name from the class file the stack runs with."""
    with open(stack.classes_file, encoding="utf-8") as handle:
        return {entry["id"]: entry["name"] for entry in json.load(handle)["classes"]}
