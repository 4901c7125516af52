"""Simple anchored patterns are drawn from one text draw per repeated set, and still match.

``simple_pattern`` reads a pattern by ECMA-262's rules and builds its strings directly, with
no re-check. So every string it draws must match under ECMA-262 (``regress``, as the
validator does) and pass the kit's own check; a pattern outside its subset must be left to
``from_regex`` (``None``); and the strategies of a schema that asks for more than the
pattern must still honour the rest.
"""

from __future__ import annotations

from typing import Any

import pytest
import regress
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import openapi
from contracts import check_value
from contracts.strategies._patterns import simple_pattern
from contracts.strategies._valid import schema_strategies
from tests._support import SECOND_DOCUMENT

SIMPLE = [
    pytest.param(r"^[a-zA-Z0-9+/=]+$", id="base64"),
    pytest.param(r"^data:image\/[a-zA-Z]+;base64,[a-zA-Z0-9+/=]+$", id="data-uri"),
    pytest.param(r"^abc$", id="literal"),
    pytest.param(r"^$", id="empty"),
    pytest.param(r"^a*$", id="star"),
    pytest.param(r"^a?b{2}c{1,3}d{2,}$", id="every-quantifier"),
    pytest.param(r"^[a-c]+?x*?$", id="lazy"),
    pytest.param(r"^\d{3}-\d{4}$", id="digits"),
    pytest.param(r"^\w+$", id="word"),
    pytest.param(r"^[-a]+[a-]+$", id="dash-at-the-edges"),
    pytest.param(r"^[\]\[\\\-]+$", id="escaped-in-set"),
    pytest.param(r"^\$\^\.\*\+\?\(\)\{\}\|$", id="escaped-syntax"),
    pytest.param(r"^🐲*é+$", id="beyond-ascii"),
    pytest.param(r"^[\d_]{2,5}$", id="class-escape-in-set"),
    pytest.param(r"^x{0}y$", id="zero-times"),
]

# Outside the subset: from_regex (with its filters) draws these instead.
LEFT_TO_FROM_REGEX = [
    pytest.param(r"[a-z]+", id="unanchored"),
    pytest.param(r"^[a-z]+", id="no-end-anchor"),
    pytest.param(r"[a-z]+$", id="no-start-anchor"),
    pytest.param(r"^a\$", id="escaped-dollar-is-no-anchor"),
    pytest.param(r"^(ab)+$", id="group"),
    pytest.param(r"^a|b$", id="alternation"),
    pytest.param(r"^.+$", id="dot"),
    pytest.param(r"^[^a]+$", id="negated-set"),
    pytest.param(r"^\s$", id="space-class"),
    pytest.param(r"^\p{Letter}+$", id="property-escape"),
    pytest.param(r"^\t$", id="control-escape"),
    pytest.param(r"^\D$", id="negated-class"),
    pytest.param(r"^[z-a]$", id="empty-range"),
    pytest.param(r"^[\d-z]$", id="class-escape-as-a-bound"),
    pytest.param(r"^a{2,1}$", id="backwards-bounds"),
    pytest.param(r"^a{,3}$", id="no-lower-bound"),
    pytest.param(r"^a{x}$", id="brace-not-a-quantifier"),
    pytest.param(r"^a**$", id="quantified-quantifier"),
    pytest.param(r"^[ab$", id="unclosed-set"),
    pytest.param(r"^[]$", id="empty-set"),
    pytest.param(r"^a$b$", id="anchor-inside"),
    pytest.param("^a\\", id="trailing-backslash"),
    pytest.param(r"^[\b]$", id="backspace-escape-in-set"),
    pytest.param("^a{\u0661}$", id="arabic-indic-digit-count"),
    pytest.param("^a{\u00b2}$", id="superscript-digit-count"),
    pytest.param("^a{1,\u00b2}$", id="superscript-digit-upper-count"),
    pytest.param(r"^a{99999999999999999999}$", id="count-past-any-int"),
    pytest.param(r"^a{4294967296}$", id="count-of-gigabytes"),
    pytest.param("^[\ud7ff-\ue000]+$", id="range-across-surrogates"),
    pytest.param("^\ud800$", id="lone-surrogate-literal"),
    pytest.param("^[\x00-\U0010ffff]+$", id="every-code-point"),
]


def _drawn(strategy: st.SearchStrategy[str]) -> list[str]:
    drawn: list[str] = []

    @settings(max_examples=150, database=None, deadline=None)
    @given(strategy)
    def collect(value: str) -> None:
        drawn.append(value)

    collect()
    return drawn


