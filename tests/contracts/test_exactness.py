"""The verdict is JSON Schema 2020-12's, exactly, on the cases popular validators get wrong."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import openapi
from contracts import check_request
from contracts._schema import _numbers
from contracts._schema._equality import json_equal, json_unique
from tests._support import SECOND_DOCUMENT, UUID, task


def keywords(payload: Any, spec: openapi.Spec | None = None) -> list[tuple[str, str]]:
    return [(v.keyword, v.pointer) for v in check_request(payload, spec=spec)]


# Temperatures that plain float division (value / 0.01) calls "not a multiple".
LEGAL_DECIMALS = [
    "0.07",
    "0.14",
    "0.28",
    "0.29",
    "0.57",
    "0.58",
    "1.13",
    "1.15",
    "1.16",
    "1.99",
    "0.01",
    "2",
    "2.0",
    "0",
    "0.10",
    "1e-2",
    "5.7E-1",
    "0.570000",
]


@pytest.mark.parametrize("text", LEGAL_DECIMALS, ids=lambda t: f"temperature={t}")
def test_multiple_of_accepts_every_two_place_decimal(spec: openapi.Spec, text: str) -> None:
    body = json.dumps([task(spec, settings__temperature="X")]).replace('"X"', text)
    assert check_request(body.encode()) == []
    assert check_request(json.loads(body)) == []


ILLEGAL_DECIMALS = [
    pytest.param("0.575", id="three-places"),
    pytest.param("0.57000000000000001", id="float-rounds-it-to-0.57"),
    pytest.param("1e-999", id="underflows-to-0.0-as-float"),
    pytest.param("0.005", id="half-step"),
    pytest.param("1.0000000000000002", id="one-ulp-above-1"),
]


@pytest.mark.parametrize("text", ILLEGAL_DECIMALS)
def test_multiple_of_judges_the_written_decimal(spec: openapi.Spec, text: str) -> None:
    body = json.dumps([task(spec, settings__temperature="X")]).replace('"X"', text)
    assert keywords(body.encode()) == [("multipleOf", "/0/settings/temperature")]


BEYOND_FLOAT = [
    pytest.param("1e999999", ("maximum",), id="huge-exponent-is-above-maximum-not-infinity"),
    pytest.param("2.0000000000000000001", ("maximum", "multipleOf"), id="just-above-2"),
    pytest.param("-0.0", (), id="negative-zero-is-zero"),
]


@pytest.mark.parametrize(("text", "broken"), BEYOND_FLOAT)
def test_numbers_beyond_float_precision(
    spec: openapi.Spec, text: str, broken: tuple[str, ...]
) -> None:
    body = json.dumps([task(spec, settings__temperature="X")]).replace('"X"', text)
    assert tuple(k for k, _ in keywords(body.encode())) == broken


TYPE_CASES = [
    pytest.param("settings__temperature", True, False, id="true-is-not-a-number"),
    pytest.param("settings__temperature", False, False, id="false-is-not-a-number"),
    pytest.param("settings__maxTokens", True, False, id="true-is-not-an-integer"),
    pytest.param("settings__maxTokens", 1.0, True, id="1.0-is-an-integer"),
    pytest.param("settings__maxTokens", 512.0, True, id="512.0-is-an-integer"),
    pytest.param("settings__maxTokens", 1.5, False, id="1.5-is-not-an-integer"),
    pytest.param("settings__maxTokens", "512", False, id="string-is-not-an-integer"),
    pytest.param("seed", 4294967295, True, id="seed-at-uint32-max"),
    pytest.param("seed", 4294967296, False, id="seed-above-uint32-max"),
    pytest.param("includeCost", 1, False, id="1-is-not-a-boolean"),
    pytest.param("includeCost", 0, False, id="0-is-not-a-boolean"),
    pytest.param("settings__temperature", float("nan"), False, id="nan-is-not-a-json-number"),
    pytest.param("settings__temperature", float("inf"), False, id="inf-is-not-a-json-number"),
]


@pytest.mark.parametrize(("field", "value", "valid"), TYPE_CASES)
def test_json_types(spec: openapi.Spec, field: str, value: Any, valid: bool) -> None:
    assert (check_request([task(spec, **{field: value})]) == []) is valid


def test_enum_and_const_do_not_confuse_booleans_with_numbers(spec: openapi.Spec) -> None:
    schema_doc = spec.to_dict()
    items = schema_doc["components"]["schemas"]["RequestBody"]["items"]
    items["properties"]["flag"] = {"enum": [1, "one"]}
    items["properties"]["zero"] = {"const": 0}
    custom = openapi.load(schema_doc)
    assert keywords([task(custom, flag=True)], custom) == [("enum", "/0/flag")]
    assert keywords([task(custom, flag=1.0)], custom) == []
    assert keywords([task(custom, zero=False)], custom) == [("const", "/0/zero")]
    assert keywords([task(custom, zero=0.0)], custom) == []


# The second document caps each stop sequence at 64 characters: code points, not UTF-16
# units or bytes.
LENGTH_CASES = [
    pytest.param("a" * 64, True, id="64-ascii"),
    pytest.param("a" * 65, False, id="65-ascii"),
    pytest.param("😀" * 64, True, id="64-emoji-is-128-utf16-units"),
    pytest.param("😀" * 65, False, id="65-emoji"),
    pytest.param("é" * 64, True, id="64-two-byte-chars"),
    pytest.param("", False, id="empty-below-minLength-1"),
]


@pytest.mark.parametrize(("text", "valid"), LENGTH_CASES)
def test_lengths_count_code_points(second_spec: openapi.Spec, text: str, valid: bool) -> None:
    payload = [task(second_spec, settings__stopSequences=[text])]
    assert (check_request(payload, spec=second_spec) == []) is valid
    raw = json.dumps(payload, ensure_ascii=True).encode()  # \ud83d\ude00 escapes
    assert (check_request(raw, spec=second_spec) == []) is valid


# The image input's anyOf: uuid | uri | data URI pattern | base64 pattern.
IMAGE_CASES = [
    pytest.param("aGVsbG8=", True, id="base64"),
    pytest.param("aGVsbG8=\n", False, id="base64-trailing-newline-ecma-dollar"),
    pytest.param("data:image/png;base64,aGVsbG8=", True, id="data-uri"),
    pytest.param("data:image/png;base64,aGVsbG8=\n", False, id="data-uri-trailing-newline"),
    pytest.param(UUID, True, id="uuid"),
    pytest.param(UUID.upper(), True, id="uuid-uppercase"),
    pytest.param("https://example.com/cat.png", True, id="https-uri"),
    pytest.param("https://example.com/cat.png\n", False, id="uri-trailing-newline"),
    pytest.param("https://example.com/a b.png", False, id="uri-with-space"),
    pytest.param("https://例え.jp/猫.png", False, id="iri-is-not-a-uri"),
    pytest.param("//example.com/cat.png", False, id="relative-reference-is-not-a-uri"),
    pytest.param("data:image/png;base64,", True, id="empty-data-uri-is-still-a-uri"),
    pytest.param("data:image/png;base64,aGVs bG8=", False, id="data-uri-with-space"),
]


@pytest.mark.parametrize(("image", "valid"), IMAGE_CASES)
def test_image_inputs(spec: openapi.Spec, image: str, valid: bool) -> None:
    found = keywords([task(spec, inputs__images=[image])])
    assert found == ([] if valid else [("anyOf", "/0/inputs/images/0")])


UUID_CASES = [
    pytest.param(UUID, True, id="lowercase"),
    pytest.param(UUID.upper(), True, id="uppercase"),
    pytest.param("00000000-0000-0000-0000-000000000000", True, id="nil"),
    pytest.param("{" + UUID + "}", False, id="braces"),
    pytest.param("urn:uuid:" + UUID, False, id="urn-prefix"),
    pytest.param(UUID.replace("-", ""), False, id="no-hyphens"),
    pytest.param("a770f077-f413-47de-9dac-be0b-26a35da6", False, id="extra-hyphen"),
    pytest.param("a770f077f-413-47de-9dac-be0b26a35da6", False, id="hyphen-misplaced"),
    pytest.param(UUID + "\n", False, id="trailing-newline"),
    pytest.param("g770f077-f413-47de-9dac-be0b26a35da6", False, id="non-hex"),
    pytest.param("a770f077-f413-47de-9dac-be0b26a35da", False, id="too-short"),
]


@pytest.mark.parametrize(("uuid", "valid"), UUID_CASES)
def test_uuid_is_the_rfc4122_hyphenated_form(spec: openapi.Spec, uuid: str, valid: bool) -> None:
    found = keywords([task(spec, taskUUID=uuid)])
    assert found == ([] if valid else [("format", "/0/taskUUID")])


URI_CASES = [
    pytest.param("https://example.com/hook?token=abc", True, id="https-with-query"),
    pytest.param("http://127.0.0.1:9000/hook", True, id="ip-and-port"),
    pytest.param("http://[::1]:9000/hook", True, id="ipv6-literal"),
    pytest.param("urn:isbn:0451450523", True, id="urn"),
    pytest.param("/hook", False, id="absolute-path-only"),
    pytest.param("example.com/hook", False, id="no-scheme"),
    pytest.param("https://example.com/\u00e9", False, id="non-ascii"),
    pytest.param("https://exa mple.com", False, id="space"),
    pytest.param("https://example.com/%zz", False, id="bad-percent-escape"),
    pytest.param("https://example.com/hook\n", False, id="trailing-newline"),
]


@pytest.mark.parametrize(("url", "valid"), URI_CASES)
def test_uri_is_an_absolute_rfc3986_uri(spec: openapi.Spec, url: str, valid: bool) -> None:
    found = keywords([task(spec, webhookURL=url)])
    assert found == ([] if valid else [("format", "/0/webhookURL")])


def test_pattern_digit_class_is_ascii_only() -> None:
    doc = openapi.load().to_dict()
    props = doc["components"]["schemas"]["RequestBody"]["items"]["properties"]
    props["code"] = {"type": "string", "pattern": "^\\d+$"}
    custom = openapi.load(doc)
    assert keywords([task(custom, code="123")], custom) == []
    assert keywords([task(custom, code="١٢٣")], custom) == [("pattern", "/0/code")]


def test_second_document_limits_apply(second_spec: openapi.Spec) -> None:
    assert keywords([task(second_spec, settings__temperature=0.57)], second_spec) == [
        ("multipleOf", "/0/settings/temperature")
    ]
    assert keywords([task(second_spec, settings__temperature=0.55)], second_spec) == []
    assert keywords([task(second_spec, settings__topP=0.123)], second_spec) == []
    assert keywords([task(second_spec, numberResults=3)], second_spec) == [
        ("maximum", "/0/numberResults")
    ]
    assert keywords([task(second_spec, deliveryMethod="async")], second_spec) == [
        ("enum", "/0/deliveryMethod")
    ]
    # The bundled document's model is not this document's.
    wrong_model = copy.deepcopy(task(second_spec))
    wrong_model["model"] = openapi.load().model_id
    assert keywords([wrong_model], second_spec) == [("const", "/0/model")]
    assert SECOND_DOCUMENT.exists()


@pytest.mark.parametrize(
    ("items", "unique"),
    [
        pytest.param([1, 1.0], False, id="1-and-1.0"),
        pytest.param(
            [Decimal("1.00000000000000000000000000000001"), 1], True, id="differs-past-28-digits"
        ),
        pytest.param([Decimal("1E+1"), 10], False, id="exponent-form"),
        pytest.param([{"a": 1}, {"a": 1.0}], False, id="equal-objects"),
        pytest.param([[0.5], [Decimal("0.50")]], False, id="equal-arrays"),
        pytest.param([True, 1], True, id="true-is-not-1"),
    ],
)
def test_unique_items_uses_exact_json_equality(items: list[Any], unique: bool) -> None:
    assert json_unique(items) is unique
    assert json_equal(items[0], items[1]) is not unique


# The compiled check's quick test for multipleOf 10**-places (round of the scaled float)
# is exactly round(v, places) == v wherever it applies, and never says yes where that says no.
@given(
    st.one_of(
        st.floats(),
        st.integers(-(10**6), 10**6).map(lambda k: k / 100),
        st.integers(-(10**12), 10**12).flatmap(
            lambda k: st.sampled_from([k / 10, k / 1000, k / 10**6, k * 1.0])
        ),
    ),
    st.integers(1, _numbers.SCALED_PLACES),
)
@example(0.57, 2)
@example(-0.0, 2)
@example(10995116277.76, 2)
@example(10995116277.75, 2)
@example(0.005, 2)
@example(1e-22, 22)
def test_scaled_multiple_agrees_with_round(value: float, places: int) -> None:
    quick = eval(_numbers.scaled_multiple("v", places), {"v": value})
    exact = round(value, places) == value
    assert not quick or exact
    if abs(value) < 2**40 / 10**places:
        assert quick == exact
