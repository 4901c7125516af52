"""``invalid_requests()``: requests that break exactly one named rule of the document.

The document is walked once into a catalogue of *sites* (``_sites``), one per constraint (a
required parameter, a maximum, a pattern, an enum …). A draw picks a site, draws a valid
request, and breaks that one rule at that place. The kit's own check then confirms that the
payload breaks that rule and no other; a draw that does not (or no longer does, after
shrinking) is rejected, so every case shrinks to a minimal payload that still breaks its rule.

Before fuzzing, a coverage phase, as Schemathesis runs one: each rule also has one fixed
case, the simplest valid task (``_simplest``) with that rule broken, built with no choice
Hypothesis could vary. Eight draws in nine are one of those (``_SLICES``); Hypothesis never
repeats a choice sequence, so it hands out each fixed case once, and a test that draws
nothing else meets every rule within about 1.4x as many examples as there are rules.
``invalid_request_cases()`` returns the fixed cases themselves, for ``parametrize``.
"""

from __future__ import annotations

import copy
import math
import reprlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from contracts._request import check_request
from contracts._schema import _numbers
from contracts._violation import Violation
from openapi import Catalog, Spec, thaw

from ._from_schema import SchemaStrategies, _number
from ._simplest import Simplest
from ._sites import _UNKNOWN_KEY, Site, _resolve, sites
from ._valid import _documents, _task_strategy, schema_strategies

if TYPE_CHECKING:  # referencing exports no Resolver; annotations only
    from referencing._core import Resolver

__all__ = ["InvalidCase", "invalid_request_cases", "invalid_requests", "sites"]

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
_NOT_TASKS: tuple[Any, ...] = ("not a task", 7, None, [], True)
# The coverage phase's share of the first choice: the rules are dealt into this many slices,
# each one value of that choice, and fuzzing is one more. Hypothesis never repeats a choice
# sequence, so a slice whose cases have all been handed out is never chosen again: in a
# test that draws nothing else every rule comes within about 1.4x as many examples as
# there are rules, then every draw is fuzzed. Drawn with other values (which make each
# rule's sequence a different one every time), one draw in nine stays fuzzed.
_SLICES = 8


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
        # Abridged: a broken maxLength is a string of 262,145 characters, and Hypothesis
        # prints the repr of every failing example.
        return (
            f"InvalidCase({self.violation.keyword} at {self.violation.pointer or '/'}: "
            f"payload={_ABRIDGED.repr(self.payload)})"
        )

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """What Hypothesis (and IPython) print, which would otherwise list every field."""
        printer.text(repr(self))


