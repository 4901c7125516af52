"""Deep-frozen JSON values: the loaded document can be shared but never changed."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

__all__ = ["freeze", "thaw"]


def freeze(value: Any, memo: dict[int, Any] | None = None) -> Any:
    """Return ``value`` with every dict made a read-only mapping and every list a tuple.

    ``memo`` (id of a container → its frozen copy), shared by calls over parts of one
    document, freezes each container once: a subtree frozen before is the same object."""
    if memo is None:
        memo = {}
    found = memo.get(id(value))
    if found is not None:
        return found[1]
    if isinstance(value, Mapping):
        frozen: Any = MappingProxyType({key: freeze(item, memo) for key, item in value.items()})
    elif isinstance(value, list | tuple):
        frozen = tuple(freeze(item, memo) for item in value)
    else:
        return value
    memo[id(value)] = (value, frozen)  # the value kept alive: its id stays its own
    return frozen


def thaw(value: Any) -> Any:
    """A fresh, mutable deep copy (dicts and lists) of a frozen value.

    Every mapping a :class:`~openapi.Spec` holds is read-only and every array a tuple; this
    gives plain JSON data back, to change or to serialize.

    Example:
        >>> import openapi
        >>> schema = openapi.thaw(openapi.load().task_schema("ping"))
        >>> schema["properties"]["taskType"]
        {'const': 'ping'}
    """
    if isinstance(value, Mapping):
        return {key: thaw(item) for key, item in value.items()}
    if isinstance(value, tuple | list):
        return [thaw(item) for item in value]
    return copy.copy(value)
