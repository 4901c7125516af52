"""Hostile input: each case gets a clear Runware-style 4xx, and the server stays up."""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from contracts import check_response
from mockserver import MockConfig, create_app
from tests.mockserver.conftest import AUTH, RunningServer, text_task

JSON = {**AUTH, "Content-Type": "application/json"}


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    with RunningServer(create_app(config=MockConfig(processing_ms=0))) as running:
        yield running


def _task_json() -> str:
    return json.dumps(text_task())


CORPUS = [
    pytest.param(b"", JSON, 400, "empty", id="empty-body"),
    pytest.param(b"not json at all", JSON, 400, "not valid JSON", id="non-json"),
    pytest.param(b"42", JSON, 400, "array", id="top-level-scalar"),
    pytest.param(b'{"taskType": "textInference"}', JSON, 400, "array", id="top-level-object"),
    pytest.param(b'[{"taskType": "textInf', JSON, 400, "not valid JSON", id="truncated"),
    pytest.param(b'[{"taskType": "\xc3\x28"}]', JSON, 400, "not UTF-8", id="invalid-utf8"),
    pytest.param(
        b'[{"taskType": "\\udc00"}]', JSON, 400, "unpaired surrogate", id="lone-surrogate"
    ),
    pytest.param(b'[{"seed": NaN}]', JSON, 400, "NaN", id="nan"),
    pytest.param(b'[{"seed": Infinity}]', JSON, 400, "Infinity", id="infinity"),
    pytest.param(b'[{"seed": 1e999999}]', JSON, 400, "seed", id="huge-exponent"),
    pytest.param(
        (b'[{"taskUUID": "a", "taskUUID": "b"}]'), JSON, 400, "appears twice", id="duplicate-keys"
    ),
    pytest.param(
        b"[" * 100_000 + b"]" * 100_000, JSON, 400, "nests too deeply", id="100k-deep-nesting"
    ),
    pytest.param(
        ("[" + ",".join([_task_json()] * 20_000) + "]").encode(),
        JSON,
        413,
        "20000 tasks in one request",
        id="20k-tasks",
    ),
    pytest.param(
        json.dumps([text_task(messages=[{"role": "user", "content": "x" * 12_000_000}])]).encode(),
        JSON,
        413,
        "over the limit",
        id="12MB-string",
    ),
    pytest.param(
        _task_json().encode(),
        {**AUTH, "Content-Type": "text/plain"},
        400,
        "application/json",
        id="wrong-content-type",
    ),
]


@pytest.mark.parametrize(("body", "headers", "status", "fragment"), CORPUS)
def test_hostile_body(
    server: RunningServer, body: bytes, headers: dict[str, str], status: int, fragment: str
) -> None:
    with httpx.Client(base_url=server.url, timeout=60) as http:
        reply = http.post("/v1", content=body, headers=headers)
        alive = http.post("/v1", json=[text_task()], headers=AUTH)
    assert reply.status_code == status, reply.text[:300]
    assert check_response(reply.json()) == []
    assert fragment in reply.text
    assert alive.status_code == 200


def test_a_full_request_at_the_task_limit_is_answered(server: RunningServer) -> None:
    body = [{"taskType": "ping", "ping": True}] * 1000
    reply = httpx.post(f"{server.url}/v1", json=body, headers=AUTH, timeout=60)
    assert reply.status_code == 200
    assert len(reply.json()["data"]) == 1000


def test_a_client_that_stalls_half_way_does_not_block_others(server: RunningServer) -> None:
    host, port = server.url.removeprefix("http://").split(":")
    body = json.dumps([text_task()]).encode()
    staller = socket.create_connection((host, int(port)), timeout=10)
    try:
        staller.sendall(
            b"POST /v1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\n"
            b"Content-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body[: len(body) // 2]
        )
        # Each reply within the client's timeout (else httpx raises): nobody waited on the
        # staller.
        replies = [
            httpx.post(f"{server.url}/v1", json=[text_task()], headers=AUTH, timeout=10)
            for _ in range(5)
        ]
        # The staller really was pending all along: no answer yet to its half body...
        staller.setblocking(False)
        with pytest.raises(BlockingIOError):
            staller.recv(1)
        # ...and once it sends the rest, it is answered like anyone else.
        staller.setblocking(True)
        staller.sendall(body[len(body) // 2 :])
        answer = b""
        while b"\r\n" not in answer:
            chunk = staller.recv(4096)
            assert chunk, f"the connection closed; got {answer!r}"
            answer += chunk
    finally:
        staller.close()
    assert [r.status_code for r in replies] == [200] * 5
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]


def test_image_and_video_inputs_are_never_fetched(server: RunningServer) -> None:
    """No request can make the mock read local files or fetch URLs."""
    hits: list[Any] = []
    bodies: list[bytes] = []
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def record(request: Request) -> Response:
        hits.append(request.url.path)
        bodies.append(await request.body())
        return Response("x")

    target_app = Starlette(routes=[Route("/{path:path}", record, methods=["GET", "POST"])])
    with RunningServer(target_app) as target:
        inputs = {
            "images": [f"{target.url}/cat.png", "file:///etc/passwd"],
            "videos": [f"{target.url}/clip.mp4"],
        }
        reply = httpx.post(
            f"{server.url}/v1", json=[text_task(inputs=inputs)], headers=AUTH, timeout=10
        )
        # Then the same inputs with a webhook to the same target: its arrival shows that the
        # target is reachable and that the mock is done with both tasks, so anything it had
        # fetched would be in `hits` by now (a bounded wait for an event, not a sleep).
        hooked = httpx.post(
            f"{server.url}/v1",
            json=[
                text_task(
                    taskUUID=str(uuid.uuid4()), inputs=inputs, webhookURL=f"{target.url}/hook"
                )
            ],
            headers=AUTH,
            timeout=10,
        )
        deadline = time.monotonic() + 30
        while "/hook" not in hits:
            assert time.monotonic() < deadline, f"the webhook never came; hits: {hits}"
            time.sleep(0.02)
    assert (reply.status_code, hooked.status_code) == (200, 200)
    assert hits == ["/hook"]
    assert reply.json()["data"][0]["text"]
    assert "root:" not in reply.text
    assert b"root:" not in bodies[0]
