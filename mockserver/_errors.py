"""Runware-style error bodies: ``{"errors": [{code, message, parameter?, taskType?, …}]}``."""

from __future__ import annotations

from typing import Any

__all__ = ["STATUS_CODES", "error_body", "error_item"]

# Error code → HTTP status, following the protocol reference's mapping (section 8).
STATUS_CODES = {
    "invalidRequestBody": 400, "invalidParameter": 400, "missingParameter": 400,
    "unknownParameter": 400, "invalidContentType": 400, "conflictTaskUUID": 400,
    "missingApiKey": 401, "invalidApiKey": 401, "insufficientCredits": 402,
    "insufficientPermissions": 403, "notFound": 404, "methodNotAllowed": 405,
    "payloadTooLarge": 413, "rateLimitExceeded": 429, "internalServerError": 500,
    "serviceUnavailable": 503, "timeoutProvider": 504,
}


def error_item(code: str, message: str, *, parameter: str | None = None,
               task_type: str | None = None, task_uuid: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"code": code, "message": message}
    if parameter:
        item["parameter"] = parameter
    if task_type is not None:
        item["taskType"] = task_type
    if task_uuid is not None:
        item["taskUUID"] = task_uuid
    return item


def error_body(code: str, message: str, **fields: Any) -> dict[str, Any]:
    return {"errors": [error_item(code, message, **fields)]}
