"""Extreme dates in requests: every route that takes dates answers 400 JSON outside the years 2000 to 2100."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from clara_monitor.params import FIRST_YEAR, LAST_YEAR

pytestmark = pytest.mark.integration

ROUTES = ["/api/metrics", "/data", "/api/drift", "/api/alerts", "/api/confusion", "/api/class-metrics/daily"]


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(
    "query",
    [
        "end_date=0001-01-03",
        "start_date=9999-12-31",
        "start_date=0001-01-01&end_date=0001-01-03",
        "start_date=9999-12-25&end_date=9999-12-31",
        "start_date=1999-12-31&end_date=2000-01-02",
        "end_date=2101-01-01",
    ],
)
def test_a_date_outside_the_accepted_years_is_a_400_with_a_json_error(
    client: FlaskClient, route: str, query: str
) -> None:
    answer = client.get(f"{route}?{query}")
    assert answer.status_code == 400, answer.get_data(as_text=True)[:200]
    assert f"{FIRST_YEAR} to {LAST_YEAR}" in answer.get_json()["error"]


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(
    "query", ["start_date=2000-01-01&end_date=2000-01-07", "start_date=2100-12-25&end_date=2100-12-31"]
)
def test_the_first_and_last_accepted_days_answer(client: FlaskClient, route: str, query: str) -> None:
    assert client.get(f"{route}?{query}").status_code == 200
