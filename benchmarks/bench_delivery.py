"""Benchmark the mock's stream and async deliveries over HTTP, in one run on one machine.

Streams. Two servers, each in its own subprocess on uvicorn (one worker, ``--log-level
warning``, the loop/HTTP implementations uvicorn picks itself):

* ``mock`` -- ``runware-kit serve --host 127.0.0.1 --port P --log-level warning
  --processing-ms 0`` (bundled document, default config: ``ttft_ms`` 0 and
  ``tokens_per_second`` 0, i.e. events as fast as it can make them);
* ``bare`` -- ``benchmarks/_bare_app.py``'s ``POST /stream?n=N``: a Starlette
  ``StreamingResponse`` of ``N`` pre-built ``data:`` lines of about the mock's size.

A stream is ``POST /v1`` of one ``textInference`` task with ``"deliveryMethod": "stream"``
and a fresh taskUUID per request. The mock's replies vary in length with the seed it picks,
so a sample of replies is read first; ``N`` (bare) is their mean number of ``data:`` lines,
``[DONE]`` included. Load comes from ``wrk -t1 -cC`` with a Lua script that makes a fresh
taskUUID per request and reads every whole reply, counting its ``data:`` lines and whether it
ends with ``data: [DONE]`` (incomplete replies do not count). events/s = events of complete
streams / run time, for C = 1 and C = 50 clients, after a 1 s warm-up, the two servers
alternately for ``--rounds`` rounds; the best run of each counts. Target: mock events/s at
least 0.5x the bare endpoint's, for every C. Without wrk, an asyncio ``httpx.AsyncClient``
streams instead; it is slow, usually the bottleneck itself, and the output says so.

Async. Round trips per second of: ``POST`` an async task (``"deliveryMethod": "async"``,
fresh taskUUID) -> 200 ack, then ``POST [{"taskType": "getResponse", ...}]`` until
``data[0].status == "success"`` (with ``--processing-ms 0``, normally one poll), from 16
concurrent asyncio loops for ``--seconds`` after a 1 s warm-up, each loop with its own
one-connection ``httpx.AsyncClient`` (see ``new_client``; the client's loop is uvloop when
installed), against:

* ``memory`` -- a fresh mock started as above (default in-memory store);
* ``redis`` -- a mock with ``--store redis://127.0.0.1:R/0`` on a private ``redis-server
  --port R --bind 127.0.0.1 --save "" --appendonly no`` in a temporary directory;
* ``redis x2`` -- the same with ``--workers 2`` (two processes sharing the store).

No target for these: the figures are printed. The client is one Python process, usually the
limit here; the client's and the server's CPU use (per cent of one core, from /proc and
getrusage) are printed next to every figure to show which side is saturated.

Before any load: one mock stream must parse into chunks that all pass
``contracts.check_response`` and end with ``[DONE]``; the bare stream must have ``N`` lines
and end with ``[DONE]``; for each async server, one round trip's ack and ``success`` reply
must pass ``check_response``. Non-2xx answers, socket errors, incomplete streams or failed
round trips are reported loudly and make the exit status 1.

Run it from the repository root, in the project's environment::

    python benchmarks/bench_delivery.py                         # ~65 s
    python benchmarks/bench_delivery.py --seconds 2 --rounds 1 --json bench-delivery.json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import os
import random
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import _machine  # benchmarks/_machine.py: run these as scripts from the repository root
import httpx
from _servers import (
    API_KEY,
    HEADERS,
    HOST,
    Server,
    bare_command,
    free_port,
    mock_command,
    running,
    stop,
    tail,
    wrk_ms,
)

import openapi
from contracts import check_response

PROMPT = "Explain how rainbows form"
DONE_LINE = "data: [DONE]"
STREAM_TARGET = 0.5  # mock events/s / bare events/s, at least
STREAM_CLIENTS = (1, 50)
ASYNC_CLIENTS = 16
SAMPLE_STREAMS = 24  # mock replies read to find N
MAX_POLLS = 100  # getResponse polls per round trip before it counts as failed
STARTUP_LIMIT_S = 15.0
POLL_S = 0.01
WARMUP_S = 1.0
REQUEST_TIMEOUT_S = 10.0
SERVERS = ("mock", "bare")
SENTINEL = "@@TASK-UUID@@"

T = TypeVar("T")


# --------------------------------------------------------------------------------------------
# Payloads


def stream_payload(model: str, task_uuid: str) -> list[dict[str, Any]]:
    return [
        {
            "taskType": "textInference",
            "taskUUID": task_uuid,
            "model": model,
            "messages": [{"role": "user", "content": PROMPT}],
            "deliveryMethod": "stream",
            "includeUsage": True,
        }
    ]


def async_payload(model: str, task_uuid: str) -> list[dict[str, Any]]:
    return [
        {
            "taskType": "textInference",
            "taskUUID": task_uuid,
            "model": model,
            "messages": [{"role": "user", "content": PROMPT}],
            "deliveryMethod": "async",
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


# --------------------------------------------------------------------------------------------
# Processes


@contextlib.contextmanager
def redis_server(binary: str) -> Iterator[tuple[int, int]]:
    """A private, non-persistent redis-server on a free loopback port; yields (port, pid)."""
    port = free_port()
    with (
        tempfile.TemporaryDirectory(prefix="bench-redis-") as directory,
        tempfile.TemporaryFile() as log,
    ):
        process = subprocess.Popen(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                HOST,
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                directory,
            ],
            cwd=directory,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.perf_counter() + STARTUP_LIMIT_S
            while True:
                with (
                    contextlib.suppress(OSError),
                    socket.create_connection((HOST, port), timeout=1.0) as sock,
                ):
                    sock.sendall(b"PING\r\n")
                    if sock.recv(64).startswith(b"+PONG"):
                        break
                if process.poll() is not None or time.perf_counter() > deadline:
                    raise RuntimeError(f"redis-server did not answer PING:\n{tail(log)}")
                time.sleep(POLL_S)
            yield port, process.pid
        finally:
            stop(process)


# --------------------------------------------------------------------------------------------
# CPU accounting (Linux /proc; None elsewhere)


def _clock_ticks() -> int:
    try:
        return os.sysconf("SC_CLK_TCK")
    except (AttributeError, ValueError, OSError):
        return 100


def tree_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of a live process and all its descendants."""
    stats: dict[int, tuple[int, float]] = {}  # pid -> (ppid, cpu seconds)
    try:
        entries = os.listdir("/proc")
    except OSError:
        return None
    ticks = _clock_ticks()
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        stats[int(entry)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / ticks)
    if pid not in stats:
        return None
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += stats[current][1]
        todo.extend(child for child, (parent, _) in stats.items() if parent == current)
    return total


