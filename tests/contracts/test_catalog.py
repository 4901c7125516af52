"""Checks and strategies with a catalogue: each task judged by the document of its model."""

from __future__ import annotations

import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import openapi
from contracts import check_request, check_response, validate_request
from contracts._engine import engine_for
from contracts.strategies import invalid_request_cases, invalid_requests, requests, responses, tasks
from tests._support import SECOND_DOCUMENT, model_task, variant, write

QWEN, MINIMAX = "alibaba:qwen@3.5-397b", "minimax:m2.7@0"


task = model_task


@pytest.fixture(scope="module")
def catalog() -> openapi.Catalog:
    return openapi.load_catalog(openapi.load(), SECOND_DOCUMENT)


@pytest.fixture(scope="module")
def variants(tmp_path_factory: pytest.TempPathFactory) -> openapi.Catalog:
    """Generated documents: other limits, enums, an extra setting, a batch limit."""
    folder = tmp_path_factory.mktemp("variants")
    write(folder, "cold.openapi.json", variant("acme:cold@1", temperature_max=0.3))
    write(
        folder,
        "async.openapi.json",
        variant("acme:async@1", base="second", delivery_methods=["async", "sync"]),
    )
    write(
        folder, "beam.openapi.json", variant("acme:beam@1", extra_setting="beamWidth", max_tasks=2)
    )
    return openapi.load_catalog(folder)


def test_a_mixed_batch_is_judged_task_by_task(catalog: openapi.Catalog) -> None:
    # 1.8 is within Qwen's temperature limit (2) and over MiniMax's (1.5).
    body = [task(QWEN, settings={"temperature": 1.8}), task(MINIMAX, settings={"temperature": 1.8})]
    (violation,) = check_request(body, spec=catalog)
    assert (violation.task_index, violation.parameter, violation.keyword) == (
        1,
        "settings.temperature",
        "maximum",
    )
    assert "maximum of 1.5" in violation.message
    assert check_request([task(QWEN), task(MINIMAX)], spec=catalog) == []


def test_each_variant_keeps_its_own_limits_enums_and_settings(variants: openapi.Catalog) -> None:
    cases = [
        (task("acme:cold@1", settings={"temperature": 0.5}), "settings.temperature", "maximum"),
        (task("acme:async@1", deliveryMethod="stream"), "deliveryMethod", "enum"),
        (
            task("acme:cold@1", settings={"beamWidth": 3}),
            "settings.beamWidth",
            "additionalProperties",
        ),
        (task("acme:beam@1", settings={"beamWidth": 11}), "settings.beamWidth", "maximum"),
    ]
    for body, parameter, keyword in cases:
        found = [(v.parameter, v.keyword) for v in check_request([body], spec=variants)]
        assert found == [(parameter, keyword)], body
    assert (
        check_request(
            [
                task("acme:beam@1", settings={"beamWidth": 3}),
                task("acme:async@1", deliveryMethod="async"),
            ],
            spec=variants,
        )
        == []
    )


def test_a_body_limit_holds_for_batches_that_use_its_document(variants: openapi.Catalog) -> None:
    three_beams = [task("acme:beam@1") for _ in range(3)]
    (violation,) = check_request(three_beams, spec=variants)
    assert (violation.keyword, violation.parameter, violation.pointer) == ("maxItems", "", "")
    # Without a task of that document its limit does not apply.
    assert check_request([task("acme:cold@1") for _ in range(3)], spec=variants) == []


def test_an_unknown_model_names_the_nearest_ids(catalog: openapi.Catalog) -> None:
    (violation,) = check_request([task("minimax:m2.7@1", settings={"bogus": 1})], spec=catalog)
    assert (violation.code, violation.parameter, violation.keyword, violation.pointer) == (
        "invalidParameter",
        "model",
        "enum",
        "/0/model",
    )
    assert 'Did you mean "minimax:m2.7@0"?' in violation.message
    assert "--spec PATH" in violation.message
    assert violation.to_error()["taskUUID"] == violation.task_uuid
    # Which document's other rules apply is unknown: "bogus" is not reported.


@pytest.mark.parametrize(
    ("model", "code", "keyword"),
    [
        pytest.param(None, "missingParameter", "required", id="missing"),
        pytest.param(7, "invalidParameter", "type", id="not-a-string"),
    ],
)
def test_a_task_without_a_usable_model(
    catalog: openapi.Catalog, model: Any, code: str, keyword: str
) -> None:
    body = task(QWEN)
    if model is None:
        del body["model"]
    else:
        body["model"] = model
    (violation,) = check_request([body], spec=catalog)
    assert (violation.code, violation.keyword, violation.parameter) == (code, keyword, "model")
    assert QWEN in violation.message
    assert MINIMAX in violation.message


def test_tasks_that_name_no_model_are_the_first_documents(catalog: openapi.Catalog) -> None:
    poll = {"taskType": "getResponse", "taskUUID": str(uuid.uuid4())}
    auth = {"taskType": "authentication", "apiKey": "k"}
    assert check_request([auth, poll, {"taskType": "ping", "ping": True}], spec=catalog) == []
    late = check_request([task(MINIMAX), auth], spec=catalog)
    assert [v.keyword for v in late] == ["taskOrder"]
    assert [v.keyword for v in check_request(["not a task"], spec=catalog)] == ["type"]
    assert [v.keyword for v in check_request({"not": "a list"}, spec=catalog)] == ["type"]


