"""Instructions per sync request, counted by valgrind: the mock against the bare app.

A req/s ratio on a machine shared with other jobs moves by +-15% between rounds; the number
of instructions a server executes per request hardly moves at all. This counts them with
valgrind's callgrind (user space only: system calls and cache misses are not in it), for
``bench_mock.py``'s three servers -- the mock as users start it (console line on), the
mock with ``--quiet``, and the bare Starlette app -- each serving the same realistic one-task
request over 4 keep-alive connections, one request at a time. Instrumentation is switched
on after a warm-up, so start-up is not counted. It prints each server's thousands of
instructions per request and the bare/mock ratio, the throughput ratio a CPU-bound server
with the same instructions per cycle would reach (the real ratio is lower: the mock's longer
code path also misses the caches more). For information; the targets are bench_mock's.

The console line's count is an upper bound: under valgrind a request takes about a
millisecond, so every line stamps a new millisecond and every few dozen lines a new
second, which at full speed ten lines and thousands of lines share.

With ``--catalog``, it counts instead what a catalogue costs the sync path (issue 18: nothing
measurable with 50 documents): ``serve --quiet --spec DIR`` with the bundled document alone
and with it plus the 49 variants ``bench_catalog.py`` generates, both serving
``bench_catalog.py``'s request for the bundled model, and prints the 50/1 ratio.

Needs ``valgrind`` (Debian's package) on PATH; slow: about a minute a server.

    python benchmarks/bench_instructions.py [--requests 2000] [--catalog]
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import _machine  # benchmarks/_machine.py: run these as scripts from the repository root
import _payload
from _servers import HEADERS, Server, bare_command, free_port, mock_command, running

WARM_UP = 300
CONNECTIONS = 4
_TOTAL = re.compile(r"^([\d,]+)\s+\(100\.0+%\)\s+PROGRAM TOTALS", re.MULTILINE)


def _send(port: int, count: int, body: bytes) -> None:
    connections = [http.client.HTTPConnection("127.0.0.1", port) for _ in range(CONNECTIONS)]
    for number in range(count):
        connection = connections[number % CONNECTIONS]
        connection.request("POST", "/v1", body, HEADERS)
        reply = connection.getresponse()
        reply.read()
        if reply.status != 200:
            raise RuntimeError(f"the server answered {reply.status}")
    for connection in connections:
        connection.close()


def _control(server: Server, *args: str) -> None:
    subprocess.run(["callgrind_control", *args, str(server.pid)], check=True, capture_output=True)


def instructions(name: str, command: list[str], port: int, requests: int, body: bytes) -> float:
    """Instructions per request of the server ``command`` starts, listening on ``port``."""
    with tempfile.TemporaryDirectory() as folder:
        valgrind = ["valgrind", "--tool=callgrind", "--instr-atstart=no"]
        out = Path(folder) / "callgrind.out"
        # valgrind starts a server about 30 times slower than it starts by itself
        with running(
            name,
            [*valgrind, f"--callgrind-out-file={out}", *command],
            port,
            lambda: body,
            limit_s=180,
        ) as server:
            _send(port, WARM_UP, body)
            _control(server, "-i", "on")
            _send(port, requests, body)
            _control(server, "-i", "off")
            _control(server, "-d")
        dumps = sorted(Path(folder).glob("callgrind.out.*"))
        if not dumps:
            raise RuntimeError("callgrind wrote no dump")
        annotated = subprocess.run(
            ["callgrind_annotate", str(dumps[-1])], check=True, capture_output=True, text=True
        ).stdout
        found = _TOTAL.search(annotated)
        if found is None:
            raise RuntimeError("no PROGRAM TOTALS line in callgrind_annotate's output")
        return int(found.group(1).replace(",", "")) / requests


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="counted requests a server")
    parser.add_argument(
        "--catalog", action="store_true", help="1 document loaded against 50, not mock vs bare"
    )
    args = parser.parse_args(argv)
    for tool in ("valgrind", "callgrind_control", "callgrind_annotate"):  # Debian's valgrind
        if shutil.which(tool) is None:
            parser.error(f"{tool} is not on PATH (apt-get install -y valgrind)")
    host = _machine.machine()
    print(f"machine : {host['cpu']} | nproc {host['nproc']} | {host['python']}")
    if args.catalog:
        return _catalog(args.requests)
    body = json.dumps(_payload.sync_request("alibaba:qwen@3.5-397b")).encode()
    print(f"load    : {args.requests} requests after {WARM_UP}, {CONNECTIONS} connections")
    servers = {
        "mock": lambda port: mock_command(port),
        "quiet": lambda port: mock_command(port, "--quiet"),
        "bare": bare_command,
    }
    counted: dict[str, float] = {}
    for name, command in servers.items():
        port = free_port()
        counted[name] = instructions(name, command(port), port, args.requests, body)
        print(f"{name:<6}: {counted[name] / 1000:8.1f} k instructions/request", flush=True)
    for name in ("mock", "quiet"):
        print(f"ratio bare/{name:<5}: {counted['bare'] / counted[name]:.2f}x")
    return 0


def _catalog(requests: int) -> int:
    """Instructions per request with 1 document loaded and with 50: the catalogue's cost."""
    import bench_catalog  # its generated variants and request, so the two scripts agree

    print(f"load    : {requests} requests after {WARM_UP}, {CONNECTIONS} connections")
    counted: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as temp:
        folders = bench_catalog.catalog_folders(Path(temp))
        body = bench_catalog.catalog_request()
        for size, folder in folders.items():
            port = free_port()
            command = mock_command(port, "--quiet", "--spec", str(folder))
            counted[size] = instructions(f"{size} loaded", command, port, requests, body)
            print(
                f"{size:>2} loaded: {counted[size] / 1000:8.1f} k instructions/request", flush=True
            )
    print(f"ratio 50/1 loaded: {counted['50'] / counted['1']:.3f}x the instructions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
