"""Routing once per request: a batch of one loaded model takes the single-document loop.

``check_request`` gives a request whose tasks all name one loaded model to that document's
loop and routes only the rest task by task (``_check_routed``). These tables hold the two
to one verdict: for every payload, the one ``check_request`` gives is the one the per-task
path gives, and a request of one model's tasks is judged as that document alone judges it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import openapi
from contracts import check_request
from contracts._request import _check_routed
from contracts._routes import routes_for
from tests._support import SECOND_DOCUMENT, model_task, variant, write

QWEN, MINIMAX, BEAM = "alibaba:qwen@3.5-397b", "minimax:m2.7@0", "acme:beam@1"


class Tag(str):
    """A ``str`` subclass: a parsed payload may hold one; the routed path does not take it
    for a model id, and neither may the one-model path."""


class Task(dict[str, Any]):
    """A ``dict`` subclass task (a parsed payload from a caller's own objects)."""


def task(model: Any = QWEN, **changes: Any) -> dict[str, Any]:
    return model_task(model, **changes)


def modelless(**changes: Any) -> dict[str, Any]:
    body = task(**changes)
    del body["model"]
    return body


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> openapi.Catalog:
    """The bundled document first, MiniMax, and a variant with a batch limit of 2."""
    folder = tmp_path_factory.mktemp("routes")
    beam = write(folder, "beam.openapi.json", variant(BEAM, extra_setting="beamWidth", max_tasks=2))
    return openapi.load_catalog(openapi.load(), SECOND_DOCUMENT, beam)


POLL = {"taskType": "getResponse", "taskUUID": "9a3c1f9e-56f3-4b7e-8d2a-0c1b2d3e4f50"}
AUTH = {"taskType": "authentication", "apiKey": "k"}

# (payload, the (task_index, parameter, keyword) of every violation, in order)
CASES = [
    pytest.param([task()], [], id="one-known-model"),
    pytest.param([task(), task()], [], id="two-tasks-one-model"),
    pytest.param([task(MINIMAX)], [], id="not-the-first-document"),
    pytest.param(
        [task(settings={"temperature": 9})],
        [(0, "settings.temperature", "maximum")],
        id="invalid-task-of-one-model",
    ),
    pytest.param(
        [task(MINIMAX, settings={"temperature": 1.8})],
        [(0, "settings.temperature", "maximum")],
        id="its-own-documents-limit",
    ),
    pytest.param(
        [task(), task(MINIMAX, settings={"temperature": 1.8})],
        [(1, "settings.temperature", "maximum")],
        id="mixed-models",
    ),
    pytest.param([task(), task("minimax:m2.7@1")], [(1, "model", "enum")], id="known-then-unknown"),
    pytest.param([task("minimax:m2.7@1")], [(0, "model", "enum")], id="unknown-model"),
    pytest.param([modelless()], [(0, "model", "required")], id="missing-model"),
    pytest.param([task(7)], [(0, "model", "type")], id="model-an-integer"),
    pytest.param([task(None)], [(0, "model", "type")], id="model-null"),
    pytest.param([task([QWEN])], [(0, "model", "type")], id="model-a-list-unhashable"),
    pytest.param([task({"id": QWEN})], [(0, "model", "type")], id="model-an-object"),
    pytest.param([task(Tag(QWEN))], [(0, "model", "enum")], id="model-a-str-subclass"),
    pytest.param([Task(task())], [], id="task-a-dict-subclass"),
    pytest.param([task(), "not a task"], [(1, "", "type")], id="a-task-that-is-no-object"),
    pytest.param([], [], id="empty"),
    pytest.param((task(),), [], id="a-tuple"),
    pytest.param([POLL, task()], [], id="a-task-that-names-no-model"),
    pytest.param([task(), AUTH], [(1, "taskType", "taskOrder")], id="late-authentication"),
    pytest.param(
        [task(), dict(AUTH, model=QWEN)],
        [(1, "taskType", "taskOrder"), (1, "model", "additionalProperties")],
        id="late-authentication-naming-a-model",
    ),
    pytest.param([task(BEAM)] * 2, [], id="at-a-batch-limit"),
    pytest.param([task(BEAM)] * 3, [(None, "", "maxItems")], id="over-a-batch-limit"),
    pytest.param([task(BEAM), task(BEAM), task()], [(None, "", "maxItems")], id="over-it-mixed"),
]


def shape(found: list[Any]) -> list[tuple[Any, str, str]]:
    """What tells the violations apart here: the task, the parameter, the keyword."""
    return [(v.task_index, v.parameter, v.keyword) for v in found]


@pytest.mark.parametrize(("payload", "expected"), CASES)
def test_routing_once_gives_the_per_task_verdict(
    catalog: openapi.Catalog, payload: Any, expected: list[tuple[Any, str, str]]
) -> None:
    found = check_request(payload, spec=catalog, parsed=True)
    assert found == _check_routed(payload, routes_for(catalog))
    assert shape(found) == expected


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param([task(settings={"temperature": 9, "bogus": 1})], id="qwen"),
        pytest.param([task(MINIMAX, deliveryMethod="fax"), task(MINIMAX)], id="minimax"),
        pytest.param([task(BEAM, settings={"beamWidth": 11})] * 3, id="beam-with-its-limit"),
        pytest.param([task(), dict(AUTH, model=QWEN)], id="authentication-naming-it"),
    ],
)
def test_tasks_of_one_model_are_judged_as_its_document_alone(
    catalog: openapi.Catalog, payload: list[dict[str, Any]]
) -> None:
    alone = catalog.for_model(payload[0]["model"])
    assert alone is not None
    assert check_request(payload, spec=catalog) == check_request(payload, spec=alone)


def test_raw_json_takes_the_same_route(catalog: openapi.Catalog) -> None:
    for payload in ([task()], [task(MINIMAX, settings={"temperature": 1.8})], [task(7)]):
        raw = json.dumps(payload).encode()
        assert check_request(raw, spec=catalog) == check_request(payload, spec=catalog)


@pytest.mark.parametrize(
    ("body", "keyword"),
    [
        pytest.param({"not": "a list"}, "type", id="an-object"),
        pytest.param("text", "type", id="a-string"),
        pytest.param(None, "type", id="null"),
    ],
)
def test_a_body_that_is_no_array_is_the_first_documents(
    catalog: openapi.Catalog, body: Any, keyword: str
) -> None:
    found = check_request(body, spec=catalog, parsed=True)
    assert found == check_request(body, spec=catalog.first, parsed=True)
    assert [v.keyword for v in found] == [keyword]


def test_routing_reads_the_table_kept_on_the_catalogue() -> None:
    catalog = openapi.load_catalog(openapi.load(), SECOND_DOCUMENT)
    assert check_request([task(MINIMAX)], spec=catalog) == []
    assert routes_for(catalog) is routes_for(catalog)
