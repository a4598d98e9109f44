"""The monitor built from the app factory, as the tests see it (the `app`, `client` and `make_monitor` fixtures of
tests/integration/conftest.py build it with these).

Its test client validates every JSON answer against the model its route declares (clara_monitor.openapi's
route table, clara_monitor.answers' models), and every error answer against the error model: a view whose
answer drifts from its model (a key added, a type changed, a field missing) fails the test that calls it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from pydantic import BaseModel
from werkzeug.exceptions import HTTPException
from werkzeug.test import TestResponse

from clara_monitor import create_app
from clara_monitor.answers import Error
from clara_monitor.settings import MonitorSettings

MakeMonitor = Callable[[MonitorSettings], FlaskClient]
"""The `make_monitor` fixture's type: settings in, a test client of a monitor built from them out."""


def declared_model(app: Flask, path: str) -> type[BaseModel] | None:
    """Return the answer model the route table declares for `path`; None for a route without a JSON model."""
    from clara_monitor.openapi import OPERATIONS

    try:
        rule, _ = app.url_map.bind("localhost").match(path, return_rule=True)
    except HTTPException:
        return None
    operation = OPERATIONS.get(rule.rule)
    answer = operation.answer if operation is not None else None
    return answer if isinstance(answer, type) else None


def check_answer(app: Flask, response: TestResponse) -> None:
    """Validate `response` (strictly: no coercion, no undeclared key) against its model; raise when it drifts.

    A successful answer of a route with a model must be JSON of that model; an error answer in JSON, the
    error model.
    """
    request = response.request
    if request.method == "HEAD":
        return
    if response.status_code >= 400:
        if response.is_json:
            Error.model_validate_json(response.get_data(), strict=True)
        return
    model = declared_model(app, request.path)
    if model is None or response.status_code != 200:
        return
    assert response.is_json, f"{request.path} declares {model.__name__} but answered {response.content_type}"
    model.model_validate_json(response.get_data(), strict=True)


class ValidatingClient(FlaskClient):
    """Flask's test client, checking every answer against its declared model (check_answer)."""

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:
        response = super().open(*args, **kwargs)
        check_answer(self.application, response)
        return response


def build_monitor(settings: MonitorSettings) -> Flask:
    """Return the monitor built from `settings` by the app factory, in testing mode, with the validating client."""
    app = create_app({"TESTING": True, "SETTINGS": settings})
    app.test_client_class = ValidatingClient
    return app


def close_monitor(app: Flask) -> None:
    """Close the database client of a monitor `build_monitor` built."""
    app.extensions["clara_monitor"].client.close()
