"""The dashboard in headless Chromium: every tab draws the API's numbers, the range drives the charts.

Runs `clara-monitor` (gunicorn) against a seeded database on which the logger has run one tick (so
that the history, drift and alerts exist), and drives Debian's chromium through playwright. A
screenshot of each tab goes to artifacts/screenshots/; with SCREENSHOTS_TO_DOCS=1 the pictures of
the drift, alert, confusion and per-class views also go to docs/screenshots/.
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

from clara_common.db import ensure_indexes, make_client, predictions
from clara_common.days import day_bounds, today
from clara_common.embedded import free_port
from clara_common.settings import Settings
from clara_logger.tick import Logger
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
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
DOC_SCREENSHOTS = ROOT / "docs" / "screenshots"
TABS = {
    "main": "Main",
    "metrics": "Metrics",
    "samples": "Samples by class",
    "class-metrics": "Metrics by class",
    "training": "Training data",
    "drift": "Drift & alerts",
}
SEED_DAYS = 40
# The seed's own daily volume: the planted drop of "green" (its last 14 days) shows day by day.
PER_DAY = 300
GAP = (12, 10)  # days before today: validations on these days are removed, to leave a gap
LOW_DAY = 20  # days before today: all but LOW_KEEP validations removed, a low-sample day
LOW_KEEP = 20
HOLLOW = "#ffffff"
DASH = [5, 4]
WEBHOOK_TEXT = {True: "delivered", False: "pending", None: "webhook off"}
KIND_TEXT = {"accuracy": "Accuracy", "drift": "Drift"}


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
        "LOGGER_INTERVAL_MINUTES": str(settings.LOGGER_INTERVAL_MINUTES),
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


def seed(mongo_client: MongoClient, settings: Settings, days: int, per_day: int) -> None:
    """Insert the sample predictions of the last `days` days."""
    ensure_indexes(mongo_client, settings)
    plan = SeedPlan(end=today(settings.tz), days=days, per_day=per_day, seed=5)
    predictions(mongo_client, settings).insert_many(list(generate(plan, settings.classes, settings.tz)))


@pytest.fixture(scope="module")
def seeded(mongo_uri: str, mongo_client: MongoClient) -> Iterator[Settings]:
    # A long logger interval: the history stays "current" however long the module runs.
    settings = Settings.from_env(
        {}, MONGODB_URI=mongo_uri, MONGODB_DB=f"test_browser_{uuid.uuid4().hex[:8]}", TIMEZONE="Europe/Madrid",
        LOGGER_INTERVAL_MINUTES=600,
    )
    seed(mongo_client, settings, SEED_DAYS, PER_DAY)
    collection = predictions(mongo_client, settings)
    current = today(settings.tz)
    start, _ = day_bounds(current - timedelta(days=GAP[0]), settings.tz)
    _, end = day_bounds(current - timedelta(days=GAP[1]), settings.tz)
    collection.delete_many({"timestamp_validated": {"$gte": start, "$lt": end}})
    start, end = day_bounds(current - timedelta(days=LOW_DAY), settings.tz)
    low_day = collection.find({"timestamp_validated": {"$gte": start, "$lt": end}}, {"_id": 1}, sort=[("_id", 1)])
    collection.delete_many({"_id": {"$in": [doc["_id"] for doc in low_day][LOW_KEEP:]}})
    with make_client(settings) as client:
        Logger(settings, client).tick()
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


def save_screenshot(target, name: str, full_page: bool = False) -> None:
    """Save a picture of a page or an element to artifacts/, and to docs/ when SCREENSHOTS_TO_DOCS=1."""
    folders = [SCREENSHOTS] + ([DOC_SCREENSHOTS] if os.environ.get("SCREENSHOTS_TO_DOCS") == "1" else [])
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
        if full_page:
            target.screenshot(path=str(folder / name), full_page=True)
        else:
            target.screenshot(path=str(folder / name))


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
    # The wide tables (confusion matrix, alerts) scroll inside their cards, not the page.
    for tab in ("class-metrics", "drift"):
        page.evaluate("(tab) => document.getElementById(`tab-${tab}`).click()", tab)
        page.wait_for_timeout(600)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), tab
        page.screenshot(path=str(SCREENSHOTS / f"phone-{tab}.png"), full_page=True)
    context.close()


# -- drift, alerts, confusion matrix, per-class metrics over time, low-sample days ----------------


def open_range(page, base_url: str, settings: Settings, days: int = 30, tab: str = "main") -> str:
    """Open the dashboard on the last `days` days at `tab`; return the range's query string."""
    end = today(settings.tz)
    query = f"start_date={end - timedelta(days=days - 1)}&end_date={end}"
    page.goto(f"{base_url}/?{query}&tab={tab}")
    wait_for_load(page, 1)
    return query


