"""Properties of the request and reply strategies: generator and validator never disagree."""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

import openapi
from contracts import check_request, check_response
from contracts._schema._equality import json_unique
from contracts._schema._formats import FORMATS
from contracts.strategies import (
    RESPONSE_KINDS,
    InvalidCase,
    invalid_requests,
    requests,
    responses,
    tasks,
)
from contracts.strategies._from_schema import _FORMAT_STRATEGIES, VALID_BY_CONSTRUCTION
from contracts.strategies._invalid import _case, sites
from contracts.strategies._valid import schema_strategies
from tests._support import SECOND_DOCUMENT

BUNDLED = openapi.load()
SECOND = openapi.load(SECOND_DOCUMENT)
SPECS = [pytest.param(BUNDLED, id="bundled"), pytest.param(SECOND, id="second")]


@pytest.mark.parametrize("spec", SPECS)
def test_valid_draws_pass_the_check(spec: openapi.Spec) -> None:
    # The second document's 64-message boundary makes its draws heavy: fewer of them.
    @settings(max_examples=150 if spec is BUNDLED else 60)
    @given(requests(spec=spec, auth=True))
    def check(body: list[dict[str, Any]]) -> None:
        assert check_request(body, spec=spec) == []
        assert check_request(json.dumps(body).encode(), spec=spec) == []
        assert body[0]["taskType"] == "authentication"

    check()


@pytest.mark.parametrize("spec", SPECS)
def test_invalid_draws_break_exactly_their_labelled_rule(spec: openapi.Spec) -> None:
    @settings(max_examples=150)
    @given(invalid_requests(spec=spec))
    def check(case: InvalidCase) -> None:
        found = check_request(case.payload, spec=spec)
        assert [(v.keyword, v.pointer) for v in found] == [
            (case.violation.keyword, case.violation.pointer)
        ]
        json.dumps(case.payload)  # sendable over HTTP

    check()


@pytest.mark.parametrize("spec", SPECS)
def test_every_rule_of_the_document_is_reachable(spec: openapi.Spec) -> None:
    catalogue = sites(spec)
    keywords_in_document = _keywords(spec.task_schema(spec.inference_task_type), spec)
    assert {site.keyword for site in catalogue} >= keywords_in_document - {"properties", "items"}
    for index, site in enumerate([*catalogue, None]):
        case = _reach(spec, -1 if site is None else index)
        expected = "" if site is None else "/" + "/".join(str(p) for p in (0, *site.path))
        assert (case.violation.keyword, case.violation.pointer.replace("/1/", "/0/", 1)) == (
            "type" if site is None else site.keyword,
            expected,
        ), site


