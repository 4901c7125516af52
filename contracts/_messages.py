"""Turn the schema engine's raw errors into violations a person can act on.

Each message says what was sent, what the document allows (read from the schema, never
hard-coded) and how to fix it. This runs only on failure, so it may take its time.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from ._schema._compile import RawError
from ._schema._numbers import as_decimal, is_number
from ._violation import Violation

__all__ = ["describe", "parameter_name", "pointer_of", "show", "to_violation"]

_TYPE_NAMES = {
    "object": "an object",
    "array": "an array",
    "string": "a string",
    "number": "a number",
    "integer": "an integer",
    "boolean": "a boolean",
    "null": "null",
}
_FORMAT_NAMES = {
    "uuid": "a UUID (hyphenated RFC 4122 form, e.g. str(uuid.uuid4()))",
    "uri": "an absolute URI with a scheme (e.g. https://example.com/hook)",
    "uri-reference": "a URI reference (RFC 3986)",
    "date-time": "an RFC 3339 date-time (e.g. 2026-01-31T12:00:00Z)",
    "date": "an RFC 3339 date (e.g. 2026-01-31)",
    "time": "an RFC 3339 time",
    "email": "an e-mail address",
    "hostname": "a host name",
    "ipv4": "an IPv4 address",
    "ipv6": "an IPv6 address",
    "regex": "an ECMA-262 regular expression",
    "duration": "an ISO 8601 duration",
}


def show(value: Any, limit: int = 60) -> str:
    """A short JSON rendering of a value for a message."""
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    if isinstance(value, Decimal):
        text = str(value)
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, str):
        return "string"
    if is_number(value):
        return "integer" if isinstance(value, int) else "number"
    if isinstance(value, float):
        return "non-finite number (NaN/Infinity is not JSON)"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list | tuple):
        return "array"
    return f"Python {type(value).__name__} (not a JSON value)"


def pointer_of(path: Sequence[Any]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def parameter_name(path: Sequence[Any]) -> str:
    """``('settings', 'temperature')`` → ``settings.temperature``; indices as ``[1]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _number(value: Any) -> str:
    return format(as_decimal(value).normalize(), "f")


def describe(schema: Any) -> str:
    """What a schema allows, in words: ``a number from 0 to 2 in steps of 0.01 (default 0.6)``."""
    if not isinstance(schema, Mapping):
        return "nothing" if schema is False else "any value"
    if "const" in schema:
        return f"exactly {show(schema['const'])}"
    allowed = _choices(schema)
    if allowed is not None:
        return "one of " + ", ".join(show(v) for v in allowed)
    types = schema.get("type")
    names = [types] if isinstance(types, str) else list(types or [])
    text = " or ".join(_TYPE_NAMES.get(t, t) for t in names) or (
        "text" if "pattern" in schema or "format" in schema else "a value"
    )
    if "format" in schema and schema["format"] in _FORMAT_NAMES:
        text = _FORMAT_NAMES[schema["format"]]
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    if low is not None and high is not None:
        text += f" from {_number(low)} to {_number(high)}"
    elif low is not None:
        text += f" of at least {_number(low)}"
    elif high is not None:
        text += f" of at most {_number(high)}"
    if "exclusiveMinimum" in schema or "exclusiveMaximum" in schema:
        text += " (bounds excluded)"
    if "multipleOf" in schema:
        text += f" in steps of {_number(schema['multipleOf'])}"
    if "minLength" in schema and "maxLength" in schema:
        text += f" of {schema['minLength']} to {schema['maxLength']} characters"
    elif schema.get("minLength"):
        text += f" of at least {schema['minLength']} character" + (
            "s" if schema["minLength"] != 1 else ""
        )
    elif "maxLength" in schema:
        text += f" of at most {schema['maxLength']} characters"
    if "minItems" in schema and "maxItems" in schema:
        text += f" of {schema['minItems']} to {schema['maxItems']} items"
    elif schema.get("minItems"):
        text += f" of at least {schema['minItems']} item" + ("s" if schema["minItems"] != 1 else "")
    elif "maxItems" in schema:
        text += f" of at most {schema['maxItems']} items"
    if "pattern" in schema and "format" not in schema:
        text += f" matching /{schema['pattern']}/"
    if "default" in schema:
        text += f" (default {show(schema['default'])})"
    return text


def _choices(schema: Mapping[str, Any]) -> list[Any] | None:
    if "enum" in schema:
        return list(schema["enum"])
    for key in ("oneOf", "anyOf"):
        branches = schema.get(key)
        if branches and all(isinstance(b, Mapping) and "const" in b for b in branches):
            return [b["const"] for b in branches]
    return None


