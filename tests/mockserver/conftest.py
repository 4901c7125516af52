from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mockserver import MockConfig, create_app
from tests._support import asgi_client, free_port

UUID = "a770f077-f413-47de-9dac-be0b26a35da6"
AUTH = {"Authorization": "Bearer test-key"}
VALID_REQUEST = json.loads(
    (Path(__file__).parents[2] / "examples" / "requests" / "valid.json").read_text()
)


def text_task(**changes: Any) -> dict[str, Any]:
    task: dict[str, Any] = {
        "taskType": "textInference",
        "taskUUID": UUID,
        "model": "alibaba:qwen@3.5-397b",
        "messages": [{"role": "user", "content": "Why is the sky blue?"}],
    }
    task.update(changes)
    return task


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    """The mock in-process (ASGI), as unit tests use it."""
    app = create_app(config=MockConfig(seed=1))
    async with asgi_client(app) as http:
        http.app = app  # type: ignore[attr-defined]
        yield http


class RunningServer:
    """A real uvicorn server on a loopback port, in a background thread."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> RunningServer:
        self.thread.start()
        # Ready when uvicorn says it listens; bounded generously (a loaded machine is slow to
        # import and bind, which is no failure), and at once if the server thread died.
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError(f"uvicorn stopped before it listened on {self.url}")
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start within 30 s")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def live_server() -> Iterator[RunningServer]:
    with RunningServer(create_app(config=MockConfig(seed=1))) as server:
        yield server


@contextlib.contextmanager
def serve_cli(
    *args: str, stderr: Any = subprocess.DEVNULL, **popen: Any
) -> Iterator[tuple[str, Any]]:
    """`python -m mockserver serve --port P *args` as a user runs it: yields (url, process)
    once /__mock/health answers, and stops it with SIGTERM afterwards (the process's
    ``returncode`` is set once the block ends). ``popen`` (``stdout``, ``env``) goes to
    ``subprocess.Popen``."""
    with run_cli("serve", *args, stderr=stderr, **popen) as running:
        yield running


@contextlib.contextmanager
def run_cli(
    command: str,
    *args: str,
    stderr: Any = subprocess.DEVNULL,
    describe: Any = None,
    **popen: Any,
) -> Iterator[tuple[str, Any]]:
    """`python -m mockserver COMMAND --port P *args` (serve, proxy): yields (url, process)
    once /__mock/health answers, and stops it with SIGTERM afterwards. ``describe()`` says
    what went wrong when it does not start (default: the arguments); ``popen`` goes to
    ``subprocess.Popen``."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "mockserver", command, "--port", str(port), *args],
        stderr=stderr,
        **popen,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/__mock/health", timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    what = describe() if describe is not None else " ".join(args)
                    raise RuntimeError(f"the mock did not start: {what}") from None
                time.sleep(0.05)
        yield url, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


@contextlib.contextmanager
def redis_server(
    folder: Path, *, port: int | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A real redis-server on a loopback port (``port``, or a free one; Debian's package),
    its files in ``folder``: yields (url, process) once it answers PING, and stops it
    afterwards (at once if the test did). Skips when redis-server is missing, unless the
    test command requires it (RUNWARE_KIT_REQUIRE_REDIS)."""
    import os
    import shutil

    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("RUNWARE_KIT_REQUIRE_REDIS"):
            pytest.fail("redis-server is not installed (Debian package redis-server)")
        pytest.skip("redis-server is not installed")
    import redis

    port = free_port() if port is None else port
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start within 20 s") from None
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0", process
    finally:
        client.close()
        process.send_signal(signal.SIGCONT)  # a test may leave it stopped
        process.terminate()
        process.wait(timeout=10)


class FrozenClock:
    """The mock's clock, stopped: ``time.time()`` and ``time.monotonic()`` move only when a
    test calls ``advance()``; everything else (``perf_counter``, ``sleep``) is the real
    ``time`` module's. Put in place of the ``time`` module of the mock's modules that decide
    "ready yet?" and "expired yet?", so those verdicts do not depend on how fast the machine
    gets from one request to the next."""

    MODULES = (
        "mockserver._delivery",
        "mockserver._faults",
        "mockserver._store",
        "mockserver._websocket",
    )

    def __init__(self) -> None:
        self.wall = time.time()
        self.mono = time.monotonic()

    def time(self) -> float:
        return self.wall

    def monotonic(self) -> float:
        return self.mono

    def advance(self, seconds: float) -> None:
        self.wall += seconds
        self.mono += seconds

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> FrozenClock:
    clock = FrozenClock()
    for module in FrozenClock.MODULES:
        monkeypatch.setattr(f"{module}.time", clock)
    return clock


class Receiver:
    """A real HTTP server that records webhook POSTs and answers a scripted status."""

    def __init__(self, statuses: list[int]) -> None:
        self.received: list[Any] = []
        self.statuses = statuses

        async def hook(request: Request) -> Response:
            self.received.append(await request.json())
            status = self.statuses.pop(0) if self.statuses else 200
            return JSONResponse({"ok": status < 300}, status_code=status)

        self.server = RunningServer(Starlette(routes=[Route("/hook", hook, methods=["POST"])]))
        self.url = f"{self.server.url}/hook"
