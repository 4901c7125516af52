"""Replies that follow the request: JSON output under the request's own ``jsonSchema``.

Some Runware text models take ``outputFormat: "JSON"`` and a ``jsonSchema`` (protocol
reference §2). Which parameter means JSON output, and which holds the schema, is read from
the loaded document: a parameter whose enum offers ``"JSON"`` (any case), and an object
parameter whose name says schema. A document without them behaves as before.

The JSON is drawn from the request's schema by a deterministic walk (per seed, varied
across seeds, strings made of the conversation's words), and every value is judged by the
kit's exact validator before it is sent: a value the schema refuses is never presented as
valid. A schema the walk cannot satisfy, one with keywords it cannot generate for
(``pattern``, a non-local ``$ref``), or one that is no valid JSON Schema, is an error
naming the part.
"""

from __future__ import annotations

import functools
import json
import math
import random
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from openapi import KitError, Spec

__all__ = ["JsonOption", "JsonOutputError", "draw_json", "json_option", "schema_problems"]

_MEMO = "mockserver.json-option"
# An empty schema: "any JSON object when none is given" (a JSON mode reply is an object).
_ANY_OBJECT: Mapping[str, Any] = {"type": "object"}


class JsonOutputError(KitError):
    """The task's ``jsonSchema`` cannot be answered; ``parameter`` and ``pointer`` name
    the part."""

    def __init__(self, message: str, *, parameter: str, pointer: str = "") -> None:
        self.parameter = parameter
        self.pointer = pointer
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class JsonOption:
    """Where a document puts JSON output: the format parameter and its JSON value, and the
    schema parameter (dotted paths, as ``Spec.parameters`` names them)."""

    format_path: str
    json_value: str
    schema_path: str | None

    def wanted(self, task: Mapping[str, Any]) -> bool:
        return bool(_get(task, self.format_path) == self.json_value)

    def schema(self, task: Mapping[str, Any]) -> Mapping[str, Any]:
        found = _get(task, self.schema_path) if self.schema_path else None
        return found if isinstance(found, Mapping) and found else _ANY_OBJECT


def _get(task: Mapping[str, Any], path: str) -> Any:
    value: Any = task
    for name in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(name)
    return value


def json_option(spec: Spec) -> JsonOption | None:
    """The document's JSON output option, or None (read once per document)."""
    if _MEMO in spec.memo:
        found: JsonOption | None = spec.memo[_MEMO]
        return found
    found = None
    parameters = spec.parameters()
    for param in parameters:
        enum = param.schema.get("enum")
        if isinstance(enum, Sequence) and not isinstance(enum, str):
            value = next((v for v in enum if isinstance(v, str) and v.lower() == "json"), None)
            if value is not None:
                schema_path = next(
                    (
                        p.path
                        for p in parameters
                        if "schema" in p.name.lower()
                        and p.schema.get("type") in ("object", None)
                        and p.path.count(".") == param.path.count(".")
                    ),
                    None,
                )
                found = JsonOption(param.path, value, schema_path)
                break
    spec.memo[_MEMO] = found
    return found


def schema_problems(schema: Mapping[str, Any]) -> JsonOutputError | None:
    """Why ``schema`` is no JSON Schema the kit can answer, or None (judged once per
    distinct schema)."""
    return _problems(json.dumps(schema, sort_keys=True, separators=(",", ":")))


@functools.lru_cache(maxsize=64)
def _problems(text: str) -> JsonOutputError | None:
    from jsonschema import Draft202012Validator, SchemaError, validators

    schema = json.loads(text)
    try:
        validators.validator_for(schema, default=Draft202012Validator).check_schema(dict(schema))
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path)
        return JsonOutputError(
            f"jsonSchema is not a valid JSON Schema at /{where}: {exc.message}.",
            parameter="jsonSchema",
            pointer=f"/{where}",
        )
    return None


