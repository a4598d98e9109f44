"""The monitor's JSON answers as pydantic models: what every JSON route returns, and what /api/openapi.json says.

A view builds its answer's model and returns `answer(model)`; openapi.py turns the models into the document's
component schemas, so the description cannot drift from the views. Field order is the JSON's key order, and
a field named by a Python keyword (`class`) has the JSON name as its alias. Every model refuses undeclared
keys (`extra="forbid"`): the tests validate each answer against its model (tests/utils/monitor_app.py).

Types: `Day` is a local day (YYYY-MM-DD), `Instant` an ISO 8601 instant kept as the views write it, `Count`
a count (>= 0), `Ratio` a score in [0, 1] that is null when undefined, `Real` a number as stored (an int
stays an int).
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Annotated, Any, Literal, TypeVar

from flask import Response, jsonify
from pydantic import BaseModel, ConfigDict, Field, ValidationError

log = logging.getLogger(__name__)

Day = date
Instant = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
Count = Annotated[int, Field(ge=0)]
Ratio = Annotated[float, Field(ge=0, le=1)]
Real = float | int
ClassName = str
Average = Literal["macro", "weighted", "micro"]
DriftFeature = Literal["predicted_class", "true_class", "confidence"]  # clara_common.ledger.drift.FEATURES
Source = Annotated[
    Literal["logger", "defaults"],
    Field(description="the logger's settings as it recorded them in the ledger, or the common defaults (none yet)"),
]


class Answer(BaseModel):
    """A JSON answer, or a part of one: closed (no undeclared key), written by its JSON names."""

    model_config = ConfigDict(extra="forbid", validate_by_name=True, validate_by_alias=True, serialize_by_alias=True)


def answer(model: BaseModel) -> Response:
    """Return `model` as a JSON response, keys in the model's order."""
    return jsonify(model.model_dump(mode="json"))


Part = TypeVar("Part", bound=BaseModel)


def stored_part(model: type[Part], stored: Any, what: str) -> Part | None:
    """Return a stored ledger document passed through to an answer as `model`, or None when it does not fit.

    The ledger's documents are the logger's, but a release before or after this one, or a hand edit, may
    have left another shape: that part is left out of the answer (and logged), and the answer stands.
    """
    try:
        return model.model_validate(stored)
    except ValidationError as error:
        log.warning(
            "%s left out of the answer: it does not fit %s (%d errors)", what, model.__name__, error.error_count()
        )
        return None


class Error(Answer):
    """Every error's answer (errors.py): never a stack trace."""

    error: str = Field(description="what went wrong, in words")


# -- scores ----------------------------------------------------------------------------------------------


class Scores(Answer):
    """The range's scores, averaged over the classes as the request's average says."""

    precision: Ratio | None
    accuracy: Ratio | None
    recall: Ratio | None
    f1: Ratio | None


class Summary(Answer):
    """A day's validated predictions and scores; null scores where undefined (a division by zero)."""

    entries: Count
    precision: Ratio | None
    accuracy: Ratio | None
    recall: Ratio | None
    f1: Ratio | None


class ClassScores(Answer):
    """One class's scores; `support` is the validated predictions whose true class it is."""

    precision: Ratio | None
    recall: Ratio | None
    f1: Ratio | None
    support: Count


class OriginalClassScores(Answer):
    """One class's scores as the original dashboard gave them: 1.0 when a denominator is zero (zero_division=1)."""

    precision: Ratio
    recall: Ratio
    f1: Ratio


# -- the ledger's status and reference levels --------------------------------------------------------------


class Reconcile(Answer):
    """The logger's last `--reconcile`: the days it recounted and how many it repaired."""

    first_day: Day
    last_day: Day
    repaired_days: Count
    at: Instant


class Status(Answer):
    """How far behind the logger's history is (/api/status)."""

    state: Literal["current", "behind", "absent"]
    message: str
    backlog: Count = Field(description="validated predictions not logged yet")
    last_tick_at: Instant | None
    last_tick_report: str | None
    corrections_since: Instant | None
    last_reconcile: Reconcile | None
    history_timezone: str | None
    timezone: str = Field(description="the IANA time zone in which days are counted (TIMEZONE)")


