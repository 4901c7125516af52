"""Benchmark the mock server over HTTP against a bare Starlette app on the same uvicorn.

In one run, on one machine, this starts two servers, each in its own subprocess with uvicorn,
one worker, ``--log-level warning`` and the loop/HTTP implementations uvicorn picks itself
(uvloop and httptools when they are installed):

* ``mock`` -- the kit's mock, started the way users start it: ``runware-kit serve --host
  127.0.0.1 --port P --log-level warning --processing-ms 0`` (bundled document, default
  config but no emulated generation time; it does
  everything a real request needs: auth, strict JSON parse, validation, generation, journal);
* ``bare`` -- ``benchmarks/_bare_app.py``: one Starlette route that reads the body and answers
  a fixed JSON reply of about the same size, run with ``python -m uvicorn
  benchmarks._bare_app:app --no-access-log``.

For each it measures:

* start-up time: from process spawn to the first 200 answer to the real POST (polled every
  10 ms, given up after 10 s); target for the mock: under 1 s;
* throughput: ``wrk -t1 -cC -dSs --latency`` POSTing a realistic, valid one-task
  ``textInference`` request (``Authorization: Bearer k``), after a 1 s warm-up. The servers
  are measured alternately, ``--rounds`` rounds (default 5; mock, quiet, bare, mock, ...):
  ``quiet`` is the mock with ``--quiet``, so the difference is the cost of its console line
  per request. Each round's mock/bare ratio compares runs seconds apart; the figure is the
  median of the rounds' ratios, printed with their range. Target: mock (console on) at
  least 0.8x;
* CPU time per request: the server's user + system CPU time (``/proc/<pid>/stat``) over
  each measured run, divided by the requests wrk reports. bare's CPU per request over the
  mock's is the throughput ratio the mock would reach if both were CPU-bound on a core of
  their own -- a figure a busy, shared machine moves far less than req/s. It is printed
  beside the req/s ratio (median of the rounds' ratios, and range); the target is the
  req/s one.

Before any load, one POST to the mock must answer 200 with a body that
``contracts.check_response`` accepts. A run with non-2xx answers or socket errors is
reported loudly (and the exit status is 1). Without ``wrk`` on PATH the load comes from a
bounded asyncio loop of ``httpx.AsyncClient`` requests instead, which is much slower than wrk
and usually the bottleneck itself: its figures are not comparable with wrk's.

Run it from the repository root, in the project's environment::

    python benchmarks/bench_mock.py                      # ~100 s
    python benchmarks/bench_mock.py --seconds 2 --rounds 2 --connections 16 --json bench-mock.json
"""

from __future__ import annotations

import contextlib
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import _report  # benchmarks/_report.py: run these as scripts from the repository root
import httpx
from _load import FALLBACK, WARMUP_S, Load, Run
from _payload import sync_request
from _servers import HEADERS, Server, bare_command, free_port, mock_command, running

import openapi
from contracts import check_response

RATIO_TARGET = 0.8  # mock req/s / bare req/s, at least (issue 18), median of the rounds
STARTUP_TARGET_S = 1.0  # mock spawn-to-first-200, under
STARTUP_LIMIT_S = 10.0
ROUNDS = 5
# "mock": as users start it, one console line per request (to a log file here); "quiet":
# with --quiet, the cost of that line shown by the difference.
SERVERS = ("mock", "quiet", "bare")
MOCKS = ("mock", "quiet")


def check_replies(servers: dict[str, Server], body: bytes, payload: Any) -> dict[str, int]:
    """One POST to each server must answer 200, the mocks' within the contract; the replies'
    sizes."""
    replies: dict[str, int] = {}
    for name, server in servers.items():
        reply = httpx.post(server.url(), content=body, headers=HEADERS, timeout=5.0)
        replies[name] = len(reply.content)
        if reply.status_code != 200:
            sys.exit(f"FAIL: {name} answered {reply.status_code}: {reply.text[:500]}")
        if name != "bare":
            problems = check_response(reply.json(), request=payload)
            if problems:
                sys.exit(
                    "FAIL: the mock's reply breaks the contract:\n"
                    + "\n".join(str(p) for p in problems)
                )
    return replies


def us(value: float | None) -> str:
    """A CPU time per request in microseconds, 6 wide."""
    return "   n/a" if value is None else f"{value:6.0f}"


