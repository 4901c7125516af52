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
* throughput ratio = median req/s through the proxy / median req/s of the upstream, at C = 32;
* CPU time per request of each process (user + system, ``/proc/<pid>/stat``, over each
  measured run, divided by the requests wrk reports), at C = 32 the upstream's alone over the
  proxy's: the throughput ratio a CPU-bound proxy would reach with a core of its own, a figure
  a busy, shared machine moves far less than req/s. Printed beside the throughput ratio.

No target: the figures are printed. The proxy and the upstream share the machine's cores
with wrk (the proxy's own work and the upstream's both count against it), which the machine
line shows. Before any load one POST through the proxy must answer 200 with a body that
``check_response`` accepts and a journal entry with no violation and no drift. Non-2xx
answers or socket errors make the exit status 1. Without ``wrk`` on PATH the load comes from
the bounded asyncio ``httpx`` loop of ``_load.py``, which is usually the bottleneck itself:
its figures are not comparable with wrk's, and the output says so.

Run it from the repository root, in the project's environment::

    python benchmarks/bench_proxy.py                    # ~65 s
    python benchmarks/bench_proxy.py --seconds 2 --rounds 3 --json bench-proxy.json
"""

from __future__ import annotations

import contextlib
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import _report  # benchmarks/_report.py: run these as scripts from the repository root
import httpx
from _load import FALLBACK, WARMUP_S, Load, Run
from _payload import sync_request
from _servers import HEADERS, Server, free_port, mock_command, proxy_command, running

import openapi
from contracts import check_response

STARTUP_LIMIT_S = 15.0
SERVERS = ("upstream", "proxy")
CONCURRENCY = (1, 32)
HEADINGS = ("req/s", "p50 ms", "cpu us/req")


def check_through_the_proxy(proxy: Server, body: bytes, payload: Any) -> int:
    """One POST through the proxy must answer 200 within the contract, journaled with no
    violation and no drift; the reply's size."""
    reply = httpx.post(proxy.url(), content=body, headers=HEADERS, timeout=10)
    problems = check_response(reply.json(), request=payload) if reply.is_success else None
    entries = httpx.get(proxy.url("/__mock/requests"), timeout=10).json()["requests"]
    last = entries[-1] if entries else {}
    if reply.status_code != 200 or problems or last.get("violations") or last.get("drift"):
        sys.exit(
            f"FAIL: through the proxy: {reply.status_code} {reply.text[:300]}; "
            f"check_response: {problems}; journal: {json.dumps(last)[:500]}"
        )
    return len(reply.content)


@dataclass(frozen=True)
class Figures:
    """One server's runs at one concurrency, over the rounds."""

    rate: _report.Spread
    p50: _report.Spread
    cpu: _report.Spread | None  # CPU us per request; None without /proc

    @classmethod
    def of(cls, runs: Sequence[Run]) -> Figures:
        cpu = [r.cpu_us_per_request for r in runs]
        known = [value for value in cpu if value is not None]
        return cls(
            _report.Spread.of([r.requests_per_s for r in runs]),
            _report.Spread.of([r.p50_ms for r in runs]),
            _report.Spread.of(known) if len(known) == len(cpu) else None,
        )

    def row(self) -> str:
        """Median and range of each figure, under ``HEADINGS``."""
        cells = [(self.rate, ",.0f"), (self.p50, ".3f"), (self.cpu, ",.0f")]
        return "".join(
            f"{'n/a':>18}{'':>18}"
            if spread is None
            else f"{spread.median:>18{spec}}{f'{spread.low:{spec}}-{spread.high:{spec}}':>18}"
            for spread, spec in cells
        ).rstrip()

    def json(self) -> dict[str, Any]:
        """(median, min, max) of each figure."""
        spreads = {"requests_per_s": self.rate, "p50_ms": self.p50, "cpu_us_per_request": self.cpu}
        return {
            key: None if spread is None else (spread.median, spread.low, spread.high)
            for key, spread in spreads.items()
        }


def us(value: float | None) -> str:
    """A CPU time per request in microseconds, 6 wide."""
    return "   n/a" if value is None else f"{value:6.0f}"


