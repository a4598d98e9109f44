"""Fixtures shared by every test: the throwaway database, a database per test, settings, the HTTP stand-in."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from pymongo import MongoClient
from pymongo.database import Database

os.environ.setdefault("WHYLOGS_NO_ANALYTICS", "1")

from clara_common.settings import CommonSettings  # noqa: E402
from tests.utils.database import DatabaseBackend, choose_backend  # noqa: E402


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_BACKEND] = choose_backend()


def pytest_report_header(config: pytest.Config) -> str:
    return config.stash[_BACKEND].describe()


_BACKEND = pytest.StashKey[DatabaseBackend]()


@pytest.fixture(scope="session")
def httpserver_listen_address() -> tuple[str, int]:
    """Have pytest-httpserver's `httpserver` listen on IPv4 loopback at a free port: "localhost" may
    bind ::1 alone, which a client (or a logger subprocess) that resolves to 127.0.0.1 cannot reach."""
    return ("127.0.0.1", 0)


@pytest.fixture(scope="session")
def mongo_uri(pytestconfig: pytest.Config) -> Iterator[str]:
    """Return the URI of the run's throwaway MongoDB, started on first use."""
    with pytestconfig.stash[_BACKEND].start() as uri:
        yield uri


@pytest.fixture(scope="session")
def mongo_client(mongo_uri: str) -> Iterator[MongoClient]:
    with MongoClient(mongo_uri, tz_aware=True, serverSelectionTimeoutMS=10000) as client:
        yield client


@pytest.fixture
def settings(mongo_uri: str) -> CommonSettings:
    """Return the common settings, pointing at a database of this test's own (tests.utils.settings makes
    each service's settings from them)."""
    return CommonSettings.from_env({}, MONGODB_URI=mongo_uri, MONGODB_DB=f"test_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def db(mongo_client: MongoClient, settings: CommonSettings) -> Iterator[Database]:
    """Return this test's own database, dropped afterwards."""
    yield mongo_client[settings.MONGODB_DB]
    mongo_client.drop_database(settings.MONGODB_DB)
