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
  are measured alternately, 5 rounds (mock, quiet, bare, mock, ...): ``quiet`` is the mock
  with ``--quiet``, so the difference is the cost of its console line per request. Each
  round's mock/bare ratio compares runs seconds apart; the figure is the median of the
  rounds' ratios, printed with their range. Target: mock (console on) at least 0.8x.

Before any load, one POST to the mock must answer 200 with a body that
``contracts.check_response`` accepts. A run with non-2xx answers or socket errors is
reported loudly (and the exit status is 1). Without ``wrk`` on PATH the load comes from a
bounded asyncio loop of ``httpx.AsyncClient`` requests instead, which is much slower than wrk
and usually the bottleneck itself: its figures are not comparable with wrk's.

Run it from the repository root, in the project's environment::

    python benchmarks/bench_mock.py                      # ~100 s
    python benchmarks/bench_mock.py --seconds 2 --connections 16 --json bench-mock.json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import shutil
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

import _machine  # benchmarks/_machine.py: run these as scripts from the repository root
import httpx
from _servers import (
    API_KEY,
    HEADERS,
    Server,
    bare_command,
    free_port,
    mock_command,
    running,
    wrk_ms,
)

import openapi
from contracts import check_response

RATIO_TARGET = 0.8  # mock req/s / bare req/s, at least (issue 18), median of the rounds
STARTUP_TARGET_S = 1.0  # mock spawn-to-first-200, under
STARTUP_LIMIT_S = 10.0
WARMUP_S = 1.0
ROUNDS = 5
# "mock": as users start it, one console line per request (to a log file here); "quiet":
# with --quiet, the cost of that line shown by the difference.
SERVERS = ("mock", "quiet", "bare")


# --------------------------------------------------------------------------------------------
# Payload


def request_payload(model: str) -> list[dict[str, Any]]:
    """A realistic, valid one-task text-inference request."""
    return [
        {
            "taskType": "textInference",
            "taskUUID": str(uuid.uuid4()),
            "model": model,
            "messages": [
                {"role": "user", "content": "What is the capital of Australia?"},
                {"role": "assistant", "content": "The capital of Australia is Canberra."},
                {"role": "user", "content": "Why was Canberra chosen over Sydney or Melbourne?"},
            ],
            "settings": {
                "temperature": 0.57,
                "topP": 0.9,
                "maxTokens": 256,
                "stopSequences": ["\n\n"],
            },
            "includeUsage": True,
        }
    ]


# --------------------------------------------------------------------------------------------
# Load


@dataclass
class Run:
    """One measured load run."""

    server: str
    round: int
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int = 0
    socket_errors: dict[str, int] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.non_2xx > 0 or any(self.socket_errors.values())


LUA = """\
wrk.method = "POST"
wrk.body = [==[{body}]==]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {key}"
"""


