"""One console line per request: what ``runware-kit serve`` shows while it works.

    12:04:31.250 POST /v1        200 valid                          3.1 ms
    12:04:32.007 POST /v1        400 invalid (2) settings.temperature, settings.topK   0.8 ms
    12:04:33.512 POST /v1        503 valid · fault 503 serviceUnavailable (queued)   0.4 ms
    12:04:35.101 WEBHOOK http://127.0.0.1:9000/hook  0 · not attempted: host …

Lines go to the ``mockserver.requests`` logger at INFO, which ``serve`` points at stderr
(``--quiet`` turns them off); an app made with ``create_app`` in a test prints nothing.
Colours only on a terminal, and never with ``NO_COLOR`` set.
"""

from __future__ import annotations

import logging
import os
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._journal import Entry

__all__ = ["REQUESTS", "RequestFormatter", "log_request"]

REQUESTS = logging.getLogger("mockserver.requests")
_SHOWN_VIOLATIONS = 3

_RESET, _DIM, _GREEN, _YELLOW, _RED, _CYAN = ("\x1b[0m", "\x1b[2m", "\x1b[32m", "\x1b[33m",
                                              "\x1b[31m", "\x1b[36m")


def log_request(entry: Entry) -> None:
    """Log one journal entry as a console line (if anyone listens: one check otherwise)."""
    if REQUESTS.isEnabledFor(logging.INFO):
        REQUESTS.info("%s", entry.path, extra={"entry": entry})


def _status_colour(status: int) -> str:
    return _GREEN if 200 <= status < 300 else _YELLOW if 400 <= status < 500 else \
        _RED if status >= 500 or status == 0 else ""


class RequestFormatter(logging.Formatter):
    """Formats the ``entry`` a record carries; colours when the stream is a terminal."""

    def __init__(self, *args: Any, use_colors: bool | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.use_colors = use_colors

    def colours(self) -> bool:
        if self.use_colors is not None:
            return self.use_colors
        return not os.environ.get("NO_COLOR") and os.isatty(2)  # the console is stderr

    def format(self, record: logging.LogRecord) -> str:
        entry: Entry | None = getattr(record, "entry", None)
        if entry is None:
            return super().format(record)
        colour = self.colours()

        def paint(code: str, text: str) -> str:
            return f"{code}{text}{_RESET}" if colour and code else text

        stamp = time.strftime("%H:%M:%S", time.localtime(entry.received)) + \
            f".{int(entry.received * 1000) % 1000:03d}"
        parts = [paint(_DIM, stamp), f"{entry.method:<7} {entry.path:<8}",
                 paint(_status_colour(entry.status), str(entry.status))]
        if entry.violations:
            named = [str(v.get("parameter") or v.get("code")) for v in entry.violations]
            shown = ", ".join(named[:_SHOWN_VIOLATIONS]) + (
                f" +{len(named) - _SHOWN_VIOLATIONS}" if len(named) > _SHOWN_VIOLATIONS else "")
            parts.append(paint(_YELLOW, f"invalid ({len(named)})") + f" {shown}")
        elif entry.method != "WEBHOOK":
            parts.append(paint(_GREEN, "valid"))
        if entry.fault:
            parts.append(paint(_CYAN, f"· {entry.fault}"))
        parts.append(paint(_DIM, f"{entry.latency_ms:.1f} ms"))
        return " ".join(parts)
