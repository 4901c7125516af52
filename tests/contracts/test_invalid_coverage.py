"""Every rule of a document comes early: the coverage phase of ``invalid_requests()``.

The rules are read from each document here, keyword by keyword, not from the strategy's own
catalogue, so a rule the strategy forgot is a failure. Both model documents, several seeds.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis.errors import InvalidArgument
from hypothesis.vendor.pretty import pretty

import openapi
from contracts import check_request
from contracts._schema._formats import FORMATS
from contracts.strategies import InvalidCase, invalid_request_cases, invalid_requests
from contracts.strategies._invalid import _fixed_case, sites
from tests._support import SECOND_DOCUMENT, document, task_schema

BUNDLED = openapi.load()
SECOND = openapi.load(SECOND_DOCUMENT)
SPECS = [pytest.param(BUNDLED, id="bundled"), pytest.param(SECOND, id="second")]
SEEDS = [0, 1, 2]

Rule = tuple[str, str]  # (keyword, pointer in a one-task body)


def document_rules(spec: openapi.Spec) -> set[Rule]:
    """Every breakable rule of the inference task schema: each validation keyword at each
    place it applies, and the body's own type. Keywords inside an anyOf/oneOf branch are
    broken as "no branch matches"; limits nothing can break (``minLength: 0``,
    ``multipleOf: 1`` on integers) are not rules."""
    resolver = spec.registry.resolver(base_uri=spec.document_uri)
    rules: set[Rule] = {("type", "")}

    def walk(schema: Any, pointer: str) -> None:
        while "$ref" in schema:
            schema = resolver.lookup(schema["$ref"]).contents
        for keyword, value in schema.items():
            if breakable(keyword, value, schema):
                rules.add((keyword, pointer))
            if keyword == "required":
                rules.update(("required", f"{pointer}/{name}") for name in value)
            elif keyword == "additionalProperties" and value is False:
                rules.add((keyword, f"{pointer}/unexpectedParameter"))
        for name, sub in (schema.get("properties") or {}).items():
            walk(sub, f"{pointer}/{name}")
        if isinstance(schema.get("items"), dict | type(spec.document)):
            walk(schema["items"], f"{pointer}/0")

    walk(spec.task_schema(spec.inference_task_type), "/0")
    return rules


def breakable(keyword: str, value: Any, schema: Any) -> bool:
    branched = "anyOf" in schema or "oneOf" in schema
    if keyword in ("type", "const", "enum", "anyOf", "oneOf", "maxItems"):
        return True
    if keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        return True
    if keyword in ("pattern", "maxLength"):
        return not branched
    if keyword == "format":  # an unknown format is an annotation
        return value in FORMATS and not branched
    if keyword == "minLength":
        return int(value) > 0 and not branched
    if keyword == "minItems":
        return int(value) > 0
    if keyword == "multipleOf":
        return not (schema.get("type") == "integer" and value == 1)
    return keyword == "uniqueItems" and value is True


def rule_of(case: InvalidCase) -> Rule:
    """The case's rule, at task 0 of the body (a fuzzed case may break the second task)."""
    head, _, rest = case.violation.pointer.removeprefix("/").partition("/")
    if not head:
        return (case.violation.keyword, "")
    return (case.violation.keyword, "/0" + (f"/{rest}" if rest else ""))


def assert_breaks_exactly_its_rule(case: InvalidCase, spec: Any) -> None:
    found = check_request(case.payload, spec=spec)
    assert [(v.keyword, v.pointer) for v in found] == [
        (case.violation.keyword, case.violation.pointer)
    ], case


