"""The utility tasks every document shares, named once: by the protocol supplement."""

from __future__ import annotations

from collections.abc import Mapping

import openapi
from tests._support import SECOND_DOCUMENT


def _supplement_type(name: str) -> str:
    return str(openapi.protocol_schema()["$defs"][name]["properties"]["taskType"]["const"])


def test_utility_task_types_come_from_the_supplement(spec: openapi.Spec) -> None:
    assert spec.utility_task_types == ("authentication", "getResponse", "ping")
    assert spec.authentication_task_type == _supplement_type("AuthenticationReply")
    assert spec.poll_task_type == _supplement_type("GetResponseTask")
    assert spec.ping_task_type == _supplement_type("PingTask")
    assert set(spec.task_schemas) == {*spec.utility_task_types, *spec.inference_task_types}
    assert openapi.load(SECOND_DOCUMENT).utility_task_types == spec.utility_task_types


def test_each_task_schema_resolves_against_its_own_resource(spec: openapi.Spec) -> None:
    for task_type, schema in spec.task_schemas.items():
        base = spec.task_base_uri(task_type)
        in_supplement = task_type in (spec.poll_task_type, spec.ping_task_type)
        assert base == (spec.protocol_uri if in_supplement else spec.document_uri)
        # every $ref of the schema resolves against that base
        resolver = spec.registry.resolver(base_uri=base)
        for ref in _refs(schema):
            resolver.lookup(ref)


def _refs(node: object) -> list[str]:
    if isinstance(node, Mapping):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, tuple | list):
        return [ref for value in node for ref in _refs(value)]
    return []


def test_thaw_gives_plain_mutable_json(spec: openapi.Spec) -> None:
    schema = spec.task_schema(spec.inference_task_type)
    thawed = openapi.thaw(schema)
    assert type(thawed) is dict
    assert type(thawed["required"]) is list
    thawed["required"].append("x")
    assert "x" not in schema["required"]
    assert openapi.thaw(spec.document) == spec.to_dict()
