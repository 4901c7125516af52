"""The REST request path: which requests skip routing, and what every one still gets."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import httpx
import pytest

import openapi
from mockserver import MockConfig, create_app
from mockserver._rest_endpoint import RestFirst, hoisted
from mockserver._store import StoreUnavailable
from tests._support import asgi_client
from tests.mockserver.conftest import AUTH, text_task

pytestmark = pytest.mark.anyio

REST_PATHS = frozenset({"/v1", "/", "/v1/"})


@pytest.mark.parametrize(
    ("scope", "taken_by"),
    [
        pytest.param({"type": "http", "method": "POST", "path": "/v1"}, "endpoint", id="POST-/v1"),
        pytest.param({"type": "http", "method": "POST", "path": "/"}, "endpoint", id="POST-/"),
        pytest.param(
            {"type": "http", "method": "POST", "path": "/v1/"}, "endpoint", id="POST-/v1/"
        ),
        pytest.param(
            {"type": "http", "method": "POST", "path": "/v1", "root_path": "/v1"},
            "router",
            id="under-a-root-path",
        ),
        pytest.param({"type": "http", "method": "GET", "path": "/v1"}, "router", id="GET-/v1"),
        pytest.param({"type": "http", "method": "POST", "path": "/v2"}, "router", id="POST-/v2"),
        pytest.param({"type": "websocket", "path": "/v1"}, "router", id="websocket-/v1"),
        pytest.param({"type": "lifespan"}, "router", id="lifespan"),
    ],
)
async def test_only_rest_posts_skip_the_router(scope: dict[str, Any], taken_by: str) -> None:
    taken: list[str] = []

    async def router(scope: Any, receive: Any, send: Any) -> None:
        taken.append("router")

    async def endpoint(scope: Any, receive: Any, send: Any) -> None:
        taken.append("endpoint")

    # A stand-in for the RestEndpoint: RestFirst only calls it.
    await RestFirst(router, endpoint=endpoint, paths=REST_PATHS)(scope, None, None)  # type: ignore[arg-type]
    assert taken == [taken_by]


async def _post(app: Any, body: Any, *, raise_app_exceptions: bool = True) -> httpx.Response:
    async with asgi_client(app, raise_app_exceptions=raise_app_exceptions) as http:
        return await http.post("/v1", json=body, headers=AUTH)


async def test_a_store_outage_on_the_fast_path_is_a_retryable_503() -> None:
    app = create_app(config=MockConfig(processing_ms=0, retry_after_s=1))

    async def unreachable(*args: Any, **kwargs: Any) -> bool:
        raise StoreUnavailable("the shared store at redis://127.0.0.1:1/0 is unreachable")

    app.state.mock.store.claim = unreachable
    reply = await _post(app, [text_task(deliveryMethod="async")])
    assert reply.status_code == 503
    assert reply.headers["retry-after"] == "1"
    (error,) = reply.json()["errors"]
    assert error["code"] == "serviceUnavailable"
    assert "unreachable" in error["message"]


async def test_a_crash_on_the_fast_path_is_a_runware_style_500() -> None:
    app = create_app()

    async def crash(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug in the mock")

    app.state.mock.run = crash
    reply = await _post(app, [text_task()], raise_app_exceptions=False)
    assert reply.status_code == 500
    (error,) = reply.json()["errors"]
    assert error["code"] == "internalServerError"
    assert "RuntimeError" in error["message"]
    assert "Traceback" not in reply.text
    assert "a bug in the mock" not in reply.text


@pytest.mark.parametrize("crashes", [False, True], ids=["valid-request", "crash"])
async def test_serve_answers_the_same_with_the_endpoint_hoisted(crashes: bool) -> None:
    # serve runs hoisted(app): RestFirst in front of Starlette itself. A client must not
    # tell the two apart, a crash's 500 included.
    replies = []
    for hoist in (False, True):
        app = create_app()
        if crashes:

            async def crash(*args: Any, **kwargs: Any) -> Any:
                raise RuntimeError("a bug in the mock")

            app.state.mock.run = crash
        target = hoisted(app) if hoist else app
        assert (target is not app) is hoist
        async with asgi_client(target, raise_app_exceptions=False, headers=AUTH) as http:
            reply = await http.post("/v1", json=[text_task(seed=7)])  # one seed: one reply
        replies.append((reply.status_code, reply.json()))
    assert replies[0] == replies[1]
    assert replies[0][0] == (500 if crashes else 200)


def test_a_middleware_added_later_keeps_the_app_as_it_is() -> None:
    app = create_app()

    class Outer:
        def __init__(self, app: Any) -> None:
            self.app = app

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            await self.app(scope, receive, send)

    app.add_middleware(Outer)  # e.g. --replay's layer: it must see every request first
    assert hoisted(app) is app


def _with_default_delivery(method: str) -> openapi.Spec:
    raw = resources.files("openapi").joinpath("data", openapi.BUNDLED_DOCUMENT).read_bytes()
    document = json.loads(raw)
    changed = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "deliveryMethod" in node.get("properties", {}):
                node["properties"]["deliveryMethod"]["default"] = method
                changed.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
    assert changed
    return openapi.load(document)


@pytest.mark.parametrize("method", ["async", "stream"])
async def test_a_task_without_delivery_method_gets_the_documents_default(method: str) -> None:
    spec = _with_default_delivery(method)
    assert spec.defaults["deliveryMethod"] == method
    task = text_task()
    reply = await _post(create_app(spec=spec, config=MockConfig(processing_ms=0)), [task])
    assert reply.status_code == 200
    if method == "async":
        assert reply.json() == {
            "data": [{"taskType": "textInference", "taskUUID": task["taskUUID"]}]
        }
    else:
        assert reply.headers["content-type"].startswith("text/event-stream")
        assert reply.text.rstrip().endswith("data: [DONE]")


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        pytest.param(b"{not json", "{not json", id="syntax"),
        pytest.param(b"[" + b"x" * 5000, "[" + "x" * 2047, id="long-garbage-capped-at-2048"),
        pytest.param(b'["\xff"]', '["\ufffd"]', id="invalid-utf8-replaced"),
    ],
)
async def test_the_journal_keeps_an_unparseable_body_as_text(raw: bytes, shown: str) -> None:
    app = create_app()
    async with asgi_client(app) as http:
        refused = await http.post(
            "/v1", content=raw, headers={**AUTH, "Content-Type": "application/json"}
        )
        (entry,) = (await http.get("/__mock/requests")).json()["requests"]
    assert refused.status_code == 400
    assert entry["request"] == shown
    assert entry["status"] == 400


@pytest.mark.parametrize(
    ("forwarded_allow_ips", "scheme"),
    [
        pytest.param(None, "http", id="none-the-server-would-apply-them"),
        pytest.param("*", "https", id="trusted-applied-behind-the-endpoint"),
        pytest.param("10.0.0.1", "http", id="untrusted-client-ignored"),
    ],
)
async def test_forwarded_headers_apply_to_the_app_behind_the_endpoint(
    forwarded_allow_ips: str | None, scheme: str
) -> None:
    # serve runs uvicorn with proxy_headers=False and applies them in hoisted() instead: the
    # documents' servers URLs still follow X-Forwarded-Proto from a trusted proxy.
    target = hoisted(create_app(), forwarded_allow_ips=forwarded_allow_ips)
    async with asgi_client(target, headers=AUTH) as http:
        document = await http.get("/openapi.json", headers={"X-Forwarded-Proto": "https"})
        reply = await http.post("/v1", json=[text_task(seed=7)])
    assert document.json()["servers"][0]["url"].startswith(f"{scheme}://")
    assert reply.status_code == 200
