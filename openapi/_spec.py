"""``Spec``: the loaded OpenAPI document, frozen, with what the rest of the kit needs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, cast

import referencing

from ._freeze import thaw

__all__ = ["Parameter", "SecurityScheme", "Spec"]


@dataclass(frozen=True, slots=True)
class Parameter:
    """One request parameter of a task, with its limits, as the document states them.

    ``path`` is dotted (``"settings.temperature"``); ``None`` means the document sets no
    such limit. Nothing here is hard-coded: every field is read from the loaded schema.
    """

    path: str
    schema: Mapping[str, Any] = field(repr=False)
    required: bool = False

    def _get(self, key: str) -> Any:
        return self.schema.get(key)

    @property
    def name(self) -> str:
        return self.path.rsplit(".", 1)[-1]

    @property
    def title(self) -> str | None:
        return cast("str | None", self._get("title"))

    @property
    def description(self) -> str | None:
        return cast("str | None", self._get("description"))

    @property
    def type(self) -> str | tuple[str, ...] | None:
        return cast("str | tuple[str, ...] | None", self._get("type"))

    @property
    def default(self) -> Any:
        return thaw(self._get("default"))

    @property
    def has_default(self) -> bool:
        return "default" in self.schema

    @property
    def minimum(self) -> int | float | None:
        return cast("int | float | None", self._get("minimum"))

    @property
    def maximum(self) -> int | float | None:
        return cast("int | float | None", self._get("maximum"))

    @property
    def multiple_of(self) -> int | float | None:
        return cast("int | float | None", self._get("multipleOf"))

    @property
    def min_length(self) -> int | None:
        return cast("int | None", self._get("minLength"))

    @property
    def max_length(self) -> int | None:
        return cast("int | None", self._get("maxLength"))

    @property
    def min_items(self) -> int | None:
        return cast("int | None", self._get("minItems"))

    @property
    def max_items(self) -> int | None:
        return cast("int | None", self._get("maxItems"))

    @property
    def format(self) -> str | None:
        return cast("str | None", self._get("format"))

    @property
    def const(self) -> Any:
        return thaw(self._get("const"))

    @property
    def enum(self) -> tuple[Any, ...] | None:
        """Allowed values, from ``enum`` or from a ``oneOf``/``anyOf`` of ``const``s."""
        if "enum" in self.schema:
            return tuple(thaw(self.schema["enum"]))
        for key in ("oneOf", "anyOf"):
            branches = self.schema.get(key)
            if branches and all(isinstance(b, Mapping) and "const" in b for b in branches):
                return tuple(thaw(b["const"]) for b in branches)
        return None


@dataclass(frozen=True, slots=True)
class SecurityScheme:
    """The document's security scheme (``components.securitySchemes``)."""

    name: str
    type: str
    scheme: str | None
    description: str | None


