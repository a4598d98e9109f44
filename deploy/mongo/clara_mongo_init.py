#!/usr/bin/env python3
"""Give the bundled MongoDB its credentials: a root user for administration, one user per CLARA service.

Two one-shot steps, run by compose.yaml (and by tests/integration/test_mongo_auth.py):

    clara-mongo-init secrets   before MongoDB starts: the root password file, which the mongo image
                               reads on a fresh volume (MONGO_INITDB_ROOT_PASSWORD_FILE)
    clara-mongo-init users     once MongoDB answers: log in as root, create or update the service users,
                               write each service's password file

Every password comes from the project's .env when it is set there (`make up` writes them), otherwise
from the file written before, otherwise it is generated. So a plain `docker compose up` without a
.env works, and a password changed in .env is applied at the next `up` (rotation). No password is
ever printed.

Least privilege: the users live in the `admin` database (so the services' URIs need no authSource
other than admin) but their roles are on the CLARA database only: `read` for the monitor,
`readWrite` for the logger and the seed. Only root may manage users.

Only the Python standard library and pymongo: the image is small and imports no CLARA code.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from pymongo import MongoClient
from pymongo.errors import ConnectionFailure, OperationFailure, PyMongoError

log = logging.getLogger("clara-mongo-init")

# The uid of the user the official mongo image (and the ci/docker stand-in) runs mongod as, and the
# uid of the CLARA images' `clara` user (services/Dockerfile): each secret file is readable by its
# reader only.
MONGO_UID = 999
CLARA_UID = 10001
PASSWORD_FILE = "password"
AUTHENTICATION_FAILED = 18


@dataclass(frozen=True)
class ServiceUser:
    """A CLARA service's database user: its name, its role on the CLARA database, its .env variable."""

    service: str
    username: str
    role: str
    env_name: str


SERVICE_USERS = (
    # The monitor writes nothing (docs/architecture.md: "The ledger and the tail").
    ServiceUser("monitor", "clara-monitor", "read", "MONGO_MONITOR_PASSWORD"),
    # The logger writes its logger_* collections and its marks on the predictions, and creates indexes.
    ServiceUser("logger", "clara-logger", "readWrite", "MONGO_LOGGER_PASSWORD"),
    # The seed inserts sample predictions and seed_runs, and creates indexes.
    ServiceUser("seed", "clara-seed", "readWrite", "MONGO_SEED_PASSWORD"),
)
ROOT_ENV_NAME = "MONGO_ROOT_PASSWORD"


class InitError(RuntimeError):
    """A step cannot be done; the message says why and what to do."""


def read_env_file(path: Path) -> dict[str, str]:
    """Return the NAME=value lines of a Compose .env file (comments, blank lines and `export ` ignored)."""
    if not path.exists():
        return {}
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        # Never fall back to generated passwords: they would silently differ from the ones in .env.
        raise InitError(
            f"{path}: cannot read it ({exc.strerror}); on an SELinux host mount the project folder with the :z option"
        ) from None
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[name.strip()] = value
    return values


def wanted_value(name: str, env_file: dict[str, str]) -> str | None:
    """Return the value an operator set for `name`: the environment first, then the .env file."""
    return os.environ.get(name) or env_file.get(name) or None


def generate_password() -> str:
    """Return a new random password (256 bits, URL-safe: no quoting needed in .env or a URI)."""
    return secrets.token_urlsafe(32)


def read_secret(directory: Path) -> str | None:
    """Return the password stored in `directory`, None when there is none yet."""
    try:
        return (directory / PASSWORD_FILE).read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


def write_secret(directory: Path, password: str, owner_uid: int) -> None:
    """Store `password` in `directory`, readable by `owner_uid` only (atomically: never half-written)."""
    directory.mkdir(parents=True, exist_ok=True)
    if read_secret(directory) == password:
        return
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".password-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(password + "\n")
        os.chmod(temporary, 0o400)
        if os.geteuid() == 0:  # in the container; a test run as another user keeps its own ownership
            os.chown(temporary, owner_uid, owner_uid)
        os.replace(temporary, directory / PASSWORD_FILE)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def ensure_root_secret(secrets_dir: Path, env_file: dict[str, str]) -> None:
    """Write the root password file unless one exists (a changed one is applied by `users`, which needs the old)."""
    directory = secrets_dir / "mongo"
    if read_secret(directory) is not None:
        log.info("root password: kept the one stored before")
        return
    given = wanted_value(ROOT_ENV_NAME, env_file)
    write_secret(directory, given or generate_password(), MONGO_UID)
    log.info("root password: %s", f"taken from {ROOT_ENV_NAME}" if given else "generated")


def _client(uri: str, timeout_ms: int, username: str | None = None, password: str | None = None) -> MongoClient:
    credentials = {"username": username, "password": password, "authSource": "admin"} if username else {}
    return MongoClient(
        uri,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        directConnection=True,
        appname="clara-mongo-init",
        **credentials,
    )


