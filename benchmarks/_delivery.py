"""What the delivery benchmarks (``bench_stream.py``, ``bench_async.py``) share.

The request (one ``textInference`` task with a ``deliveryMethod`` and a fresh taskUUID, built
from a ``Template`` so a fresh one costs one concatenation), the asyncio ``httpx`` client they
load the mock with, the contract check every reply must pass before any load, the header
they print and the run around their measurements.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import _cpu
import _report
import httpx

import openapi
from contracts import check_response

__all__ = [
    "DONE_LINE",
    "PROMPT",
    "REQUEST_TIMEOUT_S",
    "STARTUP_LIMIT_S",
    "WARMUP_S",
    "Template",
    "client_loop",
    "data_lines",
    "drive",
    "header",
    "measured",
    "new_client",
    "poll_payload",
    "require_contract",
    "run",
    "run_async",
    "text_task",
]

PROMPT = "Explain how rainbows form"
DONE_LINE = "data: [DONE]"
STARTUP_LIMIT_S = 15.0
WARMUP_S = 1.0
REQUEST_TIMEOUT_S = 10.0
SENTINEL = "@@TASK-UUID@@"

T = TypeVar("T")


# --------------------------------------------------------------------------------------------
# Payloads


def text_task(model: str, task_uuid: str, *, delivery: str) -> list[dict[str, Any]]:
    """One ``textInference`` task delivered by ``delivery`` (``stream``, ``async``)."""
    return [
        {
            "taskType": "textInference",
            "taskUUID": task_uuid,
            "model": model,
            "messages": [{"role": "user", "content": PROMPT}],
            "deliveryMethod": delivery,
            "includeUsage": True,
        }
    ]


def poll_payload(task_uuid: str) -> list[dict[str, Any]]:
    return [{"taskType": "getResponse", "taskUUID": task_uuid}]


@dataclass(frozen=True)
class Template:
    """A JSON body split around its taskUUID, so a fresh one costs one concatenation."""

    prefix: str
    suffix: str

    @classmethod
    def of(cls, build: Callable[[str], list[dict[str, Any]]]) -> Template:
        prefix, suffix = json.dumps(build(SENTINEL)).split(SENTINEL)
        return cls(prefix, suffix)

    def body(self, task_uuid: str) -> bytes:
        return f"{self.prefix}{task_uuid}{self.suffix}".encode()


def data_lines(text: str) -> list[str]:
    """The ``data:`` lines of an SSE body, in order."""
    return [line for line in text.split("\n") if line.startswith("data:")]


def require_contract(reply: Any, request: list[dict[str, Any]], what: str) -> None:
    """Exit with every problem when ``reply`` breaks the contract for ``request``."""
    problems = check_response(reply, request=request)
    if problems:
        sys.exit(f"FAIL: {what} breaks the contract:\n" + "\n".join(map(str, problems)))


# --------------------------------------------------------------------------------------------
# Client


def client_loop() -> str:
    """The client's event loop, by name: ``uvloop`` when installed, else ``asyncio``."""
    return "uvloop" if importlib.util.find_spec("uvloop") is not None else "asyncio"


def _new_loop() -> asyncio.AbstractEventLoop:
    if client_loop() == "uvloop":
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def new_client() -> httpx.AsyncClient:
    """One client per concurrent loop, each with one connection: httpcore's pool gets
    slower with every connection it holds (its request assignment scans them all), so one
    shared 16-connection client is ~2.5x slower here than 16 one-connection clients."""
    return httpx.AsyncClient(
        limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        timeout=REQUEST_TIMEOUT_S,
    )


async def drive(
    one: Callable[[httpx.AsyncClient], Awaitable[None]], *, clients: int, seconds: float
) -> float:
    """Call ``one(client)`` again and again from ``clients`` concurrent loops, each with its
    own ``new_client()``, until ``seconds`` have passed; return the time it took (the last
    calls finish after the deadline)."""
    async with contextlib.AsyncExitStack() as stack:
        pool = [await stack.enter_async_context(new_client()) for _ in range(clients)]
        started = time.perf_counter()
        deadline = started + seconds

        async def worker(client: httpx.AsyncClient) -> None:
            while time.perf_counter() < deadline:
                await one(client)

        await asyncio.wait_for(asyncio.gather(*map(worker, pool)), timeout=seconds + 30)
        return time.perf_counter() - started


def measured(
    server_pid: int,
    one: Callable[[httpx.AsyncClient], Awaitable[None]],
    *,
    clients: int,
    seconds: float,
) -> tuple[float, float | None, float | None]:
    """:func:`drive` on the client's loop (:func:`run_async`), with the CPU use over it of the
    server and of this process (the client), per cent of one core: (the time it took, the
    server's, the client's)."""
    return _cpu.measured(
        server_pid,
        _cpu.self_cpu_s,
        lambda: run_async(drive(one, clients=clients, seconds=seconds)),
    )


def _cheap_sniffio() -> None:
    """httpcore runs ``import sniffio`` on every request; when sniffio is not installed each
    failed import scans sys.path again (a third of the client's time in a profile). A None
    entry in sys.modules makes that ImportError immediate; httpcore then assumes asyncio, as
    it already does without sniffio."""
    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """The client's loop: uvloop when installed (a faster client), else asyncio's."""
    _cheap_sniffio()
    with asyncio.Runner(loop_factory=_new_loop) as runner:
        return runner.run(coroutine)


# --------------------------------------------------------------------------------------------
# Header


def header(*dists: str, model: str) -> dict[str, Any]:
    """The machine, the versions of uvicorn, Starlette, httpx and ``dists``, the payload."""
    host = _report.header(
        "uvicorn",
        "starlette",
        "httpx",
        *dists,
        labels={"redis": "redis-py"},
        uvicorn=True,
        few_cpus=True,
    )
    print(
        f"payload : 1 textInference task, model {model}, prompt {PROMPT!r}, includeUsage, "
        f"fresh taskUUID per request"
    )
    return host


def run(args: argparse.Namespace, measure: Callable[[str], dict[str, Any]], *dists: str) -> int:
    """A delivery benchmark's ``main`` once parsed: the header (``dists`` as for ``header``),
    ``measure(model)``, then the end of the run (``_report.end``); the exit status."""
    begun = time.perf_counter()
    model = openapi.load().model_id
    host = header(*dists, model=model)
    figures = measure(model)
    errors = figures.pop("errors")
    return _report.end(
        args, host=host, begun=begun, errors=errors, warmup_seconds=WARMUP_S, **figures
    )
