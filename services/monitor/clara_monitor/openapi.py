"""The OpenAPI 3.1 description of the monitor's API, served at /api/openapi.json and generated from the app.

The paths are the app's URL map (every route but the page, its icon and its static files); each
operation's summary and description are its view's docstring; its parameters, answer and errors are
the declaration in OPERATIONS for its path, below. Errors are errors.py's `{"error": "..."}` JSON.
A route without a declaration is still listed, with an answer of any shape; the tests
(tests/integration/test_monitor_openapi.py) ask for a declaration for every route, and check every
answer against its schema on a live monitor.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from flask import Blueprint, Flask, current_app, jsonify
from flask.typing import ResponseReturnValue

from clara_common.ledger.drift import FEATURES
from clara_common.metrics import AVERAGES
from clara_monitor import params
from clara_monitor.vocabulary import Vocabulary

bp = Blueprint("openapi", __name__)

OPENAPI_VERSION = "3.1.0"
JSON = "application/json"
CSV = "text/csv"
PROMETHEUS_TEXT = "text/plain"

# -- schemas ---------------------------------------------------------------------------------------------


def ref(name: str) -> dict[str, str]:
    """Return a reference to the component schema `name`."""
    return {"$ref": f"#/components/schemas/{name}"}


def obj(properties: dict[str, Any], optional: tuple[str, ...] = ()) -> dict[str, Any]:
    """Return a closed object schema: every property but `optional` required, nothing else allowed."""
    return {
        "type": "object",
        "properties": properties,
        "required": [name for name in properties if name not in optional],
        "additionalProperties": False,
    }


def by_class(schema: dict[str, Any]) -> dict[str, Any]:
    """Return an object schema keyed by class name."""
    return {
        "type": "object",
        "description": "keyed by class name, in the catalogue's order",
        "additionalProperties": schema,
    }


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """Return `schema` that also admits null."""
    return {"anyOf": [schema, {"type": "null"}]}


COUNT = {"type": "integer", "minimum": 0}
SOURCE = {
    "enum": ["logger", "defaults"],
    "description": "where the logger's settings come from: its record in the ledger, or the common defaults (none yet)",
}
SHARE = {"type": "number", "description": "a class's share of the predictions"}
DAY = {"type": "string", "format": "date", "description": "a local day of TIMEZONE, YYYY-MM-DD"}
INSTANT = {"type": "string", "format": "date-time"}
TIMEZONE = {"type": "string", "description": "the IANA time zone in which days are counted (TIMEZONE)"}
SCORE = {
    "type": ["number", "null"],
    "minimum": 0,
    "maximum": 1,
    "description": "a ratio; null when undefined (a division by zero)",
}
ORIGINAL_SCORE = {
    "type": "number",
    "minimum": 0,
    "maximum": 1,
    "description": "a ratio; 1.0 when its denominator is zero (scikit-learn's zero_division=1)",
}

# /api/status' answer; /api/metrics' `ledger` is the same, for the range.
STATUS: dict[str, Any] = {
    "state": {"enum": ["current", "behind", "absent"]},
    "message": {"type": "string"},
    "backlog": {**COUNT, "description": "validated predictions not logged yet"},
    "last_tick_at": nullable(INSTANT),
    "last_tick_report": {"type": ["string", "null"]},
    "corrections_since": nullable(INSTANT),
    "last_reconcile": {
        "anyOf": [
            {
                "type": "object",
                "properties": {"first_day": DAY, "last_day": DAY, "repaired_days": COUNT, "at": INSTANT},
            },
            {"type": "null"},
        ]
    },
    "history_timezone": {"type": ["string", "null"]},
    "timezone": TIMEZONE,
}

SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": obj({"error": {"type": "string", "description": "what went wrong, in words"}}),
    "Summary": obj({"entries": COUNT, "precision": SCORE, "accuracy": SCORE, "recall": SCORE, "f1": SCORE}),
    "ClassScores": obj({"precision": SCORE, "recall": SCORE, "f1": SCORE, "support": COUNT}),
    "ColorDict": {
        "type": "object",
        "description": "class name -> CSS colour",
        "additionalProperties": {"type": "string"},
    },
    "ClassCounts": by_class(COUNT),
    "Status": obj(STATUS),
    "Metrics": obj(
        {
            "start_date": DAY,
            "end_date": DAY,
            "timezone": TIMEZONE,
            "average": {"enum": list(AVERAGES)},
            "total_validated": COUNT,
            "class_counts": ref("ClassCounts"),
            "metrics": obj({"precision": SCORE, "accuracy": SCORE, "recall": SCORE, "f1": SCORE}),
            "daily_metrics": {
                "type": "object",
                "description": "every day of the range -> its summary",
                "additionalProperties": ref("Summary"),
            },
            "class_metrics": by_class(ref("ClassScores")),
            "color_dict": ref("ColorDict"),
            "invalid_records": COUNT,
            "low_sample_threshold": COUNT,
            "low_sample_threshold_source": SOURCE,
            "ledger": obj({**STATUS, "backlog_scope": {"const": "range"}, "tail_documents": COUNT}),
            "reference": {
                "anyOf": [ref("ReferenceLevels"), {"type": "null"}],
                "description": "the reference levels the logger judges with; null until it has written them",
            },
        }
    ),
    "ReferenceLevel": obj(
        {
            "value": {"type": "number"},
            "low": {"type": ["number", "null"]},
            "high": {"type": ["number", "null"]},
            "count": nullable(COUNT),
        }
    ),
    "ReferenceLevels": obj(
        {
            "accuracy": nullable(ref("ReferenceLevel")),
            "classes": by_class(
                obj({"recall": nullable(ref("ReferenceLevel")), "precision": nullable(ref("ReferenceLevel"))})
            ),
        }
    ),
    "Confusion": obj(
        {
            "start_date": DAY,
            "end_date": DAY,
            "timezone": TIMEZONE,
            "labels": {"type": "array", "items": {"type": "integer"}, "description": "class ids, catalogue order"},
            "names": {"type": "array", "items": {"type": "string"}},
            "colors": {"type": "array", "items": {"type": "string"}},
            "matrix": {
                "type": "array",
                "items": {"type": "array", "items": COUNT},
                "description": "rows the true class, columns the predicted class",
            },
            "rejected": {**by_class(COUNT), "description": "legacy `false` reviews, by predicted class"},
            "total": COUNT,
        }
    ),
    "ClassMetricsDaily": obj(
        {
            "start_date": DAY,
            "end_date": DAY,
            "timezone": TIMEZONE,
            "names": {"type": "array", "items": {"type": "string"}},
            "color_dict": ref("ColorDict"),
            "days": {
                "type": "array",
                "items": obj({"day": DAY, "count": COUNT, "classes": by_class(ref("ClassScores"))}),
            },
        }
    ),
    "DriftResult": obj(
        {
            "algorithm": {"type": ["string", "null"], "description": "chi-square, ks or hellinger"},
            "statistic": {"type": ["number", "null"]},
            "p_value": {"type": ["number", "null"]},
            "threshold": {
                "type": ["number", "null"],
                "description": "the p-value or distance threshold of a release before the corrected tests",
            },
            "category": {"enum": ["drift", "no_drift", "insufficient_data", "in_reference", None]},
            "alpha": {
                "type": ["number", "null"],
                "description": "the corrected per-test significance level the day was judged with",
            },
            "psi": {"type": ["number", "null"], "description": "the population stability index of the day's window"},
            "psi_threshold": {
                "type": ["number", "null"],
                "description": "the minimum PSI for drift the day was judged with",
            },
            "window_days": {**nullable(COUNT), "description": "how many days the tested window spans"},
            "shifts": {
                "anyOf": [
                    {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "class": {"type": "string"},
                                "reference": {"type": "number"},
                                "current": {"type": "number"},
                            },
                        },
                    },
                    {"type": "null"},
                ],
                "description": "class features: each class's share in the reference and in the window",
            },
        }
    ),
    "Drift": obj(
        {
            "start_date": DAY,
            "end_date": DAY,
            "timezone": TIMEZONE,
            "thresholds": obj(
                {
                    "algorithm": {"enum": ["chi-square", "hellinger"]},
                    "p_value": {"type": "number"},
                    "hellinger_threshold": {"type": "number"},
                    "min_samples": COUNT,
                    "source": SOURCE,
                }
            ),
            "days": {
                "type": "array",
                "items": obj(
                    {
                        "day": DAY,
                        "count": COUNT,
                        "features": {
                            **obj(
                                {name: ref("DriftResult") for name in FEATURES},
                                optional=FEATURES,
                            ),
                            "description": "empty for a day the logger has not evaluated",
                        },
                        "evaluated_at": nullable(INSTANT),
                    }
                ),
            },
        }
    ),
    "Alert": obj(
        {
            "id": {
                "type": "string",
                "description": "the incident's key, <kind>:<metric>:<class or all>:<day opened>; "
                "a legacy alert's <kind>:<day>",
            },
            "kind": {
                "enum": ["performance", "drift", "traffic"],
                "description": "performance and traffic incidents make the verdict degraded; drift is a notice",
            },
            "metric": {
                "type": "string",
                "description": "performance: accuracy, recall, precision (or f1); drift: predicted_class, "
                "true_class, confidence; traffic: predictions, reviews",
            },
            "class": {"type": ["string", "null"], "description": "the class name; null for the whole model"},
            "day": {**DAY, "description": "the day the incident opened"},
            "since": {**DAY, "description": "the estimated onset day (<= day)"},
            "status": {"enum": ["open", "resolved"]},
            "resolved_day": {**nullable(DAY), "description": "the day it resolved; null while open"},
            "value": {
                "type": ["number", "null"],
                "description": "the metric over since..the last day seen (open) or since..resolved_day",
            },
            "reference": {
                "type": ["number", "null"],
                "description": "the reference level it is compared with (a legacy accuracy alert: its threshold)",
            },
            "reference_band": {
                "anyOf": [
                    {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
                    {"type": "null"},
                ],
                "description": "[low, high]: the reference level's 90% band",
            },
            "count": {**nullable(COUNT), "description": "reviewed predictions behind `value`"},
            "confusion": {
                "anyOf": [
                    obj({"class": {"type": "string"}, "count": nullable(COUNT), "text": {"type": ["string", "null"]}}),
                    {"type": "null"},
                ],
                "description": "performance only: the class the lost predictions mostly went to",
            },
            "shifts": {
                "anyOf": [
                    {
                        "type": "array",
                        "items": obj({"class": {"type": "string"}, "reference": SHARE, "current": SHARE}),
                    },
                    {"type": "null"},
                ],
                "description": "drift only: the classes whose share moved, largest first (shares of predictions)",
            },
            "text": {"type": ["string", "null"], "description": "one line for people"},
            "delivered": {
                "type": ["boolean", "null"],
                "description": "the opening message: true: the webhook took it; false: pending; "
                "null: no webhook configured",
            },
            "created_at": nullable(INSTANT),
            "legacy": {
                "type": "boolean",
                "description": "a day alert of a release before incidents, shown as a one-day resolved incident",
            },
            "withdrawn": {
                "type": "boolean",
                "description": "resolved because the reviews behind it were corrected: it never degrades the verdict",
            },
        }
    ),
    "Verdict": obj(
        {
            "state": {"enum": ["healthy", "degraded"]},
            "since": {**nullable(DAY), "description": "the earliest onset among the incidents; null when healthy"},
            "text": {
                "type": "string",
                "description": 'e.g. "Healthy", or "Degraded since Nov 23: green recall 87% → 48% '
                '(mostly predicted as green_point)", naming the most severe incident, "and N more"',
            },
            "incidents": {
                "type": "array",
                "items": {"type": "string"},
                "description": "ids of the performance and traffic incidents, most severe first",
            },
            "notices": {"type": "array", "items": {"type": "string"}, "description": "ids of the drift notices"},
        }
    ),
    "Alerts": obj(
        {
            "start_date": DAY,
            "end_date": DAY,
            "verdict": ref("Verdict"),
            "alerts": {
                "type": "array",
                "items": ref("Alert"),
                "description": "open first, then by the day opened, latest first",
            },
            "invalid_alerts": {
                **COUNT,
                "description": "stored alerts left out because they have neither an incident's shape nor a "
                "legacy alert's",
            },
        }
    ),
    "TrainingData": obj(
        {
            "class_counts": ref("ClassCounts"),
            "configured_counts": ref("ClassCounts"),
            "trained_predictions": ref("ClassCounts"),
            "color_dict": ref("ColorDict"),
        }
    ),
    "DateRange": obj({"min_date": nullable(DAY), "max_date": nullable(DAY), "today": DAY, "timezone": TIMEZONE}),
    "OriginalData": obj(
        {
            "total_validated": COUNT,
            "class_counts": ref("ClassCounts"),
            "metrics": obj({"precision": SCORE, "accuracy": SCORE, "recall": SCORE, "f1": SCORE}),
            "daily_metrics": {"type": "object", "additionalProperties": ref("Summary")},
            "class_metrics": by_class(
                obj({"precision": ORIGINAL_SCORE, "recall": ORIGINAL_SCORE, "f1": ORIGINAL_SCORE})
            ),
            "color_dict": ref("ColorDict"),
        }
    ),
    "OriginalTrainingData": obj({"class_counts": ref("ClassCounts"), "color_dict": ref("ColorDict")}),
    "OriginalMinDate": obj({"min_date": nullable(DAY)}),
    "Calibration": obj(
        {
            "start_date": DAY,
            "end_date": DAY,
            "timezone": TIMEZONE,
            "bins": {
                "type": "array",
                "minItems": 10,
                "maxItems": 10,
                "items": obj(
                    {
                        "lower": {"type": "number"},
                        "upper": {"type": "number"},
                        "count": COUNT,
                        "mean_confidence": SCORE,
                        "accuracy": SCORE,
                    }
                ),
                "description": "10 equal-width confidence bins over [0, 1], the last closed",
            },
            "ece": {**SCORE, "description": "expected calibration error; null without predictions with a confidence"},
            "with_confidence": COUNT,
            "without_confidence": {
                **COUNT,
                "description": "validated predictions without a confidence (days with bins)",
            },
            "days_without_bins": {
                "type": "array",
                "items": DAY,
                "description": "history days written before the calibration tables: left out "
                "until `clara-logger --reconcile` fills them",
            },
            "validated_without_bins": COUNT,
            "as_of": {**nullable(INSTANT), "description": "the logger's last tick: the tail after it is not included"},
            "source": {"type": "string"},
        }
    ),
    "Traffic": obj(
        {
            "start_date": DAY,
            "end_date": DAY,
            "timezone": TIMEZONE,
            "days": {
                "type": "array",
                "items": obj(
                    {
                        "day": {**DAY, "description": "a local day of prediction time"},
                        "predictions": {**COUNT, "description": "the predictions made on the day"},
                        "reviewed": {**COUNT, "description": "those with a verdict now"},
                        "awaiting": {**COUNT, "description": "those without one"},
                        "median_review_hours": {
                            "type": ["number", "null"],
                            "description": "the median of timestamp_validated - timestamp over the reviewed ones",
                        },
                        "invalid": {**COUNT, "description": "the day's documents that break the record contract"},
                    }
                ),
            },
            "as_of": {
                **nullable(INSTANT),
                "description": "when the logger's summary was refreshed; null: counted from the predictions",
            },
            "source": {"enum": ["summary", "predictions"]},
        }
    ),
    "EstimatedPerformance": obj(
        {
            "start_date": DAY,
            "end_date": DAY,
            "timezone": TIMEZONE,
            "days": {
                "type": "array",
                "items": obj(
                    {
                        "day": {**DAY, "description": "a local day of prediction time"},
                        "unreviewed": COUNT,
                        "estimated_accuracy": SCORE,
                        "lower": SCORE,
                        "upper": SCORE,
                        "realised_accuracy": {
                            **SCORE,
                            "description": "accuracy of the predictions validated on the day (history, as of as_of)",
                        },
                        "validated": COUNT,
                    }
                ),
            },
            "total": {
                **obj({"unreviewed": COUNT, "estimated_accuracy": SCORE, "lower": SCORE, "upper": SCORE}),
                "description": "the range's unreviewed predictions together (the band from all of them, "
                "not an average of the days' bands)",
            },
            "calibration_window": obj(
                {
                    "start_date": DAY,
                    "end_date": DAY,
                    "days": COUNT,
                    "validated_with_confidence": COUNT,
                    "days_without_bins": {"type": "array", "items": DAY},
                }
            ),
            "band_level": {"type": "number"},
            "invalid_unreviewed": COUNT,
            "as_of": {**nullable(INSTANT), "description": "the logger's last tick: the history's validated days"},
            "unreviewed_as_of": {
                **nullable(INSTANT),
                "description": "when the logger's summary of unreviewed predictions was refreshed: "
                "predictions made or reviewed since are not included; null when "
                "read from the predictions at the request",
            },
            "unreviewed_source": {
                "type": "string",
                "enum": ["summary", "predictions"],
                "description": "summary: the logger's; predictions: no logger has written one yet",
            },
            "source": {"type": "string"},
        }
    ),
    "Health": obj({"status": {"const": "ok"}}),
    "Ready": obj({"status": {"const": "ready"}}),
    "OpenAPI": {"type": "object", "required": ["openapi", "info", "paths"], "description": "this document"},
}

# -- parameters and errors ---------------------------------------------------------------------------------

# A day the API takes: YYYY-MM-DD in the years FIRST_YEAR to LAST_YEAR (others are a 400).
DAY_PATTERN = r"^(20[0-9]{2}|2100)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
# An empty value is the default, as an absent one.
DAY_PARAMETER = {"anyOf": [{"type": "string", "format": "date", "pattern": DAY_PATTERN}, {"const": ""}]}
# The rule between start_date and end_date, which no JSON schema of one parameter can state (it depends on
# the other parameter and on today), on every operation that takes a range: x-date-range, machine-readable.
RANGE_RULE = (
    f"A range may span at most {params.MAX_RANGE_DAYS} days, both included, and may not end before it starts: "
    "after the defaults, either is a 400. So start_date alone may be at most "
    f"{params.MAX_RANGE_DAYS - 1} days before today."
)
DATE_RANGE = {"start": "start_date", "end": "end_date", "max_days": params.MAX_RANGE_DAYS, "description": RANGE_RULE}
PARAMETERS: dict[str, dict[str, Any]] = {
    "start_date": {
        "name": "start_date",
        "in": "query",
        "required": False,
        "description": (
            f"first day of the range, YYYY-MM-DD, in the years {params.FIRST_YEAR} to {params.LAST_YEAR}; "
            f"default: {params.DEFAULT_DAYS - 1} days before end_date (on /data, the original's 7). {RANGE_RULE}"
        ),
        "schema": DAY_PARAMETER,
    },
    "end_date": {
        "name": "end_date",
        "in": "query",
        "required": False,
        "description": (
            f"last day of the range, included, YYYY-MM-DD, in the years {params.FIRST_YEAR} to {params.LAST_YEAR}; "
            f"default: today, or start_date when that is later. {RANGE_RULE}"
        ),
        "schema": DAY_PARAMETER,
    },
    "average": {
        "name": "average",
        "in": "query",
        "required": False,
        "description": "how precision, recall and F1 are averaged over the classes",
        "schema": {"enum": [*AVERAGES, ""], "default": "macro", "description": "empty: the default"},
    },
}
RANGE = ("start_date", "end_date")
RANGE_AND_AVERAGE = ("start_date", "end_date", "average")

ERRORS: dict[int, tuple[str, str]] = {
    400: ("BadRequest", "a malformed or reversed date, a range too long, an unknown average"),
    401: (
        "Unauthorized",
        "authentication is on (MONITOR_USERNAME, or METRICS_TOKEN for /metrics) and the request's is missing or wrong",
    ),
    404: ("NotFound", "no such route (any path this document does not list)"),
    409: ("LedgerMismatch", "the logger's history was built in another TIMEZONE; the error says how to rebuild it"),
    503: ("Unavailable", "the database does not answer, or refused the query"),
}


@dataclass(frozen=True)
class Operation:
    """What a route takes and answers, beyond its docstring."""

    schema: str  # a component schema of the successful answer
    parameters: tuple[str, ...] = ()
    errors: tuple[int, ...] = (401, 503)
    media_type: str = JSON
    filename: bool = False  # the answer is a download named by Content-Disposition
    public: bool = False  # open without credentials (the probes)
    token: bool = False  # also open with METRICS_TOKEN as a Bearer token


RANGE_ERRORS = (400, 401, 409, 503)
OPERATIONS: dict[str, Operation] = {
    "/api/metrics": Operation("Metrics", RANGE_AND_AVERAGE, RANGE_ERRORS),
    "/api/metrics.csv": Operation("DailyMetricsCsv", RANGE_AND_AVERAGE, RANGE_ERRORS, CSV, filename=True),
    "/api/class-metrics.csv": Operation("ClassMetricsCsv", RANGE_AND_AVERAGE, RANGE_ERRORS, CSV, filename=True),
    "/api/status": Operation("Status"),
    "/api/confusion": Operation("Confusion", RANGE, RANGE_ERRORS),
    "/api/class-metrics/daily": Operation("ClassMetricsDaily", RANGE, RANGE_ERRORS),
    "/api/drift": Operation("Drift", RANGE, RANGE_ERRORS),
    "/api/calibration": Operation("Calibration", RANGE, RANGE_ERRORS),
    "/api/estimated-performance": Operation("EstimatedPerformance", RANGE, RANGE_ERRORS),
    "/api/traffic": Operation("Traffic", RANGE, RANGE_ERRORS),
    "/api/alerts": Operation("Alerts", RANGE, (400, 401, 503)),
    "/api/training-data": Operation("TrainingData"),
    "/api/date-range": Operation("DateRange"),
    "/api/vocabulary": Operation("Vocabulary", errors=(401,)),
    "/api/openapi.json": Operation("OpenAPI", errors=(401,)),
    "/data": Operation("OriginalData", RANGE, RANGE_ERRORS),
    "/training-data": Operation("OriginalTrainingData", errors=(401,)),
    "/min-date": Operation("OriginalMinDate"),
    "/metrics": Operation("PrometheusText", errors=(401, 409, 503), media_type=PROMETHEUS_TEXT, token=True),
    "/healthz": Operation("Health", errors=(), public=True),
    "/readyz": Operation("Ready", errors=(503,), public=True),
}
TEXT_SCHEMAS = {
    "DailyMetricsCsv": {
        "type": "string",
        "description": (
            "RFC 4180 CSV with a header: day,entries,precision,accuracy,recall,f1; one row per day of the range, "
            "the values of /api/metrics' daily_metrics; an undefined value (null) is an empty cell"
        ),
    },
    "ClassMetricsCsv": {
        "type": "string",
        "description": (
            "RFC 4180 CSV with a header: class,precision,recall,f1,support; one row per class over the whole range, "
            "the values of /api/metrics' class_metrics; an undefined value (null) is an empty cell"
        ),
    },
    "PrometheusText": {
        "type": "string",
        "description": (
            "Prometheus' text exposition format (version 0.0.4): the windows 1d, 7d and 30d, drift and the "
            "logger's state; an undefined value is left out"
        ),
    },
}


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
    if operation.parameters:
        document["parameters"] = [{"$ref": f"#/components/parameters/{name}"} for name in operation.parameters]
    if "start_date" in operation.parameters:
        document["x-date-range"] = DATE_RANGE
    success: dict[str, Any] = {
        "description": summary.strip(),
        "content": {operation.media_type: {"schema": ref(operation.schema)}},
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
            "schemas": {**SCHEMAS, **TEXT_SCHEMAS, "Vocabulary": Vocabulary.model_json_schema()},
            "parameters": PARAMETERS,
            "responses": {
                name: {
                    "description": description,
                    "content": {JSON: {"schema": ref("Error")}},
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
    return jsonify(build_document(current_app))
