"""``check_value(value, schema=...)``: any JSON value against any JSON Schema, exactly.

The same compiler as ``check_request``, for schemas that are not the document's — a
request's own ``jsonSchema``, say. Each distinct schema is compiled once, in a bounded
cache: a caller with a new schema every time pays a compile each time, never memory.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any

from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from ._messages import to_violation
from ._schema._compile import RawError, SchemaCompiler, Validate
from ._schema._fallback import jsonschema_fallback
from ._violation import Violation

__all__ = ["check_value", "compiled_schema"]

_URI = "urn:runware-contract-kit:value"


@functools.lru_cache(maxsize=64)
def _compiled(text: str) -> tuple[Validate, Any, Registry[Any]]:
    schema = json.loads(text)
    resource = Resource.from_contents(schema, default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource(_URI, resource)
    compiler = SchemaCompiler(registry, fallback=jsonschema_fallback)
    return compiler.compile(schema, base_uri=_URI), compiler, registry


def compiled_schema(schema: Mapping[str, Any] | bool) -> tuple[Validate, Any, Registry[Any]]:
    """The collector, compiler and registry for ``schema`` (cached by its content)."""
    return _compiled(json.dumps(schema, sort_keys=True, separators=(",", ":")))


def check_value(value: Any, *, schema: Mapping[str, Any] | bool) -> list[Violation]:
    """Every way ``value`` breaks ``schema`` (JSON Schema 2020-12 unless its ``$schema``
    says otherwise; ``$ref``s resolve within it); empty when it conforms.

    >>> [v.message for v in check_value({"n": "x"}, schema={
    ...     "type": "object", "properties": {"n": {"type": "integer"}}})]
    ['n must be an integer, not string ("x").']
    """
    validate = compiled_schema(schema)[0]
    errs: list[RawError] = []
    validate(value, (), errs)
    return [to_violation(raw) for raw in errs]
