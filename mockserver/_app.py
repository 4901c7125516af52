"""``create_app()``: the mock as a Starlette application (an app factory, no subclassing).

The factory wires named pieces together: the routes (``POST /v1`` and its WebSocket, the
served documents, the ``/__mock/*`` endpoints, the inspector), the middleware
(``RestFirst``, then the admin guard), the exception handlers and the lifespan.
"""

from __future__ import annotations

import contextlib
import hmac
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import (
    ASGIApp,
    ExceptionHandler,
    Receive,
    Scope,
    Send,
    StatelessLifespan,
)
from starlette.websockets import WebSocket

import openapi
from contracts import JSONProblem, parse_json, precompile
from openapi import Catalog, Spec

from . import _exactjson as exactjson
from ._config import MockConfig
from ._error_bodies import crash_body, error_body
from ._faults import FaultError, fault_from_mapping
from ._inspector import inspector_routes
from ._journal import mask_key, parse_cursor
from ._mock import MockServer
from ._openapi import combined_document, model_index, served_document
from ._rest_endpoint import RestEndpoint, RestFirst
from ._store import Store, StoreUnavailable
from ._websocket import websocket_endpoint

__all__ = ["create_app"]

# Where the Runware API is served: POSTs and the WebSocket alike.
_API_PATHS = ("/v1", "/", "/v1/")


def create_app(
    *,
    spec: Spec | Catalog | None = None,
    config: MockConfig | None = None,
    store: Store | None = None,
) -> Starlette:
    """A mock Runware text-inference endpoint.

    Args:
        spec: the document to emulate (``openapi.load(...)``), or a catalogue of them, one
            per model (``openapi.load_catalog(...)``): each task is then judged and answered
            by its model's. By default the config's ``specs``, else the bundled document.
        config: limits, keys, pricing, timing, store and scripted replies; the defaults work.
        store: a ready store object (overrides ``config.store``), e.g. one shared by tests.

    Returns:
        A Starlette app; ``app.state.mock`` is its :class:`~mockserver.MockServer`
        (journal, ``reply()``, ``reset()``).
    """
    config = config or MockConfig()
    if spec is None:  # the config's documents (specs = [...]), else the bundled one
        spec = openapi.load_catalog(*config.specs)
    mock = MockServer(spec=spec, config=config, store=store)
    precompile(mock.catalog)  # compile the validators now, not on the first request
    rest = RestEndpoint(mock)
    app = Starlette(
        routes=_routes(mock, rest),
        lifespan=_lifespan(mock),
        middleware=_middleware(mock, rest),
        exception_handlers=_exception_handlers(mock),
    )
    app.state.mock = mock
    return app


def _routes(mock: MockServer, rest: RestEndpoint) -> list[BaseRoute]:
    """Every route, ``/v1`` first: routes are tried in order, and it is the one every
    request uses (``RestFirst`` even takes its POSTs before routing; the routes stay for
    405s and ``root_path``)."""

    async def ws(websocket: WebSocket) -> None:
        await websocket_endpoint(websocket, mock)

    return [
        *(Route(path, rest, methods=["POST"]) for path in _API_PATHS),
        *(WebSocketRoute(path, ws) for path in _API_PATHS),
        *_document_routes(mock),
        _journal_route(mock),
        _health_route(mock),
        _faults_route(mock),
        *inspector_routes(mock),
    ]


