"""``POST /v1`` (and ``/``, ``/v1/``) as a plain ASGI app: the mock's hot path.

A Starlette route can take an ASGI app as its endpoint; this one reads the body and writes
the reply straight from ``receive``/``send``, so a request pays for no request or response
objects — the mock's throughput is this path. Routing, 404/405 and the exception handlers
stay Starlette's.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from starlette.responses import StreamingResponse

from contracts import JSONProblem, parse_json

from ._delivery import StreamDropped
from ._errors import error_body
from ._journal import RawJSON
from ._logging import DROPPED_ON_PURPOSE
from ._server import MockServer, Outcome
from ._store import StoreUnavailable

__all__ = ["RestEndpoint", "RestFirst"]

_JSON_TYPES = (b"application/json", b"")


class _Disconnected(Exception):
    """The client went away before it had sent its body."""


class RestEndpoint:
    """The Runware REST API of one ``MockServer``."""

    def __init__(self, mock: MockServer) -> None:
        self.mock = mock

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        started = time.perf_counter()
        headers = dict(scope["headers"])  # names arrive lower-cased (ASGI)
        try:
            outcome, payload, key = await self._handle(headers, receive)
            body = b"" if outcome.events is not None else orjson.dumps(outcome.body)
            await self.mock.journal.record(
                method="POST",
                path=scope["path"],
                api_key=key,
                request=payload,
                violations=list(outcome.violations),
                status=outcome.status,
                response="(event stream)" if outcome.events is not None else RawJSON(body),
                started=started,
                fault=outcome.fault,
            )
        except _Disconnected:
            return
        except StoreUnavailable as exc:  # nothing was sent yet: a retryable 503
            outcome = Outcome(
                503,
                error_body("serviceUnavailable", f"{exc}."),
                headers=self.mock.config.retry_after_headers(),
            )
            body = orjson.dumps(outcome.body)
        if outcome.events is not None:
            # The SDKs end on "data: [DONE]"; no-store keeps proxies from buffering it.
            stream = StreamingResponse(
                outcome.events,
                media_type="text/event-stream",
                headers={"Cache-Control": "no-store", **dict(outcome.headers or {})},
            )
            try:
                await stream(scope, receive, send)
            except StreamDropped:
                # The disconnect fault: end without completing, as a crash would — and
                # tell uvicorn's log it was on purpose.
                DROPPED_ON_PURPOSE.set(True)
                return
            return
        raw_headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        for name, value in (outcome.headers or {}).items():
            raw_headers.append((name.lower().encode("latin-1"), value.encode("latin-1")))
        await send(
            {"type": "http.response.start", "status": outcome.status, "headers": raw_headers}
        )
        await send({"type": "http.response.body", "body": body})

    async def _body(self, headers: dict[bytes, bytes], receive: Any) -> bytes | None:
        """The body, or None when it is over the limit (read no further than that)."""
        limit = self.mock.config.max_body_bytes
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            return None
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Disconnected
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks) if len(chunks) != 1 else chunks[0]

    async def _handle(
        self, headers: dict[bytes, bytes], receive: Any
    ) -> tuple[Outcome, Any, str | None]:
        mock = self.mock
        media = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if media not in _JSON_TYPES and not media.endswith(b"+json"):
            shown = media.decode("latin-1")
            return (
                _refused(
                    400,
                    "invalidContentType",
                    f"Content-Type is {shown!r}; send the body as application/json.",
                    parameter="Content-Type",
                ),
                None,
                None,
            )
        raw = await self._body(headers, receive)
        if raw is None:
            return (
                _refused(
                    413,
                    "payloadTooLarge",
                    f"The body is over the limit of "
                    f"{mock.config.max_body_bytes} bytes; send fewer or smaller tasks "
                    "(or raise max_body_bytes in the mock's config).",
                ),
                None,
                None,
            )
        try:
            payload = parse_json(raw, unique_keys=True)
        except JSONProblem as problem:
            text = raw[:2048].decode("utf-8", "replace")
            # The header's key goes with the entry, so the journal can mask it in the text.
            return _refused(400, "invalidRequestBody", problem.reason), text, _bearer(headers)
        if isinstance(payload, list) and len(payload) > mock.config.max_tasks:
            return (
                _refused(
                    413,
                    "payloadTooLarge",
                    f"{len(payload)} tasks in one request, "
                    f"over the limit of {mock.config.max_tasks}; send them in several "
                    "requests (or raise max_tasks in the mock's config).",
                ),
                None,
                None,
            )
        key, refused = mock.authenticate(_bearer(headers), payload)
        if refused is not None:
            # The journal's verdict covers the body too: a client with a bad key and a bad
            # body has two things to fix.
            refused.violations = (*refused.body["errors"], *mock.violations(payload))
            return refused, payload, key
        header = headers.get(b"x-runware-mock-error")
        injected, fault = await mock.injected(
            payload, key, None if header is None else header.decode("latin-1")
        )
        if injected is not None:
            return injected, payload, key
        return await mock.run(payload, key=key, stream_fault=fault), RawJSON(raw), key


class RestFirst:
    """Middleware that hands ``POST /v1`` (and ``/``, ``/v1/``) to the endpoint before any
    routing: every request pays for the router and the exception middleware otherwise,
    about a sixth of the mock's own time per request. Everything else (other paths and
    methods, WebSockets, a ``root_path``) takes the normal way; the endpoint answers its
    own errors, and a crash still reaches the app's 500 handler, which sits outside."""

    def __init__(self, app: Any, *, endpoint: RestEndpoint, paths: frozenset[str]) -> None:
        self.app = app
        self.endpoint = endpoint
        self.paths = paths

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"] in self.paths
            and not scope.get("root_path")
        ):
            await self.endpoint(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def _refused(status: int, code: str, message: str, **fields: Any) -> Outcome:
    """A request refused before the document is consulted: its error is also its verdict,
    so the journal (and the plugin's teardown check) never calls it valid."""
    body = error_body(code, message, **fields)
    return Outcome(status, body, violations=tuple(body["errors"]))


def _bearer(headers: dict[bytes, bytes]) -> str | None:
    scheme, _, key = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
    return key.strip() or None if scheme.lower() == "bearer" else None
