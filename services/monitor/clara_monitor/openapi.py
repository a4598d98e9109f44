"""The OpenAPI 3.1 description of the monitor's API, served at /api/openapi.json and generated from the app.

The paths are the app's URL map (every route but the page, its icon and its static files); each operation's
summary and description are its view's docstring; its parameters, answer and errors are its entry in
OPERATIONS, the route table below: the only declaration. The schemas are generated from the answers' pydantic
models (answers.py) and the query parameters from params.py's query models; the errors are errors.py's.
A route without an entry is still listed, with an answer of any shape; the tests
(tests/integration/test_monitor_openapi.py) ask for an entry for every route, check every answer against
the document on a live monitor, and validate every answer of the test client against its model.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from typing import Any

from flask import Blueprint, Flask, current_app
from flask.typing import ResponseReturnValue
from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue, models_json_schema
from pydantic_core import core_schema

from clara_monitor import answers, params
from clara_monitor.errors import ERRORS

bp = Blueprint("openapi", __name__)

OPENAPI_VERSION = "3.1.0"
JSON = "application/json"
SCHEMAS = "#/components/schemas/{model}"


@dataclass(frozen=True)
class TextAnswer:
    """An answer that is not JSON: its media type and what the text holds."""

    name: str
    media_type: str
    description: str


@dataclass(frozen=True)
class Operation:
    """A route's declaration: its answer, its query parameters, its errors and who may call it."""

    answer: type[BaseModel] | TextAnswer
    query: type[BaseModel] | None = None  # a params.py query model: one parameter per field
    errors: tuple[int, ...] = (401, 503)
    filename: bool = False  # the answer is a download named by Content-Disposition
    public: bool = False  # open without credentials (the probes)
    token: bool = False  # also open with METRICS_TOKEN as a Bearer token


DAILY_METRICS_CSV = TextAnswer(
    "DailyMetricsCsv",
    "text/csv",
    "RFC 4180 CSV with a header: day,entries,precision,accuracy,recall,f1; one row per day of the range, "
    "the values of /api/metrics' daily_metrics; an undefined value (null) is an empty cell",
)
CLASS_METRICS_CSV = TextAnswer(
    "ClassMetricsCsv",
    "text/csv",
    "RFC 4180 CSV with a header: class,precision,recall,f1,support; one row per class over the whole range, "
    "the values of /api/metrics' class_metrics; an undefined value (null) is an empty cell",
)
PROMETHEUS_TEXT = TextAnswer(
    "PrometheusText",
    "text/plain",
    "Prometheus' text exposition format (version 0.0.4): the windows 1d, 7d and 30d, drift and the "
    "logger's state; an undefined value is left out",
)

RANGE, RANGE_AND_AVERAGE = params.RangeQuery, params.RangeAndAverageQuery
RANGE_ERRORS = (400, 401, 409, 503)
# The route table: path -> its declaration. To add a route, add its entry here.
OPERATIONS: dict[str, Operation] = {
    "/api/metrics": Operation(answers.Metrics, RANGE_AND_AVERAGE, RANGE_ERRORS),
    "/api/metrics.csv": Operation(DAILY_METRICS_CSV, RANGE_AND_AVERAGE, RANGE_ERRORS, filename=True),
    "/api/class-metrics.csv": Operation(CLASS_METRICS_CSV, RANGE_AND_AVERAGE, RANGE_ERRORS, filename=True),
    "/api/status": Operation(answers.Status),
    "/api/confusion": Operation(answers.Confusion, RANGE, RANGE_ERRORS),
    "/api/class-metrics/daily": Operation(answers.ClassMetricsDaily, RANGE, RANGE_ERRORS),
    "/api/drift": Operation(answers.Drift, RANGE, RANGE_ERRORS),
    "/api/calibration": Operation(answers.Calibration, RANGE, RANGE_ERRORS),
    "/api/estimated-performance": Operation(answers.EstimatedPerformance, RANGE, RANGE_ERRORS),
    "/api/traffic": Operation(answers.Traffic, RANGE, RANGE_ERRORS),
    "/api/alerts": Operation(answers.Alerts, RANGE, (400, 401, 503)),
    "/api/training-data": Operation(answers.TrainingData),
    "/api/date-range": Operation(answers.DateRange),
    "/api/openapi.json": Operation(answers.OpenAPI, errors=(401,)),
    "/api/vocabulary": Operation(answers.Vocabulary, errors=(401,)),
    "/data": Operation(answers.OriginalData, RANGE, RANGE_ERRORS),
    "/training-data": Operation(answers.OriginalTrainingData, errors=(401,)),
    "/min-date": Operation(answers.OriginalMinDate),
    "/metrics": Operation(PROMETHEUS_TEXT, errors=(401, 409, 503), token=True),
    "/healthz": Operation(answers.Health, errors=(), public=True),
    "/readyz": Operation(answers.Ready, errors=(503,), public=True),
}

# -- schemas, generated ------------------------------------------------------------------------------------


