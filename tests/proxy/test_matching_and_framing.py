"""The pieces under the proxy and the replay: matching requests, framing SSE as it arrives."""

from __future__ import annotations

from typing import Any

import pytest

from mockserver._drift import SSEParser, judge_reply
from mockserver._match import closest, distance, first_difference, normalized
from openapi import load

UUID_A = "a770f077-f413-47de-9dac-be0b26a35da6"
UUID_B = "0b7a2c1e-5d3f-4e8a-9c6b-1f2e3d4c5b6a"


@pytest.mark.parametrize(
    ("recorded", "sent", "where"),
    [
        ({"a": 1}, {"a": 1}, None),
        ({"a": 1}, {"a": 2}, ("/a", 1, 2)),
        ({"a": 1}, {}, ("/a", 1, ...)),
        ({"a": [1, 2]}, {"a": [1]}, ("/a/1", 2, ...)),
        ({"a/b": {"c~d": 1}}, {"a/b": {"c~d": 0}}, ("/a~1b/c~0d", 1, 0)),
        ({"a": 1}, {"a": True}, ("/a", 1, True)),  # JSON's true is not its 1
        ([{"x": 1}, {"y": 2}], [{"x": 1}, {"y": 3}], ("/1/y", 2, 3)),
    ],
    ids=["equal", "value", "missing", "shorter-list", "escaped-keys", "bool-vs-int", "nested"],
)
def test_first_difference(recorded: Any, sent: Any, where: Any) -> None:
    assert first_difference(recorded, sent) == where


def test_normalized_leaves_out_volatile_fields_but_keeps_what_a_poll_refers_to() -> None:
    body: list[dict[str, Any]] = [
        {"taskType": "authentication", "apiKey": "secret"},
        {"taskType": "textInference", "taskUUID": UUID_B, "settings": {"seed": 3, "topK": 4}},
        {"taskType": "getResponse", "taskUUID": UUID_B},
    ]
    assert normalized(
        body,
        poll_type=load().poll_task_type,
        ignore=("taskUUID", "settings.seed"),
        aliases={UUID_B: UUID_A},
    ) == [
        {"taskType": "authentication"},
        {"taskType": "textInference", "settings": {"topK": 4}},
        {"taskType": "getResponse", "taskUUID": UUID_A},
    ]
    assert body[1]["settings"] == {"seed": 3, "topK": 4}  # the request itself is untouched


def test_closest_is_the_recording_that_differs_least() -> None:
    sent = [{"taskType": "textInference", "messages": [{"content": "Hi"}], "numberResults": 2}]
    recorded = [
        [{"taskType": "ping"}],
        [{"taskType": "textInference", "messages": [{"content": "Hi"}]}],
        [{"taskType": "textInference", "messages": [{"content": "Bye"}], "numberResults": 3}],
    ]
    assert closest(sent, recorded) == 1
    assert distance(sent, sent) == 0
    assert closest(sent, []) is None


EVENT = b'data: {"a":1}\n\n'


@pytest.mark.parametrize(
    "chunks",
    [
        [EVENT + b"data: [DONE]\n\n"],
        [b"da", b'ta: {"a"', b":1}\n", b"\ndata: [DO", b"NE]\n\n"],
        [EVENT.replace(b"\n", b"\r\n") + b"data: [DONE]\r\n\r\n"],
        [b": keep-alive\n\n", EVENT, b"data: [DONE]"],  # a comment; no blank line at the end
    ],
    ids=["whole", "split-anywhere", "crlf", "comment-and-no-final-blank-line"],
)
def test_sse_events_are_framed_however_the_bytes_arrive(chunks: list[bytes]) -> None:
    parser = SSEParser()
    events = [event for chunk in chunks for event in parser.feed(chunk)]
    last = parser.close()
    if last is not None:
        events.append(last)
    data = [d for d, _ in events if d is not None]
    assert data == ['{"a":1}', "[DONE]"]


def test_multi_line_data_joins_with_newlines() -> None:
    (event,) = SSEParser().feed(b"data: first\ndata: second\n\n")
    assert event == ("first\nsecond", "data: first\ndata: second")


def test_an_unknown_field_on_an_open_shape_is_reported_but_a_known_one_is_not() -> None:
    spec = load()
    request = [{"taskType": "textInference", "taskUUID": UUID_A}]
    item = {
        "taskType": "textInference",
        "taskUUID": UUID_A,
        "text": "x",
        "finishReason": "stop",
        "thoughtSignature": "sig",
    }
    (drift,) = judge_reply({"data": [item]}, request=request, spec=spec)
    assert drift["code"] == "unknownResponseField"
    assert drift["parameter"] == "data[0].thoughtSignature"
    assert drift["pointer"] == "/data/0/thoughtSignature"
    poll = {
        "taskType": "textInference",
        "taskUUID": UUID_A,
        "status": "success",
        "text": "x",
        "finishReason": "stop",
        "usage": {"promptTokens": 1, "completionTokens": 1, "totalTokens": 2},
    }
    assert judge_reply({"data": [poll]}, request=request, spec=spec) == []
