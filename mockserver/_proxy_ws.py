"""The proxy's WebSocket relay: frames in both directions, each judged as it passes.

The client's socket is accepted once the target's is open (with the subprotocol the target
chose); from then on two pumps run until either side closes, and the other side is closed
with the same code:

- client → target: each text frame is judged against the document (its tasks; an
  ``authentication`` or ``ping`` task too) and journaled with that verdict (``method``
  ``"WS"``); ``--strict`` answers an invalid frame with the mock's error frame instead of
  sending it on;
- target → client: each frame is judged against the response contract, with the tasks this
  socket sent as the request it answers (an unknown taskUUID is drift), and journaled as an
  exchange of its own: the tasks it answers as ``request``, the frame as ``response``, the
  verdict as ``drift``, ``origin`` ``"frame from …"``.

The whole connection is one cassette interaction: every frame with its time and direction.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import orjson
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from contracts import JSONProblem, parse_json

from ._cassette import kept_headers
from ._drift import judge_reply, judge_request
from ._error_bodies import error_item
from ._journal import RawJSON

if TYPE_CHECKING:
    from ._proxy import Proxy

__all__ = ["relay"]

# The handshake's own headers, set by each hop; the rest (Authorization, User-Agent, …) go on.
_SKIP = frozenset(
    {
        "host",
        "connection",
        "upgrade",
        "sec-websocket-key",
        "sec-websocket-version",
        "sec-websocket-extensions",
        "sec-websocket-protocol",
        "content-length",
    }
)
_REMEMBERED_TASKS = 10_000  # tasks of one socket kept to judge the frames that answer them
_STRICT = "proxy --strict: refused, not forwarded"


def _tasks_of(payload: Any) -> list[dict[str, Any]]:
    tasks = payload if isinstance(payload, list) else [payload]
    return [t for t in tasks if isinstance(t, dict)]


def _uuids(frame: Any) -> list[str]:
    """The taskUUIDs a frame from the server is about."""
    found: list[str] = []
    if isinstance(frame, dict):
        for key in ("data", "errors"):
            for item in frame.get(key) or ():
                if isinstance(item, dict) and isinstance(item.get("taskUUID"), str):
                    found.append(item["taskUUID"])
        if isinstance(frame.get("taskUUID"), str):
            found.append(frame["taskUUID"])
    return found


class _Relay:
    def __init__(
        self, proxy: Proxy, websocket: WebSocket, upstream: ClientConnection, path: str
    ) -> None:
        self.proxy = proxy
        self.websocket = websocket
        self.upstream = upstream
        self.path = path
        self.opened = time.perf_counter()
        self.key: str | None = None
        self.tasks: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self.frames: list[dict[str, Any]] = []
        self.close: dict[str, Any] = {}
        self._lock = asyncio.Lock()  # both pumps may send to the client

    def _at(self) -> float:
        return round((time.perf_counter() - self.opened) * 1000, 3)

    async def to_client(self, text: str | None = None, data: bytes | None = None) -> None:
        async with self._lock:
            if text is not None:
                await self.websocket.send_text(text)
            else:
                await self.websocket.send_bytes(data or b"")

    async def client_to_upstream(self) -> None:
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                code = message.get("code", 1000)
                self.close = {"by": "client", "code": code}
                await self.upstream.close(
                    code=code if 1000 <= code < 5000 and code not in (1005, 1006, 1015) else 1000
                )
                return
            started = time.perf_counter()
            text, data = message.get("text"), message.get("bytes")
            if text is None:
                await self.upstream.send(data or b"")
                self.frames.append(
                    {
                        "atMs": self._at(),
                        "from": "client",
                        "binary": base64.b64encode(data or b"").decode(),
                    }
                )
                continue
            payload, violations = judge_request(text, spec=self.proxy.spec)
            for task in _tasks_of(payload):
                if task.get("taskType") == self.proxy.auth_type and isinstance(
                    task.get("apiKey"), str
                ):
                    self.key = task["apiKey"]
            shown: Any = payload if payload is not None else text[:2048]
            if self.proxy.strict and violations:
                refusal = orjson.dumps({"errors": violations}).decode()
                await self.to_client(refusal)
                await self.proxy.journal.record(
                    method="WS",
                    path=self.path,
                    api_key=self.key,
                    request=shown,
                    violations=violations,
                    status=400,
                    response=RawJSON(refusal.encode()),
                    started=started,
                    origin=_STRICT,
                )
                continue
            await self.upstream.send(text)
            at = self._at()
            for task in _tasks_of(payload):
                if isinstance(task.get("taskUUID"), str):
                    self.tasks[task["taskUUID"]] = task
                    self.tasks.move_to_end(task["taskUUID"])
                    while len(self.tasks) > _REMEMBERED_TASKS:
                        self.tasks.popitem(last=False)
            self.frames.append(
                {
                    "atMs": at,
                    "from": "client",
                    **({"body": payload} if payload is not None else {"text": text}),
                }
            )
            await self.proxy.journal.record(
                method="WS",
                path=self.path,
                api_key=self.key,
                request=shown,
                violations=violations,
                status=200,
                response=None,
                started=started,
                origin=f"frame to {self.proxy.ws_url}",
            )

    async def upstream_to_client(self) -> None:
        try:
            async for message in self.upstream:
                started = time.perf_counter()
                if isinstance(message, bytes):
                    await self.to_client(data=message)
                    self.frames.append(
                        {
                            "atMs": self._at(),
                            "from": "server",
                            "binary": base64.b64encode(message).decode(),
                        }
                    )
                    continue
                await self.to_client(message)
                at = self._at()
                try:
                    frame: Any = parse_json(message)
                except JSONProblem:
                    frame = None
                answered = [self.tasks[u] for u in _uuids(frame) if u in self.tasks]
                drift = judge_reply(
                    frame if frame is not None else message,
                    request=list(self.tasks.values()),
                    spec=self.proxy.spec,
                    where="frame",
                )
                self.frames.append(
                    {
                        "atMs": at,
                        "from": "server",
                        **({"body": frame} if frame is not None else {"text": message}),
                        **({"drift": drift} if drift else {}),
                    }
                )
                await self.proxy.journal.record(
                    method="WS",
                    path=self.path,
                    api_key=self.key,
                    request=answered or None,
                    violations=[],
                    status=200,
                    response=RawJSON(message.encode()) if frame is not None else message,
                    started=started,
                    drift=drift,
                    origin=f"frame from {self.proxy.ws_url}",
                )
        except ConnectionClosed:
            pass
        rcvd = self.upstream.close_code
        self.close = self.close or {"by": "server", "code": rcvd}
        with contextlib.suppress(RuntimeError, WebSocketDisconnect, OSError):
            await self.websocket.close(
                code=rcvd if rcvd and rcvd not in (1005, 1006, 1015) else 1000
            )


async def relay(proxy: Proxy, scope: Scope, receive: Receive, send: Send) -> None:
    """Serve one client socket by relaying it to the proxy's WebSocket target."""
    websocket = WebSocket(scope, receive, send)
    query = scope.get("query_string", b"").decode("latin-1")
    url = proxy.ws_url + (f"?{query}" if query else "")
    headers = [
        (k.decode("latin-1"), v.decode("latin-1"))
        for k, v in scope["headers"]
        if k.decode("latin-1").lower() not in _SKIP
    ]
    opened_at = proxy.recorder.elapsed_ms() if proxy.recorder is not None else 0.0
    started = time.perf_counter()
    try:
        # No compression and no pings of its own: frames reach the target as the client
        # sent them. proxy=None: HTTP(S)_PROXY is not for this hop. The target's frames
        # are results, of any length: the client's limit is uvicorn's (ws_max_size).
        upstream = await connect(
            url,
            additional_headers=headers,
            user_agent_header=None,
            subprotocols=scope.get("subprotocols") or None,
            compression=None,
            ping_interval=None,
            proxy=None,
            max_size=None,
            open_timeout=10,
        )
    except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as exc:
        await websocket.accept()
        problem = error_item(
            "upstreamUnavailable",
            f"The proxy could not open {url}: "
            f"{type(exc).__name__}: {exc}. Is the target running, and is "
            "--ws-target its WebSocket endpoint?",
        )
        await websocket.send_text(orjson.dumps({"errors": [problem]}).decode())
        await websocket.close(code=1011)
        await proxy.journal.record(
            method="WS",
            path=scope["path"],
            api_key=None,
            request=None,
            violations=[],
            status=502,
            response={"errors": [problem]},
            started=started,
            origin=f"upstream unreachable: {type(exc).__name__}",
        )
        return
    await websocket.accept(subprotocol=upstream.subprotocol)
    conn = _Relay(proxy, websocket, upstream, scope["path"])
    pumps = [
        asyncio.ensure_future(conn.client_to_upstream()),
        asyncio.ensure_future(conn.upstream_to_client()),
    ]
    try:
        done, _ = await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        if pumps[0] in done and pumps[0].exception() is None:
            # The client left: let the target's last frames (and its close) come through.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(pumps[1]), timeout=5)
    finally:
        for pump in pumps:
            pump.cancel()
        await asyncio.gather(*pumps, return_exceptions=True)
        await upstream.close()
        if proxy.recorder is not None:
            proxy.recorder.add(
                {
                    "kind": "websocket",
                    "startedMs": opened_at,
                    "request": {
                        "path": scope["path"],
                        "query": query,
                        "headers": kept_headers(scope["headers"]),
                    },
                    "frames": conn.frames,
                    "close": conn.close,
                    "durationMs": round((time.perf_counter() - started) * 1000, 3),
                },
                secrets=[conn.key] if conn.key else [],
            )