class _Abridged(reprlib.Repr):
    """Long strings and arrays cut, saying how long they were; objects in their order."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel, self.maxstring, self.maxlist, self.maxdict = 8, 80, 8, 24

    def repr_str(self, x: str, level: int) -> str:
        if len(x) <= self.maxstring:
            return repr(x)
        return f"{x[:40]!r}...<{len(x):,} characters>"

    def repr_list(self, x: list[Any], level: int) -> str:
        if level <= 0 and x:
            return "[...]"
        shown = [self.repr1(item, level - 1) for item in x[: self.maxlist]]
        if len(x) > self.maxlist:
            shown.append(f"...<{len(x):,} items>")
        return "[" + ", ".join(shown) + "]"

    def repr_dict(self, x: dict[Any, Any], level: int) -> str:
        if level <= 0 and x:
            return "{...}"
        shown = [
            f"{self.repr1(key, level - 1)}: {self.repr1(value, level - 1)}"
            for key, value in list(x.items())[: self.maxdict]
        ]
        if len(x) > self.maxdict:
            shown.append(f"...<{len(x):,} keys>")
        return "{" + ", ".join(shown) + "}"


_ABRIDGED = _Abridged()


# -- where the valid parts come from -----------------------------------------------------


class _Source(Protocol):
    """Valid values, and a pick among options, for building a case."""

    def values(self, schema: Any, resolver: Resolver[Any], count: int) -> list[Any]: ...

    def pick(self, options: Sequence[Any]) -> Any: ...


@dataclass(frozen=True, slots=True)
class _Drawn:
    """Drawn by Hypothesis: the fuzzing phase."""

    draw: st.DrawFn
    builder: SchemaStrategies

    def values(self, schema: Any, resolver: Resolver[Any], count: int) -> list[Any]:
        strategy = self.builder.for_schema(schema, resolver)
        return [self.draw(strategy) for _ in range(count)]

    def pick(self, options: Sequence[Any]) -> Any:
        return copy.deepcopy(self.draw(st.sampled_from(options)))


class _NoSimplest(LookupError):
    """A schema on the way has no simplest value: the rule has no fixed case."""


@dataclass(frozen=True, slots=True)
class _Fixed:
    """The simplest valid values and the first option: the coverage phase."""

    simplest: Simplest

    def values(self, schema: Any, resolver: Resolver[Any], count: int) -> list[Any]:
        found = self.simplest.values(schema, resolver, count)
        if not found:
            raise _NoSimplest(schema)
        # Fewer distinct values than asked: repeats (the check rejects them if they count).
        return found + [copy.deepcopy(found[0]) for _ in range(count - len(found))]

    def pick(self, options: Sequence[Any]) -> Any:
        return copy.deepcopy(options[0])


# -- building a broken payload ------------------------------------------------------------


def _container(
    source: _Source,
    task: Any,
    path: tuple[str | int, ...],
    schema: Any,
    resolver: Resolver[Any],
) -> Any:
    """Walk ``path`` in ``task``, creating valid parents where they are missing."""
    node, node_schema, node_resolver = task, schema, resolver
    for step in path:
        node_schema, node_resolver = _resolve(node_schema, node_resolver)
        if isinstance(step, int):
            sub = node_schema.get("items", True)
            if len(node) <= step:
                node.extend(source.values(sub, node_resolver, step + 1 - len(node)))
        else:
            sub = (node_schema.get("properties") or {}).get(step, True)
            if step not in node:
                node[step] = source.values(sub, node_resolver, 1)[0]
        node, node_schema = node[step], sub
    return node


def _is_of(value: Any, types: Sequence[str]) -> bool:
    """Whether ``value`` has one of the JSON types (an integer is a number too)."""
    kind = {str: "string", bool: "boolean", int: "integer", float: "number"}.get(type(value))
    if kind is None:
        kind = "null" if value is None else "array" if isinstance(value, list) else "object"
    return kind in types or (kind == "integer" and "number" in types)


def _number_outside(schema: Mapping[str, Any], keyword: str) -> Any:
    integer = schema.get("type") == "integer"
    step = _numbers.as_decimal(schema.get("multipleOf", 1))
    bound = _numbers.as_decimal(schema[keyword])
    if "multipleOf" in schema:  # the nearest multiple past the bound: it breaks only that
        ratio = bound / step
        value = (
            step
            * {
                "minimum": math.ceil(ratio) - 1,
                "maximum": math.floor(ratio) + 1,
                "exclusiveMinimum": math.floor(ratio),
                "exclusiveMaximum": math.ceil(ratio),
            }[keyword]
        )
    else:
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
    source: _Source, task: dict[str, Any], site: Site, spec: Spec, builder: SchemaStrategies
) -> None:
    """Break ``site``'s rule inside ``task`` (in place), valid parts from ``source``."""
    schema: Mapping[str, Any] = site.schema
    compiler = builder.predicate
    root = spec.task_schema(spec.inference_task_type)
    root_resolver = spec.registry.resolver(base_uri=spec.document_uri)
    if site.keyword in ("required", "additionalProperties"):
        parent = _container(source, task, site.path[:-1], root, root_resolver)
        if site.keyword == "required":
            parent.pop(site.name, None)
        else:
            parent[_UNKNOWN_KEY] = 1
        return
    *parents, leaf = site.path
    parent = _container(source, task, tuple(parents), root, root_resolver)
    keyword = site.keyword
    value: Any
    if keyword == "type":
        types = schema["type"] if isinstance(schema["type"], list | tuple) else [schema["type"]]
        value = source.pick([v for v in _WRONG_TYPE_VALUES.values() if not _is_of(v, types)])
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
        size = {
            "minItems": int(schema.get("minItems", 0)) - 1,
            "maxItems": int(schema.get("maxItems", 0)) + 1,
            "uniqueItems": 1,
        }[keyword]
        value = source.values(schema.get("items", True), site.resolver, size) if size else []
        if keyword == "uniqueItems":
            value.append(copy.deepcopy(value[0]))
    else:  # pragma: no cover - _walk yields only the keywords above
        raise AssertionError(keyword)
    if isinstance(parent, list) and isinstance(leaf, int) and leaf >= len(parent):
        parent.append(value)
    else:
        parent[leaf] = value


