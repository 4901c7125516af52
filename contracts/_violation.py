"""``Violation``: one broken rule, located and explained; ``ContractViolation``: all of them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from openapi import KitError

__all__ = ["ContractViolation", "Violation"]


@dataclass(frozen=True, slots=True)
class Violation:
    """One rule of the contract that a payload breaks.

    Attributes:
        pointer: JSON pointer (RFC 6901) to the offending value in the whole body; for a
            missing parameter, where it should be (``/0/messages``).
        parameter: the task parameter in Runware's dotted form (``settings.temperature``,
            ``messages[1].content``); ``""`` when the body as a whole is at fault.
        keyword: the JSON Schema keyword broken (``maximum``, ``required``, …), or
            ``"json"`` for a body that is not JSON and ``"taskOrder"`` for protocol rules.
        code: Runware-style error code (``invalidParameter``, ``missingParameter``,
            ``unknownParameter``, ``invalidRequestBody``).
        message: what is wrong, with the value, the limit and the fix.
        task_index: index of the task in the request array (``None`` for the body).
        task_uuid: the task's ``taskUUID`` when it has a readable one.
        task_type: the task's ``taskType`` when it has one.
        value: the offending value (absent for a missing parameter).
    """

    pointer: str
    parameter: str
    keyword: str
    code: str
    message: str
    task_index: int | None = None
    task_uuid: str | None = None
    task_type: str | None = None
    value: Any = field(default=None, compare=False)

    def to_error(self) -> dict[str, Any]:
        """This violation as one item of the document's ``ErrorResponse.errors``."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.parameter:
            error["parameter"] = self.parameter
        if self.task_type is not None:
            error["taskType"] = self.task_type
        if self.task_uuid is not None:
            error["taskUUID"] = self.task_uuid
        return error

    def __str__(self) -> str:
        where = f"task {self.task_index}: " if self.task_index is not None else ""
        return f"{where}{self.message} [{self.code} at {self.pointer or '/'}]"


class ContractViolation(KitError):
    """A payload breaks the contract; ``violations`` holds every broken rule."""

    def __init__(self, violations: Sequence[Violation]) -> None:
        self.violations: tuple[Violation, ...] = tuple(violations)
        count = len(self.violations)
        lines = "\n".join(f"  - {v}" for v in self.violations)
        super().__init__(f"{count} contract violation{'s' if count != 1 else ''}:\n{lines}")

    def to_response(self) -> dict[str, Any]:
        """A Runware ``{"errors": [...]}`` body listing every violation."""
        return {"errors": [v.to_error() for v in self.violations]}
