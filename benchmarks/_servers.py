"""The servers the load benchmarks measure: spawned, probed until ready, stopped.

The load benchmarks start the mock the way users do (``runware-kit serve``, and
``runware-kit proxy`` in front of it for ``bench_proxy.py``) and the bare reference app
(``benchmarks/_bare_app.py``) on the same uvicorn, each in its own subprocess, and read
wrk's latencies the same way.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

__all__ = [
    "API_KEY",
    "HEADERS",
    "HOST",
    "REPO",
    "Server",
    "bare_command",
    "free_port",
    "mock_command",
    "proxy_command",
    "running",
    "runware_kit",
    "stop",
    "tail",
    "wrk_failures",
    "wrk_ms",
]

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
API_KEY = "k"
HEADERS = {"Content-Type": "application/json", "Authorization": f"Bearer {API_KEY}"}
POLL_S = 0.01
STOP_GRACE_S = 5.0
PROBE_TIMEOUT_S = 10.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def runware_kit(command: str) -> list[str]:
    """``runware-kit COMMAND`` from this interpreter's environment (else ``-m mockserver``)."""
    script = shutil.which("runware-kit", path=str(Path(sys.executable).parent))
    return [*([script] if script else [sys.executable, "-m", "mockserver"]), command]


def _listening(port: int) -> list[str]:
    """Where every server under test listens, and how little it logs."""
    return ["--host", HOST, "--port", str(port), "--log-level", "warning"]


def mock_command(port: int, *extra: str) -> list[str]:
    """``runware-kit serve`` on ``port``, as users start it, and ``extra``."""
    # --processing-ms 0: the emulated generation time would measure a sleep, not the mock.
    return [*runware_kit("serve"), *_listening(port), "--processing-ms", "0", *extra]


def proxy_command(port: int, upstream_port: int) -> list[str]:
    """``runware-kit proxy`` on ``port`` in front of the mock on ``upstream_port``."""
    target = f"http://{HOST}:{upstream_port}/v1"
    return [*runware_kit("proxy"), "--target", target, *_listening(port)]


def bare_command(port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "benchmarks._bare_app:app",
        *_listening(port),
        "--workers",
        "1",
        "--no-access-log",
    ]


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after ``STOP_GRACE_S``."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_GRACE_S)


def tail(log: IO[bytes]) -> str:
    """The end of a subprocess's output, for an error message."""
    log.seek(0)
    return log.read()[-4000:].decode("utf-8", "replace")


_UNITS_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def wrk_ms(text: str) -> float:
    """wrk's ``5.23ms`` / ``812.00us`` / ``1.02s`` in milliseconds."""
    found = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if found is None:
        raise RuntimeError(f"cannot read wrk's latency {text!r}")
    return float(found.group(1)) * _UNITS_MS[found.group(2)]


def wrk_failures(output: str) -> tuple[int, dict[str, int]]:
    """The non-2xx answers and the socket errors (by kind) wrk's output reports."""
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    kinds = ("connect", "read", "write", "timeout")
    return (
        int(non_2xx.group(1)) if non_2xx else 0,
        dict(zip(kinds, map(int, errors.groups()), strict=True)) if errors else {},
    )


@dataclass
class Server:
    """One HTTP server subprocess, spawned and polled until a probe POST answers 200."""

    name: str
    command: list[str]
    port: int
    log: IO[bytes]  # the server's stdout and stderr
    startup_s: float = 0.0
    process: subprocess.Popen[bytes] | None = None

    def url(self, path: str = "/v1") -> str:
        return f"http://{HOST}:{self.port}{path}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, probe_path: str, probe: Callable[[], bytes], *, limit_s: float) -> None:
        """Spawn, then POST ``probe()`` every ``POLL_S`` until a 200 (at most ``limit_s``);
        sets ``startup_s``."""
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        with httpx.Client(timeout=PROBE_TIMEOUT_S) as client:
            started = time.perf_counter()
            self.process = subprocess.Popen(
                self.command,
                cwd=REPO,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=self.log,
                stderr=subprocess.STDOUT,
            )
            deadline = started + limit_s
            while True:
                with contextlib.suppress(httpx.TransportError):
                    answer = client.post(self.url(probe_path), content=probe(), headers=HEADERS)
                    if answer.status_code == 200:
                        self.startup_s = time.perf_counter() - started
                        return
                if self.process.poll() is not None:
                    raise RuntimeError(
                        f"{self.name} exited with {self.process.returncode}:\n{tail(self.log)}"
                    )
                if time.perf_counter() > deadline:
                    raise RuntimeError(
                        f"{self.name} gave no 200 within {limit_s:g} s:\n{tail(self.log)}"
                    )
                time.sleep(POLL_S)


@contextlib.contextmanager
def running(
    name: str,
    command: list[str],
    port: int,
    probe: Callable[[], bytes],
    *,
    probe_path: str = "/v1",
    limit_s: float,
) -> Iterator[Server]:
    """A started server, stopped on exit whatever happens."""
    with tempfile.TemporaryFile() as log:
        server = Server(name, command, port, log)
        try:
            server.start(probe_path, probe, limit_s=limit_s)
            yield server
        finally:
            if server.process is not None:
                stop(server.process)
