"""``create_app()``: the mock as a Starlette application (an app factory, no subclassing)."""

from __future__ import annotations

import contextlib
import hmac
import time
from collections.abc import AsyncIterator
from typing import Any, cast
from urllib.parse import parse_qs

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute

import openapi
from contracts import JSONProblem, parse_json
from contracts._engine import engine_for
from openapi import Spec

from ._config import MockConfig
from ._delivery import StreamDropped
from ._errors import error_body
from ._faults import FaultError, fault_from_mapping
from ._inspector import inspector_routes
from ._journal import mask_key
from ._openapi import served_document
from ._server import MockServer, Outcome
from ._store import Store, StoreUnavailable
from ._websocket import websocket_endpoint

__all__ = ["create_app"]

_JSON_TYPES = ("application/json", "")


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, key = header.partition(" ")
    return key.strip() or None if scheme.lower() == "bearer" else None


async def _read_body(request: Request, limit: int) -> bytes | None:
    """The body, or None when it is over ``limit`` (read no further than that)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit():
        if int(declared) > limit:
            return None
        return await request.body()  # the server holds it to the declared length
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


class _Droppable:
    """An ASGI response that may end without completing (the ``disconnect`` fault): the
    server then closes the connection, as a crashed upstream would."""

    def __init__(self, response: Response) -> None:
        self.response = response

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await self.response(scope, receive, send)
        except StreamDropped:
            return


def _respond(outcome: Outcome) -> Response:
    if outcome.events is not None:
        # The SDKs end on "data: [DONE]"; no-store keeps proxies from buffering the stream.
        stream = StreamingResponse(outcome.events, media_type="text/event-stream",
                                   headers={"Cache-Control": "no-store",
                                            **dict(outcome.headers or {})})
        # Starlette only needs an ASGI callable back from an endpoint.
        return cast(Response, _Droppable(stream))
    # orjson: encoding the reply is the largest fixed cost per request after the framework.
    return Response(orjson.dumps(outcome.body), status_code=outcome.status,
                    headers=outcome.headers, media_type="application/json")


def create_app(*, spec: Spec | None = None, config: MockConfig | None = None,
               store: Store | None = None) -> Starlette:
    """A mock Runware text-inference endpoint.

    Args:
        spec: the document to emulate (``openapi.load(...)``); the bundled one by default.
        config: limits, keys, pricing, timing, store and scripted replies; the defaults work.
        store: a ready store object (overrides ``config.store``), e.g. one shared by tests.

    Returns:
        A Starlette app; ``app.state.mock`` is its :class:`~mockserver.MockServer`
        (journal, ``reply()``, ``reset()``).
    """
    mock = MockServer(spec=spec or openapi.load(), config=config or MockConfig(), store=store)
    engine_for(mock.spec)  # compile the validators now, not on the first request

    async def run(request: Request) -> Response:
        started = time.perf_counter()
        outcome, payload, key = await _handle(request)
        await mock.journal.record(
            method="POST", path=request.scope["path"], api_key=key, request=payload,
            violations=list(outcome.violations), status=outcome.status,
            response=outcome.body if outcome.events is None else "(event stream)",
            started=started, fault=outcome.fault)
        return _respond(outcome)

    async def _handle(request: Request) -> tuple[Outcome, Any, str | None]:
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media not in _JSON_TYPES and not media.endswith("+json"):
            return Outcome(400, error_body(
                "invalidContentType", f"Content-Type is {media!r}; send the body as "
                "application/json.")), None, None
        raw = await _read_body(request, mock.config.max_body_bytes)
        if raw is None:
            return Outcome(413, error_body(
                "payloadTooLarge", f"The body is over the limit of {mock.config.max_body_bytes}"
                " bytes; send fewer or smaller tasks (or raise max_body_bytes in the mock's "
                "config).")), None, None
        try:
            payload = parse_json(raw, unique_keys=True)
        except JSONProblem as problem:
            text = raw[:2048].decode("utf-8", "replace")
            return Outcome(400, error_body("invalidRequestBody", problem.reason)), text, None
        if isinstance(payload, list) and len(payload) > mock.config.max_tasks:
            return Outcome(413, error_body(
                "payloadTooLarge", f"{len(payload)} tasks in one request, over the limit of "
                f"{mock.config.max_tasks}; send them in several requests (or raise max_tasks "
                "in the mock's config).")), None, None
        key, refused = mock.authenticate(_bearer(request), payload)
        if refused is not None:
            return refused, payload, key
        header = request.headers.get("x-runware-mock-error")
        injected, fault = await mock.injected(payload, key, header)
        if injected is not None:
            return injected, payload, key
        return await mock.run(payload, stream_fault=fault), payload, key

    async def document(request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        return JSONResponse(served_document(mock.spec, base_url=base))

    async def requests(request: Request) -> Response:
        if request.method == "DELETE":
            await mock.journal.clear()
            return JSONResponse({"cleared": True})
        return JSONResponse({"requests": await mock.journal.entries()})

    async def faults(request: Request) -> Response:
        if request.method == "DELETE":
            mock.faults.clear()
            return JSONResponse({"cleared": True})
        if request.method == "POST":
            try:
                body = parse_json(await request.body())
                queued = [fault_from_mapping(item, label="queued")
                          for item in (body if isinstance(body, list) else [body])]
            except (JSONProblem, FaultError) as exc:
                return JSONResponse(error_body("invalidParameter", str(exc)), status_code=400)
            for fault in queued:
                mock.faults.add(fault)
            return JSONResponse({"queued": [f.to_dict() for f in queued]})
        return JSONResponse({"queued": [f.to_dict() for f in mock.faults.queue],
                             "rules": [f.to_dict() for f in mock.faults.rules],
                             "keyProfiles": sorted(mask_key(k) or "" for k in
                                                   mock.faults.profiles)})

    async def health(request: Request) -> Response:
        store_ok = await mock.store.ping()
        return JSONResponse({"status": "ok" if store_ok else "degraded",
                             "model": mock.spec.model_id, "document": mock.spec.title,
                             "source": mock.spec.source, "store": type(mock.store).__name__,
                             "storeReachable": store_ok,
                             "uptimeSeconds": round(time.time() - mock.started, 3)},
                            status_code=200 if store_ok else 503)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        code = {404: "notFound", 405: "methodNotAllowed"}.get(exc.status_code, "invalidRequest")
        hint = ("POST a JSON array of tasks to /v1" if exc.status_code in (404, 405)
                else str(exc.detail))
        return JSONResponse(error_body(code, f"{request.method} {request.url.path}: {hint}."),
                            status_code=exc.status_code)

    async def store_down(request: Request, exc: Exception) -> Response:
        return JSONResponse(error_body("serviceUnavailable", f"{exc}."), status_code=503,
                            headers={"Retry-After": "1"})

    async def crash(request: Request, exc: Exception) -> Response:
        # Never a traceback to the client: the mock's own bug is still a Runware-style 500.
        return JSONResponse(error_body("internalServerError",
                                       f"The mock failed: {type(exc).__name__}. This is a bug "
                                       "in runware-contract-kit; please report it."),
                            status_code=500)

    async def ws(websocket: Any) -> None:
        await websocket_endpoint(websocket, mock)

    # /v1 first: routes are tried in order, and it is the one every request uses.
    routes = [Route(path, run, methods=["POST"]) for path in ("/v1", "/", "/v1/")] + [
        WebSocketRoute(path, ws) for path in ("/v1", "/", "/v1/")] + [
        Route("/openapi.json", document, methods=["GET"]),
        Route("/__mock/requests", requests, methods=["GET", "DELETE"]),
        Route("/__mock/health", health, methods=["GET"]),
        Route("/__mock/faults", faults, methods=["GET", "POST", "DELETE"]),
    ] + inspector_routes(mock)
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await mock.close()

    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={HTTPException: http_error,
                                        StoreUnavailable: store_down, Exception: crash})
    app.state.mock = mock
    if mock.config.admin_token is not None or not mock.config.admin_open:
        app.add_middleware(_AdminGuard, token=mock.config.admin_token)
    return app


class _AdminGuard:
    """/__mock/* only with the admin token (or not at all): the journal holds request
    bodies, and faults change what every client gets. Health stays open for probes."""

    def __init__(self, app: Any, *, token: str | None) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] in ("http", "websocket") and path.startswith("/__mock") and \
                path != "/__mock/health" and not self._allowed(scope):
            hint = ("send the admin token as header X-Runware-Mock-Token or ?token=" if
                    self.token else "start the mock with --admin-token TOKEN to enable them")
            reply = JSONResponse(error_body("insufficientPermissions",
                                            f"The mock's admin endpoints are locked: {hint}."),
                                 status_code=403)
            if scope["type"] == "http":
                await reply(scope, receive, send)
            else:
                await send({"type": "websocket.close", "code": 1008})
            return
        await self.app(scope, receive, send)

    def _allowed(self, scope: Any) -> bool:
        if self.token is None:
            return False
        headers = dict(scope.get("headers") or [])
        given = headers.get(b"x-runware-mock-token", b"").decode("latin-1")
        if not given:
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            given = (query.get("token") or [""])[0]
        # compare_digest takes only ASCII str: compare the bytes.
        return hmac.compare_digest(given.encode(), self.token.encode())
