"""MongoDB with authentication, least privilege: the Compose stack's users, on a real server with --auth.

Real processes throughout: SecantusDB started with --auth (the stand-in ci/docker builds for mongo:7),
its root user created by the stand-in's own entrypoint code, the service users created by the very
script Compose runs (deploy/mongo/clara_mongo_init.py, its `secrets` then `users` step), and the
real clara-seed, clara-logger and clara-monitor logging in as those users with their password files.
"""

from __future__ import annotations

import importlib.util
import json
import os
import stat
import subprocess
import sys
import time as clock
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from types import ModuleType

import pytest
from pymongo import MongoClient
from pymongo.errors import OperationFailure, PyMongoError

from clara_common.db import make_client, mongodb_password, redact_uri
from clara_common.embedded import free_port
from clara_common.settings import CommonSettings, SettingsError
from tests.utils.monitor_process import get, running_monitor
from tests.utils.processes import stop

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
INIT_SCRIPT = REPO / "deploy" / "mongo" / "clara_mongo_init.py"
STANDIN_ENTRYPOINT = REPO / "ci" / "docker" / "secantus-mongo" / "docker-entrypoint.py"
BIN = Path(sys.executable).parent
DATABASE = "clara_auth"
ROOT_USER = "clara-admin"
UNAUTHORIZED, AUTHENTICATION_FAILED = 13, 18
END = date(2026, 5, 31)


def standin_entrypoint() -> ModuleType:
    """Import the stand-in image's entrypoint (a script with a dash in its name) as a module."""
    spec = importlib.util.spec_from_file_location("secantus_entrypoint", STANDIN_ENTRYPOINT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class AuthServer:
    """SecantusDB on disk, started with --auth as the stand-in image runs it (or without, as the stack ran before)."""

    def __init__(self, storage: Path, log_path: Path) -> None:
        self.storage, self.log_path = storage, log_path
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}"

    def start(self, auth: bool = True) -> AuthServer:
        command = standin_entrypoint().private_server(self.port, str(self.storage)) + (["--auth"] if auth else [])
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = clock.monotonic() + 60
        while True:
            try:
                with MongoClient(self.uri, serverSelectionTimeoutMS=500) as client:
                    client.admin.command("ping")  # allowed before a login, as on mongod
                return self
            except PyMongoError as error:
                if self.process.poll() is not None or clock.monotonic() > deadline:
                    log = self.log_path.read_text()[-3000:]
                    raise RuntimeError(f"SecantusDB (auth: {auth}) did not start:\n{log}") from error
                clock.sleep(0.2)

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process, 20)


