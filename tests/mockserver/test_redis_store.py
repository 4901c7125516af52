"""The shared store on a real redis-server: what one worker accepts, another answers."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from decimal import Decimal
from typing import Any

import httpx
import websockets

from mockserver import MockConfig, create_app
from tests._support import buffered_event
from tests.mockserver.conftest import AUTH, RunningServer, serve_cli, text_task


def _app(redis_url: str, **config: Any) -> Any:
    return create_app(config=MockConfig(store=redis_url, **config))


def test_result_accepted_by_one_app_is_polled_from_another(redis_url: str) -> None:
    task = text_task(taskUUID=str(uuid.uuid4()), deliveryMethod="async", numberResults=2)
    with (
        RunningServer(_app(redis_url, processing_ms=0)) as one,
        RunningServer(_app(redis_url)) as two,
    ):
        httpx.delete(f"{one.url}/__mock/requests")
        ack = httpx.post(f"{one.url}/v1", json=[task], headers=AUTH)
        assert ack.status_code == 200
        poll = httpx.post(
            f"{two.url}/v1",
            json=[{"taskType": "getResponse", "taskUUID": task["taskUUID"]}],
            headers=AUTH,
        )
        clash = httpx.post(f"{two.url}/v1", json=[task], headers=AUTH)
        journal = httpx.get(f"{two.url}/__mock/requests").json()["requests"]
        health = httpx.get(f"{one.url}/__mock/health").json()
    assert [i["status"] for i in poll.json()["data"]] == ["success", "success"]
    assert clash.json()["errors"][0]["code"] == "conflictTaskUUID"
    # Both apps' requests, in one shared journal: the ack from one, the poll and the clash
    # from two.
    assert [(e["tasks"][0]["taskType"], e["status"]) for e in journal] == [
        ("textInference", 200),
        ("getResponse", 200),
        ("textInference", 400),
    ]
    assert (health["store"], health["storeReachable"]) == ("RedisStore", True)


def test_session_buffer_is_shared(redis_url: str) -> None:
    async def scenario(first: str, second: str) -> dict[str, Any]:
        task = text_task(taskUUID=str(uuid.uuid4()))
        async with websockets.connect(first) as ws:
            await ws.send(json.dumps([{"taskType": "authentication", "apiKey": "k"}]))
            session = json.loads(await ws.recv())["data"][0]["connectionSessionUUID"]
            await ws.send(json.dumps([task]))
        # Resume on the other app once the first has put the result in the shared buffer.
        assert await asyncio.to_thread(buffered.wait, 30), "the result was never buffered"
        async with websockets.connect(second) as ws:
            await ws.send(
                json.dumps(
                    [
                        {
                            "taskType": "authentication",
                            "apiKey": "k",
                            "connectionSessionUUID": session,
                        }
                    ]
                )
            )
            await ws.recv()
            replayed: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert replayed["data"][0]["taskUUID"] == task["taskUUID"]
        return replayed

    first_app = _app(redis_url, processing_ms=300)
    buffered = buffered_event(first_app)
    with RunningServer(first_app) as one, RunningServer(_app(redis_url)) as two:
        asyncio.run(
            scenario(one.url.replace("http", "ws") + "/v1", two.url.replace("http", "ws") + "/v1")
        )


def _worker_of(entry: dict[str, Any]) -> str:
    return str(entry["id"]).split("-")[0]  # journal ids start with the worker's pid


def test_workers_share_async_results(redis_url: str) -> None:
    """`serve --workers 2 --store redis://…`: a task accepted by one worker is polled from
    the other, and every poll succeeds. Which worker takes a connection is the kernel's
    choice: requests go on (new connections each time, bounded) until each case happened."""
    sent = 0

    def post(body: list[dict[str, Any]]) -> httpx.Response:
        nonlocal sent
        sent += 1
        return httpx.post(f"{url}/v1", json=body, headers=AUTH)

    def journal() -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = httpx.get(f"{url}/__mock/requests").json()["requests"]
        return entries

    with serve_cli(
        "--workers", "2", "--store", redis_url.replace("/0", "/1"), "--processing-ms", "0"
    ) as (url, _):
        httpx.delete(f"{url}/__mock/requests")
        accepted: dict[str, str] = {}  # taskUUID -> the worker that accepted it
        deadline = time.monotonic() + 60
        while len(set(accepted.values())) < 2 or len(accepted) < 10:
            assert time.monotonic() < deadline, f"one worker took every task: {accepted}"
            task = text_task(taskUUID=str(uuid.uuid4()), deliveryMethod="async")
            assert post([task]).status_code == 200
            (entry,) = [
                e
                for e in journal()
                if e["tasks"] and e["tasks"][0].get("taskUUID") == task["taskUUID"]
            ]
            accepted[task["taskUUID"]] = _worker_of(entry)
        crossed = 0  # polls answered by the worker that did not accept the task
        while not crossed:
            assert time.monotonic() < deadline, "no poll ever reached the other worker"
            for task_uuid in accepted:
                poll = post([{"taskType": "getResponse", "taskUUID": task_uuid}])
                assert poll.status_code == 200, poll.text
                assert [i["status"] for i in poll.json()["data"]] == ["success"]
            polls = [
                e for e in journal() if e["tasks"] and e["tasks"][0]["taskType"] == "getResponse"
            ]
            crossed = sum(_worker_of(e) != accepted[e["tasks"][0]["taskUUID"]] for e in polls)
        entries = journal()
    assert len({_worker_of(e) for e in entries}) == 2
    assert len(entries) == sent  # one shared journal: every request of both workers


def test_shared_journal_keeps_numbers_exactly_as_they_were_written(redis_url: str) -> None:
    body = json.dumps([text_task(settings={"temperature": "X"})]).replace(
        '"X"', "0.57000000000000001"
    )
    with RunningServer(_app(redis_url)) as server:
        httpx.delete(f"{server.url}/__mock/requests")
        refused = httpx.post(
            f"{server.url}/v1", content=body, headers={**AUTH, "Content-Type": "application/json"}
        )
        journal = httpx.get(f"{server.url}/__mock/requests")
    assert refused.status_code == 400
    assert journal.status_code == 200
    (entry,) = json.loads(journal.text, parse_float=Decimal)["requests"]
    assert entry["request"][0]["settings"]["temperature"] == Decimal("0.57000000000000001")
