"""``schema_values(schema)``: values valid under any JSON Schema, not only the document's.

For tests that draw from a schema of their own (a request's ``jsonSchema``, say). The schema
is compiled once (``contracts.check_value``'s cache), and its strategy once per word list.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from typing import Any

from hypothesis import strategies as st

from contracts._value import compiled_schema

from ._from_schema import SchemaStrategies

__all__ = ["schema_values"]


@functools.lru_cache(maxsize=64)
def _strategy(text: str, words: tuple[str, ...]) -> st.SearchStrategy[Any]:
    schema = json.loads(text)
    _, compiler, registry = compiled_schema(schema)
    strategies = SchemaStrategies(
        registry.resolver(base_uri="urn:runware-contract-kit:value"),
        compiler.predicate_in,
        words=words,
    )
    return strategies.for_schema(schema)


def schema_values(
    schema: Mapping[str, Any] | bool, *, words: Sequence[str] = ()
) -> st.SearchStrategy[Any]:
    """Values valid under ``schema`` (JSON Schema 2020-12 unless its ``$schema`` says
    otherwise; ``$ref``s resolve within it). ``words``: draw free strings as runs of these
    words, so they read as text."""
    return _strategy(json.dumps(schema, sort_keys=True, separators=(",", ":")), tuple(words))
