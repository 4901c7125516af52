"""WebSocket delivery against a real uvicorn server, with a real WebSocket client."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import websockets

from contracts import check_response
from mockserver import MockConfig, create_app
from tests._support import buffered_event
from tests.mockserver.conftest import FrozenClock, RunningServer, text_task

pytestmark = pytest.mark.anyio
AUTH_TASK = {"taskType": "authentication", "apiKey": "ws-key"}


@pytest.fixture
def server() -> Any:
    with RunningServer(create_app(config=MockConfig(processing_ms=0, idle_timeout_s=5))) as s:
        yield s


async def frames(socket: Any, count: int, timeout: float = 10) -> list[dict[str, Any]]:
    got = []
    for _ in range(count):
        got.append(json.loads(await asyncio.wait_for(socket.recv(), timeout)))
    return got


async def send(socket: Any, *tasks: dict[str, Any]) -> None:
    await socket.send(json.dumps(list(tasks)))


@pytest.fixture
async def socket(server: RunningServer) -> AsyncIterator[Any]:
    url = server.url.replace("http://", "ws://") + "/v1?sdk=js&version=1.3.2"
    async with websockets.connect(url) as ws:
        yield ws


async def test_authentication_reply_is_the_first_frame(socket: Any) -> None:
    await send(socket, AUTH_TASK)
    (reply,) = await frames(socket, 1)
    (item,) = reply["data"]
    assert item["taskType"] == "authentication"
    assert uuid.UUID(item["connectionSessionUUID"])
    assert "taskUUID" not in item
    assert check_response(reply) == []


async def test_ping_gets_pong_in_its_own_frame(socket: Any) -> None:
    await send(socket, {"taskType": "ping", "ping": True})
    assert await frames(socket, 1) == [{"data": [{"taskType": "ping", "pong": True}]}]


async def test_tasks_before_authentication_are_refused_with_their_uuid(socket: Any) -> None:
    task = text_task(taskUUID=str(uuid.uuid4()))
    await send(socket, task)
    (reply,) = await frames(socket, 1)
    (error,) = reply["errors"]
    assert (error["code"], error["taskUUID"]) == ("missingApiKey", task["taskUUID"])


async def test_sync_results_one_frame_each_and_interleaved_tasks(socket: Any) -> None:
    await send(socket, AUTH_TASK)
    await frames(socket, 1)
    first = text_task(taskUUID=str(uuid.uuid4()), numberResults=2)
    second = text_task(taskUUID=str(uuid.uuid4()))
    await send(socket, first)
    await send(socket, second)
    got = await frames(socket, 3)
    assert all(len(f["data"]) == 1 for f in got)
    by_task: dict[str, list[int]] = {}
    for frame in got:
        item = frame["data"][0]
        by_task.setdefault(item["taskUUID"], []).append(item["resultIndex"])
        assert check_response(frame, request=[first, second]) == []
    assert sorted(by_task[first["taskUUID"]]) == [0, 1]
    assert by_task[second["taskUUID"]] == [0]


async def test_async_ack_then_get_response_in_one_frame(socket: Any) -> None:
    await send(socket, AUTH_TASK)
    await frames(socket, 1)
    task = text_task(taskUUID=str(uuid.uuid4()), deliveryMethod="async", numberResults=2)
    await send(socket, task)
    (ack,) = await frames(socket, 1)
    assert ack == {"data": [{"taskType": "textInference", "taskUUID": task["taskUUID"]}]}
    # processing_ms is 0: the results are ready once acknowledged, no wait needed.
    await send(socket, {"taskType": "getResponse", "taskUUID": task["taskUUID"]})
    (poll,) = await frames(socket, 1)
    assert [i["status"] for i in poll["data"]] == ["success", "success"]
    assert check_response(poll) == []


async def test_invalid_task_gets_an_error_frame_with_its_uuid(socket: Any) -> None:
    await send(socket, AUTH_TASK)
    await frames(socket, 1)
    task = text_task(taskUUID=str(uuid.uuid4()), settings={"temperature": 5})
    await send(socket, task)
    (reply,) = await frames(socket, 1)
    (error,) = reply["errors"]
    assert (error["parameter"], error["taskUUID"]) == ("settings.temperature", task["taskUUID"])
    await send(socket, {"taskType": "ping", "ping": True})  # the socket stays usable
    assert (await frames(socket, 1))[0]["data"][0]["pong"] is True


async def test_malformed_frame_gets_an_error_and_the_socket_stays(socket: Any) -> None:
    await socket.send("[{not json")
    (reply,) = await frames(socket, 1)
    assert reply["errors"][0]["code"] == "invalidRequestBody"
    await send(socket, AUTH_TASK)
    assert (await frames(socket, 1))[0]["data"][0]["taskType"] == "authentication"


async def test_bad_key_gets_an_authentication_error() -> None:
    app = create_app(config=MockConfig(api_keys=("good",)))
    with RunningServer(app) as server:
        async with websockets.connect(server.url.replace("http", "ws") + "/") as ws:
            await send(ws, {"taskType": "authentication", "apiKey": "bad"})
            (reply,) = await frames(ws, 1)
    (error,) = reply["errors"]
    assert (error["code"], error["taskType"]) == ("invalidApiKey", "authentication")


async def test_results_for_a_dropped_client_are_replayed_on_resume() -> None:
    app = create_app(config=MockConfig(processing_ms=300))
    buffered = buffered_event(app)
    with RunningServer(app) as server:
        url = server.url.replace("http", "ws") + "/v1"
        task = text_task(taskUUID=str(uuid.uuid4()))
        async with websockets.connect(url) as ws:
            await send(ws, AUTH_TASK)
            session = (await frames(ws, 1))[0]["data"][0]["connectionSessionUUID"]
            await send(ws, task)  # its result is ready only after the socket is gone
        # Resume once the result was kept for the session (not after a guessed delay): the
        # replay on authentication is what this test is about.
        assert await asyncio.to_thread(buffered.wait, 30), "the result was never buffered"
        async with websockets.connect(url) as ws:
            await send(ws, {**AUTH_TASK, "connectionSessionUUID": session})
            auth, replayed = await frames(ws, 2)
    assert auth["data"][0]["connectionSessionUUID"] == session
    assert replayed["data"][0]["taskUUID"] == task["taskUUID"]
    assert replayed["data"][0]["text"]


async def test_idle_socket_is_closed() -> None:
    app = create_app(config=MockConfig(idle_timeout_s=0.3))
    with RunningServer(app) as server:
        async with websockets.connect(server.url.replace("http", "ws") + "/v1") as ws:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.reason == "idle timeout"


async def test_a_poll_answered_processing_is_followed_by_the_results(
    frozen_clock: FrozenClock,
) -> None:
    # The mock's clock stands still until the "processing" answer is in: the poll comes
    # 1.5 s before the results on it, however slow the machine, so it is not held (a poll
    # less than a second before them would be). Then the clock moves past the ready time.
    app = create_app(config=MockConfig(processing_ms=1500))
    with RunningServer(app) as server:
        async with websockets.connect(server.url.replace("http", "ws") + "/") as ws:
            await send(ws, AUTH_TASK)
            await frames(ws, 1)
            task = text_task(taskUUID=str(uuid.uuid4()), deliveryMethod="async")
            await send(ws, task)
            await frames(ws, 1)  # the ack
            await send(ws, {"taskType": "getResponse", "taskUUID": task["taskUUID"]})
            (processing,) = await frames(ws, 1)
            frozen_clock.advance(1.6)
            (pushed,) = await frames(ws, 1)
    assert processing["data"][0]["status"] == "processing"
    assert pushed["data"][0]["status"] == "success"
    assert pushed["data"][0]["taskUUID"] == task["taskUUID"]