def _labelled(
    payload: Any, site: Site | None, index: int, spec: Spec, judge: Catalog | None
) -> InvalidCase | None:
    """The case, if the kit finds exactly ``site``'s rule broken in task ``index`` of
    ``payload`` (``site=None``: the body's own type); else None."""
    found = check_request(payload, spec=judge or spec)
    if len(found) != 1:
        return None
    if site is None:
        return InvalidCase(payload, found[0])
    pointer = "/" + "/".join(str(p) for p in (index, *site.path))
    if found[0].pointer != pointer:
        return None
    # In a catalogue a model no document fixes is the catalogue's rule (the model ids it
    # loaded: "enum"), not the document's "const".
    if found[0].keyword != site.keyword and not (judge is not None and site.path == ("model",)):
        return None
    return InvalidCase(payload, found[0])


def _is_case(case: InvalidCase | None) -> bool:
    return case is not None


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
        return _labelled(payload, None, 0, spec, judge)
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
        builder = schema_strategies(spec)
        _break(_Drawn(draw, builder), body[index], site, spec, builder)
    else:  # the task itself is not an object
        body[index] = copy.deepcopy(draw(st.sampled_from(_NOT_TASKS)))
    return _labelled(body, site, index, spec, judge)


# -- the coverage phase -------------------------------------------------------------------


def _fixed_case(spec: Spec, choice: int, judge: Catalog | None) -> InvalidCase | None:
    """Rule ``choice``'s fixed case (a fresh copy; built once per spec and judge), or None
    when the simplest valid task cannot carry it."""
    # Kept by the judge, when there is one: its specs live as long as it does.
    memo = spec.memo if judge is None else judge.memo
    key = ("invalid-fixed", id(spec))
    held = memo.get(key)
    if held is None or held[0] is not spec:  # the spec kept with it: no id is reused
        held = memo[key] = (spec, {})
    cases: dict[int, InvalidCase | None] = held[1]
    if choice not in cases:
        cases[choice] = _build_fixed(spec, choice, judge)
    case = cases[choice]
    return None if case is None else InvalidCase(copy.deepcopy(case.payload), case.violation)


def _build_fixed(spec: Spec, choice: int, judge: Catalog | None) -> InvalidCase | None:
    builder = schema_strategies(spec)
    simplest: Simplest | None = spec.memo.get("invalid-simplest")
    if simplest is None:
        simplest = spec.memo["invalid-simplest"] = Simplest(builder.predicate)
    source = _Fixed(simplest)
    resolver = spec.registry.resolver(base_uri=spec.document_uri)
    try:
        task: Any = source.values(spec.task_schema(spec.inference_task_type), resolver, 1)[0]
        if choice < 0:  # one task, not in an array: the likeliest body that is not one
            return _labelled(task, None, 0, spec, judge)
        site = sites(spec)[choice]
        if site.path:
            _break(source, task, site, spec, builder)
        else:
            task = source.pick(_NOT_TASKS)
    except _NoSimplest:
        return None
    return _labelled([task], site, 0, spec, judge)