def show_tab(page, tab: str) -> None:
    page.click(f"#tab-{tab}")
    page.wait_for_timeout(600)  # the charts' animation, so that every chart has drawn at its size


def point_options(page, chart_id: str, dataset: int) -> list[dict]:
    """Return the resolved style of each point of a dataset (what Chart.js draws)."""
    return page.evaluate(
        "([id, i]) => window.claraCharts[id].getDatasetMeta(i).data.map(p => ({background: p.options.backgroundColor,"
        " style: p.options.pointStyle, radius: p.options.radius}))",
        [chart_id, dataset],
    )


def segment_dashes(page, chart_id: str, dataset: int) -> list:
    """Return the border dash of the segment after each point but the last (null: solid)."""
    return page.evaluate(
        "([id, i]) => { const d = window.claraCharts[id].data.datasets[i];"
        " return d.data.slice(1).map((_, j) => d.segment.borderDash({p0DataIndex: j, p1DataIndex: j + 1}) ?? null); }",
        [chart_id, dataset],
    )


def drift_value(result: dict | None) -> float | None:
    if not result:
        return None
    return result["statistic"] if result["algorithm"] == "hellinger" else result["p_value"]


def test_drift_tab_draws_the_drift_api_and_lists_its_alerts(page, base_url: str, seeded: Settings) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    query = open_range(page, base_url, seeded, tab="drift")
    drift = get_json(f"{base_url}/api/drift?{query}")
    alerts = get_json(f"{base_url}/api/alerts?{query}")["alerts"]
    hellinger = drift["thresholds"]["algorithm"] == "hellinger"
    threshold = drift["thresholds"]["hellinger_threshold" if hellinger else "p_value"]
    days = [d["day"] for d in drift["days"]]
    categories_seen = set()
    for feature in ("predicted_class", "true_class", "confidence"):
        chart_id = f"chart-drift-{feature}"
        results = [d["features"].get(feature) for d in drift["days"]]
        categories = [r["category"] if r else None for r in results]
        categories_seen.update(categories)
        chart = chart_data(page, chart_id)
        assert chart["labels"] == days
        measured, threshold_line, insufficient = chart["datasets"]
        assert measured["data"] == [drift_value(r) for r in results], feature
        assert page.evaluate("(id) => window.claraCharts[id].data.datasets[0].categories", chart_id) == categories
        assert threshold_line["data"] == [threshold] * len(days)
        edge = 0 if hellinger else 1
        assert insufficient["data"] == [edge if c == "insufficient_data" else None for c in categories]
        points = point_options(page, chart_id, 0)
        for category, point in zip(categories, points, strict=True):
            if category == "drift":
                assert point["style"] == "triangle" and point["background"] == "#dc2626"
            elif category == "no_drift":
                assert point["style"] == "circle" and point["background"] == "#1f7a55"
        hollow = point_options(page, chart_id, 2)
        assert all(p["background"] == HOLLOW for p, c in zip(hollow, categories) if c == "insufficient_data")
    # The seeded range has days of every kind: the reference window, too few predictions, drift.
    assert {"drift", "no_drift", "in_reference", None} <= categories_seen

    assert alerts, "the planted drop of green raises alerts"
    rows = page.evaluate(
        "() => [...document.querySelectorAll('#alerts-table tbody tr')].map(r => ({id: r.dataset.alertId,"
        " time: r.querySelector('time').dateTime, cells: [...r.cells].map(c => c.textContent.trim())}))"
    )
    assert [r["id"] for r in rows] == [a["id"] for a in alerts]
    for row, alert in zip(rows, alerts, strict=True):
        raised, kind, day, value, limit, webhook, details = row["cells"]
        assert row["time"] == alert["created_at"]
        assert (kind, day, webhook) == (KIND_TEXT[alert["kind"]], alert["day"], WEBHOOK_TEXT[alert["delivered"]])
        for text, number in ((value, alert["value"]), (limit, alert["threshold"])):
            if number is None:
                assert text == "–"
            elif alert["kind"] == "accuracy":
                assert abs(float(text.rstrip("%")) - number * 100) <= 0.051
        assert details and details in alert["text"]
    assert page.is_hidden("#alerts-empty")
    page.wait_for_timeout(300)
    save_screenshot(page, "drift-alerts.png", full_page=True)


