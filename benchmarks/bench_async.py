"""Benchmark the mock's async delivery: submit + getResponse round trips, per task store.

In one run, on one machine, this measures round trips per second of: ``POST`` an async task
(one ``textInference`` task, ``"deliveryMethod": "async"``, fresh taskUUID) -> 200 ack, then
``POST [{"taskType": "getResponse", ...}]`` until ``data[0].status == "success"`` (with
``--processing-ms 0``, normally one poll), from 16 concurrent asyncio loops for
``--seconds`` after a 1 s warm-up, each loop with its own one-connection
``httpx.AsyncClient`` (see ``_delivery.new_client``; the client's loop is uvloop when
installed), ``--rounds`` runs per store (default 1), against mocks on uvicorn started as
users start them (``runware-kit serve --host 127.0.0.1 --port P --log-level warning
--processing-ms 0``), one after the other:

* ``memory`` -- the default in-memory store;
* ``redis`` -- ``--store redis://127.0.0.1:R/0`` on a private ``redis-server --port R --bind
  127.0.0.1 --save "" --appendonly no`` in a temporary directory;
* ``redis x2`` -- the same with ``--workers 2`` (two processes sharing the store).

No reference and no target: every run is printed, then each store's median and range. The
client is one Python process, usually the limit here; the client's and the server's CPU use
(per cent of one core, from /proc and getrusage; the redis-server's too) are printed next to
every figure to show which side is saturated. Without ``redis-server`` on PATH, or with
``--no-redis``, only ``memory`` runs.

Before any load, for each store, one round trip's ack and ``success`` reply must pass
``contracts.check_response``. Failed round trips or request errors are reported loudly and
make the exit status 1. ``bench_delivery.py`` runs this and ``bench_stream.py``.

Run it from the repository root, in the project's environment::

    python benchmarks/bench_async.py                          # ~20 s
    python benchmarks/bench_async.py --seconds 2 --rounds 3 --json bench-async.json
"""

from __future__ import annotations

import contextlib
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import _cpu  # benchmarks/_cpu.py: run these as scripts from the repository root
import _delivery
import _report
import httpx
from _delivery import REQUEST_TIMEOUT_S, STARTUP_LIMIT_S, WARMUP_S, Template
from _servers import HEADERS, HOST, Server, free_port, mock_command, running, stop, tail

CLIENTS = 16
MAX_POLLS = 100  # getResponse polls per round trip before it counts as failed
POLL_S = 0.01


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
    round: int = 1

    @property
    def failed(self) -> bool:
        return bool(self.failed_round_trips or self.errors)


# --------------------------------------------------------------------------------------------
# redis-server


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


def redis_version(binary: str) -> str:
    done = subprocess.run(
        [binary, "--version"], capture_output=True, text=True, timeout=10, check=False
    )
    found = re.search(r"v=(\S+)", done.stdout)
    return found.group(1) if found else done.stdout.strip()


# --------------------------------------------------------------------------------------------
# Load


def async_run(
    server: Server,
    store: str,
    submit: Template,
    poll: Template,
    seconds: float,
    redis_pid: int | None,
    round_: int,
) -> AsyncRun:
    url = server.url()
    counts = {"ok": 0, "polls": 0, "failed": 0, "errors": 0}
    latencies: list[float] = []

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

    async def timed(client: httpx.AsyncClient) -> None:
        sent = time.perf_counter()
        try:
            ok = await round_trip(client)
        except (httpx.HTTPError, ValueError, KeyError, IndexError):
            counts["errors"] += 1
            return
        if ok:
            counts["ok"] += 1
            latencies.append(time.perf_counter() - sent)
        else:
            counts["failed"] += 1

    redis_before = None if redis_pid is None else _cpu.tree_cpu_s(redis_pid)
    started = time.perf_counter()
    elapsed, server_cpu, client_cpu = _delivery.measured(
        server.pid, timed, clients=CLIENTS, seconds=seconds
    )
    redis_after = None if redis_pid is None else _cpu.tree_cpu_s(redis_pid)
    redis_cpu = _cpu.percent(
        None if redis_before is None or redis_after is None else redis_after - redis_before,
        time.perf_counter() - started,
    )
    return AsyncRun(
        store=store,
        round_trips_per_s=counts["ok"] / elapsed,
        round_trips=counts["ok"],
        polls=counts["polls"],
        seconds=elapsed,
        p50_ms=_report.percentile_ms(latencies, 0.50),
        p99_ms=_report.percentile_ms(latencies, 0.99),
        server_cpu_pct=server_cpu,
        client_cpu_pct=client_cpu,
        redis_cpu_pct=redis_cpu,
        failed_round_trips=counts["failed"],
        errors=counts["errors"],
        round=round_,
    )


# --------------------------------------------------------------------------------------------
# Checks


