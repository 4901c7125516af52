"""One console line per request: what ``runware-kit serve`` shows while it works.

    12:04:31.250 POST /v1        200 valid                          3.1 ms
    12:04:32.007 POST /v1        400 invalid (2) settings.temperature, settings.topK   0.8 ms
    12:04:33.512 POST /v1        503 valid · fault 503 serviceUnavailable (queued)   0.4 ms
    12:04:35.101 WEBHOOK http://127.0.0.1:9000/hook  0 · not attempted: host …

``serve`` configures the ``mockserver.requests`` logger with :class:`ConsoleHandler` on
stderr (``--quiet`` turns it off); an app made with ``create_app`` in a test prints nothing.
Colours only on a terminal, and never with ``NO_COLOR`` set.

Speed: a request's line skips the logging machinery (a LogRecord, the caller lookup, a
flush per line cost about a fifth of the mock's throughput): the handler keeps the entry
and, every ``FLUSH_S`` (a twentieth of a second, too short for a reader to notice), formats
and writes what came in one call. A write per event-loop turn was still a system call every
request or two under load, about a tenth of the mock's throughput; formatting each line in
its request was most of what remained of a line's cost (the console-on against ``--quiet``
difference of ``benchmarks/bench_instructions.py``). A request now only appends its entry;
journal entries do not change once recorded, so the line reads the same later. A line is
never lost to the wait: the handler's ``flush`` and ``close`` (at exit, ``logging.shutdown``
calls both) write what is pending.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._journal import Entry

__all__ = ["REQUESTS", "ConsoleHandler", "RequestFormatter", "log_request"]

REQUESTS = logging.getLogger("mockserver.requests")
FLUSH_S = 0.05  # the longest a request's line waits to be written
_PENDING_MAX = 512  # ...or until this many are waiting
_SHOWN_VIOLATIONS = 3

_RESET, _DIM, _GREEN, _YELLOW, _RED, _CYAN = (
    "\x1b[0m",
    "\x1b[2m",
    "\x1b[32m",
    "\x1b[33m",
    "\x1b[31m",
    "\x1b[36m",
)


_SINK: ConsoleHandler | None = None  # set by the handler serve configures


def log_request(entry: Entry) -> None:
    """One journal entry as a console line (if a console listens: one check otherwise)."""
    sink = _SINK
    if sink is not None:
        sink.line(entry)
    elif REQUESTS.isEnabledFor(logging.INFO):  # a logger set up by someone else
        REQUESTS.info("%s", entry.path, extra={"entry": entry})


class ConsoleHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The console: request lines batched for up to ``FLUSH_S``, anything else as usual."""

    def __init__(self, stream: Any = None) -> None:
        super().__init__(stream)
        self._pending: list[Entry] = []  # recorded, not yet formatted
        self._timer_loop: asyncio.AbstractEventLoop | None = None  # whose timer will write
        self._formatter = RequestFormatter()
        global _SINK
        _SINK = self

    def line(self, entry: Entry) -> None:
        pending = self._pending
        # The logger's level is asked once per batch, by its first line (a level set in the
        # middle of a batch applies from the next).
        if not pending and not REQUESTS.isEnabledFor(logging.INFO):
            return
        pending.append(entry)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop: write at once
            self.flush_lines()
            return
        if len(pending) >= _PENDING_MAX:
            self.flush_lines()  # (the timer then finds nothing to write)
        elif self._timer_loop is not loop:
            # No timer is waiting on this loop: none yet, it fired, or it was set on a loop
            # that has ended since (a server run before this one in the same process).
            self._timer_loop = loop
            loop.call_later(FLUSH_S, self._timed_flush)

    def _timed_flush(self) -> None:
        self._timer_loop = None
        self.flush_lines()

    def flush_lines(self) -> None:
        entries, self._pending = self._pending, []
        if entries:
            text = self._formatter.render_all(entries)
            # A webhook URL's query may hold a token; its value ends at whitespace, so one pass
            # over the batch masks each line's.
            if "?" in text:
                from ._logging import redact

                text = redact(text)
            self.stream.write(text + "\n")
            self.stream.flush()

    def flush(self) -> None:
        self.flush_lines()
        super().flush()

    def close(self) -> None:
        self.flush_lines()
        global _SINK
        if _SINK is self:
            _SINK = None
        super().close()


def _status_colour(status: int) -> str:
    return (
        _GREEN
        if 200 <= status < 300
        else _YELLOW
        if 400 <= status < 500
        else _RED
        if status >= 500 or status == 0
        else ""
    )