def _reach(spec: openapi.Spec, only: int) -> InvalidCase:
    """The first case that breaks site ``only`` (no shrinking: reaching it is the point)."""
    found: list[InvalidCase] = []

    @settings(
        max_examples=1,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(_case(spec, only=only).filter(lambda c: c is not None))
    def reach(case: InvalidCase) -> None:
        found.append(case)

    reach()
    return found[0]


def _keywords(schema: Any, spec: openapi.Spec) -> set[str]:
    """Every validation keyword used in a schema, $refs followed. Keywords inside anyOf/oneOf
    branches are broken as a whole ("no branch matches"), so branches are not entered."""
    found: set[str] = set()
    resolver = spec.registry.resolver(base_uri=spec.document_uri)

    def walk(node: Any) -> None:
        if isinstance(node, dict | type(spec.document)):
            if "$ref" in node:
                walk(resolver.lookup(node["$ref"]).contents)
            for key, value in node.items():
                if key in ("title", "description", "default", "$ref"):
                    continue
                if key in ("anyOf", "oneOf"):
                    found.add(key)
                    continue
                if key != "properties":
                    found.add(key)
                if key == "properties":
                    for sub in value.values():
                        walk(sub)
                elif isinstance(value, dict | type(spec.document)):
                    walk(value)
                elif isinstance(value, tuple | list):
                    for item in value:
                        walk(item)

    walk(schema)
    return found & {
        "type",
        "const",
        "enum",
        "oneOf",
        "anyOf",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minLength",
        "maxLength",
        "pattern",
        "format",
        "minItems",
        "maxItems",
        "uniqueItems",
        "required",
        "additionalProperties",
    }


@pytest.mark.parametrize("fmt", sorted(VALID_BY_CONSTRUCTION))
def test_formats_drawn_without_a_recheck_are_valid(fmt: str) -> None:
    # A schema of only a format takes these strategies unfiltered: each value must pass.
    @settings(max_examples=300, database=None, deadline=None)
    @given(_FORMAT_STRATEGIES[fmt])
    def check(value: str) -> None:
        assert FORMATS[fmt](value), value

    check()


def test_multiple_of_values_are_exact_decimals() -> None:
    seen: list[float] = []

    @settings(max_examples=300)
    @given(tasks())
    def check(task: dict[str, Any]) -> None:
        for name, value in task.get("settings", {}).items():
            step = BUNDLED.parameter(f"settings.{name}").multiple_of
            if step == 0.01:
                seen.append(value)
                assert len(repr(float(value)).split(".")[-1]) <= 2, value

    check()
    assert any(v not in (0, 1, 2) for v in seen)


def _statistics(strategy: st.SearchStrategy[Any], count: int) -> list[Any]:
    drawn: list[Any] = []

    @settings(max_examples=count, database=None)
    @given(strategy)
    def collect(value: Any) -> None:
        drawn.append(value)

    collect()
    return drawn


def test_optional_parameters_appear_and_disappear_in_balance() -> None:
    drawn = _statistics(tasks(), 400)
    counts = Counter(key for task in drawn for key in task)
    required = set(BUNDLED.task_schema("textInference")["required"])
    for name in BUNDLED.task_schema("textInference")["properties"]:
        share = counts[name] / len(drawn)
        if name in required:
            assert share == 1
        else:
            assert 0.15 < share < 0.85, (name, share)


def test_boundaries_are_reached() -> None:
    drawn = _statistics(tasks(), 400)
    temperatures = {
        t["settings"]["temperature"] for t in drawn if "temperature" in t.get("settings", {})
    }
    assert {0, 2} <= {float(v) for v in temperatures}
    assert any(len(t["messages"]) == 1 for t in drawn)
    prompts = [
        t["settings"]["systemPrompt"] for t in drawn if "systemPrompt" in t.get("settings", {})
    ]
    assert any(len(p) == BUNDLED.parameter("settings.systemPrompt").max_length for p in prompts)
    seeds = {t["seed"] for t in drawn if "seed" in t}
    assert {0, 4294967295} <= seeds


def test_draws_shrink_to_minimal_payloads() -> None:
    smallest = find(tasks(), lambda t: "settings" in t and "temperature" in t["settings"])
    assert smallest["settings"] == {"temperature": 0}
    assert set(smallest) == {"taskType", "taskUUID", "model", "messages", "settings"}
    assert len(smallest["messages"]) == 1
    assert len(smallest["messages"][0]["content"]) == 1


def test_overrides_pin_parameters() -> None:
    pinned = [{"role": "user", "content": "Hi"}]
    for task in _statistics(tasks(messages=st.just(pinned)), 30):
        assert task["messages"] == pinned
        assert check_request([task]) == []


BAD_ARGUMENTS = [
    pytest.param(lambda: tasks(bogus=st.just(1)), "bogus", id="unknown-parameter"),
    pytest.param(
        lambda: tasks(messages=[{"role": "user"}]),  # type: ignore[arg-type]
        "st.just",
        id="not-a-strategy",
    ),
    pytest.param(
        lambda: tasks(task_type="imageInference"), "imageInference", id="unknown-task-type"
    ),
    pytest.param(
        lambda: tasks(spec="spec.json"),  # type: ignore[arg-type]
        "openapi.Spec",
        id="spec-not-a-spec",
    ),
    pytest.param(lambda: requests(min_tasks=3, max_tasks=1), "min_tasks=3", id="min-over-max"),
    pytest.param(lambda: requests(max_tasks=-1), "max_tasks=-1", id="negative"),
    pytest.param(lambda: responses(kind="nope"), "kind='nope'", id="unknown-reply-kind"),
]


@pytest.mark.parametrize(("build", "named"), BAD_ARGUMENTS)
def test_bad_arguments_fail_at_draw_time_naming_the_argument(build: Any, named: str) -> None:
    strategy = build()  # building never raises: a bad strategy fails its test, not collection

    @settings(max_examples=1, database=None)
    @given(strategy)
    def draw(value: Any) -> None:
        pass

    with pytest.raises(InvalidArgument, match=named.replace(".", r"\.").replace("(", r"\(")):
        draw()


def test_strategy_repr_shows_how_it_was_built() -> None:
    assert repr(tasks(task_type="textInference")) == "tasks(task_type='textInference')"
    assert "max_tasks=2" in repr(requests(max_tasks=2))


@pytest.mark.parametrize("kind", sorted(RESPONSE_KINDS))
def test_replies_pass_the_response_check(kind: str) -> None:
    @settings(max_examples=60)
    @given(responses(kind=kind))
    def check(body: dict[str, Any]) -> None:
        assert check_response(body) == []

    check()


def test_result_replies_cover_what_clients_must_parse() -> None:
    items = [item for body in _statistics(responses(kind="result"), 300) for item in body["data"]]
    assert any(len(item["text"]) > 1000 for item in items)
    assert any(item["finishReason"] == "length" for item in items)
    assert any("usage" not in item for item in items)
    assert any("reasoningContent" in item for item in items)
    assert all(item["taskType"] == "textInference" for item in items)


@pytest.mark.parametrize(
    ("schema", "step"),
    [
        pytest.param(
            {"type": "number", "minimum": 0, "multipleOf": 0.01}, "0.01", id="min-0-step-0.01"
        ),
        pytest.param({"type": "number", "minimum": 1, "multipleOf": 2}, "2", id="min-1-step-2"),
        pytest.param(
            {"type": "number", "minimum": 0.1, "multipleOf": 0.2}, "0.2", id="min-0.1-step-0.2"
        ),
        pytest.param(
            {"type": "integer", "minimum": 3, "multipleOf": 4}, "4", id="integer-min-3-step-4"
        ),
        pytest.param(
            {"type": "number", "exclusiveMinimum": 0.5, "multipleOf": 0.25},
            "0.25",
            id="exclusive-min-on-a-multiple",
        ),
    ],
)
def test_not_multiple_values_break_only_multiple_of(schema: dict[str, Any], step: str) -> None:
    from contracts.strategies._invalid import _not_multiple

    value = _not_multiple(schema)
    written = Decimal(repr(value))
    assert written % Decimal(step) != 0, value
    low = Decimal(str(schema.get("minimum", schema.get("exclusiveMinimum"))))
    assert written > low if "exclusiveMinimum" in schema else written >= low
    assert isinstance(value, int) == (schema["type"] == "integer")


def test_unique_arrays_are_unique_by_the_validators_equality() -> None:
    # 1 and 1.0 are the same JSON number: a uniqueItems array may hold only one of them.
    builder = schema_strategies(BUNDLED)
    schema = {
        "type": "array",
        "items": {"enum": [1, 1.0, 2, 2.0, "1"]},
        "uniqueItems": True,
        "minItems": 2,
    }
    strategy = builder.for_schema(schema)
    drawn = _statistics(strategy, 200)
    assert drawn
    for array in drawn:
        assert json_unique(array), array
        assert builder.predicate(schema, builder._resolver)(array)
