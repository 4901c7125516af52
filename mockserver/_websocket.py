"""WebSocket delivery on ``/v1`` and ``/`` (any query string), as the SDKs speak it.

Frames in are JSON arrays of tasks; frames out are ``{"data": [...]}`` or ``{"errors":
[...]}`` (protocol reference, section 7):

- the reply to an ``authentication`` task is the first frame after it, ``data[0]`` holding
  ``connectionSessionUUID`` and no ``taskUUID``;
- ``ping`` gets a ``pong`` in its own frame;
- tasks run concurrently, so several interleave on one socket; a sync result is one frame
  per result; async tasks get their acknowledgement and are polled with ``getResponse``;
- every error frame carries the ``taskUUID`` it is about;
- a ``getResponse`` answered while results are still processing is followed, on the same
  socket, by the results as soon as they are ready;
- frames that cannot be delivered because the client dropped are kept for
  ``session_buffer_s`` and replayed when a client authenticates with the same
  ``connectionSessionUUID``;
- a socket with no message for ``idle_timeout_s`` is closed.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from contracts import JSONProblem, parse_json

from ._errors import error_item

if TYPE_CHECKING:
    from ._server import MockServer, TaskReply

__all__ = ["websocket_endpoint"]

# A getResponse whose results are this close is answered when they are ready.
_HOLD_POLL_S = 1.0
# Tasks still running for a socket that went away keep running (their results are buffered).
_background: set[asyncio.Task[None]] = set()


class _Connection:
    def __init__(self, websocket: WebSocket, mock: MockServer) -> None:
        self.websocket = websocket
        self.mock = mock
        self.session: str | None = None
        self.key: str | None = None
        self._lock = asyncio.Lock()
        self.open = True

    async def send(self, frame: Mapping[str, Any]) -> None:
        text = json.dumps(frame, ensure_ascii=False, separators=(",", ":"))
        async with self._lock:
            if self.open and self.websocket.application_state == WebSocketState.CONNECTED:
                try:
                    await self.websocket.send_text(text)
                    return
                except (WebSocketDisconnect, RuntimeError, OSError):
                    self.open = False
        if self.session is not None:
            await self.mock.store.buffer(self.session, text, self.mock.config.session_buffer_s)

    async def authenticate(self, task: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Authenticate the socket; the errors it was refused with (none when accepted)."""
        key = task.get("apiKey") if isinstance(task.get("apiKey"), str) else None
        refused = self.mock.check_key(key)
        if refused is not None:
            await self.send(refused.body)
            return list(refused.body["errors"])
        self.key = key
        resumed = task.get("connectionSessionUUID")
        self.session = resumed if isinstance(resumed, str) else str(uuid.uuid4())
        await self.send({"data": [{"taskType": "authentication",
                                   "connectionSessionUUID": self.session}]})
        for frame in await self.mock.store.drain(self.session):
            await self.send(json.loads(frame))
        return []

    async def run_task(self, task: Mapping[str, Any]) -> None:
        injected, fault = await self.mock.injected([task], self.key, None)
        if injected is not None:
            await self.send(injected.body)  # the same errors, as a frame with the taskUUID
            return
        if fault is not None and fault.kind == "disconnect":
            self.open = False
            await self.websocket.close(code=1011, reason="injected fault: disconnect")
            return
        reply = await self.mock.answer(task, websocket=True)
        if reply.ready_at is not None and reply.ready_at - time.time() <= _HOLD_POLL_S:
            # Results a moment away: hold the poll's reply until they are there (what a
            # server streaming over one socket would do), rather than answer "processing".
            reply = await self._when_ready(task, reply)
        if reply.errors:
            await self.send({"errors": reply.errors})
            return
        if reply.delay:
            await asyncio.sleep(reply.delay)
        results = [i for i in reply.items if "text" in i and "status" not in i]
        if results:  # sync results: one frame per result
            for item in results:
                await self.send({"data": [item]})
        else:  # an ack, a getResponse reply (every item in one frame) or a pong
            await self.send({"data": reply.items})
        if reply.ready_at is not None:
            # The legacy SDK drops "processing" items and then waits 30 s for another frame
            # about the task: push the results on this socket as soon as they are ready.
            ready = await self._when_ready(task, reply)
            if ready.items and ready.ready_at is None:
                await self.send({"data": ready.items})

    async def _when_ready(self, task: Mapping[str, Any], reply: TaskReply) -> TaskReply:
        """Poll again once the results are ready (timers can wake a little early)."""
        for _ in range(20):
            if reply.ready_at is None:
                break
            await asyncio.sleep(max(0.0, reply.ready_at - time.time()) + 0.002)
            reply = await self.mock.answer(task, websocket=True)
        return reply


async def _handle_frame(conn: _Connection, raw: str) -> None:
    started = time.perf_counter()
    mock = conn.mock
    try:
        payload = parse_json(raw)
    except JSONProblem as problem:
        refusal = [error_item("invalidRequestBody", problem.reason)]
        await conn.send({"errors": refusal})
        await mock.journal.record(method="WS", path=conn.websocket.url.path, api_key=conn.key,
                                  request=raw[:2048], violations=refusal, status=400,
                                  response=None, started=started)
        return
    if isinstance(payload, dict):
        payload = [payload]  # be lenient: a lone task object is still one task
    violations: list[dict[str, Any]] = []
    if not isinstance(payload, list):
        violations = list(mock.violations(payload))
        await conn.send({"errors": violations})
    for task in payload if isinstance(payload, list) else ():
        task_uuid = task.get("taskUUID") if isinstance(task, dict) else None
        task_type = task.get("taskType") if isinstance(task, dict) else None
        if task_type == "authentication":
            found = list(mock.violations([task]))
            violations += found
            if found:
                await conn.send({"errors": found})
            else:
                violations += await conn.authenticate(task)
            continue
        if task_type != "ping" and conn.key is None:
            refusal = [error_item(
                "missingApiKey", "Authenticate first: send [{\"taskType\": \"authentication\", "
                "\"apiKey\": \"<key>\"}] on this socket before any task.", parameter="apiKey",
                task_type=str(task_type) if task_type else None,
                task_uuid=task_uuid if isinstance(task_uuid, str) else None)]
            violations += refusal
            await conn.send({"errors": refusal})
            continue
        found = list(mock.violations([task]))
        if found:
            violations += found
            await conn.send({"errors": found})
            continue
        job = asyncio.get_running_loop().create_task(conn.run_task(task))
        _background.add(job)
        job.add_done_callback(_background.discard)
    await mock.journal.record(method="WS", path=conn.websocket.url.path, api_key=conn.key,
                              request=payload, violations=violations,
                              status=400 if violations else 200, response=None,
                              started=started)


async def websocket_endpoint(websocket: WebSocket, mock: MockServer) -> None:
    """Serve one WebSocket connection until the client leaves or stays idle too long."""
    await websocket.accept()
    conn = _Connection(websocket, mock)
    try:
        while True:
            try:
                raw = await asyncio.wait_for(websocket.receive_text(),
                                             timeout=mock.config.idle_timeout_s or None)
            except TimeoutError:
                await websocket.close(code=1000, reason="idle timeout")
                return
            await _handle_frame(conn, raw)
    except (WebSocketDisconnect, RuntimeError):
        return
    finally:
        conn.open = False
