"""Runware-style error bodies: ``{"errors": [{code, message, parameter?, taskType?, …}]}``."""

from __future__ import annotations

from typing import Any

__all__ = ["error_body", "error_item"]

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
