"""The documents the mock serves: the vendor's, with real responses.

The vendor's request schemas stay as they are. The servers point at the mock, and the
responses the vendor left as "Unknown response structure" are filled in from the protocol
supplement, so any OpenAPI tool pointed at the mock checks the shapes it really sends.

With several models loaded, ``/openapi/{model}.json`` is each model's document,
``/openapi/models`` the index of them, and ``/openapi.json`` one document for the endpoint
as a whole (``combined_document``): a task of any loaded model is a valid item of its body.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from openapi import Catalog, Spec, thaw

__all__ = ["ERROR_STATUSES", "combined_document", "document_path", "model_index", "served_document"]

# Statuses the mock answers besides the document's own: 413 for oversized bodies and 504
# (timeoutProvider) from the protocol reference.
ERROR_STATUSES = {
    "413": "Payload Too Large — the body exceeds the mock's size limit.",
    "504": "Gateway Timeout — the provider timed out (timeoutProvider).",
}
_REPLY_DEFS = (
    "TextInferenceResult",
    "AsyncAcknowledgement",
    "GetResponseItem",
    "AuthenticationReply",
    "PingReply",
)


def _rewrite_refs(node: Any, names: dict[str, str]) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith("#/$defs/"):
                out[key] = f"#/components/schemas/{names[value.removeprefix('#/$defs/')]}"
            else:
                out[key] = _rewrite_refs(value, names)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(item, names) for item in node]
    return node


def served_document(spec: Spec, *, base_url: str) -> dict[str, Any]:
    """The vendor document with ``servers`` at ``base_url`` and every response described."""
    doc = spec.to_dict()
    doc["servers"] = [
        {
            "url": f"{base_url.rstrip('/')}/v1",
            "description": "runware-contract-kit mock (offline emulation)",
        }
    ]
    schemas: dict[str, Any] = doc.setdefault("components", {}).setdefault("schemas", {})
    protocol: dict[str, Any] = thaw(spec.protocol)
    names = {
        name: (name if name not in schemas else f"Protocol{name}") for name in protocol["$defs"]
    }
    for name, schema in protocol["$defs"].items():
        schemas[names[name]] = _rewrite_refs(schema, names)
    schemas["MockSuccessResponse"] = {
        "type": "object",
        "required": ["data"],
        "additionalProperties": False,
        "description": "What the mock answers with 200: result items (sync), acknowledgements "
        f"(async, webhook), {spec.poll_task_type} items, {spec.authentication_task_type} and "
        f"{spec.ping_task_type} replies. "
        "Derived from the protocol reference, not vendor-published.",
        "properties": {
            "data": {
                "type": "array",
                "items": {
                    "anyOf": [{"$ref": f"#/components/schemas/{names[n]}"} for n in _REPLY_DEFS]
                },
            }
        },
    }
    error_ref = (
        {"$ref": "#/components/schemas/ErrorResponse"}
        if "ErrorResponse" in schemas
        else {"$ref": f"#/components/schemas/{names['ErrorEnvelope']}"}
    )
    for item in doc.get("paths", {}).values():
        operation = item.get("post") if isinstance(item, dict) else None
        if not isinstance(operation, dict):
            continue
        responses = operation.setdefault("responses", {})
        ok = responses.setdefault("200", {"description": "Successful response"})
        ok["content"] = {
            "application/json": {"schema": {"$ref": "#/components/schemas/MockSuccessResponse"}},
            # One Server-Sent Event, as OpenAPI tools read event streams: an object whose
            # "data" is the JSON of a StreamChunk (or an ErrorEnvelope), or "[DONE]" last.
            "text/event-stream": {
                "schema": {
                    "type": "object",
                    "description": "deliveryMethod 'stream': Server-Sent Events, each 'data:' a "
                    "StreamChunk (or an ErrorEnvelope) as JSON, then 'data: [DONE]'.",
                    "properties": {
                        # Not contentMediaType: the last event, "[DONE]", is not JSON, and tools
                        # that honour contentMediaType would try to parse it.
                        "data": {
                            "type": "string",
                            "description": "The JSON of an x-content-schema, or [DONE].",
                            "x-content-schema": {
                                "anyOf": [
                                    {"$ref": f"#/components/schemas/{names['StreamChunk']}"},
                                    {"$ref": f"#/components/schemas/{names['ErrorEnvelope']}"},
                                ]
                            },
                        },
                        "event": {"type": "string"},
                        "id": {"type": "string"},
                        "retry": {"type": "integer"},
                    },
                    "required": ["data"],
                }
            },
        }
        for status, description in ERROR_STATUSES.items():
            responses.setdefault(status, {"description": description})
        for status, response in responses.items():
            if status != "200" and isinstance(response, dict):
                response["content"] = {"application/json": {"schema": error_ref}}
    return doc


def document_path(model_id: str) -> str:
    """Where a model's own document is served (the id URL-quoted: ``:`` and ``@`` too)."""
    return f"/openapi/{quote(model_id, safe='')}.json"


