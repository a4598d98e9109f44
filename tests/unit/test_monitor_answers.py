"""The OpenAPI document's parameters and answers come from the limits and vocabularies the views check with."""

from __future__ import annotations

import re
from typing import get_args

from clara_common.ledger.drift import FEATURES
from clara_common.metrics import AVERAGES
from clara_monitor import answers, params


def test_the_day_pattern_admits_exactly_the_years_a_request_may_name() -> None:
    admitted = [year for year in range(1000, 3000) if re.match(params.DAY_PATTERN, f"{year}-06-15")]
    assert admitted == list(range(params.FIRST_YEAR, params.LAST_YEAR + 1))


def test_the_year_pattern_of_a_range_within_decades() -> None:
    pattern = re.compile(f"^({params.year_pattern(1995, 2013)})$")
    assert [year for year in range(1900, 2100) if pattern.match(str(year))] == list(range(1995, 2014))


def test_the_averages_declared_are_the_ones_the_views_take() -> None:
    assert get_args(answers.Average) == AVERAGES
    assert get_args(params.RangeAndAverageQuery.model_fields["average"].annotation) == (*AVERAGES, "")


def test_the_drift_features_declared_are_the_ledger_s() -> None:
    assert get_args(answers.DriftFeature) == tuple(FEATURES)


def test_a_number_stays_as_the_view_wrote_it() -> None:
    # An int stays an int, a float a float: the JSON writes 1, not 1.0, as before the models.
    level = answers.ReferenceLevel(value=1, low=0.5, high=None, count=3)
    assert level.model_dump(mode="json") == {"value": 1, "low": 0.5, "high": None, "count": 3}
    assert isinstance(level.model_dump(mode="json")["value"], int)


def test_a_key_that_is_a_python_keyword_keeps_its_json_name() -> None:
    shift = answers.Shift.model_validate({"class": "green", "reference": 0.25, "current": 0.5})
    assert list(shift.model_dump(mode="json")) == ["class", "reference", "current"]
