"""The dashboard in headless Chromium: every tab draws the API's numbers, the range drives the charts.

Runs `clara-monitor` (gunicorn) against a seeded database and drives Debian's chromium through
playwright. A screenshot of each tab goes to artifacts/screenshots/.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from pymongo import MongoClient

from clara_common.db import ensure_indexes, predictions
from clara_common.days import day_bounds, today
from clara_common.embedded import free_port
from clara_common.settings import Settings
from clara_seed.generator import SeedPlan, generate

pytestmark = pytest.mark.browser

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
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
TABS = {
    "main": "Main",
    "metrics": "Metrics",
    "samples": "Samples by class",
    "class-metrics": "Metrics by class",
    "training": "Training data",
}
SEED_DAYS = 40
GAP = (12, 10)  # days before today: validations on these days are removed, to leave a gap


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=60) as answer:
        return json.load(answer)


def serve(settings: Settings) -> Iterator[str]:
    """Run clara-monitor against `settings`' database; yield its base URL."""
    port = free_port()
    env = {
        **os.environ,
        "MONGODB_URI": settings.MONGODB_URI,
        "MONGODB_DB": settings.MONGODB_DB,
        "TIMEZONE": settings.TIMEZONE,
        "MONITOR_DB_TIMEOUT_MS": str(settings.MONITOR_DB_TIMEOUT_MS),
    }
    command = [sys.executable, "-m", "clara_monitor.cli", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                get_json(f"{base}/healthz")
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"clara-monitor did not start: {server.stderr.read().decode()[-2000:]}"
                    ) from None
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(20)
        server.stderr.close()


@pytest.fixture(scope="module")
def seeded(mongo_uri: str, mongo_client: MongoClient) -> Iterator[Settings]:
    settings = Settings.from_env(
        {}, MONGODB_URI=mongo_uri, MONGODB_DB=f"test_browser_{uuid.uuid4().hex[:8]}", TIMEZONE="Europe/Madrid"
    )
    ensure_indexes(mongo_client, settings)
    collection = predictions(mongo_client, settings)
    collection.insert_many(
        list(
            generate(
                SeedPlan(end=today(settings.tz), days=SEED_DAYS, per_day=25, seed=5), settings.classes, settings.tz
            )
        )
    )
    current = today(settings.tz)
    start, _ = day_bounds(current - timedelta(days=GAP[0]), settings.tz)
    _, end = day_bounds(current - timedelta(days=GAP[1]), settings.tz)
    collection.delete_many({"timestamp_validated": {"$gte": start, "$lt": end}})
    yield settings
    mongo_client.drop_database(settings.MONGODB_DB)


@pytest.fixture(scope="module")
def base_url(seeded: Settings) -> Iterator[str]:
    yield from serve(seeded)


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium); .ci/run does")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1366, "height": 900}, device_scale_factor=1)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors: {errors}"


def wait_for_load(page, count: int) -> None:
    """Wait until the dashboard has finished `count` loads of /api/metrics."""
    page.wait_for_function(f"Number(document.body.dataset.loads || 0) >= {count}", timeout=120_000)


def chart_data(page, chart_id: str) -> dict:
    """Return the labels and dataset values a Chart instance holds."""
    return page.evaluate(
        "(id) => { const c = window.claraCharts[id]; return c && {labels: c.data.labels, "
        "datasets: c.data.datasets.map(d => ({label: d.label, data: d.data}))}; }",
        chart_id,
    )


def api_metrics(base_url: str, page) -> dict:
    start = page.input_value("#start-date")
    end = page.input_value("#end-date")
    return get_json(f"{base_url}/api/metrics?start_date={start}&end_date={end}&average={page.input_value('#average')}")


def assert_charts_carry(page, api: dict, training: dict) -> None:
    days = list(api["daily_metrics"])
    names = list(api["class_counts"])
    daily = chart_data(page, "chart-daily")
    assert daily["labels"] == days
    for dataset, metric in zip(daily["datasets"], ["precision", "accuracy", "recall", "f1"], strict=True):
        assert dataset["data"] == [api["daily_metrics"][d][metric] for d in days], metric
    for metric in ("precision", "accuracy", "recall", "f1"):
        assert chart_data(page, f"chart-{metric}")["datasets"][0]["data"] == [
            api["daily_metrics"][d][metric] for d in days
        ]
    counts = [api["class_counts"][n] for n in names]
    for chart in ("chart-main-classes", "chart-samples-pie", "chart-samples-bar"):
        assert chart_data(page, chart) == {
            "labels": names,
            "datasets": [{"label": chart_data(page, chart)["datasets"][0]["label"], "data": counts}],
        }
    for metric in ("precision", "recall", "f1"):
        assert chart_data(page, f"chart-class-{metric}")["datasets"][0]["data"] == [
            api["class_metrics"][n][metric] for n in names
        ]
    training_names = list(training["class_counts"])
    assert chart_data(page, "chart-training")["datasets"][0]["data"] == [
        training["class_counts"][n] for n in training_names
    ]
    assert page.text_content("#kpi-total") == f"{api['total_validated']:,}"


