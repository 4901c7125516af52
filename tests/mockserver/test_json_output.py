"""Replies that follow the request: with a document that offers JSON output, a task that asks
for it gets JSON valid under its own ``jsonSchema`` — drawn per seed, streamed as deltas
that add up to it, cut by maxTokens as a model's would be, and refused clearly when the
schema cannot be answered."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import openapi
from contracts import check_request, check_value
from mockserver import MockConfig, create_app
from tests._support import SECOND_DOCUMENT, asgi_client, sse_payloads
from tests.mockserver.conftest import AUTH


def _variant(tmp_path: Path) -> openapi.Spec:
    """The bundled document with a JSON output option, as some Runware models have it."""
    document = openapi.load().to_dict()
    task = document["components"]["schemas"]["RequestBody"]["items"]
    task["properties"]["outputFormat"] = {
        "type": "string",
        "enum": ["TEXT", "JSON"],
        "default": "TEXT",
    }
    task["properties"]["jsonSchema"] = {
        "type": "object",
        "description": "A JSON Schema the output follows.",
    }
    path = tmp_path / "json-output.openapi.json"
    path.write_text(json.dumps(document))
    return openapi.load(path)


@pytest.fixture(scope="module")
def json_spec(tmp_path_factory: pytest.TempPathFactory) -> openapi.Spec:
    return _variant(tmp_path_factory.mktemp("json"))


def _task(spec: openapi.Spec, **changes: Any) -> dict[str, Any]:
    task: dict[str, Any] = {
        "taskType": "textInference",
        "taskUUID": str(uuid.uuid4()),
        "model": spec.model_id,
        "outputFormat": "JSON",
        "messages": [{"role": "user", "content": "Name three rivers."}],
    }
    task.update(changes)
    return task


def _send(
    spec: openapi.Spec, body: list[dict[str, Any]], **config: Any
) -> tuple[httpx.Response, dict[str, Any]]:
    async def go() -> tuple[httpx.Response, dict[str, Any]]:
        app = create_app(spec=spec, config=MockConfig(processing_ms=0, **config))
        async with asgi_client(app) as http:
            reply = await http.post("/v1", json=body, headers=AUTH)
            entry = (await http.get("/__mock/requests")).json()["requests"][-1]
        return reply, entry

    return asyncio.run(go())


# A small meta-schema: object schemas of the kinds structured-output clients send.
_LEAVES = st.one_of(
    st.builds(
        lambda lo, span: {"type": "integer", "minimum": lo, "maximum": lo + span},
        st.integers(-50, 50),
        st.integers(0, 100),
    ),
    st.builds(
        lambda lo, span: {"type": "string", "minLength": lo, "maxLength": lo + span},
        st.integers(0, 5),
        st.integers(0, 30),
    ),
    st.just({"type": "boolean"}),
    st.just({"type": "number"}),
    st.lists(
        st.sampled_from(["red", "green", "blue", "amber"]), min_size=1, max_size=4, unique=True
    ).map(lambda e: {"enum": e}),
    st.just({"type": "string", "format": "date"}),
)
_NODES = st.recursive(
    _LEAVES,
    lambda inner: st.one_of(
        st.builds(
            lambda items, lo: {"type": "array", "items": items, "minItems": lo, "maxItems": lo + 3},
            inner,
            st.integers(0, 2),
        ),
        st.dictionaries(
            st.sampled_from(["name", "city", "count", "tags", "when", "ok"]),
            inner,
            min_size=1,
            max_size=4,
        ).flatmap(
            lambda props: st.builds(
                lambda required: {"type": "object", "properties": props, "required": required},
                st.lists(st.sampled_from(sorted(props)), unique=True),
            )
        ),
    ),
    max_leaves=6,
)
SCHEMAS = _NODES.filter(lambda s: s.get("type") == "object")


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(schema=SCHEMAS, seed=st.integers(0, 2**32 - 1))
def test_every_json_reply_is_valid_under_the_requests_schema(
    json_spec: openapi.Spec, schema: dict[str, Any], seed: int
) -> None:
    task = _task(json_spec, jsonSchema=schema, seed=seed, numberResults=1)
    assert check_request([task], spec=json_spec) == []
    reply, entry = _send(json_spec, [task])
    assert reply.status_code == 200, reply.text
    (item,) = reply.json()["data"]
    value = json.loads(item["text"])
    assert check_value(value, schema=schema) == []
    assert entry["valid"] is True
    again, _ = _send(json_spec, [task])
    assert again.json()["data"][0]["text"] == item["text"]  # deterministic per seed


def test_seeds_and_results_vary_and_strings_read_as_words(json_spec: openapi.Spec) -> None:
    schema = {
        "type": "object",
        "required": ["river", "country"],
        "properties": {
            "river": {"type": "string"},
            "country": {"type": "string"},
            "length_km": {"type": "integer", "minimum": 1, "maximum": 7000},
        },
    }
    texts = set()
    for seed in range(6):
        reply, _ = _send(json_spec, [_task(json_spec, jsonSchema=schema, seed=seed)])
        texts.add(reply.json()["data"][0]["text"])
    assert len(texts) >= 4
    value = json.loads(next(iter(texts)))
    assert all(word.isalpha() for word in value["river"].split())  # words, not noise
    both, _ = _send(json_spec, [_task(json_spec, jsonSchema=schema, seed=1, numberResults=2)])
    first, second = (i["text"] for i in both.json()["data"])
    assert first != second


def test_without_a_schema_any_json_object(second_spec: openapi.Spec) -> None:
    """The second model's document offers outputFormat JSON but no jsonSchema."""
    task = _task(second_spec, seed=3)
    assert check_request([task], spec=second_spec) == []
    reply, _ = _send(second_spec, [task])
    assert isinstance(json.loads(reply.json()["data"][0]["text"]), dict)
    prose, _ = _send(second_spec, [_task(second_spec, outputFormat="TEXT", seed=3)])
    with pytest.raises(json.JSONDecodeError):
        json.loads(prose.json()["data"][0]["text"])


