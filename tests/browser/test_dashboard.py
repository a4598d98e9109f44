"""The dashboard in headless Chromium: every tab draws the API's numbers, the range drives the charts.

Runs `clara-monitor` (gunicorn) against a seeded database on which the logger has run one tick (so
that the history, drift and alerts exist), and drives Debian's chromium through playwright. A
screenshot of each tab goes to artifacts/screenshots/; with SCREENSHOTS_TO_DOCS=1 the pictures of
the main tab, the drift, alert, confusion and per-class views and the phone layout also go to
docs/screenshots/.

The page runs under the monitor's Content-Security-Policy (no 'unsafe-eval'), so the tests wait with
page.evaluate in a loop (wait_until), never with page.wait_for_function.
"""

from __future__ import annotations

import json
import os
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import date, timedelta
from pathlib import Path

import pytest
from pymongo import MongoClient

from clara_common.days import day_bounds, today
from clara_common.db import predictions
from clara_monitor.settings import MonitorSettings
from tests.utils.monitor_databases import log_once, monitor_env, sample_database, unreachable_settings
from tests.utils.monitor_process import running_monitor

pytestmark = pytest.mark.browser

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
SHIFT_DAY = 4  # days before today: SHIFT_EXTRA more yellow predictions, a class-mix shift
SHIFT_EXTRA = 600
HOLLOW = "#ffffff"
DASH = [5, 4]
WEBHOOK_TEXT = {True: "delivered", False: "pending", None: "webhook off"}
KIND_TEXT = {"performance": "Performance", "drift": "Drift", "traffic": "Traffic"}
UNKNOWN_CLASS = "rejected, class unknown"  # the bar of legacy rejections that name no class


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=60) as answer:
        return json.load(answer)


def sample_dashboard(
    mongo_uri: str, mongo_client: MongoClient, days: int, per_day: int, **changes: object
) -> AbstractContextManager[MonitorSettings]:
    """Return a database of its own with the sample predictions of the last `days` days in Madrid time, as a
    context manager that yields its settings (`changes` applied) and drops it afterwards."""
    return sample_database(
        mongo_uri, mongo_client, "test_browser", days=days, per_day=per_day, seed=5, TIMEZONE="Europe/Madrid", **changes
    )


@pytest.fixture(scope="module")
def seeded(mongo_uri: str, mongo_client: MongoClient) -> Iterator[MonitorSettings]:
    with sample_dashboard(mongo_uri, mongo_client, SEED_DAYS, PER_DAY) as settings:
        collection = predictions(mongo_client, settings)
        current = today(settings.tz)
        start, _ = day_bounds(current - timedelta(days=GAP[0]), settings.tz)
        _, end = day_bounds(current - timedelta(days=GAP[1]), settings.tz)
        collection.delete_many({"timestamp_validated": {"$gte": start, "$lt": end}})
        start, end = day_bounds(current - timedelta(days=LOW_DAY), settings.tz)
        low_day = collection.find({"timestamp_validated": {"$gte": start, "$lt": end}}, {"_id": 1}, sort=[("_id", 1)])
        collection.delete_many({"_id": {"$in": [doc["_id"] for doc in low_day][LOW_KEEP:]}})
        collection.insert_many(class_mix_shift(settings, current - timedelta(days=SHIFT_DAY)))
        # A long logger interval, recorded in the ledger: the history stays "current" however long the module runs.
        log_once(settings, LOGGER_INTERVAL_MINUTES=600)
        yield settings


def class_mix_shift(settings: MonitorSettings, day: date) -> list[dict]:
    """Return SHIFT_EXTRA yellow predictions, right and reviewed on `day`: a class-mix shift the logger calls drift.

    The planted drop of green alone is too small a shift to pass drift's effect-size test (issue 17).
    """
    start, _ = day_bounds(day, settings.tz)
    yellow = settings.classes.id_of("yellow")
    at = start + timedelta(hours=12)
    return [
        {
            "filename": f"shift-{i:04d}.jpg",
            "output_confidence": 0.9,
            "output_prediction": yellow,
            "output_validated": yellow,
            "timestamp": at,
            "timestamp_validated": at,
            "logged": False,
        }
        for i in range(SHIFT_EXTRA)
    ]


@pytest.fixture
def page(browser):
    # en-US: the date fields read MM/DD/YYYY, which the typing tests type.
    context = browser.new_context(viewport={"width": 1366, "height": 900}, device_scale_factor=1, locale="en-US")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors: {errors}"


def save_screenshot(target, name: str, full_page: bool = False, docs: bool = True) -> None:
    """Save a picture of a page or an element to artifacts/, and to docs/ when SCREENSHOTS_TO_DOCS=1."""
    to_docs = docs and os.environ.get("SCREENSHOTS_TO_DOCS") == "1"
    folders = [SCREENSHOTS] + ([DOC_SCREENSHOTS] if to_docs else [])
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
        if full_page:
            target.screenshot(path=str(folder / name), full_page=True)
        else:
            target.screenshot(path=str(folder / name))


def wait_until(page, expression: str, timeout_ms: int = 30_000) -> None:
    """Wait until the JavaScript `expression` is true in the page.

    Not page.wait_for_function: it evaluates its predicate inside the page, which the monitor's
    Content-Security-Policy (no 'unsafe-eval') refuses; page.evaluate goes through the debugger.
    """
    deadline = time.monotonic() + timeout_ms / 1000
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise TimeoutError(f"still false after {timeout_ms} ms: {expression}")
        page.wait_for_timeout(50)


def wait_for_load(page, count: int) -> None:
    """Wait until the dashboard has finished `count` loads of /api/metrics."""
    wait_until(page, f"Number(document.body.dataset.loads || 0) >= {count}", timeout_ms=120_000)


def chart_data(page, chart_id: str) -> dict:
    """Return the labels and dataset values a Chart instance holds."""
    return page.evaluate(
        "(id) => { const c = window.claraCharts[id]; return c && {labels: c.data.labels, "
        "datasets: c.data.datasets.map(d => ({label: d.label, data: d.data}))}; }",
        chart_id,
    )


def is_reference(dataset: dict) -> bool:
    """Return whether a dataset of a metric chart is accuracy's reference level or band (not a day's metric)."""
    return dataset["label"].startswith("Accuracy reference")


def api_metrics(base_url: str, page) -> dict:
    start = page.input_value("#start-date")
    end = page.input_value("#end-date")
    return get_json(f"{base_url}/api/metrics?start_date={start}&end_date={end}&average={page.input_value('#average')}")