def test_raw_json_and_validate_request_take_a_catalogue(catalog: openapi.Catalog) -> None:
    raw = b'[{"taskType": "textInference", "model": "minimax:m2.7@1"}]'
    assert [v.parameter for v in check_request(raw, spec=catalog)] == ["model"]
    with pytest.raises(openapi.KitError) as caught:
        validate_request(raw, spec=catalog)
    assert caught.value.to_response()["errors"][0]["parameter"] == "model"  # type: ignore[attr-defined]


def test_a_catalogue_of_one_is_that_document_exactly(spec: openapi.Spec) -> None:
    body = [{"taskType": "textInference", "model": MINIMAX, "settings": {"temperature": 2.5}}]
    alone = check_request(body, spec=spec)
    assert check_request(body, spec=openapi.Catalog.of(spec)) == alone
    assert alone[0].message == 'model must be "alibaba:qwen@3.5-397b", not "minimax:m2.7@0".'


def test_check_response_takes_a_catalogue(catalog: openapi.Catalog) -> None:
    body = [task(MINIMAX)]
    reply = {
        "data": [
            {
                "taskType": "textInference",
                "taskUUID": body[0]["taskUUID"],
                "text": "Hello.",
                "finishReason": "stop",
                "seed": 1,
                "resultIndex": 0,
            }
        ]
    }
    assert check_response(reply, request=body, spec=catalog) == []


def test_identical_schemas_compile_once(tmp_path: Path) -> None:
    same = openapi.load(
        write(tmp_path, "same.openapi.json", variant("acme:same@1", title="Another title"))
    )
    other = openapi.load(
        write(tmp_path, "other.openapi.json", variant("acme:other@1", temperature_max=0.3))
    )
    qwen, minimax = engine_for(openapi.load()), engine_for(openapi.load(SECOND_DOCUMENT))
    # The supplement's schemas and the authentication task are the same in every document.
    for engine in (minimax, engine_for(same), engine_for(other)):
        assert engine.task_predicates["getResponse"] is qwen.task_predicates["getResponse"]
        assert engine.task_predicates["authentication"] is qwen.task_predicates["authentication"]
        assert engine.protocol["StreamChunk"].function is qwen.protocol["StreamChunk"].function  # type: ignore[attr-defined]
    # A task schema that differs only in its model id is another function; one that differs
    # in a limit too; and documents that differ only in prose share none of the task's.
    assert minimax.task_predicates["textInference"] is not qwen.task_predicates["textInference"]
    assert (
        engine_for(other).task_predicates["textInference"]
        is not engine_for(same).task_predicates["textInference"]
    )
    twin = openapi.load(
        write(tmp_path, "twin.openapi.json", variant("acme:same@1", title="A third title"))
    )
    assert (
        engine_for(twin).task_predicates["textInference"]
        is engine_for(same).task_predicates["textInference"]
    )
    twin_task = engine_for(twin).tasks["textInference"]
    same_task = engine_for(same).tasks["textInference"]
    assert twin_task.function is same_task.function  # type: ignore[attr-defined]


# -- strategies --------------------------------------------------------------------------


def test_tasks_and_requests_draw_every_model(variants: openapi.Catalog) -> None:
    seen: Counter[str] = Counter()
    mixed: Counter[bool] = Counter()

    @settings(
        max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(requests(spec=variants, min_tasks=1, max_tasks=3), tasks(spec=variants))
    def check(body: list[dict[str, Any]], one: dict[str, Any]) -> None:
        assert check_request(body, spec=variants) == []  # acme:beam@1's batch limit too
        assert check_request([one], spec=variants) == []
        seen.update(t["model"] for t in body)
        seen[one["model"]] += 1
        mixed[len({t["model"] for t in body}) > 1] += 1

    check()
    assert set(seen) == set(variants.model_ids)
    assert all(n > 10 for n in seen.values()), seen  # one_of: no model is starved
    assert mixed[True] > 10  # batches mix models


def test_task_overrides_apply_to_every_model(catalog: openapi.Catalog) -> None:
    models: Counter[str] = Counter()

    @settings(
        max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(
        tasks(spec=catalog, deliveryMethod=st.just("stream")),
        tasks(spec=catalog, task_type="getResponse"),
    )
    def check(drawn: dict[str, Any], poll: dict[str, Any]) -> None:
        assert drawn.get("deliveryMethod", "stream") == "stream"
        models[drawn["model"]] += 1
        assert check_request([drawn, poll], spec=catalog) == []

    check()
    assert set(models) == {QWEN, MINIMAX}


def test_invalid_requests_break_one_rule_of_some_model(variants: openapi.Catalog) -> None:
    models: Counter[str] = Counter()

    @settings(
        max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(invalid_requests(spec=variants))
    def check(case: Any) -> None:
        assert check_request(case.payload, spec=variants) == [case.violation]
        if isinstance(case.payload, list):
            models.update(
                t["model"]
                for t in case.payload
                if isinstance(t, dict) and t.get("model") in variants.model_ids
            )

    check()
    assert set(models) == set(variants.model_ids)
    # Every rule's case, from the fixed list: 150 fuzzed draws need not reach the
    # unknown-model rule of each of the ~244 rules the catalogue has.
    unknown = [
        case.violation.message
        for case in invalid_request_cases(spec=variants)
        if case.violation.parameter == "model" and case.violation.keyword == "enum"
    ]
    assert unknown
    assert all("which no loaded document describes" in m for m in unknown)


def test_responses_take_a_catalogue(catalog: openapi.Catalog) -> None:
    @settings(max_examples=20, deadline=None, database=None)
    @given(responses(spec=catalog))
    def check(body: dict[str, Any]) -> None:
        assert check_response(body, spec=catalog) == []

    check()
