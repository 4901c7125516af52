"""The WebSocket API under hostile or unlucky use, end to end against the CLI's server:
unusable frames get error frames (never a dead socket), the REST limits hold per frame, a
store failure is reported per task, and a session is its key's alone."""

from __future__ import annotations

import asyncio
import json
import signal
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import websockets

from tests.mockserver.conftest import redis_server, serve_cli, text_task

WAIT_S = 60.0
PING = {"taskType": "ping", "ping": True}


def ws_url(url: str) -> str:
    return url.replace("http://", "ws://") + "/v1"


async def frame(ws: Any) -> dict[str, Any]:
    got: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), WAIT_S))
    return got


async def authenticate(ws: Any, key: str, session: str | None = None) -> str:
    task: dict[str, Any] = {"taskType": "authentication", "apiKey": key}
    if session is not None:
        task["connectionSessionUUID"] = session
    await ws.send(json.dumps([task]))
    reply = await frame(ws)
    found: str = reply["data"][0]["connectionSessionUUID"]
    return found


async def pong(ws: Any) -> list[dict[str, Any]]:
    """Frames until the pong of a fresh ping: what arrived in between."""
    await ws.send(json.dumps([PING]))
    seen: list[dict[str, Any]] = []
    while True:
        got = await frame(ws)
        if got.get("data") == [{"taskType": "ping", "pong": True}]:
            return seen
        seen.append(got)


def test_unusable_frames_get_error_frames_and_the_socket_lives() -> None:
    async def scenario(url: str) -> list[dict[str, Any]]:
        async with websockets.connect(ws_url(url), max_size=None) as ws:
            await authenticate(ws, "k")
            replies = []
            for bad in (b"\x00\x01binary", "[" * 10, json.dumps([PING] * 50_000)):
                await ws.send(bad)
                replies.append(await frame(ws))
            assert await pong(ws) == []  # still served, nothing else pending
            return replies

    with serve_cli() as (url, _):
        binary, broken, flood = asyncio.run(scenario(url))
        journal = httpx.get(f"{url}/__mock/requests").json()["requests"]
    assert binary["errors"][0]["code"] == "invalidRequestBody"
    assert "binary frame" in binary["errors"][0]["message"]
    assert broken["errors"][0]["code"] == "invalidRequestBody"
    assert flood["errors"][0]["code"] == "payloadTooLarge"
    assert "50000 tasks in one frame" in flood["errors"][0]["message"]
    refused = [e for e in journal if e["method"] == "WS" and not e["valid"]]
    assert len(refused) == 3


def test_a_session_is_its_keys_alone() -> None:
    async def scenario(url: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]], str]:
        task = text_task(taskUUID=str(uuid.uuid4()), numberResults=2)
        async with websockets.connect(ws_url(url)) as owner:
            session = await authenticate(owner, "key-of-alice-0001")
            await owner.send(json.dumps([task]))
            # Mallory reuses the session id while Alice's task runs: she gets a session of
            # her own (nothing of Alice's), and Alice's socket keeps its results.
            async with websockets.connect(ws_url(url)) as thief:
                given = await authenticate(thief, "key-of-mallory-02", session)
                stolen = await pong(thief)
                kept: list[dict[str, Any]] = []
                deadline = time.monotonic() + WAIT_S
                while len(kept) < 2 and time.monotonic() < deadline:
                    kept.append(await frame(owner))
                stolen += await pong(thief)
            return kept, stolen, given

    with serve_cli("--processing-ms", "1000") as (url, _):
        kept, stolen, given = asyncio.run(scenario(url))
    assert sorted(f["data"][0]["resultIndex"] for f in kept) == [0, 1]
    assert stolen == []
    assert given  # a session id is still given back, as the SDKs expect


def test_a_store_failure_is_reported_per_task(tmp_path: Path) -> None:
    async def scenario(url: str, redis: Any) -> dict[str, Any]:
        task = text_task(taskUUID=str(uuid.uuid4()), deliveryMethod="async")
        async with websockets.connect(ws_url(url)) as ws:
            await authenticate(ws, "k")
            redis.send_signal(signal.SIGSTOP)
            try:
                await ws.send(json.dumps([task]))
                reply = await frame(ws)
            finally:
                redis.send_signal(signal.SIGCONT)
            assert reply["errors"][0]["taskUUID"] == task["taskUUID"], reply
            await pong(ws)  # the socket survived the outage
            return reply

    with redis_server(tmp_path) as (store, redis), serve_cli("--store", store) as (url, _):
        reply = asyncio.run(scenario(url, redis))
    (error,) = reply["errors"]
    assert error["code"] == "serviceUnavailable"
    assert error["taskType"] == "textInference"
