"""Property: on payloads near and far from valid, the kit's verdict is JSON Schema's.

The reference is jsonschema's Draft 2020-12 validator with the three places it is known to
depart from the specification replaced: ``multipleOf`` judged on exact fractions, ``pattern``
on an ECMA-262 engine, and strict RFC format checks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Any

import jsonschema
import regress
from hypothesis import given
from hypothesis import strategies as st

import openapi
from contracts import check_request
from contracts._schema._formats import FORMATS
from tests._support import SECOND_DOCUMENT


def _multiple_of(validator: Any, divisor: Any, instance: Any, schema: Any) -> Any:
    if validator.is_type(instance, "number") and Fraction(
        repr(instance) if isinstance(instance, float) else instance
    ) % Fraction(repr(divisor) if isinstance(divisor, float) else divisor):
        yield jsonschema.ValidationError(f"{instance!r} is not a multiple of {divisor}")


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Any:
    if validator.is_type(instance, "string") and regress.Regex(pattern, "u").find(instance) is None:
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


Reference = jsonschema.validators.extend(
    jsonschema.Draft202012Validator, validators={"multipleOf": _multiple_of, "pattern": _pattern}
)
CHECKER = jsonschema.FormatChecker(formats=())


def _strings_only(check: Callable[[str], bool]) -> Callable[[object], bool]:
    """A format check that passes anything but a string, as JSON Schema's formats do."""
    return lambda value: not isinstance(value, str) or check(value)


for _format, _format_check in FORMATS.items():
    CHECKER.checkers[_format] = (_strings_only(_format_check), ())

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-10, 10**10)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


def near(schema: Any) -> st.SearchStrategy[Any]:
    """Values around what ``schema`` allows: boundaries, off-by-one, wrong types, extras."""
    if not isinstance(schema, Mapping):
        return JSON
    options: list[st.SearchStrategy[Any]] = [JSON]
    for key in ("const", "enum"):
        if key in schema:
            values = [schema[key]] if key == "const" else list(schema[key])
            options.append(
                st.sampled_from(values)
                | st.sampled_from(values).map(lambda v: v + "x" if isinstance(v, str) else v)
            )
    for branch in schema.get("oneOf", ()) or schema.get("anyOf", ()):
        options.append(near(branch))
    kind = schema.get("type")
    if kind in ("number", "integer"):
        low, high = schema.get("minimum", -5), schema.get("maximum", 10**6)
        step = schema.get("multipleOf", 1)
        edges = [low, high, low - step, high + step, low + step, (low + high) / 2, 1.0]
        options.append(st.sampled_from(edges))
        options.append(
            st.integers(int(low) - 2, int(min(high, 10**6)) + 2).map(
                lambda n: round(n * step, 2) if isinstance(step, float) else n
            )
        )
        options.append(
            st.integers(int((low - 1) * 1000), int((high + 1) * 1000)).map(lambda n: n / 1000)
        )
    if kind == "string":
        low = schema.get("minLength", 0)
        options.append(st.text(min_size=max(0, low - 1), max_size=low + 3))
        options.append(
            st.sampled_from(
                [
                    "a770f077-f413-47de-9dac-be0b26a35da6",
                    "https://example.com/x",
                    "aGVsbG8=",
                    "data:image/png;base64,aGk=",
                    "x\n",
                ]
            )
        )
    if kind == "array":
        options.append(st.lists(near(schema.get("items", {})), max_size=3))
    if kind == "object" and "properties" in schema:
        options.append(objects(schema))
    return st.one_of(options)


def objects(schema: Mapping[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    props = schema.get("properties", {})
    required = set(schema.get("required", ()))
    fields = {name: near(sub) for name, sub in props.items()}
    keep = st.sets(st.sampled_from(sorted(props)), min_size=0) if props else st.just(set())

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        chosen = draw(keep) | (required if draw(st.booleans()) else set())
        out = {name: draw(fields[name]) for name in sorted(chosen)}
        if draw(st.integers(0, 9)) == 0:
            out[draw(st.text(min_size=1, max_size=4))] = draw(JSON)
        return out

    return build()


def _check(spec: openapi.Spec, payload: list[Any]) -> None:
    schema = spec.to_dict()["components"]["schemas"]["RequestBody"]
    reference = Reference(schema, format_checker=CHECKER, registry=spec.registry)
    expected = not any(True for _ in reference.iter_errors(payload))
    ours = check_request(payload, spec=spec)
    assert (not ours) is expected, (ours, list(reference.iter_errors(payload)))


BUNDLED = openapi.load()
SECOND = openapi.load(SECOND_DOCUMENT)


@given(st.lists(objects(BUNDLED.task_schema("textInference")), min_size=1, max_size=2))
def test_verdict_matches_reference_on_bundled_document(payload: list[Any]) -> None:
    _check(BUNDLED, payload)


def _second_items() -> dict[str, Any]:
    # Resolve the $ref'd message schema so the strategy sees real constraints.
    doc = SECOND.to_dict()
    items: dict[str, Any] = doc["components"]["schemas"]["RequestBody"]["items"]
    items["properties"]["messages"]["items"] = doc["components"]["schemas"]["Message"]
    return items


@given(st.lists(objects(_second_items()), min_size=1, max_size=2))
def test_verdict_matches_reference_on_second_document(payload: list[Any]) -> None:
    schema = SECOND.to_dict()["components"]["schemas"]["RequestBody"]
    reference = Reference(
        schema,
        format_checker=CHECKER,
        _resolver=SECOND.registry.resolver(base_uri=SECOND.document_uri),
    )
    expected = not any(True for _ in reference.iter_errors(payload))
    assert (not check_request(payload, spec=SECOND)) is expected