def assert_charts_carry(page, api: dict, training: dict) -> None:
    days = list(api["daily_metrics"])
    names = list(api["class_counts"])
    daily = chart_data(page, "chart-daily")
    assert daily["labels"] == days
    # The accuracy's reference level and band, once the logger has judged, follow the four metrics.
    metric_lines = [d for d in daily["datasets"] if not is_reference(d)]
    for dataset, metric in zip(metric_lines, ["precision", "accuracy", "recall", "f1"], strict=True):
        assert dataset["data"] == [api["daily_metrics"][d][metric] for d in days], metric
    for metric in ("precision", "accuracy", "recall", "f1"):
        assert chart_data(page, f"chart-{metric}")["datasets"][0]["data"] == [
            api["daily_metrics"][d][metric] for d in days
        ]
    counts = [api["class_counts"][n] for n in names]
    # Legacy rejections without a class have a bar of their own, so that the bars add up to the total.
    unknown = api["total_validated"] - sum(counts)
    if unknown:
        names, counts = [*names, UNKNOWN_CLASS], [*counts, unknown]
    for chart in ("chart-main-classes", "chart-samples-pie", "chart-samples-bar"):
        assert chart_data(page, chart) == {
            "labels": names,
            "datasets": [{"label": chart_data(page, chart)["datasets"][0]["label"], "data": counts}],
        }
    for metric in ("precision", "recall", "f1"):
        assert chart_data(page, f"chart-class-{metric}")["datasets"][0]["data"] == [
            api["class_metrics"][n][metric] for n in api["class_metrics"]
        ]
    training_names = list(training["class_counts"])
    assert chart_data(page, "chart-training")["datasets"][0]["data"] == [
        training["class_counts"][n] for n in training_names
    ]
    assert page.text_content("#kpi-total") == f"{api['total_validated']:,}"


def test_every_tab_draws_the_api_numbers(page, base_url: str) -> None:
    page.goto(base_url)
    wait_for_load(page, 1)
    wait_until(page, "window.claraState.training !== null")
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
        if tab == "main":
            save_screenshot(page, "monitor-main.png")  # the README's picture
        assert f"tab={tab}" in page.url


def test_date_pickers_are_bounded_by_the_date_range(page, base_url: str) -> None:
    page.goto(base_url)
    wait_for_load(page, 1)
    bounds = get_json(f"{base_url}/api/date-range")
    for picker in ("#start-date", "#end-date"):
        assert page.get_attribute(picker, "min") == bounds["min_date"]
        assert page.get_attribute(picker, "max") == max(bounds["max_date"], bounds["today"])
    assert page.input_value("#end-date") == bounds["max_date"]


def test_changing_the_range_redraws_every_chart(page, base_url: str, seeded: MonitorSettings) -> None:
    page.goto(base_url)
    wait_for_load(page, 1)
    page.get_by_role("tab", name="Metrics", exact=True).click()
    # From the range the page shows: its default ends on the last day with data, which is not today when the
    # seeding straddled midnight in Madrid.
    start = date.fromisoformat(page.input_value("#end-date")) - timedelta(days=20)
    page.fill("#start-date", start.isoformat())
    page.dispatch_event("#start-date", "change")
    wait_for_load(page, 2)
    api = api_metrics(base_url, page)
    assert len(api["daily_metrics"]) == 21
    assert_charts_carry(page, api, get_json(f"{base_url}/api/training-data"))
    assert f"start_date={start}" in page.url
    page.select_option("#average", "weighted")
    wait_for_load(page, 3)
    assert_charts_carry(page, api_metrics(base_url, page), get_json(f"{base_url}/api/training-data"))


def test_days_without_validations_are_gaps_in_the_line_charts(page, base_url: str, seeded: MonitorSettings) -> None:
    current = today(seeded.tz)
    page.goto(f"{base_url}/?start_date={current - timedelta(days=16)}&end_date={current - timedelta(days=6)}")
    wait_for_load(page, 1)
    daily = chart_data(page, "chart-daily")
    gap_days = [(current - timedelta(days=d)).isoformat() for d in range(GAP[0], GAP[1] - 1, -1)]
    for day in gap_days:
        index = daily["labels"].index(day)
        assert all(dataset["data"][index] is None for dataset in daily["datasets"] if not is_reference(dataset))
    assert page.evaluate("window.claraCharts['chart-daily'].data.datasets.every(d => d.spanGaps === false)")


def test_an_empty_range_says_so_instead_of_drawing(page, base_url: str, seeded: MonitorSettings) -> None:
    current = today(seeded.tz)
    page.goto(f"{base_url}/?start_date={current - timedelta(days=GAP[0])}&end_date={current - timedelta(days=GAP[1])}")
    wait_for_load(page, 1)
    for tab in ("main", "metrics", "samples", "class-metrics"):
        page.click(f"#tab-{tab}")
        assert page.is_visible(f"#panel-{tab} .empty")
        assert "No validated predictions in this range" in page.text_content(f"#panel-{tab} .empty")
        assert not page.is_visible(f"#panel-{tab} .with-data")


def test_api_errors_are_shown_on_the_page(browser, seeded: MonitorSettings, tmp_path) -> None:
    down = unreachable_settings(MONGODB_DB="none")
    with running_monitor(monitor_env(down), tmp_path / "monitor.log", workers=1) as server:
        context = browser.new_context()
        page = context.new_page()
        page.goto(server.base_url)
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


def open_range(page, base_url: str, settings: MonitorSettings, days: int = 30, tab: str = "main") -> str:
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


def drift_value(result: dict | None, by_psi: bool) -> float | None:
    """Return what a drift chart draws of a day: its PSI where the days were judged by it, else its p-value or
    Hellinger distance (releases before effect sizes)."""
    if not result:
        return None
    if by_psi:
        return result.get("psi")
    return result["statistic"] if result["algorithm"] == "hellinger" else result["p_value"]


def drift_threshold(result: dict | None, by_psi: bool, setting: float) -> float | None:
    """Return the threshold a drift chart draws on a day: the one the day was judged with."""
    if not result:
        return None
    if by_psi:
        return result.get("psi_threshold")
    return result["threshold"] if result.get("threshold") is not None else setting


