"""The signal on the dashboard (issue 17, docs/signal.md): the verdict first on Main, the predictions awaiting
review, one row per incident, the reference level on the accuracy chart, the classes a drift moved, traffic.

The module's database holds the sample predictions after one logger tick; then its `logger_alerts` are
replaced by incidents written here in the documented shape (so that every figure the page shows is known),
the ledger's state gets its `signal.reference`, and two days' predicted-class drift gets the effect sizes
and shifts the logger stores, each day with its own PSI threshold.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from pymongo import MongoClient

from clara_common.days import today
from clara_common.ledger import ALERTS_COLLECTION, HISTORY_COLLECTION, STATE_COLLECTION, STATE_ID
from clara_monitor.settings import MonitorSettings
from tests.browser.test_dashboard import chart_data, get_json, sample_dashboard, wait_for_load, wait_until
from tests.utils.monitor_databases import log_once

pytestmark = pytest.mark.browser

SEED_DAYS = 40
PER_DAY = 150
SCREENSHOT = "/tmp/signal-main.png"
PHONE_SCREENSHOT = "/tmp/signal-phone.png"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
REFERENCE = {
    "accuracy": {"value": 0.86, "low": 0.84, "high": 0.88, "count": 4200},
    "classes": {
        "green": {
            "recall": {"value": 0.87, "low": 0.83, "high": 0.9, "count": 610},
            "precision": {"value": 0.9, "low": 0.86, "high": 0.93, "count": 590},
        }
    },
}
# Days before today: the green recall incident (open), the accuracy incident (resolved), the drift notice
# (open), the legacy accuracy alert of a release before incidents.
GREEN = {"since": 16, "day": 14}
ACCURACY = {"since": 27, "day": 25, "resolved_day": 22}
DRIFT = {"since": 9, "day": 8}
LEGACY = 30
SHIFTS = [{"class": "yellow", "reference": 0.25, "current": 0.40}, {"class": "red", "reference": 0.15, "current": 0.09}]
# Two days of predicted-class drift judged with different PSI thresholds (a setting changed in between).
DRIFT_DAYS = {8: 0.1, 7: 0.2}


def short_day(day: date) -> str:
    return f"{MONTHS[day.month - 1]} {day.day}"


def long_day(day: date) -> str:
    return f"{short_day(day)}, {day.year}"


def whole_percent(value: float) -> str:
    """Return a share as the page writes it: JavaScript's Math.round of the percentage."""
    return f"{math.floor(value * 100 + 0.5)}%"