def draw_json(schema: Mapping[str, Any], *, seed: int, words: Sequence[str]) -> Any:
    """A JSON value valid under ``schema`` (by the kit's exact validator): the same for the
    same seed, another for another. Drawn by a small deterministic walk of the schema, not
    by Hypothesis: a client's own Hypothesis test may be what sent the request, and
    Hypothesis does not run inside itself."""
    from contracts import check_value

    problem = schema_problems(schema)
    if problem is not None:
        raise problem
    last: list[Any] = []
    for attempt in range(_ATTEMPTS):
        rng = random.Random(f"{seed}:{attempt}")
        try:
            value = _Walk(schema, rng, tuple(words) or _WORDS).value(schema, depth=0)
        except _Unsupported as exc:
            raise JsonOutputError(
                f"jsonSchema uses {exc}, which the mock cannot generate "
                "values for; drop it, or script the reply (json = …).",
                parameter="jsonSchema",
                pointer=exc.pointer,
            ) from None
        found = check_value(value, schema=schema)
        if not found:
            return value
        last = found
    where = last[0].pointer or "/"
    raise JsonOutputError(
        f"jsonSchema cannot be satisfied by the values the mock draws: at "
        f"{where}, {last[0].message} Check the schema for a contradiction "
        "(enum, const, min/max, required, not), or script the reply "
        "(json = …).",
        parameter="jsonSchema",
        pointer=where,
    )


_ATTEMPTS = 24
_WORDS = ("alpha", "river", "summary", "value", "report", "north", "green", "record")
_MAX_DEPTH = 8


class _Unsupported(Exception):
    def __init__(self, what: str, pointer: str) -> None:
        self.pointer = pointer
        super().__init__(what)


