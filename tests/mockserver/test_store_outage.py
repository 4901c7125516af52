"""A submit that fails because the shared store is down leaves nothing behind: its taskUUID
is free for the client's retry, which then succeeds (a real redis-server, paused with
SIGSTOP mid-request and resumed)."""

from __future__ import annotations

import signal
import time
import uuid
from pathlib import Path

import httpx

from tests.mockserver.conftest import AUTH, redis_server, serve_cli, text_task


def _wait_until_reachable(http: httpx.Client) -> None:
    deadline = time.monotonic() + 30
    while not http.get("/__mock/health").json()["storeReachable"]:
        assert time.monotonic() < deadline, "the store did not come back"
        time.sleep(0.05)


def test_a_submit_refused_during_a_redis_stall_can_be_retried(tmp_path: Path) -> None:
    task = text_task(taskUUID=str(uuid.uuid4()), deliveryMethod="async")
    with (
        redis_server(tmp_path) as (store, redis),
        serve_cli("--store", store, "--processing-ms", "0") as (url, _),
        httpx.Client(base_url=url, timeout=60) as http,
    ):
        redis.send_signal(signal.SIGSTOP)
        try:
            stalled = http.post("/v1", json=[task], headers=AUTH)
        finally:
            redis.send_signal(signal.SIGCONT)
        _wait_until_reachable(http)
        retry = http.post("/v1", json=[task], headers=AUTH)
        poll = http.post(
            "/v1", json=[{"taskType": "getResponse", "taskUUID": task["taskUUID"]}], headers=AUTH
        )
        other = http.post(
            "/v1",
            json=[
                {
                    **task,
                    "messages": [{"role": "user", "content": "Another task, the same taskUUID"}],
                }
            ],
            headers=AUTH,
        )
        resent = http.post("/v1", json=[task], headers=AUTH)
    assert stalled.status_code == 503
    assert stalled.json()["errors"][0]["code"] == "serviceUnavailable"
    assert retry.status_code == 200, retry.text
    assert retry.json() == {"data": [{"taskType": "textInference", "taskUUID": task["taskUUID"]}]}
    assert [i["status"] for i in poll.json()["data"]] == ["success"]
    # The claim still protects the taskUUID: another task, or the same one once its results
    # are kept, is a conflict as before.
    assert other.json()["errors"][0]["code"] == "conflictTaskUUID"
    assert resent.json()["errors"][0]["code"] == "conflictTaskUUID"


def test_the_memory_store_lets_the_same_submission_claim_again() -> None:
    import asyncio

    from mockserver._store import MemoryStore

    async def go() -> list[bool]:
        store = MemoryStore()
        first = await store.claim("u", 60, owner="a")
        again = await store.claim("u", 60, owner="a")
        other = await store.claim("u", 60, owner="b")
        await store.put_result("u", {"items": []}, 60)
        kept = await store.claim("u", 60, owner="a")
        return [first, again, other, kept]

    assert asyncio.run(go()) == [True, True, False, False]
