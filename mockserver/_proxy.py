"""``create_proxy_app()``: a contract-checking proxy in front of a Runware server.

Every request a client sends to the proxy's ``/v1`` (also ``/`` and ``/v1/``) goes on to
the target unchanged, and its reply comes back unchanged; on the way the proxy judges both
(``_drift``: the request against the document, the reply against the response contract)
and journals the exchange with both verdicts. Streams pass through event by event as they
arrive, WebSocket frames in both directions as they come (``_proxy_ws``). With ``strict``
an invalid request is refused with the mock's 400 before it leaves; nothing else ever
changes traffic. With a recorder every exchange also goes to a cassette (``_cassette``).

The proxy is the mock's app with this layer in front (``ProxyFirst``), so the journal,
``/__mock/requests``, the inspector and the admin guard are the mock's own.

What the proxy must change to pass traffic on, and why:

- hop-by-hop headers (``Connection``, ``Transfer-Encoding``, …) and ``Host`` are the
  proxy's own on each hop; bodies arrive decoded (httpx undoes ``Content-Encoding``), so
  the client gets them without one;
- a target it cannot reach is answered with a Runware-style 502 ``upstreamUnavailable``;
- HTTP(S)_PROXY variables are ignored: the proxy connects to the target directly.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import orjson
from starlette.applications import Starlette
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import openapi
from contracts import JSONProblem, parse_json
from openapi import Catalog, Spec

from ._app import create_app
from ._cassette import Recorder, kept_headers, load_cassette
from ._config import ConfigError, MockConfig
from ._drift import SSEParser, judge_reply, judge_request, request_key
from ._error_bodies import error_body
from ._journal import Journal, RawJSON

__all__ = ["Proxy", "ProxyFirst", "create_proxy_app", "target_urls"]

REST_PATHS = frozenset({"/v1", "/", "/v1/"})
# RFC 9110 section 7.6.1, plus what each hop sets itself.
_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"host",
        b"content-length",
    }
)
_HOP_OUT = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "content-length",
        "content-encoding",
    }
)
_STRICT = "proxy --strict: refused, not forwarded"


def target_urls(target: str, ws_target: str | None = None) -> tuple[str, str]:
    """The REST endpoint and the WebSocket endpoint to forward to.

    Raises:
        ConfigError: ``target`` is no http(s) URL with a host, or ``ws_target`` no ws(s) one.
    """
    parts = urlsplit(target)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"--target {target!r} is not an http(s) URL: pass the server's REST "
            "endpoint, e.g. http://127.0.0.1:8081/v1",
            key="target",
        )
    if parts.username or parts.password:
        raise ConfigError(
            "--target must not hold credentials: clients send their own API "
            "key, and the proxy passes it on",
            key="target",
        )
    rest = urlunsplit((parts.scheme, parts.netloc, parts.path or "/", "", ""))
    if ws_target is None:
        ws = urlunsplit(
            ("wss" if parts.scheme == "https" else "ws", parts.netloc, parts.path or "/", "", "")
        )
    else:
        ws_parts = urlsplit(ws_target)
        if ws_parts.scheme not in ("ws", "wss") or not ws_parts.hostname:
            raise ConfigError(
                f"--ws-target {ws_target!r} is not a ws(s) URL, e.g. wss://ws-api.runware.ai/v1",
                key="ws_target",
            )
        ws = urlunsplit((ws_parts.scheme, ws_parts.netloc, ws_parts.path or "/", "", ""))
    return rest, ws


def _remember_no_sniffio() -> None:
    """httpcore tries ``import sniffio`` several times per request; without sniffio (httpx
    no longer needs it) each failed import searches sys.path again, a fifth of the proxy's
    time per request. A missing module is remembered as missing, as Python does not."""
    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]


class _Clients:
    """httpx clients of one connection each, each lent to one request at a time.

    One ``AsyncClient`` for every request scales badly: its pool looks at each of its
    connections for each request, so the work per request grows with the concurrency
    (bench_proxy.py: 370 req/s through the proxy at 32 clients, fewer than at 1). A client
    per request in flight keeps every pool at one connection, kept alive for the next."""

    def __init__(self, *, timeout_s: float, keep: int = 256) -> None:
        self._timeout = httpx.Timeout(timeout_s, connect=10.0)
        self._keep = keep
        self._idle: list[httpx.AsyncClient] = []
        self._lent: set[httpx.AsyncClient] = set()

    def acquire(self) -> httpx.AsyncClient:
        if self._idle:
            client = self._idle.pop()
        else:
            _remember_no_sniffio()
            # Made inside the server's event loop; trust_env=False: HTTP(S)_PROXY is not for
            # this hop.
            client = httpx.AsyncClient(
                trust_env=False,
                timeout=self._timeout,
                limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
            )
        self._lent.add(client)
        return client

    async def release(self, client: httpx.AsyncClient) -> None:
        self._lent.discard(client)
        if len(self._idle) < self._keep and not client.is_closed:
            self._idle.append(client)
        else:
            await client.aclose()

    async def close(self) -> None:
        clients, self._idle = [*self._idle, *self._lent], []
        self._lent.clear()
        for client in clients:
            await client.aclose()


def _error(status: int, code: str, message: str) -> tuple[int, bytes]:
    return status, orjson.dumps(error_body(code, message))


@dataclass(frozen=True, slots=True)
class _Exchange:
    """What the journal keeps of one REST request, whatever becomes of it."""

    path: str
    api_key: str | None
    request: Any
    violations: list[dict[str, Any]]
    started: float


def _cassette_request(scope: Scope, raw: bytes, payload: Any) -> dict[str, Any]:
    return {
        "method": "POST",
        "path": scope["path"],
        "headers": kept_headers(scope["headers"]),
        **({"body": payload} if payload is not None else {"text": raw.decode("utf-8", "replace")}),
    }


def _cassette_response(
    upstream: httpx.Response, recorded: dict[str, Any], *, started: float
) -> dict[str, Any]:
    return {
        "status": upstream.status_code,
        "headers": kept_headers(upstream.headers.multi_items()),
        "durationMs": round((time.perf_counter() - started) * 1000, 3),
        **recorded,
    }


class Proxy:
    """Forwarding, judging, journaling and recording; one per proxy app."""

    def __init__(
        self,
        *,
        target: str,
        ws_target: str | None,
        spec: Spec | Catalog,
        journal: Journal,
        config: MockConfig,
        recorder: Recorder | None = None,
        strict: bool = False,
        timeout_s: float = 300.0,
    ) -> None:
        self.rest_url, self.ws_url = target_urls(target, ws_target)
        self.spec = spec
        # The task a WebSocket or a REST body authenticates with, as the document names it.
        self.auth_type = Catalog.of(spec).first.authentication_task_type
        self.journal = journal
        self.config = config
        self.recorder = recorder
        self.strict = strict
        self.timeout_s = timeout_s
        self.clients = _Clients(timeout_s=timeout_s)

    async def close(self) -> None:
        await self.clients.close()
        if self.recorder is not None:
            self.recorder.close()

    # -- REST ----------------------------------------------------------------------------

    async def rest(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        at = self.recorder.elapsed_ms() if self.recorder is not None else 0.0
        headers = dict(scope["headers"])
        raw = await _body(receive, self.config.max_body_bytes)
        if raw is None:  # the client left
            return
        if raw is _TOO_LARGE:
            await self._refuse_too_large(send)
            return
        payload, violations = judge_request(raw, spec=self.spec)
        exchange = _Exchange(
            path=scope["path"],
            api_key=request_key(headers, payload, auth_type=self.auth_type),
            request=(
                RawJSON(raw) if payload is not None else raw[:2048].decode("utf-8", "replace")
            ),
            violations=violations,
            started=started,
        )
        if self.strict and violations:
            await self._refuse_strict(send, exchange)
            return
        relayed = await self._relay(scope, raw, send, payload=payload, exchange=exchange)
        if relayed is None:  # the target was unreachable; the client had a 502
            return
        upstream, response, drift, recorded = relayed
        await self._journal(
            exchange,
            status=upstream.status_code,
            response=response,
            drift=drift,
            origin=f"upstream {self.rest_url}",
        )
        if self.recorder is not None:
            key = exchange.api_key
            self.recorder.add(
                {
                    "kind": "stream" if "events" in recorded else "rest",
                    "startedMs": at,
                    "request": _cassette_request(scope, raw, payload),
                    "response": _cassette_response(upstream, recorded, started=started),
                    **({"drift": drift} if drift else {}),
                },
                secrets=[key] if key else [],
            )

    async def _journal(
        self,
        exchange: _Exchange,
        *,
        status: int,
        response: Any,
        origin: str,
        drift: list[dict[str, Any]] | None = None,
    ) -> None:
        await self.journal.record(
            method="POST",
            path=exchange.path,
            api_key=exchange.api_key,
            request=exchange.request,
            violations=exchange.violations,
            status=status,
            response=response,
            started=exchange.started,
            drift=drift,
            origin=origin,
        )

    async def _refuse_too_large(self, send: Send) -> None:
        status, body = _error(
            413,
            "payloadTooLarge",
            f"The body is over the proxy's "
            f"limit of {self.config.max_body_bytes} bytes (the mock's "
            "max_body_bytes); raise it in the config (--config).",
        )
        await _answer(send, status, body)

    async def _refuse_strict(self, send: Send, exchange: _Exchange) -> None:
        """``--strict``: answer an invalid request with the mock's 400, never forwarding it."""
        body = orjson.dumps({"errors": exchange.violations})
        await _answer(send, 400, body)
        await self._journal(exchange, status=400, response=RawJSON(body), origin=_STRICT)

    async def _relay(
        self, scope: Scope, raw: bytes, send: Send, *, payload: Any, exchange: _Exchange
    ) -> tuple[httpx.Response, Any, list[dict[str, Any]], dict[str, Any]] | None:
        """Forward the request and pass the reply on: (the target's reply, the journal's
        response, the drift, the cassette's body fields), or None if it was unreachable."""
        query = scope.get("query_string", b"")
        url = self.rest_url + (f"?{query.decode('latin-1')}" if query else "")
        forwarded = [(k, v) for k, v in scope["headers"] if k not in _HOP]
        client = self.clients.acquire()
        try:
            upstream = await client.send(
                client.build_request("POST", url, headers=forwarded, content=raw), stream=True
            )
        except httpx.HTTPError as exc:
            await self.clients.release(client)
            await self._unreachable(send, exc, exchange)
            return None
        try:
            response, drift, recorded = await self._pass_reply(
                upstream, send, payload=payload, started=exchange.started
            )
        finally:
            await upstream.aclose()
            await self.clients.release(client)
        return upstream, response, drift, recorded

    async def _unreachable(self, send: Send, exc: httpx.HTTPError, exchange: _Exchange) -> None:
        """Answer and journal a target the proxy could not reach with a 502."""
        status, body = _error(
            502,
            "upstreamUnavailable",
            f"The proxy could not reach {self.rest_url}: "
            f"{type(exc).__name__}: {exc or 'no detail'}. Is the target "
            "running, and is --target its REST endpoint?",
        )
        await _answer(send, status, body)
        await self._journal(
            exchange,
            status=status,
            response=RawJSON(body),
            origin=f"upstream unreachable: {type(exc).__name__}",
        )

    async def _pass_reply(
        self, upstream: httpx.Response, send: Send, *, payload: Any, started: float
    ) -> tuple[Any, list[dict[str, Any]], dict[str, Any]]:
        """Send the target's reply on (a stream as it arrives) and judge it: (the journal's
        response, the drift, the cassette's body fields)."""
        out_headers = [
            (k.encode("latin-1"), v.encode("latin-1"))
            for k, v in upstream.headers.multi_items()
            if k not in _HOP_OUT
        ]
        media = upstream.headers.get("content-type", "").split(";")[0].strip().lower()
        if media == "text/event-stream":
            response, drift, events = await self._stream(
                upstream, out_headers, send, payload, started
            )
            return response, drift, {"events": events}
        data = await upstream.aread()
        await _answer(send, upstream.status_code, data, out_headers)
        return self._judge_body(data, payload)

    def _judge_body(
        self, data: bytes, payload: Any
    ) -> tuple[Any, list[dict[str, Any]], dict[str, Any]]:
        """(the journal's response, the drift, the cassette's body fields) of a JSON reply."""
        try:
            body = parse_json(data)
        except JSONProblem:
            text = data.decode("utf-8", "replace")
            drift = judge_reply(data, request=payload, spec=self.spec)
            return text[:2048], drift, {"text": text}
        return RawJSON(data), judge_reply(body, request=payload, spec=self.spec), {"body": body}

    async def _stream(
        self,
        upstream: httpx.Response,
        headers: list[tuple[bytes, bytes]],
        send: Send,
        payload: Any,
        started: float,
    ) -> tuple[Any, list[dict[str, Any]], list[dict[str, Any]]]:
        """Pass an event stream on chunk by chunk as it arrives, judging each event."""
        await send(
            {"type": "http.response.start", "status": upstream.status_code, "headers": headers}
        )
        parser = SSEParser()
        events: list[dict[str, Any]] = []
        drift: list[dict[str, Any]] = []
        done = False
        client_gone = False

        def judge(event: tuple[str | None, str]) -> None:
            nonlocal done
            data, text = event
            at = round((time.perf_counter() - started) * 1000, 3)
            where = f"event {len(events) + 1}"
            if data is None:  # a comment (": ping") or a field the SDKs skip
                events.append({"atMs": at, "raw": text})
                return
            if data == "[DONE]":
                done = True
                events.append({"atMs": at, "data": data})
                return
            try:
                chunk = parse_json(data)
            except JSONProblem:
                drift.extend(judge_reply(data, request=payload, spec=self.spec, where=where))
                events.append({"atMs": at, "raw": text})
                return
            drift.extend(judge_reply(chunk, request=payload, spec=self.spec, where=where))
            events.append(
                {"atMs": at, "data": chunk}
                if text.startswith("data:") and text.count("\n") == 0
                else {"atMs": at, "data": chunk, "raw": text}
            )

        async for chunk in upstream.aiter_bytes():
            if not client_gone:
                try:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                except OSError:  # the client left mid-stream: keep judging what is read
                    client_gone = True
            for event in parser.feed(chunk):
                judge(event)
        last = parser.close()
        if last is not None:
            judge(last)
        if not client_gone:
            with contextlib.suppress(OSError):
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        if upstream.status_code == 200 and not done:
            drift.append(
                {
                    "code": "invalidResponse",
                    "parameter": "",
                    "pointer": "",
                    "where": "stream",
                    "message": "The stream ended without 'data: [DONE]', which every "
                    "SDK waits for to end a stream.",
                }
            )
        shown = [e.get("data", e.get("raw")) for e in events]
        return {"events": shown}, drift, events

    # -- WebSocket -----------------------------------------------------------------------

    async def websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        from ._proxy_ws import relay

        await relay(self, scope, receive, send)


