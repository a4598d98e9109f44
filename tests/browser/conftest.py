"""Fixtures for the browser tests: Debian's chromium, driven through playwright, and a real clara-monitor on the
module's `seeded` database."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from clara_monitor.settings import MonitorSettings
from tests.utils.monitor_databases import monitor_env
from tests.utils.monitor_process import running_monitor

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator:
    """Return a headless chromium for the module's tests; fail, not skip, where it is not installed."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium); .ci/run does")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def base_url(seeded: MonitorSettings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Return the address of a clara-monitor (gunicorn, one worker) on the database of the module's `seeded`."""
    log_path = tmp_path_factory.mktemp("monitor") / "monitor.log"
    with running_monitor(monitor_env(seeded), log_path, workers=1) as server:
        yield server.base_url