@dataclass(frozen=True, slots=True, eq=False, weakref_slot=True)
class Spec:
    """A loaded, validated Runware OpenAPI document. Immutable; compare by identity.

    Build one with :func:`openapi.load`. Every mapping here is read-only; use
    :meth:`to_dict` for a mutable copy of the whole document.
    """

    source: str
    document: Mapping[str, Any] = field(repr=False)
    protocol: Mapping[str, Any] = field(repr=False)
    title: str
    version: str
    metadata: Mapping[str, Any] = field(repr=False)
    server_url: str
    operation_path: str
    operation_id: str | None
    model_ids: tuple[str, ...]
    request_schema: Mapping[str, Any] = field(repr=False)
    task_schemas: Mapping[str, Mapping[str, Any]] = field(repr=False)
    error_schema: Mapping[str, Any] = field(repr=False)
    status_codes: tuple[int, ...]
    security_scheme: SecurityScheme | None
    registry: referencing.Registry[Any] = field(repr=False)
    document_uri: str = field(repr=False)
    protocol_uri: str = field(repr=False)
    # Derived data other layers memoize per document (compiled validators, strategies);
    # never part of the document itself, so it stays out of equality and repr.
    memo: dict[Any, Any] = field(init=False, default_factory=dict, repr=False, compare=False)

    @property
    def model_id(self) -> str:
        """The model identifier (AIR) the document fixes, e.g. ``"alibaba:qwen@3.5-397b"``."""
        return self.model_ids[0]

    @property
    def inference_task_type(self) -> str:
        """The taskType of the document's inference task (e.g. ``"textInference"``)."""
        return next(iter(self.inference_task_types))

    @property
    def inference_task_types(self) -> tuple[str, ...]:
        utility = self.utility_task_types
        return tuple(t for t in self.task_schemas if t not in utility)

    @property
    def utility_task_types(self) -> tuple[str, ...]:
        """The task types that name no model, the same in every document, as the protocol
        supplement names them: authentication, the poll and ping
        (``("authentication", "getResponse", "ping")``)."""
        found: tuple[str, ...] | None = self.memo.get("openapi.utility_task_types")
        if found is None:
            found = self.memo["openapi.utility_task_types"] = tuple(
                supplement_task_type(self.protocol, name) for name in _UTILITY_DEFS
            )
        return found

    @property
    def authentication_task_type(self) -> str:
        """The taskType of the authentication task (``"authentication"``)."""
        return self.utility_task_types[0]

    @property
    def poll_task_type(self) -> str:
        """The taskType that polls an async task's results (``"getResponse"``)."""
        return self.utility_task_types[1]

    @property
    def ping_task_type(self) -> str:
        """The taskType of a keep-alive ping (``"ping"``)."""
        return self.utility_task_types[2]

    def task_base_uri(self, task_type: str) -> str:
        """The URI a task schema's ``$ref``s resolve against in :attr:`registry`: the
        supplement's (:attr:`protocol_uri`) for the tasks it defines, the poll and ping;
        the document's (:attr:`document_uri`) for every other."""
        if task_type in (self.poll_task_type, self.ping_task_type):
            return self.protocol_uri
        return self.document_uri

    def task_schema(self, task_type: str) -> Mapping[str, Any]:
        """The request schema for one ``taskType``; raises ``KeyError`` naming the known ones."""
        try:
            return self.task_schemas[task_type]
        except KeyError:
            known = ", ".join(sorted(self.task_schemas))
            raise KeyError(f"no task type {task_type!r} in {self.source}; known: {known}") from None

    def parameters(self, task_type: str | None = None) -> tuple[Parameter, ...]:
        """Every parameter of a task, nested objects flattened to dotted paths."""
        key = ("openapi.parameters", task_type or self.inference_task_type)
        found: tuple[Parameter, ...] | None = self.memo.get(key)
        if found is None:
            schema = self.task_schema(task_type or self.inference_task_type)
            found = self.memo[key] = tuple(_flatten(schema, prefix=""))
        return found

    def parameter(self, path: str, *, task_type: str | None = None) -> Parameter:
        """One parameter by dotted path (``"settings.temperature"``)."""
        for param in self.parameters(task_type):
            if param.path == path:
                return param
        raise KeyError(f"no parameter {path!r} in {self.source}")

    @property
    def settings(self) -> tuple[Parameter, ...]:
        """The inference task's ``settings.*`` parameters (empty if it has none)."""
        return tuple(p for p in self.parameters() if p.path.startswith("settings."))

    @property
    def defaults(self) -> Mapping[str, Any]:
        """Dotted parameter path → documented default, for every parameter that has one."""
        found: Mapping[str, Any] | None = self.memo.get("openapi.defaults")
        if found is None:
            found = self.memo["openapi.defaults"] = MappingProxyType(
                {p.path: p.default for p in self.parameters() if p.has_default}
            )
        return found

    @property
    def delivery_methods(self) -> tuple[str, ...]:
        """Allowed ``deliveryMethod`` values, from the document (empty if it has none)."""
        try:
            enum = self.parameter("deliveryMethod").enum
        except KeyError:
            return ()
        return tuple(enum or ())

    def __repr__(self) -> str:
        return f"Spec(source={self.source!r}, model_id={self.model_ids[0]!r})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # Hypothesis and IPython print dataclasses field by field; one line is enough.
        printer.text(repr(self))

    def to_dict(self) -> dict[str, Any]:
        """A fresh, mutable deep copy of the vendor document."""
        result: dict[str, Any] = thaw(self.document)
        return result


# The supplement's definitions whose taskType const names each utility task: the reply to
# the document's authentication task, then the two tasks the supplement defines itself.
SUPPLEMENT_TASKS = ("GetResponseTask", "PingTask")
_UTILITY_DEFS = ("AuthenticationReply", *SUPPLEMENT_TASKS)


def supplement_task_type(protocol: Mapping[str, Any], name: str) -> str:
    """The taskType a definition of the supplement fixes (``properties.taskType.const``)."""
    return str(protocol["$defs"][name]["properties"]["taskType"]["const"])


def _flatten(schema: Mapping[str, Any], *, prefix: str) -> list[Parameter]:
    props = schema.get("properties") or {}
    required = set(schema.get("required") or ())
    found: list[Parameter] = []
    for name, sub in props.items():
        if not isinstance(sub, Mapping):
            continue
        path = f"{prefix}{name}"
        found.append(Parameter(path=path, schema=sub, required=name in required))
        if sub.get("type") == "object" and "properties" in sub:
            found.extend(_flatten(sub, prefix=f"{path}."))
    return found
