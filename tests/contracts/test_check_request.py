from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

import openapi
from contracts import ContractViolation, Violation, check_request, validate_request
from tests._support import UUID, task


def test_valid_request_has_no_violations(any_spec: openapi.Spec) -> None:
    assert check_request([task(any_spec)], spec=any_spec) == []
    validate_request([task(any_spec)], spec=any_spec)


def test_empty_array_is_valid_by_the_document() -> None:
    assert check_request([]) == []
    assert check_request(b"[]") == []


def test_every_violation_is_collected_with_its_location(spec: openapi.Spec) -> None:
    payload = [
        task(
            spec,
            taskUUID="nope",
            settings__temperature=2.5,
            settings__topK=0,
            numberResults=9,
            bogus=1,
        )
    ]
    found = check_request(payload)
    assert {(v.keyword, v.pointer, v.parameter) for v in found} == {
        ("format", "/0/taskUUID", "taskUUID"),
        ("maximum", "/0/settings/temperature", "settings.temperature"),
        ("minimum", "/0/settings/topK", "settings.topK"),
        ("maximum", "/0/numberResults", "numberResults"),
        ("additionalProperties", "/0/bogus", "bogus"),
    }
    assert all(v.task_index == 0 and v.task_type == "textInference" for v in found)
    assert all(v.task_uuid == "nope" for v in found)


def test_violation_message_names_value_limit_and_fix(spec: openapi.Spec) -> None:
    (violation,) = check_request([task(spec, settings__temperature=2.5)])
    assert violation == Violation(
        pointer="/0/settings/temperature",
        parameter="settings.temperature",
        keyword="maximum",
        code="invalidParameter",
        task_index=0,
        task_uuid=UUID,
        task_type="textInference",
        message="settings.temperature is 2.5, above the maximum of 2. Send a number from 0 to 2 "
        "in steps of 0.01 (default 0.6).",
    )
    assert violation.value == 2.5


MESSAGE_CASES = [
    pytest.param(
        {"settings__temperature": 0.575},
        ["0.575", "multiple of 0.01", "0.57", "0.58"],
        id="multipleOf-suggests-neighbours",
    ),
    pytest.param(
        {"deliveryMethod": "asinc"},
        ['"asinc"', '"sync", "async", "stream"', 'Did you mean "async"'],
        id="enum-did-you-mean",
    ),
    pytest.param(
        {"maxTokens": 100},
        ["Unknown parameter maxTokens", "settings.maxTokens"],
        id="top-level-setting-belongs-under-settings",
    ),
    pytest.param(
        {"settings__temprature": 0.5}, ['Did you mean "temperature"'], id="typo-in-settings"
    ),
    pytest.param({"model": "qwen"}, ['"alibaba:qwen@3.5-397b"', '"qwen"'], id="wrong-model"),
    pytest.param({"taskUUID": 7}, ["taskUUID must be", "not integer (7)"], id="uuid-wrong-type"),
    pytest.param({"messages": []}, ["messages is empty", "at least 1 item"], id="no-messages"),
    pytest.param(
        {"settings__systemPrompt": "x" * 262145},
        ["262145 characters", "limit of 262144"],
        id="system-prompt-too-long",
    ),
]


@pytest.mark.parametrize(("changes", "fragments"), MESSAGE_CASES)
def test_messages_are_actionable(
    spec: openapi.Spec, changes: dict[str, Any], fragments: list[str]
) -> None:
    (violation,) = check_request([task(spec, **changes)])
    for fragment in fragments:
        assert fragment in violation.message


def test_missing_required_parameters(spec: openapi.Spec) -> None:
    found = check_request([{"taskType": "textInference", "taskUUID": UUID}])
    assert [(v.code, v.pointer, v.parameter) for v in found] == [
        ("missingParameter", "/0/model", "model"),
        ("missingParameter", "/0/messages", "messages"),
    ]
    assert "alibaba:qwen@3.5-397b" in found[0].message


def test_codes_follow_runware_style(spec: openapi.Spec) -> None:
    found = check_request(
        [
            task(spec, extra=1, seed=-1) | {"taskType": "textInference"},
            {"taskType": "textInference"},
        ]
    )
    assert {v.code for v in found} == {"unknownParameter", "invalidParameter", "missingParameter"}