class RangeLedger(Status):
    """/api/status' answer for a range: its backlog is the range's."""

    backlog_scope: Literal["range"]
    tail_documents: Count


class ReferenceLevel(Answer):
    """A reference level the logger judges with, and its band."""

    value: Real
    low: Real | None
    high: Real | None
    count: Count | None


class ClassReference(Answer):
    recall: ReferenceLevel | None
    precision: ReferenceLevel | None


class ReferenceLevels(Answer):
    accuracy: ReferenceLevel | None
    classes: dict[ClassName, ClassReference] = Field(description="keyed by class name, in the catalogue's order")


# -- /api/metrics, /api/confusion, /api/class-metrics/daily -------------------------------------------------


class Metrics(Answer):
    """/api/metrics: a range's scores overall, per day and per class, and the ledger's status."""

    start_date: Day
    end_date: Day
    timezone: str
    average: Average
    total_validated: Count
    class_counts: dict[ClassName, Count]
    metrics: Scores
    daily_metrics: dict[str, Summary] = Field(description="every day of the range -> its summary")
    class_metrics: dict[ClassName, ClassScores]
    color_dict: dict[ClassName, str] = Field(description="class name -> CSS colour")
    invalid_records: Count
    low_sample_threshold: Count = Field(description="ALERT_MIN_SAMPLES as the logger recorded it in the ledger")
    low_sample_threshold_source: Source
    reference: ReferenceLevels | None = Field(
        description="the reference levels the logger judges with; null until it has written them"
    )
    ledger: RangeLedger


class Confusion(Answer):
    """/api/confusion: rows the true class, columns the predicted class, catalogue order."""

    start_date: Day
    end_date: Day
    timezone: str
    labels: list[int] = Field(description="class ids, catalogue order")
    names: list[str]
    colors: list[str]
    matrix: list[list[Count]] = Field(description="rows the true class, columns the predicted class")
    rejected: dict[ClassName, Count] = Field(description="legacy `false` reviews, by predicted class")
    total: Count


class ClassMetricsDay(Answer):
    day: Day
    count: Count
    classes: dict[ClassName, ClassScores]


class ClassMetricsDaily(Answer):
    start_date: Day
    end_date: Day
    timezone: str
    names: list[str]
    color_dict: dict[ClassName, str]
    days: list[ClassMetricsDay]


# -- /api/drift ---------------------------------------------------------------------------------------------


class Shift(Answer):
    """A class's share of the predictions in the reference and in the window."""

    class_: ClassName = Field(alias="class")
    reference: Real
    current: Real


class DriftResult(Answer):
    """A feature's drift test on a day, as the logger stored it (null: a release before the field)."""

    algorithm: str | None = Field(description="chi-square, ks or hellinger")
    statistic: Real | None
    p_value: Real | None
    threshold: Real | None = Field(
        description="the p-value or distance threshold of a release before the corrected tests"
    )
    category: Literal["drift", "no_drift", "insufficient_data", "in_reference"] | None
    alpha: Real | None = Field(description="the corrected per-test significance level the day was judged with")
    psi: Real | None = Field(description="the population stability index of the day's window")
    psi_threshold: Real | None = Field(description="the minimum PSI for drift the day was judged with")
    window_days: Count | None = Field(description="how many days the tested window spans")
    shifts: list[Shift] | None = Field(
        description="class features: each class's share in the reference and in the window"
    )


class DriftThresholds(Answer):
    """The drift settings the logger recorded in the ledger with its last tick, or the common defaults."""

    algorithm: Literal["chi-square", "hellinger"]
    p_value: Real
    hellinger_threshold: Real
    min_samples: Count
    source: Source


class DriftDay(Answer):
    day: Day
    count: Count
    features: dict[DriftFeature, DriftResult] = Field(description="empty for a day the logger has not evaluated")
    evaluated_at: Instant | None


class Drift(Answer):
    start_date: Day
    end_date: Day
    timezone: str
    thresholds: DriftThresholds
    days: list[DriftDay]


