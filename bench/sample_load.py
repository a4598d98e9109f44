"""What the benchmarks share: the database to run on, the sample predictions loaded and logged once, one timed GET."""

from __future__ import annotations

import http.client
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib.metadata import version as version_of
from pathlib import Path

from pymongo import MongoClient

from clara_common.days import today
from clara_common.db import ensure_indexes, make_client, predictions
from clara_common.embedded import MEMORY, EmbeddedMongo
from clara_logger.settings import LoggerSettings
from clara_logger.tick import LoggerService
from clara_seed.generator import SeedPlan, generate
from tests.utils.database import docker_has_image, mongo_container


def seed(client: MongoClient, settings: LoggerSettings, days: int, per_day: int) -> None:
    """Load the sample predictions and log them once, unless this database holds them already."""
    collection = predictions(client, settings)
    ensure_indexes(client, settings)
    if collection.estimated_document_count():
        print(f"reusing {collection.estimated_document_count():,} predictions in {settings.MONGODB_DB}")
        return
    started = time.monotonic()
    docs = list(
        generate(
            SeedPlan(end=today(settings.tz), days=days, per_day=per_day, seed=5),
            settings.classes,
            settings.tz,
            datetime.now(UTC),
        )
    )
    for first in range(0, len(docs), 20_000):
        collection.insert_many(docs[first : first + 20_000])
    print(f"seeded {len(docs):,} predictions over {days} days in {time.monotonic() - started:.0f} s")
    started = time.monotonic()
    with make_client(settings, appname="clara-logger") as logger_client:
        LoggerService(settings, logger_client).tick()
    print(f"logged them in one tick in {time.monotonic() - started:.0f} s")


@contextmanager
def bench_database(image: str | None, data: str | Path = MEMORY) -> Iterator[tuple[str, str, EmbeddedMongo | None]]:
    """Yield (URI, which database it is, the embedded server or None) for a benchmark to run on.

    With `image` (e.g. mongo:7), a container of it through testcontainers when a Docker engine answers
    and has the image or can pull it; otherwise, and when it cannot, the embedded database (in `data`).
    """
    if image:
        usable, why = docker_has_image(image)
        if usable:
            with mongo_container(image) as uri:
                with MongoClient(uri) as client:
                    info = client.server_info()
                server = f"SecantusDB {info['secantusVersion']}" if "secantusVersion" in info else "MongoDB"
                yield uri, f"{image} in a container through testcontainers ({server} {info['version']}; {why})", None
            return
        print(f"cannot run on {image}: {why}; running on the embedded database instead")
    with EmbeddedMongo(storage_path=data) as server:
        yield server.uri, f"the embedded database (SecantusDB {version_of('secantusdb')})", server


def timed(connection: http.client.HTTPConnection, path: str) -> float:
    """Return the milliseconds one GET takes (status 200 required)."""
    started = time.perf_counter()
    connection.request("GET", path)
    answer = connection.getresponse()
    answer.read()
    elapsed = (time.perf_counter() - started) * 1000
    if answer.status != 200:
        raise RuntimeError(f"{path}: HTTP {answer.status}")
    return elapsed


def percentile(values: list[float], share: float) -> float:
    """Return the `share` quantile of `values` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]
