"""Compile a JSON Schema 2020-12 schema into Python source, then into one function.

Why generated code: a tree of closures costs a call per keyword; generated code inlines a
whole task schema into one function whose valid path is a few dozen comparisons, which is
what lets a pre-request check cost about as much as parsing the JSON.

Each schema compiles two ways from the same emitters:

- a *predicate* ``f(instance) -> bool`` that returns ``False`` at the first failure — the
  hot path, run on every payload;
- a *collector* ``f(instance, path, errs)`` that appends *every* error as a raw tuple
  ``(keyword, path, instance, schema, detail)`` — run only when the predicate said no.
  Turning raw errors into violations a person can act on happens later (``_messages``).

Exactness (the verdict is JSON Schema 2020-12's, with ``format`` asserted):

- numbers are the decimals JSON wrote (``_numbers``): ``multipleOf`` never divides floats;
- booleans are not numbers, ``1.0`` is an integer, ``1 == 1.0`` but ``true != 1`` in
  ``const``/``enum``/``uniqueItems``;
- lengths count code points (Python ``len``);
- ``pattern`` runs on an ECMA-262 engine (``regress``), not Python's ``re``;
- ``format`` follows the RFCs (``_formats``); unknown formats are annotations.

Keywords whose meaning depends on annotations collected across subschemas
(``unevaluatedProperties``/``unevaluatedItems``) or on the dynamic scope (``$dynamicRef``)
are rare in API documents; a schema node using them is handed whole to ``jsonschema``.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import referencing
import referencing.exceptions
import referencing.jsonschema

from . import _numbers
from ._equality import json_equal, json_unique
from ._kinds import KindEmitters

if TYPE_CHECKING:  # referencing exports no Resolver; annotations only
    from referencing._core import Resolver

__all__ = ["Predicate", "RawError", "SchemaCompiler", "Validate"]

RawError = tuple[str, tuple[Any, ...], Any, Any, Any]
Validate = Callable[[Any, tuple[Any, ...], list[RawError]], None]
Predicate = Callable[[Any], bool]

_MISSING = object()

# Keywords that say nothing about validity.
_ANNOTATIONS = frozenset(
    {
        "$schema",
        "$id",
        "$anchor",
        "$dynamicAnchor",
        "$vocabulary",
        "$comment",
        "$defs",
        "definitions",
        "title",
        "description",
        "default",
        "examples",
        "deprecated",
        "readOnly",
        "writeOnly",
        "contentEncoding",
        "contentMediaType",
        "contentSchema",
        "discriminator",
        "xml",
        "externalDocs",
        "example",
    }
)
_FALLBACK = frozenset({"unevaluatedProperties", "unevaluatedItems", "$dynamicRef", "$recursiveRef"})

# Exact-class tests first: they cost a comparison, isinstance() costs a call.
_TYPE_TESTS = {
    "object": "({v}.__class__ is dict or isinstance({v}, dict))",
    "array": "({v}.__class__ is list or isinstance({v}, (list, tuple)))",
    "string": "({v}.__class__ is str or isinstance({v}, str))",
    "boolean": "({v} is True or {v} is False)",
    "null": "{v} is None",
    "number": "({v}.__class__ is int or ({v}.__class__ is float and {v} - {v} == 0)"
    " or _isnum({v}))",
    "integer": "({v}.__class__ is int or _isint({v}))",
}
_GROUPS = {
    "number": (
        ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"),
        frozenset({"number", "integer"}),
    ),
    "string": (("minLength", "maxLength", "pattern", "format"), frozenset({"string"})),
    "array": (
        ("items", "prefixItems", "minItems", "maxItems", "uniqueItems", "contains"),
        frozenset({"array"}),
    ),
    "object": (
        (
            "properties",
            "required",
            "additionalProperties",
            "patternProperties",
            "propertyNames",
            "minProperties",
            "maxProperties",
            "dependentRequired",
            "dependentSchemas",
        ),
        frozenset({"object"}),
    ),
}


def _widen(types: Sequence[str] | frozenset[str]) -> frozenset[str]:
    """Types a value of these types also has: every integer is a number."""
    return frozenset(types) | ({"number"} if "integer" in types else frozenset())


class _Path:
    """A path known at compile time except for loop variables: built only on error."""

    __slots__ = ("parts",)

    def __init__(self, parts: tuple[str, ...] = ()) -> None:
        self.parts = parts  # each part is Python source: a literal or a variable name

    def __add__(self, part: str) -> _Path:
        return _Path((*self.parts, part))

    def code(self) -> str:
        if not self.parts:
            return "path"
        return f"path + ({', '.join(self.parts)},)"


class SchemaCompiler(KindEmitters):
    """Compiles schemas that live in one ``referencing`` registry into validators.

    Args:
        registry: where ``$ref`` targets are looked up.
        fallback: builds a collector for a schema node that uses keywords this compiler
            hands to ``jsonschema`` (see the module docstring); ``None`` refuses them.
    """

    def __init__(
        self,
        registry: referencing.Registry[Any],
        *,
        fallback: Callable[[Any, Resolver[Any]], Validate] | None = None,
    ) -> None:
        self._registry = registry
        self._fallback = fallback
        self._ns: dict[str, Any] = {
            "_isnum": _numbers.is_number,
            "_isint": _numbers.is_integer,
            "_dec": _numbers.as_decimal,
            "_eq": json_equal,
            "_unique": json_unique,
            "_M": _MISSING,
            "Decimal": Decimal,
        }
        self._names = itertools.count()
        self._consts: dict[int, str] = {}
        self._functions: dict[tuple[int, int | None, bool], str] = {}
        self._inlining: set[int] = set()
        self._pending: list[str] = []
        self._fast = False
        self._lock = threading.RLock()  # compilation mutates shared state

    def compile(self, schema: Any, *, base_uri: str = "") -> Validate:
        """Compile ``schema`` (resolved against ``base_uri``) into a collector
        ``f(instance, path, errs)`` that appends every error to ``errs``."""
        function: Validate = self._compiled(schema, base_uri, fast=False)
        return function

    def compile_predicate(self, schema: Any, *, base_uri: str = "") -> Predicate:
        """Compile ``schema`` into ``f(instance) -> bool``: valid or not, nothing more."""
        function: Predicate = self._compiled(schema, base_uri, fast=True)
        return function

    def predicate_in(self, schema: Any, resolver: Resolver[Any]) -> Predicate:
        """A predicate for a subschema met while walking a document with ``resolver``."""
        with self._lock:
            name = self._function(schema, resolver, fast=True)
            self._exec_pending()
        function: Predicate = self._ns[name]
        return function

    # -- plumbing -------------------------------------------------------------------------

    def _compiled(self, schema: Any, base_uri: str, *, fast: bool) -> Any:
        with self._lock:
            resolver = self._registry.resolver(base_uri=base_uri)
            name = self._function(schema, resolver, fast=fast)
            self._exec_pending()
        return self._ns[name]

    def _exec_pending(self) -> None:
        while self._pending:
            source = self._pending.pop()
            exec(compile(source, "<runware-contract-kit schema>", "exec"), self._ns)

    def _name(self, prefix: str) -> str:
        return f"{prefix}{next(self._names)}"

    def _const(self, value: Any, prefix: str = "_c") -> str:
        key = id(value)
        if key not in self._consts or self._ns.get(self._consts[key]) is not value:
            name = self._name(prefix)
            self._ns[name] = value
            self._consts[key] = name
        return self._consts[key]

    def _literal(self, value: Any) -> str:
        """Source for a constant: a literal when it reads back identical, else a name."""
        if value.__class__ in (int, float) and value - value == 0:
            return repr(value)
        return self._const(value)

    def _fail(
        self, pad: str, errs: str, keyword: str, path: _Path, v: str, s: str, detail: str = "None"
    ) -> str:
        """The line that reports one failure: an appended raw error, or ``return False``."""
        if self._fast:
            return f"{pad}return False"
        return f"{pad}{errs}.append(({keyword!r}, {path.code()}, {v}, {s}, {detail}))"

    def _function(
        self, schema: Any, resolver: Resolver[Any], *, fast: bool, scoped: bool = False
    ) -> str:
        key = (id(schema), self._scope(resolver), fast)
        if key in self._functions:
            return self._functions[key]
        name = self._name("_p" if fast else "_f")
        self._functions[key] = name
        self._const(schema, "_s")  # keep the schema alive so its id stays unique
        outer, self._fast = self._fast, fast
        try:
            body = self._emit(schema, resolver, "x", _Path(), "errs", 1, scoped=scoped)
        finally:
            self._fast = outer
        if fast:
            source = "\n".join([f"def {name}(x):", *body, "    return True"])
        else:
            source = "\n".join([f"def {name}(x, path, errs):", *(body or ["    pass"])])
        self._pending.append(source)
        return name

    def _scope(self, resolver: Resolver[Any]) -> int | None:
        """Which scope ``resolver`` resolves in: the resource its ``#`` references land in
        (referencing keeps a resolver's base URI private; what it resolves to is public).
        ``None`` when the base URI names no resource of the registry."""
        try:
            resource = resolver.lookup("#").contents
        except referencing.exceptions.Unresolvable:
            return None
        self._const(resource, "_r")  # kept alive: its id stays this scope's
        return id(resource)

    def _predicate(self, schema: Any, resolver: Any) -> str:
        """Name of the predicate function for a subschema (compiled on demand)."""
        return self._function(schema, resolver, fast=True)

    # -- emission -------------------------------------------------------------------------

    def _emit(
        self,
        schema: Any,
        resolver: Resolver[Any],
        v: str,
        path: _Path,
        errs: str,
        ind: int,
        *,
        scoped: bool = False,
        known: frozenset[str] = frozenset(),
    ) -> list[str]:
        """Source lines checking ``v`` against ``schema``.

        ``scoped``: the schema's ``$id`` is already applied to ``resolver``; ``known``: the
        JSON types ``v`` is already known to have (so their tests are not repeated).
        """
        pad = "    " * ind
        if schema is True or (isinstance(schema, Mapping) and not schema):
            return []
        s = self._const(schema, "_s")
        if schema is False:
            return [self._fail(pad, errs, "false", path, v, s)]
        if not isinstance(schema, Mapping):
            raise TypeError(f"a schema must be an object or a boolean, not {schema!r}")
        if not scoped and isinstance(schema.get("$id"), str):
            resolver = resolver.in_subresource(
                referencing.jsonschema.DRAFT202012.create_resource(schema)
            )
        if _FALLBACK & schema.keys():
            return self._emit_fallback(schema, resolver, v, path, errs, pad)

        out: list[str] = []
        types = schema.get("type")
        type_names = [types] if isinstance(types, str) else list(types or [])
        inner = ind
        if type_names and not (
            known
            and all(t in type_names or (t == "integer" and "number" in type_names) for t in known)
        ):
            test = " or ".join(_TYPE_TESTS[t].format(v=v) for t in type_names)
            out.append(f"{pad}if not ({test}):")
            out.append(self._fail(pad + "    ", errs, "type", path, v, s))
            out.append(f"{pad}else:")
            inner = ind + 1
            known = frozenset(type_names)
        ipad = "    " * inner
        body: list[str] = []
        for group, (keywords, allowed) in _GROUPS.items():
            if not any(k in schema for k in keywords):
                continue
            if known and not allowed & _widen(known):
                continue  # the type check already refused every value these could apply to
            lines = getattr(self, f"_emit_{group}")(schema, resolver, v, path, errs, inner + 1, s)
            if not lines:
                continue
            if known and known <= allowed:
                body.extend(line[4:] for line in lines)  # type guaranteed: no second test
            else:
                body.append(f"{ipad}if {_TYPE_TESTS[group].format(v=v)}:")
                body.extend(lines)
        body.extend(self._emit_generic(schema, resolver, v, path, errs, inner, s, known))
        if inner != ind:
            body = body or [f"{ipad}pass"]
        out.extend(body)
        return out

    def _emit_fallback(
        self,
        schema: Mapping[str, Any],
        resolver: Resolver[Any],
        v: str,
        path: _Path,
        errs: str,
        pad: str,
    ) -> list[str]:
        if self._fallback is None:
            raise ValueError(f"unsupported keywords {sorted(_FALLBACK & schema.keys())}")
        collector = self._fallback(schema, resolver)
        name = self._const(collector, "_fb")
        if self._fast:
            scratch = self._name("_t")
            return [
                f"{pad}{scratch} = []",
                f"{pad}{name}({v}, (), {scratch})",
                f"{pad}if {scratch}:",
                f"{pad}    return False",
            ]
        return [f"{pad}{name}({v}, {path.code()}, {errs})"]

    def _emit_generic(
        self,
        schema: Mapping[str, Any],
        resolver: Any,
        v: str,
        path: _Path,
        errs: str,
        ind: int,
        s: str,
        known: frozenset[str],
    ) -> list[str]:
        pad, inner = "    " * ind, "    " * (ind + 1)
        out: list[str] = []
        if "const" in schema:
            out.append(f"{pad}if not ({self._equals(v, schema['const'], known)}):")
            out.append(self._fail(inner, errs, "const", path, v, s))
        if "enum" in schema:
            out.append(f"{pad}if not ({self._member(v, schema['enum'], known)}):")
            out.append(self._fail(inner, errs, "enum", path, v, s))
        if "$ref" in schema:
            out.extend(self._emit_ref(schema["$ref"], resolver, v, path, errs, ind))
        for sub in schema.get("allOf") or ():
            out.extend(self._emit(sub, resolver, v, path, errs, ind, known=known))
        if "anyOf" in schema:
            out.extend(self._emit_any_of(schema["anyOf"], resolver, v, path, errs, ind, s))
        if "oneOf" in schema:
            out.extend(self._emit_one_of(schema["oneOf"], resolver, v, path, errs, ind, s, known))
        if "not" in schema:
            out.append(f"{pad}if {self._predicate(schema['not'], resolver)}({v}):")
            out.append(self._fail(inner, errs, "not", path, v, s))
        if "if" in schema and ("then" in schema or "else" in schema):
            then = self._emit(schema.get("then", True), resolver, v, path, errs, ind + 1)
            other = self._emit(schema.get("else", True), resolver, v, path, errs, ind + 1)
            out.append(f"{pad}if {self._predicate(schema['if'], resolver)}({v}):")
            out.extend(then or [f"{inner}pass"])
            out.append(f"{pad}else:")
            out.extend(other or [f"{inner}pass"])
        return out

    def _emit_ref(
        self, ref: str, resolver: Resolver[Any], v: str, path: _Path, errs: str, ind: int
    ) -> list[str]:
        resolved = resolver.lookup(ref)
        target, target_resolver = resolved.contents, resolved.resolver
        if id(target) not in self._inlining:
            self._inlining.add(id(target))
            try:
                return self._emit(target, target_resolver, v, path, errs, ind, scoped=True)
            finally:
                self._inlining.discard(id(target))
        # Recursion: call the target's own function instead of inlining it again.
        name = self._function(target, target_resolver, fast=self._fast, scoped=True)
        pad = "    " * ind
        if self._fast:
            return [f"{pad}if not {name}({v}):", f"{pad}    return False"]
        return [f"{pad}{name}({v}, {path.code()}, {errs})"]

    def _emit_any_of(
        self,
        branches: Sequence[Any],
        resolver: Any,
        v: str,
        path: _Path,
        errs: str,
        ind: int,
        s: str,
    ) -> list[str]:
        pad = "    " * ind
        tests = [f"{self._predicate(b, resolver)}({v})" for b in branches]
        out = [f"{pad}if not ({' or '.join(tests)}):"]
        if self._fast:
            return [*out, f"{pad}    return False"]
        # Only on failure: every branch's own errors, for the message to choose from.
        details = []
        for branch in branches:
            scratch = self._name("_t")
            details.append(scratch)
            out.append(f"{pad}    {scratch} = []")
            out.extend(self._emit(branch, resolver, v, path, scratch, ind + 1))
        out.append(self._fail(pad + "    ", errs, "anyOf", path, v, s, f"({', '.join(details)},)"))
        return out

    def _emit_one_of(
        self,
        branches: Sequence[Any],
        resolver: Any,
        v: str,
        path: _Path,
        errs: str,
        ind: int,
        s: str,
        known: frozenset[str],
    ) -> list[str]:
        pad = "    " * ind
        consts = [
            b["const"]
            for b in branches
            if isinstance(b, Mapping) and "const" in b and not (b.keys() - _ANNOTATIONS - {"const"})
        ]
        if len(consts) == len(branches) and json_unique(consts):
            # Distinct consts: "exactly one matches" is plain membership.
            return [
                f"{pad}if not ({self._member(v, consts, known)}):",
                self._fail(pad + "    ", errs, "oneOf", path, v, s),
            ]
        count = self._name("_k")
        tests = " + ".join(f"bool({self._predicate(b, resolver)}({v}))" for b in branches)
        return [
            f"{pad}{count} = {tests}",
            f"{pad}if {count} != 1:",
            self._fail(pad + "    ", errs, "oneOf", path, v, s, f"({count}, ())"),
        ]

    def _equals(self, v: str, value: Any, known: frozenset[str]) -> str:
        if isinstance(value, str):
            literal = repr(value) if value.isascii() and len(value) < 80 else self._const(value)
            if known == {"string"}:
                return f"{v} == {literal}"
            return f"{v} == {literal} and isinstance({v}, str)"
        if value is True or value is False:
            return f"{v} is {value!r}"
        if value is None:
            return f"{v} is None"
        return f"_eq({v}, {self._const(value)})"

    def _member(self, v: str, values: Sequence[Any], known: frozenset[str]) -> str:
        if all(isinstance(x, str) for x in values):
            allowed = self._const(frozenset(values), "_enum")
            if known == {"string"}:
                return f"{v} in {allowed}"
            return f"isinstance({v}, str) and {v} in {allowed}"
        listed = self._const(tuple(values), "_enum")
        return f"any(_eq({v}, _x) for _x in {listed})"