# -- /api/alerts --------------------------------------------------------------------------------------------


class AlertConfusion(Answer):
    """The class a performance incident's lost predictions mostly went to."""

    class_: ClassName = Field(alias="class")
    count: Count | None
    text: str | None


class Alert(Answer):
    """An incident or a drift notice; a legacy day alert shown as a one-day resolved incident."""

    id: str = Field(
        description="the incident's key, <kind>:<metric>:<class or all>:<day opened>; a legacy alert's <kind>:<day>"
    )
    kind: Literal["performance", "drift", "traffic"] = Field(
        description="performance and traffic incidents make the verdict degraded; drift is a notice"
    )
    metric: str = Field(
        description="performance: accuracy, recall, precision (or f1); drift: predicted_class, true_class, "
        "confidence; traffic: predictions, reviews"
    )
    class_: ClassName | None = Field(alias="class", description="the class name; null for the whole model")
    day: Day = Field(description="the day the incident opened")
    since: Day = Field(description="the estimated onset day (<= day)")
    status: Literal["open", "resolved"]
    resolved_day: Day | None = Field(description="the day it resolved; null while open")
    value: Real | None = Field(description="the metric over since..the last day seen (open) or since..resolved_day")
    reference: Real | None = Field(
        description="the reference level it is compared with (a legacy accuracy alert: its threshold)"
    )
    reference_band: Annotated[list[Real], Field(min_length=2, max_length=2)] | None = Field(
        description="[low, high]: the reference level's 90% band"
    )
    count: Count | None = Field(description="reviewed predictions behind `value`")
    confusion: AlertConfusion | None = Field(
        description="performance only: the class the lost predictions mostly went to"
    )
    shifts: list[Shift] | None = Field(
        description="drift only: the classes whose share moved, largest first (shares of predictions)"
    )
    text: str | None = Field(description="one line for people")
    delivered: bool | None = Field(
        description="the opening message: true: the webhook took it; false: pending; null: no webhook configured"
    )
    created_at: Instant | None
    legacy: bool = Field(description="a day alert of a release before incidents, shown as a one-day resolved incident")
    withdrawn: bool = Field(
        description="resolved because the reviews behind it were corrected: it never degrades the verdict"
    )


class Verdict(Answer):
    state: Literal["healthy", "degraded"]
    since: Day | None = Field(description="the earliest onset among the incidents; null when healthy")
    text: str = Field(
        description='e.g. "Healthy", or "Degraded since Nov 23: green recall 87% → 48% (mostly predicted as '
        'green_point)", naming the most severe incident, "and N more"'
    )
    incidents: list[str] = Field(description="ids of the performance and traffic incidents, most severe first")
    notices: list[str] = Field(description="ids of the drift notices")


class Alerts(Answer):
    start_date: Day
    end_date: Day
    verdict: Verdict
    alerts: list[Alert] = Field(description="open first, then by the day opened, latest first")
    invalid_alerts: Count = Field(
        description="stored alerts left out because they have neither an incident's shape nor a legacy alert's"
    )


# -- the training set, the date range, the original routes ---------------------------------------------------


class TrainingData(Answer):
    class_counts: dict[ClassName, Count]
    configured_counts: dict[ClassName, Count]
    trained_predictions: dict[ClassName, Count]
    color_dict: dict[ClassName, str]


class DateRange(Answer):
    min_date: Day | None
    max_date: Day | None
    today: Day
    timezone: str


class OriginalData(Answer):
    total_validated: Count
    class_counts: dict[ClassName, Count]
    metrics: Scores
    daily_metrics: dict[str, Summary]
    class_metrics: dict[ClassName, OriginalClassScores]
    color_dict: dict[ClassName, str]


class OriginalTrainingData(Answer):
    class_counts: dict[ClassName, Count]
    color_dict: dict[ClassName, str]


class OriginalMinDate(Answer):
    min_date: Day | None


# -- /api/calibration, /api/estimated-performance, /api/traffic ----------------------------------------------


class CalibrationBin(Answer):
    lower: Real
    upper: Real
    count: Count
    mean_confidence: Ratio | None
    accuracy: Ratio | None


