#!/usr/bin/env python3
"""The stand-in's entrypoint: the part of the official mongo image's docker-entrypoint.sh compose.yaml uses.

- With MONGO_INITDB_ROOT_USERNAME and MONGO_INITDB_ROOT_PASSWORD (or their *_FILE variants, read as
  root), the server runs with --auth, and the root user is created first when it does not exist:
  on a fresh volume this is the official image's initdb; on a volume from before authentication it
  stands in for mongod's localhost exception, which `clara-mongo-init users` relies on there and
  SecantusDB does not have (its --auth refuses every command before a login). The root user is
  created on a server started without --auth, listening on 127.0.0.1 inside the container only.
- Only one of the two set stops the start, as the official image does.
- /docker-entrypoint-initdb.d scripts are not run (compose.yaml uses none); a file there stops the
  start loudly rather than being ignored.

It starts as root only to hand /data/db (a fresh volume or tmpfs) to the mongodb user; the server
runs as that user.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import NoReturn

from pymongo import MongoClient
from pymongo.errors import PyMongoError

AS_MONGODB = ["setpriv", "--reuid=mongodb", "--regid=mongodb", "--init-groups"]
INITDB_DIR = Path("/docker-entrypoint-initdb.d")


def fail(message: str) -> NoReturn:
    print(f"secantus-mongo entrypoint: error: {message}", file=sys.stderr)
    sys.exit(1)


def file_env(name: str) -> str | None:
    """Return $name, or the content of the file $name_FILE names (as the official image's file_env)."""
    value, path = os.environ.get(name), os.environ.get(f"{name}_FILE")
    if value and path:
        fail(f"both {name} and {name}_FILE are set (but are exclusive)")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip() or None
        except OSError as exc:
            fail(f"{name}_FILE={path}: {exc.strerror}")
    return value or None


def option(command: list[str], name: str, default: str) -> str:
    return command[command.index(name) + 1] if name in command[:-1] else default


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def private_server(port: int, storage: str) -> list[str]:
    """Return the command that runs the server on `storage`, listening on 127.0.0.1:`port` only, unauthenticated.

    tests/integration/test_mongo_auth.py runs its servers with it too (with --auth added, or as before it).
    """
    return [
        sys.executable,
        "-m",
        "secantus",
        "--standalone",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--storage-path",
        storage,
        "--log-level",
        "WARNING",
    ]


def ensure_root_user(storage: str, username: str, password: str, run_as: list[str] = AS_MONGODB) -> None:
    """Create the root user on a private, unauthenticated run of the server on `storage` unless it exists.

    tests/integration/test_mongo_auth.py calls it too (with `run_as=[]`).
    """
    port = free_port()
    server = subprocess.Popen([*run_as, *private_server(port, storage)])
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                fail(f"the server exited ({server.returncode}) before the root user could be created")
            try:
                with MongoClient(
                    f"mongodb://127.0.0.1:{port}", serverSelectionTimeoutMS=500, directConnection=True
                ) as client:
                    client.admin.command("ping")
                break
            except PyMongoError:
                if time.monotonic() > deadline:
                    raise
        with MongoClient(f"mongodb://127.0.0.1:{port}", directConnection=True) as client:
            if client.admin.command("usersInfo", {"user": username, "db": "admin"})["users"]:
                print(f"secantus-mongo entrypoint: root user {username} exists", file=sys.stderr)
            else:
                client.admin.command("createUser", username, pwd=password, roles=[{"role": "root", "db": "admin"}])
                print(f"secantus-mongo entrypoint: created the root user {username}", file=sys.stderr)
    except PyMongoError as exc:
        fail(f"could not create the root user: {exc}")
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    # The private run's files must be closed before the real one opens them.
    time.sleep(0.2)


def main() -> None:
    command = sys.argv[1:]
    if not command:
        fail("no command given")
    subprocess.run(["chown", "mongodb:mongodb", "/data/db"], check=True)
    if INITDB_DIR.is_dir() and any(INITDB_DIR.iterdir()):
        fail(f"{INITDB_DIR} holds files, which this stand-in does not run")
    # The server (here and in its private run) looks for a config file under $HOME: the mongodb user's.
    os.environ["HOME"] = "/home/mongodb"
    username, password = file_env("MONGO_INITDB_ROOT_USERNAME"), file_env("MONGO_INITDB_ROOT_PASSWORD")
    if bool(username) != bool(password):
        fail("MONGO_INITDB_ROOT_USERNAME and MONGO_INITDB_ROOT_PASSWORD must be set together")
    if username and password:
        ensure_root_user(option(command, "--storage-path", "/data/db"), username, password)
        if "--auth" not in command:
            command.append("--auth")
    os.execvp(AS_MONGODB[0], [*AS_MONGODB, *command])


if __name__ == "__main__":
    main()
