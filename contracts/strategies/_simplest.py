"""The simplest values a schema accepts, found without Hypothesis: the same ones every run.

For the coverage phase of ``invalid_requests()``: each rule's case is built around the
simplest valid task (its required parameters only, each the first value its schema
allows), so it is one fixed payload, drawn with no choice Hypothesis could vary. Candidates
are enumerated from the schema (its const or enum, the first numbers of its ``multipleOf``
grid inside its bounds, short strings, an example of each format, arrays at ``minItems``,
objects with only their required properties), then each is confirmed by the kit's own
compiled predicate; a schema none of them fits (a pattern no short string matches) has no
simplest value, and the caller falls back to drawing one.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING, Any

from contracts._schema import _numbers
from contracts._schema._equality import json_key
from openapi import thaw

from ._from_schema import _infer_type, _merge, _number

if TYPE_CHECKING:  # referencing exports no Resolver; annotations only
    from referencing._core import Resolver

__all__ = ["Simplest"]

Predicate = Callable[[Any, "Resolver[Any]"], Callable[[Any], bool]]

# Candidates tried per schema before it is declared to have no simplest value.
_TRIES = 64
# $refs followed in one descent: a recursive schema's simplest value is a shallow one.
_DEPTH = 12
_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# One example per format, the n-th distinct; hosts under .invalid (RFC 2606) never resolve.
_FORMATS: Mapping[str, Callable[[int], str]] = {
    "uuid": lambda n: str(uuid.UUID(int=n, version=4)),
    "uri": lambda n: f"https://example.invalid/{n or ''}",
    "uri-reference": lambda n: f"/{n or ''}",
    "date-time": lambda n: f"2026-01-01T00:{n // 60 % 60:02d}:{n % 60:02d}Z",
    "date": lambda n: f"2026-01-{n % 28 + 1:02d}",
    "time": lambda n: f"00:{n // 60 % 60:02d}:{n % 60:02d}Z",
    "email": lambda n: f"user{n or ''}@example.invalid",
    "hostname": lambda n: f"host{n or ''}.example.invalid",
    "ipv4": lambda n: f"192.0.2.{n % 256}",
    "ipv6": lambda n: f"2001:db8::{n:x}",
}


class Simplest:
    """Simplest valid values for the schemas of one document, memoized.

    Args:
        predicate: compiles a schema (with its resolver) into the kit's validity predicate.
    """

    def __init__(self, predicate: Predicate) -> None:
        self._predicate = predicate
        self._found: dict[tuple[int, int], tuple[Any, list[Any]]] = {}

    def values(self, schema: Any, resolver: Resolver[Any], count: int = 1) -> list[Any]:
        """Up to ``count`` distinct values valid for ``schema``, simplest first (fresh
        copies: the caller may change them)."""
        found: list[Any] = thaw(self._values(schema, resolver, count, 0))
        return found

    def _values(self, schema: Any, resolver: Resolver[Any], count: int, depth: int) -> list[Any]:
        key = (id(schema), count)
        if key in self._found:
            return self._found[key][1]
        passes = self._predicate(schema, resolver)
        found: list[Any] = []
        seen: set[Any] = set()
        for candidate in itertools.islice(
            self._candidates(schema, resolver, depth), _TRIES + count
        ):
            marker = json_key(candidate)
            if marker in seen:
                continue
            seen.add(marker)
            if passes(candidate):
                found.append(candidate)
                if len(found) == count:
                    break
        self._found[key] = (schema, found)  # the schema kept alive: its id stays its own
        return found

    def _first(self, schema: Any, resolver: Resolver[Any], depth: int) -> list[Any]:
        return self._values(schema, resolver, 1, depth + 1)

    def _candidates(self, schema: Any, resolver: Resolver[Any], depth: int) -> Iterator[Any]:
        """Values that may fit ``schema``, simplest first (the caller checks each)."""
        if depth > _DEPTH or schema is False:
            return
        if schema is True or not isinstance(schema, Mapping) or not schema:
            yield from (None, False, True, 0, 1, "", "a", [], {})
            return
        if "$ref" in schema:
            resolved = resolver.lookup(schema["$ref"])
            rest = {k: v for k, v in schema.items() if k != "$ref"}
            target = _merge(resolved.contents, rest) if rest else resolved.contents
            yield from self._candidates(target, resolved.resolver, depth + 1)
            return
        if "const" in schema:
            yield schema["const"]
            return
        if "enum" in schema:
            yield from schema["enum"]
            return
        for combinator in ("oneOf", "anyOf"):
            if combinator in schema:
                base = {k: v for k, v in schema.items() if k != combinator}
                yield from _interleave(
                    self._candidates(_merge(base, branch), resolver, depth + 1)
                    for branch in schema[combinator]
                )
                return
        if "allOf" in schema:
            merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
            for part in schema["allOf"]:
                merged = _merge(merged, part)
            yield from self._candidates(merged, resolver, depth + 1)
            return
        types = schema.get("type")
        if isinstance(types, list | tuple):
            yield from _interleave(
                self._candidates({**schema, "type": t}, resolver, depth + 1) for t in types
            )
            return
        kind = types if isinstance(types, str) else _infer_type(schema)
        if kind == "null":
            yield None
        elif kind == "boolean":
            yield from (False, True)
        elif kind in ("number", "integer"):
            yield from _numbers_in(schema, integer=kind == "integer")
        elif kind == "string":
            yield from _strings(schema)
        elif kind == "array":
            yield from self._arrays(schema, resolver, depth)
        elif kind == "object":
            yield from self._objects(schema, resolver, depth)
        else:
            yield from (None, False, True, 0, 1, "", "a", [], {})

    def _arrays(self, schema: Mapping[str, Any], resolver: Resolver[Any], depth: int) -> Any:
        low = int(schema.get("minItems", 0))
        high = schema.get("maxItems")
        top = low + 3 if high is None else min(int(high), low + 3)
        items = schema.get("items", True)
        for size in range(low, top + 1):
            if size == 0:
                yield []
                continue
            distinct = self._values(items, resolver, size, depth + 1)
            if len(distinct) == size:
                yield list(distinct)
            elif distinct and schema.get("uniqueItems") is not True:
                yield [distinct[0]] * size

    def _objects(self, schema: Mapping[str, Any], resolver: Resolver[Any], depth: int) -> Any:
        properties: Mapping[str, Any] = schema.get("properties") or {}
        base: dict[str, Any] = {}
        for name in schema.get("required") or ():
            first = self._first(properties.get(name, True), resolver, depth)
            if not first:
                return
            base[name] = first[0]
        yield base
        # More distinct objects, for a parent that needs several: one optional parameter
        # added at a time.
        for name, sub in properties.items():
            if name not in base:
                for value in self._first(sub, resolver, depth):
                    yield {**base, name: value}


def _interleave(sources: Iterable[Iterator[Any]]) -> Iterator[Any]:
    """Round robin: one barren branch of an anyOf does not starve the others."""
    pending = list(sources)
    while pending:
        for source in list(pending):
            try:
                yield next(source)
            except StopIteration:
                pending.remove(source)


def _numbers_in(schema: Mapping[str, Any], *, integer: bool) -> Iterator[Any]:
    """The multiples of ``multipleOf`` (of 1 without one) nearest 0 inside the bounds, then
    the bounds themselves and their midpoint (a range with no multiple of 1 in it)."""
    step = _numbers.as_decimal(schema.get("multipleOf", 1))
    low, high = schema.get("minimum"), schema.get("maximum")
    xlow, xhigh = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    k_low = k_high = None
    if low is not None or xlow is not None:
        bound = _numbers.as_decimal(low if low is not None else xlow)
        k_low = int((bound / step).to_integral_value(ROUND_CEILING))
        if low is None and k_low * step == bound:
            k_low += 1
    if high is not None or xhigh is not None:
        bound = _numbers.as_decimal(high if high is not None else xhigh)
        k_high = int((bound / step).to_integral_value(ROUND_FLOOR))
        if high is None and k_high * step == bound:
            k_high -= 1
    start = max(k_low, 0) if k_low is not None else 0
    start = min(start, k_high) if k_high is not None else start
    for offset in range(_TRIES // 4):
        for k in (start + offset, start - offset) if offset else (start,):
            if (k_low is None or k >= k_low) and (k_high is None or k <= k_high):
                yield _number(Decimal(k) * step, integer=integer)
    edges = [_numbers.as_decimal(v) for v in (low, high, xlow, xhigh) if v is not None]
    for value in (*edges, sum(edges, Decimal(0)) / len(edges) if edges else Decimal(0)):
        yield _number(value, integer=integer) if not integer else int(value)


def _strings(schema: Mapping[str, Any]) -> Iterator[str]:
    """An example of the format, then short words padded to ``minLength``: "", "a", "b" …"""
    fmt = schema.get("format")
    if isinstance(fmt, str) and fmt in _FORMATS:
        yield from (_FORMATS[fmt](n) for n in range(_TRIES))
    low = int(schema.get("minLength", 0))
    high = schema.get("maxLength")
    for n in range(_TRIES * 4):
        word = _word(n).ljust(low, "a")
        if high is None or len(word) <= int(high):
            yield word


def _word(n: int) -> str:
    """The n-th string over the alphabet in shortlex order: "", "a", "b", … "Z", "aa" …"""
    letters = []
    while n > 0:
        n, digit = divmod(n - 1, len(_ALPHABET))
        letters.append(_ALPHABET[digit])
    return "".join(reversed(letters))
