"""Compiled validators for one loaded ``Spec``, built once and cached beside it."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from openapi import Spec

from ._schema._compile import Predicate, SchemaCompiler, Validate
from ._schema._fallback import jsonschema_fallback

__all__ = ["ENGINE_KEY", "Engine", "engine_for"]

_PROTOCOL_DEFS = ("TextInferenceResult", "AsyncAcknowledgement", "GetResponseItem",
                  "StreamChunk", "AuthenticationReply", "PingReply", "ErrorEnvelope",
                  "DataEnvelope", "PartialEnvelope", "SingularErrorEnvelope")


@dataclass(frozen=True, slots=True)
class Engine:
    """Every validator the checks need for one document."""

    body: Validate | None           # the body's own keywords beyond "an array"; None: none
    body_full: Validate             # the body's own keywords, items left out
    tasks: Mapping[str, Validate]   # taskType → collector of that task's errors
    items: Validate                 # the document's item schema, for unknown taskTypes
    task_predicates: Mapping[str, Predicate]  # taskType → is this task valid? (hot path)
    items_predicate: Predicate
    error_response: Validate        # the document's ErrorResponse
    protocol: Mapping[str, Validate]  # response-side supplement, by $defs name
    compiler: SchemaCompiler        # for subschemas compiled on demand (strategies)


_lock = threading.Lock()
ENGINE_KEY = "contracts.engine"
# Keywords that say nothing a list does not already satisfy.
_TRIVIAL_BODY = frozenset({"type", "title", "description", "$comment", "examples"})


def engine_for(spec: Spec) -> Engine:
    """The compiled validators for ``spec`` (compiled on first use, then shared)."""
    engine: Engine | None = spec.memo.get(ENGINE_KEY)
    if engine is None:
        with _lock:
            engine = spec.memo.get(ENGINE_KEY)
            if engine is None:
                engine = _build(spec)
                spec.memo[ENGINE_KEY] = engine
    return engine


def _build(spec: Spec) -> Engine:
    compiler = SchemaCompiler(spec.registry, fallback=jsonschema_fallback)
    doc = spec.document_uri

    def on_document(schema: Any) -> Validate:
        return compiler.compile(schema, base_uri=doc)

    shell = {k: v for k, v in spec.request_schema.items() if k not in ("items", "prefixItems")}
    def base(task_type: str) -> str:
        return spec.protocol_uri if task_type in ("getResponse", "ping") else doc

    tasks = {task_type: compiler.compile(schema, base_uri=base(task_type))
             for task_type, schema in spec.task_schemas.items()}
    predicates = {task_type: compiler.compile_predicate(schema, base_uri=base(task_type))
                  for task_type, schema in spec.task_schemas.items()}
    item_schema = spec.request_schema.get("items", True)
    protocol = {name: compiler.compile({"$ref": f"{spec.protocol_uri}#/$defs/{name}"},
                                       base_uri=spec.protocol_uri)
                for name in _PROTOCOL_DEFS}
    body = on_document(shell)
    trivial = shell.keys() <= _TRIVIAL_BODY and shell.get("type") == "array"
    return Engine(body=None if trivial else body, body_full=body, tasks=tasks,
                  items=on_document(item_schema), task_predicates=predicates,
                  items_predicate=compiler.compile_predicate(item_schema, base_uri=doc),
                  error_response=on_document(spec.error_schema), protocol=protocol,
                  compiler=compiler)