def _document_routes(mock: MockServer) -> list[BaseRoute]:
    """The documents the mock serves: all of them combined, the index, one per model."""

    async def document(request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        return JSONResponse(combined_document(mock.catalog, base_url=base))

    async def model_document(request: Request) -> Response:
        found = mock.catalog.for_model(request.path_params["model"])
        if found is None:
            known = ", ".join(mock.catalog.model_ids)
            return JSONResponse(
                error_body(
                    "notFound",
                    f"No loaded document describes model "
                    f"{request.path_params['model']!r}; loaded: {known} (GET /openapi/models).",
                ),
                status_code=404,
            )
        return JSONResponse(served_document(found, base_url=str(request.base_url).rstrip("/")))

    async def models(request: Request) -> Response:
        return JSONResponse(model_index(mock.catalog, base_url=str(request.base_url).rstrip("/")))

    return [
        Route("/openapi.json", document, methods=["GET"]),
        Route("/openapi/models", models, methods=["GET"]),
        Route("/openapi/{model:path}.json", model_document, methods=["GET"]),
    ]


def _journal_route(mock: MockServer) -> Route:
    """``/__mock/requests``: the journal (``?since=CURSOR`` for what came after), or
    ``DELETE`` to clear it."""

    async def requests(request: Request) -> Response:
        if request.method == "DELETE":
            await mock.journal.clear()
            return JSONResponse({"cleared": True})
        since = request.query_params.get("since")
        if since is None:
            return Response(
                exactjson.dumps({"requests": await mock.journal.entries()}),
                media_type="application/json",
            )
        # ?since=CURSOR: what was recorded after it (the inspector polls so), see JournalPage.
        try:
            parse_cursor(since)
        except ValueError as exc:
            return JSONResponse(
                error_body("invalidParameter", str(exc), parameter="since"), status_code=400
            )
        page = await mock.journal.entries(since=since)
        return Response(exactjson.dumps(page.to_dict()), media_type="application/json")

    return Route("/__mock/requests", requests, methods=["GET", "DELETE"])


def _faults_route(mock: MockServer) -> Route:
    """``/__mock/faults``: what is queued and configured; ``POST`` queues, ``DELETE``
    clears."""

    async def faults(request: Request) -> Response:
        if request.method == "DELETE":
            await mock.faults.clear_all()
            return JSONResponse({"cleared": True})
        if request.method == "POST":
            try:
                body = parse_json(await request.body())
                given = body if isinstance(body, list) else [body]
                queued = [fault_from_mapping(item, label="queued") for item in given]
            except (JSONProblem, FaultError) as exc:
                return JSONResponse(error_body("invalidParameter", str(exc)), status_code=400)
            for fault, fields in zip(queued, given, strict=True):
                await mock.faults.enqueue(fault, fields)
            return JSONResponse({"queued": [f.to_dict() for f in queued]})
        return JSONResponse(
            {
                "queued": [f.to_dict() for f in await mock.faults.queued()],
                "rules": [f.to_dict() for f in mock.faults.rules],
                "keyProfiles": sorted(mask_key(k) or "" for k in mock.faults.profiles),
            }
        )

    return Route("/__mock/faults", faults, methods=["GET", "POST", "DELETE"])


def _health_route(mock: MockServer) -> Route:
    """``/__mock/health``: the documents, the store and whether it answers (503 if not)."""

    async def health(request: Request) -> Response:
        store_ok = await mock.store.ping()
        return JSONResponse(
            {
                "status": "ok" if store_ok else "degraded",
                "model": mock.spec.model_id,
                "document": mock.spec.title,
                "models": list(mock.catalog.model_ids),
                "source": mock.spec.source,
                "store": type(mock.store).__name__,
                "storeReachable": store_ok,
                "uptimeSeconds": round(time.time() - mock.started, 3),
            },
            status_code=200 if store_ok else 503,
        )

    return Route("/__mock/health", health, methods=["GET"])


def _middleware(mock: MockServer, rest: RestEndpoint) -> list[Middleware]:
    """``POST /v1`` before any routing, then the guard of ``/__mock/*``."""
    return [
        Middleware(RestFirst, endpoint=rest, paths=frozenset(_API_PATHS)),
        Middleware(
            _AdminGuard,
            token=mock.config.admin_token,
            locked=not mock.config.admin_open,
            hosts=mock.config.allowed_hosts,
        ),
    ]


def _lifespan(mock: MockServer) -> StatelessLifespan[Starlette]:
    """At shutdown: stop the webhook sender, close the store."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await mock.close()

    return lifespan


def _exception_handlers(mock: MockServer) -> Mapping[Any, ExceptionHandler]:
    """Runware-style error bodies for routing errors, store outages and the mock's crashes."""

    async def store_down(request: Request, exc: Exception) -> Response:
        return JSONResponse(
            error_body("serviceUnavailable", f"{exc}."),
            status_code=503,
            headers=mock.config.retry_after_headers(),
        )

    return {HTTPException: _http_error, StoreUnavailable: store_down, Exception: _crash}


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "notFound", 405: "methodNotAllowed"}.get(exc.status_code, "invalidRequest")
    hint = "POST a JSON array of tasks to /v1" if exc.status_code in (404, 405) else str(exc.detail)
    return JSONResponse(
        error_body(code, f"{request.method} {request.url.path}: {hint}."),
        status_code=exc.status_code,
    )


async def _crash(request: Request, exc: Exception) -> Response:
    # Never a traceback to the client: the mock's own bug is still a Runware-style 500.
    return JSONResponse(crash_body(exc), status_code=500)


# Loopback names a browser may put in Host. A DNS-rebinding page reaches the mock under a
# public name of its own (a name with a dot), resolving to 127.0.0.1: such a Host on
# /__mock/* is refused unless the config allows it. Names without a dot (Starlette's
# "testserver", "mock" in in-process tests) are no public domain's, so they pass.
_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


