"""The proxy over the WebSocket: frames both ways, each judged, the connection journaled."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.mockserver.conftest import RunningServer
from tests.proxy.conftest import (
    DRIFTS,
    KEY,
    DriftingUpstream,
    clear,
    journal,
    running_proxy,
    text_task,
)

AUTHENTICATE = [{"taskType": "authentication", "apiKey": KEY}]


async def _frames(socket: ClientConnection, count: int) -> list[dict[str, Any]]:
    return [json.loads(await asyncio.wait_for(socket.recv(), 10)) for _ in range(count)]


def _ws(server: RunningServer) -> str:
    return server.url.replace("http://", "ws://", 1) + "/v1"


def test_frames_pass_both_ways_and_each_is_journaled(proxy: RunningServer, upstream: str) -> None:
    task = text_task(deliveryMethod="sync", numberResults=2)

    async def session() -> list[dict[str, Any]]:
        async with connect(_ws(proxy)) as socket:
            await socket.send(json.dumps(AUTHENTICATE))
            frames = await _frames(socket, 1)
            await socket.send(json.dumps([{"taskType": "ping", "ping": True}]))
            frames += await _frames(socket, 1)
            await socket.send(json.dumps([task]))
            return frames + await _frames(socket, 2)

    auth, pong, *results = asyncio.run(session())
    assert auth["data"][0]["taskType"] == "authentication"
    assert pong == {"data": [{"taskType": "ping", "pong": True}]}
    assert sorted(r["data"][0]["resultIndex"] for r in results) == [0, 1]
    entries = journal(proxy.url)
    sent = [e for e in entries if e["origin"].startswith("frame to ")]
    answers = [e for e in entries if e["origin"].startswith("frame from ")]
    assert [e["tasks"][0]["taskType"] for e in sent] == ["authentication", "ping", "textInference"]
    assert len(answers) == 4
    assert all(e["drift"] == [] and e["valid"] for e in entries)
    # A result's entry names the task it answers; the upstream saw the same three frames.
    assert answers[-1]["request"] == [task]
    assert [e["method"] for e in journal(upstream)].count("WS") == 3
    assert KEY not in json.dumps(entries)


def test_async_over_the_socket_then_getresponse(proxy: RunningServer) -> None:
    task = text_task(deliveryMethod="async")

    async def session() -> list[dict[str, Any]]:
        async with connect(_ws(proxy)) as socket:
            await socket.send(json.dumps(AUTHENTICATE))
            await _frames(socket, 1)
            await socket.send(json.dumps([task]))
            frames = await _frames(socket, 1)
            await socket.send(
                json.dumps([{"taskType": "getResponse", "taskUUID": task["taskUUID"]}])
            )
            return frames + await _frames(socket, 1)

    ack, results = asyncio.run(session())
    assert ack["data"][0] == {"taskType": "textInference", "taskUUID": task["taskUUID"]}
    assert results["data"][0]["status"] == "success"
    assert all(e["drift"] == [] for e in journal(proxy.url))


@pytest.mark.parametrize("drift", sorted(DRIFTS))
def test_drift_in_a_frame_is_reported(
    drift: str, drifting: tuple[DriftingUpstream, RunningServer]
) -> None:
    upstream, server = drifting

    async def session(proxy: RunningServer) -> str:
        async with connect(_ws(proxy)) as socket:
            await socket.send(json.dumps(AUTHENTICATE))
            await socket.recv()
            await socket.send(json.dumps([text_task(f"drift:{drift}")]))
            text = await asyncio.wait_for(socket.recv(), 10)
            assert isinstance(text, str)
            return text

    with running_proxy(f"{server.url}/v1") as proxy:
        received = asyncio.run(session(proxy))
        entries = journal(proxy.url)
    assert received.encode() == upstream.sent[-1]  # passed on unchanged
    (answer,) = [e for e in entries if e["drift"]]
    code, parameter = DRIFTS[drift][0]
    assert (code, parameter, "frame") in [
        (d["code"], d["parameter"], d["where"]) for d in answer["drift"]
    ]
    assert answer["valid"]  # the server's fault, not the client's


def test_strict_answers_an_invalid_frame_itself(upstream: str) -> None:
    clear(upstream)

    async def session(proxy: RunningServer) -> dict[str, Any]:
        async with connect(_ws(proxy)) as socket:
            await socket.send(json.dumps(AUTHENTICATE))
            await socket.recv()
            await socket.send(json.dumps([text_task(settings={"temperature": 9})]))
            (refusal,) = await _frames(socket, 1)
            return refusal

    with running_proxy(f"{upstream}/v1", strict=True) as proxy:
        refusal = asyncio.run(session(proxy))
    assert refusal["errors"][0]["parameter"] == "settings.temperature"
    # The upstream saw the authentication frame only.
    frames = [e for e in journal(upstream) if e["method"] == "WS"]
    assert [e["tasks"][0]["taskType"] for e in frames] == ["authentication"]
