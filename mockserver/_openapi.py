"""The document the mock serves at ``/openapi.json``: the vendor's, with real responses.

The vendor's request schemas stay as they are. The servers point at the mock, and the
responses the vendor left as "Unknown response structure" are filled in from the protocol
supplement, so any OpenAPI tool pointed at the mock checks the shapes it really sends.
"""

from __future__ import annotations

from typing import Any

from openapi import Spec
from openapi._freeze import thaw

__all__ = ["ERROR_STATUSES", "served_document"]

# Statuses the mock answers besides the document's own: 413 for oversized bodies and 504
# (timeoutProvider) from the protocol reference.
ERROR_STATUSES = {"413": "Payload Too Large — the body exceeds the mock's size limit.",
                  "504": "Gateway Timeout — the provider timed out (timeoutProvider)."}
_REPLY_DEFS = ("TextInferenceResult", "AsyncAcknowledgement", "GetResponseItem",
               "AuthenticationReply", "PingReply")


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
    doc["servers"] = [{"url": f"{base_url.rstrip('/')}/v1",
                       "description": "runware-contract-kit mock (offline emulation)"}]
    schemas: dict[str, Any] = doc.setdefault("components", {}).setdefault("schemas", {})
    protocol: dict[str, Any] = thaw(spec.protocol)
    names = {name: (name if name not in schemas else f"Protocol{name}")
             for name in protocol["$defs"]}
    for name, schema in protocol["$defs"].items():
        schemas[names[name]] = _rewrite_refs(schema, names)
    schemas["MockSuccessResponse"] = {
        "type": "object", "required": ["data"], "additionalProperties": False,
        "description": "What the mock answers with 200: result items (sync), acknowledgements "
                       "(async, webhook), getResponse items, authentication and ping replies. "
                       "Derived from the protocol reference, not vendor-published.",
        "properties": {"data": {"type": "array", "items": {"anyOf": [
            {"$ref": f"#/components/schemas/{names[n]}"} for n in _REPLY_DEFS]}}}}
    error_ref = {"$ref": "#/components/schemas/ErrorResponse"} if "ErrorResponse" in schemas \
        else {"$ref": f"#/components/schemas/{names['ErrorEnvelope']}"}
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
            "text/event-stream": {"schema": {
                "type": "object",
                "description": "deliveryMethod 'stream': Server-Sent Events, each 'data:' a "
                               "StreamChunk (or an ErrorEnvelope) as JSON, then 'data: [DONE]'.",
                "properties": {
                    # Not contentMediaType: the last event, "[DONE]", is not JSON, and tools
                    # that honour contentMediaType would try to parse it.
                    "data": {"type": "string",
                             "description": "The JSON of an x-content-schema, or [DONE].",
                             "x-content-schema": {"anyOf": [
                                 {"$ref": f"#/components/schemas/{names['StreamChunk']}"},
                                 {"$ref": f"#/components/schemas/{names['ErrorEnvelope']}"}]}},
                    "event": {"type": "string"}, "id": {"type": "string"},
                    "retry": {"type": "integer"}},
                "required": ["data"]}},
        }
        for status, description in ERROR_STATUSES.items():
            responses.setdefault(status, {"description": description})
        for status, response in responses.items():
            if status != "200" and isinstance(response, dict):
                response["content"] = {"application/json": {"schema": error_ref}}
    return doc

