"""The public names other packages use instead of reaching into contracts' private modules,
and the compiler's scopes, told apart without referencing's private fields."""

from __future__ import annotations

from typing import Any

import pytest
from referencing import Registry
from referencing.jsonschema import DRAFT202012

import contracts
import openapi
from contracts._engine import ENGINE_KEY
from contracts._schema._compile import SchemaCompiler


def test_precompile_compiles_every_document_of_a_catalogue() -> None:
    catalog = openapi.load_catalog(openapi.load(openapi.thaw(openapi.load().document)))
    (spec,) = catalog
    assert ENGINE_KEY not in spec.memo
    contracts.precompile(catalog)
    assert ENGINE_KEY in spec.memo
    engine = spec.memo[ENGINE_KEY]
    contracts.precompile(spec)  # once compiled, kept
    assert spec.memo[ENGINE_KEY] is engine


@pytest.mark.parametrize(
    ("item", "shape"),
    [
        pytest.param({"taskType": "authentication", "connectionSessionUUID": "s"},
                     "AuthenticationReply", id="authentication"),
        pytest.param({"taskType": "ping", "pong": True}, "PingReply", id="ping"),
        pytest.param({"taskType": "textInference", "taskUUID": "u", "delta": {}}, "StreamChunk",
                     id="chunk"),
        pytest.param({"taskType": "textInference", "taskUUID": "u", "status": "success"},
                     "GetResponseItem", id="poll-item"),
        pytest.param({"taskType": "textInference", "taskUUID": "u"}, "AsyncAcknowledgement",
                     id="acknowledgement"),
        pytest.param({"taskType": "textInference", "taskUUID": "u", "text": "hi"},
                     "TextInferenceResult", id="result"),
    ],
)  # fmt: skip
def test_reply_shape_names_a_supplement_definition(item: dict[str, Any], shape: str) -> None:
    assert contracts.reply_shape(item) == shape
    assert contracts.reply_shape(item, spec=openapi.load_catalog()) == shape
    assert shape in openapi.protocol_schema()["$defs"]


def test_one_schema_object_compiles_in_each_scope_it_is_met_in() -> None:
    """The same ``{"$ref": "#/$defs/limit"}`` means another limit in another resource."""
    shared = {"$ref": "#/$defs/limit"}
    registry: Registry[Any] = Registry().with_resources(
        [
            ("urn:a", DRAFT202012.create_resource({"$defs": {"limit": {"maximum": 1}}})),
            ("urn:b", DRAFT202012.create_resource({"$defs": {"limit": {"maximum": 5}}})),
        ]
    )
    compiler = SchemaCompiler(registry)
    assert compiler.compile_predicate(shared, base_uri="urn:a")(3) is False
    assert compiler.compile_predicate(shared, base_uri="urn:b")(3) is True
    in_b = compiler.predicate_in(shared, registry.resolver(base_uri="urn:b"))
    assert in_b(3) is True
    errors: list[Any] = []
    compiler.compile(shared, base_uri="urn:a")(3, (), errors)
    assert [e[0] for e in errors] == ["maximum"]
