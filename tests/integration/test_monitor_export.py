"""The CSV exports (/api/metrics.csv, /api/class-metrics.csv) against /api/metrics on the real database."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from flask.testing import FlaskClient
from pymongo import MongoClient

from clara_common.days import day_start, today
from clara_common.db import predictions
from clara_monitor.settings import MonitorSettings
from tests.utils.monitor_app import MakeMonitor
from tests.utils.monitor_databases import answers_with_the_database_down, sample_database, unreachable_settings

pytestmark = pytest.mark.integration

SEED_DAYS = 20
# A lone day well before the seed, with three classes only: most classes' scores are undefined there.
LONE_DAY = 30  # days before today
DAILY_HEADER = ["day", "entries", "precision", "accuracy", "recall", "f1"]
CLASS_HEADER = ["class", "precision", "recall", "f1", "support"]


def lone_day_documents(settings: MonitorSettings, day: date) -> list[dict]:
    """Return validated predictions of one day: blue right, brown taken for green twice, yellow right."""
    at = day_start(day, settings.tz) + timedelta(hours=12)
    base = {"filename": "lone.jpg", "output_confidence": 0.9, "timestamp": at, "timestamp_validated": at}
    ids = {c.name: c.id for c in settings.classes.classes}
    pairs = [("blue", "blue"), ("green", "brown"), ("green", "brown"), ("yellow", "yellow")]
    return [{**base, "output_prediction": ids[predicted], "output_validated": ids[true]} for predicted, true in pairs]


@pytest.fixture(scope="module")
def seeded(mongo_uri: str, mongo_client: MongoClient) -> Iterator[MonitorSettings]:
    """Return settings for a database with the sample predictions of the last SEED_DAYS days and one lone day."""
    with sample_database(
        mongo_uri, mongo_client, "test_export", days=SEED_DAYS, per_day=40, seed=11, TIMEZONE="Europe/Madrid"
    ) as settings:
        lone_day = today(settings.tz) - timedelta(days=LONE_DAY)
        predictions(mongo_client, settings).insert_many(lone_day_documents(settings, lone_day))
        yield settings


@pytest.fixture(name="monitor_settings")
def seeded_monitor_settings(seeded: MonitorSettings) -> MonitorSettings:
    """Point the `client` fixture's monitor at the sample database."""
    return seeded


def rows_of(answer) -> list[list[str]]:
    """Return the CSV answer's rows, header first."""
    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    assert answer.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(answer.get_data(as_text=True), newline="")))


def cell_value(cell: str, kind: type) -> int | float | None:
    """Return what a cell holds: None for an empty cell."""
    return None if cell == "" else kind(cell)


def query(seeded: MonitorSettings, days_back: int, span: int, average: str) -> str:
    end = today(seeded.tz) - timedelta(days=days_back)
    return f"start_date={end - timedelta(days=span - 1)}&end_date={end}&average={average}"


@pytest.mark.parametrize("average", ["macro", "weighted", "micro"])
def test_metrics_csv_has_one_row_per_day_equal_to_the_json_cell_by_cell(
    client: FlaskClient, seeded: MonitorSettings, average: str
) -> None:
    # From before the lone day to today: empty days (null metrics), the lone day and the seeded days.
    asked = query(seeded, 0, LONE_DAY + 5, average)
    expected = client.get(f"/api/metrics?{asked}").get_json()["daily_metrics"]
    header, *rows = rows_of(client.get(f"/api/metrics.csv?{asked}"))
    assert header == DAILY_HEADER
    assert [row[0] for row in rows] == list(expected)  # every day of the range, in order
    empty = 0
    for day, *cells in rows:
        assert len(cells) == 5, day
        assert int(cells[0]) == expected[day]["entries"], day
        for name, cell in zip(DAILY_HEADER[2:], cells[1:]):
            assert cell_value(cell, float) == expected[day][name], (day, name, cell)
            empty += cell == ""
    days_without_data = sum(1 for scores in expected.values() if scores["entries"] == 0)
    assert days_without_data > 0 and empty == 4 * days_without_data


