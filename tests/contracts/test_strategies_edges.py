"""Numbers reach their bounds and shrink to the value nearest zero, in one mapped draw.

``_bounded_integers`` draws a bound in half of the draws and writes the decimal in the same
step; these tests hold that every bound of every numeric parameter comes up, values stay in
range, and draws shrink to the origin (0, or the bound nearest it)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

import openapi
from contracts import check_value
from contracts.strategies._from_schema import _bounded_integers
from contracts.strategies._valid import schema_strategies
from tests._support import SECOND_DOCUMENT

BUNDLED = openapi.load()
SECOND = openapi.load(SECOND_DOCUMENT)

RANGES = [
    pytest.param(0, 1, id="two-values"),
    pytest.param(1, 4, id="small"),
    pytest.param(0, 200, id="hundredths"),
    pytest.param(1, 65536, id="wide"),
    pytest.param(0, 4294967295, id="uint32"),
    pytest.param(-(10**6), 10**6, id="around-zero"),
    pytest.param(-50, -3, id="negative"),
    pytest.param(7, 7, id="one-value"),
]


def _drawn(strategy: st.SearchStrategy[Any], count: int) -> list[Any]:
    drawn: list[Any] = []

    @settings(max_examples=count, database=None, deadline=None)
    @given(strategy)
    def collect(value: Any) -> None:
        drawn.append(value)

    collect()
    return drawn


@pytest.mark.parametrize(("low", "high"), RANGES)
def test_bounded_integers_stay_in_range_and_reach_both_bounds(low: int, high: int) -> None:
    drawn = _drawn(_bounded_integers(low, high), 300)
    assert all(low <= value <= high for value in drawn)
    assert {low, high} <= set(drawn)
    if high - low > 100:
        assert len(set(drawn)) > 50  # the bounds do not crowd out the interior


@pytest.mark.parametrize(("low", "high"), RANGES)
def test_bounded_integers_shrink_to_the_origin(low: int, high: int) -> None:
    assert find(_bounded_integers(low, high), lambda value: True) == min(max(0, low), high)


def _numeric_parameters() -> list[Any]:
    return [
        pytest.param(spec, parameter, id=f"{name}-{parameter.path}")
        for name, spec in (("bundled", BUNDLED), ("second", SECOND))
        for parameter in spec.parameters()
        if parameter.type in ("number", "integer")
        and parameter.minimum is not None
        and parameter.maximum is not None
    ]


@pytest.mark.parametrize(("spec", "parameter"), _numeric_parameters())
def test_every_numeric_parameter_reaches_both_bounds(spec: openapi.Spec, parameter: Any) -> None:
    schema = openapi.thaw(parameter.schema)
    drawn = _drawn(schema_strategies(spec).for_schema(schema), 300)
    assert all(check_value(value, schema=schema) == [] for value in drawn)
    assert {parameter.minimum, parameter.maximum} <= set(drawn)


@pytest.mark.parametrize(
    ("schema", "low", "high"),
    [
        pytest.param({"multipleOf": 0.5, "minimum": 0.3, "maximum": 9}, 1, 9, id="half"),
        pytest.param({"multipleOf": 1.5, "minimum": 1, "maximum": 20}, 3, 18, id="one-and-a-half"),
        pytest.param({"multipleOf": 0.3, "minimum": -7, "maximum": 7}, -6, 6, id="three-tenths"),
        pytest.param({"multipleOf": 2, "minimum": 1, "maximum": 9}, 2, 8, id="even"),
    ],
)
def test_integers_with_a_fractional_step_are_the_integers_among_its_multiples(
    schema: dict[str, Any], low: int, high: int
) -> None:
    schema = {"type": "integer", **schema}
    drawn = _drawn(schema_strategies(BUNDLED).for_schema(schema), 300)
    assert [value for value in drawn if check_value(value, schema=schema)] == []
    assert all(type(value) is int for value in drawn)
    assert {low, high} <= set(drawn)
