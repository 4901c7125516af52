"""Benchmark the mock's stream delivery against a bare SSE endpoint on the same uvicorn.

In one run, on one machine, this starts two servers, each in its own subprocess on uvicorn
(one worker, ``--log-level warning``, the loop/HTTP implementations uvicorn picks itself):

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
alternately for ``--rounds`` rounds. Every round is printed with the server's and the
client's CPU use (per cent of one core); then, for each C, the median and range of the
rounds' mock/bare ratios (each round runs both), the best round of each server and their
ratio (for information), and each server's median and range over the rounds. Target: the
median ratio at least 0.5x, for every C (issue 18: median of at least 5 alternating
rounds). Without wrk, an asyncio ``httpx.AsyncClient`` streams instead; it is slow,
usually the bottleneck itself, and the output says so.

Before any load: one mock stream must parse into chunks that all pass
``contracts.check_response`` and end with ``[DONE]``; the bare stream must have ``N`` lines
and end with ``[DONE]``. Non-2xx answers, socket errors or incomplete streams are reported
loudly and make the exit status 1. ``bench_delivery.py`` runs this and ``bench_async.py``.

Run it from the repository root, in the project's environment::

    python benchmarks/bench_stream.py                         # ~45 s
    python benchmarks/bench_stream.py --seconds 2 --rounds 1 --json bench-stream.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import _cpu  # benchmarks/_cpu.py: run these as scripts from the repository root
import _delivery
import _report
import httpx
from _delivery import DONE_LINE, REQUEST_TIMEOUT_S, STARTUP_LIMIT_S, WARMUP_S, Template
from _servers import (
    API_KEY,
    HEADERS,
    Server,
    bare_command,
    free_port,
    mock_command,
    running,
    wrk_failures,
    wrk_ms,
)

TARGET = 0.5  # mock events/s / bare events/s, at least
CLIENTS = (1, 50)
SAMPLE_STREAMS = 24  # mock replies read to find N
SERVERS = ("mock", "bare")


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


# --------------------------------------------------------------------------------------------
# wrk


LUA = """\
-- written by bench_stream.py: POST a fresh taskUUID each time, count whole SSE replies
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
    non_2xx, socket_errors = wrk_failures(output)
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
        non_2xx=max(failed, non_2xx),
        socket_errors=socket_errors,
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

    done, server_cpu, client_cpu = _cpu.measured(server.pid, _cpu.children_cpu_s, action)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    run = parse_wrk(done.stdout, server.name, clients, round_)
    run.server_cpu_pct, run.client_cpu_pct = server_cpu, client_cpu
    return run


# --------------------------------------------------------------------------------------------
# httpx fallback


def httpx_streams(
    server: Server, path: str, template: Template, clients: int, seconds: int, round_: int
) -> StreamRun:
    url = server.url(path)
    counts = {"events": 0, "streams": 0, "incomplete": 0, "non_2xx": 0, "errors": 0}
    latencies: list[float] = []

    async def stream(client: httpx.AsyncClient) -> None:
        sent = time.perf_counter()
        body = template.body(str(uuid.uuid4()))
        count, last = 0, ""
        try:
            async with client.stream("POST", url, content=body, headers=HEADERS) as reply:
                if reply.status_code != 200:
                    await reply.aread()
                    counts["non_2xx"] += 1
                    return
                async for line in reply.aiter_lines():
                    if line.startswith("data:"):
                        count += 1
                        last = line
        except httpx.HTTPError:
            counts["errors"] += 1
            return
        if last == DONE_LINE:
            counts["streams"] += 1
            counts["events"] += count
            latencies.append(time.perf_counter() - sent)
        else:
            counts["incomplete"] += 1

    elapsed, server_cpu, client_cpu = _delivery.measured(
        server.pid, stream, clients=clients, seconds=seconds
    )
    return StreamRun(
        server=server.name,
        clients=clients,
        round=round_,
        events_per_s=counts["events"] / elapsed,
        streams=counts["streams"],
        events=counts["events"],
        seconds=elapsed,
        p50_ms=_report.percentile_ms(latencies, 0.50),
        p99_ms=_report.percentile_ms(latencies, 0.99),
        server_cpu_pct=server_cpu,
        client_cpu_pct=client_cpu,
        incomplete=counts["incomplete"],
        non_2xx=counts["non_2xx"],
        socket_errors={"httpx": counts["errors"]},
    )


