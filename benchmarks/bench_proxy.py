"""Benchmark the proxy's overhead: the upstream alone, and the same upstream through the proxy.

In one run, on one machine, this starts two processes, each on uvicorn with one worker and
``--log-level warning`` (loop and HTTP implementations as uvicorn picks them):

* ``upstream`` -- the kit's mock, as users start it: ``runware-kit serve --host 127.0.0.1
  --port U --log-level warning --processing-ms 0``;
* ``proxy`` -- ``runware-kit proxy --target http://127.0.0.1:U/v1 --host 127.0.0.1 --port P
  --log-level warning`` in front of it: every request is forwarded (httpx), judged on both
  sides (``check_request``, ``check_response``) and journaled.

Load: ``wrk -t1 -cC -dSs --latency`` POSTing the realistic, valid one-task sync
``textInference`` request of ``bench_mock.py`` (``Authorization: Bearer k``), after a 1 s
warm-up, at two concurrencies: ``C = 1`` (latency: what one request pays for the proxy) and
``C = 32`` (throughput). ``upstream`` and ``proxy`` are measured alternately, ``--rounds``
times (default 3); every round is printed, then per server the median and the range
(min-max) of req/s and p50 latency, and:

* overhead per request = median p50 through the proxy - median p50 of the upstream, at C = 1;
* throughput ratio = median req/s through the proxy / median req/s of the upstream, at C = 32.

No target: the figures are printed. The proxy and the upstream share the machine's cores
with wrk (the proxy's own work and the upstream's both count against it), which the machine
line shows. Before any load one POST through the proxy must answer 200 with a body that
``check_response`` accepts and a journal entry with no violation and no drift. Non-2xx
answers or socket errors make the exit status 1. Without ``wrk`` on PATH the load comes from
the bounded asyncio ``httpx`` loop of ``bench_mock.py``, which is usually the bottleneck
itself: its figures are not comparable with wrk's, and the output says so.

Run it from the repository root, in the project's environment::

    python benchmarks/bench_proxy.py                    # ~65 s
    python benchmarks/bench_proxy.py --seconds 2 --rounds 3 --json bench-proxy.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import statistics
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import _machine  # benchmarks/_machine.py: run these as scripts from the repository root
import httpx
from _servers import API_KEY, HEADERS, HOST, Server, free_port, mock_command, running
from bench_mock import LUA, Run, httpx_run, request_payload, wrk_run

import openapi
from contracts import check_response

STARTUP_LIMIT_S = 15.0
WARMUP_S = 1.0
SERVERS = ("upstream", "proxy")
CONCURRENCY = (1, 32)


def proxy_command(port: int, upstream_port: int) -> list[str]:
    """``runware-kit proxy`` from this interpreter's environment (else ``-m mockserver``)."""
    script = shutil.which("runware-kit", path=str(Path(sys.executable).parent))
    start = [script] if script else [sys.executable, "-m", "mockserver"]
    return [
        *start,
        "proxy",
        "--target",
        f"http://{HOST}:{upstream_port}/v1",
        "--host",
        HOST,
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]