def _local_name(host: str) -> bool:
    return (
        host in _LOOPBACK_HOSTS
        or host.endswith(".localhost")
        or ("." not in host and ":" not in host and host != "")
    )


# The page and its script hold no data: they are served to anyone who may reach the mock,
# so the token can travel in the URL's fragment (#token=…), which no log ever sees.
_PUBLIC = frozenset({"/__mock/health", "/__mock/", "/__mock"})
_STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _host_name(value: str) -> str:
    """The host of a Host header or an Origin (no port, no scheme), lower-cased."""
    value = value.rpartition("://")[2].strip().lower()
    if value.startswith("["):
        return value[: value.find("]") + 1]
    return value.rpartition(":")[0] if value.count(":") == 1 else value


class _AdminGuard:
    """What stands between /__mock/* and everyone else. The journal holds request bodies,
    and faults change what every client gets, so:

    - **Host** must be a loopback name or one the config allows (``allowed_hosts``): a
      DNS-rebinding page calls the mock under its own name;
    - **Origin**, when a browser sends one, must be the mock itself: another page's fetch or
      form is refused;
    - a state-changing request must be JSON (``POST`` with ``application/json``), which a
      form cannot send and a cross-origin fetch must preflight — and preflights get 405;
    - the admin token, when one is set (header ``X-Runware-Mock-Token``, or ``?token=``),
      and nothing at all off loopback without one.

    Health, the inspector page and its static files stay open: they hold no data."""

    def __init__(
        self, app: ASGIApp, *, token: str | None, locked: bool, hosts: tuple[str, ...]
    ) -> None:
        self.app = app
        self.token = None if token is None else token.encode("utf-8")
        self.locked = locked
        self.any_host = "*" in hosts
        self.hosts = frozenset(h.lower() for h in hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] in ("http", "websocket") and path.startswith("/__mock"):
            refusal = self._refusal(scope, path)
            if refusal is not None:
                status, code, message = refusal
                if scope["type"] == "http":
                    await JSONResponse(error_body(code, message), status_code=status)(
                        scope, receive, send
                    )
                else:
                    await send({"type": "websocket.close", "code": 1008})
                return
        await self.app(scope, receive, send)

    def _refusal(self, scope: Scope, path: str) -> tuple[int, str, str] | None:
        headers = dict(scope.get("headers") or [])
        host = _host_name(headers.get(b"host", b"").decode("latin-1"))
        if not (self.any_host or _local_name(host) or host in self.hosts):
            return (
                403,
                "insufficientPermissions",
                f"Host {host!r} is not this mock's: /__mock/* answers only to loopback "
                "names (localhost, 127.0.0.1, [::1]) and the config's allowed_hosts; add "
                "the name to allowed_hosts if you reach the mock under it.",
            )
        origin = headers.get(b"origin")
        # Same origin: the Origin's host and port are the Host header's ("null" never is).
        if (
            origin is not None
            and origin.partition(b"://")[2].lower() != headers.get(b"host", b"").lower()
        ):
            return (
                403,
                "insufficientPermissions",
                f"Origin {origin.decode('latin-1')!r} is another site: /__mock/* takes "
                "requests only from the mock's own pages (or from clients that send no "
                "Origin).",
            )
        if path in _PUBLIC or path.startswith("/__mock/static/"):
            return None
        if self.locked:
            return (
                403,
                "insufficientPermissions",
                "The mock's admin endpoints are locked: start the mock with "
                "--admin-token TOKEN to enable them.",
            )
        if self.token is not None and not self._has_token(scope, headers):
            return (
                403,
                "insufficientPermissions",
                "The mock's admin endpoints are locked: send the admin token as header "
                "X-Runware-Mock-Token (the inspector: open /__mock/#token=TOKEN).",
            )
        if scope["type"] == "http" and scope.get("method") in _STATE_CHANGING:
            media = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
            if scope["method"] != "DELETE" and media != b"application/json":
                return (
                    415,
                    "invalidContentType",
                    f"{scope['method']} {path} takes a JSON body: send it with "
                    "Content-Type: application/json.",
                )
        return None

    def _has_token(self, scope: Scope, headers: dict[bytes, bytes]) -> bool:
        assert self.token is not None
        # Header bytes as sent: a token in UTF-8 matches as written.
        given = headers.get(b"x-runware-mock-token", b"")
        if not given:
            query = parse_qs(scope.get("query_string", b"").decode("utf-8", "replace"))
            given = (query.get("token") or [""])[0].encode("utf-8")
        return hmac.compare_digest(given, self.token)
