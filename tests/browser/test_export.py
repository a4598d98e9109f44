"""The Metrics tab's CSV downloads in headless Chromium: the file is the range and average shown on the page.

Runs `clara-monitor` (gunicorn) against sample predictions and drives Debian's chromium through
playwright, under the monitor's Content-Security-Policy; the downloaded files are compared cell by cell
with /api/metrics for the same range.
"""

from __future__ import annotations

import csv
import json
import time
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from pymongo import MongoClient

from clara_common.days import today
from clara_monitor.settings import MonitorSettings
from tests.utils.monitor_databases import sample_database

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
SEED_DAYS = 20
RANGE_DAYS = 26  # reaches before the seed: days without data, whose metrics are empty cells


@pytest.fixture(scope="module")
def seeded(mongo_uri: str, mongo_client: MongoClient) -> Iterator[MonitorSettings]:
    with sample_database(
        mongo_uri, mongo_client, "test_export_page", days=SEED_DAYS, per_day=60, seed=8, TIMEZONE="Europe/Madrid"
    ) as settings:
        yield settings


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1366, "height": 900}, accept_downloads=True, locale="en-US")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    yield page
    context.close()
    assert not errors, f"JavaScript or policy errors: {errors}"


def wait_for_load(page, count: int, timeout_s: float = 120) -> None:
    """Wait until the dashboard has finished `count` loads (not wait_for_function: the policy has no unsafe-eval)."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(f"Number(document.body.dataset.loads || 0) >= {count}"):
        assert time.monotonic() < deadline, f"the dashboard did not finish load {count}"
        page.wait_for_timeout(50)


def download(page, selector: str, folder: Path) -> tuple[str, list[list[str]]]:
    """Click the link `selector`; return the downloaded file's suggested name and its rows."""
    with page.expect_download(timeout=60_000) as info:
        page.click(selector)
    saved = folder / info.value.suggested_filename
    info.value.save_as(saved)
    with open(saved, newline="", encoding="utf-8") as file:
        return info.value.suggested_filename, list(csv.reader(file))


def api_metrics(base_url: str, start: str, end: str, average: str) -> dict:
    url = f"{base_url}/api/metrics?start_date={start}&end_date={end}&average={average}"
    with urllib.request.urlopen(url, timeout=60) as answer:
        return json.load(answer)


def cell(value: float | int | None) -> str:
    """Return how a JSON value reads in the CSV: empty for null, else the JSON's own number."""
    return "" if value is None else json.dumps(value)


def test_the_metrics_tab_downloads_the_csv_of_the_range_and_average_shown(
    page, base_url: str, seeded: MonitorSettings, tmp_path: Path
) -> None:
    end = today(seeded.tz)
    start = end - timedelta(days=RANGE_DAYS - 1)
    page.goto(f"{base_url}/?start_date={start}&end_date={end}&average=weighted&tab=metrics")
    wait_for_load(page, 1)
    assert page.is_visible("#export-daily") and page.is_visible("#export-classes")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "metrics-export.png"))

    name, rows = download(page, "#export-daily", tmp_path)
    assert name == f"clara-metrics_{start}_{end}_weighted.csv"
    expected = api_metrics(base_url, str(start), str(end), "weighted")["daily_metrics"]
    assert rows[0] == ["day", "entries", "precision", "accuracy", "recall", "f1"]
    assert rows[1:] == [
        [day, *(cell(scores[c]) for c in ("entries", "precision", "accuracy", "recall", "f1"))]
        for day, scores in expected.items()
    ]
    assert len(rows) == 1 + RANGE_DAYS and any(row[2] == "" for row in rows[1:])  # days without data: empty

    name, rows = download(page, "#export-classes", tmp_path)
    assert name == f"clara-class-metrics_{start}_{end}.csv"
    expected = api_metrics(base_url, str(start), str(end), "weighted")["class_metrics"]
    assert rows == [["class", "precision", "recall", "f1", "support"]] + [
        [name, *(cell(scores[c]) for c in ("precision", "recall", "f1", "support"))]
        for name, scores in expected.items()
    ]


def test_the_downloads_follow_a_new_range_and_average(
    page, base_url: str, seeded: MonitorSettings, tmp_path: Path
) -> None:
    page.goto(f"{base_url}/?tab=metrics")
    wait_for_load(page, 1)
    page.click('.presets button[data-days="30"]')
    wait_for_load(page, 2)
    page.select_option("#average", "micro")
    wait_for_load(page, 3)
    start, end = page.input_value("#start-date"), page.input_value("#end-date")
    assert (today(seeded.tz) - timedelta(days=29)).isoformat() == start

    name, rows = download(page, "#export-daily", tmp_path)
    assert name == f"clara-metrics_{start}_{end}_micro.csv"
    expected = api_metrics(base_url, start, end, "micro")["daily_metrics"]
    assert [row[0] for row in rows[1:]] == list(expected)
    assert rows[1:] == [
        [day, *(cell(scores[c]) for c in ("entries", "precision", "accuracy", "recall", "f1"))]
        for day, scores in expected.items()
    ]

    name, rows = download(page, "#export-classes", tmp_path)
    assert name == f"clara-class-metrics_{start}_{end}.csv"
    assert [row[0] for row in rows[1:]] == list(seeded.classes.names)