def test_drift_tab_draws_the_drift_api_and_lists_its_alerts(page, base_url: str, seeded: MonitorSettings) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    query = open_range(page, base_url, seeded, tab="drift")
    drift = get_json(f"{base_url}/api/drift?{query}")
    alerts = get_json(f"{base_url}/api/alerts?{query}")["alerts"]
    days = [d["day"] for d in drift["days"]]
    categories_seen = set()
    for feature in ("predicted_class", "true_class", "confidence"):
        chart_id = f"chart-drift-{feature}"
        results = [d["features"].get(feature) for d in drift["days"]]
        by_psi = any(r and r.get("psi") is not None for r in results)
        hellinger = not by_psi and drift["thresholds"]["algorithm"] == "hellinger"
        setting = drift["thresholds"]["hellinger_threshold" if hellinger else "p_value"]
        categories = [r["category"] if r else None for r in results]
        categories_seen.update(categories)
        chart = chart_data(page, chart_id)
        assert chart["labels"] == days
        measured, threshold_line, insufficient = chart["datasets"]
        assert measured["data"] == [drift_value(r, by_psi) for r in results], feature
        assert page.evaluate("(id) => window.claraCharts[id].data.datasets[0].categories", chart_id) == categories
        # Each day's own threshold, never one line from the monitor's current setting.
        assert threshold_line["data"] == [drift_threshold(r, by_psi, setting) for r in results], feature
        edge = 0 if by_psi or hellinger else 1
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
        " opened: r.cells[4].querySelector('time').dateTime, cells: [...r.cells].map(c => c.textContent.trim())}))"
    )
    assert [r["id"] for r in rows] == [a["id"] for a in alerts]  # one row per incident, in the API's order
    for row, alert in zip(rows, alerts, strict=True):
        kind, metric, _, since, opened, status, value, webhook, details = row["cells"]
        assert row["opened"] == alert["day"] and opened == long_day(alert["day"])
        assert kind.split()[0] == KIND_TEXT[alert["kind"]] and ("legacy" in kind) == alert["legacy"]
        assert (since, webhook) == (long_day(alert["since"]), WEBHOOK_TEXT[alert["delivered"]])
        assert status == ("open" if alert["status"] == "open" else f"resolved {long_day(alert['resolved_day'])}")
        assert metric
        # A value the data has is shown, never a dash; a performance figure as a whole percentage.
        assert (value == "–") == (alert["value"] is None and alert["reference"] is None), (value, alert)
        if alert["kind"] == "performance" and alert["value"] is not None:
            assert abs(float(value.split("%")[0]) - alert["value"] * 100) <= 0.5
        assert details and details.split(" · ")[0] in alert["text"]
    assert page.is_hidden("#alerts-empty")
    page.wait_for_timeout(300)
    save_screenshot(page, "drift-alerts.png", full_page=True)


def test_alert_days_are_marked_on_the_main_and_metrics_charts(page, base_url: str, seeded: MonitorSettings) -> None:
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
            assert line.startswith(f"⚠ {KIND_TEXT[kind]}: "), line
    save_screenshot(page, "main-with-alerts.png")
    show_tab(page, "metrics")
    for metric in ("precision", "accuracy", "recall", "f1"):
        assert page.evaluate(marked, f"chart-{metric}") == alert_days, metric


def confusion_cells(page) -> list[list[dict]]:
    return page.evaluate(
        "() => [...document.querySelectorAll('#confusion-table tbody tr')].map(r =>"
        " [...r.querySelectorAll('td.cell')].map(c => ({value: c.dataset.value, text: c.textContent})))"
    )


def test_confusion_matrix_table_equals_the_api_in_counts_and_row_shares(
    page, base_url: str, seeded: MonitorSettings
) -> None:
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
    page, base_url: str, seeded: MonitorSettings
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
    wait_until(page, "window.claraCharts['chart-class-daily'].$emphasis !== undefined")
    lines = page.evaluate(
        "() => window.claraCharts['chart-class-daily'].data.datasets.map((d, i) =>"
        " window.claraCharts['chart-class-daily'].getDatasetMeta(i).dataset.options.borderColor)"
    )
    assert lines[green] == api["color_dict"]["green"]
    assert all(color.startswith("#") and len(color) == 9 for i, color in enumerate(lines) if i != green), lines


def test_low_count_days_are_drawn_hollow_and_dashed(page, base_url: str, seeded: MonitorSettings) -> None:
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
            if is_reference(dataset):
                continue  # a level over every day, drawn without points
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


def test_no_ledger_banner_while_the_logger_is_current(page, base_url: str, seeded: MonitorSettings) -> None:
    open_range(page, base_url, seeded)
    assert get_json(f"{base_url}/api/status")["state"] == "current"
    assert page.is_hidden("#ledger")
    assert page.is_hidden("#error")


@pytest.mark.parametrize("ran_logger", [True, False], ids=["behind", "absent"])
def test_a_lagging_ledger_is_shown_in_a_banner(
    browser, mongo_uri: str, mongo_client: MongoClient, ran_logger: bool, tmp_path
) -> None:
    # A tick that is late after a few milliseconds ("behind"), or no tick at all ("absent").
    with sample_dashboard(mongo_uri, mongo_client, days=3, per_day=20) as settings:
        if ran_logger:
            log_once(settings, LOGGER_INTERVAL_MINUTES=0.0001)
            time.sleep(0.1)
        with running_monitor(monitor_env(settings), tmp_path / "monitor.log", workers=1) as server:
            base = server.base_url
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


# -- hardening: typed dates, ranges kept or fitted with a notice, bad addresses, totals, outages,
#    the phone layout, the favicon, low-count notes -------------------------------------------------

TYPING_PAUSE_MS = 1000  # dashboard.js' pause before a typed date is applied


def count_requests(page, path: str) -> list[str]:
    """Return a list that fills with the URLs of the page's requests to `path` from now on."""
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url) if path in request.url else None)
    return urls


def bounds(base_url: str) -> dict:
    return get_json(f"{base_url}/api/date-range")