# --------------------------------------------------------------------------------------------
# Checks


def sample_mock_streams(server: Server, model: str) -> list[int]:
    """Check one mock stream chunk by chunk; return the data-line counts of a sample."""
    counts: list[int] = []
    with httpx.Client(timeout=REQUEST_TIMEOUT_S) as client:
        for index in range(SAMPLE_STREAMS):
            payload = _delivery.text_task(model, str(uuid.uuid4()), delivery="stream")
            reply = client.post(server.url(), json=payload, headers=HEADERS)
            kind = reply.headers.get("content-type", "")
            if reply.status_code != 200 or not kind.startswith("text/event-stream"):
                sys.exit(
                    f"FAIL: mock stream answered {reply.status_code} {kind!r}: {reply.text[:500]}"
                )
            lines = _delivery.data_lines(reply.text)
            if not lines or lines[-1] != DONE_LINE or DONE_LINE in lines[:-1]:
                sys.exit(f"FAIL: mock stream does not end with one [DONE]: {reply.text[-500:]}")
            if index == 0:
                for number, line in enumerate(lines[:-1], 1):
                    _delivery.require_contract(
                        json.loads(line[len("data:") :]),
                        payload,
                        f"mock stream chunk {number}/{len(lines) - 1}",
                    )
            counts.append(len(lines))
    return counts


def check_bare_stream(server: Server, path: str, body: bytes, expected: int) -> int:
    reply = httpx.post(server.url(path), content=body, headers=HEADERS, timeout=REQUEST_TIMEOUT_S)
    lines = _delivery.data_lines(reply.text)
    if reply.status_code != 200 or len(lines) != expected or lines[-1] != DONE_LINE:
        sys.exit(
            f"FAIL: bare stream answered {reply.status_code} with {len(lines)} data "
            f"lines (expected {expected}, last [DONE]): {reply.text[-300:]}"
        )
    for line in lines[:-1]:
        json.loads(line[len("data:") :])
    return len(reply.content)


# --------------------------------------------------------------------------------------------
# The run


