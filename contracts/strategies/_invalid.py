"""``invalid_requests()``: requests that break exactly one named rule of the document.

The document is walked once into a catalogue of *sites* — one per constraint (a required
parameter, a maximum, a pattern, an enum …). A draw picks a site, draws a valid request,
and breaks that one rule at that place. The kit's own check then confirms that the payload
breaks that rule and no other; a draw that does not (or no longer does, after shrinking) is
rejected, so every case shrinks to a minimal payload that still breaks its rule.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st
from referencing._core import Resolver

from contracts._request import check_request
from contracts._schema import _numbers
from contracts._schema._formats import FORMATS
from contracts._violation import Violation
from openapi import Catalog, Spec
from openapi._freeze import thaw

from ._from_schema import SchemaStrategies, _number
from ._valid import _documents, _task_strategy, schema_strategies

__all__ = ["InvalidCase", "invalid_requests", "sites"]

_ANNOTATION = frozenset({"title", "description", "default", "examples", "$comment"})
_WRONG_TYPE_VALUES: Mapping[str, Any] = {
    "string": 7,
    "number": "1.5",
    "integer": 1.5,
    "boolean": "true",
    "null": 0,
    "object": ["not", "an", "object"],
    "array": {"not": "an array"},
}
_NOT_FORMATTED = {
    "uuid": "not-a-uuid",
    "uri": "no scheme here",
    "uri-reference": "bad uri ref",
    "date-time": "yesterday",
    "date": "31/01/2026",
    "email": "no at sign",
    "ipv4": "256.0.0.1",
    "ipv6": "::g",
    "hostname": "-bad-",
    "time": "25:00",
}
_UNKNOWN_KEY = "unexpectedParameter"


@dataclass(frozen=True, slots=True)
class InvalidCase:
    """A request body that breaks exactly one rule, and that rule.

    Attributes:
        payload: the body to send (JSON-serialisable).
        violation: the one :class:`~contracts.Violation` the kit reports for it; its
            ``keyword`` and ``pointer`` name the rule and where it is broken.
    """

    payload: Any
    violation: Violation

    def __repr__(self) -> str:
        return (
            f"InvalidCase({self.violation.keyword} at {self.violation.pointer or '/'}: "
            f"payload={self.payload!r})"
        )


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


# -- building a broken payload ------------------------------------------------------------


def _container(
    draw: st.DrawFn,
    task: Any,
    path: tuple[str | int, ...],
    schema: Any,
    resolver: Resolver[Any],
    builder: SchemaStrategies,
) -> Any:
    """Walk ``path`` in ``task``, creating valid parents where they are missing."""
    node, node_schema, node_resolver = task, schema, resolver
    for step in path:
        node_schema, node_resolver = _resolve(node_schema, node_resolver)
        if isinstance(step, int):
            sub = node_schema.get("items", True)
            while len(node) <= step:
                node.append(draw(builder.for_schema(sub, node_resolver)))
        else:
            sub = (node_schema.get("properties") or {}).get(step, True)
            if step not in node:
                node[step] = draw(builder.for_schema(sub, node_resolver))
        node, node_schema = node[step], sub
    return node


def _number_outside(schema: Mapping[str, Any], keyword: str) -> Any:
    integer = schema.get("type") == "integer"
    step = _numbers.as_decimal(schema.get("multipleOf", 1))
    bound = _numbers.as_decimal(schema[keyword])
    value = {
        "minimum": bound - step,
        "maximum": bound + step,
        "exclusiveMinimum": bound,
        "exclusiveMaximum": bound,
    }[keyword]
    return _number(value, integer=integer)


def _not_multiple(schema: Mapping[str, Any]) -> Any:
    """A number in range that is not a multiple of ``multipleOf``: half a step (or 1, for
    integers) past the first multiple at or above the minimum."""
    integer = schema.get("type") == "integer"
    step = _numbers.as_decimal(schema["multipleOf"])
    low = _numbers.as_decimal(schema.get("minimum", schema.get("exclusiveMinimum", 0)))
    base = math.ceil(low / step) * step
    return _number(base + (Decimal(1) if integer else step / 2), integer=integer)


def _off_choices(schema: Mapping[str, Any], allowed: list[Any]) -> Any:
    strings = [v for v in allowed if isinstance(v, str)]
    if strings:
        candidate = f"not-{strings[0]}"
        while candidate in allowed:
            candidate += "-x"
        return candidate
    return "not-an-allowed-value"


def _failing_string(
    schema: Mapping[str, Any],
    resolver: Resolver[Any],
    test: Callable[[Any, Resolver[Any]], Callable[[Any], bool]],
) -> str:
    passes = test(schema, resolver)
    for candidate in ("not a valid value!", "!", " ", "\n", "", "\u00e9t\u00e9 \u2603"):
        if not passes(candidate):
            return candidate
    return "!!"


def _break(
    draw: st.DrawFn, task: dict[str, Any], site: Site, spec: Spec, builder: SchemaStrategies
) -> None:
    """Break ``site``'s rule inside ``task`` (in place)."""
    schema: Mapping[str, Any] = site.schema
    compiler = builder.predicate
    root = spec.task_schema(spec.inference_task_type)
    root_resolver = spec.registry.resolver(base_uri=spec.document_uri)
    if site.keyword in ("required", "additionalProperties"):
        parent = _container(draw, task, site.path[:-1], root, root_resolver, builder)
        if site.keyword == "required":
            parent.pop(site.name, None)
        else:
            parent[_UNKNOWN_KEY] = 1
        return
    *parents, leaf = site.path
    parent = _container(draw, task, tuple(parents), root, root_resolver, builder)
    keyword = site.keyword
    value: Any
    if keyword == "type":
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        wrong = [
            v
            for t, v in _WRONG_TYPE_VALUES.items()
            if t not in types and not (t == "integer" and "number" in types)
        ]
        value = draw(st.sampled_from(wrong))
        if "number" in types and isinstance(value, float):
            value = "1.5"
    elif keyword == "const":
        value = _off_choices(schema, [thaw(schema["const"])])
    elif keyword in ("enum", "oneOf", "anyOf"):
        options = (
            [b.get("const") for b in schema.get(keyword, ()) if isinstance(b, Mapping)]
            if keyword != "enum"
            else list(schema["enum"])
        )
        if keyword == "anyOf" or any(o is None for o in options):
            value = _failing_string(schema, site.resolver, compiler)
        else:
            value = _off_choices(schema, options)
    elif keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        value = _number_outside(schema, keyword)
    elif keyword == "multipleOf":
        value = _not_multiple(schema)
    elif keyword == "minLength":
        value = "a" * (int(schema["minLength"]) - 1)
    elif keyword == "maxLength":
        value = "a" * (int(schema["maxLength"]) + 1)
    elif keyword == "pattern":
        value = _failing_string(schema, site.resolver, compiler)
    elif keyword == "format":
        value = _NOT_FORMATTED.get(schema["format"], "%not-formatted%")
    elif keyword in ("minItems", "maxItems", "uniqueItems"):
        items = builder.for_schema(schema.get("items", True), site.resolver)
        size = {
            "minItems": int(schema.get("minItems", 0)) - 1,
            "maxItems": int(schema.get("maxItems", 0)) + 1,
            "uniqueItems": 1,
        }[keyword]
        value = [draw(items) for _ in range(size)]
        if keyword == "uniqueItems":
            value.append(copy.deepcopy(value[0]))
    else:  # pragma: no cover - _walk yields only the keywords above
        raise AssertionError(keyword)
    if isinstance(parent, list) and isinstance(leaf, int) and leaf >= len(parent):
        parent.append(value)
    else:
        parent[leaf] = value