def test_a_date_typed_on_the_keyboard_is_applied_once_when_complete(
    page, base_url: str, seeded: MonitorSettings
) -> None:
    current = today(seeded.tz)
    start = current - timedelta(days=29)
    open_range(page, base_url, seeded, days=30)
    requests = count_requests(page, "/api/metrics")
    target = current - timedelta(days=7)
    # Chrome changes the field at every digit (0002, 0020, 0202, 2026 for the year): one request, at the end.
    page.click("#end-date", position={"x": 14, "y": 12})  # the month, the first part of 11/20/2026
    page.keyboard.type(target.strftime("%m%d%Y"))
    wait_for_load(page, 2)
    page.wait_for_timeout(TYPING_PAUSE_MS + 700)  # long enough for a stray delayed apply to show
    assert len(requests) == 1, requests
    assert f"end_date={target}" in requests[0] and f"start_date={start}" in requests[0]
    assert (page.input_value("#start-date"), page.input_value("#end-date")) == (str(start), str(target))
    assert f"end_date={target}" in page.url
    assert page.is_hidden("#notice")
    assert page.evaluate("window.claraState.metrics.end_date") == str(target)

    # A date picked in the calendar: Chrome sets the value and fires input and change, with no key.
    picked = current - timedelta(days=20)
    requests.clear()
    page.fill("#start-date", str(picked))
    wait_for_load(page, 3)
    page.wait_for_timeout(300)
    assert len(requests) == 1 and f"start_date={picked}" in requests[0], requests

    # Pasted, as YYYY-MM-DD and as the field shows it (Chrome itself ignores a paste into a date field).
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url)
    for loads, pasted, text in ((4, current - timedelta(days=25), None), (5, current - timedelta(days=15), "%m/%d/%Y")):
        requests.clear()
        page.evaluate("(text) => navigator.clipboard.writeText(text)", pasted.strftime(text) if text else str(pasted))
        page.click("#start-date", position={"x": 14, "y": 12})
        page.keyboard.press("Control+V")
        wait_for_load(page, loads)
        page.wait_for_timeout(300)
        assert page.input_value("#start-date") == str(pasted)
        assert len(requests) == 1 and f"start_date={pasted}" in requests[0], requests

    # Enter applies a partly typed date at once: here the day only, in the To field.
    requests.clear()
    page.click("#end-date", position={"x": 14, "y": 12})
    page.keyboard.press("Tab")  # to the day
    page.keyboard.type(f"{(target - timedelta(days=1)).day:02d}")
    page.keyboard.press("Enter")
    wait_for_load(page, 6)
    assert len(requests) == 1 and f"end_date={target - timedelta(days=1)}" in requests[0], requests


def test_a_range_outside_the_data_stays_as_asked_and_says_it_is_empty(page, base_url: str) -> None:
    first, last = bounds(base_url)["min_date"], bounds(base_url)["max_date"]
    day = lambda text, n: str(date.fromisoformat(text) + timedelta(days=n))  # noqa: E731
    for start, end in ((day(first, -30), day(first, -20)), (day(last, 5), day(last, 9))):
        page.goto(f"{base_url}/?start_date={start}&end_date={end}")
        wait_for_load(page, 1)
        assert (page.input_value("#start-date"), page.input_value("#end-date")) == (start, end)
        assert f"start_date={start}&end_date={end}" in page.url
        assert page.evaluate("[window.claraState.metrics.start_date, window.claraState.metrics.end_date]") == [
            start,
            end,
        ]
        assert page.is_visible("#panel-main .empty")
        text = page.text_content("#panel-main .empty")
        assert "No validated predictions in this range" in text
        assert "Validated predictions run from" in text
        assert page.is_hidden("#notice") and page.is_hidden("#error")


def test_a_reversed_range_is_swapped_with_a_notice(page, base_url: str, seeded: MonitorSettings) -> None:
    current = today(seeded.tz)
    early, late = current - timedelta(days=10), current - timedelta(days=3)
    page.goto(f"{base_url}/?start_date={late}&end_date={early}")
    wait_for_load(page, 1)
    assert (page.input_value("#start-date"), page.input_value("#end-date")) == (str(early), str(late))
    assert page.is_visible("#notice")
    assert "swapped" in page.text_content("#notice")
    assert page.is_hidden("#error")
    save_screenshot(page.locator("#notice"), "range-notice.png", docs=False)
    assert page.evaluate("Object.keys(window.claraState.metrics.daily_metrics).length") == 8
    # Set on the page: From after To.
    page.fill("#start-date", str(current - timedelta(days=1)))
    wait_for_load(page, 2)
    assert (page.input_value("#start-date"), page.input_value("#end-date")) == (
        str(late),
        str(current - timedelta(days=1)),
    )
    assert "swapped" in page.text_content("#notice")
    # A range that needs nothing changed takes the notice away.
    page.fill("#start-date", str(current - timedelta(days=5)))
    wait_for_load(page, 3)
    assert page.is_hidden("#notice")


def test_a_range_over_366_days_is_cut_with_a_notice(page, base_url: str, seeded: MonitorSettings) -> None:
    end = today(seeded.tz)
    page.goto(f"{base_url}/?start_date={end - timedelta(days=399)}&end_date={end}")
    wait_for_load(page, 1)
    assert (page.input_value("#start-date"), page.input_value("#end-date")) == (
        str(end - timedelta(days=365)),
        str(end),
    )
    notice = page.text_content("#notice")
    assert page.is_visible("#notice") and "400 days" in notice and "366" in notice and "From moved" in notice
    assert page.is_hidden("#error")
    assert len(page.evaluate("Object.keys(window.claraState.metrics.daily_metrics)")) == 366
    assert f"start_date={end - timedelta(days=365)}" in page.url


@pytest.mark.parametrize(
    "query, api_path, words",
    [
        ("start_date=2026-13-01", "/api/alerts?start_date=2026-13-01", "start_date is not a calendar date"),
        ("end_date=yesterday", "/api/alerts?end_date=yesterday", None),
        ("start_date=1999-12-31", "/api/alerts?start_date=1999-12-31", None),
        ("average=median", "/api/metrics?average=median", None),
    ],
    ids=["impossible-month", "not-a-date", "out-of-years", "unknown-average"],
)
def test_a_bad_address_is_refused_in_the_page_and_falls_back_to_the_default(
    page, base_url: str, query: str, api_path: str, words: str | None
) -> None:
    with pytest.raises(urllib.error.HTTPError) as refused:
        get_json(f"{base_url}{api_path}")
    assert refused.value.code == 400
    api_error = json.load(refused.value)["error"]
    # The page checks the address itself: the bad value never reaches the API, no 400 in the console.
    bad_value = query.split("=")[1]
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.url) if "/api/" in request.url else None)
    failed: list[str] = []
    page.on("response", lambda response: failed.append(response.url) if response.status >= 400 else None)
    page.goto(f"{base_url}/?{query}&tab=main")
    wait_for_load(page, 1)
    assert sent and not [url for url in sent if bad_value in url], sent
    assert not failed, failed
    assert page.text_content("#status") != "Loading…"
    assert page.is_visible("#notice")
    notice = page.text_content("#notice")
    # In the API's words (or, for a day no calendar has, the start of them).
    assert (words or api_error) in notice and api_error.startswith(words or api_error), (notice, api_error)
    last = bounds(base_url)["max_date"]
    default_start = str(date.fromisoformat(last) - timedelta(days=6))
    assert shown_range(page) == (default_start, last)
    assert page.input_value("#average") == "macro"
    assert f"start_date={default_start}&end_date={last}&average=macro" in page.url
    assert page.is_hidden("#error")
    # Against the range the page shows (the API's default ends today, not on the last day with data).
    assert page.text_content("#kpi-total") == f"{api_metrics(base_url, page)['total_validated']:,}"