def test_alert_days_are_marked_on_the_main_and_metrics_charts(page, base_url: str, seeded: Settings) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    query = open_range(page, base_url, seeded, tab="main")
    alerts = get_json(f"{base_url}/api/alerts?{query}")["alerts"]
    alert_days = sorted({a["day"] for a in alerts})
    assert alert_days
    page.wait_for_timeout(600)
    marked = "(id) => window.claraCharts[id].$alertDays"
    assert page.evaluate(marked, "chart-daily") == alert_days
    labels = chart_data(page, "chart-daily")["labels"]
    # The tooltip of a day names each of its alerts, and of a quiet day none.
    tooltip_lines = "([id, i]) => window.claraCharts[id].options.plugins.tooltip.callbacks.afterBody([{dataIndex: i}])"
    for day in labels:
        lines = page.evaluate(tooltip_lines, ["chart-daily", labels.index(day)])
        kinds = [a["kind"] for a in alerts if a["day"] == day]
        assert len(lines) == len(kinds), (day, lines)
        for line, kind in zip(lines, kinds, strict=True):
            assert line.startswith(f"⚠ Alert: {'accuracy' if kind == 'accuracy' else 'CLARA drift'}"), line
    save_screenshot(page, "main-with-alerts.png")
    show_tab(page, "metrics")
    for metric in ("precision", "accuracy", "recall", "f1"):
        assert page.evaluate(marked, f"chart-{metric}") == alert_days, metric


def confusion_cells(page) -> list[list[dict]]:
    return page.evaluate(
        "() => [...document.querySelectorAll('#confusion-table tbody tr')].map(r =>"
        " [...r.querySelectorAll('td.cell')].map(c => ({value: c.dataset.value, text: c.textContent})))"
    )


def test_confusion_matrix_table_equals_the_api_in_counts_and_row_shares(page, base_url: str, seeded: Settings) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    query = open_range(page, base_url, seeded, tab="class-metrics")
    api = get_json(f"{base_url}/api/confusion?{query}")
    assert sum(map(sum, api["matrix"])) > 0
    headers = page.evaluate("() => [...document.querySelectorAll('#confusion-table thead th')].map(c => c.textContent)")
    assert headers[1:-1] == api["names"]
    row_headers = page.evaluate(
        "() => [...document.querySelectorAll('#confusion-table tbody th[scope=row]')].map(c => c.textContent)"
    )
    assert row_headers == api["names"]
    cells = confusion_cells(page)
    assert [[int(c["value"]) for c in row] for row in cells] == api["matrix"]
    assert [[c["text"] for c in row] for row in cells] == [[f"{n:,}" for n in row] for row in api["matrix"]]
    rejected = page.evaluate(
        "() => [...document.querySelectorAll('#confusion-table tfoot td.count')].map(c => c.textContent)"
    )
    assert rejected == [f"{api['rejected'].get(name, 0):,}" for name in api["names"]]
    assert page.get_attribute("#confusion-counts", "aria-pressed") == "true"
    save_screenshot(page.locator("#card-confusion"), "confusion-matrix.png")

    page.click("#confusion-rows")
    assert page.get_attribute("#confusion-rows", "aria-pressed") == "true"
    assert page.get_attribute("#confusion-counts", "aria-pressed") == "false"
    for row, counts in zip(confusion_cells(page), api["matrix"], strict=True):
        total = sum(counts)
        for cell, n in zip(row, counts, strict=True):
            if total == 0:
                assert cell["value"] == "null" and cell["text"] == "–"
            else:
                assert float(cell["value"]) == n / total
                assert abs(float(cell["text"].rstrip("%")) - 100 * n / total) <= 0.051
    # The shade follows the row share: the diagonal cell of a good class is dark.
    heat = page.evaluate(
        "() => [...document.querySelectorAll('#confusion-table td.cell')].map(c => c.style.getPropertyValue('--heat'))"
    )
    assert all(0 <= float(h) <= 1 for h in heat)


