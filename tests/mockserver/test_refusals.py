"""Bad input gets a clear Runware-style error and the mock stays up."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from hypothesis import given, settings

from contracts import check_response
from contracts.strategies import InvalidCase, invalid_requests
from mockserver import MockConfig, create_app
from tests._support import asgi_client
from tests.mockserver.conftest import AUTH, UUID, text_task

pytestmark = pytest.mark.anyio


async def _client(**config: Any) -> httpx.AsyncClient:
    return asgi_client(create_app(config=MockConfig(**config)))


def _errors(reply: httpx.Response) -> list[dict[str, Any]]:
    body = reply.json()
    assert check_response(body) == [], body
    assert reply.headers["content-type"] == "application/json"
    errors: list[dict[str, Any]] = body["errors"]
    return errors


AUTH_CASES = [
    pytest.param({}, None, [text_task()], 401, "missingApiKey", id="no-key"),
    pytest.param({}, "Bearer ", [text_task()], 401, "missingApiKey", id="empty-bearer"),
    pytest.param({}, "Basic abc", [text_task()], 401, "missingApiKey", id="not-bearer"),
    pytest.param({}, "Bearer anything", [text_task()], 200, None, id="any-key-by-default"),
    pytest.param(
        {"api_keys": ("good",)}, "Bearer good", [text_task()], 200, None, id="configured-key"
    ),
    pytest.param(
        {"api_keys": ("good",)}, "Bearer bad", [text_task()], 401, "invalidApiKey", id="unknown-key"
    ),
    pytest.param(
        {},
        None,
        [{"taskType": "authentication", "apiKey": "k"}, text_task()],
        200,
        None,
        id="authentication-task",
    ),
    pytest.param(
        {"api_keys": ("good",)},
        None,
        [{"taskType": "authentication", "apiKey": "bad"}, text_task()],
        401,
        "invalidApiKey",
        id="authentication-task-unknown-key",
    ),
    pytest.param(
        {},
        None,
        [{"taskType": "authentication", "apiKey": ""}, text_task()],
        401,
        "missingApiKey",
        id="authentication-task-empty-key",
    ),
]


@pytest.mark.parametrize(("config", "header", "body", "status", "code"), AUTH_CASES)
async def test_authentication(
    config: dict[str, Any], header: str | None, body: Any, status: int, code: str | None
) -> None:
    async with await _client(**config) as http:
        headers = {"Authorization": header} if header is not None else {}
        reply = await http.post("/v1", json=body, headers=headers)
    assert reply.status_code == status
    if code is not None:
        (error,) = _errors(reply)
        assert error["code"] == code
        assert error["taskType"] == "authentication"


async def test_invalid_request_is_refused_whole_with_one_error_per_violation() -> None:
    other = "00000000-0000-4000-8000-000000000001"
    body = [text_task(), text_task(taskUUID=other, settings={"temperature": 9, "topK": 0})]
    async with await _client() as http:
        reply = await http.post("/v1", json=body, headers=AUTH)
        journal = (await http.get("/__mock/requests")).json()["requests"]
    assert reply.status_code == 400
    errors = _errors(reply)
    assert [(e["parameter"], e["taskUUID"], e["taskType"]) for e in errors] == [
        ("settings.temperature", other, "textInference"),
        ("settings.topK", other, "textInference"),
    ]
    assert "above the maximum of 2" in errors[0]["message"]
    assert journal[-1]["valid"] is False
    assert journal[-1]["violations"] == errors


@settings(max_examples=80, deadline=None)
@given(invalid_requests())
def test_every_labelled_invalid_request_gets_400_naming_the_parameter(case: InvalidCase) -> None:
    import asyncio

    async def send() -> httpx.Response:
        async with await _client() as http:
            return await http.post(
                "/v1",
                content=json.dumps(case.payload).encode(),
                headers={**AUTH, "content-type": "application/json"},
            )

    reply = asyncio.run(send())
    assert reply.status_code == 400
    (error,) = reply.json()["errors"]
    assert error["code"] == case.violation.code
    assert error.get("parameter", "") == case.violation.parameter


MALFORMED = [
    pytest.param(b"", "empty", id="empty"),
    pytest.param(b"{not json", "not valid JSON", id="syntax"),
    pytest.param(b"[NaN]", "NaN", id="nan"),
    pytest.param(b'["\xff"]', "UTF-8", id="invalid-utf8"),
    pytest.param(b'[{"a": "\\ud800"}]', "surrogate", id="lone-surrogate"),
    pytest.param(b"[" * 100_000, "nests too deeply", id="deep-nesting"),
]


@pytest.mark.parametrize(("raw", "fragment"), MALFORMED)
async def test_malformed_bodies_get_400(raw: bytes, fragment: str) -> None:
    async with await _client() as http:
        reply = await http.post(
            "/v1", content=raw, headers={**AUTH, "content-type": "application/json"}
        )
        alive = await http.post("/v1", json=[text_task()], headers=AUTH)
    assert reply.status_code == 400
    (error,) = _errors(reply)
    assert error["code"] == "invalidRequestBody"
    assert fragment in error["message"]
    assert alive.status_code == 200


@pytest.mark.parametrize(
    "body",
    [{"taskType": "textInference"}, "text", 3, None],
    ids=["object", "string", "number", "null"],
)
async def test_wrong_top_level_type_gets_400(body: Any) -> None:
    async with await _client() as http:
        reply = await http.post(
            "/v1", content=json.dumps(body), headers={**AUTH, "content-type": "application/json"}
        )
    assert reply.status_code == 400
    assert "array" in _errors(reply)[0]["message"]


@pytest.mark.parametrize(
    "media", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
async def test_wrong_content_type_gets_400(media: str) -> None:
    async with await _client() as http:
        reply = await http.post(
            "/v1", content=json.dumps([text_task()]), headers={**AUTH, "content-type": media}
        )
    assert reply.status_code == 400
    (error,) = _errors(reply)
    assert error["code"] == "invalidContentType"
    assert "application/json" in error["message"]


async def test_json_content_type_with_charset_is_fine() -> None:
    async with await _client() as http:
        reply = await http.post(
            "/v1",
            content=json.dumps([text_task()]),
            headers={**AUTH, "content-type": "application/json; charset=utf-8"},
        )
    assert reply.status_code == 200


async def test_oversized_body_gets_413() -> None:
    async with await _client(max_body_bytes=1000) as http:
        big = json.dumps([text_task(messages=[{"role": "user", "content": "x" * 2000}])])
        declared = await http.post(
            "/v1", content=big, headers={**AUTH, "content-type": "application/json"}
        )

        async def chunks() -> Any:
            for _ in range(4):
                yield b" " * 400

        streamed = await http.post(
            "/v1", content=chunks(), headers={**AUTH, "content-type": "application/json"}
        )
        fine = await http.post("/v1", json=[text_task()], headers=AUTH)
    for reply in (declared, streamed):
        assert reply.status_code == 413
        (error,) = _errors(reply)
        assert error["code"] == "payloadTooLarge"
        assert "1000 bytes" in error["message"]
    assert fine.status_code == 200


async def test_valid_tasks_are_not_run_when_another_is_invalid(client: httpx.AsyncClient) -> None:
    reply = await client.post(
        "/v1", json=[text_task(), {"taskType": "textInference"}], headers=AUTH
    )
    assert reply.status_code == 400
    assert "data" not in reply.json()
    assert {e["code"] for e in reply.json()["errors"]} == {"missingParameter"}
    assert all(e.get("taskUUID") != UUID for e in reply.json()["errors"])


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/v1", 405), ("PUT", "/", 405), ("GET", "/nope", 404), ("POST", "/v2", 404)],
)
async def test_other_routes_answer_in_runware_format(
    client: httpx.AsyncClient, method: str, path: str, status: int
) -> None:
    reply = await client.request(method, path, headers=AUTH)
    assert reply.status_code == status
    assert "POST a JSON array of tasks to /v1" in _errors(reply)[0]["message"]


async def test_a_request_refused_as_a_whole_leaves_no_async_results(
    client: httpx.AsyncClient,
) -> None:
    # The second task passes the schema but is refused by the mock (its taskUUID is already
    # taken): the async task before it must leave nothing to poll, and its UUID stays free.
    taken = text_task(taskUUID=str(uuid.uuid4()), deliveryMethod="async")
    assert (await client.post("/v1", json=[taken], headers=AUTH)).status_code == 200
    accepted = text_task(taskUUID=str(uuid.uuid4()), deliveryMethod="async")
    reply = await client.post("/v1", json=[accepted, taken], headers=AUTH)
    assert reply.status_code == 400
    assert [e["code"] for e in reply.json()["errors"]] == ["conflictTaskUUID"]
    poll = await client.post(
        "/v1", json=[{"taskType": "getResponse", "taskUUID": accepted["taskUUID"]}], headers=AUTH
    )
    assert poll.json()["errors"][0]["code"] == "taskNotFound"
    again = await client.post("/v1", json=[accepted], headers=AUTH)
    assert again.status_code == 200
    assert again.json() == {
        "data": [{"taskType": "textInference", "taskUUID": accepted["taskUUID"]}]
    }