class _Walk:
    """One draw: values for a schema node, with ``$ref``s resolved within the schema."""

    def __init__(self, root: Mapping[str, Any], rng: random.Random, words: tuple[str, ...]) -> None:
        self.root, self.rng, self.words = root, rng, words

    def _ref(self, ref: str) -> Any:
        if not ref.startswith("#"):
            raise _Unsupported(f"the non-local $ref {ref!r}", ref)
        node: Any = self.root
        for part in [p for p in ref[1:].split("/") if p]:
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(node, Mapping) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                raise _Unsupported(f"the $ref {ref!r}, which points nowhere", ref)
        return node

    def value(self, schema: Any, *, depth: int) -> Any:
        rng = self.rng
        if schema is True or schema == {} or not isinstance(schema, Mapping):
            return rng.choice(self.words) if schema is not False else None
        if "$ref" in schema:
            return self.value(
                {**self._ref(schema["$ref"]), **{k: v for k, v in schema.items() if k != "$ref"}},
                depth=depth + 1,
            )
        if "const" in schema:
            return schema["const"]
        if schema.get("enum"):
            return rng.choice(list(schema["enum"]))
        for combinator in ("oneOf", "anyOf"):
            if schema.get(combinator):
                branch = rng.choice(list(schema[combinator]))
                rest = {k: v for k, v in schema.items() if k != combinator}
                return self.value(
                    {**rest, **branch} if isinstance(branch, Mapping) else branch, depth=depth + 1
                )
        if schema.get("allOf"):
            merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
            for part in schema["allOf"]:
                if isinstance(part, Mapping):
                    for key, sub in part.items():
                        if key == "properties" and isinstance(sub, Mapping):
                            merged["properties"] = {**merged.get("properties", {}), **sub}
                        elif key == "required":
                            merged["required"] = [*merged.get("required", []), *sub]
                        else:
                            merged.setdefault(key, sub)
            return self.value(merged, depth=depth + 1)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = rng.choice(kind) if kind else None
        if kind is None:
            kind = (
                "object"
                if "properties" in schema or "required" in schema
                else "array"
                if "items" in schema
                else "string"
                if {"minLength", "maxLength", "pattern", "format"} & set(schema)
                else "number"
                if {"minimum", "maximum", "multipleOf"} & set(schema)
                else "string"
            )
        if depth > _MAX_DEPTH and kind in ("object", "array"):
            kind = "null" if kind not in ("object", "array") else kind
        return getattr(self, f"_{kind}", self._unknown)(schema, depth)

    def _unknown(self, schema: Mapping[str, Any], depth: int) -> Any:
        raise _Unsupported(f"the type {schema.get('type')!r}", "/type")

    def _null(self, schema: Mapping[str, Any], depth: int) -> Any:
        return None

    def _boolean(self, schema: Mapping[str, Any], depth: int) -> Any:
        return self.rng.random() < 0.5

    def _integer(self, schema: Mapping[str, Any], depth: int) -> Any:
        low, high = _bounds(schema, default=(0, 100))
        step = schema.get("multipleOf")
        low_i, high_i = math.ceil(low), math.floor(high)
        if isinstance(step, int) and step > 0:
            first = math.ceil(low_i / step) * step
            return first + step * self.rng.randint(0, max(0, (high_i - first) // step))
        return self.rng.randint(low_i, max(low_i, high_i))

    def _number(self, schema: Mapping[str, Any], depth: int) -> Any:
        step = schema.get("multipleOf")
        if step is not None:
            return (
                self._integer(
                    {
                        **schema,
                        "multipleOf": 1,
                        "minimum": math.ceil(_bounds(schema, default=(0, 100))[0] / step),
                        "maximum": math.floor(_bounds(schema, default=(0, 100))[1] / step),
                    },
                    depth,
                )
                * step
            )
        low, high = _bounds(schema, default=(0, 100))
        return round(self.rng.uniform(low, high), 2)

    def _string(self, schema: Mapping[str, Any], depth: int) -> Any:
        fmt = schema.get("format")
        if "pattern" in schema:
            raise _Unsupported(f"a pattern ({schema['pattern']!r})", "/pattern")
        if isinstance(fmt, str) and fmt in _FORMATS:
            return _FORMATS[fmt](self.rng)
        low = int(schema.get("minLength", 1))
        high = int(schema.get("maxLength", max(low, 40)))
        text = " ".join(self.rng.choice(self.words) for _ in range(self.rng.randint(1, 4)))
        while len(text) < low:
            text = f"{text} {self.rng.choice(self.words)}"
        return text[:high].rstrip() if len(text[:high].rstrip()) >= low else text[:high]

    def _array(self, schema: Mapping[str, Any], depth: int) -> Any:
        low = int(schema.get("minItems", 1 if depth == 0 else 0))
        high = int(schema.get("maxItems", max(low, 3)))
        prefix = list(schema.get("prefixItems") or [])
        count = self.rng.randint(
            max(low, len(prefix) if "items" not in schema or schema.get("items") is False else low),
            max(low, high),
        )
        items = schema.get("items", True)
        out = [
            self.value(prefix[i] if i < len(prefix) else items, depth=depth + 1)
            for i in range(count)
        ]
        if schema.get("uniqueItems"):
            out = list({json.dumps(v, sort_keys=True): v for v in out}.values())
        return out

    def _object(self, schema: Mapping[str, Any], depth: int) -> Any:
        properties: Mapping[str, Any] = schema.get("properties") or {}
        required = set(schema.get("required") or ())
        out: dict[str, Any] = {}
        for name, sub in properties.items():
            if name in required or self.rng.random() < 0.7:
                out[name] = self.value(sub, depth=depth + 1)
        for name in required - set(out):
            extra = schema.get("additionalProperties", True)
            out[name] = self.value(extra if isinstance(extra, Mapping) else True, depth=depth + 1)
        low = int(schema.get("minProperties", 1 if not out else 0))
        extra = schema.get("additionalProperties", True)
        while len(out) < low and extra is not False:
            out[f"{self.rng.choice(self.words)}_{len(out)}"] = self.value(
                extra if isinstance(extra, Mapping) else True, depth=depth + 1
            )
        return out


def _bounds(schema: Mapping[str, Any], *, default: tuple[float, float]) -> tuple[float, float]:
    low = schema.get("minimum", schema.get("exclusiveMinimum", None))
    high = schema.get("maximum", schema.get("exclusiveMaximum", None))
    low = (
        default[0]
        if low is None
        else low + (1 if "exclusiveMinimum" in schema and "minimum" not in schema else 0)
    )
    high = max(
        low,
        default[1]
        if high is None
        else high - (1 if "exclusiveMaximum" in schema and "maximum" not in schema else 0),
    )
    return float(low), float(high)


_FORMATS: Mapping[str, Any] = {
    "uuid": lambda rng: str(uuid.UUID(int=rng.getrandbits(128), version=4)),
    "date": lambda rng: (
        f"20{rng.randint(10, 29)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    ),
    "date-time": lambda rng: (
        f"20{rng.randint(10, 29)}-{rng.randint(1, 12):02d}-"
        f"{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:"
        f"{rng.randint(0, 59):02d}:00Z"
    ),
    "time": lambda rng: f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00Z",
    "email": lambda rng: f"user{rng.randint(1, 999)}@example.invalid",
    "uri": lambda rng: f"https://example.invalid/{rng.randint(1, 999)}",
    "hostname": lambda rng: f"host{rng.randint(1, 99)}.example.invalid",
    "ipv4": lambda rng: f"192.0.2.{rng.randint(1, 254)}",
}


def dumps(value: Any) -> str:
    """The reply text of a JSON value, as a model writes it: compact, Unicode kept."""
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
