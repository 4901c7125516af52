"""JSON equality: ``1 == 1.0`` but ``true != 1``, and objects compare by members."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ._numbers import as_decimal, is_number

__all__ = ["json_equal", "json_key", "json_unique"]


def json_equal(a: Any, b: Any) -> bool:
    """Equality of two JSON values as JSON Schema defines it."""
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and a == b
    if a is None or b is None or isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if is_number(a) and is_number(b):
        return as_decimal(a) == as_decimal(b)
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    return False


def json_unique(items: Sequence[Any]) -> bool:
    """True when no two items are JSON-equal."""
    seen: set[Any] = set()
    for item in items:
        key = json_key(item)
        if key in seen:
            return False
        seen.add(key)
    return True


def json_key(value: Any) -> Any:
    """A hashable canonical form: equal exactly when the JSON values are equal."""
    if value is None or isinstance(value, bool):
        return ("literal", value)
    if isinstance(value, str):
        return ("string", value)
    if is_number(value):
        # Decimals hash and compare by value (1 == 1.0), exactly; normalize() would round to
        # the context's 28 digits and merge numbers that json_equal tells apart.
        return ("number", as_decimal(value))
    if isinstance(value, Mapping):
        return ("object", frozenset((k, json_key(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return ("array", tuple(json_key(v) for v in value))
    return ("other", id(value))