def _user_exists(client: MongoClient, username: str) -> bool:
    return bool(client.admin.command("usersInfo", {"user": username, "db": "admin"})["users"])


def wait_until_up(uri: str, seconds: float) -> None:
    """Return once the server answers a ping (allowed before logging in); raise InitError after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with _client(uri, 2000) as client:
                client.admin.command("ping")
            return
        except ConnectionFailure as exc:
            if time.monotonic() > deadline:
                raise InitError(f"MongoDB did not answer within {seconds:.0f} s: {exc}") from None
            time.sleep(1)


def root_login(
    uri: str, root_user: str, candidates: list[str], wanted: str, timeout_ms: int
) -> tuple[MongoClient, str]:
    """Return a client logged in as root, and the password of the first candidate the server accepts.

    When none is accepted and the server has no user at all (a volume from before authentication,
    on the official image, which started with --auth and skipped its initdb), create root through
    mongod's localhost exception: this step shares the mongo container's network.
    """
    for password in candidates:
        client = _client(uri, timeout_ms, root_user, password)
        try:
            client.admin.command("connectionStatus")
            return client, password
        except OperationFailure as exc:
            client.close()
            if exc.code != AUTHENTICATION_FAILED:
                raise
    with _client(uri, timeout_ms) as anonymous:
        try:
            anonymous.admin.command("createUser", root_user, pwd=wanted, roles=[{"role": "root", "db": "admin"}])
        except OperationFailure:
            raise InitError(
                f"cannot log in to MongoDB as {root_user}: it accepts neither the stored root password nor "
                f"{ROOT_ENV_NAME} from .env. If the password was changed by hand, put the current one in .env "
                f"as {ROOT_ENV_NAME} and run `docker compose up` again."
            ) from None
    log.info("created the root user %s: the database had no user yet (a volume from before authentication)", root_user)
    return _client(uri, timeout_ms, root_user, wanted), wanted


def ensure_users(
    uri: str, secrets_dir: Path, env_file: dict[str, str], root_user: str, database: str, timeout_ms: int = 5000
) -> None:
    """Log in as root, apply a changed root password, create or update each service user, store their passwords."""
    root_dir = secrets_dir / "mongo"
    stored_root = read_secret(root_dir)
    wanted_root = wanted_value(ROOT_ENV_NAME, env_file) or stored_root or generate_password()
    candidates = list(dict.fromkeys(p for p in (stored_root, wanted_root) if p))
    root, logged_in_with = root_login(uri, root_user, candidates, wanted_root, timeout_ms)
    with root:
        if logged_in_with != wanted_root:
            root.admin.command("updateUser", root_user, pwd=wanted_root)
            log.info("root password: changed to the one in .env")
        write_secret(root_dir, wanted_root, MONGO_UID)
        for user in SERVICE_USERS:
            directory = secrets_dir / user.service
            given = wanted_value(user.env_name, env_file)
            password = given or read_secret(directory) or generate_password()
            roles = [{"role": user.role, "db": database}]
            # Always set, so that a password changed in .env, a new MONGODB_DB or a role changed by hand
            # comes back to what this file says.
            verb = "updated" if _user_exists(root, user.username) else "created"
            command = "updateUser" if verb == "updated" else "createUser"
            root.admin.command(command, user.username, pwd=password, roles=roles)
            write_secret(directory, password, CLARA_UID)
            log.info(
                "%s user %s: %s on %s (password %s)",
                verb,
                user.username,
                user.role,
                database,
                "from .env" if given else "stored" if verb == "updated" else "generated",
            )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="clara-mongo-init", description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=["secrets", "users"])
    parser.add_argument(
        "--secrets-dir",
        type=Path,
        default=Path(os.environ.get("CLARA_SECRETS_DIR", "/run/clara/secrets")),
        help="one folder per principal: mongo (root), monitor, logger, seed",
    )
    parser.add_argument(
        "--env-file",
        type=Path,
        default=Path(os.environ.get("CLARA_ENV_FILE", "/run/clara/project/.env")),
        help="the project's .env, read when it exists",
    )
    parser.add_argument(
        "--uri",
        default=os.environ.get("MONGO_URI", "mongodb://127.0.0.1:27017"),
        help="the server, without credentials",
    )
    parser.add_argument("--root-user", default=os.environ.get("MONGO_ROOT_USERNAME") or "clara-admin")
    parser.add_argument("--db", default=os.environ.get("MONGODB_DB") or "clara", help="the CLARA database")
    parser.add_argument("--wait", type=float, default=60.0, help="seconds to wait for the server (users)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    try:
        env_file = read_env_file(args.env_file)
        if args.step == "secrets":
            ensure_root_secret(args.secrets_dir, env_file)
        else:
            wait_until_up(args.uri, args.wait)
            ensure_users(args.uri, args.secrets_dir, env_file, args.root_user, args.db)
    except InitError as exc:
        log.error("%s", exc)
        return 1
    except PyMongoError as exc:
        # pymongo's messages name hosts and codes, never the password given apart from the URI.
        log.error("MongoDB refused a step: %s", exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