def children_cpu_s() -> float:
    """CPU seconds of this process's reaped children (wrk's, once it has exited)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def self_cpu_s() -> float:
    return time.process_time()


def percent(cpu: float | None, wall: float) -> float | None:
    return None if cpu is None or wall <= 0 else 100.0 * cpu / wall


def measured(
    server_pid: int, client_cpu: Callable[[], float], action: Callable[[], T]
) -> tuple[T, float | None, float | None]:
    """Run ``action``; also return the server's and the client's CPU use, % of one core."""
    server_before, client_before = tree_cpu_s(server_pid), client_cpu()
    started = time.perf_counter()
    result = action()
    wall = time.perf_counter() - started
    server_after, client_after = tree_cpu_s(server_pid), client_cpu()
    server_cpu = (
        None if server_before is None or server_after is None else server_after - server_before
    )
    return result, percent(server_cpu, wall), percent(client_after - client_before, wall)


def _new_loop() -> asyncio.AbstractEventLoop:
    if importlib.util.find_spec("uvloop") is not None:
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
# Stream load


@dataclass
class StreamRun:
    """One measured stream run."""

    server: str
    clients: int
    round: int
    events_per_s: float
    streams: int
    events: int
    seconds: float
    p50_ms: float | None = None  # whole-stream time
    p99_ms: float | None = None
    server_cpu_pct: float | None = None
    client_cpu_pct: float | None = None
    incomplete: int = 0
    non_2xx: int = 0
    socket_errors: dict[str, int] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return bool(self.incomplete or self.non_2xx or any(self.socket_errors.values()))


LUA = """\
-- written by bench_delivery.py: POST a fresh taskUUID each time, count whole SSE replies
local prefix = [==[{prefix}]==]
local suffix = [==[{suffix}]==]
local path = [==[{path}]==]
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {key}"