def run_init(step: str, secrets_dir: Path, env_file: Path, uri: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run deploy/mongo/clara_mongo_init.py as Compose does (another process); return its result."""
    command = [
        sys.executable,
        str(INIT_SCRIPT),
        step,
        "--secrets-dir",
        str(secrets_dir),
        "--env-file",
        str(env_file),
        "--root-user",
        ROOT_USER,
        "--db",
        DATABASE,
        "--wait",
        "20",
    ]
    if uri:
        command += ["--uri", uri]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONGO")}
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)


def secret(secrets_dir: Path, principal: str) -> str:
    return (secrets_dir / principal / "password").read_text().strip()


@dataclass
class AuthStack:
    """The server, where the secrets are, and the output every step printed (for the no-leak check)."""

    server: AuthServer
    secrets_dir: Path
    env_file: Path
    work: Path
    outputs: list[str]

    def service_uri(self, user: str) -> str:
        # As compose.yaml writes it: the user in the URI, the password in a file.
        return f"mongodb://{user}@127.0.0.1:{self.server.port}/?authSource=admin"

    def service_env(self, service: str) -> dict[str, str]:
        return {
            "MONGODB_URI": self.service_uri(f"clara-{service}"),
            "MONGODB_DB": DATABASE,
            "MONGODB_PASSWORD_FILE": str(self.secrets_dir / service / "password"),
            "WHYLOGS_NO_ANALYTICS": "1",
            "LOG_LEVEL": "INFO",
        }

    def settings(self, service: str, **overrides: str) -> CommonSettings:
        return CommonSettings.from_env({**self.service_env(service), **overrides})

    def root(self) -> MongoClient:
        return MongoClient(
            self.server.uri,
            username=ROOT_USER,
            password=secret(self.secrets_dir, "mongo"),
            authSource="admin",
            tz_aware=True,
        )

    def passwords(self) -> list[str]:
        return [secret(self.secrets_dir, p) for p in ("mongo", "monitor", "logger", "seed")]


def run_service(stack: AuthStack, service: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run a CLARA command (clara-seed, clara-logger) as a real process, logging in as the service's user."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("MONGO")}, **stack.service_env(service)}
    result = subprocess.run(
        [str(BIN / f"clara-{service}"), *args], env=env, capture_output=True, text=True, timeout=300
    )
    stack.outputs.append(result.stdout + result.stderr)
    return result


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthStack]:
    """A SecantusDB with --auth whose users were made the way the Compose stack makes them, without a .env."""
    work = tmp_path_factory.mktemp("mongo-auth")
    secrets_dir, env_file = work / "secrets", work / ".env"  # no .env: `docker compose up` on a fresh clone
    outputs: list[str] = []

    # 1. mongo-secrets: the root password file, before the server's first start.
    result = run_init("secrets", secrets_dir, env_file)
    outputs.append(result.stdout + result.stderr)
    assert result.returncode == 0, result.stderr
    # 2. mongo: the stand-in's entrypoint creates root from MONGO_INITDB_ROOT_PASSWORD_FILE, then --auth.
    storage = work / "data"
    standin_entrypoint().ensure_root_user(str(storage), ROOT_USER, secret(secrets_dir, "mongo"), run_as=[])
    server = AuthServer(storage, work / "secantus.log").start()
    try:
        # 3. mongo-users: the service users and their password files.
        result = run_init("users", secrets_dir, env_file, server.uri)
        outputs.append(result.stdout + result.stderr)
        assert result.returncode == 0, result.stdout + result.stderr
        yield AuthStack(server, secrets_dir, env_file, work, outputs)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def seeded(stack: AuthStack) -> AuthStack:
    """The stack after clara-seed ran as clara-seed (a small sample)."""
    result = run_service(stack, "seed", "--days", "20", "--count", "30", "--end-date", END.isoformat(), "--no-progress")
    assert result.returncode == 0, result.stdout + result.stderr
    return stack


@pytest.fixture(scope="module")
def logged(seeded: AuthStack) -> AuthStack:
    """The stack after one clara-logger tick as clara-logger."""
    result = run_service(seeded, "logger", "--once")
    assert result.returncode == 0, result.stdout + result.stderr
    return seeded


# --- the users the Compose steps create -----------------------------------------------------------


def test_each_service_gets_its_own_user_with_one_role_on_the_clara_database_only(stack: AuthStack) -> None:
    with stack.root() as root:
        users = {u["user"]: u["roles"] for u in root.admin.command("usersInfo")["users"]}
    assert users == {
        ROOT_USER: [{"role": "root", "db": "admin"}],
        "clara-monitor": [{"role": "read", "db": DATABASE}],
        "clara-logger": [{"role": "readWrite", "db": DATABASE}],
        "clara-seed": [{"role": "readWrite", "db": DATABASE}],
    }


def test_generated_passwords_are_distinct_long_and_in_files_only_their_owner_reads(stack: AuthStack) -> None:
    passwords = stack.passwords()
    assert len(set(passwords)) == 4 and all(len(p) >= 40 for p in passwords)
    for principal in ("mongo", "monitor", "logger", "seed"):
        mode = stat.S_IMODE((stack.secrets_dir / principal / "password").stat().st_mode)
        assert mode == 0o400, (principal, oct(mode))


# --- the seed, the logger and the monitor, each as its own user ------------------------------------


def test_the_seed_seeds_as_its_own_user(seeded: AuthStack) -> None:
    with seeded.root() as root:
        database = root[DATABASE]
        assert database["image_logs"].count_documents({}) > 300
        assert database["seed_runs"].find_one({"_id": "seed"})["complete"] is True
        assert "logged_timestamp_validated" in database["image_logs"].index_information()


def test_the_logger_ticks_as_its_own_user(logged: AuthStack) -> None:
    with logged.root() as root:
        predictions = root[DATABASE]["image_logs"]
        validated = predictions.count_documents({"output_validated": {"$ne": None}})
        assert validated > 0
        assert predictions.count_documents({"output_validated": {"$ne": None}, "logged": True}) == validated
        assert sum(d["count"] for d in root[DATABASE]["logger_history"].find({}, {"count": 1})) == validated


def test_the_monitor_answers_every_route_as_the_read_only_user(logged: AuthStack) -> None:
    first, last = END - timedelta(days=19), END
    query = f"start_date={first}&end_date={last}"
    with logged.root() as root:
        in_range = {
            "$gte": datetime.combine(first, time.min, UTC),
            "$lt": datetime.combine(last + timedelta(days=1), time.min, UTC),
        }
        validated = root[DATABASE]["image_logs"].count_documents(
            {"output_validated": {"$ne": None}, "timestamp_validated": in_range}
        )
        before = {name: root[DATABASE][name].count_documents({}) for name in root[DATABASE].list_collection_names()}
    log_path = logged.work / "monitor.log"
    with running_monitor(logged.service_env("monitor"), log_path, workers=1) as monitor:
        answers = {
            path: get(monitor.host, monitor.port, path)
            for path in (
                "/readyz",
                f"/api/metrics?{query}",
                "/api/status",
                f"/api/drift?{query}",
                f"/api/alerts?{query}",
                f"/api/confusion?{query}",
                f"/api/class-metrics/daily?{query}",
                "/api/training-data",
                "/api/date-range",
                "/",
            )
        }
    logged.outputs.append(log_path.read_text(errors="replace"))
    assert {path: status for path, (status, _) in answers.items()} == {path: 200 for path in answers}
    assert json.loads(answers[f"/api/metrics?{query}"][1])["total_validated"] == validated
    assert json.loads(answers["/api/status"][1])["state"] != "absent"
    with logged.root() as root:
        after = {name: root[DATABASE][name].count_documents({}) for name in root[DATABASE].list_collection_names()}
    assert after == before, "the monitor's requests changed the database"


def test_the_monitors_user_is_refused_every_write(seeded: AuthStack) -> None:
    with make_client(seeded.settings("monitor")) as client:
        database = client[DATABASE]
        assert database["image_logs"].find_one({}) is not None  # it reads
        writes = {
            "insert": lambda: database["image_logs"].insert_one({"filename": "must-not-land.jpg"}),
            "update": lambda: database["image_logs"].update_many({}, {"$set": {"logged": False}}),
            "delete": lambda: database["logger_history"].delete_many({}),
            "index": lambda: database["image_logs"].create_index("output_confidence"),
            "drop": lambda: database.drop_collection("image_logs"),
        }
        for name, write in writes.items():
            with pytest.raises(OperationFailure) as refused:
                write()
            assert refused.value.code == UNAUTHORIZED, (name, refused.value.details)
    with seeded.root() as root:
        assert root[DATABASE]["image_logs"].count_documents({"filename": "must-not-land.jpg"}) == 0


@pytest.mark.parametrize("service", ["logger", "seed"])
def test_the_writers_cannot_manage_users_or_touch_another_database(stack: AuthStack, service: str) -> None:
    with make_client(stack.settings(service)) as client:
        client[DATABASE]["scratch"].insert_one({"ok": True})  # its own database: yes
        refusals = {
            "other database": lambda: client["other"]["x"].insert_one({}),
            "admin database": lambda: client["admin"]["x"].find_one({}),
            "create a user": lambda: client.admin.command("createUser", "intruder", pwd="x", roles=["root"]),
            "grant a role": lambda: client.admin.command(
                "grantRolesToUser", f"clara-{service}", roles=[{"role": "root", "db": "admin"}]
            ),
        }
        for name, attempt in refusals.items():
            with pytest.raises(OperationFailure) as refused:
                attempt()
            assert refused.value.code == UNAUTHORIZED, (name, refused.value.details)


# --- refusals -------------------------------------------------------------------------------------


def test_a_wrong_password_is_refused(stack: AuthStack) -> None:
    for service in ("monitor", "logger", "seed"):
        settings = stack.settings(service, MONGODB_PASSWORD_FILE="", MONGODB_PASSWORD="not-the-password")
        with make_client(settings) as client, pytest.raises(OperationFailure) as refused:
            client[DATABASE]["image_logs"].find_one({})
        assert refused.value.code == AUTHENTICATION_FAILED, refused.value.details


def test_a_logger_with_a_wrong_password_fails_its_tick_and_says_so(seeded: AuthStack, tmp_path: Path) -> None:
    wrong = tmp_path / "password"
    wrong.write_text("not-the-password\n")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MONGO")},
        **seeded.service_env("logger"),
        "MONGODB_PASSWORD_FILE": str(wrong),
    }
    result = subprocess.run([str(BIN / "clara-logger"), "--once"], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "uthentication failed" in result.stdout + result.stderr


def test_a_client_that_does_not_log_in_is_refused(stack: AuthStack) -> None:
    with (
        MongoClient(stack.server.uri, serverSelectionTimeoutMS=3000) as client,
        pytest.raises(OperationFailure) as refused,
    ):
        client[DATABASE]["image_logs"].find_one({})
    assert refused.value.code == UNAUTHORIZED


# --- secrets stay secret --------------------------------------------------------------------------


def test_no_password_appears_in_any_output(logged: AuthStack) -> None:
    """Runs after the seed, the logger and the monitor: every step's and service's output is collected."""
    text = "\n".join(logged.outputs)
    assert "clara-monitor" in text or "created user" in text  # the outputs are there to look at
    for password in logged.passwords():
        assert password not in text


def test_mongodb_password_reads_the_file_only_for_a_uri_with_a_user_and_no_password(tmp_path: Path) -> None:
    password_file = tmp_path / "password"
    password_file.write_text("s3cret\n")

    def password(uri: str, **env: str) -> str | None:
        return mongodb_password(CommonSettings.from_env({"MONGODB_URI": uri, **env}))

    assert (
        password("mongodb://clara-monitor@mongo:27017/?authSource=admin", MONGODB_PASSWORD_FILE=str(password_file))
        == "s3cret"
    )
    assert password("mongodb://u@h/", MONGODB_PASSWORD="direct") == "direct"
    # The URI's own password wins; a URI without a user logs in as nobody (an existing MongoDB, --no-deps).
    assert password("mongodb+srv://u:p@cluster.example.net/", MONGODB_PASSWORD_FILE="/missing") is None
    assert password("mongodb://db.example.net:27017", MONGODB_PASSWORD_FILE="/missing") is None
    assert password("mongodb://CN=x@h/?authMechanism=MONGODB-X509", MONGODB_PASSWORD_FILE="/missing") is None
    with pytest.raises(SettingsError, match="MONGODB_PASSWORD_FILE=/missing: cannot read"):
        password("mongodb://u@h/", MONGODB_PASSWORD_FILE="/missing")
    with pytest.raises(SettingsError, match="both set"):
        password("mongodb://u@h/", MONGODB_PASSWORD="a", MONGODB_PASSWORD_FILE=str(password_file))
    with pytest.raises(SettingsError, match="names a user but no password"):
        password("mongodb://u@h/")


def test_redact_uri_hides_the_password_and_keeps_the_rest() -> None:
    assert (
        redact_uri("mongodb://u:p%40ss@h1:1,h2:2/db?authSource=admin")
        == "mongodb://u:***@h1:1,h2:2/db?authSource=admin"
    )
    assert redact_uri("mongodb+srv://u:pw@cluster.example.net/") == "mongodb+srv://u:***@cluster.example.net/"
    assert redact_uri("mongodb://u@h/") == "mongodb://u@h/"
    assert redact_uri("mongodb://h:27017") == "mongodb://h:27017"


# --- what a second `up`, a .env and a rotation do (last: they change the passwords) ----------------


def test_a_second_users_step_without_env_keeps_every_password(stack: AuthStack) -> None:
    before = stack.passwords()
    result = run_init("users", stack.secrets_dir, stack.env_file, stack.server.uri)
    stack.outputs.append(result.stdout + result.stderr)
    assert result.returncode == 0, result.stdout + result.stderr
    assert stack.passwords() == before
    with make_client(stack.settings("monitor")) as client:
        client[DATABASE]["image_logs"].find_one({})


def test_passwords_set_in_env_replace_the_generated_ones_root_included(stack: AuthStack) -> None:
    """Rotation: `make rotate-db-passwords` (or an edited .env) and `up` run the users step again."""
    old_monitor, old_root = secret(stack.secrets_dir, "monitor"), secret(stack.secrets_dir, "mongo")
    new = {"MONGO_ROOT_PASSWORD": "root-" + "r" * 40, "MONGO_MONITOR_PASSWORD": "monitor-" + "m" * 40}
    stack.env_file.write_text("# as make up writes it\n" + "".join(f"{k}={v}\n" for k, v in new.items()))
    # mongo-secrets keeps the stored root password: the users step needs it to log in and change it.
    assert run_init("secrets", stack.secrets_dir, stack.env_file).returncode == 0
    assert secret(stack.secrets_dir, "mongo") == old_root
    result = run_init("users", stack.secrets_dir, stack.env_file, stack.server.uri)
    stack.outputs.append(result.stdout + result.stderr)
    assert result.returncode == 0, result.stdout + result.stderr
    assert not any(p in result.stdout + result.stderr for p in [*new.values(), old_monitor, old_root])

    assert secret(stack.secrets_dir, "monitor") == new["MONGO_MONITOR_PASSWORD"]
    assert secret(stack.secrets_dir, "mongo") == new["MONGO_ROOT_PASSWORD"]
    with make_client(stack.settings("monitor")) as client:  # reads the new file
        client[DATABASE]["image_logs"].find_one({})
    with (
        make_client(stack.settings("monitor", MONGODB_PASSWORD_FILE="", MONGODB_PASSWORD=old_monitor)) as client,
        pytest.raises(OperationFailure) as refused,
    ):
        client[DATABASE]["image_logs"].find_one({})
    assert refused.value.code == AUTHENTICATION_FAILED
    with (
        MongoClient(stack.server.uri, username=ROOT_USER, password=old_root, authSource="admin") as client,
        pytest.raises(OperationFailure),
    ):
        client.admin.command("usersInfo")


# --- a database volume from before authentication ------------------------------------------------


def test_a_database_from_before_authentication_keeps_its_data_and_gets_the_users(tmp_path: Path) -> None:
    storage = tmp_path / "data"
    with_data = AuthServer(storage, tmp_path / "secantus.log")
    # Started as the stack did before: no --auth, some data.
    old = with_data.start(auth=False)
    try:
        with MongoClient(with_data.uri, serverSelectionTimeoutMS=30_000) as client:
            client[DATABASE]["image_logs"].insert_one({"filename": "from-before.jpg"})
    finally:
        old.stop()

    secrets_dir, env_file = tmp_path / "secrets", tmp_path / ".env"
    assert run_init("secrets", secrets_dir, env_file).returncode == 0
    standin_entrypoint().ensure_root_user(str(storage), ROOT_USER, secret(secrets_dir, "mongo"), run_as=[])
    server = with_data.start()
    try:
        result = run_init("users", secrets_dir, env_file, server.uri)
        assert result.returncode == 0, result.stdout + result.stderr
        settings = CommonSettings.from_env(
            {
                "MONGODB_URI": f"mongodb://clara-monitor@127.0.0.1:{server.port}/?authSource=admin",
                "MONGODB_PASSWORD_FILE": str(secrets_dir / "monitor" / "password"),
            }
        )
        with make_client(settings) as client:
            assert client[DATABASE]["image_logs"].find_one({})["filename"] == "from-before.jpg"
    finally:
        server.stop()