def test_class_counts_add_up_to_the_validated_total_and_pie_slices_give_their_share(
    page, base_url: str, seeded: MonitorSettings
) -> None:
    query = open_range(page, base_url, seeded, days=30)
    api = get_json(f"{base_url}/api/metrics?{query}")
    rejected = get_json(f"{base_url}/api/confusion?{query}")["rejected"]
    unknown = api["total_validated"] - sum(api["class_counts"].values())
    assert unknown > 0 and unknown == sum(rejected.values()), "the seed has legacy rejections without a class"
    for chart in ("chart-main-classes", "chart-samples-bar", "chart-samples-pie"):
        data = chart_data(page, chart)
        assert data["labels"] == [*api["class_counts"], UNKNOWN_CLASS]
        assert sum(data["datasets"][0]["data"]) == api["total_validated"], chart
    assert page.text_content("#kpi-total") == f"{api['total_validated']:,}"
    note = page.text_content("#panel-main .class-total-note")
    assert page.is_visible("#panel-main .class-total-note") and f"{api['total_validated']:,}" in note
    # The grey bar's tooltip gives its share and its predictions by predicted class.
    lines = page.evaluate(
        "(i) => window.claraCharts['chart-main-classes'].options.plugins.tooltip.callbacks.afterLabel({dataIndex: i})",
        len(api["class_counts"]),
    )
    assert "legacy reviews that rejected the prediction" in lines
    predicted = next(line for line in lines if line.startswith("predicted: "))
    assert all(f"{name} {n:,}" in predicted for name, n in rejected.items() if n)
    # Pie slices: the share in the legend and in the tooltip, out of every validated prediction.
    show_tab(page, "samples")
    legend = page.evaluate("window.claraCharts['chart-samples-pie'].legend.legendItems.map(i => i.text)")
    values = [*api["class_counts"].values(), unknown]
    for text, value in zip(legend, values, strict=True):
        assert text.endswith(f"{100 * value / api['total_validated']:.1f}%"), text
    tooltip = page.evaluate(
        "() => { const c = window.claraCharts['chart-samples-pie'];"
        " return c.options.plugins.tooltip.callbacks.label("
        "{label: c.data.labels[0], parsed: c.data.datasets[0].data[0]}); }"
    )
    name, first = next(iter(api["class_counts"].items()))
    assert tooltip == f"{name}: {first:,} ({100 * first / api['total_validated']:.1f}%)"
    page.wait_for_timeout(300)
    save_screenshot(page, "samples-by-class.png", docs=False)


def open_during_an_outage(page, base_url: str, settings: MonitorSettings, failing: Callable[..., bool]) -> None:
    """Open the dashboard on the last 30 days with the API answering 503, as the monitor does while its database is
    down, to each request `failing` (called with the playwright route) picks; the others go through, and so does
    /api/vocabulary, which reads no database."""

    def answer(route) -> None:
        if "/api/vocabulary" not in route.request.url and failing(route):
            body = json.dumps({"error": "the database is unavailable; try again shortly"})
            route.fulfill(status=503, content_type="application/json", body=body)
        else:
            route.continue_()

    page.route("**/api/**", answer)
    open_range(page, base_url, settings, days=30)


def test_an_outage_is_named_retried_with_backoff_and_recovered_without_a_reload(
    page, base_url: str, seeded: MonitorSettings
) -> None:
    down = {"on": True}
    metrics_at: list[float] = []

    def failing(route) -> bool:
        if "/api/metrics" in route.request.url:
            metrics_at.append(time.monotonic())
        return down["on"]

    open_during_an_outage(page, base_url, seeded, failing)
    page.evaluate("window.loadedOnce = true")  # gone if the page were reloaded
    banner = page.text_content("#error")
    assert re.fullmatch(
        r"Could not load the dashboard's data: the database is unavailable; retrying in \d s\.\s*Retry now",
        banner.strip(),
    ), banner
    assert "/api/" not in banner
    assert page.is_visible("#retry-now")
    assert page.text_content("#status") == "Nothing loaded yet."
    page.wait_for_timeout(200)
    save_screenshot(page.locator("#error"), "outage-banner.png", docs=False)
    wait_for_load(page, 2)  # the first retry, after 2 s
    down["on"] = False
    wait_for_load(page, 3)  # the second, 4 s later, gets through
    wait_until(page, "document.getElementById('error').hidden")
    first_gap, second_gap = (b - a for a, b in zip(metrics_at, metrics_at[1:3]))
    assert 1.5 < first_gap < 3.5 and 3.5 < second_gap < 5.5, metrics_at
    assert page.evaluate("window.loadedOnce === true")  # recovered in place, not by a reload
    query = f"start_date={page.input_value('#start-date')}&end_date={page.input_value('#end-date')}"
    api = get_json(f"{base_url}/api/metrics?{query}")
    assert page.text_content("#kpi-total") == f"{api['total_validated']:,}"
    assert chart_data(page, "chart-daily")["labels"] == list(api["daily_metrics"])
    assert page.evaluate("window.claraState.training !== null && window.claraCharts['chart-training'] !== undefined")
    assert page.get_attribute("#start-date", "min") == bounds(base_url)["min_date"]
    assert page.text_content("#status").startswith("Updated ")


def test_an_outage_names_only_what_failed(page, base_url: str, seeded: MonitorSettings) -> None:
    open_during_an_outage(page, base_url, seeded, lambda route: "/api/drift" in route.request.url)
    banner = page.text_content("#error-message") + page.text_content("#error-retry")
    assert re.fullmatch(r"Could not load the drift results: the database is unavailable; retrying in \d s\.", banner)
    assert page.text_content("#kpi-total") != "–"  # what did load is drawn


def test_auto_refresh_is_kept_in_the_address_and_reloads_the_data(page, base_url: str, seeded: MonitorSettings) -> None:
    page.clock.install()
    query = open_range(page, base_url, seeded, days=7)
    assert page.input_value("#auto-refresh") == "off" and "refresh=" not in page.url
    requests = count_requests(page, "/api/")
    page.select_option("#auto-refresh", "60")
    assert "refresh=60" in page.url
    page.clock.run_for(61_000)
    wait_for_load(page, 2)
    paths = {url.split("?")[0].removeprefix(base_url) for url in requests}
    assert {"/api/metrics", "/api/drift", "/api/alerts", "/api/training-data", "/api/date-range"} <= paths
    assert "refreshes every minute" in page.text_content("#status")
    page.goto(f"{base_url}/?{query}&refresh=300")
    wait_for_load(page, 1)
    assert page.input_value("#auto-refresh") == "300" and "refresh=300" in page.url
    page.select_option("#auto-refresh", "off")
    assert "refresh=" not in page.url