events, streams, incomplete, failed, thread_id = 0, 0, 0, 0, 0
local threads = {{}}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_id", #threads)
end

function init(args)
  math.randomseed({seed} + 7919 * thread_id)
end

local function uuid4()
  local r = math.random
  return string.format("%04x%04x-%04x-4%03x-%04x-%04x%04x%04x", r(0, 65535), r(0, 65535),
    r(0, 65535), r(0, 4095), r(32768, 49151), r(0, 65535), r(0, 65535), r(0, 65535))
end

function request()
  return wrk.format(nil, path, nil, prefix .. uuid4() .. suffix)
end

function response(status, headers, body)
  if status ~= 200 then
    failed = failed + 1
    return
  end
  local count, at = 0, 1
  if body:sub(1, 5) == "data:" then count = 1 end
  while true do
    local found = body:find("\\ndata:", at, true)
    if not found then break end
    count = count + 1
    at = found + 6
  end
  if body:sub(-14) == "data: [DONE]\\n\\n" then
    streams = streams + 1
    events = events + count
  else
    incomplete = incomplete + 1
  end
end

function done(summary, latency, requests)
  local e, s, i, f = 0, 0, 0, 0
  for _, thread in ipairs(threads) do
    e = e + thread:get("events")
    s = s + thread:get("streams")
    i = i + thread:get("incomplete")
    f = f + thread:get("failed")
  end
  io.write(string.format("BENCH events=%d streams=%d incomplete=%d failed=%d duration_us=%d\\n",
    e, s, i, f, summary.duration))