class RequestFormatter(logging.Formatter):
    """Formats the ``entry`` a record carries; colours when the stream is a terminal."""

    def __init__(self, *args: Any, use_colors: bool | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.use_colors = use_colors
        # The clock of the last second a line was stamped in: every line of that second
        # shares it, and formatting the time was a third of a line's cost. One tuple, so a
        # thread that reads it never pairs one second with another's clock.
        self._clock: tuple[int, str] = (-1, "")
        self._stamps: tuple[int, int, str] = (-1, -1, "")  # the last stamp, and its instant
        self._middles: dict[tuple[str, str, int, bool], str] = {}

    def colours(self) -> bool:
        if self.use_colors is None:  # decided once: the console is stderr
            self.use_colors = not os.environ.get("NO_COLOR") and os.isatty(2)
        return self.use_colors

    def format(self, record: logging.LogRecord) -> str:
        entry: Entry | None = getattr(record, "entry", None)
        if entry is None:
            return super().format(record)
        return self.render(entry)

    def _stamp(self, received: float) -> str:
        second, millis = int(received), int(received * 1000)
        found = self._stamps
        if found[0] == millis and found[1] == second:  # a busy mock: many lines a millisecond
            return found[2]
        known, clock = self._clock
        if known != second:  # localtime() of any instant of the second gives this clock
            clock = time.strftime("%H:%M:%S", time.localtime(received))
            self._clock = (second, clock)
        stamp = f"{clock}.{millis % 1000:03d}"
        self._stamps = (millis, second, stamp)
        return stamp

    def render(self, entry: Entry) -> str:
        return self.render_all((entry,))

    def render_all(self, entries: Sequence[Entry]) -> str:
        """The entries' lines, one per line: what the handler writes at once. One loop for
        the batch, not a call per line: the calls were a third of a line's cost."""
        colour = self.use_colors if self.use_colors is not None else self.colours()
        middles = self._middles
        lines: list[str] = []
        add = lines.append
        millis, stamp = -1, ""  # the last line's millisecond and stamp: a busy mock shares them
        for entry in entries:
            if entry.violations or entry.drift or entry.fault:
                add(self._render(entry, colour))
                continue
            # A valid request's line is its stamp, what it was and its latency: the middle
            # is the same for every request to a path, so it is formatted once.
            middle = middles.get((entry.method, entry.path, entry.status, colour))
            if middle is None:
                middle = self._remember(entry, colour)
            now = int(entry.received * 1000)
            if now != millis:
                millis, stamp = now, self._stamp(entry.received)
            if colour:
                add(f"{_DIM}{stamp}{_RESET} {middle} {_DIM}{entry.latency_ms:.1f} ms{_RESET}")
            else:
                add(f"{stamp} {middle} {entry.latency_ms:.1f} ms")
        return "\n".join(lines)

    def _remember(self, entry: Entry, colour: bool) -> str:
        if len(self._middles) >= _MIDDLES_KEPT:
            self._middles.clear()
        key = (entry.method, entry.path, entry.status, colour)
        middle = self._middles[key] = self._middle(entry, colour)
        return middle

    def _middle(self, entry: Entry, colour: bool) -> str:
        """What a line without violations, drift or fault shows between stamp and latency."""
        status = entry.status
        code = _status_colour(status) if colour else ""
        shown = f"{code}{status}{_RESET}" if code else str(status)
        middle = f"{entry.method:<7} {entry.path:<8} {shown}"
        if entry.method != "WEBHOOK":
            middle += f" {_GREEN}valid{_RESET}" if colour else " valid"
        return middle

    def _render(self, entry: Entry, colour: bool) -> str:
        stamp = self._stamp(entry.received)
        status = entry.status
        head = f"{entry.method:<7} {entry.path:<8}"
        violations, drift, fault = entry.violations, entry.drift, entry.fault
        if not colour:
            line = f"{stamp} {head} {status}"
            if violations:
                line += f" invalid ({len(violations)}) {_named(violations)}"
            elif entry.method != "WEBHOOK":
                line += " valid"
            if drift:  # the proxy's verdict on the upstream's reply: the server's fault
                line += f" drift ({len(drift)}) {_named(drift)}"
            if fault:
                line += f" · {fault}"
            return f"{line} {entry.latency_ms:.1f} ms"
        code = _status_colour(status)
        shown = f"{code}{status}{_RESET}" if code else str(status)
        line = f"{_DIM}{stamp}{_RESET} {head} {shown}"
        if violations:
            line += f" {_YELLOW}invalid ({len(violations)}){_RESET} {_named(violations)}"
        elif entry.method != "WEBHOOK":
            line += f" {_GREEN}valid{_RESET}"
        if drift:
            line += f" {_RED}drift ({len(drift)}){_RESET} {_named(drift)}"
        if fault:
            line += f" {_CYAN}· {fault}{_RESET}"
        return f"{line} {_DIM}{entry.latency_ms:.1f} ms{_RESET}"


_MIDDLES_KEPT = 256  # (method, path, status) middles a formatter keeps; paths are few


def _named(found: list[dict[str, Any]]) -> str:
    """The first few violations' parameters (or codes), and how many more there are."""
    named = [str(v.get("parameter") or v.get("code")) for v in found]
    shown = ", ".join(named[:_SHOWN_VIOLATIONS])
    return f"{shown} +{len(named) - _SHOWN_VIOLATIONS}" if len(named) > _SHOWN_VIOLATIONS else shown
