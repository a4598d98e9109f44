"""Grafana's admin password under Compose: generated like the database passwords, never `admin`.

Real processes on a fresh copy of the project (compose.yaml, deploy/, scripts/, no .env): the Compose
command itself (`docker compose` or Debian's docker-compose, whichever is installed) renders the
observability profile, and the scripts Compose and `make up` run are run here as they are:
scripts/ensure-env-secrets.sh, and deploy/grafana/admin-password.sh, which the profile's one-shot
`grafana-secret` runs in Grafana's image (here with the host's /bin/sh, its folders given as arguments:
no Docker engine is needed). No Grafana image runs here.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.utils.compose import compose_command

REPO = Path(__file__).resolve().parents[2]
ENSURE_SECRETS = Path("scripts") / "ensure-env-secrets.sh"
GENERATED = re.compile(r"[A-Za-z0-9]{43}")
NAME = "GRAFANA_ADMIN_PASSWORD"


def clean_environment(home: Path) -> dict[str, str]:
    """Return an environment without the caller's settings: only .env may give Compose a value."""
    return {"PATH": os.environ["PATH"], "HOME": str(home), "LANG": "C.UTF-8"}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """Return a fresh copy of what Compose and `make up` read, without a .env (a fresh clone's state)."""
    copy = tmp_path / "clara"
    copy.mkdir()
    shutil.copy2(REPO / "compose.yaml", copy / "compose.yaml")
    shutil.copytree(REPO / "deploy", copy / "deploy")
    shutil.copytree(REPO / "scripts", copy / "scripts")
    return copy