def test_to_error_matches_the_documents_error_response(spec: openapi.Spec) -> None:
    found = check_request([task(spec, settings__temperature=9, bogus=True), {"taskType": 3}])
    body = {"errors": [v.to_error() for v in found]}
    jsonschema.Draft202012Validator(
        spec.to_dict()["components"]["schemas"]["ErrorResponse"]
    ).validate(body)
    assert body["errors"][0] == {
        "code": "invalidParameter",
        "parameter": "settings.temperature",
        "taskType": "textInference",
        "taskUUID": UUID,
        "message": found[0].message,
        "documentation": "https://runware.ai/docs/platform/errors",
    }
    assert "taskType" not in body["errors"][-1]  # taskType 3 is not a task type


def test_validate_request_raises_with_all_violations(spec: openapi.Spec) -> None:
    with pytest.raises(ContractViolation) as caught:
        validate_request([task(spec, settings__temperature=9, settings__topP=9)])
    assert len(caught.value.violations) == 2
    assert isinstance(caught.value, openapi.KitError)
    assert "2 contract violations" in str(caught.value)
    assert "settings.topP" in str(caught.value)
    assert caught.value.to_response()["errors"][1]["parameter"] == "settings.topP"


def test_authentication_task_may_come_first(spec: openapi.Spec) -> None:
    auth = {"taskType": "authentication", "apiKey": "key"}
    assert check_request([auth, task(spec)]) == []
    resume = auth | {"connectionSessionUUID": UUID}
    assert check_request([resume, task(spec)]) == []


def test_authentication_elsewhere_or_malformed_is_refused(spec: openapi.Spec) -> None:
    auth = {"taskType": "authentication", "apiKey": "key"}
    late = check_request([task(spec), auth])
    assert [(v.keyword, v.pointer) for v in late] == [("taskOrder", "/1/taskType")]
    assert "first" in late[0].message
    bad = check_request([{"taskType": "authentication", "apiKey": 5, "x": 1}])
    assert {(v.keyword, v.pointer) for v in bad} == {
        ("type", "/0/apiKey"),
        ("additionalProperties", "/0/x"),
    }


def test_get_response_tasks(spec: openapi.Spec) -> None:
    assert check_request([{"taskType": "getResponse", "taskUUID": UUID}]) == []
    assert check_request([{"taskType": "getResponse", "taskUUID": UUID, "numberResults": 2}]) == []
    found = check_request([{"taskType": "getResponse"}])
    assert [(v.code, v.pointer) for v in found] == [("missingParameter", "/0/taskUUID")]


def test_unknown_task_type_is_judged_by_the_document_item_schema(spec: openapi.Spec) -> None:
    found = check_request([task(spec) | {"taskType": "imageInference"}])
    assert [(v.keyword, v.pointer) for v in found] == [("const", "/0/taskType")]
    assert '"textInference"' in found[0].message


MALFORMED = [
    pytest.param(b"", "empty", id="empty"),
    pytest.param(b"   ", "empty", id="whitespace"),
    pytest.param(b"[{", "not valid JSON", id="truncated"),
    pytest.param(b"hello", "not valid JSON", id="not-json"),
    pytest.param(b"[NaN]", "NaN", id="nan"),
    pytest.param(b'[{"seed": Infinity}]', "Infinity", id="infinity"),
    pytest.param(b"[-Infinity]", "Infinity", id="minus-infinity"),
    pytest.param(b'["\xff\xfe"]', "not UTF-8", id="invalid-utf8"),
    pytest.param(b'["\\ud800"]', "unpaired surrogate", id="lone-surrogate-escape"),
    pytest.param(b"\xef\xbb\xbf[]", "byte order mark", id="bom"),
    pytest.param(b"[" * 100_000 + b"]" * 100_000, "nests too deeply", id="deep-nesting"),
    pytest.param(b"[] []", "not valid JSON", id="two-documents"),
    pytest.param(b"[1e99999999999999999999]", "exponent", id="exponent-beyond-a-decimal"),
    # The mock refuses a key sent twice, so the check before sending does too.
    pytest.param(b'[{"seed": 1, "seed": 2}]', "appears twice", id="duplicate-key"),
    pytest.param(b'[{"a": {"b": 1,\n "b" :2}}]', "appears twice", id="duplicate-key-nested"),
    # The duplicate's message holds the word "digits", as Python's big-int refusal does.
    pytest.param(b'[{"digits": 1, "digits": 2}]', "appears twice", id="duplicate-key-digits"),
    pytest.param(
        b'[{"a": 1, "a": 2, "n": ' + b"9" * 4400 + b"}]",
        "appears twice",
        id="duplicate-and-big-int",
    ),
    pytest.param(memoryview(b'[{"a": 1}]')[::2], "not valid JSON", id="strided-memoryview"),
    pytest.param('["\ud800"]', "unpaired surrogate", id="lone-surrogate-in-a-str"),
]

