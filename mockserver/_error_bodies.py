"""Runware-style error bodies: ``{"errors": [{code, message, parameter?, taskType?, …}]}``.

What the mock *answers* with, as JSON-able dicts — not exceptions (the kit's exceptions
are ``openapi.KitError`` and its subclasses).

Every item carries ``documentation``, one of the six fields Runware's errors page lists
(protocol reference, section 8): a client that shows or logs it works here as against
Runware. The link is only a string in a body; the mock never fetches it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DOCUMENTATION", "crash_body", "error_body", "error_item"]

# Runware's public page on errors; contracts' Violation.to_error names the same page.
DOCUMENTATION = "https://runware.ai/docs/platform/errors"


def error_item(
    code: str,
    message: str,
    *,
    parameter: str | None = None,
    task_type: str | None = None,
    task_uuid: str | None = None,
) -> dict[str, Any]:
    """One item of an ``errors`` array, fields in the order Runware's errors page lists."""
    item: dict[str, Any] = {"code": code, "message": message}
    if parameter:
        item["parameter"] = parameter
    if task_type is not None:
        item["taskType"] = task_type
    if task_uuid is not None:
        item["taskUUID"] = task_uuid
    item["documentation"] = DOCUMENTATION
    return item


def error_body(code: str, message: str, **fields: Any) -> dict[str, Any]:
    return {"errors": [error_item(code, message, **fields)]}


def crash_body(exc: BaseException) -> dict[str, Any]:
    """The 500 body of a request the mock itself failed: never a traceback to the client,
    only what failed, Runware-style."""
    return error_body(
        "internalServerError",
        f"The mock failed: {type(exc).__name__}. This is a bug "
        "in runware-contract-kit; please report it.",
    )