def main(argv: Sequence[str] | None = None) -> int:
    made = _report.parser(
        __doc__, seconds=4, rounds=3, rounds_help="alternating rounds per concurrency", loader=True
    )
    args = _report.parse(made, argv)
    wrk = _report.wrk(made, args)
    begun = time.perf_counter()
    host = _report.header("uvicorn", "starlette", "httpx", "websockets", uvicorn=True)
    if wrk is None:
        print(f"load    : {FALLBACK}")
    else:
        print(
            f"load    : {wrk} -t1 -c{{{','.join(map(str, CONCURRENCY))}}} -d{args.seconds}s "
            f"--latency, {WARMUP_S:g} s warm-up before each run, {args.rounds} rounds "
            "alternating upstream / proxy; cpu time from /proc around each run"
        )

    spec = openapi.load()
    payload = sync_request(spec.model_id)
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
        size = check_through_the_proxy(servers["proxy"], body, payload)
        print(
            f"check   : 200 through the proxy, {size} bytes, check_response ok, "
            "journaled with no violation and no drift"
        )
        for name in SERVERS:
            print(f"{name:<8}: {' '.join(commands[name])}")
        print()

        load = Load.prepare(wrk, body, Path(stack.enter_context(tempfile.TemporaryDirectory())))
        # Through the proxy the upstream works too: its CPU time is sampled over those runs.
        behind = {"upstream": None, "proxy": servers["upstream"]}
        for connections in CONCURRENCY:
            for round_ in range(1, args.rounds + 1):
                for name in SERVERS:
                    run = load.run(
                        servers[name],
                        connections=connections,
                        seconds=args.seconds,
                        round_=round_,
                        upstream=behind[name],
                    )
                    runs[connections].append(run)
                    upstream_cpu = (
                        f" (+ upstream {us(run.upstream_cpu_us_per_request).strip()})"
                        if name == "proxy"
                        else ""
                    )
                    print(
                        f"  c={connections:<3} round {round_} {name:<8} "
                        f"{run.requests_per_s:>9,.0f} req/s  p50 {run.p50_ms:7.3f} ms  "
                        f"p99 {run.p99_ms:7.3f} ms  cpu {us(run.cpu_us_per_request)} "
                        f"us/request{upstream_cpu}  ({run.requests} requests)"
                        f"{_report.flag(run.failed)}",
                        flush=True,
                    )

    figures: dict[str, Figures] = {}
    print()
    print(f"{'':<14}" + "".join(f"{h + ' median':>18}{'(range)':>18}" for h in HEADINGS))
    for connections in CONCURRENCY:
        for name in SERVERS:
            key = f"c{connections}/{name}"
            figures[key] = Figures.of([r for r in runs[connections] if r.server == name])
            print(f"c={connections:<3}{name:<9}{figures[key].row()}")
    busy = CONCURRENCY[-1]
    one_up, one_px = figures["c1/upstream"], figures["c1/proxy"]
    overhead = one_px.p50.median - one_up.p50.median
    busy_up, busy_px = figures[f"c{busy}/upstream"], figures[f"c{busy}/proxy"]
    ratio = _report.Ratio(busy_px.rate.median / busy_up.rate.median)
    cpu_ratio = (
        _report.Ratio(busy_up.cpu.median / busy_px.cpu.median)
        if busy_up.cpu is not None and busy_px.cpu is not None
        else None
    )
    print()
    print(
        f"overhead per request (c=1, p50 proxy - p50 upstream, medians): {overhead:.3f} ms "
        f"(upstream p50 range {one_up.p50.low:.3f}-{one_up.p50.high:.3f} ms, proxy "
        f"{one_px.p50.low:.3f}-{one_px.p50.high:.3f} ms)"
    )
    print(
        f"throughput through the proxy (c={busy}, medians): {ratio.value:.2f}x the upstream's"
        f"   {ratio.target_text}"
    )
    if cpu_ratio is not None:
        print(
            f"cpu/request (c={busy}, medians): upstream alone over proxy {cpu_ratio.value:.2f}x"
            "   (the throughput ratio if CPU-bound, each on a core of its own)"
        )
    if wrk is None:
        print("note: httpx fallback -- the client likely sets these rates")
    failed = [run.problem for c in CONCURRENCY for run in runs[c] if run.failed]
    return _report.end(
        args,
        host=host,
        begun=begun,
        errors=failed,
        loader=load.loader,
        commands=commands,
        runs={str(c): [asdict(r) for r in runs[c]] for c in CONCURRENCY},
        summary={key: figure.json() for key, figure in figures.items()},
        overhead_ms=overhead,
        throughput_ratio=ratio.value,
        cpu_ratio=None if cpu_ratio is None else cpu_ratio.value,
    )


if __name__ == "__main__":
    sys.exit(main())