def check_round_trip(server: Server, model: str, store: str) -> None:
    task_uuid = str(uuid.uuid4())
    payload = _delivery.text_task(model, task_uuid, delivery="async")
    with httpx.Client(timeout=REQUEST_TIMEOUT_S) as client:
        ack = client.post(server.url(), json=payload, headers=HEADERS)
        if ack.status_code != 200:
            sys.exit(f"FAIL: {store}: async submit answered {ack.status_code}: {ack.text[:500]}")
        _delivery.require_contract(ack.json(), payload, f"{store}: the async ack")
        for _ in range(MAX_POLLS):
            poll = _delivery.poll_payload(task_uuid)
            reply = client.post(server.url(), json=poll, headers=HEADERS)
            if reply.status_code != 200:
                sys.exit(
                    f"FAIL: {store}: getResponse answered {reply.status_code}: {reply.text[:500]}"
                )
            body = reply.json()
            status = body["data"][0].get("status")
            if status == "success":
                _delivery.require_contract(body, payload, f"{store}: the getResponse success reply")
                return
            if status != "processing":
                sys.exit(f"FAIL: {store}: getResponse status {status!r}: {reply.text[:500]}")
    sys.exit(f"FAIL: {store}: no success after {MAX_POLLS} polls")


# --------------------------------------------------------------------------------------------
# The run


def measure(*, model: str, seconds: int, rounds: int, redis: bool) -> dict[str, Any]:
    """Start a mock per store, check it, run every round, print it all; return the figures
    (``errors`` lists the failed runs). ``redis``: also the Redis stores, when
    ``redis-server`` is on PATH."""
    submit = Template.of(lambda task: _delivery.text_task(model, task, delivery="async"))
    poll = Template.of(_delivery.poll_payload)
    redis_binary = shutil.which("redis-server") if redis else None
    print(
        f"async   : {CLIENTS} asyncio loops ("
        f"{_delivery.client_loop()}), each its own 1-connection "
        f"httpx.AsyncClient, {seconds} s after {WARMUP_S:g} s warm-up, {rounds} "
        f"run{'s' if rounds != 1 else ''} per store -- one Python client process, likely the "
        "bottleneck"
    )

    def new_submit() -> bytes:
        return submit.body(str(uuid.uuid4()))

    runs: list[AsyncRun] = []
    startup: dict[str, float] = {}
    commands: dict[str, list[str]] = {}

    def store_runs(server: Server, store: str, redis_pid: int | None = None) -> None:
        check_round_trip(server, model, store)
        async_run(server, store, submit, poll, WARMUP_S, redis_pid, 0)
        for round_ in range(1, rounds + 1):
            run = async_run(server, store, submit, poll, seconds, redis_pid, round_)
            runs.append(run)
            print(
                f"  {store:<9} round {round_} {run.round_trips_per_s:>8,.0f} round trips/s  "
                f"p50 {_report.ms(run.p50_ms)} ms  p99 {_report.ms(run.p99_ms)} ms  "
                f"({run.round_trips} round trips, {run.polls / max(run.round_trips, 1):.2f} "
                f"polls each)  server cpu {_report.cpu(run.server_cpu_pct)}"
                + (
                    ""
                    if redis_pid is None
                    else f" (+ redis {_report.cpu(run.redis_cpu_pct).strip()})"
                )
                + f"  client cpu {_report.cpu(run.client_cpu_pct)}{_report.flag(run.failed)}",
                flush=True,
            )

    print()
    print(f"async submit + poll round trips ({CLIENTS} concurrent loops)")
    port = free_port()
    commands["memory"] = mock_command(port)
    with running("memory", commands["memory"], port, new_submit, limit_s=STARTUP_LIMIT_S) as mock:
        startup["memory"] = mock.startup_s
        store_runs(mock, "memory")
    if redis_binary is None:
        why = "redis-server not on PATH" if redis else "--no-redis"
        print(f"  redis     skipped ({why})")
    else:
        with redis_server(redis_binary) as (redis_port, redis_pid):
            store_url = f"redis://{HOST}:{redis_port}/0"
            print(
                f"  (redis-server {redis_version(redis_binary)} on {HOST}:{redis_port}, "
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
                    store_runs(mock, store, redis_pid)
            print(f"  mock redis    : {' '.join(commands['redis'])}")
            print(f"  mock redis x2 : {' '.join(commands['redis x2'])}")

    stores = list(dict.fromkeys(run.store for run in runs))
    spread = {
        store: _report.Spread.of([r.round_trips_per_s for r in runs if r.store == store])
        for store in stores
    }
    print()
    for store in stores:
        print(
            f"async {store:<9}: {spread[store].median:>8,.0f} round trips/s (median, "
            f"{spread[store].range_text()}; no target)"
        )
    print(
        "note: the async figures come from one Python httpx client process; when its cpu is "
        "near 100% the client, not the mock, is the limit"
    )
    failed = [
        f"async {run.store} round {run.round}: {run.failed_round_trips} failed round trips, "
        f"{run.errors} errors"
        for run in runs
        if run.failed
    ]
    return {
        "async_clients": CLIENTS,
        "commands": commands,
        "startup_seconds": startup,
        "async_runs": [asdict(run) for run in runs],
        "async_spread": {store: figure.json() for store, figure in spread.items()},
        "errors": failed,
    }


def main(argv: Sequence[str] | None = None) -> int:
    made = _report.parser(__doc__, seconds=4, rounds=1, rounds_help="runs per store")
    made.add_argument("--no-redis", action="store_true", help="skip the Redis-store runs")
    args = _report.parse(made, argv)
    return _delivery.run(
        args,
        lambda model: measure(
            model=model, seconds=args.seconds, rounds=args.rounds, redis=not args.no_redis
        ),
        "redis",
    )


if __name__ == "__main__":
    sys.exit(main())
