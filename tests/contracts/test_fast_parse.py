"""Property: ``parse_json`` by way of orjson is the strict parser, answer for answer.

``parse_json`` hands most bodies to orjson and keeps the strict parser (``json`` with hooks)
for what orjson would read differently or refuses. Whatever it does, the value -- every
type, every decimal, every key in its order -- or the refusal -- the reason and the
position -- must be the strict parser's own. Bodies are drawn from a JSON grammar that goes
wrong on purpose (duplicate keys, every kind of escape and surrogate, long, huge, tiny and
malformed numbers, NaN, odd whitespace, a byte order mark, invalid UTF-8), then now and then
cut or patched at a random byte, and sent as bytes, str, bytearray and memoryview.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import orjson
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import openapi
from contracts import JSONProblem, Violation, check_request, parse_json
from contracts._json import _orjson_may_differ, _parse_strictly, _reads_back
from contracts.strategies import invalid_requests, realistic_requests


def typed(value: Any) -> Any:
    """``value`` with every type spelled out: 1 != 1.0 != True, -0.0 != 0.0, key order kept."""
    if isinstance(value, dict):
        return ("object", tuple((key, typed(item)) for key, item in value.items()))
    if isinstance(value, list):
        return ("array", tuple(typed(item) for item in value))
    if isinstance(value, float):
        return ("float", repr(value))
    if isinstance(value, Decimal):
        return ("decimal", value.as_tuple())
    return (type(value).__name__, value)


def outcome(parse: Callable[[Any], Any], body: Any) -> Any:
    try:
        return ("value", typed(parse(body)))
    except JSONProblem as problem:
        return ("problem", problem.reason, problem.position)


def strictly(body: Any) -> Any:
    return _parse_strictly(body, unique_keys=False)


# --------------------------------------------------------------------------------------------
# A JSON grammar, wrong on purpose now and then


DIGITS = st.text("0123456789", min_size=1, max_size=24)
GRAMMAR_NUMBERS = st.builds(
    lambda sign, whole, fraction, exponent: sign + whole + fraction + exponent,
    st.sampled_from(["", "-"]),
    st.just("0") | st.builds(str.__add__, st.sampled_from("123456789"), DIGITS | st.just("")),
    st.just("") | DIGITS.map(lambda d: "." + d),
    st.just("")
    | st.builds(
        lambda e, sign, digits: e + sign + digits,
        st.sampled_from("eE"),
        st.sampled_from(["", "-", "+"]),
        st.text("0123456789", min_size=1, max_size=5),
    ),
)
NUMBERS = (
    GRAMMAR_NUMBERS
    | st.integers().map(str)
    | st.floats(allow_nan=False, allow_infinity=False).map(repr)
    | st.sampled_from(
        [
            "0.57",
            "0.57000000000000001",
            "1e-999",
            "1e999",
            "-1e400",
            "1E-320",
            "5e-324",
            "2.2250738585072014e-308",
            "1.7976931348623157e308",
            "1.8e308",
            "18446744073709551615",
            "18446744073709551616",
            "-9223372036854775808",
            "-9223372036854775809",
            "123456789012345",
            "1234567890123456789012345678901234567890",
            "9" * 4301,
            "-0",
            "-0.0",
            "-0e5",
            "0e-300",
        ]
    )
)
WRONG_NUMBERS = st.sampled_from(
    ["+1", "01", "-01", "1.", ".5", "1e", "1e+", "-", "NaN", "Infinity", "-Infinity"]
)


def _u(code: int, case: Callable[[str], str] = str.lower) -> str:
    return "\\u" + case(f"{code:04x}")


ESCAPES = (
    st.sampled_from(['\\"', "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t"])
    | st.integers(0, 0xD7FF).map(_u)
    | st.sampled_from([0, 0x1F, 0x22, 0x3A, 0x5C, 0x62, 0xFFFF]).map(_u)
    | st.builds(  # a pair, in either case
        lambda high, low, case: _u(high, case) + _u(low, case),
        st.integers(0xD800, 0xDBFF),
        st.integers(0xDC00, 0xDFFF),
        st.sampled_from([str.lower, str.upper]),
    )
)
WRONG_ESCAPES = st.integers(0xD800, 0xDFFF).map(_u) | st.sampled_from(  # lone surrogates
    ["\\x", "\\", "\\u12", "\\U0041"]
)
CHARACTERS = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters='"\\'), max_size=6
)
WRONG_CHARACTERS = st.text(max_size=3)  # a quote, a backslash, a control character
# Few key names, so that objects name one twice (and "b" and "\u0062" are one key).
NAMES = st.sampled_from(['"a"', '"b"', '"\\u0062"', '""', '"a\\\\"', '"a\\""', '"e-300"'])
SPACE = st.sampled_from(["", "", " ", "\n", "\t", "\r\n  "])
WRONG_SPACE = st.sampled_from(["\x0c", "\u00a0", "\v"])
LITERALS = st.sampled_from(["true", "false", "null"])
WRONG_LITERALS = st.sampled_from(["tru", "True", "nul"])


def _array(items: list[tuple[str, str]]) -> str:
    return "[" + ",".join(before + item for before, item in items) + "]"


def _object(members: list[tuple[str, str, str]]) -> str:
    return "{" + ",".join(key + before + ":" + value for key, before, value in members) + "}"


def grammar(*, sloppy: bool) -> st.SearchStrategy[str]:
    """JSON values as text; ``sloppy``: one token in eight is wrong in some way."""

    def mostly(right: st.SearchStrategy[str], wrong: st.SearchStrategy[str]) -> Any:
        return st.one_of(*[right] * 7, wrong) if sloppy else right

    space = mostly(SPACE, WRONG_SPACE)
    strings = st.lists(
        mostly(CHARACTERS, WRONG_CHARACTERS) | mostly(ESCAPES, WRONG_ESCAPES), max_size=4
    ).map(lambda parts: '"' + "".join(parts) + '"')
    scalars = mostly(NUMBERS, WRONG_NUMBERS) | strings | mostly(LITERALS, WRONG_LITERALS)
    return st.builds(
        lambda before, value, after: before + value + after,
        space,
        st.recursive(
            scalars,
            lambda inner: (
                st.lists(st.tuples(space, inner), max_size=4).map(_array)
                | st.lists(st.tuples(NAMES | strings, space, inner), max_size=4).map(_object)
            ),
            max_leaves=12,
        ),
        space,
    )


TEXTS = grammar(sloppy=False) | grammar(sloppy=True)


@st.composite
def texts(draw: st.DrawFn) -> str:
    """A JSON text, or one a byte or two away from it."""
    text = draw(TEXTS)
    if text and draw(st.integers(0, 5)) == 0:
        at = draw(st.integers(0, len(text) - 1))
        patch = draw(st.sampled_from(["", "", ",", "]", "}", '"', "\\", "e", "-", "0", "."]))
        text = text[:at] + patch + text[at + draw(st.integers(0, 1)) :]
    if draw(st.integers(0, 20)) == 0:
        text = "\ufeff" + text
    return text


def _cesu(text: str) -> bytes:
    """``text`` with each character beyond U+FFFF as two three-byte surrogates (CESU-8),
    which UTF-8 forbids."""
    halves = "".join(
        chr(0xD800 + ((ord(c) - 0x10000) >> 10)) + chr(0xDC00 + ((ord(c) - 0x10000) & 0x3FF))
        if ord(c) > 0xFFFF
        else c
        for c in text
    )
    return halves.encode("utf-8", "surrogatepass")


@st.composite
def bodies(draw: st.DrawFn) -> Any:
    """A text as one of the forms a body comes in: UTF-8 (or not quite) bytes, str, ..."""
    text = draw(texts())
    form = draw(st.sampled_from(["bytes", "bytes", "str", "bytearray", "memoryview", "cesu"]))
    if form == "str":
        return text
    # A lone surrogate in the text makes the bytes invalid UTF-8.
    data = _cesu(text) if form == "cesu" else text.encode("utf-8", "surrogatepass")
    if form == "bytearray":
        return bytearray(data)
    if form == "memoryview":
        return memoryview(data)
    return data


# --------------------------------------------------------------------------------------------
# Properties


@given(bodies())
@example(b'[{"a": 1, "a": 2}]')
@example(b'["\\ud800"]')
@example(b'["\\udc00\\ud800"]')
@example('["\ud800"]')
@example(b"[NaN]")
@example(b"[0.57000000000000001]")
@example(b'{"t": 1e-999, "u": 1E+999}')
@example(b"[18446744073709551616, -9223372036854775809]")
@example(b'"\\u0000"')
@example(b"\xef\xbb\xbf[]")
@example(b'["\xed\xa0\x80"]')
@example(b"")
@example(b" [1] \x0c")
def test_parse_json_is_the_strict_parser(body: Any) -> None:
    assert outcome(parse_json, body) == outcome(strictly, body)


@given(st.binary(max_size=40))
def test_any_bytes_parse_as_the_strict_parser_does(body: bytes) -> None:
    assert outcome(parse_json, body) == outcome(strictly, body)


@given(bodies())
# An escaped colon in a kept value makes up for the colon of a dropped key: the counts of
# the body and of orjson's serialisation agree, so the escape must be found.
@example(b'{"a": 1, "a": "\\u003a"}')
@example(b'{"a": 1, "a": "\\u003A"}')
@example(b'{"n": "' + b"\\n" * 9 + b'", "a": 1, "a": "\\u003a"}')  # past the escapes read
@example(b'{"a": 1, "a": "\\\\u003a"}')  # a backslash, then the text "u003a": no escape
@example(b'{"a": "\\u003a", "b": "\\\\"}')
def test_unique_keys_parse_is_the_strict_one(body: Any) -> None:
    reference = outcome(lambda b: _parse_strictly(b, unique_keys=True), body)
    assert outcome(lambda b: parse_json(b, unique_keys=True), body) == reference


# Bodies as clients write them: a tree serialised with the separators, indentation and
# escaping of json.dumps, JSON.stringify or orjson, objects sometimes naming a key twice.
KEYS = ["a", "b", "a b", ": ", ", ", "é"]  # few: objects name one twice
LEAVES = st.tuples(
    st.just("value"),
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
)
TREES = st.recursive(
    LEAVES,
    lambda inner: (
        st.tuples(st.just("array"), st.lists(inner, max_size=4))
        | st.tuples(
            st.just("object"),
            st.lists(st.tuples(st.sampled_from(KEYS), inner), max_size=4),
        )
    ),
    max_leaves=12,
)


def _written(tree: tuple[str, Any], comma: str, colon: str, ascii: bool) -> str:
    kind, content = tree
    if kind == "array":
        return "[" + comma.join(_written(item, comma, colon, ascii) for item in content) + "]"
    if kind == "object":
        return (
            "{"
            + comma.join(
                json.dumps(key, ensure_ascii=ascii) + colon + _written(item, comma, colon, ascii)
                for key, item in content
            )
            + "}"
        )
    return json.dumps(content, ensure_ascii=ascii)


@given(
    TREES,
    st.sampled_from([(", ", ": "), (",", ":"), (",", ": "), (" , ", " : "), (",\n  ", ":\t")]),
    st.booleans(),
)
@example(("object", [("a", ("value", 1)), ("a", ("value", 2))]), (", ", ": "), False)
@example(("object", [("a", ("value", 1)), ("a", ("value", ": "))]), (",", ":"), False)
@example(("array", [("value", 0.57), ("value", 1e16), ("value", 2**64)]), (", ", ": "), True)
def test_bodies_as_clients_write_them_parse_as_the_strict_parser(
    tree: tuple[str, Any], separators: tuple[str, str], ascii: bool
) -> None:
    body = _written(tree, *separators, ascii).encode()
    for unique in (False, True):
        reference = outcome(functools.partial(_parse_strictly, unique_keys=unique), body)
        assert outcome(functools.partial(parse_json, unique_keys=unique), body) == reference


READ_BACK = [
    pytest.param(
        b'[{"taskType": "textInference", "n": 0.57, "s": ["\\n", "a, b: c"]}]', id="json.dumps"
    ),
    pytest.param(b'[{"taskType":"textInference","n":0.57,"s":["\\n","a, b: c"]}]', id="compact"),
    pytest.param(b'[\n  {\n    "a": [1, 2.5, true, null]\n  }\n]', id="indented"),
    pytest.param('["é ü", {"k": -0.0}]'.encode(), id="utf-8"),
    pytest.param(b'[ {"a" :  "x  y" , "b":[ ]} ]', id="spaces-anywhere"),
    pytest.param(b'[{"a":\t1,\r\n"b": "c d"}]', id="tabs-and-line-breaks"),
]
NOT_READ_BACK = [
    pytest.param(b'{"a": 1, "a": 2}', id="duplicate-key"),
    pytest.param(b'{"a": 1, "a": 1}', id="duplicate-key-same-value"),
    pytest.param(b"[0.57000000000000001]", id="long-literal"),
    pytest.param(b"[1e-999]", id="underflow"),
    pytest.param(b"[1E5, 1e+16, 1.50]", id="not-shortest"),
    pytest.param(b"[18446744073709551616]", id="beyond-64-bits"),
    pytest.param(b'["\\u00e9", "\\/"]', id="escapes-orjson-does-not-write"),
    pytest.param(b'["a\\u0020b"]', id="escaped-space"),
    pytest.param(b'["a\\u0020b", "c d"]', id="escaped-space-beside-a-space"),
    pytest.param(b"[-0]", id="minus-zero-int"),
]


@pytest.mark.parametrize("body", READ_BACK)
def test_bodies_orjson_writes_back_skip_the_scans(body: bytes) -> None:
    assert _reads_back(body, orjson.dumps(orjson.loads(body)))


@pytest.mark.parametrize("body", NOT_READ_BACK)
def test_bodies_orjson_would_write_otherwise_get_the_scans(body: bytes) -> None:
    assert not _reads_back(body, orjson.dumps(orjson.loads(body)))


def judged_strictly(body: bytes, spec: openapi.Spec) -> list[Violation]:
    """``check_request(body)`` as it was before orjson: the strict parser, then the checks."""
    try:
        payload = strictly(body)
    except JSONProblem as problem:
        return [
            Violation(
                pointer="",
                parameter="",
                keyword="json",
                code="invalidRequestBody",
                message=problem.reason,
            )
        ]
    return check_request(payload, spec=spec, parsed=True)


# Numbers each parser reads its own way, to write into requests now and then.
ODD_NUMBERS = ["0.57000000000000001", "1e-999", "1e999", "18446744073709551616", "5e-324"]


@given(st.data())
def test_check_request_of_bytes_is_as_before(any_spec: openapi.Spec, data: st.DataObject) -> None:
    payload = data.draw(
        realistic_requests(spec=any_spec)
        | invalid_requests(spec=any_spec).map(lambda case: case.payload)
    )
    text = json.dumps(payload, indent=data.draw(st.sampled_from([None, 1])))
    odd = data.draw(st.sampled_from([None, *ODD_NUMBERS]))
    if odd is not None:
        text = text.replace('"deliveryMethod"', f'"n": {odd}, "deliveryMethod"', 1)
    body = text.encode()
    assert check_request(body, spec=any_spec) == judged_strictly(body, any_spec)


# --------------------------------------------------------------------------------------------
# Which way a body goes: realistic ones take orjson, the rest the strict parser

ORJSON_READS_ALIKE = [
    pytest.param(b'{"temperature": 0.57, "topP": 0.9, "maxTokens": 512}', id="settings"),
    pytest.param(b'{"taskUUID": "0b5c3a1e-123f-4d2a-9e8f-7c6b5a4d3e21"}', id="uuid-with-e-123"),
    pytest.param(b'["3e-123", "1c2d3e-123"]', id="strings-that-look-tiny"),
    pytest.param(b"[-1.5e-30, 1e300, 2.5E+8, 12345678901234]", id="exponents-and-14-digits"),
    pytest.param(b'["state-of-the-art 2025-01-01, e-mail 42"]', id="prose-with-hyphens"),
    pytest.param(b'["' + b"9" * 14 + b'"]', id="14-digits-in-a-string"),
]
STRICT_PARSER_READS = [
    pytest.param(b"[0.57000000000000001]", id="17-significant-digits"),
    pytest.param(b"[-123456789012345]", id="16-characters-with-sign"),
    pytest.param(b"[18446744073709551616]", id="beyond-64-bits"),
    pytest.param(b'{"t": 1e-300}', id="tiny-exponent"),
    pytest.param(b'{"t": -2.5E-0400}', id="tiny-exponent-leading-zero"),
    pytest.param(b"1e-999", id="tiny-at-the-start"),
]


@pytest.mark.parametrize("body", ORJSON_READS_ALIKE)
def test_realistic_bodies_take_orjson(body: bytes) -> None:
    assert not _orjson_may_differ(body)


@pytest.mark.parametrize("body", STRICT_PARSER_READS)
def test_bodies_orjson_would_misread_take_the_strict_parser(body: bytes) -> None:
    assert _orjson_may_differ(body)


def test_deep_nesting_is_left_to_the_strict_parser() -> None:
    limit = sys.getrecursionlimit()
    shallow = b"[" * (limit // 4) + b"]" * (limit // 4)
    deep = b"[" * limit + b"]" * limit  # orjson reads up to 1024 levels
    assert not _orjson_may_differ(shallow)
    assert _orjson_may_differ(deep)
    assert outcome(parse_json, deep) == outcome(strictly, deep)
    assert outcome(parse_json, shallow) == outcome(strictly, shallow)


def test_a_low_recursion_limit_sends_deep_bodies_to_the_strict_parser() -> None:
    import inspect

    depth = len(inspect.stack())
    body = b"[" * 250 + b"]" * 250  # orjson reads and writes it; the strict parser may not
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + 200)
    try:
        reference = outcome(strictly, body)
        assert outcome(parse_json, body) == reference
        assert outcome(lambda b: parse_json(b, unique_keys=True), body) == reference
    finally:
        sys.setrecursionlimit(limit)
    assert reference[0] == "problem"  # the case this test is for
