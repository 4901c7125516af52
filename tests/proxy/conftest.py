"""What the proxy tests share: upstreams on loopback, and proxies in front of them.

Nothing here connects off loopback. The upstreams are a second mock *process*
(``runware-kit serve``, as a user runs it) and a small Starlette app that drifts from the
response contract on request: the last user message names the drift.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

import openapi
from mockserver import create_proxy_app
from tests.mockserver.conftest import RunningServer, serve_cli

MODEL = openapi.load().model_id
KEY = "proxy-test-key-0123456789"
AUTH = {"Authorization": f"Bearer {KEY}"}

# The drifts the issue names: what the drifting upstream changes, and what the proxy must
# report (code, parameter) for a REST body / a WebSocket frame and for a stream chunk.
DRIFTS = {
    "extra-field": (("unknownResponseField", "data[0].surprise"), ("invalidResponse", "surprise")),
    "unknown-finish-reason": (
        ("invalidResponse", "data[0].finishReason"),
        ("invalidResponse", "finishReason"),
    ),
    "missing-task-uuid": (("invalidResponse", "data[0].taskUUID"), ("invalidResponse", "taskUUID")),
}


def text_task(content: str = "Why is the sky blue?", **changes: Any) -> dict[str, Any]:
    return {
        "taskType": "textInference",
        "taskUUID": str(uuid.uuid4()),
        "model": MODEL,
        "messages": [{"role": "user", "content": content}],
        **changes,
    }


def journal(base: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = httpx.get(f"{base}/__mock/requests", timeout=10).json()[
        "requests"
    ]
    return entries


def posts(base: str) -> list[dict[str, Any]]:
    """The journal's REST requests (a mock's webhook deliveries left out)."""
    return [entry for entry in journal(base) if entry["method"] == "POST"]


def clear(base: str) -> None:
    httpx.delete(f"{base}/__mock/requests", timeout=10).raise_for_status()


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    """A second mock process, the proxy's target: its base URL (no /v1)."""
    with serve_cli("--seed", "1", "--processing-ms", "0", "--quiet") as (url, _):
        yield url


@contextlib.contextmanager
def running_proxy(target: str, **options: Any) -> Iterator[RunningServer]:
    """A proxy app to ``target`` (its REST endpoint) on a loopback port."""
    with RunningServer(create_proxy_app(target=target, **options)) as server:
        yield server


@pytest.fixture
def proxy(upstream: str) -> Iterator[RunningServer]:
    """A proxy in front of the mock process, both journals cleared."""
    clear(upstream)
    with running_proxy(f"{upstream}/v1") as server:
        yield server


# -- an upstream that drifts -------------------------------------------------------------------


def _result(task: dict[str, Any]) -> dict[str, Any]:
    return {
        "taskType": "textInference",
        "taskUUID": task["taskUUID"],
        "text": "Blue light.",
        "finishReason": "stop",
        "usage": {"promptTokens": 5, "completionTokens": 2, "totalTokens": 7},
    }


def _drifted(item: dict[str, Any], drift: str) -> dict[str, Any]:
    item = dict(item)
    if drift == "extra-field":
        item["surprise"] = 1
    elif drift == "unknown-finish-reason" and "finishReason" in item:
        item["finishReason"] = "galaxy"
    elif drift == "missing-task-uuid":
        item.pop("taskUUID")
    return item


def _chunks(task: dict[str, Any], drift: str | None) -> list[dict[str, Any]]:
    head = {"taskUUID": task["taskUUID"], "taskType": "textInference"}
    chunks = [
        {**head, "delta": {"text": "Blue "}, "finishReason": None},
        {**head, "delta": {"text": "light."}, "finishReason": None},
        {
            **head,
            "delta": {},
            "finishReason": "stop",
            "usage": {"promptTokens": 5, "completionTokens": 2, "totalTokens": 7},
        },
    ]
    if drift is not None:  # the last chunk drifts (it is the one with a finishReason)
        chunks[-1] = _drifted(chunks[-1], drift)
    return chunks


class DriftingUpstream:
    """A Runware-shaped server whose replies drift as the last user message says
    (``drift:<name>``); it keeps every body it sent, to show the proxy passed them on
    unchanged. ``/hold`` streams one event, then waits until ``release`` is set."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.release = threading.Event()

        async def rest(request: Request) -> Response:
            body = await request.json()
            task = body[-1]
            drift = _drift_of(task)
            if task.get("deliveryMethod") == "stream":
                events = [f"data: {json.dumps(c)}\n\n".encode() for c in _chunks(task, drift)]
                events.append(b"data: [DONE]\n\n")
                self.sent.append(b"".join(events))
                return StreamingResponse(_each(events), media_type="text/event-stream")
            item = _result(task)
            out = json.dumps({"data": [_drifted(item, drift) if drift else item]}).encode()
            self.sent.append(out)
            return Response(out, media_type="application/json")

        async def hold(request: Request) -> Response:
            task = (await request.json())[-1]
            first, *rest_ = [f"data: {json.dumps(c)}\n\n".encode() for c in _chunks(task, None)]

            async def events() -> Any:
                yield first
                for _ in range(1000):  # at most 10 s: a buffering proxy fails, not hangs
                    if self.release.is_set():
                        break
                    await asyncio.sleep(0.01)
                for event in rest_:
                    yield event
                yield b"data: [DONE]\n\n"

            return StreamingResponse(events(), media_type="text/event-stream")

        async def ws(websocket: WebSocket) -> None:
            await websocket.accept()
            try:
                while True:
                    tasks = json.loads(await websocket.receive_text())
                    for task in tasks:
                        if task.get("taskType") == "authentication":
                            frame = {
                                "data": [
                                    {
                                        "taskType": "authentication",
                                        "connectionSessionUUID": str(uuid.uuid4()),
                                    }
                                ]
                            }
                        else:
                            drift = _drift_of(task)
                            item = _result(task)
                            frame = {"data": [_drifted(item, drift) if drift else item]}
                        out = json.dumps(frame)
                        self.sent.append(out.encode())
                        await websocket.send_text(out)
            except WebSocketDisconnect:
                return

        self.app = Starlette(
            routes=[
                Route("/v1", rest, methods=["POST"]),
                Route("/hold", hold, methods=["POST"]),
                WebSocketRoute("/v1", ws),
            ]
        )


def _drift_of(task: dict[str, Any]) -> str | None:
    content = task["messages"][-1]["content"]
    return content.removeprefix("drift:") if content.startswith("drift:") else None


async def _each(events: list[bytes]) -> Any:
    for event in events:
        yield event


@pytest.fixture
def drifting() -> Iterator[tuple[DriftingUpstream, RunningServer]]:
    """The drifting upstream on a loopback port."""
    upstream = DriftingUpstream()
    with RunningServer(upstream.app) as server:
        yield upstream, server


def cassette_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.json"))
