"""Pick and start the throwaway MongoDB the tests run against.

In order: MONGODB_URI if set; a pinned `mongo:7` container through testcontainers if a Docker engine
answers and has (or can pull) the image; otherwise the embedded SecantusDB server on a free port.
Never an in-process fake.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass

MONGO_IMAGE = os.environ.get("CLARA_TEST_MONGO_IMAGE", "mongo:7.0.14")


@dataclass(frozen=True)
class DatabaseBackend:
    """Which database the run uses, why, and how to start it."""

    name: str
    why: str
    start: Callable[[], AbstractContextManager[str]]

    def describe(self) -> str:
        return f"database: {self.name} ({self.why})"


@contextmanager
def _given_uri(uri: str) -> Iterator[str]:
    yield uri


@contextmanager
def mongo_container(image: str = MONGO_IMAGE) -> Iterator[str]:
    """Run `image` (mongo's official image, or one with its interface) through testcontainers; yield its URI."""
    from pymongo import MongoClient
    from testcontainers.core.config import testcontainers_config
    from testcontainers.core.wait_strategies import ContainerStatusWaitStrategy
    from testcontainers.mongodb import MongoDbContainer

    if not docker_has_image(testcontainers_config.ryuk_image, pull=False)[0]:
        # Without its reaper image (no registry), testcontainers cannot start; the `with` below stops
        # and removes the container itself, only a killed process would leave it behind.
        testcontainers_config.ryuk_disabled = True
    # Ready once it answers as the root user, rather than on a log line that a look-alike (the
    # SecantusDB stand-in ci/docker builds) need not print.
    with MongoDbContainer(image).waiting_for(ContainerStatusWaitStrategy()) as container:
        uri = container.get_connection_url()
        with MongoClient(uri, serverSelectionTimeoutMS=120_000) as client:
            client.admin.command("ping")
        yield uri


@contextmanager
def _embedded() -> Iterator[str]:
    from clara_common.embedded import EmbeddedMongo

    with EmbeddedMongo() as server:
        yield server.uri


def _docker_socket_answers() -> bool:
    """Return whether something listens on the Docker socket (checked first: docker-py leaks a socket when not)."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if not host.startswith("unix://"):
        return True  # a TCP engine: let docker-py find out
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(2)
        try:
            sock.connect(host.removeprefix("unix://"))
        except OSError:
            return False
    return True


def docker_has_image(image: str = MONGO_IMAGE, pull: bool = True) -> tuple[bool, str]:
    """Return whether a Docker engine answers and has `image` (pulled if it can be and `pull`), and why not."""
    if not _docker_socket_answers():
        return False, "no Docker engine answers"
    try:
        import docker
    except ImportError:
        return False, "the docker package is not installed"
    try:
        client = docker.from_env(timeout=3)
    except Exception as exc:  # docker raises several unrelated types when no engine answers
        return False, f"no Docker engine answers ({type(exc).__name__})"
    try:
        client.ping()
        try:
            client.images.get(image)
            return True, f"Docker has {image}"
        except Exception:
            if not pull:
                return False, f"Docker has no {image}"
        try:
            client.images.pull(image)
            return True, f"pulled {image}"
        except Exception as exc:
            return False, f"Docker answers but {image} cannot be had ({type(exc).__name__})"
    except Exception as exc:
        return False, f"no Docker engine answers ({type(exc).__name__})"
    finally:
        client.close()


def choose_backend() -> DatabaseBackend:
    """Return the database backend for this run, with the reason it was chosen."""
    uri = os.environ.get("MONGODB_URI")
    if uri:
        return DatabaseBackend("MONGODB_URI", "set in the environment", lambda: _given_uri(uri))
    usable, why = docker_has_image()
    if usable:
        return DatabaseBackend(f"testcontainers {MONGO_IMAGE}", why, mongo_container)
    return DatabaseBackend("embedded SecantusDB", why, _embedded)