def test_per_class_chart_draws_the_daily_class_metrics_of_the_chosen_metric(
    page, base_url: str, seeded: Settings
) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    query = open_range(page, base_url, seeded, tab="class-metrics")
    api = get_json(f"{base_url}/api/class-metrics/daily?{query}")
    days = [d["day"] for d in api["days"]]
    for metric in ("precision", "f1", "recall"):
        page.select_option("#class-metric", metric)
        chart = chart_data(page, "chart-class-daily")
        assert chart["labels"] == days
        assert [d["label"] for d in chart["datasets"]] == api["names"]
        for dataset, name in zip(chart["datasets"], api["names"], strict=True):
            assert dataset["data"] == [d["classes"][name][metric] for d in api["days"]], (metric, name)
        assert f"class_metric={metric}" in page.url
    # A point's tooltip gives its value and the class's support that day.
    label = page.evaluate(
        "() => { const c = window.claraCharts['chart-class-daily']; const d = c.data.datasets[0];"
        " const j = d.data.findIndex(v => v !== null);"
        " return c.options.plugins.tooltip.callbacks.label({dataset: d, parsed: {y: d.data[j]}, dataIndex: j}); }"
    )
    name = api["names"][0]
    support = next(d["classes"][name]["support"] for d in api["days"] if d["classes"][name]["recall"] is not None)
    assert label.startswith(f"{name}: ") and label.endswith(f"(support {support})")
    colors = page.evaluate("() => window.claraCharts['chart-class-daily'].data.datasets.map(d => d.backgroundColor)")
    assert colors == [api["color_dict"][name] for name in api["names"]]
    # The planted drop: green's recall over the last 14 days is well under its earlier level.
    green = [d["classes"]["green"]["recall"] for d in api["days"]]
    late = [v for v in green[-13:-1] if v is not None]
    early = [v for v in green[:14] if v is not None]
    assert sum(late) / len(late) < sum(early) / len(early) - 0.2
    page.wait_for_timeout(600)
    save_screenshot(page.locator("#card-class-daily"), "class-metrics-over-time.png")
    # Pointing at a class in the legend fades the other lines.
    green = api["names"].index("green")
    box = page.evaluate("(i) => window.claraCharts['chart-class-daily'].legend.legendHitBoxes[i]", green)
    canvas = page.locator("#chart-class-daily").bounding_box()
    page.mouse.move(canvas["x"] + box["left"] + box["width"] / 2, canvas["y"] + box["top"] + box["height"] / 2)
    page.wait_for_function("window.claraCharts['chart-class-daily'].$emphasis !== undefined")
    lines = page.evaluate(
        "() => window.claraCharts['chart-class-daily'].data.datasets.map((d, i) =>"
        " window.claraCharts['chart-class-daily'].getDatasetMeta(i).dataset.options.borderColor)"
    )
    assert lines[green] == api["color_dict"]["green"]
    assert all(color.startswith("#") and len(color) == 9 for i, color in enumerate(lines) if i != green), lines