@pytest.mark.parametrize("spec", SPECS)
def test_the_rules_read_here_are_a_few_hundred_at_most(spec: openapi.Spec) -> None:
    rules = document_rules(spec)
    assert 20 < len(rules) < 300
    assert {keyword for keyword, _ in rules} >= {"required", "maxLength", "type", "enum"}


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("run", SEEDS)
def test_every_rule_is_drawn_within_twice_as_many_examples(spec: openapi.Spec, run: int) -> None:
    rules = document_rules(spec)
    drawn: list[Rule] = []

    @seed(run)
    @settings(
        max_examples=2 * len(rules),
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(invalid_requests(spec=spec))
    def collect(case: InvalidCase) -> None:
        assert_breaks_exactly_its_rule(case, spec)
        drawn.append(rule_of(case))

    collect()
    assert len(drawn) == 2 * len(rules)  # Hypothesis ran them all
    assert set(drawn) == rules, sorted(rules - set(drawn))


def test_a_catalogue_draws_every_rule_of_every_model() -> None:
    catalog = openapi.load_catalog(BUNDLED, SECOND)
    # A rule of the model or of the task itself leaves no model in the body to tell whose
    # rule it is: those count once. A model no document fixes breaks the catalogue's rule
    # (its model ids: "enum"), not a document's "const".
    wanted = {
        (None, ("enum", "/0/model") if rule == ("const", "/0/model") else rule)
        if rule[1] in ("/0", "/0/model")
        else (spec.model_id, rule)
        for spec in catalog.specs
        for rule in document_rules(spec)
    }
    drawn: set[tuple[str | None, Rule]] = set()

    @seed(0)
    @settings(max_examples=2 * len(wanted), database=None, deadline=None)
    @given(invalid_requests(spec=catalog))
    def collect(case: InvalidCase) -> None:
        assert_breaks_exactly_its_rule(case, catalog)
        drawn.add((_model_of(case, catalog), rule_of(case)))

    collect()
    assert drawn >= wanted, sorted(wanted - drawn, key=str)


def _model_of(case: InvalidCase, catalog: openapi.Catalog) -> str | None:
    tasks = case.payload if isinstance(case.payload, list) else [case.payload]
    for one in tasks:
        if isinstance(one, dict) and one.get("model") in catalog.model_ids:
            return str(one["model"])
    return None


@pytest.mark.parametrize("spec", SPECS)
def test_invalid_request_cases_list_one_case_per_rule(spec: openapi.Spec) -> None:
    cases = invalid_request_cases(spec=spec)
    rules = [rule_of(case) for case in cases]
    assert len(rules) == len(set(rules))
    assert set(rules) == document_rules(spec)
    assert rules[0] == ("type", "")  # the body first, then the task's rules
    for case in cases:
        assert_breaks_exactly_its_rule(case, spec)
        json.dumps(case.payload)  # sendable


@pytest.mark.parametrize("spec", SPECS)
def test_each_case_is_the_simplest_task_with_its_rule_broken(spec: openapi.Spec) -> None:
    schema = spec.task_schema(spec.inference_task_type)
    required = set(schema["required"])
    for case in invalid_request_cases(spec=spec)[1:]:
        (task,) = case.payload
        if not isinstance(task, dict):
            continue  # the task that is not an object
        parameter = case.violation.pointer.split("/")[2]
        assert set(task) <= required | {parameter}, case
        # The limits themselves, however long: a 262,144-character maxLength gets 262,145.
        limit = case.violation.keyword
        if limit in ("maxLength", "maxItems"):
            broken = _at(task, case.violation.pointer.split("/")[2:])
            assert len(broken) == _limit(spec, case.violation.pointer, limit) + 1


def _at(value: Any, path: list[str]) -> Any:
    for step in path:
        value = value[int(step)] if isinstance(value, list) else value[step]
    return value


def _limit(spec: openapi.Spec, pointer: str, keyword: str) -> int:
    resolver = spec.registry.resolver(base_uri=spec.document_uri)
    schema: Any = spec.task_schema(spec.inference_task_type)
    for step in pointer.split("/")[2:]:
        while "$ref" in schema:
            schema = resolver.lookup(schema["$ref"]).contents
        schema = schema["items"] if step.isdigit() else schema["properties"][step]
    while "$ref" in schema:
        schema = resolver.lookup(schema["$ref"]).contents
    return int(schema[keyword])


@pytest.mark.parametrize("spec", SPECS)
def test_invalid_request_cases_are_the_same_every_call_and_fresh(spec: openapi.Spec) -> None:
    first = invalid_request_cases(spec=spec)
    first[1].payload.append("changed")  # the caller's to change
    again = invalid_request_cases(spec=spec)
    assert [c.violation for c in again] == [c.violation for c in first]
    assert [c.payload for c in again[2:]] == [c.payload for c in first[2:]]
    assert again[1].payload != first[1].payload


def test_a_rule_the_simplest_task_cannot_carry_is_drawn_instead() -> None:
    """Images that must be data URIs, and inputs that must have some: no short word is
    one, so the rules inside ``inputs`` have no fixed case. Each is drawn instead (the same
    case every run), and still breaks only its rule."""
    doc = document("bundled")
    inputs = task_schema(doc)["properties"]["inputs"]
    inputs["required"] = ["images"]
    images = inputs["properties"]["images"]["items"]
    del images["anyOf"]
    images["pattern"] = "^data:image/png;base64,[A-Za-z0-9+/=]+$"
    spec = openapi.load(doc)
    unfixed = {sites(spec)[i].label for i in range(len(sites(spec))) if not _fixed(spec, i)}
    assert unfixed
    assert all(label.split("@")[1].startswith("/inputs") for label in unfixed), unfixed
    cases = invalid_request_cases(spec=spec)
    assert {rule_of(case) for case in cases} == document_rules(spec)
    for case in cases:
        assert_breaks_exactly_its_rule(case, spec)
    assert [c.payload for c in invalid_request_cases(spec=spec)] == [c.payload for c in cases]

    @settings(max_examples=30, database=None, deadline=None)
    @given(invalid_requests(spec=spec))
    def drawn(case: InvalidCase) -> None:
        assert_breaks_exactly_its_rule(case, spec)

    drawn()


def _fixed(spec: openapi.Spec, index: int) -> bool:
    return _fixed_case(spec, index, None) is not None


def test_a_long_payload_is_abridged_in_the_repr() -> None:
    """Hypothesis prints a failing example's repr: the 262,145-character string is cut."""
    limit = BUNDLED.parameter("settings.systemPrompt").max_length
    assert limit is not None
    (case,) = [c for c in invalid_request_cases(spec=BUNDLED) if c.violation.keyword == "maxLength"]
    text = repr(case)
    assert len(text) < 1000
    assert f"<{limit + 1:,} characters>" in text
    assert text.startswith("InvalidCase(maxLength at /0/settings/systemPrompt: payload=[{")
    assert pretty(case) == text  # Hypothesis' printer, for a falsifying example


def test_a_bad_spec_names_the_argument() -> None:
    with pytest.raises(InvalidArgument, match=r"spec='spec\.json' must be an openapi\.Spec"):
        invalid_request_cases(spec="spec.json")  # type: ignore[arg-type]


# A bound that is no multiple of the step: one step past it would break multipleOf too.
OFF_STEP_BOUNDS = [
    pytest.param({"maximum": 1, "multipleOf": 0.3}, "maximum", id="maximum"),
    pytest.param({"minimum": 0.1, "multipleOf": 0.3}, "minimum", id="minimum"),
    pytest.param(
        {"minimum": 0, "exclusiveMaximum": 1, "multipleOf": 0.3},
        "exclusiveMaximum",
        id="exclusive-maximum",
    ),
    pytest.param(
        {"exclusiveMinimum": 0.1, "maximum": 2, "multipleOf": 0.3},
        "exclusiveMinimum",
        id="exclusive-minimum",
    ),
]


@pytest.mark.parametrize(("bounds", "keyword"), OFF_STEP_BOUNDS)
def test_a_bound_off_the_step_is_broken_alone(bounds: dict[str, Any], keyword: str) -> None:
    doc = document("bundled")
    temperature = task_schema(doc)["properties"]["settings"]["properties"]["temperature"]
    for old in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        temperature.pop(old, None)
    temperature.update(bounds)
    cases = [
        case
        for case in invalid_request_cases(spec=openapi.load(doc))
        if case.violation.pointer == "/0/settings/temperature"
    ]
    assert keyword in {case.violation.keyword for case in cases}
    for case in cases:
        assert check_request(case.payload, spec=openapi.load(doc)) == [case.violation]
