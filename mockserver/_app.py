"""``create_app()``: the mock as a Starlette application (an app factory, no subclassing)."""

from __future__ import annotations

import contextlib
import hmac
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute

import openapi
from contracts import JSONProblem, parse_json
from contracts._engine import engine_for
from openapi import Spec

from . import _exactjson as exactjson
from ._config import MockConfig
from ._errors import error_body
from ._faults import FaultError, fault_from_mapping
from ._inspector import inspector_routes
from ._journal import mask_key
from ._openapi import served_document
from ._rest import RestEndpoint, RestFirst
from ._server import MockServer
from ._store import Store, StoreUnavailable
from ._websocket import websocket_endpoint

__all__ = ["create_app"]



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

    async def document(request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        return JSONResponse(served_document(mock.spec, base_url=base))

    async def requests(request: Request) -> Response:
        if request.method == "DELETE":
            await mock.journal.clear()
            return JSONResponse({"cleared": True})
        return Response(exactjson.dumps({"requests": await mock.journal.entries()}),
                        media_type="application/json")

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

    # /v1 first: routes are tried in order, and it is the one every request uses (RestFirst
    # below even takes its POSTs before routing; the routes stay for 405s and root_path).
    rest = RestEndpoint(mock)
    rest_paths = ("/v1", "/", "/v1/")
    routes = [Route(path, rest, methods=["POST"]) for path in rest_paths] + [
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

    middleware = [Middleware(RestFirst, endpoint=rest, paths=frozenset(rest_paths))]
    if mock.config.admin_token is not None or not mock.config.admin_open:
        middleware.append(Middleware(_AdminGuard, token=mock.config.admin_token))
    app = Starlette(routes=routes, lifespan=lifespan, middleware=middleware,
                    exception_handlers={HTTPException: http_error,
                                        StoreUnavailable: store_down, Exception: crash})
    app.state.mock = mock
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