def measure(*, model: str, wrk: str | None, seconds: int, rounds: int) -> dict[str, Any]:
    """Start both servers, check them, run every round, print it all; return the figures
    (``errors`` lists the failed runs)."""
    template = Template.of(lambda task: _delivery.text_task(model, task, delivery="stream"))
    if wrk is None:
        print(
            "streams : httpx.AsyncClient fallback (wrk not used) -- the client is likely the "
            "bottleneck; these figures are not comparable with wrk's"
        )
    else:
        print(
            f"streams : {wrk} -t1 -cC -d{seconds}s + Lua (fresh taskUUID, whole replies "
            f"read, data: lines counted), C in {CLIENTS}, {WARMUP_S:g} s warm-up, "
            f"{rounds} round(s) alternating, median ratio kept"
        )

    def new_stream() -> bytes:
        return template.body(str(uuid.uuid4()))

    runs: list[StreamRun] = []
    startup: dict[str, float] = {}
    commands: dict[str, list[str]] = {}
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
        warmup = round(WARMUP_S)
        for clients in CLIENTS:
            for round_ in range(1, rounds + 1):
                for name in SERVERS:
                    server, path = servers[name]
                    if wrk is not None:
                        wrk_streams(wrk, script_dir, server, path, template, clients, warmup, 0)
                        run = wrk_streams(
                            wrk, script_dir, server, path, template, clients, seconds, round_
                        )
                    else:
                        httpx_streams(server, path, template, clients, warmup, 0)
                        run = httpx_streams(server, path, template, clients, seconds, round_)
                    runs.append(run)
                    print(
                        f"  C={clients:<3} round {round_} {name:<5} {run.events_per_s:>9,.0f}"
                        f" events/s  {run.streams / run.seconds:>7,.1f} streams/s  p50 "
                        f"{_report.ms(run.p50_ms)} ms  p99 {_report.ms(run.p99_ms)} ms  server "
                        f"cpu {_report.cpu(run.server_cpu_pct)}  client cpu "
                        f"{_report.cpu(run.client_cpu_pct)}{_report.flag(run.failed)}",
                        flush=True,
                    )

    def mine(name: str, clients: int) -> list[StreamRun]:
        return [r for r in runs if r.server == name and r.clients == clients]

    best = {
        (name, clients): max(mine(name, clients), key=lambda r: r.events_per_s)
        for name in SERVERS
        for clients in CLIENTS
    }
    spread = {
        (name, clients): _report.Spread.of([r.events_per_s for r in mine(name, clients)])
        for name in SERVERS
        for clients in CLIENTS
    }
    ratios: dict[str, dict[str, Any]] = {}
    print()
    print(f"{'clients':<9}{'mock ev/s':>12}{'bare ev/s':>12}{'best':>8}   median ratio of rounds")
    for clients in CLIENTS:
        mock_rate = best["mock", clients].events_per_s
        bare_rate = best["bare", clients].events_per_s
        by_round = {(r.server, r.round): r.events_per_s for r in runs if r.clients == clients}
        paired = _report.Spread.of(
            [
                rate / by_round["bare", number] if by_round.get(("bare", number)) else 0.0
                for (server, number), rate in by_round.items()
                if server == "mock"
            ]
        )
        ratio = _report.Ratio(paired.median, target=TARGET)
        ratios[str(clients)] = {**ratio.json(), "rounds": paired.json()}
        best_ratio = mock_rate / bare_rate if bare_rate else 0.0
        print(
            f"C={clients:<7}{mock_rate:>12,.0f}{bare_rate:>12,.0f}{best_ratio:>7.2f}x   "
            f"{ratio.value:.2f}x ({paired.range_text('.2f')})  {ratio.target_text}  "
            f"{ratio.verdict}"
        )
        for name in SERVERS:
            print(f"  {name:<5} events/s {spread[name, clients].text()}")
    if wrk is None:
        print(
            "note: httpx stream fallback -- the client, not the servers, likely sets the "
            "stream rates, so the ratio understates the gap; install wrk for a real "
            "comparison"
        )
    failed = [
        f"stream {run.server} C={run.clients} round {run.round}: "
        f"{run.incomplete} incomplete, {run.non_2xx} non-2xx, socket errors "
        f"{run.socket_errors}"
        for run in runs
        if run.failed
    ]
    return {
        "stream_loader": "wrk" if wrk is not None else "httpx",
        "stream_clients": list(CLIENTS),
        "mock_stream_data_lines": sample,
        "events_per_stream_n": events_n,
        "commands": commands,
        "startup_seconds": startup,
        "stream_runs": [asdict(run) for run in runs],
        "stream_best": {
            f"{name}@C={clients}": asdict(run) for (name, clients), run in best.items()
        },
        "stream_spread": {
            f"{name}@C={clients}": figure.json() for (name, clients), figure in spread.items()
        },
        "stream_ratio": ratios,
        "errors": failed,
    }


def parser(doc: str | None) -> argparse.ArgumentParser:
    """This benchmark's options (``bench_delivery.py`` takes them too)."""
    return _report.parser(
        doc,
        seconds=4,
        rounds=5,
        rounds_help="stream rounds per server and client count, alternating",
        loader=True,
    )


def main(argv: Sequence[str] | None = None) -> int:
    made = parser(__doc__)
    args = _report.parse(made, argv)
    wrk = _report.wrk(made, args)
    return _delivery.run(
        args,
        lambda model: measure(model=model, wrk=wrk, seconds=args.seconds, rounds=args.rounds),
    )


if __name__ == "__main__":
    sys.exit(main())
