"""One console line per request: what ``runware-kit serve`` shows while it works.

    12:04:31.250 POST /v1        200 valid                          3.1 ms
    12:04:32.007 POST /v1        400 invalid (2) settings.temperature, settings.topK   0.8 ms
    12:04:33.512 POST /v1        503 valid · fault 503 serviceUnavailable (queued)   0.4 ms
    12:04:35.101 WEBHOOK http://127.0.0.1:9000/hook  0 · not attempted: host …

``serve`` configures the ``mockserver.requests`` logger with :class:`ConsoleHandler` on
stderr (``--quiet`` turns it off); an app made with ``create_app`` in a test prints nothing.
Colours only on a terminal, and never with ``NO_COLOR`` set.

Speed: a request's line skips the logging machinery (a LogRecord, the caller lookup, a
flush per line cost about a fifth of the mock's throughput): the handler formats the entry
itself and writes the lines of one event-loop turn in one call.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._journal import Entry

__all__ = ["REQUESTS", "ConsoleHandler", "RequestFormatter", "log_request"]

REQUESTS = logging.getLogger("mockserver.requests")
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
    """The console: request lines batched per event-loop turn, anything else as usual."""

    def __init__(self, stream: Any = None) -> None:
        super().__init__(stream)
        self._pending: list[str] = []
        self._formatter = RequestFormatter()
        global _SINK
        _SINK = self

    def line(self, entry: Entry) -> None:
        if not REQUESTS.isEnabledFor(logging.INFO):
            return
        text = self._formatter.render(entry)
        if "?" in text:  # a webhook URL's query may hold a token
            from ._logging import redact

            text = redact(text)
        pending = self._pending
        pending.append(text)
        if len(pending) == 1:
            try:
                asyncio.get_running_loop().call_soon(self.flush_lines)
            except RuntimeError:  # no loop: write at once
                self.flush_lines()

    def flush_lines(self) -> None:
        lines, self._pending = self._pending, []
        if lines:
            self.stream.write("\n".join(lines) + "\n")
            self.stream.flush()

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

    def colours(self) -> bool:
        if self.use_colors is None:  # decided once: the console is stderr
            self.use_colors = not os.environ.get("NO_COLOR") and os.isatty(2)
        return self.use_colors

    def format(self, record: logging.LogRecord) -> str:
        entry: Entry | None = getattr(record, "entry", None)
        if entry is None:
            return super().format(record)
        return self.render(entry)

    def render(self, entry: Entry) -> str:
        colour = self.colours()

        def paint(code: str, text: str) -> str:
            return f"{code}{text}{_RESET}" if colour and code else text

        stamp = (
            time.strftime("%H:%M:%S", time.localtime(entry.received))
            + f".{int(entry.received * 1000) % 1000:03d}"
        )
        parts = [
            paint(_DIM, stamp),
            f"{entry.method:<7} {entry.path:<8}",
            paint(_status_colour(entry.status), str(entry.status)),
        ]
        if entry.violations:
            named = [str(v.get("parameter") or v.get("code")) for v in entry.violations]
            shown = ", ".join(named[:_SHOWN_VIOLATIONS]) + (
                f" +{len(named) - _SHOWN_VIOLATIONS}" if len(named) > _SHOWN_VIOLATIONS else ""
            )
            parts.append(paint(_YELLOW, f"invalid ({len(named)})") + f" {shown}")
        elif entry.method != "WEBHOOK":
            parts.append(paint(_GREEN, "valid"))
        if entry.drift:  # the proxy's verdict on the upstream's reply: the server's fault
            named = [str(d.get("parameter") or d.get("code")) for d in entry.drift]
            shown = ", ".join(named[:_SHOWN_VIOLATIONS]) + (
                f" +{len(named) - _SHOWN_VIOLATIONS}" if len(named) > _SHOWN_VIOLATIONS else ""
            )
            parts.append(paint(_RED, f"drift ({len(named)})") + f" {shown}")
        if entry.fault:
            parts.append(paint(_CYAN, f"· {entry.fault}"))
        parts.append(paint(_DIM, f"{entry.latency_ms:.1f} ms"))
        return " ".join(parts)