def _did_you_mean(value: Any, candidates: Iterable[str]) -> str:
    if not isinstance(value, str):
        return ""
    close = difflib.get_close_matches(value, list(candidates), n=1, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in candidates}
        if value.lower() in lowered:
            close = [lowered[value.lower()]]
    return f" Did you mean {show(close[0])}?" if close else ""


def _nested_home(key: str, schema: Mapping[str, Any]) -> str | None:
    """Where ``key`` is a known parameter one object level down (``temperature`` → settings)."""
    for name, sub in (schema.get("properties") or {}).items():
        if isinstance(sub, Mapping) and key in (sub.get("properties") or {}):
            return f"{name}.{key}"
    return None


def _nearest_multiples(value: Any, step: Any) -> str:
    try:
        dec, unit = as_decimal(value), as_decimal(step)
        low = (dec / unit).to_integral_value(ROUND_FLOOR) * unit
        high = (dec / unit).to_integral_value(ROUND_CEILING) * unit
    except ArithmeticError:
        return ""
    return f" The nearest allowed values are {_number(low)} and {_number(high)}."


def to_violation(
    raw: RawError,
    *,
    root: Sequence[Any] = (),
    task_index: int | None = None,
    task_uuid: str | None = None,
    task_type: str | None = None,
) -> Violation:
    """A :class:`Violation` for one raw error; ``root`` is the prefix that is not a parameter."""
    keyword, path, value, schema, detail = raw
    param = parameter_name(path[len(root) :])

    def render() -> str:
        message = _explain(keyword, param or "the body", value, schema, detail)
        return message if param else message[:1].upper() + message[1:]

    if keyword == "required":
        value = None
    elif keyword in ("additionalProperties", "unevaluatedProperties") and isinstance(
        value, Mapping
    ):
        value = value.get(detail)
    return Violation(
        pointer=pointer_of(path),
        parameter=param,
        keyword=keyword,
        code=_CODES.get(keyword, "invalidParameter"),
        render=render,
        task_index=task_index,
        task_uuid=task_uuid,
        task_type=task_type,
        value=value,
    )


_CODES = {
    "required": "missingParameter",
    "dependentRequired": "missingParameter",
    "additionalProperties": "unknownParameter",
    "unevaluatedProperties": "unknownParameter",
    "false": "unknownParameter",
}


@dataclass(frozen=True, slots=True)
class _Facts:
    """What one message may say: the parameter, the value and the schema that refused it."""

    keyword: str
    param: str
    value: Any
    schema: Mapping[str, Any]
    detail: Any

    @property
    def shown(self) -> str:
        return show(self.value)

    @property
    def expected(self) -> str:
        return describe(self.schema)


def _type(f: _Facts) -> str:
    return f"{f.param} must be {f.expected}, not {json_type(f.value)} ({f.shown})."


def _bound(f: _Facts) -> str:
    side = "below the minimum" if "inimum" in f.keyword else "above the maximum"
    bound = _number(f.schema[f.keyword])
    strict = " (the bound itself is excluded)" if f.keyword.startswith("exclusive") else ""
    return f"{f.param} is {f.shown}, {side} of {bound}{strict}. Send {f.expected}."


def _multiple_of(f: _Facts) -> str:
    step = f.schema["multipleOf"]
    return (
        f"{f.param} is {f.shown}, not a multiple of {_number(step)}."
        f"{_nearest_multiples(f.value, step)} Send {f.expected}."
    )


def _min_length(f: _Facts) -> str:
    length, least = len(f.value), f.schema["minLength"]
    what = "is empty" if length == 0 else f"is {length} characters long"
    return f"{f.param} {what}; it needs at least {least} character{'s' if least != 1 else ''}."


def _max_length(f: _Facts) -> str:
    return (
        f"{f.param} is {len(f.value)} characters long, over the limit "
        f"of {f.schema['maxLength']}; shorten it."
    )


def _pattern(f: _Facts) -> str:
    return f"{f.param} is {f.shown}, which does not match the pattern /{f.schema['pattern']}/."


def _format(f: _Facts) -> str:
    name = f.schema.get("format")
    return f"{f.param} is {f.shown}, not {_FORMAT_NAMES.get(name or '', f'a valid {name}')}."


def _min_items(f: _Facts) -> str:
    least = f.schema["minItems"]
    what = "is empty" if len(f.value) == 0 else f"has {len(f.value)} items"
    return f"{f.param} {what}; it needs at least {least} item{'s' if least != 1 else ''}."