def model_index(catalog: Catalog, *, base_url: str) -> dict[str, Any]:
    """``GET /openapi/models``: every model id the mock serves, its document and title."""
    base = base_url.rstrip("/")
    return {
        "models": [
            {
                "modelId": model,
                "title": spec.title,
                "version": spec.version,
                "document": f"{base}{document_path(model)}",
            }
            for model in catalog.model_ids
            if (spec := catalog.for_model(model)) is not None
        ]
    }


def _component_name(model_id: str) -> str:
    # OpenAPI component names: letters, digits, ".", "-", "_" only.
    return re.sub(r"[^A-Za-z0-9._-]", "_", model_id)


def _prefixed(node: Any, names: dict[str, str]) -> Any:
    """``node`` with every ``$ref`` to one of ``names``' components pointed at its new name."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            target = (
                value.removeprefix("#/components/schemas/")
                if key == "$ref" and isinstance(value, str)
                else None
            )
            name, _, rest = (target or "").partition("/")
            if target is not None and name in names:
                out[key] = f"#/components/schemas/{names[name]}" + (f"/{rest}" if rest else "")
            else:
                out[key] = _prefixed(value, names)
        return out
    if isinstance(node, list):
        return [_prefixed(item, names) for item in node]
    return node


def combined_document(catalog: Catalog, *, base_url: str) -> dict[str, Any]:
    """One document for ``POST /v1`` with every model of ``catalog`` loaded.

    The first model's served document is the frame (responses, security, servers); each
    model's own schemas are renamed ``<model id>.<name>`` so that none collides, and the
    body's items are any model's task (``anyOf`` of each document's item schema). The
    body's own keywords are every document's (``allOf``): the strictest reading."""
    if len(catalog) == 1:
        return served_document(catalog.first, base_url=base_url)
    doc = served_document(catalog.first, base_url=base_url)
    schemas: dict[str, Any] = doc["components"]["schemas"]
    items: list[Any] = []
    shells: list[Any] = []
    for index, spec in enumerate(catalog):
        own = dict((thaw(spec.document).get("components") or {}).get("schemas") or {})
        names = {name: f"{_component_name(spec.model_id)}.{name}" for name in own}
        for name, schema in own.items():
            if index == 0:  # the frame's own copy, under its old name
                del schemas[name]
            schemas[names[name]] = _prefixed(schema, names)
        if index == 0:  # the frame's own references: to its renamed schemas now
            doc["paths"] = _prefixed(doc["paths"], names)
        body = _prefixed(thaw(spec.request_schema), names)
        item = body.pop("items", True)
        body.pop("prefixItems", None)
        items.append(item)
        if body not in shells:
            shells.append(body)
    request = {
        "type": "array",
        "items": {"anyOf": items},
        "description": "A JSON array of tasks, each for any of the models this mock "
        "loaded (its model picks the document that judges it).",
    }
    if any(set(shell) - {"type", "title", "description"} for shell in shells):
        request["allOf"] = shells
    schemas["MockRequestBody"] = request
    for item in doc.get("paths", {}).values():
        operation = item.get("post") if isinstance(item, dict) else None
        if isinstance(operation, dict):
            operation["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/MockRequestBody"}}
                },
            }
            operation["summary"] = f"Run any of {len(catalog)} models"
            operation["description"] = (
                "Each task is judged and answered by the document "
                "of its model: " + ", ".join(catalog.model_ids) + "."
            )
            operation["operationId"] = "run"
    models = ", ".join(catalog.model_ids)
    doc["info"] = {
        "title": f"Runware API - {len(catalog)} models (runware-contract-kit mock)",
        "version": catalog.first.version or "1.0.0",
        "description": f"The mock's endpoint with every loaded model: {models}. Each model's "
        "own document: GET /openapi/models.",
        "x-model-ids": list(catalog.model_ids),
    }
    return doc