@pytest.mark.parametrize("pattern", SIMPLE)
def test_simple_patterns_draw_only_matching_strings(pattern: str) -> None:
    strategy = simple_pattern(pattern)
    assert strategy is not None
    ecma = regress.Regex(pattern, "u")
    drawn = _drawn(strategy)
    assert drawn
    assert [s for s in drawn if ecma.find(s) is None] == []
    assert [s for s in drawn if check_value(s, schema={"pattern": pattern})] == []


@pytest.mark.parametrize("pattern", LEFT_TO_FROM_REGEX)
def test_other_patterns_are_left_to_from_regex(pattern: str) -> None:
    assert simple_pattern(pattern) is None


def test_a_bounded_repetition_reaches_both_its_bounds_and_every_character() -> None:
    drawn = _drawn(simple_pattern(r"^x[abc]{2,6}$"))  # type: ignore[arg-type]
    assert {2, 6} <= {len(s) - 1 for s in drawn} <= set(range(2, 7))
    assert set("".join(s[1:] for s in drawn)) == set("abc")


@pytest.mark.parametrize(
    "schema",
    [
        pytest.param({"type": "string", "pattern": r"^[a-z]+$", "maxLength": 3}, id="maxLength"),
        pytest.param({"type": "string", "pattern": r"^[a-z]+$", "minLength": 30}, id="minLength"),
        pytest.param(
            {"type": "string", "pattern": r"^x[a-z]{2,40}y*$", "minLength": 45, "maxLength": 50},
            id="both-lengths-across-pieces",
        ),
        pytest.param(
            {"type": "string", "pattern": r"^ab[0-9]*$", "maxLength": 2}, id="only-the-literal-fits"
        ),
        pytest.param(
            {"type": "string", "pattern": r"^[a-z]+$", "not": {"const": "a"}}, id="not-const"
        ),
    ],
)
def test_the_rest_of_a_schema_still_holds(schema: dict[str, Any]) -> None:
    strategy = schema_strategies(openapi.load()).for_schema(schema)
    drawn = _drawn(strategy)
    assert drawn
    assert [s for s in drawn if check_value(s, schema=schema)] == []


def test_every_pattern_of_both_documents_is_drawn_without_a_recheck() -> None:
    patterns = {
        pattern
        for spec in (openapi.load(), openapi.load(SECOND_DOCUMENT))
        for pattern in _patterns(openapi.thaw(spec.document))
    }
    assert patterns, "the bundled document's image inputs have patterns"
    assert sorted(p for p in patterns if simple_pattern(p) is None) == []


def _patterns(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["pattern"]] if isinstance(node.get("pattern"), str) else []
        return found + [p for value in node.values() for p in _patterns(value)]
    if isinstance(node, list):
        return [p for value in node for p in _patterns(value)]
    return []


_SET_ITEMS = st.one_of(
    st.sampled_from(list("abz09-_/é🐲")),
    st.sampled_from(
        ["a-z", "0-9", "A-F", "-a", "a-", "\\-", "\\]", "\\\\", "\\d", "\\w", "\\b", "^"]
    ),
)
_ATOMS = st.one_of(
    st.sampled_from(list("abz09-_/:;,é🐲 ")),
    st.sampled_from(["\\" + c for c in "^$\\.*+?()[]{}|/-dwsbn1"]),
    st.builds(lambda items: "[" + "".join(items) + "]", st.lists(_SET_ITEMS, max_size=4)),
    st.sampled_from(list("^$.()|{}[]\\")),  # unescaped syntax: mostly refused
)
_QUANTIFIERS = st.sampled_from(
    ["", "", "*", "+", "?", "{2}", "{0,3}", "{1,}", "{01}", "{ 1}", "{3,1}", "{1,2,3}", "+?", "**"]
)
_PATTERNS = st.builds(
    lambda pieces, end: "^" + "".join(a + q for a, q in pieces) + end,
    st.lists(st.tuples(_ATOMS, _QUANTIFIERS), max_size=5),
    st.sampled_from(["$", "$", "", "\\$"]),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pattern=_PATTERNS, data=st.data())
def test_an_accepted_pattern_is_valid_ecma_and_every_draw_matches(pattern: str, data: Any) -> None:
    strategy = simple_pattern(pattern)
    if strategy is None:
        return  # left to from_regex, whose draws the kit re-checks
    ecma = regress.Regex(pattern, "u")  # raises if the reader accepted an invalid pattern
    for _ in range(5):
        drawn = data.draw(strategy)
        assert ecma.find(drawn) is not None, (pattern, drawn)


def test_a_pattern_only_schema_is_drawn_without_a_filter() -> None:
    build = schema_strategies(openapi.load()).for_schema
    assert "filter" not in repr(build({"type": "string", "pattern": r"^[a-z]+$"}))
    assert "filter" in repr(build({"type": "string", "pattern": r"^[a-z]+$", "maxLength": 3}))
    assert "filter" in repr(build({"type": "string", "pattern": r"^(a|b)$"}))
