"""Compiled validators for one loaded ``Spec``, built once and cached beside it."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from openapi import Spec

from ._schema._compile import SchemaCompiler, Validate
from ._schema._fallback import jsonschema_fallback

__all__ = ["Engine", "engine_for"]

_PROTOCOL_DEFS = ("TextInferenceResult", "AsyncAcknowledgement", "GetResponseItem",
                  "StreamChunk", "AuthenticationReply", "PingReply", "ErrorEnvelope",
                  "DataEnvelope")


@dataclass(frozen=True, slots=True)
class Engine:
    """Every validator the checks need for one document."""

    body: Validate                  # the request body's own keywords, items left out
    tasks: Mapping[str, Validate]   # taskType → validator of that task
    items: Validate                 # the document's item schema, for unknown taskTypes
    error_response: Validate        # the document's ErrorResponse
    protocol: Mapping[str, Validate]  # response-side supplement, by $defs name


_lock = threading.Lock()
_KEY = "contracts.engine"


def engine_for(spec: Spec) -> Engine:
    """The compiled validators for ``spec`` (compiled on first use, then shared)."""
    engine: Engine | None = spec.memo.get(_KEY)
    if engine is None:
        with _lock:
            engine = spec.memo.get(_KEY)
            if engine is None:
                engine = _build(spec)
                spec.memo[_KEY] = engine
    return engine


def _build(spec: Spec) -> Engine:
    compiler = SchemaCompiler(spec.registry, fallback=jsonschema_fallback)
    doc = spec.document_uri

    def on_document(schema: Any) -> Validate:
        return compiler.compile(schema, base_uri=doc)

    shell = {k: v for k, v in spec.request_schema.items() if k not in ("items", "prefixItems")}
    tasks = {task_type: (compiler.compile(schema, base_uri=spec.protocol_uri)
                         if task_type in ("getResponse", "ping") else on_document(schema))
             for task_type, schema in spec.task_schemas.items()}
    protocol = {name: compiler.compile({"$ref": f"{spec.protocol_uri}#/$defs/{name}"},
                                       base_uri=spec.protocol_uri)
                for name in _PROTOCOL_DEFS}
    return Engine(body=on_document(shell), tasks=tasks,
                  items=on_document(spec.request_schema.get("items", True)),
                  error_response=on_document(spec.error_schema), protocol=protocol)
