"""``POST /v1`` (and ``/``, ``/v1/``) as a plain ASGI app: the mock's hot path.

A Starlette route can take an ASGI app as its endpoint; this one reads the body and writes
the reply straight from ``receive``/``send``, so a request pays for no request or response
objects — the mock's throughput is this path. It answers its own crashes (the same 500 as
the app's handler), so ``serve`` can put it in front of the whole Starlette app
(:func:`hoisted`). Routing, 404/405 and every other exception handler stay Starlette's.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.responses import JSONResponse, StreamingResponse
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from contracts import JSONProblem, parse_json

from ._delivery import StreamDropped
from ._error_bodies import crash_body, error_body
from ._journal import RawJSON
from ._logging import DROPPED_ON_PURPOSE
from ._mock import MockServer, Outcome
from ._store import StoreUnavailable

__all__ = ["RestEndpoint", "RestFirst", "hoisted"]

_JSON_TYPES = (b"application/json", b"")
_JSON = (b"content-type", b"application/json")
_STREAMED = "(event stream)"  # what the journal keeps of a streamed reply


class _Disconnected(Exception):
    """The client went away before it had sent its body."""


class RestEndpoint:
    """The Runware REST API of one ``MockServer``."""

    def __init__(self, mock: MockServer) -> None:
        self.mock = mock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        answered = False  # is the response under way? (then a crash cannot answer 500)
        try:
            headers = dict(scope["headers"])  # names arrive lower-cased (ASGI)
            mock = self.mock
            try:
                outcome, payload, key = await self._handle(headers, receive)
                events = outcome.events
                body = b"" if events is not None else orjson.dumps(outcome.body)
                await mock.journal.add(  # record(), positionally
                    "POST",
                    scope["path"],
                    key,
                    payload,
                    list(outcome.violations),
                    outcome.status,
                    _STREAMED if events is not None else RawJSON(body),
                    started,
                    outcome.fault,
                )
            except _Disconnected:
                return
            except StoreUnavailable as exc:  # nothing was sent yet: a retryable 503
                outcome = Outcome(
                    503,
                    error_body("serviceUnavailable", f"{exc}."),
                    headers=mock.config.retry_after_headers(),
                )
                events, body = None, orjson.dumps(outcome.body)
            if events is not None:
                stream = _event_stream(outcome)
                # From here the stream's first message is its head: a crash later in it
                # can only cut it short (Starlette's middleware did the same).
                answered = True
                await _send_stream(stream, scope, receive, send)
                return
            extra = outcome.headers
            answered = True
            await send(
                {
                    "type": "http.response.start",
                    "status": outcome.status,
                    "headers": [_JSON, (b"content-length", b"%d" % len(body))]
                    if not extra
                    else [
                        _JSON,
                        (b"content-length", b"%d" % len(body)),
                        *(
                            (k.lower().encode("latin-1"), v.encode("latin-1"))
                            for k, v in extra.items()
                        ),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
        except Exception as exc:
            # What Starlette's error middleware does with the app's crash handler: a
            # Runware-style 500 if nothing was sent yet, then the error goes on to the log.
            if not answered:
                await JSONResponse(crash_body(exc), status_code=500)(scope, receive, send)
            raise

    async def _body(self, headers: dict[bytes, bytes], receive: Receive) -> bytes | None:
        """The body, or None when it is over the limit (read no further than that)."""
        limit = self.mock.config.max_body_bytes
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            return None
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected
        chunk = message.get("body", b"")
        if not message.get("more_body", False):  # the common case: the body in one message
            return chunk if len(chunk) <= limit else None
        chunks, size = [chunk], len(chunk)
        while size <= limit:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Disconnected
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)
        return None

    async def _handle(
        self, headers: dict[bytes, bytes], receive: Receive
    ) -> tuple[Outcome, Any, str | None]:
        mock = self.mock
        media = media_type(headers)
        if not is_json(media):
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
            return _refused(400, "invalidRequestBody", problem.reason), text, bearer(headers)
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
        key = bearer(headers)
        keys = mock.config.api_keys
        # A bearer key the config accepts needs nothing more (authenticate() would say so).
        refused = None
        if key is None or (keys and key not in keys):
            key, refused = mock.authenticate(key, payload)
        if refused is not None:
            # The journal's verdict covers the body too: a client with a bad key and a bad
            # body has two things to fix.
            refused.violations = (*refused.body["errors"], *mock.violations(payload))
            return refused, payload, key
        header = headers.get(b"x-runware-mock-error")
        fault = None
        if header is not None or mock.faults.active:  # (else injected() finds none)
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
    own errors and crashes."""

    def __init__(self, app: ASGIApp, *, endpoint: RestEndpoint, paths: frozenset[str]) -> None:
        self.app = app
        self.endpoint = endpoint
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"] in self.paths
            and not scope.get("root_path")
        ):
            await self.endpoint(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def hoisted(app: Starlette, *, forwarded_allow_ips: str | list[str] | None = None) -> ASGIApp:
    """``app`` as a server should call it: its ``RestFirst`` moved in front of Starlette
    itself, so ``POST /v1`` skips the app's call and its error middleware too (a few
    percent of the mock's throughput; the endpoint answers its crashes the same way).
    Only while ``RestFirst`` is the outermost middleware: one added later (``--replay``'s)
    must still see every request first, so then ``app`` is returned as it is.

    ``forwarded_allow_ips``: when given, the server's ``X-Forwarded-*`` handling (uvicorn's
    ``ProxyHeadersMiddleware``, trusting these addresses) is applied here instead of by the
    server, which must then run with ``proxy_headers=False``: behind ``RestFirst``, so the
    endpoint, which reads neither the client's address nor the scheme, does not pay for it
    (about 2% of a request's instructions, by callgrind). Every other request, the
    documents' ``servers`` URLs among them, sees the forwarded scheme and client as before."""
    # (Any: mypy types a Middleware's cls and kwargs as a factory's, which RestFirst is not)
    first: Any = app.user_middleware[0] if app.user_middleware else None
    inner: Any = app  # (Any: uvicorn's ASGI types are not Starlette's)
    if forwarded_allow_ips is not None:
        inner = ProxyHeadersMiddleware(inner, trusted_hosts=forwarded_allow_ips)
    served: ASGIApp = (
        inner if first is None or first.cls is not RestFirst else RestFirst(inner, **first.kwargs)
    )
    return served


def _event_stream(outcome: Outcome) -> StreamingResponse:
    """An event stream's answer. The SDKs end on "data: [DONE]"; no-store keeps proxies
    from buffering it."""
    assert outcome.events is not None
    return StreamingResponse(
        outcome.events,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", **dict(outcome.headers or {})},
    )


async def _send_stream(
    stream: StreamingResponse, scope: Scope, receive: Receive, send: Send
) -> None:
    try:
        await stream(scope, receive, send)
    except StreamDropped:
        # The disconnect fault: end without completing, as a crash would — and tell
        # uvicorn's log it was on purpose.
        DROPPED_ON_PURPOSE.set(True)


def _refused(status: int, code: str, message: str, **fields: Any) -> Outcome:
    """A request refused before the document is consulted: its error is also its verdict,
    so the journal (and the plugin's teardown check) never calls it valid."""
    body = error_body(code, message, **fields)
    return Outcome(status, body, violations=tuple(body["errors"]))


def media_type(headers: Mapping[bytes, bytes]) -> bytes:
    """The request's media type, lower-cased, without parameters."""
    media = headers.get(b"content-type", b"")
    if media != b"application/json":  # as every SDK sends it; else read it
        media = media.split(b";")[0].strip().lower()
    return media


def is_json(media: bytes) -> bool:
    """Whether the mock reads a body of this media type (none given counts as JSON)."""
    return media in _JSON_TYPES or media.endswith(b"+json")


def bearer(headers: Mapping[bytes, bytes]) -> str | None:
    """The key of an ``Authorization: Bearer`` header, if one came."""
    value = headers.get(b"authorization", b"")
    if value[:7] == b"Bearer ":  # as every SDK sends it
        return value[7:].decode("latin-1").strip() or None
    scheme, _, key = value.decode("latin-1").partition(" ")
    return key.strip() or None if scheme.lower() == "bearer" else None