def incident_documents(current: date) -> list[dict]:
    """Return the incidents of docs/signal.md this module's database holds, and one legacy day alert."""
    ago = lambda n: (current - timedelta(days=n)).isoformat()  # noqa: E731
    created = datetime.now(UTC).replace(microsecond=0)
    webhook = lambda state: {"state": state, "attempts": 1, "next_attempt_at": None}  # noqa: E731
    return [
        {
            "_id": f"performance:recall:green:{ago(GREEN['day'])}",
            "kind": "performance",
            "metric": "recall",
            "class": "green",
            "class_id": 3,
            "day": ago(GREEN["day"]),
            "since": ago(GREEN["since"]),
            "status": "open",
            "resolved_day": None,
            "value": 0.48,
            "reference": 0.87,
            "reference_band": [0.83, 0.9],
            "count": 640,
            "confusion": {"class": "green_point", "count": 285, "text": "mostly predicted as green_point, 285"},
            "text": "green recall 87% → 48% (mostly predicted as green_point, 285)",
            "webhook": webhook("sent"),
            "announced": True,
            "created_at": created,
            "updated_at": created,
        },
        {
            "_id": f"performance:accuracy:all:{ago(ACCURACY['day'])}",
            "kind": "performance",
            "metric": "accuracy",
            "class": None,
            "class_id": None,
            "day": ago(ACCURACY["day"]),
            "since": ago(ACCURACY["since"]),
            "status": "resolved",
            "resolved_day": ago(ACCURACY["resolved_day"]),
            "value": 0.78,
            "reference": 0.86,
            "reference_band": [0.84, 0.88],
            "count": 900,
            "confusion": None,
            "text": "accuracy 86% → 78%",
            "webhook": webhook("pending"),
            "resolution_webhook": webhook("pending"),
            "announced": True,
            "created_at": created,
            "updated_at": created,
        },
        {
            "_id": f"drift:predicted_class:all:{ago(DRIFT['day'])}",
            "kind": "drift",
            "metric": "predicted_class",
            "class": None,
            "class_id": None,
            "day": ago(DRIFT["day"]),
            "since": ago(DRIFT["since"]),
            "status": "open",
            "resolved_day": None,
            "value": 0.21,
            "reference": 0.1,
            "reference_band": None,
            "count": 1050,
            "shifts": SHIFTS,
            "effect": {"psi": 0.21, "p_value": 1e-9, "psi_threshold": 0.1, "alpha": 0.05 / 3},
            "text": "predicted class drift since " + short_day(current - timedelta(days=DRIFT["since"])),
            "webhook": webhook("off"),
            "announced": True,
            "created_at": created,
            "updated_at": created,
        },
        {
            "_id": f"accuracy:{ago(LEGACY)}",
            "kind": "accuracy",
            "day": ago(LEGACY),
            "value": 0.79,
            "threshold": 0.8,
            "count": 140,
            "text": f":rotating_light: CLARA accuracy 79.0% on {ago(LEGACY)}, below 80.0%",
            "webhook": {"state": "sent"},
            "created_at": created,
        },
    ]


def drift_result(psi_threshold: float) -> dict:
    """Return a predicted-class drift result as the logger stores it on a history day (docs/signal.md)."""
    return {
        "algorithm": "chi-square",
        "reference": "window",
        "count": 900,
        "window_days": 3,
        "statistic": 180.0,
        "p_value": 1e-9,
        "alpha": 0.05 / 3,
        "psi": 0.21,
        "psi_threshold": psi_threshold,
        "category": "drift",
        "shifts": SHIFTS,
    }


@pytest.fixture(scope="module")
def seeded(mongo_uri: str, mongo_client: MongoClient) -> Iterator[MonitorSettings]:
    with sample_dashboard(mongo_uri, mongo_client, SEED_DAYS, PER_DAY) as settings:
        log_once(settings, LOGGER_INTERVAL_MINUTES=600)  # recorded in the ledger: "current" all the module long
        database = mongo_client[settings.MONGODB_DB]
        current = today(settings.tz)
        database[ALERTS_COLLECTION].delete_many({})
        database[ALERTS_COLLECTION].insert_many(incident_documents(current))
        database[STATE_COLLECTION].update_one(
            {"_id": STATE_ID},
            {"$set": {"signal.reference": REFERENCE, "signal.judged_through": current.isoformat()}},
            upsert=True,
        )
        for ago, threshold in DRIFT_DAYS.items():
            day = (current - timedelta(days=ago)).isoformat()
            found = database[HISTORY_COLLECTION].update_one(
                {"_id": day}, {"$set": {"drift.predicted_class": drift_result(threshold)}}
            )
            assert found.matched_count == 1, day
        yield settings


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1366, "height": 900}, device_scale_factor=1, locale="en-US")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors: {errors}"


def open_days(page, base_url: str, first: date, last: date, tab: str = "main") -> str:
    """Open the dashboard on `first`..`last` at `tab`; return the range's query string."""
    query = f"start_date={first}&end_date={last}"
    page.goto(f"{base_url}/?{query}&tab={tab}")
    wait_for_load(page, 1)
    return query


def open_last(page, base_url: str, settings: MonitorSettings, days: int, tab: str = "main") -> str:
    end = today(settings.tz)
    return open_days(page, base_url, end - timedelta(days=days - 1), end, tab)