def _max_items(f: _Facts) -> str:
    limit = f.schema["maxItems"]
    return f"{f.param} has {len(f.value)} items, over the limit of {limit}; send fewer."


def _unique_items(f: _Facts) -> str:
    return f"{f.param} holds duplicate items; each must be unique."


def _required(f: _Facts) -> str:
    sub = (f.schema.get("properties") or {}).get(f.detail, True)
    description = describe(sub)
    hint = f" It must be {description}." if description not in ("any value", "a value") else ""
    return f"Missing required parameter {f.param}.{hint}"


def _unknown(f: _Facts) -> str:
    allowed = sorted(f.schema.get("properties") or {})
    hint = _did_you_mean(f.detail, allowed)
    home = _nested_home(str(f.detail), f.schema) if not hint else None
    if home:
        hint = f" It belongs under {home.rsplit('.', 1)[0]}: send it as {home}."
    listing = f" Allowed here: {', '.join(allowed)}." if allowed else ""
    return f"Unknown parameter {f.param}: the document does not allow it here.{hint}{listing}"


def _const(f: _Facts) -> str:
    return f"{f.param} must be {show(f.schema['const'])}, not {f.shown}."


def _one_of_choices(f: _Facts, choices: list[Any]) -> str:
    names = [c for c in choices if isinstance(c, str)]
    allowed = ", ".join(show(c) for c in choices)
    return f"{f.param} is {f.shown}; allowed values are {allowed}.{_did_you_mean(f.value, names)}"


def _enum(f: _Facts) -> str:
    choices = _choices(f.schema)
    if choices is None:
        return _fallback(f)
    return _one_of_choices(f, choices)


def _any_of(f: _Facts) -> str:
    forms = "; ".join(describe(b) for b in f.schema.get("anyOf", ()))
    return f"{f.param} is {f.shown}, which matches none of the allowed forms: {forms}."


def _one_of(f: _Facts) -> str:
    choices = _choices(f.schema)
    if choices is not None:
        return _one_of_choices(f, choices)
    matched = f.detail[0] if isinstance(f.detail, tuple) else None
    count = f"{matched} of them" if matched else "none of them"
    forms = "; ".join(describe(b) for b in f.schema.get("oneOf", ()))
    return (
        f"{f.param} is {f.shown}; it must match exactly one of "
        f"these forms and matches {count}: {forms}."
    )


def _dependent_required(f: _Facts) -> str:
    return f"Missing parameter {f.param}: it is required when {f.detail} is sent."


def _not(f: _Facts) -> str:
    return f"{f.param} is {f.shown}, a value the document excludes."


def _false(f: _Facts) -> str:
    return f"{f.param} is not allowed here."


def _contains(f: _Facts) -> str:
    return f"{f.param} does not hold the items the document requires."


def _rule(f: _Facts) -> str:
    return f"{f.param} breaks the document's {f.keyword} rule."


def _fallback(f: _Facts) -> str:
    """A keyword with no wording of its own: name the rule, and the engine's detail if any."""
    reason = f": {f.detail}" if isinstance(f.detail, str) else "."
    return f"{f.param} breaks the document's {f.keyword} rule{reason}"


# One wording per keyword; a keyword missing here gets the fallback.
_EXPLAIN: dict[str, Callable[[_Facts], str]] = {
    "type": _type,
    "minimum": _bound,
    "exclusiveMinimum": _bound,
    "maximum": _bound,
    "exclusiveMaximum": _bound,
    "multipleOf": _multiple_of,
    "minLength": _min_length,
    "maxLength": _max_length,
    "pattern": _pattern,
    "format": _format,
    "minItems": _min_items,
    "maxItems": _max_items,
    "uniqueItems": _unique_items,
    "required": _required,
    "additionalProperties": _unknown,
    "unevaluatedProperties": _unknown,
    "const": _const,
    "enum": _enum,
    "anyOf": _any_of,
    "oneOf": _one_of,
    "dependentRequired": _dependent_required,
    "not": _not,
    "false": _false,
    "contains": _contains,
    "maxContains": _contains,
    "minProperties": _rule,
    "maxProperties": _rule,
    "propertyNames": _rule,
}


def _explain(keyword: str, param: str, value: Any, schema: Any, detail: Any) -> str:
    facts = _Facts(keyword, param, value, schema if isinstance(schema, Mapping) else {}, detail)
    return _EXPLAIN.get(keyword, _fallback)(facts)
