"""Every request the mock refuses is journaled invalid, with the reason: the journal, the
inspector and the plugin's teardown check never call a refused request valid."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.strategies import InvalidCase, invalid_requests
from mockserver import MockConfig, create_app
from tests._support import asgi_client
from tests.mockserver.conftest import AUTH, text_task

JSON = {"content-type": "application/json"}


def _send(
    config: MockConfig, *, content: bytes, headers: dict[str, str]
) -> tuple[httpx.Response, dict[str, Any]]:
    async def go() -> tuple[httpx.Response, dict[str, Any]]:
        async with asgi_client(create_app(config=config)) as http:
            reply = await http.post("/v1", content=content, headers=headers)
            (entry,) = (await http.get("/__mock/requests")).json()["requests"]
        return reply, entry

    return asyncio.run(go())


REFUSALS = [
    pytest.param(
        MockConfig(), b"{not json", {**AUTH, **JSON}, 400, "invalidRequestBody", id="not-json"
    ),
    pytest.param(
        MockConfig(),
        b"taskType=textInference&model=x",
        {**AUTH, "content-type": "application/x-www-form-urlencoded"},
        400,
        "invalidContentType",
        id="form-encoded",
    ),
    pytest.param(
        MockConfig(),
        b"hello",
        {**AUTH, "content-type": "text/plain"},
        400,
        "invalidContentType",
        id="text-plain",
    ),
    pytest.param(
        MockConfig(),
        json.dumps([text_task()]).encode()[:-7],
        {**AUTH, **JSON},
        400,
        "invalidRequestBody",
        id="truncated-json",
    ),
    pytest.param(MockConfig(), b"", {**AUTH, **JSON}, 400, "invalidRequestBody", id="empty"),
    pytest.param(
        MockConfig(max_body_bytes=64),
        json.dumps([text_task()]).encode(),
        {**AUTH, **JSON},
        413,
        "payloadTooLarge",
        id="too-large",
    ),
    pytest.param(
        MockConfig(max_tasks=1),
        json.dumps([text_task(), text_task()]).encode(),
        {**AUTH, **JSON},
        413,
        "payloadTooLarge",
        id="too-many-tasks",
    ),
    pytest.param(
        MockConfig(), json.dumps([text_task()]).encode(), JSON, 401, "missingApiKey", id="no-key"
    ),
    pytest.param(
        MockConfig(api_keys=("good",)),
        json.dumps([text_task()]).encode(),
        {"Authorization": "Bearer bad", **JSON},
        401,
        "invalidApiKey",
        id="unknown-key",
    ),
    pytest.param(
        MockConfig(),
        json.dumps([text_task()]).encode(),
        {**AUTH, **JSON, "X-Runware-Mock-Error": "nonsense"},
        400,
        "invalidParameter",
        id="bad-fault-header",
    ),
]


@pytest.mark.parametrize(("config", "content", "headers", "status", "code"), REFUSALS)
def test_a_refused_request_is_journaled_invalid_with_its_reason(
    config: MockConfig, content: bytes, headers: dict[str, str], status: int, code: str
) -> None:
    reply, entry = _send(config, content=content, headers=headers)
    assert reply.status_code == status
    assert entry["status"] == status
    assert entry["valid"] is False
    assert code in [v["code"] for v in entry["violations"]]
    assert entry["violations"][0] == reply.json()["errors"][0]


def test_bad_auth_with_a_bad_body_names_both() -> None:
    body = json.dumps([text_task(settings={"temperature": 9})]).encode()
    reply, entry = _send(MockConfig(), content=body, headers=JSON)
    assert reply.status_code == 401
    assert [v["code"] for v in entry["violations"]] == ["missingApiKey", "invalidParameter"]
    assert entry["violations"][1]["parameter"] == "settings.temperature"


def test_a_reused_async_task_uuid_is_journaled_invalid() -> None:
    async def go() -> list[dict[str, Any]]:
        async with asgi_client(create_app(config=MockConfig())) as http:
            for _ in range(2):
                await http.post("/v1", json=[text_task(deliveryMethod="async")], headers=AUTH)
            entries: list[dict[str, Any]] = (await http.get("/__mock/requests")).json()["requests"]
            return entries

    first, second = asyncio.run(go())
    assert first["valid"] is True
    assert second["status"] == 400
    assert second["valid"] is False
    assert [v["code"] for v in second["violations"]] == ["conflictTaskUUID"]


def test_an_injected_fault_is_not_the_clients_fault() -> None:
    """A fault the test asked for fails the call, but the request itself was valid."""
    body = json.dumps([text_task()]).encode()
    reply, entry = _send(
        MockConfig(), content=body, headers={**AUTH, **JSON, "X-Runware-Mock-Error": "503"}
    )
    assert reply.status_code == 503
    assert entry["valid"] is True
    assert entry["fault"]


@settings(max_examples=60, deadline=None)
@given(case=invalid_requests(), mangle=st.sampled_from(["as-is", "truncated", "as-form"]))
def test_every_refused_request_is_journaled_invalid(case: InvalidCase, mangle: str) -> None:
    raw = json.dumps(case.payload).encode()
    headers = {**AUTH, **JSON}
    if mangle == "truncated":
        raw = raw[: max(0, len(raw) - 1)]
    elif mangle == "as-form":
        headers["content-type"] = "application/x-www-form-urlencoded"
    reply, entry = _send(MockConfig(), content=raw, headers=headers)
    assert reply.status_code >= 400
    assert entry["valid"] is False
    assert entry["violations"], entry


# -- through the plugin, as a downstream project's test sends them ---------------------------

PLUGIN_CASES = [
    pytest.param(
        "content=b'{not json', headers={'content-type': 'application/json', **KEY}",
        "invalidRequestBody",
        id="not-json",
    ),
    pytest.param(
        "content=b'a=1', headers={'content-type': 'application/x-www-form-urlencoded', **KEY}",
        "invalidContentType",
        id="form",
    ),
    pytest.param(
        "content=b'[{\"taskType\": \"textInference\"', headers={'content-type': "
        "'application/json', **KEY}",
        "invalidRequestBody",
        id="truncated",
    ),
    pytest.param("json=[{'taskType': 'textInference'}]", "missingApiKey", id="no-key-and-bad-body"),
]


@pytest.mark.parametrize(("send", "code"), PLUGIN_CASES)
def test_the_plugin_fails_the_test_that_sent_a_refused_request(
    pytester: pytest.Pytester, send: str, code: str
) -> None:
    pytester.makepyfile(
        test_downstream=f"""
import httpx
KEY = {{"Authorization": "Bearer k"}}

def test_client(runware_mock):
    reply = httpx.post(runware_mock.url, {send})
    assert reply.status_code >= 400   # the client under test ignores the error
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*break the Runware contract*", f"*[[]{code}[]]*"])


def test_the_plugin_lets_a_refused_request_pass_when_allowed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_downstream="""
import httpx, pytest

@pytest.mark.runware(allow_invalid=True)
def test_client_handles_garbage(runware_mock):
    reply = httpx.post(runware_mock.url, content=b"{oops",
                       headers={"content-type": "application/json", "Authorization": "Bearer k"})
    assert reply.status_code == 400
    (entry,) = runware_mock.requests
    assert entry["valid"] is False
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