def test_main_says_degraded_first_naming_the_class_its_metric_and_the_confusion(
    page, base_url: str, seeded: MonitorSettings
) -> None:
    query = open_last(page, base_url, seeded, days=7)
    current = today(seeded.tz)
    verdict = get_json(f"{base_url}/api/alerts?{query}")["verdict"]
    since = short_day(current - timedelta(days=GREEN["since"]))
    expected = f"Degraded since {since}: green recall 87% → 48% (mostly predicted as green_point)"
    assert verdict["text"] == expected
    assert page.text_content("#verdict-text") == expected
    assert page.get_attribute("#verdict", "role") == "status"
    assert page.get_attribute("#verdict", "data-state") == "degraded"
    assert page.text_content("#verdict-mark") == "⚠"  # not the colour alone
    # The verdict comes before every chart of Main.
    order = page.evaluate(
        "() => document.getElementById('verdict').compareDocumentPosition(document.getElementById('chart-daily'))"
    )
    assert order & 4, "the verdict precedes the daily chart"
    links = page.evaluate(
        "() => [...document.querySelectorAll('#verdict-links a')]"
        ".map(a => ({id: a.dataset.alertId, text: a.textContent}))"
    )
    assert links == [
        {"id": verdict["incidents"][0], "text": "green recall → Metrics by class"},
        {"id": verdict["notices"][0], "text": "predicted class drift (notice) → Drift & alerts"},
    ]


def test_a_range_without_incidents_is_healthy(page, base_url: str, seeded: MonitorSettings) -> None:
    current = today(seeded.tz)
    open_days(page, base_url, current - timedelta(days=39), current - timedelta(days=LEGACY + 1))
    assert page.text_content("#verdict-text") == "Healthy"
    assert page.get_attribute("#verdict", "data-state") == "healthy"
    assert page.text_content("#verdict-mark") == "✓"
    assert page.is_hidden("#verdict-links")


def test_an_incident_link_opens_its_class_and_metric_with_the_reference_band(
    page, base_url: str, seeded: MonitorSettings
) -> None:
    open_last(page, base_url, seeded, days=30)
    page.click("#verdict-links a:text('green recall')")
    assert page.get_attribute("#tab-class-metrics", "aria-selected") == "true"
    assert page.input_value("#class-focus") == "green"
    assert page.input_value("#class-metric") == "recall"
    assert "class=green" in page.url and "class_metric=recall" in page.url
    datasets = {d["label"]: d["data"] for d in chart_data(page, "chart-class-daily")["datasets"]}
    days = len(chart_data(page, "chart-class-daily")["labels"])
    level = REFERENCE["classes"]["green"]["recall"]
    assert datasets["green reference"] == [level["value"]] * days
    assert datasets["green reference band (low)"] == [level["low"]] * days
    assert datasets["green reference, 90% band"] == [level["high"]] * days
    # Back to all classes: no reference is drawn, one line per class.
    page.select_option("#class-focus", "")
    labels = [d["label"] for d in chart_data(page, "chart-class-daily")["datasets"]]
    assert not any("reference" in label for label in labels)


def test_awaiting_review_card_gives_the_count_and_the_estimated_accuracy_with_its_band(
    page, base_url: str, seeded: MonitorSettings
) -> None:
    query = open_last(page, base_url, seeded, days=SEED_DAYS)
    wait_until(page, "window.claraState.estimate !== undefined && window.claraState.estimate !== null")
    total = get_json(f"{base_url}/api/estimated-performance?{query}")["total"]
    assert total["unreviewed"] > 0 and total["estimated_accuracy"] is not None  # the sample has pending reviews
    assert page.is_visible("#awaiting")
    assert page.text_content("#awaiting-count") == f"{total['unreviewed']:,}"
    band = f"({math.floor(total['lower'] * 100 + 0.5)}–{whole_percent(total['upper'])})"
    assert page.text_content("#awaiting-estimate") == (
        f"awaiting review · est. accuracy {whole_percent(total['estimated_accuracy'])} {band}"
    )