def median_range(values: Sequence[float]) -> tuple[float, float, float]:
    return statistics.median(values), min(values), max(values)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--seconds",
        type=int,
        default=4,
        help="length of each measured run, whole seconds (default 4)",
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="alternating rounds per concurrency (default 3)"
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the numbers here")
    parser.add_argument(
        "--loader",
        choices=("auto", "wrk", "httpx"),
        default="auto",
        help="load generator: wrk when on PATH (auto), or the httpx fallback",
    )
    args = parser.parse_args(argv)
    if args.seconds < 1 or args.rounds < 1:
        parser.error("--seconds and --rounds must be at least 1")

    host = _machine.machine("uvicorn", "starlette", "httpx", "websockets", "uvloop", "httptools")
    print(f"machine : {host['cpu']} | nproc {host['nproc']} | {host['platform']}")
    print(
        f"python  : {host['python']} | uvicorn {host['uvicorn']} | starlette "
        f"{host['starlette']} | httpx {host['httpx']}"
    )
    print(
        f"uvicorn : loop {'uvloop ' + host['uvloop'] if host['uvloop'] else 'asyncio'}, http "
        f"{'httptools ' + host['httptools'] if host['httptools'] else 'h11'} (auto-picked)"
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
            f"load    : {wrk} -t1 -c{{{','.join(map(str, CONCURRENCY))}}} -d{args.seconds}s "
            f"--latency, {WARMUP_S:g} s warm-up before each run, {args.rounds} rounds "
            "alternating upstream / proxy"
        )

    spec = openapi.load()
    payload = request_payload(spec.model_id)
    body = json.dumps(payload).encode()
    print(f"payload : 1 sync textInference task, model {spec.model_id}, {len(body)} bytes")

    runs: dict[int, list[Run]] = {c: [] for c in CONCURRENCY}
    commands: dict[str, list[str]] = {}
    with contextlib.ExitStack() as stack:
        up_port, proxy_port = free_port(), free_port()
        commands["upstream"] = mock_command(up_port)
        commands["proxy"] = proxy_command(proxy_port, up_port)
        servers: dict[str, Server] = {}
        for name in SERVERS:
            port = up_port if name == "upstream" else proxy_port
            servers[name] = stack.enter_context(
                running(name, commands[name], port, lambda: body, limit_s=STARTUP_LIMIT_S)
            )
        reply = httpx.post(servers["proxy"].url(), content=body, headers=HEADERS, timeout=10)
        problems = check_response(reply.json(), request=payload) if reply.is_success else None
        entries = httpx.get(servers["proxy"].url("/__mock/requests"), timeout=10).json()["requests"]
        last = entries[-1] if entries else {}
        if reply.status_code != 200 or problems or last.get("violations") or last.get("drift"):
            sys.exit(
                f"FAIL: through the proxy: {reply.status_code} {reply.text[:300]}; "
                f"check_response: {problems}; journal: {json.dumps(last)[:500]}"
            )
        print(
            f"check   : 200 through the proxy, {len(reply.content)} bytes, check_response ok, "
            "journaled with no violation and no drift"
        )
        for name in SERVERS:
            print(f"{name:<8}: {' '.join(commands[name])}")
        print()

        script_dir = stack.enter_context(tempfile.TemporaryDirectory())
        script = Path(script_dir) / "post.lua"
        script.write_text(LUA.format(body=body.decode(), key=API_KEY), encoding="utf-8")
        for connections in CONCURRENCY:
            for round_ in range(1, args.rounds + 1):
                for name in SERVERS:
                    url = servers[name].url()
                    if wrk is not None:
                        wrk_run(wrk, script, url, connections, WARMUP_S, name, 0)
                        run = wrk_run(wrk, script, url, connections, args.seconds, name, round_)
                    else:
                        httpx_run(url, body, connections, WARMUP_S, name, 0)
                        run = httpx_run(url, body, connections, args.seconds, name, round_)
                    runs[connections].append(run)
                    flag = "  <-- ERRORS" if run.failed else ""
                    print(
                        f"  c={connections:<3} round {round_} {name:<8} "
                        f"{run.requests_per_s:>9,.0f} req/s  p50 {run.p50_ms:7.3f} ms  "
                        f"p99 {run.p99_ms:7.3f} ms  ({run.requests} requests){flag}",
                        flush=True,
                    )

    summary: dict[str, Any] = {}
    print()
    print(f"{'':<14}{'req/s median':>14}{'(range)':>20}{'p50 ms median':>15}{'(range)':>18}")
    for connections in CONCURRENCY:
        for name in SERVERS:
            mine = [r for r in runs[connections] if r.server == name]
            rate = median_range([r.requests_per_s for r in mine])
            p50 = median_range([r.p50_ms for r in mine])
            summary[f"c{connections}/{name}"] = {"requests_per_s": rate, "p50_ms": p50}
            print(
                f"c={connections:<3}{name:<9}{rate[0]:>14,.0f}{f'{rate[1]:,.0f}-{rate[2]:,.0f}':>20}"
                f"{p50[0]:>15.3f}{f'{p50[1]:.3f}-{p50[2]:.3f}':>18}"
            )
    one_up, one_px = summary["c1/upstream"]["p50_ms"], summary["c1/proxy"]["p50_ms"]
    overhead = one_px[0] - one_up[0]
    busy = CONCURRENCY[-1]
    ratio = (
        summary[f"c{busy}/proxy"]["requests_per_s"][0]
        / summary[f"c{busy}/upstream"]["requests_per_s"][0]
    )
    print()
    print(
        f"overhead per request (c=1, p50 proxy - p50 upstream, medians): {overhead:.3f} ms "
        f"(upstream p50 range {one_up[1]:.3f}-{one_up[2]:.3f} ms, proxy "
        f"{one_px[1]:.3f}-{one_px[2]:.3f} ms)"
    )
    print(f"throughput through the proxy (c={busy}, medians): {ratio:.2f}x the upstream's")
    if wrk is None:
        print("note: httpx fallback -- the client likely sets these rates")
    failed = [run for c in CONCURRENCY for run in runs[c] if run.failed]
    for run in failed:
        _machine.loud(
            f"{run.server} round {run.round}: {run.non_2xx} non-2xx answers, socket "
            f"errors {run.socket_errors} -- its figures are not valid"
        )
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                {
                    "machine": host,
                    "loader": "wrk" if wrk is not None else "httpx",
                    "seconds": args.seconds,
                    "rounds": args.rounds,
                    "commands": commands,
                    "runs": {str(c): [asdict(r) for r in runs[c]] for c in CONCURRENCY},
                    "summary": summary,
                    "overhead_ms": overhead,
                    "throughput_ratio": ratio,
                    "errors": bool(failed),
                },
                indent=2,
            )
            + "\n",
            encoding="utf-8",
        )
        print(f"\nwrote {args.json}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