def ensure_env_secrets(project: Path) -> list[str]:
    """Run scripts/ensure-env-secrets.sh as `make up` does; return the names it reports as added."""
    done = subprocess.run(
        ["sh", str(ENSURE_SECRETS), ".env"],
        cwd=project,
        env=clean_environment(project.parent),
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.split()


def env_values(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def rendered_config(project: Path, *profiles: str) -> tuple[dict[str, Any], str]:
    """Return `compose config` of `project` (parsed, and as printed) with the given profiles on."""
    flags = [flag for profile in profiles for flag in ("--profile", profile)]
    done = subprocess.run(
        [*compose_command(), *flags, "config"],
        cwd=project,
        env=clean_environment(project.parent),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return yaml.safe_load(done.stdout), done.stdout


def mounts(service: dict[str, Any]) -> dict[str, tuple[str, bool]]:
    """Return a rendered service's mounts, target -> (source, read-only), in either Compose's form."""
    found = {}
    for volume in service.get("volumes", []):
        if isinstance(volume, str):  # docker-compose 1.x: SOURCE:TARGET[:MODE]
            source, target, *mode = volume.split(":")
            found[target] = (source, mode == ["ro"])
        else:  # Compose v2: the long form
            found[volume["target"]] = (volume["source"], bool(volume.get("read_only")))
    return found


def run_grafana_secret(config: dict[str, Any], secrets_dir: Path) -> Path:
    """Run the one-shot `grafana-secret` as rendered, with the host's sh; return the file Grafana reads.

    The script's path and the project folder come from the rendered bind mount; the secret volume
    that Grafana reads is replaced by `secrets_dir`.
    """
    services = config["services"]
    grafana, one_shot = services["grafana"], services["grafana-secret"]
    password_file = Path(grafana["environment"]["GF_SECURITY_ADMIN_PASSWORD__FILE"])
    secret_volume, read_only = mounts(grafana)[str(password_file.parent)]
    assert read_only, "Grafana needs its password file only to read it"
    assert secret_volume in config["volumes"], "a named volume, kept from one `up` to the next"
    written = mounts(one_shot)
    assert written[str(password_file.parent)] == (secret_volume, False), "the one-shot writes Grafana's volume"
    assert grafana["depends_on"]["grafana-secret"]["condition"] == "service_completed_successfully"
    shell, script = one_shot["entrypoint"]
    project_target = next(target for target in written if script.startswith(target + "/"))
    project_source, _ = written[project_target]
    host_script = Path(project_source) / Path(script).relative_to(project_target)
    host_env_file = Path(project_source) / ".env"
    subprocess.run(
        [shell, str(host_script), str(secrets_dir), str(host_env_file)],
        env=clean_environment(secrets_dir.parent),
        capture_output=True,
        text=True,
        check=True,
    )
    return secrets_dir / password_file.name


def test_compose_gives_grafana_the_password_make_up_generated(project: Path, tmp_path: Path) -> None:
    """A fresh copy, `make up`'s secret script, the observability profile: Grafana's password is .env's."""
    assert NAME in ensure_env_secrets(project)
    generated = env_values(project / ".env")[NAME]
    assert GENERATED.fullmatch(generated)

    config, printed = rendered_config(project, "observability")
    environment = config["services"]["grafana"]["environment"]
    assert "GF_SECURITY_ADMIN_PASSWORD" not in environment  # neither `admin` nor a value `config` would show
    assert generated not in printed

    password_file = run_grafana_secret(config, tmp_path / "grafana-secret")
    assert password_file.read_text().strip() == generated
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o400


def test_plain_compose_up_without_env_generates_a_password_and_keeps_it(project: Path, tmp_path: Path) -> None:
    """No .env and no `make up`: every profile still renders, and the one-shot generates the password."""
    rendered_config(project)  # the README's `docker compose up`: no variable is required
    config, _ = rendered_config(project, "observability")
    assert "GF_SECURITY_ADMIN_PASSWORD" not in config["services"]["grafana"]["environment"]

    password_file = run_grafana_secret(config, tmp_path / "grafana-secret")
    first = password_file.read_text().strip()
    assert GENERATED.fullmatch(first) and first != "admin"
    assert not (project / ".env").exists()

    run_grafana_secret(config, tmp_path / "grafana-secret")
    assert password_file.read_text().strip() == first, "the next `up` keeps the stored password"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("GRAFANA_ADMIN_PASSWORD=chosen1", "chosen1"),
        ("export GRAFANA_ADMIN_PASSWORD='chosen 2'", "chosen 2"),
        ('GRAFANA_ADMIN_PASSWORD="chosen3"  ', "chosen3"),
        ("GRAFANA_ADMIN_PASSWORD=chosen4 # set by hand", "chosen4"),
    ],
)
def test_a_password_set_in_env_replaces_the_stored_one(project: Path, tmp_path: Path, line: str, expected: str) -> None:
    config, _ = rendered_config(project, "observability")
    password_file = run_grafana_secret(config, tmp_path / "grafana-secret")
    (project / ".env").write_text(f"# Grafana\nGRAFANA_ADMIN_PASSWORD=older\n{line}\n")
    run_grafana_secret(config, tmp_path / "grafana-secret")
    assert password_file.read_text() == expected + "\n"
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o400


def test_an_empty_value_in_env_counts_as_unset(project: Path, tmp_path: Path) -> None:
    config, _ = rendered_config(project, "observability")
    (project / ".env").write_text("GRAFANA_ADMIN_PASSWORD=\n")
    password_file = run_grafana_secret(config, tmp_path / "grafana-secret")
    assert GENERATED.fullmatch(password_file.read_text().strip())


def test_ensure_env_secrets_creates_env_readable_by_its_owner_only(project: Path) -> None:
    ensure_env_secrets(project)
    assert stat.S_IMODE((project / ".env").stat().st_mode) == 0o600


def test_ensure_env_secrets_is_idempotent(project: Path) -> None:
    ensure_env_secrets(project)
    before = (project / ".env").read_text()
    assert ensure_env_secrets(project) == []
    assert (project / ".env").read_text() == before


def test_ensure_env_secrets_keeps_a_set_grafana_password_and_fills_an_empty_one(project: Path) -> None:
    (project / ".env").write_text("GRAFANA_ADMIN_PASSWORD=mine\n")
    assert NAME not in ensure_env_secrets(project)
    assert env_values(project / ".env")[NAME] == "mine"

    (project / ".env").write_text("GRAFANA_ADMIN_PASSWORD=\nMONITOR_PORT=5005")
    assert NAME in ensure_env_secrets(project)
    values = env_values(project / ".env")
    assert GENERATED.fullmatch(values[NAME]) and values["MONITOR_PORT"] == "5005"
    assert (project / ".env").read_text().count(NAME) == 1