def test_alerts_table_has_one_row_per_incident_with_its_values(page, base_url: str, seeded: MonitorSettings) -> None:
    query = open_last(page, base_url, seeded, days=35, tab="drift")
    current = today(seeded.tz)
    ago = lambda n: (current - timedelta(days=n)).isoformat()  # noqa: E731
    shown = lambda n: long_day(current - timedelta(days=n))  # noqa: E731  # as the page writes days
    alerts = get_json(f"{base_url}/api/alerts?{query}")["alerts"]
    rows = page.evaluate(
        "() => [...document.querySelectorAll('#alerts-table tbody tr')].map(r => ({id: r.dataset.alertId,"
        " cells: [...r.cells].map(c => c.textContent.trim())}))"
    )
    assert [r["id"] for r in rows] == [a["id"] for a in alerts]
    assert len({r["id"] for r in rows}) == len(rows) == len(incident_documents(current))
    cells = {r["id"]: r["cells"] for r in rows}
    assert cells[f"performance:recall:green:{ago(GREEN['day'])}"] == [
        "Performance",
        "recall",
        "green",
        shown(GREEN["since"]),
        shown(GREEN["day"]),
        "open",
        "48% (ref. 87%)",
        "delivered",
        "green recall 87% → 48% (mostly predicted as green_point, 285)",
    ]
    assert cells[f"performance:accuracy:all:{ago(ACCURACY['day'])}"] == [
        "Performance",
        "accuracy",
        "whole model",
        shown(ACCURACY["since"]),
        shown(ACCURACY["day"]),
        f"resolved {shown(ACCURACY['resolved_day'])}",
        "78% (ref. 86%)",
        "pending",
        "accuracy 86% → 78%",
    ]
    drift = cells[f"drift:predicted_class:all:{ago(DRIFT['day'])}"]
    assert drift[:8] == [
        "Drift",
        "predicted class",
        "–",
        shown(DRIFT["since"]),
        shown(DRIFT["day"]),
        "open",
        "PSI 0.21 (threshold 0.10)",
        "webhook off",
    ]
    assert "yellow 25% → 40%, red 15% → 9% of predictions" in drift[8]
    legacy = cells[f"accuracy:{ago(LEGACY)}"]
    assert legacy[0] == "Performance legacy"
    assert legacy[3:7] == [shown(LEGACY), shown(LEGACY), f"resolved {shown(LEGACY)}", "79% (threshold 80%)"]
    assert page.evaluate("document.querySelector(`#alerts-table tr.legacy`) !== null")
    for row in rows:  # every incident here has a value and a reference
        assert "–" not in row["cells"][6], row


def test_accuracy_charts_draw_the_reference_band_on_an_axis_that_fits_the_data(
    page, base_url: str, seeded: MonitorSettings
) -> None:
    query = open_last(page, base_url, seeded, days=30, tab="metrics")
    api = get_json(f"{base_url}/api/metrics?{query}")
    assert api["reference"]["accuracy"] == REFERENCE["accuracy"]
    level = REFERENCE["accuracy"]
    for chart_id in ("chart-accuracy", "chart-daily"):
        chart = chart_data(page, chart_id)
        days = len(chart["labels"])
        datasets = {d["label"]: d["data"] for d in chart["datasets"]}
        assert datasets["Accuracy reference"] == [level["value"]] * days, chart_id
        assert datasets["Accuracy reference band (low)"] == [level["low"]] * days, chart_id
        assert datasets["Accuracy reference, 90% band"] == [level["high"]] * days, chart_id
        drawn = [v for d in chart["datasets"] for v in d["data"] if v is not None]
        axis = page.evaluate("(id) => { const y = window.claraCharts[id].scales.y; return [y.min, y.max]; }", chart_id)
        assert 0 < axis[0] <= min(drawn) and max(drawn) <= axis[1] <= 1, (chart_id, axis)
    fill = page.evaluate("window.claraCharts['chart-accuracy'].data.datasets.find(d => d.label.endsWith('band')).fill")
    assert fill == "-1"  # shaded down to the band's lower edge