class ComponentSchema(GenerateJsonSchema):
    """pydantic's JSON schema, for OpenAPI readers: no generated property titles, and `float | int` (a number
    kept as stored) a plain JSON number."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def union_schema(self, schema: core_schema.UnionSchema) -> JsonSchemaValue:
        generated = super().union_schema(schema)
        choices = generated.get("anyOf")
        if not choices:
            return generated
        numbers = [{k: v for k, v in c.items() if k != "type"} for c in choices if c.get("type") == "number"]
        kept = [
            c
            for c in choices
            if not (c.get("type") == "integer" and {k: v for k, v in c.items() if k != "type"} in numbers)
        ]
        if len(kept) == 1:
            return {**{k: v for k, v in generated.items() if k != "anyOf"}, **kept[0]}
        return {**generated, "anyOf": kept}


@cache
def component_schemas() -> dict[str, Any]:
    """Return the document's component schemas: every answer model, the models they hold, the text answers.

    Generated once per process (the models do not change while it runs); callers must not modify the answer.
    """
    models = {answers.Error} | {o.answer for o in OPERATIONS.values() if isinstance(o.answer, type)}
    _, generated = models_json_schema(
        [(model, "serialization") for model in sorted(models, key=lambda m: m.__name__)],
        ref_template=SCHEMAS,
        schema_generator=ComponentSchema,
    )
    texts = {
        o.answer.name: {"type": "string", "description": o.answer.description}
        for o in OPERATIONS.values()
        if isinstance(o.answer, TextAnswer)
    }
    return {**generated.get("$defs", {}), **texts}


def query_parameters(query: type[BaseModel]) -> dict[str, dict[str, Any]]:
    """Return the OpenAPI parameter objects of a query model's fields, by name, in the model's order."""
    properties = query.model_json_schema(ref_template=SCHEMAS, schema_generator=ComponentSchema)["properties"]
    found = {}
    for name, schema in properties.items():
        description = schema.pop("description", "")
        found[name] = {"name": name, "in": "query", "required": False, "description": description, "schema": schema}
    return found


def ref(name: str) -> dict[str, str]:
    """Return a reference to the component schema `name`."""
    return {"$ref": SCHEMAS.format(model=name)}


def answer_name(operation: Operation) -> str:
    """Return the component schema name of an operation's answer."""
    return operation.answer.name if isinstance(operation.answer, TextAnswer) else operation.answer.__name__


def media_type(operation: Operation) -> str:
    """Return an operation's answer media type."""
    return operation.answer.media_type if isinstance(operation.answer, TextAnswer) else JSON


def is_page(endpoint: str) -> bool:
    """Return whether `endpoint` serves the dashboard (its page, icon or files), not the API."""
    return endpoint == "static" or endpoint.startswith("views.")


def operation_document(endpoint: str, view: Any, operation: Operation | None) -> dict[str, Any]:
    """Return the OpenAPI operation object of one route."""
    doc = inspect.getdoc(view) or endpoint
    summary, _, description = doc.partition("\n")
    document: dict[str, Any] = {
        "operationId": endpoint.replace(".", "_"),
        "summary": summary.strip(),
        "tags": [endpoint.split(".")[0]],
    }
    if description.strip():
        document["description"] = description.strip()
    if operation is None:
        document["responses"] = {"200": {"description": "undeclared: see the route's docstring"}}
        return document
    names = list(operation.query.model_fields) if operation.query is not None else []
    if names:
        document["parameters"] = [{"$ref": f"#/components/parameters/{name}"} for name in names]
    if "start_date" in names:
        document["x-date-range"] = {
            "start": "start_date",
            "end": "end_date",
            "max_days": params.MAX_RANGE_DAYS,
            "description": params.RANGE_RULE,
        }
    success: dict[str, Any] = {
        "description": summary.strip(),
        "content": {media_type(operation): {"schema": ref(answer_name(operation))}},
    }
    if operation.filename:
        success["headers"] = {
            "Content-Disposition": {
                "description": "attachment; a file name that names the range",
                "schema": {"type": "string"},
            }
        }
    document["responses"] = {
        "200": success,
        **{str(code): {"$ref": f"#/components/responses/{ERRORS[code][0]}"} for code in operation.errors},
    }
    if operation.public:
        document["security"] = []
    elif operation.token:
        document["security"] = [{}, {"basic": []}, {"metrics_token": []}]
    return document


def build_document(app: Flask) -> dict[str, Any]:
    """Return the OpenAPI document of `app`'s routes."""
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if is_page(rule.endpoint):
            continue
        view = app.view_functions[rule.endpoint]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(rule.rule, {})[method.lower()] = operation_document(
                rule.endpoint, view, OPERATIONS.get(rule.rule)
            )
    try:
        version = metadata.version("clara-monitor")
    except metadata.PackageNotFoundError:
        version = "0"
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "CLARA Monitor",
            "version": version,
            "description": (
                "The monitor's JSON API, its CSV exports and its Prometheus figures: metrics "
                "of the image classifier over local days of TIMEZONE, from the logger's history "
                "plus its tail."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": component_schemas(),
            "parameters": {
                name: parameter
                for query in {o.query for o in OPERATIONS.values() if o.query is not None}
                for name, parameter in query_parameters(query).items()
            },
            "responses": {
                name: {
                    "description": description,
                    "content": {JSON: {"schema": ref(answers.Error.__name__)}},
                    **({"headers": {"WWW-Authenticate": {"schema": {"type": "string"}}}} if code == 401 else {}),
                }
                for code, (name, description) in ERRORS.items()
            },
            "securitySchemes": {
                "basic": {
                    "type": "http",
                    "scheme": "basic",
                    "description": "only when MONITOR_USERNAME is set; off by default",
                },
                "metrics_token": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "METRICS_TOKEN, when set: opens GET /metrics only",
                },
            },
        },
        # Authentication is optional: a deployment either asks for Basic credentials or for none.
        "security": [{}, {"basic": []}],
    }


@bp.get("/api/openapi.json")
def openapi_document() -> ResponseReturnValue:
    """Return the OpenAPI 3.1 description of this API, generated from the monitor's routes."""
    return answers.answer(answers.OpenAPI.model_validate(build_document(current_app)))
