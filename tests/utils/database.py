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
def _container() -> Iterator[str]:
    from testcontainers.mongodb import MongoDbContainer

    with MongoDbContainer(MONGO_IMAGE) as container:
        yield container.get_connection_url()


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


def _docker_has_image() -> tuple[bool, str]:
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
            client.images.get(MONGO_IMAGE)
            return True, f"Docker has {MONGO_IMAGE}"
        except Exception:
            pass
        try:
            client.images.pull(MONGO_IMAGE)
            return True, f"pulled {MONGO_IMAGE}"
        except Exception as exc:
            return False, f"Docker answers but {MONGO_IMAGE} cannot be had ({type(exc).__name__})"
    except Exception as exc:
        return False, f"no Docker engine answers ({type(exc).__name__})"
    finally:
        client.close()


def choose_backend() -> DatabaseBackend:
    """Return the database backend for this run, with the reason it was chosen."""
    uri = os.environ.get("MONGODB_URI")
    if uri:
        return DatabaseBackend("MONGODB_URI", "set in the environment", lambda: _given_uri(uri))
    usable, why = _docker_has_image()
    if usable:
        return DatabaseBackend(f"testcontainers {MONGO_IMAGE}", why, _container)
    return DatabaseBackend("embedded SecantusDB", why, _embedded)
