"""The OpenAPI description (/api/openapi.json): valid OpenAPI 3.1, every route in it, every answer true to it,
and every request it calls valid accepted.

schemathesis sends generated requests, valid and invalid, to a real clara-monitor (gunicorn) on the
embedded database with sample predictions that the logger has logged once (so that drift results
and alerts exist), and checks each answer against the document.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from datetime import date, timedelta
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from openapi_spec_validator import validate
from pymongo import MongoClient
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import FailureGroup

from clara_common.days import today
from clara_monitor import openapi
from clara_monitor.settings import MonitorSettings
from tests.utils.monitor_app import MakeMonitor, build_monitor, close_monitor
from tests.utils.monitor_databases import monitor_env, sample_database, unreachable_settings
from tests.utils.monitor_process import MonitorProcess, running_monitor

pytestmark = pytest.mark.integration

# positive_data_acceptance has a test of its own, which knows the date pairs the document refuses.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
]
USER, PASSWORD = "ada", "lovelace"


@pytest.fixture(scope="module")
def seeded(mongo_uri: str, mongo_client: MongoClient) -> Iterator[MonitorSettings]:
    """Return settings for a database with 30 days of sample predictions, logged once by the logger."""
    with sample_database(
        mongo_uri,
        mongo_client,
        "test_openapi",
        days=30,
        per_day=80,
        seed=21,
        logged=True,
        TIMEZONE="Europe/Madrid",
        LOGGER_INTERVAL_MINUTES=600,
    ) as settings:
        yield settings


@pytest.fixture(scope="module")
def app(seeded: MonitorSettings) -> Iterator[Flask]:
    """Return the monitor on the sample database, built once for the module (the conftest's `app` is per test,
    and the module's `document` is read from this one)."""
    application = build_monitor(seeded)
    yield application
    close_monitor(application)


@pytest.fixture(scope="module")
def document(app: Flask) -> dict:
    answer = app.test_client().get("/api/openapi.json")
    assert answer.status_code == 200 and answer.is_json
    return answer.get_json()


@pytest.fixture(scope="module")
def live(seeded: MonitorSettings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MonitorProcess]:
    log_path = tmp_path_factory.mktemp("openapi") / "monitor.log"
    with running_monitor(monitor_env(seeded), log_path, workers=2) as server:
        yield server


def test_the_document_is_valid_openapi_3_1(document: dict) -> None:
    assert document["openapi"] == "3.1.0"
    validate(document)  # raises on an invalid document


def api_rules(app: Flask) -> dict[str, set[str]]:
    """Return path -> methods of every route of `app` but the dashboard's page and files."""
    rules: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if not openapi.is_page(rule.endpoint):
            rules.setdefault(rule.rule, set()).update(m.lower() for m in rule.methods - {"HEAD", "OPTIONS"})
    return rules


def test_every_route_of_the_app_is_described_with_its_answer_and_errors(app: Flask, document: dict) -> None:
    rules = api_rules(app)
    assert {
        "/api/metrics",
        "/api/metrics.csv",
        "/api/class-metrics.csv",
        "/api/openapi.json",
        "/data",
        "/training-data",
        "/min-date",
        "/healthz",
        "/readyz",
    } <= set(rules)
    assert {path: set(item) for path, item in document["paths"].items()} == rules
    error_names = {
        name
        for name, response in document["components"]["responses"].items()
        if response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    }
    assert error_names == {"BadRequest", "Unauthorized", "NotFound", "LedgerMismatch", "Unavailable"}
    for path, item in document["paths"].items():
        operation = item["get"]
        assert path in openapi.OPERATIONS, f"{path} has no declaration in clara_monitor.openapi.OPERATIONS"
        assert operation["summary"], path
        (media_type,) = operation["responses"]["200"]["content"]
        text = {"/api/metrics.csv": "text/csv", "/api/class-metrics.csv": "text/csv", "/metrics": "text/plain"}
        assert media_type == text.get(path, "application/json"), path
        for code, response in operation["responses"].items():
            if code != "200":
                assert response["$ref"].rsplit("/", 1)[1] in error_names, (path, code)
        if path not in {"/healthz", "/readyz"}:
            assert "401" in operation["responses"], path


def test_the_range_routes_describe_their_parameters(document: dict) -> None:
    for path in ("/api/metrics", "/api/metrics.csv", "/api/class-metrics.csv"):
        parameters = [p["$ref"].rsplit("/", 1)[1] for p in document["paths"][path]["get"]["parameters"]]
        assert parameters == ["start_date", "end_date", "average"], path
    for path in ("/api/confusion", "/api/class-metrics/daily", "/api/drift", "/api/alerts", "/data"):
        parameters = [p["$ref"].rsplit("/", 1)[1] for p in document["paths"][path]["get"]["parameters"]]
        assert parameters == ["start_date", "end_date"], path
    assert document["components"]["parameters"]["average"]["schema"]["enum"] == ["macro", "weighted", "micro", ""]


def conforms(schema, path: str, answer) -> None:
    """Check a Flask test answer for GET `path` against `schema` (its status declared, its body its schema)."""
    case = schema[path]["GET"].Case()
    case.validate_response(
        answer, checks=[status_code_conformance, content_type_conformance, response_schema_conformance]
    )


def test_with_authentication_on_every_refusal_is_the_declared_401(
    seeded: MonitorSettings, document: dict, make_monitor: MakeMonitor
) -> None:
    locked = MonitorSettings.from_env(
        {},
        MONGODB_URI=seeded.MONGODB_URI,
        MONGODB_DB=seeded.MONGODB_DB,
        MONITOR_USERNAME=USER,
        MONITOR_PASSWORD=PASSWORD,
    )
    schema = schemathesis.openapi.from_dict(document)
    client = make_monitor(locked)
    for path, item in document["paths"].items():
        answer = client.get(path)
        assert answer.status_code == (401 if item["get"].get("security") != [] else 200), path
        conforms(schema, path, answer)


def test_with_the_database_down_every_answer_is_declared(document: dict, make_monitor: MakeMonitor) -> None:
    down = unreachable_settings(MONGODB_DB="none")
    schema = schemathesis.openapi.from_dict(document)
    client = make_monitor(down)
    statuses = {}
    for path in document["paths"]:
        answer = client.get(path)
        statuses[path] = answer.status_code
        conforms(schema, path, answer)
    assert statuses["/api/metrics"] == statuses["/api/metrics.csv"] == statuses["/readyz"] == 503
    assert statuses["/healthz"] == statuses["/api/openapi.json"] == 200


def test_a_history_of_another_time_zone_is_the_declared_409(
    seeded: MonitorSettings, document: dict, make_monitor: MakeMonitor
) -> None:
    elsewhere = MonitorSettings.from_env(
        {}, MONGODB_URI=seeded.MONGODB_URI, MONGODB_DB=seeded.MONGODB_DB, TIMEZONE="Asia/Tokyo"
    )
    schema = schemathesis.openapi.from_dict(document)
    client = make_monitor(elsewhere)
    current = today(elsewhere.tz)
    for path in ("/api/metrics", "/api/metrics.csv", "/api/class-metrics.csv", "/api/drift", "/data"):
        answer = client.get(f"{path}?start_date={current - timedelta(days=3)}")
        assert answer.status_code == 409, path
        conforms(schema, path, answer)


# Per operation and mode (valid requests, and invalid ones where there are parameters): about 1,000 requests.
EXAMPLES = 50


def test_no_generated_request_makes_a_5xx_and_every_answer_conforms(live: MonitorProcess) -> None:
    # Driven through hypothesis directly: schemathesis' pytest loader (from_fixture) breaks on pytest 9.2.
    schema = schemathesis.openapi.from_url(f"{live.base_url}/api/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    # schemathesis leaves out the operation that serves the document it was loaded from.
    assert {o.path for o in operations} == set(schema.raw_schema["paths"]) - {"/api/openapi.json"}
    failures: list[str] = []
    sent: Counter = Counter()
    for operation in operations:
        takes_parameters = bool(schema.raw_schema["paths"][operation.path]["get"].get("parameters"))
        # Invalid requests need a parameter to get wrong.
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)[: 2 if takes_parameters else 1]:

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
                phases=[Phase.explicit, Phase.generate],
            )
            def send(case) -> None:
                response = case.call(timeout=30)
                sent[response.status_code] += 1
                case.validate_response(response, checks=CHECKS)

            try:
                send()
            # schemathesis' FailureGroup is a BaseExceptionGroup, not an Exception.
            except (Exception, FailureGroup) as exc:  # noqa: BLE001 - every operation runs; failures are reported together
                failures.append(f"{operation.method.upper()} {operation.path} ({mode}): {exc}")
    print(f"statuses of {sum(sent.values())} requests: {dict(sorted(sent.items()))}")
    assert not failures, "\n\n".join(failures) + f"\n\nmonitor log:\n{live.log_tail()}"
    assert sent[200] > 0 and sent[400] > 0 and not any(status >= 500 for status in sent)


