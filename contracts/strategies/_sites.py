"""The rules of a task schema that ``invalid_requests()`` breaks, one *site* each.

A site is where (a path inside a task), which keyword, and the schema it sits in. The walk
follows ``$ref``s and the document's order; it does not enter ``anyOf``/``oneOf`` branches
(a rule inside one is broken as "no branch matches") and leaves out limits nothing can break
(``minLength: 0``, ``multipleOf: 1`` on integers, a format the kit does not check).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from contracts._schema._formats import FORMATS
from openapi import Spec

if TYPE_CHECKING:  # referencing exports no Resolver; annotations only
    from referencing._core import Resolver

__all__ = ["Site", "sites"]

_UNKNOWN_KEY = "unexpectedParameter"


@dataclass(frozen=True, slots=True)
class Site:
    """One breakable rule: where (a path inside a task), which keyword, and how."""

    path: tuple[str | int, ...]
    keyword: str
    schema: Any = None  # the schema of the value at ``path`` (the parent's for
    resolver: Any = None  # "required" and "additionalProperties")
    name: str | None = None  # the property a "required" site removes

    @property
    def label(self) -> str:
        where = "/".join(str(p) for p in self.path)
        return f"{self.keyword}@/{where}"


def sites(spec: Spec, task_type: str | None = None) -> tuple[Site, ...]:
    """Every breakable rule of one task schema, in document order (memoized on the spec)."""
    chosen = task_type or spec.inference_task_type
    key = ("invalid-sites", chosen)
    found: tuple[Site, ...] | None = spec.memo.get(key)
    if found is None:
        resolver = spec.registry.resolver(base_uri=spec.document_uri)
        found = tuple(_walk(spec.task_schema(chosen), resolver, ()))
        spec.memo[key] = found
    return found


def _resolve(schema: Any, resolver: Resolver[Any]) -> tuple[Any, Resolver[Any]]:
    while isinstance(schema, Mapping) and "$ref" in schema:
        resolved = resolver.lookup(schema["$ref"])
        rest = {k: v for k, v in schema.items() if k != "$ref"}
        schema, resolver = (
            {**resolved.contents, **rest} if rest else resolved.contents,
            resolved.resolver,
        )
    return schema, resolver


def _walk(schema: Any, resolver: Resolver[Any], path: tuple[str | int, ...]) -> Iterator[Site]:
    schema, resolver = _resolve(schema, resolver)
    if not isinstance(schema, Mapping):
        return

    def site(keyword: str, **extra: Any) -> Site:
        return Site(path=path, keyword=keyword, schema=schema, resolver=resolver, **extra)

    if "type" in schema:
        yield site("type")
    for keyword in ("const", "enum", "oneOf", "anyOf"):
        if keyword in schema:
            yield site(keyword)
    kind = schema.get("type")
    if kind in ("number", "integer"):
        for keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            if keyword in schema:
                yield site(keyword)
        step = schema.get("multipleOf")
        if step is not None and not (kind == "integer" and step == 1):
            yield site("multipleOf")
    if kind == "string" and "anyOf" not in schema and "oneOf" not in schema:
        if schema.get("minLength", 0) > 0:
            yield site("minLength")
        for keyword in ("maxLength", "pattern"):
            if keyword in schema:
                yield site(keyword)
        if schema.get("format") in FORMATS:
            yield site("format")
    if kind == "array":
        if schema.get("minItems", 0) > 0:
            yield site("minItems")
        if "maxItems" in schema:
            yield site("maxItems")
        if schema.get("uniqueItems") is True:
            yield site("uniqueItems")
        if isinstance(schema.get("items"), Mapping):
            yield from _walk(schema["items"], resolver, (*path, 0))
    if kind == "object" or "properties" in schema:
        for name in schema.get("required") or ():
            yield Site(
                path=(*path, name), keyword="required", schema=schema, resolver=resolver, name=name
            )
        if schema.get("additionalProperties") is False:
            yield Site(
                path=(*path, _UNKNOWN_KEY),
                keyword="additionalProperties",
                schema=schema,
                resolver=resolver,
            )
        for name, sub in (schema.get("properties") or {}).items():
            yield from _walk(sub, resolver, (*path, name))