_TOO_LARGE = b"\x00(over the limit)"  # a sentinel: compared by identity


async def _body(receive: Receive, limit: int) -> bytes | None:
    """The request's body; None if the client left; ``_TOO_LARGE`` past ``limit`` (read
    no further)."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return _TOO_LARGE
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _answer(
    send: Send, status: int, body: bytes, headers: Iterable[tuple[bytes, bytes]] | None = None
) -> None:
    raw = list(headers) if headers is not None else [(b"content-type", b"application/json")]
    raw.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class ProxyFirst:
    """Middleware that hands ``POST /v1`` and WebSockets on ``/v1`` to the proxy before the
    mock's own routes (everything under ``/__mock`` stays the mock's); at shutdown it
    closes the proxy's upstream client and its cassette."""

    def __init__(self, app: ASGIApp, *, proxy: Proxy) -> None:
        self.app = app
        self.proxy = proxy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http" and scope["method"] == "POST" and scope["path"] in REST_PATHS:
            await self.proxy.rest(scope, receive, send)
        elif kind == "websocket" and scope["path"] in REST_PATHS:
            await self.proxy.websocket(scope, receive, send)
        elif kind == "lifespan":

            async def closing_send(message: Message) -> None:
                if message["type"] == "lifespan.shutdown.complete":
                    await self.proxy.close()
                await send(message)

            await self.app(scope, receive, closing_send)
        else:
            await self.app(scope, receive, send)