# Valid requests per operation, besides schemathesis' coverage cases (the schema's boundaries): about 650 in all.
ACCEPTANCE_EXAMPLES = 50


def refused_range(query: Mapping[str, Any], rule: Mapping[str, Any], current_day: date) -> bool:
    """Return whether an operation's `x-date-range` rule refuses the range `query` asks for on `current_day`.

    As the document says: after the defaults (the end today, or the start when later; the start a few days
    before the end), a range that ends before it starts, or spans more than max_days days, is a 400.
    """
    start, end = (date.fromisoformat(query[name]) if query.get(name) else None for name in (rule["start"], rule["end"]))
    if start is None:
        return False
    end = end or max(current_day, start)
    return start > end or (end - start).days + 1 > rule["max_days"]


def test_every_request_valid_under_the_document_is_accepted(seeded: MonitorSettings, live: MonitorProcess) -> None:
    """schemathesis' positive_data_acceptance on every operation, with its coverage cases and generated ones.

    The one rule a JSON schema cannot state, between start_date and end_date, is the operation's
    `x-date-range`: a request it refuses must be the declared 400, and every other valid request accepted.
    """
    schema = schemathesis.openapi.from_url(f"{live.base_url}/api/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {o.path for o in operations} == set(schema.raw_schema["paths"]) - {"/api/openapi.json"}
    accepted: Counter = Counter()  # path -> valid requests judged by positive_data_acceptance
    refused: Counter = Counter()  # path -> valid requests the range rule refuses, answered 400
    failures: list[str] = []
    for operation in operations:
        rule = schema.raw_schema["paths"][operation.path]["get"].get("x-date-range")

        def judge(case: Any, path: str = operation.path, rule: Any = rule) -> None:
            # Without the case's generation mode, positive_data_acceptance passes without looking.
            assert case.meta is not None and case.meta.generation.mode is GenerationMode.POSITIVE
            days = {today(seeded.tz)}
            response = case.call(timeout=30)
            days.add(today(seeded.tz))
            verdicts = {rule is not None and refused_range(case.query or {}, rule, day) for day in days}
            if len(verdicts) > 1:
                return  # the day changed during the request: which day the rule took is unknown
            if verdicts == {True}:
                assert response.status_code == 400 and "error" in response.json(), (case.query, response.text)
                refused[path] += 1
            else:
                case.validate_response(response, checks=[positive_data_acceptance])
                accepted[path] += 1

        @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
        @settings(
            max_examples=ACCEPTANCE_EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.generate],
        )
        def fuzz(case: Any) -> None:
            judge(case)

        coverage = schema.config.generation_for(operation=operation, phase="coverage")
        try:
            for case in operation.schema.iter_coverage_cases(
                operation, generation_modes=[GenerationMode.POSITIVE], generation_config=coverage
            ):
                judge(case)
            fuzz()
        except (Exception, FailureGroup) as exc:  # noqa: BLE001 - every operation runs; failures are reported together
            failures.append(f"GET {operation.path}: {exc}")
    print(f"accepted: {sum(accepted.values())}, refused by the range rule: {sum(refused.values())}")
    assert not failures, f"{len(failures)} operations refuse valid requests:\n\n" + "\n\n".join(failures)
    assert set(accepted) == {o.path for o in operations}
    # Every operation that takes a range carries the rule, and the server refused what it refuses.
    ranged = {
        o.path
        for o in operations
        if {"$ref": "#/components/parameters/start_date"}
        in schema.raw_schema["paths"][o.path]["get"].get("parameters", [])
    }
    assert set(refused) == ranged and len(ranged) >= 11


def test_the_original_default_week_before_an_end_date_in_the_first_year_is_accepted(app: Flask) -> None:
    # Found by the check above: the default start (1999-12-27) was held to the years a request may name.
    answer = app.test_client().get("/data?end_date=2000-01-03")
    assert answer.status_code == 200, answer.get_json()
    days = list(answer.get_json()["daily_metrics"])
    assert (days[0], days[-1], len(days)) == ("1999-12-27", "2000-01-03", 8)