class Calibration(Answer):
    start_date: Day
    end_date: Day
    timezone: str
    bins: Annotated[list[CalibrationBin], Field(min_length=10, max_length=10)] = Field(
        description="10 equal-width confidence bins over [0, 1], the last closed"
    )
    ece: Ratio | None = Field(description="expected calibration error; null without predictions with a confidence")
    with_confidence: Count
    without_confidence: Count = Field(description="validated predictions without a confidence (days with bins)")
    days_without_bins: list[Day] = Field(
        description="history days written before the calibration tables: left out until "
        "`clara-logger --reconcile` fills them"
    )
    validated_without_bins: Count
    as_of: Instant | None = Field(description="the logger's last tick: the tail after it is not included")
    source: str


class Estimate(Answer):
    """How many predictions await review, their expected accuracy and its band (null: no predictions)."""

    unreviewed: Count
    estimated_accuracy: Ratio | None
    lower: Ratio | None
    upper: Ratio | None


class EstimatedDay(Answer):
    """A day's unreviewed predictions with their estimate, beside the accuracy realised on the day."""

    day: Day = Field(description="a local day of prediction time")
    unreviewed: Count
    estimated_accuracy: Ratio | None
    lower: Ratio | None
    upper: Ratio | None
    realised_accuracy: Ratio | None = Field(
        description="accuracy of the predictions validated on the day (history, as of as_of)"
    )
    validated: Count


class CalibrationWindow(Answer):
    start_date: Day
    end_date: Day
    days: Count
    validated_with_confidence: Count
    days_without_bins: list[Day]


class EstimatedPerformance(Answer):
    start_date: Day
    end_date: Day
    timezone: str
    days: list[EstimatedDay]
    total: Estimate = Field(
        description="the range's unreviewed predictions together (the band from all of them, not an average "
        "of the days' bands)"
    )
    calibration_window: CalibrationWindow
    band_level: Real
    invalid_unreviewed: Count
    as_of: Instant | None = Field(description="the logger's last tick: the history's validated days")
    unreviewed_as_of: Instant | None = Field(
        description="when the logger's summary of unreviewed predictions was refreshed: predictions made or "
        "reviewed since are not included; null when read from the predictions at the request"
    )
    unreviewed_source: Literal["summary", "predictions"] = Field(
        description="summary: the logger's; predictions: no logger has written one yet"
    )
    source: str


class TrafficDay(Answer):
    day: Day = Field(description="a local day of prediction time")
    predictions: Count = Field(description="the predictions made on the day")
    reviewed: Count = Field(description="those with a verdict now")
    awaiting: Count = Field(description="those without one")
    median_review_hours: Real | None = Field(
        description="the median of timestamp_validated - timestamp over the reviewed ones"
    )
    invalid: Count = Field(description="the day's documents that break the record contract")


class Traffic(Answer):
    start_date: Day
    end_date: Day
    timezone: str
    days: list[TrafficDay]
    as_of: Instant | None = Field(
        description="when the logger's summary was refreshed; null: counted from the predictions"
    )
    source: Literal["summary", "predictions"]


# -- probes and the document --------------------------------------------------------------------------------


class Health(Answer):
    status: Literal["ok"]


class Ready(Answer):
    status: Literal["ready"]


class OpenAPI(Answer):
    """This document (its own schema is OpenAPI 3.1's)."""

    openapi: str
    info: dict[str, Any]
    paths: dict[str, Any]
    components: dict[str, Any]
    security: list[dict[str, list[str]]]


# -- /api/vocabulary ---------------------------------------------------------------------------------------


class Vocabulary(Answer):
    """/api/vocabulary: the values the page shares with the API, each from the one module that holds it."""

    drift_features: list[DriftFeature]
    drift_feature_names: dict[DriftFeature, str]
    drift_share_of: dict[str, str] = Field(description="a feature -> what a class's share of it is a share of")
    default_days: Count
    max_range_days: Count
    first_year: int
    last_year: int
    averages: list[Average]
    low_sample_threshold: Count = Field(description="ALERT_MIN_SAMPLES' default; /api/metrics gives the logger's")
