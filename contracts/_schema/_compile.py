"""Compile a JSON Schema 2020-12 schema into Python source, then into one function.

Why generated code: a tree of closures costs a call per keyword; generated code inlines a
whole task schema into one function whose valid path is a few dozen comparisons, which is
what lets a pre-request check cost about as much as parsing the JSON. The generated function
collects *every* error as a raw tuple ``(keyword, path, instance, schema, detail)``; turning
those into actionable violations happens later and only on failure (``_messages``).

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
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import referencing
import referencing.jsonschema
import regress
from referencing._core import Resolver

from . import _numbers
from ._equality import json_equal, json_unique
from ._formats import FORMATS

__all__ = ["RawError", "SchemaCompiler", "Validate"]

RawError = tuple[str, tuple[Any, ...], Any, Any, Any]
Validate = Callable[[Any, tuple[Any, ...], list[RawError]], None]

_MISSING = object()

# Keywords that say nothing about validity.
_ANNOTATIONS = frozenset({
    "$schema", "$id", "$anchor", "$dynamicAnchor", "$vocabulary", "$comment", "$defs",
    "definitions", "title", "description", "default", "examples", "deprecated", "readOnly",
    "writeOnly", "contentEncoding", "contentMediaType", "contentSchema", "discriminator",
    "xml", "externalDocs", "example",
})
_FALLBACK = frozenset({"unevaluatedProperties", "unevaluatedItems", "$dynamicRef",
                       "$recursiveRef"})

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
_NUMERIC = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")
_STRING = ("minLength", "maxLength", "pattern", "format")
_ARRAY = ("items", "prefixItems", "minItems", "maxItems", "uniqueItems", "contains")
_OBJECT = ("properties", "required", "additionalProperties", "patternProperties",
           "propertyNames", "minProperties", "maxProperties", "dependentRequired",
           "dependentSchemas")


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


class SchemaCompiler:
    """Compiles schemas that live in one ``referencing`` registry into validators.

    Args:
        registry: where ``$ref`` targets are looked up.
        fallback: builds a validator for a schema node that uses keywords this compiler hands
            to ``jsonschema`` (see the module docstring); ``None`` refuses such schemas.
    """

    def __init__(self, registry: referencing.Registry[Any], *,
                 fallback: Callable[[Any, Resolver[Any]], Validate] | None = None
                 ) -> None:
        self._registry = registry
        self._fallback = fallback
        self._ns: dict[str, Any] = {
            "_isnum": _numbers.is_number, "_isint": _numbers.is_integer,
            "_dec": _numbers.as_decimal, "_eq": json_equal, "_unique": json_unique,
            "_M": _MISSING, "Decimal": Decimal,
        }
        self._names = itertools.count()
        self._consts: dict[int, str] = {}
        self._functions: dict[tuple[int, str], str] = {}
        self._inlining: set[int] = set()
        self._pending: list[str] = []

    def compile(self, schema: Any, *, base_uri: str = "") -> Validate:
        """Compile ``schema`` (resolved against ``base_uri``) into ``f(instance, path, errs)``."""
        resolver = self._registry.resolver(base_uri=base_uri)
        name = self._function(schema, resolver)
        self._flush()
        function: Validate = self._ns[name]
        return function

    # -- plumbing -------------------------------------------------------------------------

    def _name(self, prefix: str) -> str:
        return f"{prefix}{next(self._names)}"

    def _const(self, value: Any, prefix: str = "_c") -> str:
        key = id(value)
        if key not in self._consts or self._ns.get(self._consts[key]) is not value:
            name = self._name(prefix)
            self._ns[name] = value
            self._consts[key] = name
        return self._consts[key]

    def _flush(self) -> None:
        while self._pending:
            source = self._pending.pop()
            exec(compile(source, "<runware-contract-kit schema>", "exec"), self._ns)

    def _function(self, schema: Any, resolver: Resolver[Any], *,
                  scoped: bool = False) -> str:
        key = (id(schema), str(getattr(resolver, "_base_uri", "")))
        if key in self._functions:
            return self._functions[key]
        name = self._name("_f")
        self._functions[key] = name
        self._const(schema, "_s")  # keep the schema alive so its id stays unique
        body = self._emit(schema, resolver, "x", _Path(), "errs", 1, scoped=scoped)
        source = "\n".join([f"def {name}(x, path, errs):", *(body or ["    pass"])])
        self._pending.append(source)
        return name

    # -- emission -------------------------------------------------------------------------

    def _emit(self, schema: Any, resolver: Resolver[Any], v: str, path: _Path,
              errs: str, ind: int, *, scoped: bool = False,
              known: frozenset[str] = frozenset()) -> list[str]:
        """Source lines checking ``v`` against ``schema``.

        ``scoped``: the schema's ``$id`` is already applied to ``resolver``; ``known``: the
        JSON types ``v`` is already known to have (so their tests are not repeated).
        """
        pad = "    " * ind
        if schema is True or (isinstance(schema, Mapping) and not schema):
            return []
        s = self._const(schema, "_s")
        if schema is False:
            return [f"{pad}{errs}.append(('false', {path.code()}, {v}, {s}, None))"]
        if not isinstance(schema, Mapping):
            raise TypeError(f"a schema must be an object or a boolean, not {schema!r}")
        if not scoped and isinstance(schema.get("$id"), str):
            resolver = resolver.in_subresource(
                referencing.jsonschema.DRAFT202012.create_resource(schema))
        if _FALLBACK & schema.keys():
            if self._fallback is None:
                raise ValueError(f"unsupported keywords {sorted(_FALLBACK & schema.keys())}")
            name = self._const(self._fallback(schema, resolver), "_fb")
            return [f"{pad}{name}({v}, {path.code()}, {errs})"]

        out: list[str] = []
        types = schema.get("type")
        groups = {
            "number": [k for k in _NUMERIC if k in schema],
            "string": [k for k in _STRING if k in schema],
            "array": [k for k in _ARRAY if k in schema],
            "object": [k for k in _OBJECT if k in schema],
        }
        type_names = [types] if isinstance(types, str) else list(types or [])
        if types is not None and not (known and all(
                t in type_names or (t == "integer" and "number" in type_names) for t in known)):
            test = " or ".join(_TYPE_TESTS[t].format(v=v) for t in type_names)
            out.append(f"{pad}if not ({test}):")
            out.append(f"{pad}    {errs}.append(('type', {path.code()}, {v}, {s}, None))")
            out.append(f"{pad}else:")
            inner = ind + 1
            known = frozenset(type_names)
        else:
            inner = ind
            types = None
        ipad = "    " * inner
        body: list[str] = []
        for group, keywords in groups.items():
            if not keywords:
                continue
            allowed = {"number": {"number", "integer"}, "string": {"string"},
                       "array": {"array"}, "object": {"object"}}[group]
            if known and not allowed & _widen(known):
                continue  # the type check already refused every value these could apply to
            emit_group = getattr(self, f"_emit_{group}")
            lines = emit_group(schema, resolver, v, path, errs, inner + 1, s)
            if not lines:
                continue
            if known and known <= allowed:
                body.extend(line[4:] for line in lines)  # type guaranteed: no second test
            else:
                guard = _TYPE_TESTS["number" if group == "number" else group].format(v=v)
                body.append(f"{ipad}if {guard}:")
                body.extend(lines)
        body.extend(self._emit_generic(schema, resolver, v, path, errs, inner, s, known))
        if types is not None:
            out.extend(body or [f"{ipad}pass"])
        else:
            out.extend(body)
        return out

    def _emit_number(self, schema: Mapping[str, Any], resolver: Any, v: str, path: _Path,
                     errs: str, ind: int, s: str) -> list[str]:
        pad = "    " * ind
        out: list[str] = []
        comparisons = {"minimum": "<", "exclusiveMinimum": "<=", "maximum": ">",
                       "exclusiveMaximum": ">="}
        for keyword, op in comparisons.items():
            if keyword not in schema:
                continue
            bound = schema[keyword]
            lhs = f"_dec({v})" if _numbers.needs_decimal(bound) else v
            rhs = self._literal(_numbers.as_decimal(bound) if lhs != v else bound)
            out.append(f"{pad}if {lhs} {op} {rhs}:")
            out.append(f"{pad}    {errs}.append(({keyword!r}, {path.code()}, {v}, {s}, None))")
        if "multipleOf" in schema:
            predicate = _numbers.make_multiple_of(schema["multipleOf"])
            check = self._const(predicate, "_mul")
            places = getattr(predicate, "places", None)
            if places is not None:
                # round() on a float works on its shortest decimal: exact, and no call into
                # Python code on the valid path. Decimals keep the general predicate.
                test = (f"(round({v}, {places}) == {v} if {v}.__class__ is not Decimal "
                        f"else {check}({v}))")
            else:
                test = f"{check}({v})"
            out.append(f"{pad}if not {test}:")
            out.append(f"{pad}    {errs}.append(('multipleOf', {path.code()}, {v}, {s}, None))")
        return out

    def _emit_string(self, schema: Mapping[str, Any], resolver: Any, v: str, path: _Path,
                     errs: str, ind: int, s: str) -> list[str]:
        pad = "    " * ind
        out: list[str] = []
        if "minLength" in schema or "maxLength" in schema:
            n = self._name("_n")
            out.append(f"{pad}{n} = len({v})")
            if "minLength" in schema and schema["minLength"] == 1 and "maxLength" not in schema:
                out.pop()  # no length needed: an empty string is the only failure
                out.append(f"{pad}if not {v}:")
                out.append(f"{pad}    {errs}.append(('minLength', {path.code()}, {v}, {s}, None))")
            elif "minLength" in schema:
                out.append(f"{pad}if {n} < {int(schema['minLength'])}:")
                out.append(f"{pad}    {errs}.append(('minLength', {path.code()}, {v}, {s}, None))")
            if "maxLength" in schema:
                out.append(f"{pad}if {n} > {int(schema['maxLength'])}:")
                out.append(f"{pad}    {errs}.append(('maxLength', {path.code()}, {v}, {s}, None))")
        if "pattern" in schema:
            regex = self._const(regress.Regex(schema["pattern"], "u").find, "_re")
            out.append(f"{pad}if {regex}({v}) is None:")
            out.append(f"{pad}    {errs}.append(('pattern', {path.code()}, {v}, {s}, None))")
        checker = FORMATS.get(schema.get("format", ""))
        if checker is not None:
            fmt = self._const(checker, "_fmt")
            out.append(f"{pad}if not {fmt}({v}):")
            out.append(f"{pad}    {errs}.append(('format', {path.code()}, {v}, {s}, None))")
        return out

    def _emit_array(self, schema: Mapping[str, Any], resolver: Any, v: str, path: _Path,
                    errs: str, ind: int, s: str) -> list[str]:
        pad = "    " * ind
        out: list[str] = []
        if "minItems" in schema:
            out.append(f"{pad}if len({v}) < {int(schema['minItems'])}:")
            out.append(f"{pad}    {errs}.append(('minItems', {path.code()}, {v}, {s}, None))")
        if "maxItems" in schema:
            out.append(f"{pad}if len({v}) > {int(schema['maxItems'])}:")
            out.append(f"{pad}    {errs}.append(('maxItems', {path.code()}, {v}, {s}, None))")
        if schema.get("uniqueItems") is True:
            out.append(f"{pad}if not _unique({v}):")
            out.append(f"{pad}    {errs}.append(('uniqueItems', {path.code()}, {v}, {s}, None))")
        prefix = list(schema.get("prefixItems") or ())
        for index, sub in enumerate(prefix):
            item = self._name("_v")
            lines = self._emit(sub, resolver, item, path + str(index), errs, ind + 1)
            if lines:
                out.append(f"{pad}if len({v}) > {index}:")
                out.append(f"{pad}    {item} = {v}[{index}]")
                out.extend(lines)
        items = schema.get("items", True)
        if items is not True and items != {}:
            i, item = self._name("_i"), self._name("_v")
            start = len(prefix)
            source = f"enumerate({v}[{start}:], {start})" if start else f"enumerate({v})"
            lines = self._emit(items, resolver, item, path + i, errs, ind + 1)
            if lines:
                out.append(f"{pad}for {i}, {item} in {source}:")
                out.extend(lines)
        if "contains" in schema:
            out.extend(self._emit_contains(schema, resolver, v, path, errs, ind, s))
        return out

    def _emit_contains(self, schema: Mapping[str, Any], resolver: Any, v: str, path: _Path,
                       errs: str, ind: int, s: str) -> list[str]:
        pad = "    " * ind
        i, item, count, scratch = (self._name(p) for p in ("_i", "_v", "_k", "_t"))
        lines = self._emit(schema["contains"], resolver, item, path + i, scratch, ind + 1)
        low = schema.get("minContains", 1)
        out = [f"{pad}{count} = 0", f"{pad}for {i}, {item} in enumerate({v}):",
               f"{pad}    {scratch} = []", *lines,
               f"{pad}    if not {scratch}:", f"{pad}        {count} += 1"]
        out.append(f"{pad}if {count} < {int(low)}:")
        out.append(f"{pad}    {errs}.append(('contains', {path.code()}, {v}, {s}, {count}))")
        if "maxContains" in schema:
            out.append(f"{pad}if {count} > {int(schema['maxContains'])}:")
            out.append(f"{pad}    {errs}.append(('maxContains', {path.code()}, {v}, {s}, {count}))")
        return out

    def _emit_object(self, schema: Mapping[str, Any], resolver: Any, v: str, path: _Path,
                     errs: str, ind: int, s: str) -> list[str]:
        pad = "    " * ind
        out: list[str] = []
        props: Mapping[str, Any] = schema.get("properties") or {}
        required = list(dict.fromkeys(schema.get("required") or ()))
        get = f"{v}.get"
        if len(props) > 3:  # binding the method once pays off only over several lookups
            get = self._name("_get")
            out.append(f"{pad}{get} = {v}.get")
        for name in required:
            if name not in props:
                out.append(f"{pad}if {name!r} not in {v}:")
                out.append(f"{pad}    {errs}.append(('required', {(path + repr(name)).code()}, "
                           f"{v}, {s}, {name!r}))")
        for name, sub in props.items():
            item = self._name("_v")
            lines = self._emit(sub, resolver, item, path + repr(name), errs, ind + 1)
            if name in required:
                out.append(f"{pad}{item} = {get}({name!r}, _M)")
                out.append(f"{pad}if {item} is _M:")
                out.append(f"{pad}    {errs}.append(('required', {(path + repr(name)).code()}, "
                           f"{v}, {s}, {name!r}))")
                if lines:
                    out.append(f"{pad}else:")
                    out.extend(lines)
            elif lines:
                out.append(f"{pad}{item} = {get}({name!r}, _M)")
                out.append(f"{pad}if {item} is not _M:")
                out.extend(lines)
        if "minProperties" in schema:
            out.append(f"{pad}if len({v}) < {int(schema['minProperties'])}:")
            out.append(f"{pad}    {errs}.append(('minProperties', {path.code()}, {v}, {s}, None))")
        if "maxProperties" in schema:
            out.append(f"{pad}if len({v}) > {int(schema['maxProperties'])}:")
            out.append(f"{pad}    {errs}.append(('maxProperties', {path.code()}, {v}, {s}, None))")
        for name, needed in (schema.get("dependentRequired") or {}).items():
            for other in needed:
                out.append(f"{pad}if {name!r} in {v} and {other!r} not in {v}:")
                out.append(f"{pad}    {errs}.append(('dependentRequired', "
                           f"{(path + repr(other)).code()}, {v}, {s}, {name!r}))")
        for name, sub in (schema.get("dependentSchemas") or {}).items():
            lines = self._emit(sub, resolver, v, path, errs, ind + 1)
            if lines:
                out.append(f"{pad}if {name!r} in {v}:")
                out.extend(lines)
        out.extend(self._emit_keys(schema, resolver, v, path, errs, ind, s, props))
        return out

    def _emit_keys(self, schema: Mapping[str, Any], resolver: Any, v: str, path: _Path,
                   errs: str, ind: int, s: str, props: Mapping[str, Any]) -> list[str]:
        """patternProperties, additionalProperties and propertyNames: loops over the keys."""
        pad = "    " * ind
        patterns = schema.get("patternProperties") or {}
        additional = schema.get("additionalProperties", True)
        names = schema.get("propertyNames", True)
        if not patterns and additional is True and names is True:
            return []
        known = self._const(frozenset(props), "_keys")
        key, item = self._name("_key"), self._name("_v")
        loop: list[str] = []
        matched = self._name("_hit") if patterns and additional is not True else None
        if matched:
            loop.append(f"{pad}    {matched} = False")
        for pattern, sub in patterns.items():
            regex = self._const(regress.Regex(pattern, "u").find, "_re")
            lines = self._emit(sub, resolver, item, path + key, errs, ind + 2)
            loop.append(f"{pad}    if {regex}({key}) is not None:")
            if matched:
                loop.append(f"{pad}        {matched} = True")
            loop.extend(lines)
            if not lines and not matched:
                loop.append(f"{pad}        pass")
        if additional is not True:
            lines = self._emit(additional, resolver, item, path + key, errs, ind + 2)
            if additional is False or additional == {"not": {}}:
                lines = [f"{pad}        {errs}.append(('additionalProperties', "
                         f"{(path + key).code()}, {v}, {s}, {key}))"]
            cond = f"{key} not in {known}" + (f" and not {matched}" if matched else "")
            loop.append(f"{pad}    if {cond}:")
            loop.extend(lines or [f"{pad}        pass"])
        if names is not True:
            scratch = self._name("_t")
            lines = self._emit(names, resolver, key, path + key, scratch, ind + 1)
            loop.append(f"{pad}    {scratch} = []")
            loop.extend(lines)
            loop.append(f"{pad}    if {scratch}:")
            loop.append(f"{pad}        {errs}.append(('propertyNames', {(path + key).code()}, "
                        f"{v}, {s}, {scratch}))")
        out = []
        only_additional = not patterns and names is True and additional is not True
        if only_additional:
            # The valid path: one C-level subset test instead of a Python loop.
            out.append(f"{pad}if not {known}.issuperset({v}):")
            pad2 = pad + "    "
            out.append(f"{pad2}for {key}, {item} in {v}.items():")
            out.extend("    " + line for line in loop)
        else:
            out.append(f"{pad}for {key}, {item} in {v}.items():")
            out.extend(loop)
        return out

    def _emit_generic(self, schema: Mapping[str, Any], resolver: Any, v: str, path: _Path,
                      errs: str, ind: int, s: str, known: frozenset[str]) -> list[str]:
        pad = "    " * ind
        out: list[str] = []
        if "const" in schema:
            out.append(f"{pad}if not ({self._equals(v, schema['const'], known)}):")
            out.append(f"{pad}    {errs}.append(('const', {path.code()}, {v}, {s}, None))")
        if "enum" in schema:
            out.append(f"{pad}if not ({self._member(v, schema['enum'], known)}):")
            out.append(f"{pad}    {errs}.append(('enum', {path.code()}, {v}, {s}, None))")
        if "$ref" in schema:
            out.extend(self._emit_ref(schema["$ref"], resolver, v, path, errs, ind))
        for sub in schema.get("allOf") or ():
            out.extend(self._emit(sub, resolver, v, path, errs, ind, known=known))
        if "anyOf" in schema:
            out.extend(self._emit_any_of(schema["anyOf"], resolver, v, path, errs, ind, s,
                                         known))
        if "oneOf" in schema:
            out.extend(self._emit_one_of(schema["oneOf"], resolver, v, path, errs, ind, s,
                                         known))
        if "not" in schema:
            scratch = self._name("_t")
            out.append(f"{pad}{scratch} = []")
            out.extend(self._emit(schema["not"], resolver, v, path, scratch, ind))
            out.append(f"{pad}if not {scratch}:")
            out.append(f"{pad}    {errs}.append(('not', {path.code()}, {v}, {s}, None))")
        if "if" in schema and ("then" in schema or "else" in schema):
            scratch = self._name("_t")
            out.append(f"{pad}{scratch} = []")
            out.extend(self._emit(schema["if"], resolver, v, path, scratch, ind))
            then = self._emit(schema.get("then", True), resolver, v, path, errs, ind + 1)
            other = self._emit(schema.get("else", True), resolver, v, path, errs, ind + 1)
            out.append(f"{pad}if not {scratch}:")
            out.extend(then or [f"{pad}    pass"])
            out.append(f"{pad}else:")
            out.extend(other or [f"{pad}    pass"])
        return out

    def _emit_ref(self, ref: str, resolver: Resolver[Any], v: str, path: _Path,
                  errs: str, ind: int) -> list[str]:
        resolved = resolver.lookup(ref)
        target, target_resolver = resolved.contents, resolved.resolver
        if id(target) not in self._inlining:
            self._inlining.add(id(target))
            try:
                return self._emit(target, target_resolver, v, path, errs, ind, scoped=True)
            finally:
                self._inlining.discard(id(target))
        name = self._function(target, target_resolver, scoped=True)
        return [f"{'    ' * ind}{name}({v}, {path.code()}, {errs})"]

    def _branch_errors(self, branches: Sequence[Any], resolver: Any, v: str, path: _Path,
                       ind: int, known: frozenset[str]) -> tuple[list[str], list[list[str]]]:
        names = [self._name("_t") for _ in branches]
        bodies = [self._emit(b, resolver, v, path, n, ind, known=known)
                  for b, n in zip(branches, names, strict=True)]
        return names, bodies

    def _emit_any_of(self, branches: Sequence[Any], resolver: Any, v: str, path: _Path,
                     errs: str, ind: int, s: str, known: frozenset[str]) -> list[str]:
        out: list[str] = []
        names: list[str] = []
        depth = ind
        for branch in branches:
            pad = "    " * depth
            scratch = self._name("_t")
            names.append(scratch)
            out.append(f"{pad}{scratch} = []")
            out.extend(self._emit(branch, resolver, v, path, scratch, depth, known=known))
            out.append(f"{pad}if {scratch}:")
            depth += 1
        pad = "    " * depth
        detail = f"({', '.join(names)},)"
        out.append(f"{pad}{errs}.append(('anyOf', {path.code()}, {v}, {s}, {detail}))")
        return out

    def _emit_one_of(self, branches: Sequence[Any], resolver: Any, v: str, path: _Path,
                     errs: str, ind: int, s: str, known: frozenset[str]) -> list[str]:
        pad = "    " * ind
        consts = [b["const"] for b in branches
                  if isinstance(b, Mapping) and "const" in b
                  and not (b.keys() - _ANNOTATIONS - {"const"})]
        if len(consts) == len(branches) and json_unique(consts):
            # Distinct consts: "exactly one matches" is plain membership.
            return [f"{pad}if not ({self._member(v, consts, known)}):",
                    f"{pad}    {errs}.append(('oneOf', {path.code()}, {v}, {s}, None))"]
        count = self._name("_k")
        out = [f"{pad}{count} = 0"]
        names, bodies = self._branch_errors(branches, resolver, v, path, ind, known)
        for scratch, body in zip(names, bodies, strict=True):
            out.append(f"{pad}{scratch} = []")
            out.extend(body)
            out.append(f"{pad}if not {scratch}:")
            out.append(f"{pad}    {count} += 1")
        detail = f"({count}, ({', '.join(names)},))"
        out.append(f"{pad}if {count} != 1:")
        out.append(f"{pad}    {errs}.append(('oneOf', {path.code()}, {v}, {s}, {detail}))")
        return out

    def _literal(self, value: Any) -> str:
        """Source for a constant: a literal when it reads back identical, else a name."""
        if value.__class__ in (int, float) and value - value == 0:
            return repr(value)
        return self._const(value)

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
