"""Transport limits (issue 13): oversized and slow request heads, WebSocket frames, shutdown.

Against ``runware-kit serve`` as users start it, over raw loopback sockets where a client
library would not misbehave the way an attacker does; the two HTTP protocol classes also on an
in-process uvicorn. Every wait is bounded, and times are judged with generous slack (these
run beside a CPU hog): "closed within the timeout + slack", never exact figures.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
import uvicorn
import websockets
from websockets.sync.client import connect as ws_connect

from mockserver import ConfigError, MockConfig, create_app, load_config
from mockserver._protocol import head_limited_protocol
from tests._support import free_port
from tests.mockserver.conftest import AUTH, serve_cli, text_task

HEAD_TIMEOUT_S = 3  # long enough that a starved server never times out a prompt client
SLACK_S = 20  # for a loaded machine: the failures these catch wait forever
FRAME_LIMIT = 65536  # max_body_bytes, which bounds WebSocket frames too
DEFAULT_HEAD_LIMIT = 64 * 1024


def _config_file(folder: Path, **keys: Any) -> str:
    path = folder / "limits.json"
    path.write_text(json.dumps(keys))
    return str(path)


@pytest.fixture(scope="module")
def mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    """The CLI server with the default head limit, a short head timeout, small frames."""
    config = _config_file(
        tmp_path_factory.mktemp("limits"),
        header_timeout_s=HEAD_TIMEOUT_S,
        max_body_bytes=FRAME_LIMIT,
        processing_ms=0,
    )
    with serve_cli("--config", config) as running:
        yield running


def _connect(url: str, *, timeout: float = HEAD_TIMEOUT_S + SLACK_S) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=timeout)


def _head(extra: bytes = b"") -> bytes:
    return b"GET /__mock/health HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra + b"\r\n"


def _response(sock: socket.socket) -> tuple[int, bytes]:
    reply = http.client.HTTPResponse(sock)
    reply.begin()
    return reply.status, reply.read()


def _offer(sock: socket.socket, data: bytes) -> int:
    """Send as much of data as the server takes; the bytes it took."""
    view, sent = memoryview(data), 0
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        while sent < len(data):
            sent += sock.send(view[sent : sent + (1 << 20)])
    return sent


def _closed_by_server(sock: socket.socket) -> tuple[float, bytes]:
    """Read until the server closes; (seconds it took, what it sent). A client-side timeout
    (the server never closed) fails the test."""
    start, received = time.monotonic(), b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    except TimeoutError:
        pytest.fail(f"the server kept the connection open over {sock.gettimeout()} s")
    return time.monotonic() - start, received


def _status_and_error(reply: bytes) -> tuple[int, dict[str, Any]]:
    head, _, body = reply.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)["errors"][0]


def _memory(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def _still_serving(url: str) -> None:
    reply = httpx.post(f"{url}/v1", json=[text_task()], headers=AUTH, timeout=SLACK_S)
    assert reply.status_code == 200, reply.text


# --- size ---------------------------------------------------------------------------------


def test_an_endless_header_gets_431_without_being_held_in_memory(mock: tuple[str, Any]) -> None:
    url, process = mock
    offered = 64 << 20
    before = _memory(process.pid, "VmRSS")
    Path(f"/proc/{process.pid}/clear_refs").write_text("5")  # restart the peak (VmHWM) here
    with _connect(url) as sock:
        sent = _offer(sock, _head(b"X-Big: " + b"a" * offered))
        status, body = _response(sock)
    peak = _memory(process.pid, "VmHWM")
    assert status == 431
    (error,) = json.loads(body)["errors"]
    assert error["code"] == "headersTooLarge"
    assert str(DEFAULT_HEAD_LIMIT) in error["message"]
    assert "max_header_bytes" in error["message"]
    assert sent < offered  # the server closed the connection instead of reading on
    # Without the limit the server holds all 64 MiB (twice, while httptools concatenates).
    assert peak - before < 16 << 20, f"RSS peak grew by {(peak - before) >> 20} MiB"
    _still_serving(url)


@pytest.mark.parametrize(
    ("value_bytes", "status"),
    [
        pytest.param(DEFAULT_HEAD_LIMIT - 4096, 200, id="under-the-limit"),
        pytest.param(DEFAULT_HEAD_LIMIT + 4096, 431, id="just-over-in-one-read"),
        pytest.param(4 * DEFAULT_HEAD_LIMIT, 431, id="four-times"),
    ],
)
def test_a_complete_head_is_measured_exactly(
    mock: tuple[str, Any], value_bytes: int, status: int
) -> None:
    url, _ = mock
    with _connect(url) as sock:
        sock.sendall(_head(b"X-Big: " + b"a" * value_bytes + b"\r\n"))
        got, body = _response(sock)
    assert got == status
    if status == 431:
        assert json.loads(body)["errors"][0]["code"] == "headersTooLarge"
    _still_serving(url)


def test_an_oversize_head_after_a_kept_alive_request_gets_431(mock: tuple[str, Any]) -> None:
    url, _ = mock
    with _connect(url) as sock:
        sock.sendall(_head())
        assert _response(sock)[0] == 200
        _offer(sock, _head(b"X-Big: " + b"a" * (4 << 20)))
        _, reply = _closed_by_server(sock)
    status, error = _status_and_error(reply)
    assert (status, error["code"]) == (431, "headersTooLarge")


# --- time ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kept_alive", [False, True], ids=["fresh", "after-a-request"])
def test_a_stalled_head_is_closed_with_408_within_the_timeout(
    mock: tuple[str, Any], kept_alive: bool
) -> None:
    url, _ = mock
    with _connect(url) as sock:
        if kept_alive:  # the timer restarts when the next request begins
            sock.sendall(_head())
            assert _response(sock)[0] == 200
        sock.sendall(b"POST /v1 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthor")  # ...and nothing more
        took, reply = _closed_by_server(sock)
    assert took < HEAD_TIMEOUT_S + SLACK_S
    status, error = _status_and_error(reply)
    assert (status, error["code"]) == (408, "timeout")
    assert f"within {HEAD_TIMEOUT_S} s" in error["message"]
    assert "header_timeout_s" in error["message"]
    _still_serving(url)


def test_a_connection_that_never_sends_is_closed(mock: tuple[str, Any]) -> None:
    url, _ = mock
    with _connect(url) as sock:
        took, reply = _closed_by_server(sock)
    assert took < HEAD_TIMEOUT_S + SLACK_S
    assert _status_and_error(reply)[0] == 408


def test_a_slow_body_is_not_cut_by_the_head_timeout(mock: tuple[str, Any]) -> None:
    """The timer covers the head only: a body may take longer (max_body_bytes bounds it)."""
    url, _ = mock
    body = json.dumps([text_task()]).encode()
    with _connect(url) as sock:
        sock.sendall(
            b"POST /v1 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer k\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body[:10]
        )
        # Past the head timeout, as seen by the server: its 408 would be on the way now.
        time.sleep(HEAD_TIMEOUT_S + 1)
        sock.sendall(body[10:])
        assert _response(sock)[0] == 200


def test_the_limits_hold_in_every_worker(tmp_path: Path) -> None:
    config = _config_file(tmp_path, header_timeout_s=HEAD_TIMEOUT_S, max_header_bytes=4096)
    with serve_cli("--workers", "2", "--config", config) as (url, _):
        for _ in range(4):  # new connections, each taken by whichever worker accepts first
            with _connect(url) as sock:
                sock.sendall(_head(b"X-Big: " + b"a" * 8192 + b"\r\n"))
                assert _response(sock)[0] == 431
        with _connect(url) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHo")
            took, reply = _closed_by_server(sock)
        assert took < HEAD_TIMEOUT_S + SLACK_S
        assert _status_and_error(reply)[0] == 408
        _still_serving(url)


# --- WebSocket frames -----------------------------------------------------------------------


def test_a_frame_over_max_body_bytes_closes_the_socket_with_1009(mock: tuple[str, Any]) -> None:
    url, _ = mock
    ws_url = url.replace("http", "ws") + "/v1"
    with ws_connect(ws_url, open_timeout=SLACK_S, max_size=None) as ws:
        ws.send("x" * (FRAME_LIMIT - 1024))  # not JSON: answered, the socket stays open
        assert "errors" in json.loads(ws.recv(timeout=SLACK_S))
        ws.send("x" * (FRAME_LIMIT + 1024))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            ws.recv(timeout=SLACK_S)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1009
    _still_serving(url)


# --- shutdown -------------------------------------------------------------------------------


def test_sigterm_with_a_request_stuck_in_a_delay_exits_within_the_shutdown_timeout(
    tmp_path: Path,
) -> None:
    shutdown_s = 1
    config = _config_file(tmp_path, shutdown_timeout_s=shutdown_s)
    with serve_cli("--config", config) as (url, process):
        queued = httpx.post(f"{url}/__mock/faults", json={"delay_ms": 600_000, "times": 1})
        assert queued.status_code == 200
        body = json.dumps([text_task()]).encode()
        with _connect(url) as sock:
            sock.sendall(
                b"POST /v1 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer k\r\n"
                b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body
            )
            deadline = time.monotonic() + SLACK_S
            while httpx.get(f"{url}/__mock/faults").json()["queued"]:  # until it is taken
                assert time.monotonic() < deadline, "the delay fault was never applied"
                time.sleep(0.05)
        # The client is gone; the request sleeps on in the server.
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=shutdown_s + SLACK_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running {shutdown_s + SLACK_S} s after SIGTERM")
    assert code == 0


# --- configuration -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keys", "key", "fragment"),
    [
        pytest.param({"max_header_bytes": 0}, "max_header_bytes", "above zero", id="zero-size"),
        pytest.param({"header_timeout_s": 0}, "header_timeout_s", "above zero", id="zero-timeout"),
        pytest.param({"header_timeout_s": "10"}, "header_timeout_s", "must be", id="string"),
        pytest.param({"shutdown_timeout_s": -1}, "shutdown_timeout_s", "negative", id="negative"),
        pytest.param({"max_header_bytes": 1.5}, "max_header_bytes", "must be int", id="float"),
    ],
)
def test_bad_limits_in_a_config_file_name_the_key(
    tmp_path: Path, keys: dict[str, Any], key: str, fragment: str
) -> None:
    with pytest.raises(ConfigError, match=fragment) as raised:
        load_config(_config_file(tmp_path, **keys))
    assert raised.value.key == key


def test_limits_load_from_a_config_file(tmp_path: Path) -> None:
    config = load_config(
        _config_file(tmp_path, max_header_bytes=8192, header_timeout_s=2.5, shutdown_timeout_s=0)
    )
    assert (config.max_header_bytes, config.header_timeout_s, config.shutdown_timeout_s) == (
        8192,
        2.5,
        0,
    )
    assert (
        MockConfig().max_header_bytes,
        MockConfig().header_timeout_s,
        MockConfig().shutdown_timeout_s,
    ) == (DEFAULT_HEAD_LIMIT, 10, 5)  # as documented


# --- both protocol classes, on an in-process uvicorn ------------------------------------------


@contextlib.contextmanager
def _uvicorn(
    http: Literal["httptools", "h11"], *, max_bytes: int, timeout_s: float
) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(config=MockConfig(processing_ms=0)),
            host="127.0.0.1",
            port=port,
            log_level="critical",
            # uvicorn only calls `http` to build a protocol: a factory, as mockserver._uvicorn
            # passes it, though uvicorn annotates a class.
            http=head_limited_protocol(max_bytes=max_bytes, timeout_s=timeout_s, http=http),  # type: ignore[arg-type]
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + SLACK_S
        while not server.started:
            assert thread.is_alive(), "uvicorn stopped while starting"
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=SLACK_S)


@pytest.mark.parametrize("http_impl", ["httptools", "h11"])
def test_both_protocols_refuse_big_heads_and_close_slow_ones(
    http_impl: Literal["httptools", "h11"],
) -> None:
    limit = 4096
    with _uvicorn(http_impl, max_bytes=limit, timeout_s=HEAD_TIMEOUT_S) as url:
        for extra in (
            b"X-Big: " + b"a" * (2 * limit) + b"\r\n",  # complete, in one read
            b"X-Big: " + b"a" * (4 << 20),
        ):  # never complete
            with _connect(url) as sock:
                _offer(sock, _head(extra))
                _, reply = _closed_by_server(sock)
            status, error = _status_and_error(reply)
            assert (status, error["code"]) == (431, "headersTooLarge")
            assert str(limit) in error["message"]
        with _connect(url) as sock:
            sock.sendall(_head())
            assert _response(sock)[0] == 200
            sock.sendall(b"GET / HTTP/1.1\r\nHo")
            took, reply = _closed_by_server(sock)
        assert took < HEAD_TIMEOUT_S + SLACK_S
        assert _status_and_error(reply)[0] == 408
        with _connect(url) as sock:
            sock.sendall(b"GARBAGE\r\n\r\n")  # other bad heads keep uvicorn's own 400
            assert _closed_by_server(sock)[1].startswith(b"HTTP/1.1 400 ")
        assert httpx.get(f"{url}/__mock/health", timeout=SLACK_S).status_code == 200
