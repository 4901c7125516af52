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
- a session belongs to the open socket that last authenticated with it, in any worker
  sharing the store: frames its sockets cannot deliver (the client dropped, or resumed
  elsewhere) go to that socket, also those of tasks that finish after the reconnect; with
  no such socket they are kept for ``session_buffer_s`` and replayed when a client
  authenticates with the same ``connectionSessionUUID``;
- a socket with no message for ``idle_timeout_s`` is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from contracts import JSONProblem, parse_json

from ._error_bodies import error_body, error_item
from ._mock import WEBSOCKET, account_of
from ._store import SessionWatch, StoreUnavailable

if TYPE_CHECKING:
    from ._mock import MockServer, TaskReply

__all__ = ["websocket_endpoint"]

# A getResponse whose results are this close is answered when they are ready.
_HOLD_POLL_S = 1.0
# Tasks still running for a socket that went away keep running (their results go to the
# session), and each authenticated socket's session listener.
_background: set[asyncio.Task[None]] = set()


def _spawn(work: Any) -> asyncio.Task[None]:
    job = asyncio.get_running_loop().create_task(work)
    _background.add(job)
    job.add_done_callback(_background.discard)
    return job


class _Connection:
    def __init__(self, websocket: WebSocket, mock: MockServer) -> None:
        self.websocket = websocket
        self.mock = mock
        # The session's own tasks, as the document names them.
        self.auth_type = mock.spec.authentication_task_type
        self.ping_type = mock.spec.ping_task_type
        self.session: str | None = None
        self.watch: SessionWatch | None = None  # this socket's hold on its session
        self.key: str | None = None
        self._lock = asyncio.Lock()
        self._listener: asyncio.Task[None] | None = None
        self.open = True

    async def send(self, frame: Mapping[str, Any], *, session_frame: bool = True) -> None:
        await self._send_text(
            json.dumps(frame, ensure_ascii=False, separators=(",", ":")),
            session_frame=session_frame,
        )

    async def _send_text(self, text: str, *, session_frame: bool = True) -> None:
        """Send on this socket while it is open and holds its session; else hand a session
        frame (anything about a task) to the session: the store rings whichever socket holds
        it now, or keeps it. Other frames (authentication replies, pongs) are this socket's
        or nobody's."""
        async with self._lock:
            if (
                self.open
                and (self.watch is None or self.watch.held or not session_frame)
                and self.websocket.application_state == WebSocketState.CONNECTED
            ):
                try:
                    await self.websocket.send_text(text)
                    return
                except (WebSocketDisconnect, RuntimeError, OSError):
                    self.open = False
        if self.session is not None and session_frame:
            await self.mock.store.buffer(self.session, text, self.mock.config.session_buffer_s)

    async def authenticate(self, task: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Authenticate the socket; the errors it was refused with (none when accepted)."""
        key = task.get("apiKey") if isinstance(task.get("apiKey"), str) else None
        refused = self.mock.check_key(key)
        if refused is not None:
            await self.send(refused.body, session_frame=False)
            return list(refused.body["errors"])
        resumed = task.get("connectionSessionUUID")
        session = resumed if isinstance(resumed, str) else str(uuid.uuid4())
        # A session is its key's: another key that sends the same connectionSessionUUID
        # gets a session of its own, never the first key's buffered results or its socket.
        kept_as = f"{account_of(key)}/{session}"
        try:
            watch = await self.mock.store.watch(kept_as)
        except StoreUnavailable as exc:
            down = error_body("serviceUnavailable", f"{exc}.", task_type=self.auth_type)
            await self.send(down, session_frame=False)
            return list(down["errors"])
        previous, self.watch = self.watch, watch
        if previous is not None:
            previous.ring()  # authenticated again: the earlier hold's listener ends
        self.key, self.session = key, kept_as
        await self.send(
            {"data": [{"taskType": self.auth_type, "connectionSessionUUID": session}]},
            session_frame=False,
        )
        # What was kept while no socket held the session comes right after the auth reply,
        # before the reply to any later frame; then the listener takes over.
        await self._drain(watch)
        self._listener = _spawn(self._deliver_session(watch))
        return []

    async def _deliver_session(self, watch: SessionWatch) -> None:
        """Send the session's buffered frames here whenever the store rings, while this
        socket holds the session."""
        try:
            while True:
                await watch.wait()
                if not await self._drain(watch):
                    return
        finally:
            with contextlib.suppress(StoreUnavailable):
                await self.mock.store.unwatch(watch)

    async def _drain(self, watch: SessionWatch) -> bool:
        """Send what is buffered for the session here; False once this socket no longer
        holds it (closed, superseded, or authenticated again)."""
        if not (self.open and self.watch is watch and watch.held):
            return False
        try:
            for frame in await self.mock.store.drain(watch.session):
                await self._send_text(frame)
        except StoreUnavailable:
            pass  # retried on the next ring (redis-py rings them all after reconnecting)
        return True

    async def close(self) -> None:
        """The client left: from now on this socket's frames go to its session."""
        self.open = False
        if self.watch is not None:
            self.watch.ring()
        if self._listener is not None:
            await asyncio.wait([self._listener])

    async def run_task(self, task: Mapping[str, Any]) -> None:
        try:
            await self._run_task(task)
        except StoreUnavailable as exc:
            # The store failed mid-task: say so about this task, on this socket (the store
            # that would keep the frame for the session is the one that is down).
            down = error_item(
                "serviceUnavailable",
                f"{exc}.",
                task_type=_str(task.get("taskType")),
                task_uuid=_str(task.get("taskUUID")),
            )
            with contextlib.suppress(StoreUnavailable):
                await self.send({"errors": [down]}, session_frame=False)

    async def _run_task(self, task: Mapping[str, Any]) -> None:
        injected, fault = await self.mock.injected([task], self.key, None)
        if injected is not None:
            await self.send(injected.body)  # the same errors, as a frame with the taskUUID
            return
        if fault is not None and fault.kind == "disconnect":
            self.open = False
            await self.websocket.close(code=1011, reason="injected fault: disconnect")
            return
        reply = await self.mock.answer(
            task,
            key=self.key,
            channel=WEBSOCKET,
            failure=await self.mock.processing_fault(task, self.key),
        )
        if reply.ready_at is not None and reply.ready_at - time.time() <= _HOLD_POLL_S:
            # Results a moment away: hold the poll's reply until they are there (what a
            # server streaming over one socket would do), rather than answer "processing".
            reply = await self._when_ready(task, reply)
        if reply.errors:
            await self.send({"errors": reply.errors})
            return
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.failed:  # accepted, then failed while processing: an error frame
            await self.send({"errors": reply.failed})
            return
        results = [i for i in reply.items if "text" in i and "status" not in i]
        if results:  # sync results: one frame per result
            for item in results:
                await self.send({"data": [item]})
        else:  # an ack, a getResponse reply (every item in one frame) or a pong
            # A pong is about this socket, not the session: never handed to another one.
            pong = task.get("taskType") == self.ping_type
            await self.send({"data": reply.items}, session_frame=not pong)
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
            reply = await self.mock.answer(task, key=self.key, channel=WEBSOCKET)
        return reply


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


async def _refuse_frame(
    conn: _Connection, raw: str, refusal: list[dict[str, Any]], started: float
) -> None:
    await conn.send({"errors": refusal}, session_frame=False)
    await conn.mock.journal.record(
        method="WS",
        path=conn.websocket.url.path,
        api_key=conn.key,
        request=raw[:2048],
        violations=refusal,
        status=400,
        response=None,
        started=started,
    )


async def _handle_frame(conn: _Connection, raw: str | None) -> None:
    """One frame in: a text frame is judged and run; a binary one gets an error frame."""
    try:
        if raw is None:
            await _refuse_frame(
                conn,
                "(a binary frame)",
                [
                    error_item(
                        "invalidRequestBody",
                        "A binary frame is no Runware frame: send each array of "
                        "tasks as a JSON text frame.",
                    )
                ],
                time.perf_counter(),
            )
            return
        await _judge_frame(conn, raw)
    except StoreUnavailable:
        # Only the journal entry is lost: the frame was answered or refused already, and a
        # task the outage breaks says so itself, with its taskUUID (run_task).
        pass


async def _judge_frame(conn: _Connection, raw: str) -> None:
    started = time.perf_counter()
    mock = conn.mock
    payload, refusal = _parsed_frame(raw, max_tasks=mock.config.max_tasks)
    if refusal:
        await _refuse_frame(conn, raw, refusal, started)
        return
    if isinstance(payload, dict):
        payload = [payload]  # be lenient: a lone task object is still one task
    violations: list[dict[str, Any]] = []
    if not isinstance(payload, list):
        violations = list(mock.violations(payload))
        await conn.send({"errors": violations})
    for task in payload if isinstance(payload, list) else ():
        violations += await _judge_task(conn, task)
    await mock.journal.record(
        method="WS",
        path=conn.websocket.url.path,
        api_key=conn.key,
        request=payload,
        violations=violations,
        status=400 if violations else 200,
        response=None,
        started=started,
    )


def _parsed_frame(raw: str, *, max_tasks: int) -> tuple[Any, list[dict[str, Any]]]:
    """(the frame's JSON, the errors it is refused whole with: not JSON, or too many tasks)."""
    try:
        payload = parse_json(raw)
    except JSONProblem as problem:
        return None, [error_item("invalidRequestBody", problem.reason)]
    if isinstance(payload, list) and len(payload) > max_tasks:
        # The REST limit holds for frames too: one frame of 50,000 pings is refused whole.
        return payload, [
            error_item(
                "payloadTooLarge",
                f"{len(payload)} tasks in one frame, over the limit of "
                f"{max_tasks}; send them in several frames "
                "(or raise max_tasks in the mock's config).",
            )
        ]
    return payload, []


async def _judge_task(conn: _Connection, task: Any) -> list[dict[str, Any]]:
    """Authenticate with, refuse or start one task of a frame; the errors it was refused with."""
    task_type = task.get("taskType") if isinstance(task, dict) else None
    if task_type == conn.auth_type:
        found = list(conn.mock.violations([task]))
        if found:
            await conn.send({"errors": found})
            return found
        return await conn.authenticate(task)
    if task_type != conn.ping_type and conn.key is None:
        refusal = [_missing_key(conn, task, task_type=task_type)]
        await conn.send({"errors": refusal})
        return refusal
    found = list(conn.mock.violations([task]))
    if found:
        await conn.send({"errors": found})
        return found
    _spawn(conn.run_task(task))
    return []


def _missing_key(conn: _Connection, task: Any, *, task_type: Any) -> dict[str, Any]:
    task_uuid = task.get("taskUUID") if isinstance(task, dict) else None
    return error_item(
        "missingApiKey",
        f'Authenticate first: send [{{"taskType": "{conn.auth_type}", '
        '"apiKey": "<key>"}] on this socket before any task.',
        parameter="apiKey",
        task_type=str(task_type) if task_type else None,
        task_uuid=task_uuid if isinstance(task_uuid, str) else None,
    )


async def websocket_endpoint(websocket: WebSocket, mock: MockServer) -> None:
    """Serve one WebSocket connection until the client leaves or stays idle too long."""
    await websocket.accept()
    conn = _Connection(websocket, mock)
    try:
        while True:
            try:
                message = await asyncio.wait_for(
                    websocket.receive(), timeout=mock.config.idle_timeout_s or None
                )
            except TimeoutError:
                await websocket.close(code=1000, reason="idle timeout")
                return
            if message["type"] == "websocket.disconnect":
                return
            await _handle_frame(conn, message.get("text"))
    except (WebSocketDisconnect, RuntimeError):
        return
    finally:
        await conn.close()
