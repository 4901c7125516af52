"""Load: 200 concurrent clients mixing sync, async, stream and WebSocket, for a bounded
time, on loopback. No 5xx that was not injected, every accepted async result retrievable,
every stream ends with [DONE], and the server's memory stays bounded.

The time window measures the server, not the test's own set-up: every client (an
``httpx.AsyncClient``, or a WebSocket already connected and authenticated) is built first,
and the window starts only once all 200 are ready. Building an ``httpx.AsyncClient`` loads
the CA bundle (~25 ms each); one SSL context is shared, so set-up is cheap as well."""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import websockets

from tests.mockserver.conftest import AUTH, serve_cli, text_task

CLIENTS = 200
SECONDS = 6.0
KINDS = ("sync", "async", "stream", "ws")


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@dataclass
class _Client:
    kind: str
    http: httpx.AsyncClient | None = None
    ws: Any = None


async def _set_up(url: str, stack: contextlib.AsyncExitStack) -> list[_Client]:
    """Every client, ready to send: built, and for WebSockets connected and authenticated."""
    shared_tls = ssl.create_default_context()  # one CA bundle load, not one per client
    clients = []
    for i in range(CLIENTS):
        kind = KINDS[i % len(KINDS)]
        if kind == "ws":
            ws = await stack.enter_async_context(
                websockets.connect(url.replace("http", "ws") + "/v1")
            )
            await ws.send(json.dumps([{"taskType": "authentication", "apiKey": "k"}]))
            reply = json.loads(await asyncio.wait_for(ws.recv(), 30))
            assert reply["data"][0]["taskType"] == "authentication", reply
            clients.append(_Client(kind, ws=ws))
        else:
            http = await stack.enter_async_context(
                httpx.AsyncClient(
                    base_url=url,
                    timeout=30,
                    verify=shared_tls,
                    limits=httpx.Limits(max_connections=1),
                )
            )
            clients.append(_Client(kind, http=http))
    return clients


async def _drive(
    client: _Client, deadline: float, stats: Counter[str], accepted: list[str]
) -> None:
    if client.ws is not None:
        while time.monotonic() < deadline:
            await client.ws.send(json.dumps([text_task(taskUUID=str(uuid.uuid4()))]))
            frame = json.loads(await asyncio.wait_for(client.ws.recv(), 30))
            stats["ws-ok" if "data" in frame else "ws-error"] += 1
        return
    assert client.http is not None
    while time.monotonic() < deadline:
        task = text_task(taskUUID=str(uuid.uuid4()), deliveryMethod=client.kind)
        reply = await client.http.post("/v1", json=[task], headers=AUTH)
        stats[f"{client.kind}-{reply.status_code}"] += 1
        if client.kind == "stream" and reply.status_code == 200:
            stats[
                "stream-done" if reply.text.endswith("data: [DONE]\n\n") else "stream-unfinished"
            ] += 1
        if client.kind == "async" and reply.status_code == 200:
            accepted.append(task["taskUUID"])


async def _run(url: str) -> tuple[Counter[str], list[str]]:
    stats: Counter[str] = Counter()
    accepted: list[str] = []
    async with contextlib.AsyncExitStack() as stack:
        clients = await _set_up(url, stack)
        # The window starts now that all 200 clients exist: it is all requests.
        deadline = time.monotonic() + SECONDS
        await asyncio.gather(*(_drive(c, deadline, stats, accepted) for c in clients))
    return stats, accepted


async def _poll_all(url: str, accepted: list[str]) -> Counter[str]:
    outcome: Counter[str] = Counter()
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        for start in range(0, len(accepted), 50):
            batch = [
                {"taskType": "getResponse", "taskUUID": u} for u in accepted[start : start + 50]
            ]
            reply = await http.post("/v1", json=batch, headers=AUTH)
            for item in reply.json().get("data", []):
                outcome[item["status"]] += 1
            outcome[f"http-{reply.status_code}"] += 1
    return outcome


def test_mixed_load_from_200_clients() -> None:
    with serve_cli("--processing-ms", "0") as (url, server):
        before = _rss_kib(server.pid)
        stats, accepted = asyncio.run(_run(url))
        middle = _rss_kib(server.pid)
        stats2, accepted2 = asyncio.run(_run(url))  # a second round: memory must level off
        after = _rss_kib(server.pid)
        polled = asyncio.run(_poll_all(url, accepted + accepted2))
    stats += stats2
    print(f"\nload: {dict(stats)}; RSS {before} → {middle} → {after} KiB")
    assert not any(key.endswith(("-500", "-502", "-503", "-504")) for key in stats), stats
    # Nothing was injected and every request is valid: every HTTP reply is a 200, every
    # WebSocket frame a result.
    http_statuses = {key for key in stats if key.rsplit("-", 1)[-1].isdigit()}
    assert {key for key in http_statuses if not key.endswith("-200")} == set(), stats
    assert stats["ws-error"] == 0, stats
    for kind in ("sync-200", "async-200", "stream-200", "ws-ok"):
        assert stats[kind], stats
    assert stats["stream-unfinished"] == 0
    assert stats["stream-done"] == stats["stream-200"]
    total = len(accepted) + len(accepted2)
    assert total == stats["async-200"]
    assert polled["success"] == total, polled
    assert polled["http-200"] == -(-total // 50), polled  # every batch answered
    # Bounded: journal and stores have caps, so a second round adds little.
    growth_second_round = after - middle
    assert growth_second_round < max(0.5 * (middle - before), 40_000), (before, middle, after)
