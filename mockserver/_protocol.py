"""uvicorn's HTTP protocols with two bounds on a request head: its size and its arrival time.

uvicorn bounds neither. httptools accepts a header block of any size (building each value by
concatenation, so a big one also costs quadratic copying), and a client that never finishes
its head holds a connection and its buffers for as long as it likes (slowloris). These
classes are uvicorn's own, with checks where a head begins and ends:

* size: past ``max_bytes`` the client gets 431 ``headersTooLarge`` and the connection is
  closed without reading on. While a head is incomplete each read adds its length to a count
  (no per-byte work), so at most ``max_bytes`` plus one read (~256 KB) is ever held; a head
  that completes inside the read that crosses the limit is measured exactly instead.
* time: a head must be complete within ``timeout_s`` of the connection opening, or of its
  first byte on a kept-alive connection; else the client gets 408 ``timeout`` and the
  connection is closed. Idle keep-alive stays uvicorn's ``timeout_keep_alive``.

uvicorn builds one protocol per connection with ``http(config=…, server_state=…,
app_state=…, _loop=…)``; :func:`head_limited_protocol` returns such a callable: a
``functools.partial`` of a module-level class, so it pickles into ``--workers`` processes.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Literal

import h11
import orjson
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from ._error_bodies import error_body

__all__ = ["HeadLimits", "LimitedH11Protocol", "LimitedHttpToolsProtocol", "head_limited_protocol"]

_log = logging.getLogger("uvicorn.error")


@dataclass(frozen=True, slots=True)
class HeadLimits:
    """How big a request head may be (request line and headers, in bytes), and how long it
    may take to arrive (seconds, from the connection or from the request's first byte)."""

    max_bytes: int
    timeout_s: float


def _reply(
    status: int, code: str, message: str, default_headers: list[tuple[bytes, bytes]]
) -> bytes:
    body = orjson.dumps(error_body(code, message))
    head = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n".encode()]
    head += [name + b": " + value + b"\r\n" for name, value in default_headers]
    head.append(
        b"content-type: application/json\r\ncontent-length: %d\r\n"
        b"connection: close\r\n\r\n" % len(body)
    )
    return b"".join(head) + body


def _head_size(target: bytes, headers: Iterable[tuple[bytes, bytes]]) -> int:
    # ": " and CRLF per header line; the request line's method and version are left out.
    return len(target) + sum(len(name) + len(value) + 4 for name, value in headers)


class _HeadGuard:
    """What both protocols share: the head clock and the two refusals.

    One timer per connection, not one per request: arming and cancelling a timer costs
    ~3 us on uvloop, a sixth of uvicorn's own work per request. A request only stamps when
    its head began; the timer, when it fires, closes the connection if a head has been open
    for ``timeout_s`` and otherwise sets itself for the earliest moment one could be.
    """

    limits: HeadLimits
    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop
    server_state: ServerState
    cycle: Any
    _head_open: bool  # waiting for a head: from the connection or a request's first byte
    _head_since: float  # ...since when (loop time)
    _head_timer: asyncio.TimerHandle | None

    def _start_head_clock(self) -> None:
        self._head_open, self._head_since = True, self.loop.time()
        self._head_timer = self.loop.call_later(self.limits.timeout_s, self._check_head)

    def _stop_head_clock(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _check_head(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        wait = self.limits.timeout_s
        if self._head_open:
            waited = self.loop.time() - self._head_since
            if waited >= wait:
                self._head_late()
                return
            wait -= waited
        self._head_timer = self.loop.call_later(wait, self._check_head)

    def _head_late(self) -> None:
        _log.info("Closed a connection whose request head took over %g s", self.limits.timeout_s)
        if self.cycle is None or self.cycle.response_complete:
            # Only between responses: a 408 written into one under way would corrupt it.
            self.transport.write(
                _reply(
                    408,
                    "timeout",
                    f"The request head did not arrive within "
                    f"{self.limits.timeout_s:g} s; send the request line and headers at once "
                    "(or raise header_timeout_s in the mock's config).",
                    self.server_state.default_headers,
                )
            )
        self.transport.close()

    def _refuse_head(self) -> None:
        if self.transport.is_closing():
            return
        _log.warning("Refused a request head over max_header_bytes (%d)", self.limits.max_bytes)
        self.transport.write(
            _reply(
                431,
                "headersTooLarge",
                f"The request line and headers are over the mock's "
                f"limit of {self.limits.max_bytes} bytes; send fewer or smaller headers (or raise "
                "max_header_bytes in the mock's config).",
                self.server_state.default_headers,
            )
        )
        self.transport.close()


class _HeadTooLarge(Exception):
    """Raised from a parser callback to stop httptools parsing the rest of the read."""


# The three httptools callbacks run once per request (or read): called as plain functions,
# not through super(), which built a proxy object each time (about 1% of a request's
# instructions, by callgrind).
_httptools_data_received = HttpToolsProtocol.data_received
_httptools_message_begin = HttpToolsProtocol.on_message_begin
_httptools_headers_complete = HttpToolsProtocol.on_headers_complete


class LimitedHttpToolsProtocol(_HeadGuard, HttpToolsProtocol):
    """uvicorn's httptools protocol (the one ``uvicorn[standard]`` picks) with head limits."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        limits: HeadLimits,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = limits
        self._head_open, self._head_since, self._head_timer = False, 0.0, None
        self._head_bytes = 0  # read since the read the head began in...
        self._head_first = 0  # ...and that read's length: with it, an upper bound
        self._read = 0
        self._head_refused = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_head_clock()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_clock()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._read = len(data)
        if self._head_open:
            self._head_bytes += self._read
        _httptools_data_received(self, data)
        # The count leaves out the read the head began in (it may hold the previous request's
        # tail), so a refusal here is never wrong, only up to one read late.
        if self._head_open and self._head_bytes > self.limits.max_bytes:
            self._refuse_head()

    def on_message_begin(self) -> None:
        _httptools_message_begin(self)
        self._head_open, self._head_since = True, self.loop.time()
        self._head_bytes, self._head_first = 0, self._read

    def on_headers_complete(self) -> None:
        self._head_open = False
        if (
            self._head_bytes + self._head_first > self.limits.max_bytes
            and _head_size(self.url, self.headers) > self.limits.max_bytes
        ):
            # uvicorn answers a parser error with send_400_response (below), after logging
            # "Invalid HTTP request received."; raising stops the parser before the body or
            # a pipelined request is read.
            self._head_refused = True
            raise _HeadTooLarge
        _httptools_headers_complete(self)

    def send_400_response(self, msg: str) -> None:
        if self._head_refused:
            self._refuse_head()
        else:
            super().send_400_response(msg)


class _LimitedConnection(h11.Connection):
    """h11's connection, refusing complete heads over the limit too, and remembering why it
    refused (h11 itself refuses an incomplete event over ``max_incomplete_event_size``)."""

    def __init__(self, *, max_head: int) -> None:
        super().__init__(h11.SERVER, max_incomplete_event_size=max_head)
        self.max_head = max_head
        self.head_refused = False

    def next_event(self) -> Any:
        try:
            event = super().next_event()
            if (
                isinstance(event, h11.Request)
                and _head_size(event.target, event.headers) > self.max_head
            ):
                raise h11.RemoteProtocolError("request head too large", error_status_hint=431)
        except h11.RemoteProtocolError as exc:
            self.head_refused = exc.error_status_hint == 431
            raise
        return event


class LimitedH11Protocol(_HeadGuard, H11Protocol):
    """uvicorn's h11 protocol (pure Python, the fallback without httptools) with head limits."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        limits: HeadLimits,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = limits
        self._head_open, self._head_since, self._head_timer = False, 0.0, None
        self.conn = self._limited = _LimitedConnection(max_head=limits.max_bytes)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_head_clock()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_clock()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        # h11 is IDLE on the client's side until a request's head has been parsed; bytes in
        # that state begin a head (an idle kept-alive connection is uvicorn's to time out).
        if not self._head_open and self.conn.their_state is h11.IDLE:
            self._head_open, self._head_since = True, self.loop.time()
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._head_open = False

    def send_400_response(self, msg: str) -> None:
        # uvicorn's h11 protocol sends every RemoteProtocolError here.
        if self._limited.head_refused:
            self._refuse_head()
        else:
            super().send_400_response(msg)


def head_limited_protocol(
    *,
    max_bytes: int,
    timeout_s: float,
    http: Literal["httptools", "h11"] = "httptools",
) -> Callable[..., asyncio.Protocol]:
    """What to pass as uvicorn's ``http=``: connections refuse heads over ``max_bytes`` (431)
    and close when a head takes longer than ``timeout_s`` to arrive (408)."""
    protocol = LimitedHttpToolsProtocol if http == "httptools" else LimitedH11Protocol
    return functools.partial(protocol, limits=HeadLimits(max_bytes=max_bytes, timeout_s=timeout_s))