def main(argv: Sequence[str] | None = None) -> int:
    made = _report.parser(
        __doc__,
        seconds=5,
        rounds=ROUNDS,
        rounds_help="alternating rounds (mock, quiet, bare)",
        connections=32,
        loader=True,
    )
    args = _report.parse(made, argv)
    wrk = _report.wrk(made, args)
    begun = time.perf_counter()
    host = _report.header("uvicorn", "starlette", uvicorn=True)
    if wrk is None:
        print(f"load    : {FALLBACK}")
    else:
        print(
            f"load    : {wrk} -t1 -c{args.connections} -d{args.seconds}s --latency, "
            f"{WARMUP_S:g} s warm-up before each run, {args.rounds} rounds alternating, median; "
            "server cpu time from /proc around each run"
        )

    spec = openapi.load()
    payload = sync_request(spec.model_id)
    body = json.dumps(payload).encode()
    print(f"payload : 1 textInference task, model {spec.model_id}, {len(body)} bytes")

    runs: list[Run] = []
    startup: dict[str, float] = {}
    commands: dict[str, list[str]] = {}
    with contextlib.ExitStack() as stack:
        servers: dict[str, Server] = {}
        builders = {
            "mock": mock_command,
            "quiet": lambda port: mock_command(port, "--quiet"),
            "bare": bare_command,
        }
        for name, build in builders.items():
            port = free_port()
            commands[name] = build(port)
            servers[name] = stack.enter_context(
                running(name, commands[name], port, lambda: body, limit_s=STARTUP_LIMIT_S)
            )
            startup[name] = servers[name].startup_s

        replies = check_replies(servers, body, payload)
        print(
            f"check   : mock answered 200, {replies['mock']} bytes, check_response ok; "
            f"bare answered 200, {replies['bare']} bytes"
        )
        for name in SERVERS:
            print(f"{name:<8}: {' '.join(commands[name])}")
        print()

        load = Load.prepare(wrk, body, Path(stack.enter_context(tempfile.TemporaryDirectory())))
        for round_ in range(1, args.rounds + 1):
            for name in SERVERS:
                run = load.run(
                    servers[name], connections=args.connections, seconds=args.seconds, round_=round_
                )
                runs.append(run)
                print(
                    f"  round {round_} {name:<5} {run.requests_per_s:>10,.0f} req/s  p50 "
                    f"{run.p50_ms:6.2f} ms  p99 {run.p99_ms:6.2f} ms  cpu "
                    f"{us(run.cpu_us_per_request)} us/request  ({run.requests} "
                    f"requests){_report.flag(run.failed)}",
                    flush=True,
                )

    def rates(name: str) -> list[float]:
        return [r.requests_per_s for r in runs if r.server == name]

    def cpu(name: str) -> list[float]:
        return [
            value for r in runs if r.server == name and (value := r.cpu_us_per_request) is not None
        ]

    # A round's ratio compares runs seconds apart (the machine as it was then); the median
    # of the rounds' ratios is the figure, their range the noise.
    ratios = {
        name: [m / b for m, b in zip(rates(name), rates("bare"), strict=True)] for name in MOCKS
    }
    cpu_known = all(len(cpu(name)) == args.rounds for name in SERVERS)
    # bare's CPU per request over the mock's: the req/s ratio of two CPU-bound servers.
    cpu_ratios = (
        {name: [b / m for m, b in zip(cpu(name), cpu("bare"), strict=True)] for name in MOCKS}
        if cpu_known
        else {}
    )
    median = {name: statistics.median(values) for name, values in ratios.items()}
    ratio = _report.Ratio(median["mock"], target=RATIO_TARGET)
    startup_ok = startup["mock"] < STARTUP_TARGET_S

    def show(label: str, text: str) -> None:
        print(f"{label:<28}: {text}".rstrip())

    print()
    for name in SERVERS:
        rate = _report.Spread.of(rates(name)).text()
        show(f"{name} req/s", f"{rate}; start-up {startup[name]:.3f} s")
    for name in SERVERS:
        show(f"{name} cpu us/request", _report.Spread.of(cpu(name)).text() if cpu_known else "n/a")
    print()
    for name in MOCKS:
        spread = _report.Spread.of(ratios[name])
        shown = ratio if name == "mock" else _report.Ratio(median[name])
        show(
            f"ratio {name}/bare req/s",
            f"median {spread.median:.2f}x, {spread.range_text('.2f')}   {shown.target_text}  "
            f"{shown.verdict}",
        )
        if cpu_known:
            by_cpu = _report.Spread.of(cpu_ratios[name])
            show(
                f"ratio bare/{name} cpu/request",
                f"median {by_cpu.median:.2f}x, {by_cpu.range_text('.2f')}   (the req/s ratio "
                "if both were CPU-bound)",
            )
    show(
        "console line cost",
        f"{1 - median['mock'] / median['quiet']:+.1%} of the quiet mock's req/s (median ratios)",
    )
    show(
        "mock start-up",
        f"{startup['mock']:.3f} s   < {STARTUP_TARGET_S:g} s  {_report.verdict(startup_ok)}",
    )
    if wrk is None:
        print(
            "note: httpx fallback -- the client, not the servers, likely sets these rates, "
            "so the ratio understates the gap; install wrk for a real comparison"
        )

    best = {
        name: max((r for r in runs if r.server == name), key=lambda r: r.requests_per_s)
        for name in SERVERS
    }
    failed = [run.problem for run in runs if run.failed]
    return _report.end(
        args,
        host=host,
        begun=begun,
        errors=failed,
        loader=load.loader,
        warmup_seconds=WARMUP_S,
        payload_bytes=len(body),
        reply_bytes=replies,
        commands=commands,
        startup_seconds=startup,
        runs=[asdict(run) for run in runs],
        best={name: asdict(run) for name, run in best.items()},
        ratios=ratios,
        ratio=ratio.json(),
        cpu_us_per_request={
            name: _report.Spread.of(cpu(name)).json() for name in SERVERS if cpu_known
        },
        cpu_ratios=cpu_ratios,
        startup={
            "value": startup["mock"],
            "target": STARTUP_TARGET_S,
            "verdict": _report.verdict(startup_ok),
        },
    )


if __name__ == "__main__":
    sys.exit(main())