# A quote and a colon inside a string look like the end of a key to the quick count; the
# strict parser then finds no key sent twice.
KEY_LOOKALIKES = [
    pytest.param(b'[{"taskType": "a\\":b"}]', id="escaped-quote-colon"),
    pytest.param(b'[{"taskType": "x\\"  :y", "model": "m"}]', id="escaped-quote-space-colon"),
]


@pytest.mark.parametrize("body", KEY_LOOKALIKES)
def test_a_quote_and_colon_in_a_string_is_no_duplicate(body: bytes) -> None:
    assert all(v.keyword != "json" for v in check_request(body))


@pytest.mark.parametrize(("body", "fragment"), MALFORMED)
def test_malformed_bodies_are_violations_not_exceptions(body: Any, fragment: str) -> None:
    (violation,) = check_request(body)
    assert violation.keyword == "json"
    assert violation.code == "invalidRequestBody"
    assert fragment in violation.message
    assert violation.to_error()["code"] == "invalidRequestBody"


WRONG_TOP_LEVEL = [
    pytest.param({"taskType": "textInference"}, "object", id="object"),
    pytest.param("text", "string", id="string"),
    pytest.param(3, "integer", id="number"),
    pytest.param(None, "null", id="null"),
]


@pytest.mark.parametrize(("body", "kind"), WRONG_TOP_LEVEL)
def test_wrong_top_level_type(body: Any, kind: str) -> None:
    # A Python str is raw JSON text, so the string case goes in encoded only.
    forms = [json.dumps(body), json.dumps(body).encode()] + ([] if kind == "string" else [body])
    for payload in forms:
        (violation,) = check_request(payload)
        assert (violation.keyword, violation.pointer, violation.code) == (
            "type",
            "",
            "invalidRequestBody",
        )
        assert kind in violation.message
        assert "[ ]" in violation.message


def test_non_object_tasks(spec: openapi.Spec) -> None:
    found = check_request([task(spec), 5, "x", None])
    assert [(v.keyword, v.pointer, v.task_index) for v in found] == [
        ("type", "/1", 1),
        ("type", "/2", 2),
        ("type", "/3", 3),
    ]


def test_a_parsed_str_is_a_json_string_not_json_text() -> None:
    # A server that parsed the body itself passes the value: the body "[]" (a JSON string)
    # is then a string, not the text of an empty array.
    (violation,) = check_request("[]", parsed=True)
    assert (violation.keyword, violation.code, violation.value) == (
        "type",
        "invalidRequestBody",
        "[]",
    )
    assert check_request("[]") == []
    assert check_request([], parsed=True) == []
    with pytest.raises(ContractViolation):
        validate_request("[]", parsed=True)
    validate_request("[]")


def test_raw_str_and_bytes_agree(spec: openapi.Spec) -> None:
    payload = [task(spec, settings__temperature=3)]
    text = json.dumps(payload)
    assert check_request(text) == check_request(text.encode()) == check_request(payload)


def test_payload_is_not_modified(spec: openapi.Spec) -> None:
    payload = [task(spec, settings__temperature=3, extra=1)]
    before = json.dumps(payload)
    check_request(payload)
    assert json.dumps(payload) == before


def test_tuples_and_dict_subclasses_are_json_arrays_and_objects(spec: openapi.Spec) -> None:
    class Task(dict[str, Any]):
        pass

    assert check_request((Task(task(spec)),)) == []