def test_low_count_days_are_drawn_hollow_and_dashed(page, base_url: str, seeded: Settings) -> None:
    query = open_range(page, base_url, seeded, tab="main")
    api = get_json(f"{base_url}/api/metrics?{query}")
    threshold = api["low_sample_threshold"]
    days = list(api["daily_metrics"])
    counts = [api["daily_metrics"][d]["entries"] for d in days]
    low = [0 < n < threshold for n in counts]
    assert low[days.index(str(today(seeded.tz) - timedelta(days=LOW_DAY)))]
    assert not all(low)
    dashed = [DASH if low[j] or low[j + 1] else None for j in range(len(days) - 1)]
    for chart_id, tab in (("chart-daily", "main"), ("chart-accuracy", "metrics")):
        show_tab(page, tab)
        datasets = chart_data(page, chart_id)["datasets"]
        for i, dataset in enumerate(datasets):
            color = page.evaluate("([id, i]) => window.claraCharts[id].data.datasets[i].borderColor", [chart_id, i])
            for j, point in enumerate(point_options(page, chart_id, i)):
                if dataset["data"][j] is not None:
                    assert point["background"] == (HOLLOW if low[j] else color), (chart_id, days[j])
            assert segment_dashes(page, chart_id, i) == dashed
    # Per class, a day is low-sample by its validated predictions, whatever the class's support.
    class_daily = get_json(f"{base_url}/api/class-metrics/daily?{query}")
    assert [0 < d["count"] < threshold for d in class_daily["days"]] == low
    show_tab(page, "class-metrics")
    for i, name in enumerate(class_daily["names"]):
        points = point_options(page, "chart-class-daily", i)
        for j, point in enumerate(points):
            if class_daily["days"][j]["classes"][name]["recall"] is not None:
                assert (point["background"] == HOLLOW) == low[j], (name, days[j])
        assert segment_dashes(page, "chart-class-daily", i) == dashed
    title = page.evaluate(
        "([i]) => window.claraCharts['chart-daily'].options.plugins.tooltip.callbacks.afterTitle([{dataIndex: i}])",
        [days.index(str(today(seeded.tz) - timedelta(days=LOW_DAY)))],
    )
    assert title.startswith(f"{LOW_KEEP} validated predictions") and "low confidence" in title


def test_no_ledger_banner_while_the_logger_is_current(page, base_url: str, seeded: Settings) -> None:
    open_range(page, base_url, seeded)
    assert get_json(f"{base_url}/api/status")["state"] == "current"
    assert page.is_hidden("#ledger")
    assert page.is_hidden("#error")


@pytest.mark.parametrize("ran_logger", [True, False], ids=["behind", "absent"])
def test_a_lagging_ledger_is_shown_in_a_banner(
    browser, mongo_uri: str, mongo_client: MongoClient, ran_logger: bool
) -> None:
    # A tick that is late after a few milliseconds ("behind"), or no tick at all ("absent").
    settings = Settings.from_env(
        {}, MONGODB_URI=mongo_uri, MONGODB_DB=f"test_browser_{uuid.uuid4().hex[:8]}", TIMEZONE="Europe/Madrid",
        LOGGER_INTERVAL_MINUTES=0.0001,
    )
    try:
        seed(mongo_client, settings, days=3, per_day=20)
        if ran_logger:
            with make_client(settings) as client:
                Logger(settings, client).tick()
            time.sleep(0.1)
        for base in serve(settings):
            status = get_json(f"{base}/api/status")
            assert status["state"] == ("behind" if ran_logger else "absent")
            context = browser.new_context()
            page = context.new_page()
            page.goto(base)
            wait_for_load(page, 1)
            assert page.is_visible("#ledger")
            assert page.is_hidden("#error")
            ledger = api_metrics(base, page)["ledger"]  # the range's own account of the backlog
            assert ledger["state"] == status["state"]
            assert page.text_content("#ledger-message") == ledger["message"]
            assert page.get_attribute("#ledger", "data-state") == ledger["state"]
            context.close()
    finally:
        mongo_client.drop_database(settings.MONGODB_DB)
