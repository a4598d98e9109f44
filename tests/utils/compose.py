"""The Compose command the tests render compose.yaml with (no Docker engine needed to render)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest


def compose_command() -> list[str]:
    """Return the Compose command installed here; fail under CI when there is none, skip elsewhere."""
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    if legacy:
        return [legacy]
    reason = "neither `docker compose` nor docker-compose is installed: apt-get install docker-compose"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must render compose.yaml")
    pytest.skip(reason)