def _first_drawn(spec: Spec, choice: int, judge: Catalog | None) -> InvalidCase:
    """Rule ``choice``'s first drawn case, the same every run (derandomized), for a rule
    with no fixed case. A Hypothesis run of its own: inside a Hypothesis test it fails that
    test's ``nested_given`` health check."""
    found: list[InvalidCase] = []

    @settings(
        max_examples=1,
        database=None,
        derandomize=True,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(_case(spec, only=choice, judge=judge).filter(_is_case))
    def first(case: InvalidCase) -> None:
        found.append(case)

    first()
    return found[0]


def _choices(spec: Spec) -> range:
    """Every rule of ``spec`` as ``_case`` numbers them: -1, the body's own type, then its
    sites."""
    return range(-1, len(sites(spec)))


@st.composite
def invalid_requests(draw: st.DrawFn, /, *, spec: Spec | Catalog | None = None) -> InvalidCase:
    """A request body that breaks exactly one rule of the document, labelled with it.

    Every constraint of the inference task is reachable: missing required parameters, wrong
    types, values outside a minimum or maximum, not a multiple, strings too short or too
    long or not matching a pattern or format, arrays too short, too long or with duplicates,
    values outside an enum or const or matching no anyOf/oneOf branch, unknown parameters,
    and a body that is not an array at all. With a catalogue, a rule of any of its models'
    documents, labelled with the violation the catalogue reports.

    Every rule comes early: eight draws in nine are one rule's fixed case (the one
    :func:`invalid_request_cases` lists), the ninth is fuzzed. Hypothesis never draws the
    same choices twice, so it hands each fixed case out once: a test that draws nothing else
    has met every rule within about 1.4x as many examples as there are rules, then only
    fuzzes. Drawn with other values after it, the rules come at random.

    Example:
        >>> from hypothesis import given
        >>> @given(invalid_requests())
        ... def test_refused(case): ...
    """
    documents = _documents(spec)
    judge = spec if isinstance(spec, Catalog) and len(documents) > 1 else None
    case: InvalidCase | None
    rules = [(document, choice) for document in documents for choice in _choices(document)]
    slices = min(_SLICES, len(rules))
    part = draw(st.sampled_from(range(slices + 1)))
    if part < slices:  # the coverage phase: no choice is drawn after the rule's
        document, choice = draw(st.sampled_from(rules[part::slices]))
        case = _fixed_case(document, choice, judge)
        if case is None:  # a rule the simplest task cannot carry: drawn, as fuzzing does
            case = draw(_case(document, only=choice, judge=judge).filter(_is_case))
    elif judge is None:
        case = draw(_case(documents[0]).filter(_is_case))
    else:  # a rule of any model's document, judged as the catalogue judges it
        chosen = draw(st.sampled_from(documents))
        case = draw(_case(chosen, judge=judge).filter(_is_case))
    assert case is not None
    return case


def invalid_request_cases(*, spec: Spec | Catalog | None = None) -> list[InvalidCase]:
    """One case for every rule of the document, in document order, the same every run.

    The coverage phase ``invalid_requests()`` opens with, as a list: for
    ``pytest.mark.parametrize``, one test per rule. Each case is the simplest valid task
    (its required parameters, each the first value its schema allows; a parent the rule
    sits in, added the same way) with that one rule broken, alone in the body, and is
    confirmed by :func:`contracts.check_request` to break that rule and no other. First
    the body that is not an array, then the task's rules in the schema's order. A rule
    whose fixed case cannot be built (a required parameter with a pattern no short word
    matches) is drawn by a derandomized Hypothesis run instead: call this where tests are
    collected, not inside a Hypothesis test.

    Args:
        spec: the document; the bundled one by default. With a catalogue, every rule of
            each of its models' documents, labelled as the catalogue reports it.

    Raises:
        hypothesis.errors.InvalidArgument: ``spec`` is neither a Spec, a Catalog nor None.

    Example:
        >>> import pytest
        >>> @pytest.mark.parametrize("case", invalid_request_cases())
        ... def test_refused(case): ...
    """
    documents = _documents(spec)
    judge = spec if isinstance(spec, Catalog) and len(documents) > 1 else None
    cases: list[InvalidCase] = []
    for document in documents:
        for choice in _choices(document):
            fixed = _fixed_case(document, choice, judge)
            cases.append(fixed if fixed is not None else _first_drawn(document, choice, judge))
    return cases