def test_every_tab_draws_the_api_numbers(page, base_url: str) -> None:
    page.goto(base_url)
    wait_for_load(page, 1)
    page.wait_for_function("window.claraState.training !== null")
    api = api_metrics(base_url, page)
    assert api["total_validated"] > 0
    assert_charts_carry(page, api, get_json(f"{base_url}/api/training-data"))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for tab, title in TABS.items():
        page.get_by_role("tab", name=title, exact=True).click()
        assert page.is_visible(f"#panel-{tab}")
        assert page.get_attribute(f"#tab-{tab}", "aria-selected") == "true"
        page.wait_for_timeout(900)  # let the charts' animation finish before the picture
        page.screenshot(path=str(SCREENSHOTS / f"{tab}.png"), full_page=True)
        assert f"tab={tab}" in page.url


def test_date_pickers_are_bounded_by_the_date_range(page, base_url: str) -> None:
    page.goto(base_url)
    wait_for_load(page, 1)
    bounds = get_json(f"{base_url}/api/date-range")
    for picker in ("#start-date", "#end-date"):
        assert page.get_attribute(picker, "min") == bounds["min_date"]
        assert page.get_attribute(picker, "max") == max(bounds["max_date"], bounds["today"])
    assert page.input_value("#end-date") == bounds["max_date"]


def test_changing_the_range_redraws_every_chart(page, base_url: str, seeded: Settings) -> None:
    page.goto(base_url)
    wait_for_load(page, 1)
    page.get_by_role("tab", name="Metrics", exact=True).click()
    current = today(seeded.tz)
    page.fill("#start-date", (current - timedelta(days=20)).isoformat())
    page.dispatch_event("#start-date", "change")
    wait_for_load(page, 2)
    api = api_metrics(base_url, page)
    assert len(api["daily_metrics"]) == 21
    assert_charts_carry(page, api, get_json(f"{base_url}/api/training-data"))
    assert f"start_date={current - timedelta(days=20)}" in page.url
    page.select_option("#average", "weighted")
    wait_for_load(page, 3)
    assert_charts_carry(page, api_metrics(base_url, page), get_json(f"{base_url}/api/training-data"))


def test_days_without_validations_are_gaps_in_the_line_charts(page, base_url: str, seeded: Settings) -> None:
    current = today(seeded.tz)
    page.goto(f"{base_url}/?start_date={current - timedelta(days=16)}&end_date={current - timedelta(days=6)}")
    wait_for_load(page, 1)
    daily = chart_data(page, "chart-daily")
    gap_days = [(current - timedelta(days=d)).isoformat() for d in range(GAP[0], GAP[1] - 1, -1)]
    for day in gap_days:
        index = daily["labels"].index(day)
        assert all(dataset["data"][index] is None for dataset in daily["datasets"])
    assert page.evaluate("window.claraCharts['chart-daily'].data.datasets.every(d => d.spanGaps === false)")


def test_an_empty_range_says_so_instead_of_drawing(page, base_url: str, seeded: Settings) -> None:
    current = today(seeded.tz)
    page.goto(f"{base_url}/?start_date={current - timedelta(days=GAP[0])}&end_date={current - timedelta(days=GAP[1])}")
    wait_for_load(page, 1)
    for tab in ("main", "metrics", "samples", "class-metrics"):
        page.click(f"#tab-{tab}")
        assert page.is_visible(f"#panel-{tab} .empty")
        assert "No validated predictions in this range" in page.text_content(f"#panel-{tab} .empty")
        assert not page.is_visible(f"#panel-{tab} .with-data")


def test_api_errors_are_shown_on_the_page(browser, seeded: Settings) -> None:
    down = Settings.from_env(
        {}, MONGODB_URI=f"mongodb://127.0.0.1:{free_port()}", MONGODB_DB="none", MONITOR_DB_TIMEOUT_MS=300
    )
    for base in serve(down):
        context = browser.new_context()
        page = context.new_page()
        page.goto(base)
        wait_for_load(page, 1)
        assert page.is_visible("#error")
        assert "database is unavailable" in page.text_content("#error")
        context.close()


def test_the_page_fits_a_phone(browser, base_url: str) -> None:
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    page.goto(base_url)
    wait_for_load(page, 1)
    page.wait_for_timeout(900)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "phone-main.png"), full_page=True)
    context.close()
