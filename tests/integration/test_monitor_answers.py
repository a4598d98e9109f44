"""The test client validates every answer against its model: a view that drifts from its declared model fails.

No database is needed: the views replaced here answer without one.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask, Response, jsonify
from pydantic import ValidationError

from clara_monitor import answers, openapi
from tests.utils.monitor_app import build_monitor, close_monitor
from tests.utils.monitor_databases import unreachable_settings

pytestmark = pytest.mark.integration


@pytest.fixture
def offline() -> Iterator[Flask]:
    """Return a monitor whose database does not answer (its probes and drifting views need none)."""
    app = build_monitor(unreachable_settings(MONGODB_DB="none"))
    yield app
    close_monitor(app)


def replace_view(app: Flask, endpoint: str, body: dict[str, object]) -> None:
    """Make `endpoint` answer `body` as JSON, whatever its model says."""

    def drifted() -> Response:
        return jsonify(body)

    app.view_functions[endpoint] = drifted


def test_every_json_route_declares_a_closed_model() -> None:
    for path, operation in openapi.OPERATIONS.items():
        if isinstance(operation.answer, type):
            assert issubclass(operation.answer, answers.Answer), path
            assert operation.answer.model_config.get("extra") == "forbid", path


def test_a_true_answer_passes(offline: Flask) -> None:
    assert offline.test_client().get("/healthz").get_json() == {"status": "ok"}


@pytest.mark.parametrize(
    ("endpoint", "path", "body"),
    [
        ("api.healthz", "/healthz", {"status": "ok", "uptime": 3}),  # an undeclared key
        ("api.healthz", "/healthz", {}),  # a missing field
        ("original.min_date", "/min-date", {"min_date": 20261207}),  # a number where a day is declared
        ("api.date_range", "/api/date-range", {"min_date": None, "max_date": None, "today": "2026-12-07"}),
    ],
)
def test_an_answer_that_drifts_from_its_model_fails(
    offline: Flask, endpoint: str, path: str, body: dict[str, object]
) -> None:
    replace_view(offline, endpoint, body)
    with pytest.raises(ValidationError):
        offline.test_client().get(path)


def test_a_string_where_a_count_is_declared_fails(offline: Flask) -> None:
    # Flask's test client would read "3" as 3 if the check coerced: it is strict.
    replace_view(offline, "original.training_data", {"class_counts": {"green": "3"}, "color_dict": {}})
    with pytest.raises(ValidationError):
        offline.test_client().get("/training-data")


def test_an_error_answer_that_drifts_from_the_error_model_fails(offline: Flask) -> None:
    def refused() -> tuple[Response, int]:
        return jsonify(error="no", detail="a key the error model has not"), 400

    offline.view_functions["api.healthz"] = refused
    with pytest.raises(ValidationError):
        offline.test_client().get("/healthz")