def test_on_a_phone_every_tab_is_on_screen_and_the_header_is_compact(browser, base_url: str) -> None:
    width, height = 390, 844
    context = browser.new_context(
        viewport={"width": width, "height": height},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="en-US",
    )
    page = context.new_page()
    page.goto(base_url)
    wait_for_load(page, 1)
    page.wait_for_timeout(900)
    for tab in TABS:
        box = page.locator(f"#tab-{tab}").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, (tab, box)
        assert box["y"] >= 0 and box["y"] + box["height"] <= height, (tab, box)
        assert page.evaluate(
            "(id) => { const b = document.getElementById(id); return b.scrollWidth <= b.clientWidth; }", f"tab-{tab}"
        ), tab  # the label is not cut
    header = page.locator("header.top").bounding_box()["height"]
    assert header < 0.2 * height, header
    for control in ("#start-date", "#end-date", "#average", ".presets"):
        assert page.is_visible(control), control
    save_screenshot(page, "phone.png")
    page.click("#tab-training")
    page.wait_for_timeout(600)
    save_screenshot(page, "phone-training.png", docs=False)
    for control in ("#start-date", "#end-date", "#average", ".presets button"):
        assert page.is_disabled(control), control  # shown, disabled, with the reason beside them
    assert page.is_visible("#controls-note")
    page.click("#tab-drift")
    assert page.is_enabled("#start-date") and page.is_disabled("#average")  # drift ignores the average
    page.click("#tab-metrics")
    assert page.is_enabled("#start-date") and page.is_enabled("#average")
    assert page.locator("header.top").bounding_box()["height"] < 0.2 * height
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    context.close()


def test_the_page_loads_without_a_404_or_a_console_error(page, base_url: str) -> None:
    failures: list[str] = []
    console_errors: list[str] = []
    page.on(
        "response",
        lambda response: failures.append(f"{response.status} {response.url}") if response.status >= 400 else None,
    )
    page.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)
    page.goto(base_url)
    wait_for_load(page, 1)
    page.wait_for_timeout(500)
    assert not failures, failures
    assert not console_errors, console_errors
    icon = page.get_attribute("link[rel~=icon]", "href")
    assert icon, "the page links an icon"
    for path in (icon, "/favicon.ico"):  # /favicon.ico, which browsers ask for on the JSON pages, redirects
        answer = page.request.get(f"{base_url}{path}")
        assert answer.status == 200 and answer.headers["content-type"].startswith("image/svg+xml"), path


def test_low_count_days_are_named_under_the_kpis(page, base_url: str, seeded: MonitorSettings) -> None:
    query = open_range(page, base_url, seeded, days=30)
    api = get_json(f"{base_url}/api/metrics?{query}")
    threshold = api["low_sample_threshold"]
    low = [d for d, m in api["daily_metrics"].items() if 0 < m["entries"] < threshold]
    assert low
    note = page.text_content("#kpi-note")
    assert page.is_visible("#kpi-note")
    assert f"fewer than {threshold} validated predictions" in note
    assert f"n = {LOW_KEEP}" in note
    assert note.startswith(f"{len(low)} day")
    # A range with data on no low day has no note.
    current = today(seeded.tz)
    page.goto(f"{base_url}/?start_date={current - timedelta(days=6)}&end_date={current - timedelta(days=1)}")
    wait_for_load(page, 1)
    assert page.is_hidden("#kpi-note")


def test_reliability_diagram_draws_the_calibration_api(page, base_url: str, seeded: MonitorSettings) -> None:
    query = open_range(page, base_url, seeded, days=SEED_DAYS, tab="metrics")
    wait_until(page, "window.claraCharts['chart-calibration'] !== undefined")
    api = get_json(f"{base_url}/api/calibration?{query}")
    filled = [b for b in api["bins"] if b["count"]]
    assert filled and api["ece"] is not None
    drawn = page.evaluate("window.claraCharts['chart-calibration'].data.datasets[0].data")
    assert drawn == [{"x": b["mean_confidence"], "y": b["accuracy"], "n": b["count"]} for b in filled]
    assert page.text_content("#calibration-ece") == f"{api['ece'] * 100:.1f}%"
    show_tab(page, "metrics")
    save_screenshot(page.locator("#chart-calibration").locator("xpath=../.."), "reliability-diagram.png")


def test_estimate_is_drawn_dashed_with_its_band_beside_the_realised_accuracy(
    page, base_url: str, seeded: MonitorSettings
) -> None:
    query = open_range(page, base_url, seeded, days=SEED_DAYS, tab="main")
    wait_until(page, "window.claraCharts['chart-estimate-main'] !== undefined")
    api = get_json(f"{base_url}/api/estimated-performance?{query}")
    assert any(d["unreviewed"] for d in api["days"])  # the sample data has predictions waiting for review
    for where in ("main", "metrics"):
        chart = chart_data(page, f"chart-estimate-{where}")
        assert chart["labels"] == [d["day"] for d in api["days"]]
        series = {d["label"]: d["data"] for d in chart["datasets"]}
        assert series["Realised accuracy"] == [d["realised_accuracy"] for d in api["days"]]
        assert series["Estimated, not reviewed yet"] == [d["estimated_accuracy"] for d in api["days"]]
        assert series["90% band (low)"] == [d["lower"] for d in api["days"]]
        assert series["90% band"] == [d["upper"] for d in api["days"]]
    dash = page.evaluate("window.claraCharts['chart-estimate-main'].data.datasets[1].borderDash")
    assert dash and dash[0] > 0  # the estimate is dashed, the realised accuracy is not
    assert not page.evaluate("window.claraCharts['chart-estimate-main'].data.datasets[0].borderDash")
    show_tab(page, "main")
    save_screenshot(page.locator("#chart-estimate-main").locator("xpath=../.."), "estimated-accuracy.png")
    show_tab(page, "metrics")
    save_screenshot(page.locator(".export"), "export-links.png")


# -- honest pages (issue 19): the range shown is the range said, history entries, drawing, tooltips, controls --


def long_day(day: date | str) -> str:
    """Return a day as the page writes it in en-US ("Dec 1, 2026")."""
    day = date.fromisoformat(day) if isinstance(day, str) else day
    return f"{day:%b} {day.day}, {day.year}"


def shown_range(page) -> tuple[str, str]:
    return page.input_value("#start-date"), page.input_value("#end-date")


