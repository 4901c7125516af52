"""Tasks that fail after acceptance (a fault with ``phase: "processing"``), in every delivery
method, and per task in a batch: the failing tasks get errors, the others their data."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import httpx
import pytest
import websockets

from contracts import check_response
from mockserver import MockConfig, create_app
from tests._support import asgi_client, sse_payloads
from tests.mockserver.conftest import AUTH, Receiver, RunningServer, text_task

pytestmark = pytest.mark.anyio

FAIL = {
    "phase": "processing",
    "status": 500,
    "code": "inferenceError",
    "message": "The model failed while generating.",
}


def _task(**changes: Any) -> dict[str, Any]:
    return text_task(taskUUID=str(uuid.uuid4()), **changes)


async def _poll_until_done(http: httpx.AsyncClient, task_uuid: str) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 30
    while True:
        reply = await http.post(
            "/v1", json=[{"taskType": "getResponse", "taskUUID": task_uuid}], headers=AUTH
        )
        items: list[dict[str, Any]] = reply.json()["data"]
        if all(i["status"] != "processing" for i in items):
            return items
        assert time.monotonic() < deadline, items
        await asyncio.sleep(0.01)


async def test_a_sync_task_fails_after_acceptance() -> None:
    app = create_app(config=MockConfig(processing_ms=0))
    app.state.mock.fail(**FAIL)
    task = _task()
    async with asgi_client(app) as http:
        reply = await http.post("/v1", json=[task], headers=AUTH)
        (entry,) = (await http.get("/__mock/requests")).json()["requests"]
    assert reply.status_code == 500
    (error,) = reply.json()["errors"]
    assert (error["code"], error["taskUUID"], error["taskType"]) == (
        "inferenceError",
        task["taskUUID"],
        "textInference",
    )
    assert check_response(reply.json(), request=[task]) == []
    assert entry["valid"] is True  # the request itself was fine
    assert entry["fault"] == "inferenceError while processing (queued)"


async def test_in_a_batch_only_the_matching_tasks_fail() -> None:
    app = create_app(config=MockConfig(processing_ms=0))
    app.state.mock.fail(**FAIL, match="doomed")
    doomed = _task(messages=[{"role": "user", "content": "a doomed question"}])
    fine = [_task(), _task(numberResults=2)]
    async with asgi_client(app) as http:
        reply = await http.post("/v1", json=[fine[0], doomed, fine[1]], headers=AUTH)
        again = await http.post("/v1", json=[_task(messages=doomed["messages"])], headers=AUTH)
    body = reply.json()
    assert reply.status_code == 200  # the others succeeded
    assert sorted(i["taskUUID"] for i in body["data"]) == sorted(
        [fine[0]["taskUUID"], fine[1]["taskUUID"], fine[1]["taskUUID"]]
    )
    assert [e["taskUUID"] for e in body["errors"]] == [doomed["taskUUID"]]
    assert check_response(body, request=[*fine, doomed]) == []
    assert again.status_code == 500  # queued without times: every match


async def test_times_counts_failed_tasks_across_a_batch() -> None:
    app = create_app(config=MockConfig(processing_ms=0))
    app.state.mock.fail(**FAIL, times=2)
    tasks = [_task() for _ in range(3)]
    async with asgi_client(app) as http:
        reply = await http.post("/v1", json=tasks, headers=AUTH)
        later = await http.post("/v1", json=[_task()], headers=AUTH)
    assert [e["taskUUID"] for e in reply.json()["errors"]] == [t["taskUUID"] for t in tasks[:2]]
    assert [i["taskUUID"] for i in reply.json()["data"]] == [tasks[2]["taskUUID"]]
    assert later.status_code == 200


async def test_an_async_task_polls_to_an_error_item() -> None:
    app = create_app(config=MockConfig(processing_ms=50))
    app.state.mock.fail(**FAIL)
    task = _task(deliveryMethod="async")
    async with asgi_client(app) as http:
        ack = await http.post("/v1", json=[task], headers=AUTH)
        items = await _poll_until_done(http, task["taskUUID"])
        again = await _poll_until_done(http, task["taskUUID"])
    assert ack.json() == {"data": [{"taskType": "textInference", "taskUUID": task["taskUUID"]}]}
    assert items == again  # cumulative, as every poll
    (item,) = items
    assert item["status"] == "error"
    assert item["error"]["code"] == "inferenceError"
    assert item["error"]["message"] == FAIL["message"]
    assert "text" not in item
    assert check_response({"data": items}) == []


def test_a_webhook_delivers_the_failure() -> None:
    hooks = Receiver(statuses=[])
    app = create_app(config=MockConfig(processing_ms=0))
    app.state.mock.fail(**FAIL)
    task = _task(webhookURL=hooks.url, numberResults=2)
    with hooks.server, RunningServer(app) as server:
        ack = httpx.post(f"{server.url}/v1", json=[task], headers=AUTH)
        deadline = time.monotonic() + 30
        while not hooks.received:
            assert time.monotonic() < deadline, "no webhook"
            time.sleep(0.02)
    assert ack.status_code == 200
    (body,) = hooks.received  # one POST for the failed task
    (error,) = body["errors"]
    assert (error["code"], error["taskUUID"]) == ("inferenceError", task["taskUUID"])
    assert check_response(body, request=[task]) == []


async def test_a_stream_ends_with_the_error_event() -> None:
    app = create_app(config=MockConfig(processing_ms=0))
    app.state.mock.fail(**FAIL, after_chunks=2)
    task = _task(deliveryMethod="stream")
    async with asgi_client(app) as http:
        reply = await http.post("/v1", json=[task], headers=AUTH)
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/event-stream")
    events = sse_payloads(reply.text)
    assert len(events) == 3
    assert all("delta" in e for e in events[:2])
    (error,) = events[-1]["errors"]
    assert (error["code"], error["taskUUID"]) == ("inferenceError", task["taskUUID"])
    assert "[DONE]" not in reply.text


def test_a_websocket_gets_an_error_frame_for_the_task() -> None:
    async def scenario(url: str) -> tuple[dict[str, Any], dict[str, Any], str]:
        sync, other = _task(), _task()
        async with websockets.connect(url.replace("http", "ws") + "/v1") as ws:
            await ws.send(json.dumps([{"taskType": "authentication", "apiKey": "k"}]))
            await ws.recv()
            await ws.send(json.dumps([sync]))
            failed = json.loads(await asyncio.wait_for(ws.recv(), 30))
            await ws.send(json.dumps([other]))
            fine = json.loads(await asyncio.wait_for(ws.recv(), 30))
        return failed, fine, sync["taskUUID"]

    app = create_app(config=MockConfig(processing_ms=0))
    app.state.mock.fail(**FAIL, times=1)
    with RunningServer(app) as server:
        failed, fine, task_uuid = asyncio.run(scenario(server.url))
    (error,) = failed["errors"]
    assert (error["code"], error["taskUUID"]) == ("inferenceError", task_uuid)
    assert fine["data"][0]["text"]


@pytest.mark.parametrize("where", ["config-rule", "key-profile"])
async def test_config_rules_and_key_profiles_take_the_phase(where: str) -> None:
    if where == "config-rule":
        config = MockConfig(processing_ms=0, faults=({**FAIL, "match": "boom"},))
        headers = AUTH
    else:
        config = MockConfig(processing_ms=0, api_key_profiles={"flaky-key": FAIL})
        headers = {"Authorization": "Bearer flaky-key"}
    task = _task(messages=[{"role": "user", "content": "boom"}])
    async with asgi_client(create_app(config=config)) as http:
        reply = await http.post("/v1", json=[task, _task()], headers=headers)
    body = reply.json()
    assert reply.status_code == (200 if where == "config-rule" else 500)
    assert [e["taskUUID"] for e in body["errors"]][:1] == [task["taskUUID"]]


@pytest.mark.parametrize(
    ("fault", "fragment"),
    [
        pytest.param(
            {"phase": "processing", "fault": "disconnect"}, "stream fault", id="with-a-stream-fault"
        ),
        pytest.param({"phase": "processing", "delayMs": 100}, "status or a code", id="no-error"),
        pytest.param({"phase": "later", "status": 500}, "'request'", id="unknown-phase"),
        pytest.param({"status": 500, "envelope": "singular"}, "'errors'", id="unknown-envelope"),
        pytest.param({"status": 503, "retryAfterS": -1}, "retryAfterS", id="negative-retry-after"),
    ],
)
async def test_bad_phase_fields_are_refused_with_the_field_named(
    fault: dict[str, Any], fragment: str
) -> None:
    async with asgi_client(create_app()) as http:
        reply = await http.post("/__mock/faults", json=fault)
        queued = (await http.get("/__mock/faults")).json()["queued"]
    assert reply.status_code == 400
    assert fragment in reply.json()["errors"][0]["message"]
    assert queued == []


async def test_the_singular_pre_stream_envelope() -> None:
    app = create_app()
    app.state.mock.fail(status=503, envelope="error")
    task = _task(deliveryMethod="stream")
    async with asgi_client(app) as http:
        reply = await http.post("/v1", json=[task], headers=AUTH)
    assert reply.status_code == 503
    body = reply.json()
    assert set(body) == {"error", "taskUUID", "taskType"}
    assert body["error"]["code"] == "serviceUnavailable"
    assert body["taskUUID"] == task["taskUUID"]
    assert check_response(body) == []
