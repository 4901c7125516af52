"""Faults around the mock: a killed worker, Redis restarted, SIGTERM mid-stream."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
import uuid
from pathlib import Path

import httpx

from contracts import check_response
from mockserver import MockConfig, create_app
from tests._support import free_port, sse_payloads
from tests.mockserver.conftest import AUTH, RunningServer, redis_server, serve_cli, text_task


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                found.append(int(entry.name))
    return found


def _workers(pid: int) -> list[int]:
    """uvicorn's worker processes: the children multiprocessing spawned, not its resource
    tracker (also a child, and the first one)."""
    found = []
    for child in _children(pid):
        try:
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.append(child)
        except OSError:
            continue
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_killed_worker_loses_no_accepted_async_result(redis_url: str) -> None:
    with serve_cli(
        "--workers", "2", "--store", redis_url.replace("/0", "/2"), "--processing-ms", "2000"
    ) as (url, server):
        deadline = time.monotonic() + 60
        while len(_workers(server.pid)) < 2:
            assert time.monotonic() < deadline, f"workers: {_workers(server.pid)}"
            time.sleep(0.05)
        workers = _workers(server.pid)
        assert len(workers) == 2, workers
        # Tasks go on (a new connection each) until both workers accepted some: the one
        # killed below must hold accepted tasks, or killing it proves nothing.
        accepted: dict[str, int] = {}  # taskUUID -> pid of the worker that accepted it
        while len(accepted) < 20 or set(accepted.values()) != set(workers):
            assert time.monotonic() < deadline, f"one worker took every task: {accepted}"
            task = text_task(taskUUID=str(uuid.uuid4()), deliveryMethod="async")
            assert httpx.post(f"{url}/v1", json=[task], headers=AUTH).status_code == 200
            (entry,) = [
                e
                for e in httpx.get(f"{url}/__mock/requests").json()["requests"]
                if e["tasks"] and e["tasks"][0].get("taskUUID") == task["taskUUID"]
            ]
            accepted[task["taskUUID"]] = int(entry["id"].split("-")[0], 16)
        victim = workers[0]
        os.kill(victim, signal.SIGKILL)  # its tasks' results are (likely) still processing
        while _alive(victim):
            assert time.monotonic() < deadline, f"worker {victim} survived SIGKILL"
            time.sleep(0.05)
        assert victim in accepted.values()
        for task_uuid in accepted:
            deadline = time.monotonic() + 20
            while True:
                try:
                    poll = httpx.post(
                        f"{url}/v1",
                        json=[{"taskType": "getResponse", "taskUUID": task_uuid}],
                        headers=AUTH,
                        timeout=5,
                    )
                except httpx.TransportError:
                    poll = None
                if (
                    poll is not None
                    and poll.status_code == 200
                    and poll.json()["data"][0]["status"] == "success"
                ):
                    assert check_response(poll.json()) == []
                    break
                assert time.monotonic() < deadline, f"{task_uuid} was lost"
                time.sleep(0.1)


def test_redis_restarted_gives_clear_errors_then_recovers(tmp_path: Path) -> None:
    port = free_port()  # the restarted Redis listens where the first one did
    # Both Redis servers stop after the mock has (an ExitStack: the second starts mid-test).
    with contextlib.ExitStack() as redis_servers:
        redis_url, first_redis = redis_servers.enter_context(redis_server(tmp_path, port=port))
        app = create_app(config=MockConfig(store=redis_url, processing_ms=0))
        with RunningServer(app) as server, httpx.Client(base_url=server.url, timeout=10) as http:
            task = text_task(taskUUID=str(uuid.uuid4()), deliveryMethod="async")
            assert http.post("/v1", json=[task], headers=AUTH).status_code == 200
            first_redis.terminate()
            first_redis.wait(timeout=10)
            down = http.post(
                "/v1",
                json=[text_task(taskUUID=str(uuid.uuid4()), deliveryMethod="async")],
                headers=AUTH,
            )
            health = http.get("/__mock/health")
            assert down.status_code == 503
            assert "retry-after" not in down.headers  # Runware documents none
            (error,) = down.json()["errors"]
            assert error["code"] == "serviceUnavailable"
            assert "unreachable" in error["message"]
            assert health.status_code == 503
            assert health.json()["status"] == "degraded"
            redis_servers.enter_context(redis_server(tmp_path, port=port))
            deadline = time.monotonic() + 30
            while True:
                again = http.post(
                    "/v1",
                    json=[text_task(taskUUID=str(uuid.uuid4()), deliveryMethod="async")],
                    headers=AUTH,
                )
                if again.status_code == 200:
                    break
                assert time.monotonic() < deadline, again.text
                time.sleep(0.2)
            assert http.get("/__mock/health").json()["status"] == "ok"


def test_sigterm_lets_in_flight_streams_finish_and_exits_0() -> None:
    received: list[str] = []
    under_way = threading.Event()
    with serve_cli("--tokens-per-second", "100") as (url, server):

        def read() -> None:
            with httpx.stream(
                "POST",
                f"{url}/v1",
                json=[text_task(deliveryMethod="stream")],
                headers=AUTH,
                timeout=30,
            ) as reply:
                text = ""
                for chunk in reply.iter_text():
                    text += chunk
                    if "data: " in text:
                        under_way.set()
                received.append(text)

        reader = threading.Thread(target=read)
        reader.start()
        # SIGTERM once the stream is under way: its first event has arrived.
        assert under_way.wait(30), "the stream never started"
        assert received == []  # still in flight (the reader appends once the stream ends)
        server.send_signal(signal.SIGTERM)
        reader.join(timeout=60)
        code = server.wait(timeout=60)
    assert code == 0
    (text,) = received
    events = sse_payloads(text)
    assert events[-1] == "[DONE]"
    assert all(check_response(e) == [] for e in events[:-1])