@st.composite
def _case(
    draw: st.DrawFn, /, spec: Spec, only: int | None = None, judge: Catalog | None = None
) -> InvalidCase | None:
    """One attempt at breaking a rule (``only``: that site's index; -1: the body's type).
    ``judge``: the catalogue that checks the payload (default: ``spec`` alone)."""
    catalogue = sites(spec)
    choice = only if only is not None else draw(st.sampled_from(range(-1, len(catalogue))))
    if choice < 0:
        # Not str: a str payload is raw JSON text to check_request.
        payload: Any = draw(st.sampled_from([{}, 1, None, True, 2.5]))
        if isinstance(payload, dict):
            payload = draw(_task_strategy(spec, None, {}))
        found = check_request(payload, spec=judge or spec)
        return InvalidCase(payload, found[0]) if len(found) == 1 else None
    site = catalogue[choice]
    body = draw(
        st.lists(
            _task_strategy(spec, None, {}),
            min_size=1,
            max_size=2,
            unique_by=lambda task: str(task.get("taskUUID")),
        )
    )
    index = draw(st.integers(0, len(body) - 1))
    if site.path:
        body[index] = copy.deepcopy(body[index])
        _break(draw, body[index], site, spec, schema_strategies(spec))
    else:  # the task itself is not an object
        body[index] = draw(st.sampled_from(["not a task", 7, None, [], True]))
    found = check_request(body, spec=judge or spec)
    pointer = "/" + "/".join(str(p) for p in (index, *site.path))
    if len(found) != 1 or found[0].pointer != pointer:
        return None
    # In a catalogue a model no document fixes is the catalogue's rule (the model ids it
    # loaded: "enum"), not the document's "const".
    if found[0].keyword != site.keyword and not (judge is not None and site.path == ("model",)):
        return None
    return InvalidCase(body, found[0])


@st.composite
def invalid_requests(draw: st.DrawFn, /, *, spec: Spec | Catalog | None = None) -> InvalidCase:
    """A request body that breaks exactly one rule of the document, labelled with it.

    Every constraint of the inference task is reachable: missing required parameters, wrong
    types, values outside a minimum or maximum, not a multiple, strings too short or too
    long or not matching a pattern or format, arrays too short, too long or with duplicates,
    values outside an enum or const or matching no anyOf/oneOf branch, unknown parameters,
    and a body that is not an array at all. With a catalogue, a rule of any of its models'
    documents, labelled with the violation the catalogue reports.

    Example:
        >>> from hypothesis import given
        >>> @given(invalid_requests())
        ... def test_refused(case): ...
    """
    documents = _documents(spec)
    if len(documents) == 1:
        case: InvalidCase | None = draw(_case(documents[0]).filter(lambda c: c is not None))
    else:  # a rule of any model's document, judged as the catalogue judges it
        assert isinstance(spec, Catalog)
        chosen = draw(st.sampled_from(documents))
        case = draw(_case(chosen, judge=spec).filter(lambda c: c is not None))
    assert case is not None
    return case
