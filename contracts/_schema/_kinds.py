"""Emitters for the type-specific keywords: numbers, strings, arrays, objects.

A mixin of :class:`~contracts._schema._compile.SchemaCompiler`, split out only to keep each
file readable; it uses the compiler's plumbing (``_name``, ``_const``, ``_emit``, ``_fail``).
Every emitter returns source lines at indentation ``ind``; failures go through ``_fail``,
which appends a raw error in detailed mode and returns ``False`` in predicate mode.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import regress

from . import _numbers
from ._formats import FORMATS

if TYPE_CHECKING:
    from ._compile import _Path

__all__ = ["KindEmitters"]


class KindEmitters:
    """Source emitters for the keywords that apply to one JSON type each."""

    if TYPE_CHECKING:
        _fast: bool

        def _name(self, prefix: str) -> str: ...
        def _const(self, value: Any, prefix: str = "_c") -> str: ...
        def _literal(self, value: Any) -> str: ...
        def _fail(
            self,
            pad: str,
            errs: str,
            keyword: str,
            path: _Path,
            v: str,
            s: str,
            detail: str = "None",
        ) -> str: ...
        def _predicate(self, schema: Any, resolver: Any) -> str: ...
        def _emit(
            self,
            schema: Any,
            resolver: Any,
            v: str,
            path: _Path,
            errs: str,
            ind: int,
            *,
            scoped: bool = False,
            known: frozenset[str] = frozenset(),
        ) -> list[str]: ...

    def _emit_number(
        self,
        schema: Mapping[str, Any],
        resolver: Any,
        v: str,
        path: _Path,
        errs: str,
        ind: int,
        s: str,
    ) -> list[str]:
        pad = "    " * ind
        out: list[str] = []
        comparisons = {
            "minimum": "<",
            "exclusiveMinimum": "<=",
            "maximum": ">",
            "exclusiveMaximum": ">=",
        }
        for keyword, op in comparisons.items():
            if keyword not in schema:
                continue
            bound = schema[keyword]
            lhs = f"_dec({v})" if _numbers.needs_decimal(bound) else v
            rhs = self._literal(_numbers.as_decimal(bound) if lhs != v else bound)
            out.append(f"{pad}if {lhs} {op} {rhs}:")
            out.append(self._fail(pad + "    ", errs, keyword, path, v, s))
        if "multipleOf" in schema:
            predicate = _numbers.make_multiple_of(schema["multipleOf"])
            check = self._const(predicate, "_mul")
            places = getattr(predicate, "places", None)
            if places is not None:
                # round() on a float works on its shortest decimal: exact, and no call into
                # Python code on the valid path. Decimals keep the general predicate.
                test = (
                    f"(round({v}, {places}) == {v} if {v}.__class__ is not Decimal "
                    f"else {check}({v}))"
                )
                if places <= _numbers.SCALED_PLACES:
                    test = f"({_numbers.scaled_multiple(v, places)} or {test})"
            else:
                test = f"{check}({v})"
            out.append(f"{pad}if not {test}:")
            out.append(self._fail(pad + "    ", errs, "multipleOf", path, v, s))
        return out

    def _emit_string(
        self,
        schema: Mapping[str, Any],
        resolver: Any,
        v: str,
        path: _Path,
        errs: str,
        ind: int,
        s: str,
    ) -> list[str]:
        pad, inner = "    " * ind, "    " * (ind + 1)
        out: list[str] = []
        low, high = schema.get("minLength"), schema.get("maxLength")
        if low == 1 and high is None:
            out.append(f"{pad}if not {v}:")  # an empty string is the only failure
            out.append(self._fail(inner, errs, "minLength", path, v, s))
        elif low is not None or high is not None:
            n = self._name("_n")
            out.append(f"{pad}{n} = len({v})")
            if low is not None:
                out.append(f"{pad}if {n} < {int(low)}:")
                out.append(self._fail(inner, errs, "minLength", path, v, s))
            if high is not None:
                out.append(f"{pad}if {n} > {int(high)}:")
                out.append(self._fail(inner, errs, "maxLength", path, v, s))
        if "pattern" in schema:
            regex = self._const(regress.Regex(schema["pattern"], "u").find, "_re")
            out.append(f"{pad}if {regex}({v}) is None:")
            out.append(self._fail(inner, errs, "pattern", path, v, s))
        checker = FORMATS.get(schema.get("format", ""))
        if checker is not None:
            fmt = self._const(checker, "_fmt")
            out.append(f"{pad}if not {fmt}({v}):")
            out.append(self._fail(inner, errs, "format", path, v, s))
        return out

    def _emit_array(
        self,
        schema: Mapping[str, Any],
        resolver: Any,
        v: str,
        path: _Path,
        errs: str,
        ind: int,
        s: str,
    ) -> list[str]:
        pad, inner = "    " * ind, "    " * (ind + 1)
        out: list[str] = []
        if "minItems" in schema:
            out.append(f"{pad}if len({v}) < {int(schema['minItems'])}:")
            out.append(self._fail(inner, errs, "minItems", path, v, s))
        if "maxItems" in schema:
            out.append(f"{pad}if len({v}) > {int(schema['maxItems'])}:")
            out.append(self._fail(inner, errs, "maxItems", path, v, s))
        if schema.get("uniqueItems") is True:
            out.append(f"{pad}if not _unique({v}):")
            out.append(self._fail(inner, errs, "uniqueItems", path, v, s))
        prefix = list(schema.get("prefixItems") or ())
        for index, sub in enumerate(prefix):
            item = self._name("_v")
            lines = self._emit(sub, resolver, item, path + str(index), errs, ind + 1)
            if lines:
                out.append(f"{pad}if len({v}) > {index}:")
                out.append(f"{inner}{item} = {v}[{index}]")
                out.extend(lines)
        items = schema.get("items", True)
        if items is not True and items != {}:
            i, item = self._name("_i"), self._name("_v")
            start = len(prefix)
            lines = self._emit(items, resolver, item, path + i, errs, ind + 1)
            if lines and self._fast:  # a predicate reports no path: no index to count
                out.append(f"{pad}for {item} in {f'{v}[{start}:]' if start else v}:")
                out.extend(lines)
            elif lines:
                source = f"enumerate({v}[{start}:], {start})" if start else f"enumerate({v})"
                out.append(f"{pad}for {i}, {item} in {source}:")
                out.extend(lines)
        if "contains" in schema:
            out.extend(self._emit_contains(schema, resolver, v, path, errs, ind, s))
        return out

    def _emit_contains(
        self,
        schema: Mapping[str, Any],
        resolver: Any,
        v: str,
        path: _Path,
        errs: str,
        ind: int,
        s: str,
    ) -> list[str]:
        pad, inner = "    " * ind, "    " * (ind + 1)
        count = self._name("_k")
        test = self._predicate(schema["contains"], resolver)
        out = [
            f"{pad}{count} = sum(1 for _x in {v} if {test}(_x))",
            f"{pad}if {count} < {int(schema.get('minContains', 1))}:",
            self._fail(inner, errs, "contains", path, v, s, count),
        ]
        if "maxContains" in schema:
            out.append(f"{pad}if {count} > {int(schema['maxContains'])}:")
            out.append(self._fail(inner, errs, "maxContains", path, v, s, count))
        return out

    def _emit_object(
        self,
        schema: Mapping[str, Any],
        resolver: Any,
        v: str,
        path: _Path,
        errs: str,
        ind: int,
        s: str,
    ) -> list[str]:
        pad, inner = "    " * ind, "    " * (ind + 1)
        out: list[str] = []
        props: Mapping[str, Any] = schema.get("properties") or {}
        required = list(dict.fromkeys(schema.get("required") or ()))
        if self._fast:
            out.extend(self._emit_properties_fast(props, required, resolver, v, path, errs, ind))
        get = f"{v}.get"
        if len(props) > 3 and not self._fast:  # binding pays off over several lookups
            get = self._name("_get")
            out.append(f"{pad}{get} = {v}.get")
        for name in required if not self._fast else ():
            if name not in props:
                out.append(f"{pad}if {name!r} not in {v}:")
                out.append(self._fail(inner, errs, "required", path + repr(name), v, s, repr(name)))
        for name, sub in props.items() if not self._fast else ():
            item = self._name("_v")
            lines = self._emit(sub, resolver, item, path + repr(name), errs, ind + 1)
            if name in required:
                out.append(f"{pad}{item} = {get}({name!r}, _M)")
                out.append(f"{pad}if {item} is _M:")
                out.append(self._fail(inner, errs, "required", path + repr(name), v, s, repr(name)))
                if lines:
                    out.append(f"{pad}else:")
                    out.extend(lines)
            elif lines:
                out.append(f"{pad}{item} = {get}({name!r}, _M)")
                out.append(f"{pad}if {item} is not _M:")
                out.extend(lines)
        if "minProperties" in schema:
            out.append(f"{pad}if len({v}) < {int(schema['minProperties'])}:")
            out.append(self._fail(inner, errs, "minProperties", path, v, s))
        if "maxProperties" in schema:
            out.append(f"{pad}if len({v}) > {int(schema['maxProperties'])}:")
            out.append(self._fail(inner, errs, "maxProperties", path, v, s))
        for name, needed in (schema.get("dependentRequired") or {}).items():
            for other in needed:
                out.append(f"{pad}if {name!r} in {v} and {other!r} not in {v}:")
                out.append(
                    self._fail(
                        inner, errs, "dependentRequired", path + repr(other), v, s, repr(name)
                    )
                )
        for name, sub in (schema.get("dependentSchemas") or {}).items():
            lines = self._emit(sub, resolver, v, path, errs, ind + 1)
            if lines:
                out.append(f"{pad}if {name!r} in {v}:")
                out.extend(lines)
        out.extend(self._emit_keys(schema, resolver, v, path, errs, ind, s, props))
        return out

    def _emit_properties_fast(
        self,
        props: Mapping[str, Any],
        required: list[str],
        resolver: Any,
        v: str,
        path: _Path,
        errs: str,
        ind: int,
    ) -> list[str]:
        """A predicate's ``required`` and ``properties``: ``in`` and a subscript, which cost
        less than a ``get`` (a method call) for a property sent and for one left out."""
        pad, inner = "    " * ind, "    " * (ind + 1)
        out: list[str] = []
        for name in required:
            if name not in props:
                out.append(f"{pad}if {name!r} not in {v}:")
                out.append(f"{inner}return False")
        for name, sub in props.items():
            item = self._name("_v")
            lines = self._emit(sub, resolver, item, path + repr(name), errs, ind + 1)
            if name in required:
                out.append(f"{pad}if {name!r} not in {v}:")
                out.append(f"{inner}return False")
            if lines:
                out.append(f"{pad}if {name!r} in {v}:" if name not in required else f"{pad}else:")
                out.append(f"{inner}{item} = {v}[{name!r}]")
                out.extend(lines)
        return out

    def _emit_keys(
        self,
        schema: Mapping[str, Any],
        resolver: Any,
        v: str,
        path: _Path,
        errs: str,
        ind: int,
        s: str,
        props: Mapping[str, Any],
    ) -> list[str]:
        """patternProperties, additionalProperties and propertyNames: loops over the keys."""
        pad = "    " * ind
        patterns = schema.get("patternProperties") or {}
        additional = schema.get("additionalProperties", True)
        names = schema.get("propertyNames", True)
        if not patterns and additional is True and names is True:
            return []
        known = self._const(frozenset(props), "_keys")
        if not patterns and names is True and additional is False:
            # The valid path: one C-level subset test instead of a Python loop.
            out = [f"{pad}if not {known}.issuperset({v}):"]
            if self._fast:
                return [*out, f"{pad}    return False"]
            key = self._name("_key")
            return [
                *out,
                f"{pad}    for {key} in {v}:",
                f"{pad}        if {key} not in {known}:",
                self._fail(
                    pad + "            ", errs, "additionalProperties", path + key, v, s, key
                ),
            ]
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
            if additional is False:
                lines = [
                    self._fail(
                        pad + "        ", errs, "additionalProperties", path + key, v, s, key
                    )
                ]
            else:
                lines = self._emit(additional, resolver, item, path + key, errs, ind + 2)
            cond = f"{key} not in {known}" + (f" and not {matched}" if matched else "")
            loop.append(f"{pad}    if {cond}:")
            loop.extend(lines or [f"{pad}        pass"])
        if names is not True:
            test = self._predicate(names, resolver)
            loop.append(f"{pad}    if not {test}({key}):")
            loop.append(self._fail(pad + "        ", errs, "propertyNames", path + key, v, s, key))
        return [f"{pad}for {key}, {item} in {v}.items():", *loop]