def parse_wrk(output: str, server: str, round_: int) -> Run:
    """Requests/sec, p50/p99, request count, non-2xx and socket errors from ``wrk --latency``."""

    def find(pattern: str) -> re.Match[str]:
        found = re.search(pattern, output, re.MULTILINE)
        if found is None:
            raise RuntimeError(f"cannot find {pattern!r} in wrk's output:\n{output}")
        return found

    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return Run(
        server=server,
        round=round_,
        requests_per_s=float(find(r"^Requests/sec:\s+([\d.]+)").group(1)),
        p50_ms=wrk_ms(find(r"^\s+50%\s+(\S+)").group(1)),
        p99_ms=wrk_ms(find(r"^\s+99%\s+(\S+)").group(1)),
        requests=int(find(r"^\s+(\d+) requests in").group(1)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=dict(
            zip(("connect", "read", "write", "timeout"), map(int, errors.groups()), strict=True)
        )
        if errors
        else {},
    )


def wrk_run(
    wrk: str, script: Path, url: str, connections: int, seconds: float, server: str, round_: int
) -> Run:
    whole = max(1, round(seconds))
    command = [wrk, "-t1", f"-c{connections}", f"-d{whole}s", "--latency", "-s", str(script), url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=whole + 30, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return parse_wrk(done.stdout, server, round_)


async def _httpx_load(
    url: str, body: bytes, connections: int, seconds: float
) -> tuple[int, int, int, list[float], float]:
    latencies: list[float] = []
    counts = {"ok": 0, "non_2xx": 0, "errors": 0}
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(limits=limits, timeout=5.0) as client:
        started = time.perf_counter()
        deadline = started + seconds

        async def worker() -> None:
            while time.perf_counter() < deadline:
                sent = time.perf_counter()
                try:
                    response = await client.post(url, content=body, headers=HEADERS)
                except httpx.HTTPError:
                    counts["errors"] += 1
                    continue
                latencies.append(time.perf_counter() - sent)
                counts["ok" if 200 <= response.status_code < 400 else "non_2xx"] += 1

        await asyncio.wait_for(
            asyncio.gather(*(worker() for _ in range(connections))), timeout=seconds + 15
        )
        elapsed = time.perf_counter() - started
    return counts["ok"], counts["non_2xx"], counts["errors"], latencies, elapsed


def httpx_run(
    url: str, body: bytes, connections: int, seconds: float, server: str, round_: int
) -> Run:
    ok, non_2xx, errors, latencies, elapsed = asyncio.run(
        _httpx_load(url, body, connections, seconds)
    )
    ordered = sorted(latencies) or [0.0]

    def pct(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return Run(
        server=server,
        round=round_,
        requests_per_s=(ok + non_2xx) / elapsed,
        p50_ms=pct(0.50),
        p99_ms=pct(0.99),
        requests=ok + non_2xx,
        non_2xx=non_2xx,
        socket_errors={"httpx": errors},
    )


# --------------------------------------------------------------------------------------------
# Reporting


def machine() -> dict[str, Any]:
    return _machine.machine("uvicorn", "starlette", "uvloop", "httptools")


verdict, loud = _machine.verdict, _machine.loud


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--seconds",
        type=int,
        default=5,
        help="length of each measured run, whole seconds (default 5)",
    )
    parser.add_argument(
        "--connections", type=int, default=32, help="concurrent connections (default 32)"
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the numbers here")
    parser.add_argument(
        "--loader",
        choices=("auto", "wrk", "httpx"),
        default="auto",
        help="load generator: wrk when on PATH (auto), or the httpx fallback",
    )
    args = parser.parse_args(argv)
    if args.seconds < 1 or args.connections < 1:
        parser.error("--seconds and --connections must be at least 1")

    host = machine()
    print(f"machine : {host['cpu']} | nproc {host['nproc']} | {host['platform']}")
    print(f"python  : {host['python']} | uvicorn {host['uvicorn']} | starlette {host['starlette']}")
    print(
        f"uvicorn : loop {'uvloop ' + host['uvloop'] if host['uvloop'] else 'asyncio'}, http "
        f"{'httptools ' + host['httptools'] if host['httptools'] else 'h11'} (auto-picked; "
        f"uvloop {'installed' if host['uvloop'] else 'NOT installed'}, httptools "
        f"{'installed' if host['httptools'] else 'NOT installed'})"
    )

    wrk = shutil.which("wrk") if args.loader != "httpx" else None
    if args.loader == "wrk" and wrk is None:
        parser.error("wrk is not on PATH")
    if wrk is None:
        print(
            "load    : httpx.AsyncClient fallback (wrk not used) -- the client is likely the "
            "bottleneck; these figures are not comparable with wrk's"
        )
    else:
        print(
            f"load    : {wrk} -t1 -c{args.connections} -d{args.seconds}s --latency, "
            f"{WARMUP_S:g} s warm-up before each run, {ROUNDS} rounds alternating, median"
        )

    spec = openapi.load()
    payload = request_payload(spec.model_id)
    body = json.dumps(payload).encode()
    print(f"payload : 1 textInference task, model {spec.model_id}, {len(body)} bytes")

    runs: list[Run] = []
    startup: dict[str, float] = {}
    replies: dict[str, int] = {}
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
        print(
            f"check   : mock answered 200, {replies['mock']} bytes, check_response ok; "
            f"bare answered 200, {replies['bare']} bytes"
        )
        print(f"mock    : {' '.join(commands['mock'])}")
        print(f"quiet   : {' '.join(commands['quiet'])}")
        print(f"bare    : {' '.join(commands['bare'])}")
        print()

        script_dir = stack.enter_context(tempfile.TemporaryDirectory())
        script = Path(script_dir) / "post.lua"
        script.write_text(LUA.format(body=body.decode(), key=API_KEY), encoding="utf-8")
        for round_ in range(1, ROUNDS + 1):
            for name in SERVERS:
                url = servers[name].url()
                if wrk is not None:
                    wrk_run(wrk, script, url, args.connections, WARMUP_S, name, 0)
                    run = wrk_run(wrk, script, url, args.connections, args.seconds, name, round_)
                else:
                    httpx_run(url, body, args.connections, WARMUP_S, name, 0)
                    run = httpx_run(url, body, args.connections, args.seconds, name, round_)
                runs.append(run)
                flag = "  <-- ERRORS" if run.failed else ""
                print(
                    f"  round {round_} {name:<5} {run.requests_per_s:>10,.0f} req/s  p50 "
                    f"{run.p50_ms:6.2f} ms  p99 {run.p99_ms:6.2f} ms  ({run.requests} "
                    f"requests){flag}",
                    flush=True,
                )

    def rates(name: str) -> list[float]:
        return [r.requests_per_s for r in runs if r.server == name]

    # A round's ratio compares runs seconds apart (the machine as it was then); the median
    # of the rounds' ratios is the figure, their range the noise.
    ratios = {
        name: [m / b for m, b in zip(rates(name), rates("bare"), strict=True)]
        for name in ("mock", "quiet")
    }
    median = {name: statistics.median(values) for name, values in ratios.items()}
    best = {
        name: max((r for r in runs if r.server == name), key=lambda r: r.requests_per_s)
        for name in SERVERS
    }
    ratio = median["mock"]
    ratio_ok = ratio >= RATIO_TARGET
    startup_ok = startup["mock"] < STARTUP_TARGET_S

    print()
    print(f"{'server':<8}{'median req/s':>14}{'range':>22}{'start-up s':>13}")
    for name in SERVERS:
        values = rates(name)
        print(
            f"{name:<8}{statistics.median(values):>14,.0f}{min(values):>11,.0f} - "
            f"{max(values):<9,.0f}{startup[name]:>13.3f}"
        )
    print()
    for name in ("mock", "quiet"):
        print(
            f"ratio {name}/bare req/s : median {median[name]:.2f}x, range "
            f"{min(ratios[name]):.2f}-{max(ratios[name]):.2f}x over {ROUNDS} rounds"
            + (f"   target >= {RATIO_TARGET:g}x   {verdict(ratio_ok)}" if name == "mock" else "")
        )
    print(
        f"console line cost     : {1 - median['mock'] / median['quiet']:+.1%} of the quiet "
        "mock's req/s (median ratios)"
    )
    print(
        f"mock start-up         : {startup['mock']:.3f} s  target < {STARTUP_TARGET_S:g} s"
        f"   {verdict(startup_ok)}"
    )
    if wrk is None:
        print(
            "note: httpx fallback -- the client, not the servers, likely sets these rates, "
            "so the ratio understates the gap; install wrk for a real comparison"
        )

    failed = [run for run in runs if run.failed]
    for run in failed:
        loud(
            f"{run.server} round {run.round}: {run.non_2xx} non-2xx answers, socket errors "
            f"{run.socket_errors} -- its figures are not valid"
        )

    if args.json is not None:
        report = {
            "machine": host,
            "loader": "wrk" if wrk is not None else "httpx",
            "seconds": args.seconds,
            "connections": args.connections,
            "warmup_seconds": WARMUP_S,
            "payload_bytes": len(body),
            "reply_bytes": replies,
            "commands": commands,
            "startup_seconds": startup,
            "runs": [asdict(run) for run in runs],
            "best": {name: asdict(run) for name, run in best.items()},
            "ratios": ratios,
            "ratio": {"value": ratio, "target": RATIO_TARGET, "verdict": verdict(ratio_ok)},
            "startup": {
                "value": startup["mock"],
                "target": STARTUP_TARGET_S,
                "verdict": verdict(startup_ok),
            },
            "errors": bool(failed),
        }
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"\nwrote {args.json}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