end
"""


def parse_wrk(output: str, server: str, clients: int, round_: int) -> StreamRun:
    bench = re.search(
        r"^BENCH events=(\d+) streams=(\d+) incomplete=(\d+) failed=(\d+) "
        r"duration_us=(\d+)$",
        output,
        re.MULTILINE,
    )
    if bench is None:
        raise RuntimeError(f"no BENCH line in wrk's output:\n{output}")
    events, streams, incomplete, failed, duration_us = map(int, bench.groups())
    seconds = duration_us / 1e6
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return StreamRun(
        server=server,
        clients=clients,
        round=round_,
        events_per_s=events / seconds,
        streams=streams,
        events=events,
        seconds=seconds,
        p50_ms=wrk_ms(p50.group(1)) if p50 and streams else None,
        p99_ms=wrk_ms(p99.group(1)) if p99 and streams else None,
        incomplete=incomplete,
        non_2xx=max(failed, int(non_2xx.group(1)) if non_2xx else 0),
        socket_errors=dict(
            zip(("connect", "read", "write", "timeout"), map(int, errors.groups()), strict=True)
        )
        if errors
        else {},
    )


def wrk_streams(
    wrk: str,
    script_dir: Path,
    server: Server,
    path: str,
    template: Template,
    clients: int,
    seconds: int,
    round_: int,
) -> StreamRun:
    script = script_dir / f"{server.name}-{clients}-{round_}.lua"
    script.write_text(
        LUA.format(
            prefix=template.prefix,
            suffix=template.suffix,
            path=path,
            key=API_KEY,
            seed=random.randrange(1, 2**30),
        ),
        encoding="utf-8",
    )
    command = [
        wrk,
        "-t1",
        f"-c{clients}",
        f"-d{seconds}s",
        "--timeout",
        f"{REQUEST_TIMEOUT_S:g}s",
        "--latency",
        "-s",
        str(script),
        server.url(path),
    ]

    def action() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            command, capture_output=True, text=True, timeout=seconds + 30, check=False
        )

    done, server_cpu, client_cpu = measured(server.pid, children_cpu_s, action)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    run = parse_wrk(done.stdout, server.name, clients, round_)
    run.server_cpu_pct, run.client_cpu_pct = server_cpu, client_cpu
    return run


async def _httpx_streams(
    url: str, template: Template, clients: int, seconds: float
) -> dict[str, Any]:
    counts: dict[str, Any] = {"events": 0, "streams": 0, "incomplete": 0, "non_2xx": 0, "errors": 0}
    latencies: list[float] = []
    async with contextlib.AsyncExitStack() as stack:
        pool = [await stack.enter_async_context(new_client()) for _ in range(clients)]
        started = time.perf_counter()
        deadline = started + seconds

        async def worker(client: httpx.AsyncClient) -> None:
            while time.perf_counter() < deadline:
                sent = time.perf_counter()
                body = template.body(str(uuid.uuid4()))
                count, last = 0, ""
                try:
                    async with client.stream("POST", url, content=body, headers=HEADERS) as reply:
                        if reply.status_code != 200:
                            await reply.aread()
                            counts["non_2xx"] += 1
                            continue
                        async for line in reply.aiter_lines():
                            if line.startswith("data:"):
                                count += 1
                                last = line
                except httpx.HTTPError:
                    counts["errors"] += 1
                    continue
                if last == DONE_LINE:
                    counts["streams"] += 1
                    counts["events"] += count
                    latencies.append(time.perf_counter() - sent)
                else:
                    counts["incomplete"] += 1

        await asyncio.wait_for(asyncio.gather(*map(worker, pool)), timeout=seconds + 30)
        counts["elapsed"] = time.perf_counter() - started
    counts["latencies"] = latencies
    return counts


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def httpx_streams(
    server: Server, path: str, template: Template, clients: int, seconds: int, round_: int
) -> StreamRun:
    counts, server_cpu, client_cpu = measured(
        server.pid,
        self_cpu_s,
        lambda: run_async(_httpx_streams(server.url(path), template, clients, seconds)),
    )
    return StreamRun(
        server=server.name,
        clients=clients,
        round=round_,
        events_per_s=counts["events"] / counts["elapsed"],
        streams=counts["streams"],
        events=counts["events"],
        seconds=counts["elapsed"],
        p50_ms=_pct(counts["latencies"], 0.50),
        p99_ms=_pct(counts["latencies"], 0.99),
        server_cpu_pct=server_cpu,
        client_cpu_pct=client_cpu,
        incomplete=counts["incomplete"],
        non_2xx=counts["non_2xx"],
        socket_errors={"httpx": counts["errors"]},
    )


# --------------------------------------------------------------------------------------------
# Async load


@dataclass
class AsyncRun:
    """One measured async submit + poll run."""

    store: str
    round_trips_per_s: float
    round_trips: int
    polls: int
    seconds: float
    p50_ms: float | None
    p99_ms: float | None
    server_cpu_pct: float | None = None
    client_cpu_pct: float | None = None
    redis_cpu_pct: float | None = None
    failed_round_trips: int = 0
    errors: int = 0

    @property
    def failed(self) -> bool:
        return bool(self.failed_round_trips or self.errors)


async def _round_trips(
    url: str, submit: Template, poll: Template, clients: int, seconds: float
) -> dict[str, Any]:
    counts: dict[str, Any] = {"ok": 0, "polls": 0, "failed": 0, "errors": 0}
    latencies: list[float] = []
    async with contextlib.AsyncExitStack() as stack:
        pool = [await stack.enter_async_context(new_client()) for _ in range(clients)]
        started = time.perf_counter()
        deadline = started + seconds

        async def round_trip(client: httpx.AsyncClient) -> bool:
            task_uuid = str(uuid.uuid4())
            reply = await client.post(url, content=submit.body(task_uuid), headers=HEADERS)
            if reply.status_code != 200:
                return False
            for _ in range(MAX_POLLS):
                counts["polls"] += 1
                reply = await client.post(url, content=poll.body(task_uuid), headers=HEADERS)
                if reply.status_code != 200:
                    return False
                status = reply.json()["data"][0].get("status")
                if status == "success":
                    return True
                if status != "processing":
                    return False
            return False

        async def worker(client: httpx.AsyncClient) -> None:
            while time.perf_counter() < deadline:
                sent = time.perf_counter()
                try:
                    ok = await round_trip(client)
                except (httpx.HTTPError, ValueError, KeyError, IndexError):
                    counts["errors"] += 1
                    continue
                if ok:
                    counts["ok"] += 1
                    latencies.append(time.perf_counter() - sent)
                else:
                    counts["failed"] += 1

        await asyncio.wait_for(asyncio.gather(*map(worker, pool)), timeout=seconds + 30)
        counts["elapsed"] = time.perf_counter() - started
    counts["latencies"] = latencies
    return counts


def async_run(
    server: Server,
    store: str,
    submit: Template,
    poll: Template,
    clients: int,
    seconds: float,
    redis_pid: int | None,
) -> AsyncRun:
    redis_before = None if redis_pid is None else tree_cpu_s(redis_pid)
    started = time.perf_counter()
    counts, server_cpu, client_cpu = measured(
        server.pid,
        self_cpu_s,
        lambda: run_async(_round_trips(server.url(), submit, poll, clients, seconds)),
    )
    redis_after = None if redis_pid is None else tree_cpu_s(redis_pid)
    redis_cpu = percent(
        None if redis_before is None or redis_after is None else redis_after - redis_before,
        time.perf_counter() - started,
    )
    return AsyncRun(
        store=store,
        round_trips_per_s=counts["ok"] / counts["elapsed"],
        round_trips=counts["ok"],
        polls=counts["polls"],
        seconds=counts["elapsed"],
        p50_ms=_pct(counts["latencies"], 0.50),
        p99_ms=_pct(counts["latencies"], 0.99),
        server_cpu_pct=server_cpu,
        client_cpu_pct=client_cpu,
        redis_cpu_pct=redis_cpu,
        failed_round_trips=counts["failed"],
        errors=counts["errors"],
    )


# --------------------------------------------------------------------------------------------
# Checks


def _contract(reply: Any, request: list[dict[str, Any]], what: str) -> None:
    problems = check_response(reply, request=request)
    if problems:
        sys.exit(f"FAIL: {what} breaks the contract:\n" + "\n".join(map(str, problems)))


def sample_mock_streams(server: Server, model: str) -> list[int]:
    """Check one mock stream chunk by chunk; return the data-line counts of a sample."""
    counts: list[int] = []
    with httpx.Client(timeout=REQUEST_TIMEOUT_S) as client:
        for index in range(SAMPLE_STREAMS):
            payload = stream_payload(model, str(uuid.uuid4()))
            reply = client.post(server.url(), json=payload, headers=HEADERS)
            kind = reply.headers.get("content-type", "")
            if reply.status_code != 200 or not kind.startswith("text/event-stream"):
                sys.exit(
                    f"FAIL: mock stream answered {reply.status_code} {kind!r}: {reply.text[:500]}"
                )
            lines = data_lines(reply.text)
            if not lines or lines[-1] != DONE_LINE or DONE_LINE in lines[:-1]:
                sys.exit(f"FAIL: mock stream does not end with one [DONE]: {reply.text[-500:]}")
            if index == 0:
                for number, line in enumerate(lines[:-1], 1):
                    _contract(
                        json.loads(line[len("data:") :]),
                        payload,
                        f"mock stream chunk {number}/{len(lines) - 1}",
                    )
            counts.append(len(lines))
    return counts


def check_bare_stream(server: Server, path: str, body: bytes, expected: int) -> int:
    reply = httpx.post(server.url(path), content=body, headers=HEADERS, timeout=REQUEST_TIMEOUT_S)
    lines = data_lines(reply.text)
    if reply.status_code != 200 or len(lines) != expected or lines[-1] != DONE_LINE:
        sys.exit(
            f"FAIL: bare stream answered {reply.status_code} with {len(lines)} data "
            f"lines (expected {expected}, last [DONE]): {reply.text[-300:]}"
        )
    for line in lines[:-1]:
        json.loads(line[len("data:") :])
    return len(reply.content)


def check_round_trip(server: Server, model: str, store: str) -> None:
    task_uuid = str(uuid.uuid4())
    payload = async_payload(model, task_uuid)
    with httpx.Client(timeout=REQUEST_TIMEOUT_S) as client:
        ack = client.post(server.url(), json=payload, headers=HEADERS)
        if ack.status_code != 200:
            sys.exit(f"FAIL: {store}: async submit answered {ack.status_code}: {ack.text[:500]}")
        _contract(ack.json(), payload, f"{store}: the async ack")
        for _ in range(MAX_POLLS):
            reply = client.post(server.url(), json=poll_payload(task_uuid), headers=HEADERS)
            if reply.status_code != 200:
                sys.exit(
                    f"FAIL: {store}: getResponse answered {reply.status_code}: {reply.text[:500]}"
                )
            body = reply.json()
            status = body["data"][0].get("status")
            if status == "success":
                _contract(body, payload, f"{store}: the getResponse success reply")
                return
            if status != "processing":
                sys.exit(f"FAIL: {store}: getResponse status {status!r}: {reply.text[:500]}")
    sys.exit(f"FAIL: {store}: no success after {MAX_POLLS} polls")


# --------------------------------------------------------------------------------------------
# Reporting


def machine() -> dict[str, Any]:
    return _machine.machine("uvicorn", "starlette", "httpx", "redis", "uvloop", "httptools")


def _cpu(value: float | None) -> str:
    return "  n/a" if value is None else f"{value:4.0f}%"


def _opt_ms(value: float | None) -> str:
    return "    n/a" if value is None else f"{value:7.1f}"


def _redis_version(binary: str) -> str:
    done = subprocess.run(
        [binary, "--version"], capture_output=True, text=True, timeout=10, check=False
    )
    found = re.search(r"v=(\S+)", done.stdout)
    return found.group(1) if found else done.stdout.strip()


verdict, loud = _machine.verdict, _machine.loud


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--seconds",
        type=int,
        default=4,
        help="length of each measured run, whole seconds (default 4)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="stream rounds per server and client count, best kept (default 2)",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the numbers here")
    parser.add_argument(
        "--loader",
        choices=("auto", "wrk", "httpx"),
        default="auto",
        help="stream load generator: wrk when on PATH (auto), or httpx",
    )
    parser.add_argument("--no-redis", action="store_true", help="skip the Redis-store async runs")
    args = parser.parse_args(argv)
    if args.seconds < 1 or args.rounds < 1:
        parser.error("--seconds and --rounds must be at least 1")
    begun = time.perf_counter()

    host = machine()
    print(f"machine : {host['cpu']} | nproc {host['nproc']} | {host['platform']}")
    print(
        f"python  : {host['python']} | uvicorn {host['uvicorn']} | starlette "
        f"{host['starlette']} | httpx {host['httpx']} | redis-py {host['redis']}"
    )
    print(
        f"uvicorn : loop {'uvloop ' + host['uvloop'] if host['uvloop'] else 'asyncio'}, http "
        f"{'httptools ' + host['httptools'] if host['httptools'] else 'h11'} (auto-picked)"
    )
    if host["nproc"] and host["nproc"] < 4:
        print(
            f"note    : only {host['nproc']} CPUs -- the load generator shares them with the "
            "server(s) under test"
        )

    wrk = shutil.which("wrk") if args.loader != "httpx" else None
    if args.loader == "wrk" and wrk is None:
        parser.error("wrk is not on PATH")
    redis_binary = None if args.no_redis else shutil.which("redis-server")

    spec = openapi.load()
    model = spec.model_id
    stream_template = Template.of(lambda task: stream_payload(model, task))
    submit_template = Template.of(lambda task: async_payload(model, task))
    poll_template = Template.of(poll_payload)
    print(
        f"payload : 1 textInference task, model {model}, prompt {PROMPT!r}, includeUsage, "
        f"fresh taskUUID per request"
    )
    if wrk is None:
        print(
            "streams : httpx.AsyncClient fallback (wrk not used) -- the client is likely the "
            "bottleneck; these figures are not comparable with wrk's"
        )
    else:
        print(
            f"streams : {wrk} -t1 -cC -d{args.seconds}s + Lua (fresh taskUUID, whole replies "
            f"read, data: lines counted), C in {STREAM_CLIENTS}, {WARMUP_S:g} s warm-up, "
            f"{args.rounds} round(s) alternating, best kept"
        )
    print(
        f"async   : {ASYNC_CLIENTS} asyncio loops ({'uvloop' if host['uvloop'] else 'asyncio'}"
        f"), each its own 1-connection httpx.AsyncClient, {args.seconds} s after "
        f"{WARMUP_S:g} s warm-up, 1 run per store -- one Python client process, likely the "
        "bottleneck"
    )

    stream_runs: list[StreamRun] = []
    async_runs: list[AsyncRun] = []
    startup: dict[str, float] = {}
    commands: dict[str, list[str]] = {}
    sample: list[int] = []
    events_n = 0
    bare_path = ""

    def new_stream() -> bytes:
        return stream_template.body(str(uuid.uuid4()))

    def new_submit() -> bytes:
        return submit_template.body(str(uuid.uuid4()))

    def async_measure(server: Server, store: str, redis_pid: int | None = None) -> None:
        check_round_trip(server, model, store)
        async_run(server, store, submit_template, poll_template, ASYNC_CLIENTS, WARMUP_S, redis_pid)
        run = async_run(
            server, store, submit_template, poll_template, ASYNC_CLIENTS, args.seconds, redis_pid
        )
        async_runs.append(run)
        flag = "  <-- ERRORS" if run.failed else ""
        print(
            f"  {store:<9} {run.round_trips_per_s:>8,.0f} round trips/s  p50 "
            f"{_opt_ms(run.p50_ms)} ms  p99 {_opt_ms(run.p99_ms)} ms  "
            f"({run.round_trips} round trips, {run.polls / max(run.round_trips, 1):.2f} "
            f"polls each)  server cpu {_cpu(run.server_cpu_pct)}"
            + ("" if redis_pid is None else f" (+ redis {_cpu(run.redis_cpu_pct).strip()})")
            + f"  client cpu {_cpu(run.client_cpu_pct)}{flag}",
            flush=True,
        )

    with contextlib.ExitStack() as stack:
        port = free_port()
        commands["mock"] = mock_command(port)
        mock = stack.enter_context(
            running("mock", commands["mock"], port, new_stream, limit_s=STARTUP_LIMIT_S)
        )
        startup["mock"] = mock.startup_s
        sample = sample_mock_streams(mock, model)
        events_n = round(statistics.mean(sample))
        bare_path = f"/stream?n={events_n}"
        port = free_port()
        commands["bare"] = bare_command(port)
        bare = stack.enter_context(
            running("bare", commands["bare"], port, lambda: b"{}", limit_s=STARTUP_LIMIT_S)
        )
        startup["bare"] = bare.startup_s
        bare_bytes = check_bare_stream(bare, bare_path, new_stream(), events_n)
        print(
            f"check   : mock stream chunks pass check_response, ends with [DONE]; "
            f"{SAMPLE_STREAMS} mock streams have {min(sample)}..{max(sample)} data: lines "
            f"(mean {statistics.mean(sample):.1f}, [DONE] included) -> N = {events_n}; "
            f"bare stream {events_n} lines, {bare_bytes} bytes, ends with [DONE]"
        )
        print(f"mock    : {' '.join(commands['mock'])}")
        print(f"bare    : {' '.join(commands['bare'])}   (POST {bare_path})")
        print()
        print(
            "streams (events/s = data: lines of complete streams / run time; stream time p50/p99)"
        )
        servers = {"mock": (mock, "/v1"), "bare": (bare, bare_path)}
        script_dir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        for clients in STREAM_CLIENTS:
            for round_ in range(1, args.rounds + 1):
                for name in SERVERS:
                    server, path = servers[name]
                    if wrk is not None:
                        wrk_streams(
                            wrk,
                            script_dir,
                            server,
                            path,
                            stream_template,
                            clients,
                            round(WARMUP_S),
                            0,
                        )
                        run = wrk_streams(
                            wrk,
                            script_dir,
                            server,
                            path,
                            stream_template,
                            clients,
                            args.seconds,
                            round_,
                        )
                    else:
                        httpx_streams(server, path, stream_template, clients, round(WARMUP_S), 0)
                        run = httpx_streams(
                            server, path, stream_template, clients, args.seconds, round_
                        )
                    stream_runs.append(run)
                    flag = "  <-- ERRORS" if run.failed else ""
                    print(
                        f"  C={clients:<3} round {round_} {name:<5} {run.events_per_s:>9,.0f}"
                        f" events/s  {run.streams / run.seconds:>7,.1f} streams/s  p50 "
                        f"{_opt_ms(run.p50_ms)} ms  p99 {_opt_ms(run.p99_ms)} ms  server "
                        f"cpu {_cpu(run.server_cpu_pct)}  client cpu "
                        f"{_cpu(run.client_cpu_pct)}{flag}",
                        flush=True,
                    )

    print()
    print(f"async submit + poll round trips ({ASYNC_CLIENTS} concurrent loops)")
    port = free_port()
    commands["memory"] = mock_command(port)
    with running("memory", commands["memory"], port, new_submit, limit_s=STARTUP_LIMIT_S) as mock:
        startup["memory"] = mock.startup_s
        async_measure(mock, "memory")
    if redis_binary is None:
        print(
            "  redis     skipped ("
            + ("--no-redis" if args.no_redis else "redis-server not on PATH")
            + ")"
        )
    else:
        with redis_server(redis_binary) as (redis_port, redis_pid):
            store_url = f"redis://{HOST}:{redis_port}/0"
            print(
                f"  (redis-server {_redis_version(redis_binary)} on {HOST}:{redis_port}, "
                "no persistence)"
            )
            for store, extra in (
                ("redis", ("--store", store_url)),
                ("redis x2", ("--workers", "2", "--store", store_url)),
            ):
                port = free_port()
                commands[store] = mock_command(port, *extra)
                with running(
                    store, commands[store], port, new_submit, limit_s=STARTUP_LIMIT_S
                ) as mock:
                    startup[store] = mock.startup_s
                    if store == "redis x2":
                        time.sleep(WARMUP_S)  # let the second worker come up too
                    async_measure(mock, store, redis_pid)
            print(f"  mock redis    : {' '.join(commands['redis'])}")
            print(f"  mock redis x2 : {' '.join(commands['redis x2'])}")

    best = {
        (name, clients): max(
            (r for r in stream_runs if r.server == name and r.clients == clients),
            key=lambda r: r.events_per_s,
        )
        for name in SERVERS
        for clients in STREAM_CLIENTS
    }
    ratios: dict[str, dict[str, Any]] = {}
    print()
    print(f"{'clients':<9}{'mock ev/s':>12}{'bare ev/s':>12}{'ratio':>9}   target")
    for clients in STREAM_CLIENTS:
        mock_rate = best["mock", clients].events_per_s
        bare_rate = best["bare", clients].events_per_s
        ratio = mock_rate / bare_rate if bare_rate else 0.0
        ok = ratio >= STREAM_TARGET
        ratios[str(clients)] = {"value": ratio, "target": STREAM_TARGET, "verdict": verdict(ok)}
        print(
            f"C={clients:<7}{mock_rate:>12,.0f}{bare_rate:>12,.0f}{ratio:>8.2f}x   >= "
            f"{STREAM_TARGET:g}x  {verdict(ok)}"
        )
    print()
    for trips in async_runs:
        print(f"async {trips.store:<9}: {trips.round_trips_per_s:>8,.0f} round trips/s (no target)")
    if wrk is None:
        print(
            "note: httpx stream fallback -- the client, not the servers, likely sets the "
            "stream rates, so the ratio understates the gap; install wrk for a real "
            "comparison"
        )
    print(
        "note: the async figures come from one Python httpx client process; when its cpu is "
        "near 100% the client, not the mock, is the limit"
    )

    failed: list[str] = [
        f"stream {run.server} C={run.clients} round {run.round}: "
        f"{run.incomplete} incomplete, {run.non_2xx} non-2xx, socket errors "
        f"{run.socket_errors}"
        for run in stream_runs
        if run.failed
    ]
    failed += [
        f"async {run.store}: {run.failed_round_trips} failed round trips, {run.errors} errors"
        for run in async_runs
        if run.failed
    ]
    for message in failed:
        loud(f"{message} -- its figures are not valid")
    total_s = time.perf_counter() - begun
    print(f"\ntotal run time {total_s:.1f} s")

    if args.json is not None:
        report = {
            "machine": host,
            "stream_loader": "wrk" if wrk is not None else "httpx",
            "seconds": args.seconds,
            "rounds": args.rounds,
            "warmup_seconds": WARMUP_S,
            "stream_clients": list(STREAM_CLIENTS),
            "async_clients": ASYNC_CLIENTS,
            "mock_stream_data_lines": sample,
            "events_per_stream_n": events_n,
            "commands": commands,
            "startup_seconds": startup,
            "stream_runs": [asdict(run) for run in stream_runs],
            "stream_best": {
                f"{name}@C={clients}": asdict(run) for (name, clients), run in best.items()
            },
            "stream_ratio": ratios,
            "async_runs": [asdict(run) for run in async_runs],
            "errors": failed,
            "total_seconds": total_s,
        }
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