def create_proxy_app(
    *,
    target: str,
    ws_target: str | None = None,
    spec: Spec | Catalog | None = None,
    config: MockConfig | None = None,
    record: str | os.PathLike[str] | None = None,
    append: bool = False,
    strict: bool = False,
) -> Starlette:
    """A proxy to ``target`` that checks every exchange and journals it.

    Args:
        target: the server's REST endpoint (``https://api.runware.ai/v1``, or another
            mock's ``http://127.0.0.1:8081/v1``).
        ws_target: its WebSocket endpoint; by default ``target`` with ``ws(s)://``
            (Runware's own is on another host: ``wss://ws-api.runware.ai/v1``).
        spec: the document requests are judged by; the bundled one by default.
        config: the mock's config, for its limits, journal size and admin settings.
        record: a cassette file to record every exchange in (written as they complete,
            and at shutdown); its API keys removed.
        append: keep what ``record`` already holds, and add to it (else it is replaced).
        strict: refuse a request that breaks the document with a 400, without forwarding.

    Returns:
        A Starlette app; ``app.state.proxy`` is the :class:`Proxy`, ``app.state.mock`` the
        mock whose journal, ``/__mock/requests`` and inspector it uses.

    Raises:
        ConfigError: ``target`` or ``ws_target`` is not a usable URL; ``append`` and the
            cassette cannot be read.

    Example:
        >>> app = create_proxy_app(target="http://127.0.0.1:8081/v1")
        >>> app.state.proxy.ws_url
        'ws://127.0.0.1:8081/v1'
    """
    spec = spec if spec is not None else openapi.load()
    rest_url, _ = target_urls(target, ws_target)
    recorder = None
    if record is not None:
        path = Path(record)
        kept = load_cassette(path) if append and path.exists() else None
        recorder = Recorder(path, spec=spec, target=rest_url, keep=kept)
    app = create_app(spec=spec, config=config or MockConfig())
    mock = app.state.mock
    proxy = Proxy(
        target=target,
        ws_target=ws_target,
        spec=spec,
        journal=mock.journal,
        config=mock.config,
        recorder=recorder,
        strict=strict,
    )
    app.add_middleware(ProxyFirst, proxy=proxy)
    app.state.proxy = proxy
    return app
