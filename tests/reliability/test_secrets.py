"""Secrets never leave the process: API keys, the admin token and the store's password
appear in no reply, journal entry, inspector view, banner, log or access log — for every
body shape and transport. End to end against the CLI's server."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from typing import Any

import httpx
import websockets

from tests._support import free_port
from tests.mockserver.conftest import text_task

KEY = "sk-live-0123456789abcdef"
TOKEN = "admin-tok-9876543210"
PASSWORD = "hunter2-redis-pass"


def _start(*args: str) -> tuple[str, subprocess.Popen[str]]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "mockserver", "serve", "--port", str(port), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"{url}/__mock/health", timeout=1)
            return url, server
        except httpx.TransportError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                raise RuntimeError(server.communicate()[0]) from None
            time.sleep(0.05)


def _stop(server: subprocess.Popen[str]) -> str:
    server.send_signal(signal.SIGTERM)
    logs, _ = server.communicate(timeout=30)
    return logs


BODIES = {
    "top-level-object": json.dumps({"taskType": "authentication", "apiKey": KEY}),
    "nested-arrays": json.dumps([[{"taskType": "authentication", "apiKey": KEY}]]),
    "malformed-json": '[{"taskType": "authentication", "apiKey": "' + KEY + '", ',
    "key-in-a-message": json.dumps(
        [text_task(messages=[{"role": "user", "content": f"my key is {KEY}, keep it safe"}])]
    ),
    "authentication-task": json.dumps([{"taskType": "authentication", "apiKey": KEY}, text_task()]),
}


async def _websocket(url: str) -> None:
    async with websockets.connect(url.replace("http", "ws") + "/v1") as ws:
        for frame in (
            json.dumps([[{"taskType": "authentication", "apiKey": KEY}]]),
            '[{"taskType": "authentication", "apiKey": "' + KEY + '"',
            json.dumps({"taskType": "authentication", "apiKey": KEY}),
            json.dumps([{"taskType": "authentication", "apiKey": KEY}]),
        ):
            await ws.send(frame)
            await asyncio.wait_for(ws.recv(), 30)


def test_keys_and_tokens_appear_nowhere(tmp_path: Any) -> None:
    config = tmp_path / "mock.json"
    config.write_text(json.dumps({"api_key_profiles": {KEY: {"status": 402}}}))
    url, server = _start(
        "--log-level", "info", "--access-log", "--admin-token", TOKEN, "--config", str(config)
    )
    seen: list[str] = []
    try:
        with httpx.Client(base_url=url, timeout=30) as http:
            for name, body in BODIES.items():
                # A key in a message's text is masked as the request's own key: a body
                # with no key of its own says nothing that marks that text as one.
                shapes = (
                    [{"Authorization": f"Bearer {KEY}"}]
                    if name == "key-in-a-message"
                    else [{}, {"Authorization": f"Bearer {KEY}"}]
                )
                for headers in shapes:
                    reply = http.post(
                        "/v1", content=body, headers={**headers, "Content-Type": "application/json"}
                    )
                    seen.append(reply.text)
            asyncio.run(_websocket(url))
            admin = {"X-Runware-Mock-Token": TOKEN}
            seen += [
                http.get(path, headers=admin).text
                for path in (
                    "/__mock/requests",
                    "/__mock/config",
                    "/__mock/faults",
                    "/__mock/health",
                )
            ]
            # An old inspector link: the token in the query string, once.
            seen.append(http.get("/__mock/requests", params={"token": TOKEN}).text)
            seen.append(http.get("/__mock/", params={"token": TOKEN}).text)
            journal = http.get("/__mock/requests", headers=admin).json()["requests"]
    finally:
        logs = _stop(server)
    assert "POST /v1" in logs
    assert "GET /__mock/requests" in logs
    everything = "\n".join([*seen, logs])
    leaks = [
        everything[max(0, i - 200) : i + 40]
        for i in range(len(everything))
        if everything.startswith(KEY, i)
    ]
    assert leaks == []
    assert TOKEN not in everything
    assert "token=***" in logs
    # Masked, not dropped: the journal still tells keys apart.
    assert sum("sk-l…ef" in json.dumps(e, ensure_ascii=False) for e in journal) >= len(BODIES)


def test_the_store_password_appears_nowhere() -> None:
    dead = free_port()  # nothing listens: the store is down from the start
    store = f"redis://:{PASSWORD}@127.0.0.1:{dead}/0"
    url, server = _start("--store", store, "--log-level", "info")
    try:
        with httpx.Client(base_url=url, timeout=30) as http:
            unauthenticated = http.post("/v1", json=[text_task(deliveryMethod="async")])
            health = http.get("/__mock/health")
            config = http.get("/__mock/config")
    finally:
        logs = _stop(server)
    assert unauthenticated.status_code == 503
    assert "redis://:***@127.0.0.1" in unauthenticated.json()["errors"][0]["message"]
    assert health.json()["storeReachable"] is False
    for text in (unauthenticated.text, health.text, config.text, logs):
        assert PASSWORD not in text
    assert "redis://:***@" in logs  # the banner names the store, without the password
