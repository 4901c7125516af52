"""``Violation``: one broken rule, located and explained; ``ContractViolation``: all of them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from openapi import KitError

__all__ = ["ContractViolation", "Violation"]

_FIELDS = (
    "pointer",
    "parameter",
    "keyword",
    "code",
    "message",
    "task_index",
    "task_uuid",
    "task_type",
)
# Runware's errors page: the ``documentation`` link its error objects carry (protocol
# reference, section 8).
_DOCUMENTATION = "https://runware.ai/docs/platform/errors"


class Violation:
    """One rule of the contract that a payload breaks. Immutable.

    Attributes:
        pointer: JSON pointer (RFC 6901) to the offending value in the whole body; for a
            missing parameter, where it should be (``/0/messages``).
        parameter: the task parameter in Runware's dotted form (``settings.temperature``,
            ``messages[1].content``); ``""`` when the body as a whole is at fault.
        keyword: the JSON Schema keyword broken (``maximum``, ``required``, …), or
            ``"json"`` for a body that is not JSON and ``"taskOrder"`` for protocol rules.
        code: Runware-style error code (``invalidParameter``, ``missingParameter``,
            ``unknownParameter``, ``invalidRequestBody``).
        message: what is wrong, with the value, the limit and the fix. Written on first
            access: a check that only needs the verdict does not pay for prose.
        task_index: index of the task in the request array (``None`` for the body).
        task_uuid: the task's ``taskUUID`` when it has a readable one.
        task_type: the task's ``taskType`` when it has one.
        value: the offending value (``None`` for a missing parameter).
    """

    __slots__ = (
        "_message",
        "_render",
        "code",
        "keyword",
        "parameter",
        "pointer",
        "task_index",
        "task_type",
        "task_uuid",
        "value",
    )

    _message: str | None
    _render: Callable[[], str] | None
    pointer: str
    parameter: str
    keyword: str
    code: str
    task_index: int | None
    task_uuid: str | None
    task_type: str | None
    value: Any

    def __init__(
        self,
        *,
        pointer: str,
        parameter: str,
        keyword: str,
        code: str,
        message: str | None = None,
        task_index: int | None = None,
        task_uuid: str | None = None,
        task_type: str | None = None,
        value: Any = None,
        render: Callable[[], str] | None = None,
    ) -> None:
        if message is None and render is None:
            raise TypeError("Violation needs a message or a render callable")
        put = object.__setattr__
        put(self, "pointer", pointer)
        put(self, "parameter", parameter)
        put(self, "keyword", keyword)
        put(self, "code", code)
        put(self, "_message", message)
        put(self, "_render", render)
        put(self, "task_index", task_index)
        put(self, "task_uuid", task_uuid)
        put(self, "task_type", task_type)
        put(self, "value", value)

    @property
    def message(self) -> str:
        message: str | None = self._message
        if message is None:
            assert self._render is not None
            message = self._render()
            object.__setattr__(self, "_message", message)
            object.__setattr__(self, "_render", None)
        return message

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Violation is immutable; use .replace({name}=...)")

    def replace(self, **changes: Any) -> Violation:
        """A copy with some fields changed."""
        fields: dict[str, Any] = {name: getattr(self, name) for name in _FIELDS}
        fields["value"] = self.value
        fields.update(changes)
        return Violation(**fields)

    def _key(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in _FIELDS)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Violation):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in _FIELDS)
        return f"Violation({shown}, value={self.value!r})"

    def to_error(self) -> dict[str, Any]:
        """This violation as one item of the document's ``ErrorResponse.errors``."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.parameter:
            error["parameter"] = self.parameter
        if self.task_type is not None:
            error["taskType"] = self.task_type
        if self.task_uuid is not None:
            error["taskUUID"] = self.task_uuid
        error["documentation"] = _DOCUMENTATION
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
