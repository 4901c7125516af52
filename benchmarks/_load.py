"""The sync POST load of ``bench_mock.py``, ``bench_proxy.py`` and ``bench_catalog.py``.

A run is ``wrk -t1 -cC -dSs --latency`` POSTing one body (a Lua script sets it and the
headers), or, without wrk, a bounded asyncio loop of ``httpx.AsyncClient`` requests, much
slower than wrk and usually the bottleneck itself. :meth:`Load.run` makes a warm-up run, then
the measured one, the server's CPU time (utime + stime of its process tree, from
``/proc/<pid>/stat``) sampled just before and after it: divided by the requests the run
made, the server's CPU time per request. On a busy, shared machine that figure moves far
less than req/s, and a server that is CPU-bound reaches the inverse of it: two servers' CPU
times per request are the throughput ratio they would show on cores of their own.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import _cpu  # benchmarks/_cpu.py: run these as scripts from the repository root
import httpx
from _servers import API_KEY, HEADERS, Server, wrk_failures, wrk_ms

__all__ = ["FALLBACK", "LUA", "WARMUP_S", "Load", "Run", "per_request_us"]

WARMUP_S = 1.0
FALLBACK = (
    "httpx.AsyncClient fallback (wrk not used) -- the client is likely the bottleneck; these "
    "figures are not comparable with wrk's"
)
LUA = """\
wrk.method = "POST"
wrk.body = [==[{body}]==]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {key}"
"""


def per_request_us(cpu_s: float | None, requests: int) -> float | None:
    """CPU microseconds per request; None when the CPU time is unknown or nothing ran."""
    return None if cpu_s is None or requests <= 0 else cpu_s / requests * 1e6


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
    server_cpu_s: float | None = None  # over the run, from /proc (None: not on Linux)
    cpu_us_per_request: float | None = None
    upstream_cpu_us_per_request: float | None = None  # a proxy's upstream, over the same run

    @property
    def failed(self) -> bool:
        return self.non_2xx > 0 or any(self.socket_errors.values())

    @property
    def problem(self) -> str:
        """What went wrong in a failed run, for ``_report.shout``."""
        return (
            f"{self.server} round {self.round}: {self.non_2xx} non-2xx answers, socket errors "
            f"{self.socket_errors}"
        )


def parse_wrk(output: str, server: str, round_: int) -> Run:
    """Requests/sec, p50/p99, request count, non-2xx and socket errors from ``wrk --latency``."""

    def find(pattern: str) -> re.Match[str]:
        found = re.search(pattern, output, re.MULTILINE)
        if found is None:
            raise RuntimeError(f"cannot find {pattern!r} in wrk's output:\n{output}")
        return found

    non_2xx, socket_errors = wrk_failures(output)
    return Run(
        server=server,
        round=round_,
        requests_per_s=float(find(r"^Requests/sec:\s+([\d.]+)").group(1)),
        p50_ms=wrk_ms(find(r"^\s+50%\s+(\S+)").group(1)),
        p99_ms=wrk_ms(find(r"^\s+99%\s+(\S+)").group(1)),
        requests=int(find(r"^\s+(\d+) requests in").group(1)),
        non_2xx=non_2xx,
        socket_errors=socket_errors,
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


def _cpu_s(pid: int | None) -> float | None:
    return None if pid is None else _cpu.tree_cpu_s(pid)


def _spent(before: float | None, after: float | None) -> float | None:
    return None if before is None or after is None else after - before


@dataclass(frozen=True)
class Load:
    """How the runs load a server: ``wrk`` (its path) with a Lua script POSTing ``body``,
    or the httpx fallback when ``wrk`` is None."""

    wrk: str | None
    body: bytes
    script: Path

    @classmethod
    def prepare(cls, wrk: str | None, body: bytes, folder: Path) -> Load:
        """Write the Lua script for ``body`` into ``folder``."""
        script = folder / "post.lua"
        script.write_text(LUA.format(body=body.decode(), key=API_KEY), encoding="utf-8")
        return cls(wrk, body, script)

    @property
    def loader(self) -> str:
        """``wrk`` or ``httpx``, for the JSON report."""
        return "wrk" if self.wrk is not None else "httpx"

    def _once(self, url: str, connections: int, seconds: float, name: str, round_: int) -> Run:
        if self.wrk is not None:
            return wrk_run(self.wrk, self.script, url, connections, seconds, name, round_)
        return httpx_run(url, self.body, connections, seconds, name, round_)

    def run(
        self,
        server: Server,
        *,
        connections: int,
        seconds: int,
        round_: int,
        name: str | None = None,
        upstream: Server | None = None,
    ) -> Run:
        """A ``WARMUP_S`` warm-up, then the measured run of ``seconds``, named ``name``
        (default: the server's), with ``server``'s CPU time per request over it (and
        ``upstream``'s, the process a proxy forwards to)."""
        url, label = server.url(), name or server.name
        self._once(url, connections, WARMUP_S, label, 0)
        upstream_pid = None if upstream is None else upstream.pid
        before, upstream_before = _cpu_s(server.pid), _cpu_s(upstream_pid)
        run = self._once(url, connections, seconds, label, round_)
        after, upstream_after = _cpu_s(server.pid), _cpu_s(upstream_pid)
        run.server_cpu_s = _spent(before, after)
        run.cpu_us_per_request = per_request_us(run.server_cpu_s, run.requests)
        if upstream is not None:
            upstream_cpu = _spent(upstream_before, upstream_after)
            run.upstream_cpu_us_per_request = per_request_us(upstream_cpu, run.requests)
        return run