def test_class_metrics_csv_has_one_row_per_class_equal_to_the_json_cell_by_cell(
    client: FlaskClient, seeded: MonitorSettings
) -> None:
    for asked in (query(seeded, 0, 14, "macro"), query(seeded, LONE_DAY, 1, "macro")):
        expected = client.get(f"/api/metrics?{asked}").get_json()["class_metrics"]
        header, *rows = rows_of(client.get(f"/api/class-metrics.csv?{asked}"))
        assert header == CLASS_HEADER
        assert [row[0] for row in rows] == list(seeded.classes.names) == list(expected)
        for name, precision, recall, f1, support in rows:
            assert cell_value(precision, float) == expected[name]["precision"], (asked, name)
            assert cell_value(recall, float) == expected[name]["recall"], (asked, name)
            assert cell_value(f1, float) == expected[name]["f1"], (asked, name)
            assert int(support) == expected[name]["support"], (asked, name)
    # The lone day: blue and yellow right, brown always taken for green.
    lone = {row[0]: row[1:] for row in rows}
    assert lone["blue"] == ["1.0", "1.0", "1.0", "1"]
    assert lone["brown"] == ["", "0.0", "0.0", "2"]  # never predicted: precision undefined
    assert lone["green"] == ["0.0", "", "0.0", "0"]  # never true: recall undefined
    assert lone["grey"] == ["", "", "", "0"]


def test_the_export_is_a_csv_download_named_after_the_range(client: FlaskClient, seeded: MonitorSettings) -> None:
    current = today(seeded.tz)
    default_start = current - timedelta(days=6)
    answer = client.get("/api/metrics.csv")
    assert answer.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert answer.headers["Content-Disposition"] == (
        f'attachment; filename="clara-metrics_{default_start}_{current}_macro.csv"'
    )
    assert len(rows_of(answer)) == 1 + 7
    answer = client.get("/api/class-metrics.csv?start_date=2026-01-01&end_date=2026-01-31&average=micro")
    assert answer.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert answer.headers["Content-Disposition"] == (
        'attachment; filename="clara-class-metrics_2026-01-01_2026-01-31.csv"'
    )
    assert answer.get_data(as_text=True).startswith("class,precision,recall,f1,support\r\n")


@pytest.mark.parametrize("route", ["/api/metrics.csv", "/api/class-metrics.csv"])
@pytest.mark.parametrize(
    "asked",
    [
        "start_date=2026-02-30&end_date=2026-03-02",
        "start_date=03/01/2026",
        "end_date=tomorrow",
        "start_date=2026-03-05&end_date=2026-03-01",
        "start_date=2025-01-01&end_date=2026-01-02",
        "start_date=1999-12-31",
        "average=binary",
    ],
)
def test_bad_input_is_the_json_routes_400(client: FlaskClient, route: str, asked: str) -> None:
    answer = client.get(f"{route}?{asked}")
    assert answer.status_code == 400
    assert answer.is_json
    assert answer.get_json() == client.get(f"/api/metrics?{asked}").get_json()
    assert "Content-Disposition" not in answer.headers


def test_a_down_database_is_a_503_json(make_monitor: MakeMonitor) -> None:
    routes = ("/api/metrics.csv", "/api/class-metrics.csv")
    for route, body in answers_with_the_database_down(make_monitor(unreachable_settings()), routes).items():
        assert body == {"error": "the database is unavailable; try again shortly"}, route


HOSTILE_NAMES = ["=1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx", "\rx", "plain"]


def test_every_csv_route_neutralises_cells_a_spreadsheet_would_run_as_formulas(
    seeded: MonitorSettings, tmp_path, make_monitor: MakeMonitor
) -> None:
    path = tmp_path / "classes.json"
    path.write_text(
        json.dumps({"classes": [{"id": i, "name": name, "color": "#000"} for i, name in enumerate(HOSTILE_NAMES)]})
    )
    hostile = make_monitor(seeded.replace(CLASSES_FILE=str(path)))
    routes = [rule.rule for rule in hostile.application.url_map.iter_rules() if rule.rule.endswith(".csv")]
    assert sorted(routes) == ["/api/class-metrics.csv", "/api/metrics.csv"]
    cells = {route: [cell for row in rows_of(hostile.get(route))[1:] for cell in row] for route in routes}
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for found in cells.values() for cell in found)
    class_names = cells["/api/class-metrics.csv"][:: len(CLASS_HEADER)]
    assert class_names == [f"'{name}" for name in HOSTILE_NAMES[:-1]] + ["plain"]
