"""Compile a JSON Schema into a Hypothesis strategy of values it accepts.

Generic by design: every keyword the Runware documents use is handled from the schema, so a
second model's document needs no code. What the kit promises on top of a naive translation:

- ``multipleOf`` values are exact decimals (``0.57``, never ``0.5700000000000001``): an
  integer ``k`` is drawn and ``k * step`` is computed in decimal, then written as the float
  whose shortest form is that decimal;
- boundaries (``minimum``, ``maximum``, ``minLength``, ``maxLength``, ``minItems``) are
  drawn on purpose, not left to chance;
- optional properties appear and disappear in balance, and shrink away;
- formats produce real values (uuids from ``uuid4``, URIs from a small RFC 3986 grammar);
- simple anchored patterns are drawn by construction (``_patterns.py``); anything else the
  translation cannot promise exactly (other patterns, ``oneOf``) is filtered through the
  kit's own compiled predicate, so generator and validator never disagree.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable, Mapping
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import regress
from hypothesis import strategies as st

from contracts._schema import _numbers
from contracts._schema._equality import json_key, json_unique
from contracts._schema._formats import FORMATS
from openapi import thaw

from ._patterns import simple_pattern

if TYPE_CHECKING:  # referencing exports no Resolver; annotations only
    from referencing._core import Resolver

__all__ = ["JSON_VALUES", "SchemaStrategies"]

# Text that survives a JSON round trip: no lone surrogates.
_TEXT = st.characters(codec="utf-8")
# Small JSON values for schemas that allow anything.
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-1000, 1000) | st.text(_TEXT, max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=5,
)
# Lengths beyond this are still drawn, but only at the boundary itself.
_SPREAD = 24

_STRUCTURAL = frozenset(
    {
        "properties",
        "required",
        "additionalProperties",
        "items",
        "type",
        "minItems",
        "maxItems",
        "minLength",
        "maxLength",
    }
)


_LOWER = "abcdefghijklmnopqrstuvwxyz0123456789"
# RFC 3986 unreserved characters: safe in a path segment without escaping.
_UNRESERVED = _LOWER + "ABCDEFGHIJKLMNOPQRSTUVWXYZ-._~"


def _fit(words: list[str], *, low: int, high: int) -> str:
    """Words joined by spaces, cut or stretched (the words again) to ``low``..``high``."""
    text = " ".join(words)
    while len(text) < low:
        text = f"{text} {text}" if text else "a" * low
    return text[:high].rstrip() if len(text[:high].rstrip()) >= low else text[:high]


def _hosts() -> st.SearchStrategy[str]:
    # st.text over a small alphabet draws far cheaper than st.from_regex.
    label = st.text(_LOWER, min_size=1, max_size=10)
    named = st.builds(lambda a, b: f"{a}.{b}", label, st.sampled_from(["com", "org", "ai"]))
    return st.one_of(named, st.sampled_from(["localhost", "127.0.0.1", "[::1]"]))


def _uris() -> st.SearchStrategy[str]:
    segment = st.text(_UNRESERVED, min_size=1, max_size=10)
    web = st.builds(
        lambda scheme, host, port, path, query: f"{scheme}://{host}{port}/{'/'.join(path)}{query}",
        st.sampled_from(["https", "http"]),
        _hosts(),
        st.sampled_from(["", ":8080", ":9000"]),
        st.lists(segment, max_size=2),
        st.sampled_from(["", "?token=abc"]),
    )
    urn = st.builds(
        lambda nid, nss: f"urn:{nid}:{nss}", st.text(_LOWER, min_size=2, max_size=8), segment
    )
    return st.one_of(web, web, web, urn)


_FORMAT_STRATEGIES: Mapping[str, st.SearchStrategy[str]] = {
    "uuid": st.uuids().map(str),
    "uri": _uris(),
    "uri-reference": st.one_of(_uris(), st.text(_UNRESERVED, max_size=12).map(lambda p: "/" + p)),
    # RFC 3339 years have four digits: strftime writes year 974 as "974".
    "date-time": st.datetimes(min_value=datetime.datetime(1000, 1, 1)).map(
        lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")
    ),
    "date": st.dates(min_value=datetime.date(1000, 1, 1)).map(lambda d: d.strftime("%Y-%m-%d")),
    "email": st.builds(
        lambda user, host: f"{user}@{host}", st.text(_LOWER, min_size=1, max_size=9), _hosts()
    ),
    "ipv4": st.ip_addresses(v=4).map(str),
    "ipv6": st.ip_addresses(v=6).map(str),
}
# Formats whose strategy above draws only values the kit's own checker accepts (a property
# test holds each to it): a schema that asks for no more than the format needs no re-check,
# which costs a filter's draw on every value.
VALID_BY_CONSTRUCTION = frozenset(
    {"uuid", "uri", "uri-reference", "date-time", "date", "ipv4", "ipv6"}
)
_FORMAT_ONLY = frozenset({"type", "format", "title", "description", "examples", "default"})
_PATTERN_ONLY = _FORMAT_ONLY - {"format"} | {"pattern"}


def _repeat(count: int, character: str) -> str:
    return character * count


def _sometimes(
    common: st.SearchStrategy[Any], boundary: st.SearchStrategy[Any]
) -> st.SearchStrategy[Any]:
    """``boundary`` about one draw in five: often enough to matter, rare enough to be cheap."""
    return st.one_of(common, common, common, common, boundary)


def _bounded_integers(
    low: int, high: int, *, then: Callable[[int], Any] | None = None
) -> st.SearchStrategy[Any]:
    """Integers ``low``..``high``, a bound in half of the draws (a quarter each), shrinking to
    the one nearest zero; ``then``, if given, maps each in the same step.

    The bounds are a choice of their own: folded into the one integer drawn (spare values
    standing for them) they cost no fewer calls per task, and Hypothesis' draws inside a
    task came out so uneven that a bound met one draw in sixty in some runs.
    """
    either = st.one_of(st.integers(low, high), st.sampled_from(sorted({low, high})))
    return either if then is None else either.map(then)


def _multiple(k: int, *, unit: Decimal, integer: bool) -> int | float:
    """``k`` times the step, exactly, as a JSON number."""
    return _number(Decimal(k) * unit, integer=integer)


def _number(value: Decimal, *, integer: bool) -> int | float:
    """The JSON number for an exact decimal: an int, or the float whose repr is the decimal."""
    if integer or value == value.to_integral_value():
        return int(value) if integer else float(int(value))
    return float(str(value))


class SchemaStrategies:
    """Strategies for schemas of one document (``$ref``s resolved through ``resolver``).

    Args:
        resolver: resolves ``$ref``s against the document.
        predicate: compiles a schema (with its resolver) into the kit's validity predicate,
            used to filter what the translation cannot promise exactly.
    """

    def __init__(
        self,
        resolver: Resolver[Any],
        predicate: Callable[[Any, Resolver[Any]], Callable[[Any], bool]],
        *,
        words: tuple[str, ...] = (),
    ) -> None:
        self._resolver = resolver
        self.predicate = predicate
        self._building: dict[int, st.SearchStrategy[Any]] = {}
        # Plausible text: free strings are drawn as runs of these words (the mock's JSON
        # replies); without any, as arbitrary text (the fuzzing strategies).
        self._words = words

    def for_schema(
        self,
        schema: Any,
        resolver: Resolver[Any] | None = None,
        *,
        overrides: Mapping[str, st.SearchStrategy[Any]] | None = None,
    ) -> st.SearchStrategy[Any]:
        """Values valid for ``schema``; ``overrides`` replace property strategies by name."""
        return self._build(schema, resolver or self._resolver, dict(overrides or {}))

    # -- dispatch -----------------------------------------------------------------------

    def _build(
        self, schema: Any, resolver: Resolver[Any], overrides: dict[str, st.SearchStrategy[Any]]
    ) -> st.SearchStrategy[Any]:
        if schema is True or schema == {}:
            return JSON_VALUES
        if schema is False:
            return st.nothing()
        if "$ref" in schema:
            resolved = resolver.lookup(schema["$ref"])
            target = resolved.contents
            rest = {k: v for k, v in schema.items() if k != "$ref"}
            if rest:
                return self._exact(
                    self._build(_merge(target, rest), resolved.resolver, overrides),
                    schema,
                    resolver,
                )
            key = id(target)
            if key in self._building:  # recursion: let Hypothesis tie the knot
                return st.deferred(lambda: self._building[key])
            self._building[key] = st.nothing()
            built = self._build(target, resolved.resolver, overrides)
            self._building[key] = built
            return built
        if "const" in schema:
            return st.just(thaw(schema["const"]))
        if "enum" in schema:
            return st.sampled_from([thaw(v) for v in schema["enum"]])
        for combinator in ("oneOf", "anyOf"):
            if combinator in schema:
                return self._alternatives(schema, combinator, resolver, overrides)
        if "allOf" in schema:
            merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
            for part in schema["allOf"]:
                merged = _merge(merged, part)
            return self._exact(self._build(merged, resolver, overrides), schema, resolver)
        types = schema.get("type")
        if isinstance(types, list | tuple):
            return st.one_of(
                [self._build({**schema, "type": t}, resolver, overrides) for t in types]
            )
        kind = types if isinstance(types, str) else _infer_type(schema)
        if kind == "boolean":
            return st.booleans()
        if kind == "null":
            return st.none()
        builders = {
            "object": self._object,
            "array": self._array,
            "string": self._string,
            "number": self._numeric,
            "integer": self._numeric,
        }
        if kind not in builders:
            return self._exact(JSON_VALUES, schema, resolver)
        return builders[kind](schema, resolver, overrides)

    def _exact(
        self, strategy: st.SearchStrategy[Any], schema: Any, resolver: Resolver[Any]
    ) -> st.SearchStrategy[Any]:
        return strategy.filter(self.predicate(schema, resolver))

    def _alternatives(
        self,
        schema: Mapping[str, Any],
        key: str,
        resolver: Resolver[Any],
        overrides: dict[str, st.SearchStrategy[Any]],
    ) -> st.SearchStrategy[Any]:
        branches = schema[key]
        base = {k: v for k, v in schema.items() if k != key}
        if all(isinstance(b, Mapping) and "const" in b for b in branches) and json_unique(
            [b["const"] for b in branches]
        ):
            return st.sampled_from([thaw(b["const"]) for b in branches])
        options = [self._build(_merge(base, branch), resolver, overrides) for branch in branches]
        combined = st.one_of(options)
        # Each branch is valid for its own part; oneOf also needs "only one": filter on it.
        return self._exact(combined, schema, resolver) if key == "oneOf" else combined

    # -- kinds ----------------------------------------------------------------------------

    def _numeric(
        self, schema: Mapping[str, Any], resolver: Resolver[Any], overrides: dict[str, Any]
    ) -> st.SearchStrategy[Any]:
        integer = schema.get("type") == "integer"
        low, high = schema.get("minimum"), schema.get("maximum")
        xlow, xhigh = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
        step = schema.get("multipleOf", 1 if integer else None)
        if step is None:
            floats = st.floats(
                min_value=xlow if low is None else low,
                max_value=xhigh if high is None else high,
                exclude_min=low is None and xlow is not None,
                exclude_max=high is None and xhigh is not None,
                allow_nan=False,
                allow_infinity=False,
            )
            edges = [b for b in (low, high) if b is not None]
            return st.one_of(st.sampled_from(edges), floats) if edges else floats
        unit = _numbers.as_decimal(step)
        if integer:
            # The integers among the multiples of p/q (lowest terms) are the multiples of p:
            # 0.5 allows every integer, 1.5 every third.
            unit = Decimal(Fraction(unit).numerator)
        k_low = k_high = None
        if low is not None or xlow is not None:
            bound = _numbers.as_decimal(low if low is not None else xlow)
            k_low = int((bound / unit).to_integral_value(ROUND_CEILING))
            if low is None and k_low * unit == bound:
                k_low += 1
        if high is not None or xhigh is not None:
            bound = _numbers.as_decimal(high if high is not None else xhigh)
            k_high = int((bound / unit).to_integral_value(ROUND_FLOOR))
            if high is None and k_high * unit == bound:
                k_high -= 1
        if k_low is None and k_high is None:
            k_low, k_high = -(10**6), 10**6
        elif k_low is None:
            k_low = k_high - 10**6  # type: ignore[operator]
        elif k_high is None:
            k_high = k_low + 10**6
        assert k_low is not None
        assert k_high is not None
        # The multiples of 1 are the integers themselves: no decimal to write.
        write = (
            None
            if integer and unit == 1
            else functools.partial(_multiple, unit=unit, integer=integer)
        )
        return _bounded_integers(k_low, k_high, then=write)

    def _string(
        self, schema: Mapping[str, Any], resolver: Resolver[Any], overrides: dict[str, Any]
    ) -> st.SearchStrategy[Any]:
        fmt = schema.get("format")
        if isinstance(fmt, str) and fmt in _FORMAT_STRATEGIES and fmt in FORMATS:
            if fmt in VALID_BY_CONSTRUCTION and schema.keys() <= _FORMAT_ONLY:
                return _FORMAT_STRATEGIES[fmt]
            return self._exact(_FORMAT_STRATEGIES[fmt], schema, resolver)
        if "pattern" in schema:
            return self._pattern(schema, resolver)
        low = int(schema.get("minLength", 0))
        high = schema.get("maxLength")
        spread = low + _SPREAD if high is None else min(int(high), low + _SPREAD)
        if self._words:
            # JSON Schema lengths count code points, as Python's len() does.
            words = st.lists(st.sampled_from(self._words), min_size=1, max_size=5).map(
                functools.partial(_fit, low=low, high=spread)
            )
            return self._exact(words, schema, resolver) if fmt in FORMATS else words
        text = st.text(_TEXT, min_size=low, max_size=spread)
        options = [text]
        if high is not None and int(high) > spread:
            # The boundary itself, cheaply: one character repeated.
            options.append(st.sampled_from("aZ é😀").map(functools.partial(_repeat, int(high))))
        strategy = _sometimes(text, options[1]) if len(options) > 1 else text
        return self._exact(strategy, schema, resolver) if fmt in FORMATS else strategy

    def _pattern(
        self, schema: Mapping[str, Any], resolver: Resolver[Any]
    ) -> st.SearchStrategy[str]:
        pattern = schema["pattern"]
        simple = (
            simple_pattern(
                pattern,
                min_length=int(schema.get("minLength", 0)),
                max_length=None if schema.get("maxLength") is None else int(schema["maxLength"]),
            )
            if isinstance(pattern, str)
            else None
        )
        if simple is not None:
            # Matches by construction: a re-check only for what else the schema asks.
            only_pattern = (
                schema.keys() <= _PATTERN_ONLY and schema.get("type", "string") == "string"
            )
            return simple if only_pattern else self._exact(simple, schema, resolver)
        # Hypothesis speaks Python's re; the ECMA-262 filter keeps only what JSON Schema means.
        ecma = regress.Regex(pattern, "u")
        drawn = st.from_regex(
            pattern, fullmatch=pattern.startswith("^") and pattern.endswith("$")
        ).filter(lambda s: ecma.find(s) is not None)
        return self._exact(drawn, schema, resolver)

    def _array(
        self, schema: Mapping[str, Any], resolver: Resolver[Any], overrides: dict[str, Any]
    ) -> st.SearchStrategy[Any]:
        items = self._build(schema.get("items", True), resolver, {})
        low = int(schema.get("minItems", 0))
        high = schema.get("maxItems")
        spread = low + 4 if high is None else min(int(high), low + 4)
        unique = schema.get("uniqueItems") is True
        key = json_key if unique else None  # the validator's equality: 1 and 1.0 are equal
        lists = st.lists(items, min_size=low, max_size=spread, unique_by=key)
        if high is not None and int(high) > spread:
            lists = _sometimes(
                lists, st.lists(items, min_size=int(high), max_size=int(high), unique_by=key)
            )
        if (
            schema.keys() - {"title", "description", "default", "examples", "uniqueItems"}
            <= _STRUCTURAL
        ):
            return lists
        return self._exact(lists, schema, resolver)

    def _object(
        self,
        schema: Mapping[str, Any],
        resolver: Resolver[Any],
        overrides: dict[str, st.SearchStrategy[Any]],
    ) -> st.SearchStrategy[Any]:
        props: Mapping[str, Any] = schema.get("properties") or {}
        required = set(schema.get("required") or ())
        fields = {
            name: overrides[name] if name in overrides else self._build(sub, resolver, {})
            for name, sub in props.items()
        }
        must = {name: fields[name] for name in props if name in required}
        may = {name: fields[name] for name in props if name not in required}
        for name in required - props.keys():
            must[name] = JSON_VALUES
        strategy = st.fixed_dictionaries(must, optional=may)
        extra = (
            schema.keys()
            - _STRUCTURAL
            - {"title", "description", "default", "examples", "$comment", "x-response-schema"}
        )
        return self._exact(strategy, schema, resolver) if extra else strategy


def _infer_type(schema: Mapping[str, Any]) -> str | None:
    if "properties" in schema or "required" in schema:
        return "object"
    if "items" in schema:
        return "array"
    if "pattern" in schema or "format" in schema or "minLength" in schema:
        return "string"
    if any(k in schema for k in ("minimum", "maximum", "multipleOf")):
        return "number"
    return None


def _merge(base: Any, extra: Any) -> dict[str, Any]:
    """Shallow-merge two schema objects as allOf would (properties merged, required joined)."""
    if not isinstance(base, Mapping) or not isinstance(extra, Mapping):
        return dict(extra) if isinstance(extra, Mapping) else dict(base)
    merged = dict(base)
    for key, value in extra.items():
        if key == "properties" and "properties" in merged:
            props = dict(merged["properties"])
            for name, sub in value.items():
                props[name] = _merge(props[name], sub) if name in props else sub
            merged["properties"] = props
        elif key == "required" and "required" in merged:
            merged["required"] = list(dict.fromkeys([*merged["required"], *value]))
        else:
            merged[key] = value
    return merged