def test_drift_tab_names_the_classes_that_moved_and_each_days_own_threshold(
    page, base_url: str, seeded: MonitorSettings
) -> None:
    query = open_last(page, base_url, seeded, days=30, tab="drift")
    current = today(seeded.tz)
    since = current - timedelta(days=DRIFT["since"])
    assert page.text_content("#shifts-list li") == (
        f"Predicted class, since {short_day(since)}, {since.year} (open): "
        "yellow 25% → 40%, red 15% → 9% of predictions."
    )
    note = page.text_content("#drift-shift-predicted_class")
    assert note.endswith("the last drifting day: yellow 25% → 40%, red 15% → 9% of predictions.")
    drift = get_json(f"{base_url}/api/drift?{query}")
    results = [d["features"].get("predicted_class") for d in drift["days"]]
    chart = chart_data(page, "chart-drift-predicted_class")
    measured, threshold, _ = chart["datasets"]
    assert measured["label"] == "PSI" and threshold["label"] == "PSI threshold"
    assert measured["data"] == [(r or {}).get("psi") for r in results]
    assert threshold["data"] == [(r or {}).get("psi_threshold") for r in results]
    days = [d["day"] for d in drift["days"]]
    for ago, own in DRIFT_DAYS.items():
        assert threshold["data"][days.index((current - timedelta(days=ago)).isoformat())] == own


def test_traffic_chart_draws_predictions_reviewed_and_awaiting_per_day(
    page, base_url: str, seeded: MonitorSettings
) -> None:
    query = open_last(page, base_url, seeded, days=14)
    traffic = get_json(f"{base_url}/api/traffic?{query}")
    chart = chart_data(page, "chart-traffic")
    assert chart["labels"] == [d["day"] for d in traffic["days"]]
    reviewed, awaiting, hours = chart["datasets"]
    assert reviewed["data"] == [d["reviewed"] for d in traffic["days"]]
    assert awaiting["data"] == [d["awaiting"] for d in traffic["days"]]
    assert hours["data"] == [d["median_review_hours"] for d in traffic["days"]]
    assert page.evaluate("window.claraCharts['chart-traffic'].options.scales.y.stacked") is True


def test_a_monitor_without_the_traffic_route_says_so_and_draws_the_rest(
    page, base_url: str, seeded: MonitorSettings
) -> None:
    page.route(
        "**/api/traffic?*",
        lambda route: route.fulfill(status=404, content_type="application/json", body='{"error": "not found"}'),
    )
    open_last(page, base_url, seeded, days=7)
    assert page.is_hidden("#error")
    assert "does not serve /api/traffic" in page.text_content("#traffic-note")
    assert page.is_hidden("#traffic-chart")
    assert page.text_content("#verdict-text").startswith("Degraded since ")
    assert page.text_content("#kpi-total") != "–"


def test_main_reads_well_on_a_desktop_and_on_a_phone(browser, base_url: str, seeded: MonitorSettings) -> None:
    for viewport, scale, path in (
        ({"width": 1366, "height": 900}, 1, SCREENSHOT),
        ({"width": 390, "height": 844}, 2, PHONE_SCREENSHOT),
    ):
        context = browser.new_context(viewport=viewport, device_scale_factor=scale, locale="en-US")
        page = context.new_page()
        open_last(page, base_url, seeded, days=30)
        page.wait_for_timeout(900)  # the charts' animation
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), viewport
        page.screenshot(path=path, full_page=True)
        context.close()
