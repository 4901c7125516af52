"""Load: 200 concurrent clients mixing sync, async, stream and WebSocket, for a bounded
time, on loopback. No 5xx that was not injected, every accepted async result retrievable,
every stream ends with [DONE], and the server's memory stays bounded."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
import websockets

from tests.mockserver.conftest import AUTH, serve_cli, text_task

CLIENTS = 200
SECONDS = 6.0


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


async def _client(kind: str, url: str, deadline: float, stats: Counter[str],
                  accepted: list[str]) -> None:
    limits = httpx.Limits(max_connections=1)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as http:
        if kind == "ws":
            async with websockets.connect(url.replace("http", "ws") + "/v1") as ws:
                await ws.send(json.dumps([{"taskType": "authentication", "apiKey": "k"}]))
                await ws.recv()
                while time.monotonic() < deadline:
                    await ws.send(json.dumps([text_task(taskUUID=str(uuid.uuid4()))]))
                    frame = json.loads(await asyncio.wait_for(ws.recv(), 30))
                    stats["ws-ok" if "data" in frame else "ws-error"] += 1
            return
        while time.monotonic() < deadline:
            task = text_task(taskUUID=str(uuid.uuid4()),
                             deliveryMethod={"sync": "sync", "async": "async",
                                             "stream": "stream"}[kind])
            reply = await http.post("/v1", json=[task], headers=AUTH)
            stats[f"{kind}-{reply.status_code}"] += 1
            if kind == "stream" and reply.status_code == 200:
                stats["stream-done" if reply.text.endswith("data: [DONE]\n\n")
                      else "stream-unfinished"] += 1
            if kind == "async" and reply.status_code == 200:
                accepted.append(task["taskUUID"])


async def _run(url: str) -> tuple[Counter[str], list[str]]:
    stats: Counter[str] = Counter()
    accepted: list[str] = []
    deadline = time.monotonic() + SECONDS
    kinds = ["sync", "async", "stream", "ws"]
    await asyncio.gather(*(_client(kinds[i % 4], url, deadline, stats, accepted)
                           for i in range(CLIENTS)))
    return stats, accepted


async def _poll_all(url: str, accepted: list[str]) -> Counter[str]:
    outcome: Counter[str] = Counter()
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        for start in range(0, len(accepted), 50):
            batch = [{"taskType": "getResponse", "taskUUID": u} for u in accepted[start:start + 50]]
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
    assert not any(key.endswith(("-500", "-502", "-503", "-504")) for key in stats), stats
    for kind in ("sync-200", "async-200", "stream-200", "ws-ok"):
        assert stats[kind], stats
    assert stats["stream-unfinished"] == 0
    assert stats["stream-done"] == stats["stream-200"]
    assert polled["success"] == len(accepted) + len(accepted2), polled
    # Bounded: journal and stores have caps, so a second round adds little.
    growth_second_round = after - middle
    assert growth_second_round < max(0.5 * (middle - before), 40_000), (before, middle, after)
    print(f"\nload: {dict(stats)}; RSS {before} → {middle} → {after} KiB")