def test_max_tokens_cuts_the_json_as_a_model_would(json_spec: openapi.Spec) -> None:
    schema = {
        "type": "object",
        "required": ["a", "b", "c"],
        "properties": {k: {"type": "string", "minLength": 10} for k in "abc"},
    }
    full, _ = _send(json_spec, [_task(json_spec, jsonSchema=schema, seed=5)])
    cut, _ = _send(
        json_spec, [_task(json_spec, jsonSchema=schema, seed=5, settings={"maxTokens": 4})]
    )
    whole = full.json()["data"][0]
    part = cut.json()["data"][0]
    assert whole["finishReason"] == "stop"
    assert part["finishReason"] == "length"
    assert whole["text"].startswith(part["text"].rstrip())
    with pytest.raises(json.JSONDecodeError):
        json.loads(part["text"])


def test_a_stream_adds_up_to_the_json(json_spec: openapi.Spec) -> None:
    schema = {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}
    sync, _ = _send(json_spec, [_task(json_spec, jsonSchema=schema, seed=9)])
    stream, _ = _send(
        json_spec, [_task(json_spec, jsonSchema=schema, seed=9, deliveryMethod="stream")]
    )
    events = sse_payloads(stream.text)
    text = "".join(
        e["delta"].get("text", "") for e in events if isinstance(e, dict) and "delta" in e
    )
    assert text == sync.json()["data"][0]["text"]
    assert check_value(json.loads(text), schema=schema) == []


UNANSWERABLE = [
    pytest.param(
        {
            "type": "object",
            "properties": {"n": {"type": "integer", "minimum": 5, "maximum": 1}},
            "required": ["n"],
        },
        "cannot be satisfied",
        id="empty-range",
    ),
    pytest.param(
        {
            "type": "object",
            "properties": {"n": {"enum": ["a"], "not": {"enum": ["a"]}}},
            "required": ["n"],
        },
        "cannot be satisfied",
        id="contradiction",
    ),
    pytest.param({"type": 5}, "not a valid JSON Schema", id="not-a-schema"),
    pytest.param(
        {
            "type": "object",
            "properties": {"id": {"type": "string", "pattern": "^[A-Z]{3}$"}},
            "required": ["id"],
        },
        "pattern",
        id="pattern",
    ),
    pytest.param({"$ref": "https://schemas.example.invalid/x.json"}, "$ref", id="remote-ref"),
]


@pytest.mark.parametrize(("schema", "fragment"), UNANSWERABLE)
def test_a_schema_the_mock_cannot_answer_is_a_clear_error(
    json_spec: openapi.Spec, schema: dict[str, Any], fragment: str, network_audit: Any
) -> None:
    task = _task(json_spec, jsonSchema=schema)
    reply, entry = _send(json_spec, [task])
    assert reply.status_code == 400
    (error,) = reply.json()["errors"]
    assert (error["code"], error["parameter"], error["taskUUID"]) == (
        "invalidParameter",
        "jsonSchema",
        task["taskUUID"],
    )
    assert fragment in error["message"]
    assert entry["valid"] is False
    assert network_audit.foreign() == []  # a remote $ref is never fetched


@pytest.mark.parametrize(
    ("scripted", "fits"),
    [
        pytest.param({"name": "Nile"}, True, id="fits"),
        pytest.param({"name": 3}, False, id="does-not-fit"),
    ],
)
def test_a_scripted_json_reply_is_checked_against_the_schema(
    json_spec: openapi.Spec, scripted: dict[str, Any], fits: bool
) -> None:
    schema = {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}

    async def go() -> tuple[httpx.Response, dict[str, Any]]:
        app = create_app(spec=json_spec, config=MockConfig(processing_ms=0))
        app.state.mock.reply(match="rivers", json=scripted)
        async with asgi_client(app) as http:
            reply = await http.post("/v1", json=[_task(json_spec, jsonSchema=schema)], headers=AUTH)
            entry = (await http.get("/__mock/requests")).json()["requests"][-1]
        return reply, entry

    reply, entry = asyncio.run(go())
    assert json.loads(reply.json()["data"][0]["text"]) == scripted  # sent as written
    assert entry["valid"] is fits
    if not fits:
        (violation,) = entry["violations"]
        assert (violation["code"], violation["parameter"]) == (
            "scriptedReplyMismatch",
            "jsonSchema",
        )


def test_a_document_without_the_option_behaves_as_before(spec: openapi.Spec) -> None:
    from mockserver._json_output import json_option

    assert json_option(spec) is None
    assert json_option(openapi.load(SECOND_DOCUMENT)) is not None


def test_through_a_catalogue_each_model_follows_its_own_document(
    spec: openapi.Spec, second_spec: openapi.Spec
) -> None:
    """One mock, two models: the one whose document offers JSON output answers in JSON,
    the other (no such option) in prose, in the same batch."""
    catalog = openapi.load_catalog(spec, second_spec)
    with_json = _task(second_spec, seed=2)
    prose = {**_task(spec, seed=2)}
    del prose["outputFormat"]
    assert check_request([with_json, prose], spec=catalog) == []
    reply, entry = _send(catalog, [with_json, prose])  # type: ignore[arg-type]
    assert reply.status_code == 200, reply.text
    items = {i["taskUUID"]: i["text"] for i in reply.json()["data"]}
    assert isinstance(json.loads(items[with_json["taskUUID"]]), dict)
    with pytest.raises(json.JSONDecodeError):
        json.loads(items[prose["taskUUID"]])
    assert entry["valid"] is True