def test_a_range_that_could_not_load_is_never_shown_under_the_numbers_of_another(
    page, base_url: str, seeded: MonitorSettings
) -> None:
    page.goto(base_url)
    wait_for_load(page, 1)
    loaded = shown_range(page)
    seven_days = chart_data(page, "chart-daily")["labels"]
    down = {"on": True}

    def answer(route) -> None:
        if down["on"]:
            body = json.dumps({"error": "the database is unavailable; try again shortly"})
            route.fulfill(status=503, content_type="application/json", body=body)
        else:
            route.continue_()

    page.route("**/api/**", answer)
    page.click(".presets button[data-days='30']")
    wait_for_load(page, 2)
    # The numbers drawn are still the 7 days': the page says so, with their dates, beside the 30 days asked for.
    assert chart_data(page, "chart-daily")["labels"] == seven_days
    status = page.text_content("#status")
    assert f"Showing {long_day(loaded[0])} – {long_day(loaded[1])}" in status, status
    assert page.is_visible("#status.stale")
    asked = shown_range(page)
    assert asked != loaded
    assert long_day(asked[0]) in status
    down["on"] = False
    page.click("#retry-now")
    wait_for_load(page, 3)
    assert len(chart_data(page, "chart-daily")["labels"]) == 30
    assert "Showing" not in page.text_content("#status") and page.is_hidden("#status.stale")


def test_a_range_change_is_said_and_charts_start_at_the_first_day_with_data(
    page, base_url: str, seeded: MonitorSettings
) -> None:
    page.goto(base_url)
    wait_for_load(page, 1)
    end = page.get_attribute("#end-date", "max")  # where the quick ranges end
    # From typed years before To: To moves, and the page says so and marks the field it moved.
    page.click("#start-date", position={"x": 14, "y": 12})
    page.keyboard.type("01012020")
    wait_for_load(page, 2)
    assert shown_range(page) == ("2020-01-01", "2020-12-31")
    assert page.is_visible("#notice") and "To moved" in page.text_content("#notice")
    assert page.get_attribute("#end-date", "aria-describedby") == "notice-message"
    assert page.evaluate("document.getElementById('end-date').classList.contains('moved')")
    assert page.get_attribute("#start-date", "aria-describedby") is None
    # 90 days reach back before the first data: the fields keep the 90 days, the charts start at the first day
    # with data, and a note says the earlier days hold none.
    page.click(".presets button[data-days='90']")
    wait_for_load(page, 3)
    start = str(date.fromisoformat(end) - timedelta(days=89))
    assert shown_range(page) == (start, end)
    assert not page.evaluate("document.getElementById('end-date').classList.contains('moved')")
    first = bounds(base_url)["min_date"]
    assert first > start
    for chart_id in ("chart-daily", "chart-estimate-main", "chart-traffic"):
        assert chart_data(page, chart_id)["labels"][0] == first, chart_id
    show_tab(page, "drift")
    for feature in ("predicted_class", "true_class", "confidence"):
        assert chart_data(page, f"chart-drift-{feature}")["labels"][0] == first, feature
    note = page.text_content("#range-note")
    assert page.is_visible("#range-note"), "the note is on every tab with charts over days"
    empty_days = (date.fromisoformat(first) - date.fromisoformat(start)).days
    assert f"{empty_days} days" in note and long_day(start) in note and long_day(first) in note, note
    # A range inside the data has no note.
    page.click(".presets button[data-days='7']")
    wait_for_load(page, 4)
    assert page.is_hidden("#range-note")


def test_back_returns_to_the_previous_view(page, base_url: str, seeded: MonitorSettings) -> None:
    page.goto(base_url)
    wait_for_load(page, 1)
    page.evaluate("window.stayed = true")
    seven = shown_range(page)
    page.click(".presets button[data-days='30']")
    wait_for_load(page, 2)
    thirty = shown_range(page)
    show_tab(page, "metrics")
    page.select_option("#average", "weighted")
    wait_for_load(page, 3)
    show_tab(page, "class-metrics")
    page.select_option("#class-metric", "f1")
    page.go_back()
    wait_until(page, "document.getElementById('class-metric').value === 'recall'")
    assert "class_metric=recall" in page.url and page.get_attribute("#tab-class-metrics", "aria-selected") == "true"
    page.go_back()
    wait_until(page, "document.getElementById('tab-metrics').getAttribute('aria-selected') === 'true'")
    assert page.is_visible("#panel-metrics") and "tab=metrics" in page.url
    page.go_back()
    wait_for_load(page, 4)
    assert page.input_value("#average") == "macro" and page.evaluate("window.claraState.metrics.average") == "macro"
    page.go_back()
    wait_until(page, "document.getElementById('tab-main').getAttribute('aria-selected') === 'true'")
    assert shown_range(page) == thirty
    page.go_back()
    wait_for_load(page, 5)
    assert shown_range(page) == seven and len(chart_data(page, "chart-daily")["labels"]) == 7
    assert f"start_date={seven[0]}" in page.url
    assert page.evaluate("window.stayed === true")  # the same page all along, never a reload
    page.go_forward()
    wait_for_load(page, 6)
    assert shown_range(page) == thirty


TOOLTIP_TITLE = """(id) => { const c = window.claraCharts[id]; const i = c.data.labels.length - 1;
  const ds = c.data.datasets.findIndex(d => d.data[i] !== null && d.data[i] !== undefined);
  c.tooltip.setActiveElements([{datasetIndex: ds, index: i}], {x: 0, y: 0}); c.update('none');
  const title = c.tooltip.title[0]; c.tooltip.setActiveElements([], {x: 0, y: 0}); return title; }"""
TICKS = "([id, axis]) => window.claraCharts[id].scales[axis].getLabelItems().map(i => i.label).flat().filter(Boolean)"


def top_edge_points(page, chart_id: str) -> list[dict]:
    """Return the points a chart draws within their radius of the plot's top edge, with how far its clip reaches."""
    return page.evaluate(
        """(id) => { const c = window.claraCharts[id]; const top = c.chartArea.top; const found = [];
        c.data.datasets.forEach((d, i) => { const meta = c.getDatasetMeta(i); if (meta.hidden) return;
          for (const p of meta.data) { const r = p.options.radius || 0;
            if (r > 0 && p.y - r < top) found.push({dataset: d.label, y: p.y, r, clip: meta._clip.top}); } });
        return found; }""",
        chart_id,
    )


