"""Turn the schema engine's raw errors into violations a person can act on.

Each message says what was sent, what the document allows (read from the schema, never
hard-coded) and how to fix it. This runs only on failure, so it may take its time.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping, Sequence
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


def _explain(keyword: str, param: str, value: Any, schema: Any, detail: Any) -> str:
    s: Mapping[str, Any] = schema if isinstance(schema, Mapping) else {}
    shown = show(value)
    expected = describe(s)
    if keyword == "type":
        return f"{param} must be {expected}, not {json_type(value)} ({shown})."
    if keyword in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        side = "below the minimum" if "inimum" in keyword else "above the maximum"
        bound = _number(s[keyword])
        strict = " (the bound itself is excluded)" if keyword.startswith("exclusive") else ""
        return f"{param} is {shown}, {side} of {bound}{strict}. Send {expected}."
    if keyword == "multipleOf":
        step = s["multipleOf"]
        return (
            f"{param} is {shown}, not a multiple of {_number(step)}."
            f"{_nearest_multiples(value, step)} Send {expected}."
        )
    if keyword == "minLength":
        length = len(value)
        what = "is empty" if length == 0 else f"is {length} characters long"
        return (
            f"{param} {what}; it needs at least {s['minLength']} "
            f"character{'s' if s['minLength'] != 1 else ''}."
        )
    if keyword == "maxLength":
        return (
            f"{param} is {len(value)} characters long, over the limit "
            f"of {s['maxLength']}; shorten it."
        )
    if keyword == "pattern":
        return f"{param} is {shown}, which does not match the pattern /{s['pattern']}/."
    if keyword == "format":
        wanted = _FORMAT_NAMES.get(s.get("format", ""), f"a valid {s.get('format')}")
        return f"{param} is {shown}, not {wanted}."
    if keyword == "minItems":
        what = "is empty" if len(value) == 0 else f"has {len(value)} items"
        return (
            f"{param} {what}; it needs at least {s['minItems']} "
            f"item{'s' if s['minItems'] != 1 else ''}."
        )
    if keyword == "maxItems":
        return f"{param} has {len(value)} items, over the limit of {s['maxItems']}; send fewer."
    if keyword == "uniqueItems":
        return f"{param} holds duplicate items; each must be unique."
    if keyword == "required":
        props = s.get("properties") or {}
        sub = props.get(detail, True)
        description = describe(sub)
        hint = f" It must be {description}." if description not in ("any value", "a value") else ""
        return f"Missing required parameter {param}.{hint}"
    if keyword in ("additionalProperties", "unevaluatedProperties"):
        allowed = sorted(s.get("properties") or {})
        hint = _did_you_mean(detail, allowed)
        home = _nested_home(str(detail), s) if not hint else None
        if home:
            hint = f" It belongs under {home.rsplit('.', 1)[0]}: send it as {home}."
        listing = f" Allowed here: {', '.join(allowed)}." if allowed else ""
        return f"Unknown parameter {param}: the document does not allow it here.{hint}{listing}"
    if keyword == "const":
        return f"{param} must be {show(s['const'])}, not {shown}."
    if keyword in ("enum", "oneOf") and _choices(s) is not None:
        choices = [str(c) for c in _choices(s) or () if isinstance(c, str)]
        allowed_text = ", ".join(show(c) for c in _choices(s) or ())
        return (
            f"{param} is {shown}; allowed values are {allowed_text}.{_did_you_mean(value, choices)}"
        )
    if keyword == "anyOf":
        forms = "; ".join(describe(b) for b in s.get("anyOf", ()))
        return f"{param} is {shown}, which matches none of the allowed forms: {forms}."
    if keyword == "oneOf":
        matched = detail[0] if isinstance(detail, tuple) else None
        count = f"{matched} of them" if matched else "none of them"
        forms = "; ".join(describe(b) for b in s.get("oneOf", ()))
        return (
            f"{param} is {shown}; it must match exactly one of "
            f"these forms and matches {count}: {forms}."
        )
    if keyword == "dependentRequired":
        return f"Missing parameter {param}: it is required when {detail} is sent."
    if keyword == "not":
        return f"{param} is {shown}, a value the document excludes."
    if keyword == "false":
        return f"{param} is not allowed here."
    if keyword in ("contains", "maxContains"):
        return f"{param} does not hold the items the document requires."
    if keyword in ("minProperties", "maxProperties", "propertyNames"):
        return f"{param} breaks the document's {keyword} rule."
    reason = f": {detail}" if isinstance(detail, str) else "."
    return f"{param} breaks the document's {keyword} rule{reason}"
