"""What ``runware-kit serve`` prints: the banner once it listens, one line per request, and
one clear line (exit 2) when it cannot listen — as a user sees it in a terminal."""

from __future__ import annotations

import logging
import re
import signal
import socket
import subprocess
import sys
import uuid
from typing import Any

import httpx
import pytest

from mockserver import main
from mockserver._console import RequestFormatter
from mockserver._journal import Entry
from tests._support import run_mock_cli
from tests.mockserver.conftest import AUTH, text_task

ESCAPES = re.compile(r"\x1b\[[0-9;]*m")


def _serve(*args: str) -> tuple[str, subprocess.Popen[str], str]:
    """``serve --port 0``: the banner says where it listens (so no port is guessed); the
    URL, the process and the banner."""
    process = subprocess.Popen(
        [sys.executable, "-m", "mockserver", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    banner: list[str] = []
    while not banner or not banner[-1].startswith("One line per request"):
        line = process.stderr.readline()
        if not line:
            raise AssertionError(f"the mock exited ({process.wait()}) without a banner: {banner}")
        banner.append(line.rstrip("\n"))
    found = re.search(r"endpoint  : (http://127\.0\.0\.1:\d+)/v1", "\n".join(banner))
    assert found, banner
    return found.group(1), process, "\n".join(banner)


def _stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    return f"{out}{err}"  # uvicorn's access log goes to stdout


def _traffic(url: str) -> None:
    with httpx.Client(base_url=url, timeout=30) as http:
        http.get("/__mock/health")  # the banner is printed once the socket is bound
        http.post("/v1", json=[text_task(taskUUID=str(uuid.uuid4()))], headers=AUTH)
        http.post("/v1", json=[text_task(settings={"temperature": 9, "topK": 0})], headers=AUTH)
        http.post("/__mock/faults", json={"fault": "disconnect", "afterChunks": 2})
        with pytest.raises(httpx.RemoteProtocolError):
            http.post("/v1", json=[text_task(deliveryMethod="stream")], headers=AUTH)
        http.post("/v1", content=b"{bad", headers={**AUTH, "content-type": "application/json"})


def test_one_line_per_request_and_no_crash_lookalikes() -> None:
    url, process, _ = _serve()
    _traffic(url)
    out = _stop(process)
    lines = [line for line in out.splitlines() if re.match(r"\d\d:\d\d:\d\d\.\d{3} ", line)]
    assert len(lines) == 4, out
    assert re.search(r"POST +/v1 +200 valid [\d.]+ ms$", lines[0])
    assert "400 invalid (2) settings.temperature, settings.topK" in lines[1]
    assert "200 valid · disconnect (queued)" in lines[2]
    assert "400 invalid (1) invalidRequestBody" in lines[3]
    assert "ASGI callable returned" not in out  # the injected drop reads as one, not a crash
    assert "HTTP/1.1" not in out  # uvicorn's access log is off by default
    assert not ESCAPES.search(out)  # not a terminal: no colours


def test_quiet_and_access_log() -> None:
    url, process, _ = _serve("--quiet", "--access-log", "--log-level", "info")
    with httpx.Client(base_url=url, timeout=30) as http:
        http.post("/v1", json=[text_task()], headers=AUTH)
    out = _stop(process)
    assert not re.search(r"^\d\d:\d\d:\d\d\.\d{3} POST", out, re.MULTILINE)
    assert '"POST /v1 HTTP/1.1" 200' in out


def test_the_banner_names_every_url_once_it_listens() -> None:
    url, process, banner = _serve()
    try:
        # Printed after the bind: every URL it names answers at once.
        for path in ("/__mock/", "/__mock/requests", "/openapi.json"):
            assert f"{url}{path}" in banner
            assert httpx.get(f"{url}{path}", timeout=10).status_code == 200
    finally:
        _stop(process)
    assert not url.endswith(":0")  # the real port, not the one asked for
    assert "alibaba:qwen@3.5-397b" in banner


def test_a_taken_port_is_one_clear_line_and_exit_2() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = run_mock_cli("serve", "--port", str(port))
    assert run.returncode == 2
    (line,) = run.stderr.strip().splitlines()
    assert f"cannot listen on http://127.0.0.1:{port}" in line
    assert "already in use" in line
    assert "--port" in line
    assert "endpoint" not in run.stderr  # nothing advertised that does not listen


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert re.fullmatch(r"runware-kit \S+ \(runware-contract-kit\)\n", capsys.readouterr().out)


def _entry(**changes: Any) -> Entry:
    fields: dict[str, Any] = {
        "id": "1-1",
        "received": 0.0,
        "method": "POST",
        "path": "/v1",
        "api_key": None,
        "request": None,
        "violations": [],
        "status": 200,
        "response": None,
        "latency_ms": 1.25,
    }
    fields.update(changes)
    return Entry(**fields)


@pytest.mark.parametrize(
    ("entry", "fragment"),
    [
        pytest.param(_entry(), "200 valid", id="valid"),
        pytest.param(
            _entry(status=400, violations=[{"parameter": p, "code": "x"} for p in "abcde"]),
            "invalid (5) a, b, c +2",
            id="many-violations",
        ),
        pytest.param(
            _entry(status=503, fault="503 serviceUnavailable (queued)"),
            "503 valid · 503 serviceUnavailable (queued)",
            id="fault",
        ),
        pytest.param(
            _entry(
                method="WEBHOOK",
                path="http://127.0.0.1:9/hook",
                status=0,
                fault="not attempted: host",
            ),
            "0 · not attempted",
            id="webhook",
        ),
    ],
)
def test_console_lines(entry: Entry, fragment: str) -> None:
    record = logging.LogRecord(
        "mockserver.requests", logging.INFO, __file__, 1, "%s", (entry.path,), None
    )
    record.entry = entry
    plain = RequestFormatter(use_colors=False).format(record)
    coloured = RequestFormatter(use_colors=True).format(record)
    assert fragment in plain
    assert plain.endswith("1.2 ms")
    assert ESCAPES.search(coloured)
    assert ESCAPES.sub("", coloured) == plain


class _Writes:
    """A stream that keeps each ``write`` call apart."""

    def __init__(self) -> None:
        self.writes: list[str] = []

    def write(self, text: str) -> None:
        self.writes.append(text)

    def flush(self) -> None:
        pass


@pytest.fixture
def console() -> Any:
    from mockserver._console import REQUESTS, ConsoleHandler

    level = REQUESTS.level
    REQUESTS.setLevel(logging.INFO)
    stream = _Writes()
    handler = ConsoleHandler(stream)
    yield handler, stream
    handler.close()
    REQUESTS.setLevel(level)


def test_a_burst_of_lines_is_one_write_after_the_wait(console: Any) -> None:
    import asyncio

    from mockserver import _console

    handler, stream = console

    async def burst() -> None:
        for number in range(5):
            handler.line(_entry(id=str(number)))
            await asyncio.sleep(0)  # event-loop turns pass: the lines still wait
        assert stream.writes == []
        await asyncio.sleep(_console.FLUSH_S * 4)

    asyncio.run(burst())
    assert len(stream.writes) == 1
    assert stream.writes[0].count("\n") == 5
    assert stream.writes[0].endswith(" 200 valid 1.2 ms\n")


def test_pending_lines_are_written_by_flush_close_and_a_full_batch(console: Any) -> None:
    import asyncio

    from mockserver import _console

    handler, stream = console

    async def lines() -> None:
        handler.line(_entry())
        handler.flush()  # what logging.shutdown calls at exit
        assert len(stream.writes) == 1
        for number in range(_console._PENDING_MAX):
            handler.line(_entry(id=str(number)))
        assert len(stream.writes) == 2  # a full batch goes at once
        assert stream.writes[1].count("\n") == _console._PENDING_MAX
        handler.line(_entry())
        handler.close()

    asyncio.run(lines())
    assert len(stream.writes) == 3
    assert stream.writes[2].count("\n") == 1


def test_lines_left_by_a_loop_that_ended_are_written_in_the_next(console: Any) -> None:
    import asyncio

    from mockserver import _console

    handler, stream = console

    async def ends_before_its_timer() -> None:
        handler.line(_entry(id="1"))

    async def serves_again() -> None:
        handler.line(_entry(id="2"))
        await asyncio.sleep(_console.FLUSH_S * 4)

    asyncio.run(ends_before_its_timer())  # a server run before this one, in this process
    assert stream.writes == []
    asyncio.run(serves_again())
    assert len(stream.writes) == 1
    assert stream.writes[0].count("\n") == 2


def test_a_batch_masks_each_webhook_token_and_keeps_the_other_lines(console: Any) -> None:
    import asyncio

    handler, stream = console
    hook = "http://127.0.0.1:9000/hook?token=s3cret"
    lines = [
        _entry(id="1"),
        _entry(id="2", method="WEBHOOK", path=hook, status=0, fault="not attempted"),
        _entry(id="3", method="WEBHOOK", path=f"{hook}&x=1", status=200),
        _entry(id="4"),
    ]

    async def burst() -> None:  # in a loop, as the server's: the lines wait as one batch
        for entry in lines:
            handler.line(entry)
        handler.flush()

    asyncio.run(burst())
    (written,) = stream.writes
    shown = written.splitlines()
    assert len(shown) == 4
    assert "s3cret" not in written
    assert shown[1].endswith("?token=*** 0 · not attempted 1.2 ms")
    assert "?token=***&x=1 200" in shown[2]
    assert shown[0].endswith(" 200 valid 1.2 ms")
    assert shown[3].endswith(" 200 valid 1.2 ms")
