"""Async (getResponse), stream (SSE) and webhook delivery, through the HTTP API."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from contracts import check_response
from mockserver import MockConfig, create_app
from mockserver._webhook import allowed_target
from tests._support import asgi_client, free_port, sse_payloads
from tests.mockserver.conftest import (
    AUTH,
    FrozenClock,
    Receiver,
    RunningServer,
    text_task,
)

pytestmark = pytest.mark.anyio


def new_uuid() -> str:
    return str(uuid.uuid4())


def _client(**config: Any) -> httpx.AsyncClient:
    return asgi_client(create_app(config=MockConfig(**config)))


async def _poll(http: httpx.AsyncClient, task_uuid: str) -> httpx.Response:
    return await http.post(
        "/v1", json=[{"taskType": "getResponse", "taskUUID": task_uuid}], headers=AUTH
    )


# -- async -----------------------------------------------------------------------------------


async def test_async_is_acknowledged_then_polled_until_success(frozen_clock: FrozenClock) -> None:
    # The mock's clock stands still between polls: "processing" until processing_ms have
    # passed on it, then "success", however long the machine takes between two requests.
    task = text_task(taskUUID=new_uuid(), deliveryMethod="async", numberResults=2, includeCost=True)
    async with _client(processing_ms=300) as http:
        ack = await http.post("/v1", json=[task], headers=AUTH)
        assert ack.json() == {"data": [{"taskType": "textInference", "taskUUID": task["taskUUID"]}]}
        early = (await _poll(http, task["taskUUID"])).json()
        assert [i["status"] for i in early["data"]] == ["processing", "processing"]
        assert check_response(early) == []
        frozen_clock.advance(0.299)
        almost = (await _poll(http, task["taskUUID"])).json()
        assert [i["status"] for i in almost["data"]] == ["processing", "processing"]
        frozen_clock.advance(0.002)
        done = (await _poll(http, task["taskUUID"])).json()
        again = (await _poll(http, task["taskUUID"])).json()
    assert [i["status"] for i in done["data"]] == ["success", "success"]
    assert [i["resultIndex"] for i in done["data"]] == [0, 1]
    assert all("cost" in i and i["text"] for i in done["data"])
    assert again == done  # cumulative: the same terminal items on every poll
    assert check_response(done, request=[task]) == []


async def test_unknown_and_expired_task_uuids_get_a_clear_error(frozen_clock: FrozenClock) -> None:
    task = text_task(taskUUID=new_uuid(), deliveryMethod="async")
    async with _client(processing_ms=0, result_ttl_s=0.2) as http:
        unknown = await _poll(http, new_uuid())
        await http.post("/v1", json=[task], headers=AUTH)
        fresh = await _poll(http, task["taskUUID"])
        frozen_clock.advance(0.19)
        kept = await _poll(http, task["taskUUID"])
        frozen_clock.advance(0.02)  # past result_ttl_s on the mock's clock
        expired = await _poll(http, task["taskUUID"])
    assert fresh.status_code == kept.status_code == 200
    assert [i["status"] for i in kept.json()["data"]] == ["success"]
    for reply in (unknown, expired):
        assert reply.status_code == 400
        (error,) = reply.json()["errors"]
        assert error["code"] == "taskNotFound"
        assert error["parameter"] == "taskUUID"
        assert "expired" in error["message"]


async def test_reused_task_uuid_is_a_conflict() -> None:
    task = text_task(taskUUID=new_uuid(), deliveryMethod="async")
    async with _client() as http:
        first = await http.post("/v1", json=[task], headers=AUTH)
        second = await http.post("/v1", json=[task], headers=AUTH)
    assert first.status_code == 200
    assert second.status_code == 400
    (error,) = second.json()["errors"]
    assert (error["code"], error["taskUUID"]) == ("conflictTaskUUID", task["taskUUID"])


async def test_a_refused_request_gives_its_claims_back() -> None:
    good = text_task(taskUUID=new_uuid(), deliveryMethod="async")
    clash = text_task(taskUUID=new_uuid(), deliveryMethod="async")
    async with _client() as http:
        await http.post("/v1", json=[clash], headers=AUTH)
        refused = await http.post("/v1", json=[good, clash], headers=AUTH)
        retried = await http.post("/v1", json=[good], headers=AUTH)
    assert refused.status_code == 400
    assert retried.status_code == 200  # good's taskUUID was not kept by the refused request


# -- stream ----------------------------------------------------------------------------------


async def test_stream_framing() -> None:
    task = text_task(
        taskUUID=new_uuid(),
        deliveryMethod="stream",
        includeUsage=True,
        includeCost=True,
        seed=11,
        settings={"thinkingLevel": "high"},
    )
    async with _client() as http:
        reply = await http.post("/v1", json=[task], headers=AUTH)  # no Accept header
        sync = (
            await http.post(
                "/v1",
                json=[{**task, "deliveryMethod": "sync", "taskUUID": new_uuid()}],
                headers=AUTH,
            )
        ).json()
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/event-stream")
    assert reply.text.endswith("data: [DONE]\n\n")
    assert "\n\n\n" not in reply.text
    *chunks, done = sse_payloads(reply.text)
    assert done == "[DONE]"
    assert all(
        c["taskUUID"] == task["taskUUID"] and c["taskType"] == "textInference" for c in chunks
    )
    assert all(check_response(c, request=[task]) == [] for c in chunks)
    kinds = [next(iter(c["delta"]), "final") for c in chunks]
    assert kinds == sorted(kinds, key=["reasoningContent", "text", "final"].index)
    final = chunks[-1]
    assert final["delta"] == {}
    assert final["finishReason"] in ("stop", "length")
    assert {"usage", "cost"} <= final.keys()
    assert all("usage" not in c for c in chunks[:-1])
    (item,) = sync["data"]
    assert "".join(c["delta"].get("text", "") for c in chunks) == item["text"]
    assert (
        "".join(c["delta"].get("reasoningContent", "") for c in chunks) == item["reasoningContent"]
    )
    assert final["usage"] == item["usage"]


async def test_stream_without_usage_when_not_asked() -> None:
    async with _client() as http:
        reply = await http.post("/v1", json=[text_task(deliveryMethod="stream")], headers=AUTH)
    *chunks, _ = sse_payloads(reply.text)
    assert "usage" not in chunks[-1]
    assert "cost" not in chunks[-1]


async def test_a_stream_task_among_others_is_answered_like_sync() -> None:
    request = [
        text_task(deliveryMethod="stream", taskUUID=new_uuid()),
        text_task(taskUUID=new_uuid()),
    ]
    async with _client() as http:
        reply = await http.post("/v1", json=request, headers=AUTH)
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "application/json"
    assert check_response(reply.json(), request=request) == []
    assert len(reply.json()["data"]) == 2


def test_a_client_that_disconnects_ends_its_stream_quietly() -> None:
    app = create_app(config=MockConfig(tokens_per_second=200))
    with RunningServer(app) as server, httpx.Client(base_url=server.url, timeout=10) as http:
        task = text_task(deliveryMethod="stream")
        with http.stream("POST", "/v1", json=[task], headers=AUTH) as reply:
            lines = reply.iter_lines()
            first = next(line for line in lines if line.startswith("data:"))
        assert "delta" in first
        alive = http.post("/v1", json=[text_task()], headers=AUTH)
        assert alive.status_code == 200


# -- webhooks --------------------------------------------------------------------------------


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hooks = Receiver(statuses=[500, 503])
    with hooks.server:
        yield hooks


def _wait_for(predicate: Any, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def test_webhook_posts_each_result_with_retries(receiver: Receiver) -> None:
    app = create_app(config=MockConfig(processing_ms=0, webhook_backoff_ms=20))
    task = text_task(taskUUID=new_uuid(), numberResults=2, webhookURL=receiver.url)
    with RunningServer(app) as server, httpx.Client(base_url=server.url, timeout=10) as http:
        ack = http.post("/v1", json=[task], headers=AUTH).json()  # sync + webhook: an ack
        assert ack == {"data": [{"taskType": "textInference", "taskUUID": task["taskUUID"]}]}
        _wait_for(lambda: len(receiver.received) >= 4)
        # The receiver has a POST before the mock journals its answer: wait for both.

        def webhook_entries() -> list[Any]:
            return [
                e
                for e in http.get("/__mock/requests").json()["requests"]
                if e["method"] == "WEBHOOK"
            ]

        _wait_for(lambda: len(webhook_entries()) >= 4)
        journal = http.get("/__mock/requests").json()["requests"]
    # First result: 500, 503, then 200; second result: 200 at once.
    bodies = receiver.received
    assert [len(b["data"]) for b in bodies] == [1, 1, 1, 1]
    assert [b["data"][0]["resultIndex"] for b in bodies] == [0, 0, 0, 1]
    assert all(check_response(b, request=[task]) == [] for b in bodies)
    deliveries = [e for e in journal if e["method"] == "WEBHOOK"]
    assert [e["status"] for e in deliveries] == [500, 503, 200, 200]
    assert "retrying" in deliveries[0]["fault"]
    assert deliveries[2]["fault"] is None


def test_webhook_to_a_down_receiver_gives_up_and_records_it() -> None:
    dead = f"http://127.0.0.1:{free_port()}/hook"
    app = create_app(config=MockConfig(processing_ms=0, webhook_attempts=3, webhook_backoff_ms=10))
    with RunningServer(app) as server, httpx.Client(base_url=server.url, timeout=10) as http:
        http.post("/v1", json=[text_task(taskUUID=new_uuid(), webhookURL=dead)], headers=AUTH)

        def failures() -> list[Any]:
            return [
                e
                for e in http.get("/__mock/requests").json()["requests"]
                if e["method"] == "WEBHOOK"
            ]

        # The record of the last attempt says "giving up": after it nothing more is sent,
        # so the count below is final (no sleep needed to see whether a fourth comes).
        _wait_for(lambda: any("giving up" in (r["fault"] or "") for r in failures()))
        records = failures()
        assert http.get("/__mock/health").json()["status"] == "ok"
    assert len(records) == 3
    assert all("unreachable" in r["fault"] for r in records)
    assert "giving up" in records[-1]["fault"]


OUTSIDE = [
    pytest.param("http://10.0.0.1/hook", "outside", id="private-ipv4"),
    pytest.param("http://192.168.1.5/hook", "outside", id="private-ipv4-192"),
    pytest.param("https://hooks.example.invalid/hook", "outside", id="foreign-name"),
    pytest.param("https://0.invalid", "outside", id="foreign-name-no-path"),
    pytest.param("http://169.254.169.254/latest/meta-data", "outside", id="metadata-address"),
    pytest.param("http://[fd00::1]/hook", "outside", id="private-ipv6"),
    pytest.param("gopher://127.0.0.1:70/x", "http and https", id="gopher-on-loopback"),
    pytest.param("ftp://127.0.0.1/x", "http and https", id="ftp-on-loopback"),
    pytest.param("file:///etc/passwd", "http and https", id="file"),
    pytest.param("ws://127.0.0.1:9/x", "http and https", id="ws-on-loopback"),
]


@pytest.mark.parametrize(("url", "reason"), OUTSIDE)
async def test_a_webhook_the_mock_will_not_call_is_accepted_and_journaled_not_attempted(
    url: str, reason: str, network_audit: Any
) -> None:
    # The allowlist is the mock's safety rule, not the document's: the request is valid, so
    # it is acknowledged exactly as Runware would, and nothing is sent (nor resolved).
    task = text_task(taskUUID=new_uuid(), webhookURL=url, numberResults=2)
    async with _client(processing_ms=0) as http:
        reply = await http.post("/v1", json=[task], headers=AUTH)
        assert reply.status_code == 200
        assert reply.json() == {
            "data": [{"taskType": "textInference", "taskUUID": task["taskUUID"]}]
        }

        async def deliveries() -> list[dict[str, Any]]:
            return [
                e
                for e in (await http.get("/__mock/requests")).json()["requests"]
                if e["method"] == "WEBHOOK"
            ]

        deadline = time.monotonic() + 10
        while len(await deliveries()) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        records = await deliveries()
        poll = await _poll(http, task["taskUUID"])
    assert [r["status"] for r in records] == [0, 0]
    assert [r["request"]["data"][0]["resultIndex"] for r in records] == [0, 1]
    assert all(r["fault"].startswith("not attempted") and reason in r["fault"] for r in records)
    if reason == "outside":
        assert "webhook_allowlist" in records[0]["fault"]
    # The results are kept for getResponse all the same.
    assert [i["status"] for i in poll.json()["data"]] == ["success", "success"]
    assert network_audit.foreign() == []


@pytest.mark.parametrize(
    ("url", "allowlist", "allowed"),
    [
        ("http://hooks.test/x", ("hooks.test",), True),
        ("http://HOOKS.test/x", ("hooks.test",), True),
        ("http://other.test/x", ("hooks.test",), False),
        ("http://10.1.2.3/x", ("10.1.0.0/16",), True),
        ("http://10.2.0.1/x", ("10.1.0.0/16",), False),
        ("http://[::1]:9/x", ("::1/128",), True),
        ("http://127.0.0.1/x", ("127.0.0.0/8",), True),
        ("not a url", ("127.0.0.0/8",), False),
    ],
)
def test_allowlist_matches_networks_and_exact_names(
    url: str, allowlist: tuple[str, ...], allowed: bool
) -> None:
    # Pure function: nothing is sent anywhere (the test network is loopback only).
    assert allowed_target(url, allowlist) is allowed


async def test_a_configured_allowlist_replaces_the_default() -> None:
    dead = free_port()
    async with _client(
        webhook_allowlist=("127.0.0.2/32",), webhook_attempts=1, processing_ms=0
    ) as http:
        called = f"http://127.0.0.2:{dead}/x"
        skipped = f"http://127.0.0.1:{dead}/x"
        for url in (called, skipped):
            reply = await http.post(
                "/v1", json=[text_task(taskUUID=new_uuid(), webhookURL=url)], headers=AUTH
            )
            assert reply.status_code == 200
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            records = {
                e["path"]: e
                for e in (await http.get("/__mock/requests")).json()["requests"]
                if e["method"] == "WEBHOOK"
            }
            if len(records) == 2:
                break
            await asyncio.sleep(0.01)
    assert "unreachable" in records[called]["fault"]  # attempted: nothing listens there
    assert records[skipped]["fault"].startswith("not attempted")


# -- a stream task in a batch ----------------------------------------------------------------

STREAM_BATCHES = [
    pytest.param(["stream"], "event-stream", id="alone"),
    pytest.param(["authentication", "stream"], "event-stream", id="after-authentication"),
    pytest.param(["stream", "sync"], "json", id="with-a-sync-task"),
    pytest.param(["sync", "stream", "async"], "json", id="with-sync-and-async"),
]


@pytest.mark.parametrize(("kinds", "answer"), STREAM_BATCHES)
async def test_a_stream_task_is_streamed_only_when_alone(kinds: list[str], answer: str) -> None:
    body: list[dict[str, Any]] = []
    for kind in kinds:
        if kind == "authentication":
            body.append({"taskType": "authentication", "apiKey": "k"})
        else:
            body.append(text_task(taskUUID=new_uuid(), deliveryMethod=kind))
    async with _client(processing_ms=0) as http:
        reply = await http.post("/v1", json=body, headers=AUTH)
    assert reply.status_code == 200
    stream = next(t for t in body if t.get("deliveryMethod") == "stream")
    if answer == "event-stream":
        assert reply.headers["content-type"].startswith("text/event-stream")
        assert reply.text.endswith("data: [DONE]\n\n")
        return
    assert reply.headers["content-type"] == "application/json"
    items = reply.json()["data"]
    (streamed,) = [i for i in items if i["taskUUID"] == stream["taskUUID"]]
    assert streamed["text"]
    assert streamed["finishReason"] == "stop"
    assert {i["taskUUID"] for i in items} == {t["taskUUID"] for t in body if "taskUUID" in t}
