"""The inspector: ``GET /__mock/`` is a page that shows the journal live, in a browser.

Everything it needs is served from ``mockserver/static/`` by the mock itself (no build step,
no CDN), so it works offline. The page reads ``/__mock/requests?since=0`` once, then about
once a second only what came after the cursor it got (``Journal.entries(since=…)``), which
works with any store; and it drives the admin API (clear the journal, queue a fault).
``GET /__mock/config`` is what its config section shows: the active config, reply rules and
faults, with API keys masked and store passwords hidden.

The admin token: open ``/__mock/#token=T``. The page and its files need no token (they hold
no data); its script takes ``T`` from the fragment — which the browser never sends, so no
access log sees it — and sends it as the ``X-Runware-Mock-Token`` header on every data
request. ``?token=T`` still works, and the script drops it from the address bar.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from importlib import resources
from typing import TYPE_CHECKING, Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from ._config import ReplyRule
from ._journal import mask_key
from ._store import hide_password

if TYPE_CHECKING:
    from ._mock import MockServer

__all__ = ["config_view", "inspector_routes"]

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
}
# The page loads nothing from anywhere else, and no inline script could run if a value ever
# slipped into the markup: request bodies are attacker-controlled.
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
_PAGE = "inspector.html"
# admin_token, any *_password or *_secret; not tokens_per_second or prompt_price_per_token.
_SECRET_FIELD = re.compile(r"^(admin_token|.*_?(password|secret))$")


def _assets() -> dict[str, bytes]:
    """The files of ``mockserver/static/``, read once (they are a few kilobytes)."""
    folder = resources.files("mockserver").joinpath("static")
    return {
        item.name: item.read_bytes()
        for item in folder.iterdir()
        if item.is_file() and any(item.name.endswith(s) for s in _TYPES)
    }


def _media_type(name: str) -> str:
    return next(kind for suffix, kind in _TYPES.items() if name.endswith(suffix))


def _plain(value: Any) -> Any:
    """Mappings and tuples as JSON's objects and arrays."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _rule(rule: ReplyRule, origin: str) -> dict[str, Any]:
    fields = {
        f.name: getattr(rule, f.name)
        for f in dataclasses.fields(rule)
        if not f.name.startswith("_")
    }
    return {"origin": origin, **{k: _plain(v) for k, v in fields.items() if v is not None}}


async def config_view(mock: MockServer) -> dict[str, Any]:
    """What ``GET /__mock/config`` answers: nothing in it is a secret."""
    config = mock.config
    # Reply rules, fault rules and key profiles have sections of their own (with live state).
    shown = {
        f.name: _plain(getattr(config, f.name))
        for f in dataclasses.fields(config)
        if f.name not in ("replies", "faults", "api_key_profiles")
    }
    shown["api_keys"] = [mask_key(k) for k in config.api_keys]
    shown["store"] = hide_password(config.store)
    for name, value in shown.items():
        if _SECRET_FIELD.search(name) and value is not None:
            shown[name] = "***"
    return {
        "document": {
            "title": mock.spec.title,
            "modelId": mock.spec.model_id,
            "source": mock.spec.source,
            "defaultDeliveryMethod": mock.spec.defaults.get("deliveryMethod"),
        },
        # Every loaded model (the first is "document"): the page's model filter.
        "models": [
            {
                "modelId": model,
                "title": spec.title,
                "source": spec.source,
                "defaultDeliveryMethod": spec.defaults.get("deliveryMethod"),
            }
            for model in mock.catalog.model_ids
            if (spec := mock.catalog.for_model(model)) is not None
        ],
        "store": type(mock.store).__name__,
        "config": shown,
        "replies": [
            _rule(r, "config" if any(r is c for c in config.replies) else "runtime")
            for r in mock.rules
        ],
        "faults": {
            "queued": [f.to_dict() for f in await mock.faults.queued()],
            "rules": [f.to_dict() for f in mock.faults.rules],
            "keyProfiles": [
                {"apiKey": mask_key(key), **_plain(settings)}
                for key, settings in config.api_key_profiles.items()
            ],
        },
    }


def inspector_routes(mock: MockServer) -> list[Route]:
    """``GET /__mock/`` (the page), ``/__mock/static/{name}`` and ``GET /__mock/config``."""
    assets = _assets()
    page = assets.pop(_PAGE).decode()

    async def inspector(request: Request) -> Response:
        # The page and its files hold no data and need no token; its script reads the
        # token from the URL's fragment and sends it as a header on every data request.
        return Response(
            page, media_type=_TYPES[".html"], headers={**_HEADERS, "Content-Security-Policy": _CSP}
        )

    async def bare(request: Request) -> Response:
        # The page's links are relative to /__mock/: keep the query (the token).
        query = request.url.query
        return RedirectResponse("__mock/" + (f"?{query}" if query else ""), status_code=308)

    async def asset(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in assets:
            raise HTTPException(404)
        return Response(assets[name], media_type=_media_type(name), headers=_HEADERS)

    async def config(request: Request) -> Response:
        return JSONResponse(await config_view(mock), headers={"Cache-Control": "no-store"})

    return [
        Route("/__mock/", inspector, methods=["GET"]),
        Route("/__mock", bare, methods=["GET"]),
        Route("/__mock/static/{name}", asset, methods=["GET"]),
        Route("/__mock/config", config, methods=["GET"]),
    ]
