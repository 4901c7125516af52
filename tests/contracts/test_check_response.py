from __future__ import annotations

from typing import Any

import pytest

import openapi
from contracts import check_response
from tests._support import UUID, task

RESULT = {
    "taskType": "textInference",
    "taskUUID": UUID,
    "text": "Canberra.",
    "finishReason": "stop",
    "usage": {"promptTokens": 12, "completionTokens": 3, "totalTokens": 15, "thinkingTokens": 0},
    "cost": 0.00004,
}

CONFORMING = [
    pytest.param({"data": [RESULT]}, id="sync-result"),
    pytest.param(
        {"data": [RESULT | {"reasoningContent": "Hmm.", "seed": 7, "resultIndex": 0}]},
        id="result-with-reasoning",
    ),
    pytest.param({"data": []}, id="empty-data"),
    pytest.param({"data": [{"taskType": "textInference", "taskUUID": UUID}]}, id="async-ack"),
    pytest.param(
        {"data": [{"taskType": "textInference", "taskUUID": UUID, "status": "processing"}]},
        id="poll-processing",
    ),
    pytest.param({"data": [RESULT | {"status": "success"}]}, id="poll-success"),
    pytest.param(
        {
            "data": [
                {
                    "taskType": "textInference",
                    "taskUUID": UUID,
                    "status": "error",
                    "error": {"code": "inferenceError", "message": "Failed."},
                }
            ]
        },
        id="poll-error",
    ),
    pytest.param(
        {
            "taskType": "textInference",
            "taskUUID": UUID,
            "delta": {"text": "Hel"},
            "finishReason": None,
        },
        id="stream-text-chunk",
    ),
    pytest.param(
        {
            "taskType": "textInference",
            "taskUUID": UUID,
            "delta": {"reasoningContent": "Let me think"},
        },
        id="stream-reasoning-chunk",
    ),
    pytest.param(
        {
            "taskType": "textInference",
            "taskUUID": UUID,
            "delta": {},
            "finishReason": "length",
            "usage": RESULT["usage"],
            "cost": 0.001,
        },
        id="stream-final-chunk",
    ),
    pytest.param(
        {"data": [{"taskType": "authentication", "connectionSessionUUID": UUID}]}, id="auth-reply"
    ),
    pytest.param({"data": [{"taskType": "ping", "pong": True}]}, id="pong"),
    pytest.param(
        {
            "errors": [
                {
                    "code": "invalidApiKey",
                    "message": "Invalid API key.",
                    "parameter": "apiKey",
                    "taskType": "authentication",
                }
            ]
        },
        id="error",
    ),
]


@pytest.mark.parametrize("body", CONFORMING)
def test_conforming_replies(body: Any) -> None:
    assert check_response(body) == []


NONCONFORMING = [
    pytest.param(
        {"data": [RESULT | {"finishReason": "done"}]},
        "/data/0/finishReason",
        id="unknown-finish-reason",
    ),
    pytest.param(
        {"data": [{k: v for k, v in RESULT.items() if k != "taskUUID"}]},
        "/data/0/taskUUID",
        id="result-without-taskUUID",
    ),
    pytest.param(
        {
            "data": [
                RESULT | {"usage": {"promptTokens": -1, "completionTokens": 0, "totalTokens": 0}}
            ]
        },
        "/data/0/usage/promptTokens",
        id="negative-tokens",
    ),
    pytest.param({"data": [RESULT | {"text": None}]}, "/data/0/text", id="null-text"),
    pytest.param(
        {"data": [{"taskType": "authentication", "connectionSessionUUID": UUID, "taskUUID": UUID}]},
        "/data/0/taskUUID",
        id="auth-reply-with-taskUUID",
    ),
    pytest.param({"errors": [{"message": "no code"}]}, "/errors/0/code", id="error-without-code"),
    pytest.param({"errors": []}, "/errors", id="no-errors-in-errors"),
    pytest.param(
        {"error": {"code": "x"}}, "/error/message", id="singular-error-envelope-without-message"
    ),
    pytest.param(
        {"error": {"code": "x", "message": "m"}, "data": []},
        "/data",
        id="singular-error-envelope-with-data",
    ),
    pytest.param(
        {"taskType": "textInference", "taskUUID": UUID, "delta": {"content": "x"}},
        "/delta/content",
        id="openai-style-delta",
    ),
    pytest.param([RESULT], "", id="bare-array"),
]


@pytest.mark.parametrize(("body", "pointer"), NONCONFORMING)
def test_nonconforming_replies(body: Any, pointer: str) -> None:
    found = check_response(body)
    assert found
    assert pointer in {v.pointer for v in found}
    assert all(v.code == "invalidResponse" for v in found)


def test_raw_reply_bytes() -> None:
    assert check_response(b'{"data": []}') == []
    (problem,) = check_response(b"<html>502</html>")
    assert problem.keyword == "json"


def test_replies_are_matched_to_their_request(spec: openapi.Spec) -> None:
    request = [task(spec, includeCost=True, includeUsage=True)]
    assert check_response({"data": [RESULT]}, request=request) == []
    no_cost = {k: v for k, v in RESULT.items() if k != "cost"}
    assert [v.keyword for v in check_response({"data": [no_cost]}, request=request)] == [
        "x-includeCost"
    ]
    stranger = RESULT | {"taskUUID": "00000000-0000-0000-0000-000000000000"}
    assert [v.keyword for v in check_response({"data": [stranger]}, request=request)] == [
        "x-taskUUID"
    ]


def test_number_results_need_distinct_result_indices(spec: openapi.Spec) -> None:
    request = [task(spec, numberResults=2)]
    good = {"data": [RESULT | {"resultIndex": 0}, RESULT | {"resultIndex": 1, "text": "b"}]}
    assert check_response(good, request=request) == []
    same = {"data": [RESULT | {"resultIndex": 0}, RESULT | {"resultIndex": 0}]}
    assert [v.keyword for v in check_response(same, request=request)] == ["x-resultIndex"]


def test_final_stream_chunk_carries_requested_usage(spec: openapi.Spec) -> None:
    request = [task(spec, includeUsage=True, deliveryMethod="stream")]
    final = {"taskType": "textInference", "taskUUID": UUID, "delta": {}, "finishReason": "stop"}
    assert [v.keyword for v in check_response(final, request=request)] == ["x-includeUsage"]
    middle = {"taskType": "textInference", "taskUUID": UUID, "delta": {"text": "a"}}
    assert check_response(middle, request=request) == []