def test_charts_draw_whole_points_one_day_format_aligned_labels_and_a_second_cue_for_like_colours(
    page, base_url: str, seeded: MonitorSettings
) -> None:
    query = open_range(page, base_url, seeded, days=SEED_DAYS, tab="metrics")
    show_tab(page, "metrics")
    wait_until(page, "window.claraCharts['chart-calibration'] !== undefined")
    top = top_edge_points(page, "chart-calibration")
    assert top, "the seed's most confident bin is right nearly always: its point touches the top edge"
    for point in top:  # not cut by the plot's edge, nor by the canvas'
        assert point["clip"] is False or point["clip"] >= point["r"], point
        assert point["y"] - point["r"] >= 0, point
    # One format for days: the ticks as "Dec 1", the tooltips and the notes with the year, never 2026-12-01.
    last = chart_data(page, "chart-daily")["labels"][-1]
    for chart_id in ("chart-accuracy", "chart-estimate-metrics"):
        assert page.evaluate(TOOLTIP_TITLE, chart_id) == long_day(last), chart_id
        ticks = page.evaluate(TICKS, [chart_id, "x"])
        assert ticks and all(re.fullmatch(r"[A-Z][a-z]{2} \d{1,2}", t) for t in ticks), ticks
    assert not re.search(r"\d{4}-\d{2}-\d{2}", page.text_content("#estimate-note-metrics"))
    show_tab(page, "main")
    for chart_id in ("chart-daily", "chart-traffic"):
        assert page.evaluate(TOOLTIP_TITLE, chart_id) == long_day(last), chart_id
    # green and green_point, two greens: each class line has a point style of its own, in the legend too.
    show_tab(page, "class-metrics")
    styles = page.evaluate(
        "() => { const c = window.claraCharts['chart-class-daily']; return c.data.datasets.map((d, i) =>"
        " [d.label, c.getDatasetMeta(i).data[0].options.pointStyle]); }"
    )
    names = [name for name, _ in styles]
    assert {"green", "green_point"} <= set(names)
    assert len({style for _, style in styles}) == len(styles), styles
    legend = page.evaluate("window.claraCharts['chart-class-daily'].legend.legendItems.map(i => i.pointStyle)")
    assert legend[: len(styles)] == [style for _, style in styles]
    assert page.evaluate(TOOLTIP_TITLE, "chart-class-daily") == long_day(last)
    # Predicted class judged by p-value (days of a release before effect sizes), the others by PSI: its log axis
    # has the widest labels. The three charts side by side still label the same days, and the log axis writes
    # its ticks in one format (down to 10⁻¹⁶ here: powers of ten, never "1e-4" beside "0.01").
    page.route("**/api/drift?*", judged_by_p_value("predicted_class"))
    page.set_viewport_size({"width": 1210, "height": 900})  # where Chart.js' own skipping parted them
    for days in (7, 30):
        open_range(page, base_url, seeded, days=days, tab="drift")
        show_tab(page, "drift")
        labels = [
            page.evaluate(TICKS, [f"chart-drift-{f}", "x"]) for f in ("predicted_class", "true_class", "confidence")
        ]
        assert labels[0] == labels[1] == labels[2], (days, labels)
        ticks = page.evaluate(TICKS, ["chart-drift-predicted_class", "y"])
        assert len(ticks) >= 4 and all(re.fullmatch(r"10⁻?[⁰¹²³⁴⁵⁶⁷⁸⁹]+", t) for t in ticks), ticks
        assert page.evaluate(TOOLTIP_TITLE, "chart-drift-true_class") == long_day(
            chart_data(page, "chart-drift-true_class")["labels"][-1]
        )
    assert query


def judged_by_p_value(feature: str) -> Callable:
    """Return a playwright route handler that passes /api/drift's answer on without the PSI of `feature`."""

    def handle(route) -> None:
        answer = route.fetch()
        body = answer.json()
        for day in body["days"]:
            result = day["features"].get(feature)
            if result:
                result.pop("psi", None)
                result.pop("psi_threshold", None)
        route.fulfill(response=answer, json=body)

    return handle


def test_tooltips_answer_for_every_series_and_the_estimate_gives_its_band(
    page, base_url: str, seeded: MonitorSettings
) -> None:
    query = open_range(page, base_url, seeded, days=SEED_DAYS, tab="main")
    api = get_json(f"{base_url}/api/estimated-performance?{query}")
    # A day with both the realised accuracy and an estimate with a band: the points sit close together.
    index = next(
        i
        for i, d in enumerate(api["days"])
        if d["realised_accuracy"] is not None and d["estimated_accuracy"] is not None and d["lower"] is not None
    )
    page.wait_for_timeout(600)
    point = page.evaluate(
        "(i) => { const p = window.claraCharts['chart-estimate-main'].getDatasetMeta(1).data[i];"
        " return {x: p.x, y: p.y}; }",
        index,
    )
    box = page.locator("#chart-estimate-main").bounding_box()
    page.mouse.move(box["x"] + point["x"], box["y"] + point["y"])
    wait_until(page, "window.claraCharts['chart-estimate-main'].tooltip.opacity > 0")
    lines = page.evaluate(
        "() => window.claraCharts['chart-estimate-main'].tooltip.body"
        ".flatMap(b => [...b.before, ...b.lines, ...b.after])"
    )
    day = api["days"][index]
    assert any(line.startswith("Realised accuracy: ") for line in lines), lines
    estimate = next(line for line in lines if line.startswith("Estimated, not reviewed yet: "))
    assert f"90% band {day['lower'] * 100:.1f}%–{day['upper'] * 100:.1f}%" in estimate, estimate
    assert not any(line.startswith("90% band") for line in lines), lines  # the band is said once, on its estimate


def test_header_controls_are_disabled_with_a_reason_where_they_change_nothing(page, base_url: str) -> None:
    page.goto(base_url)
    wait_for_load(page, 1)
    range_controls = ("#start-date", "#end-date", ".presets button[data-days='7']")
    expected = {
        "main": (True, True),
        "metrics": (True, True),
        "samples": (True, False),
        "class-metrics": (True, False),
        "drift": (True, False),
        "training": (False, False),
    }
    for tab, (range_on, average_on) in expected.items():
        page.click(f"#tab-{tab}")
        for control in (*range_controls, "#average"):
            assert page.is_visible(control), (tab, control)
        assert all(page.is_enabled(c) == range_on for c in range_controls), tab
        assert page.is_enabled("#average") == average_on, tab
        reason = page.text_content("#controls-note")
        if range_on and average_on:
            assert page.is_hidden("#controls-note"), tab
        else:
            assert page.is_visible("#controls-note") and ("average" in reason or "range" in reason), (tab, reason)
            assert page.get_attribute("#average", "aria-describedby") == "controls-note"
    assert "does not depend on the range" in page.text_content("#controls-note")


def test_an_unknown_tab_or_class_metric_in_the_address_is_named(page, base_url: str) -> None:
    page.goto(f"{base_url}/?tab=overview&class_metric=accuracy")
    wait_for_load(page, 1)
    notice = page.text_content("#notice")
    assert page.is_visible("#notice")
    assert "“overview”" in notice and "Main" in notice, notice
    assert "“accuracy”" in notice and "recall" in notice, notice
    assert page.get_attribute("#tab-main", "aria-selected") == "true"
    assert "tab=main" in page.url and "class_metric=recall" in page.url
