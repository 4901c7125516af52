"""What the mock writes to its logs: uvicorn's configuration, with secrets kept out.

uvicorn's access log prints each request line with its query string; a client (or an old
inspector link) that sends ``?token=…`` would put the admin token in the log. The filter
here masks the value of every secret-looking query parameter before a record is written.
"""

from __future__ import annotations

import contextvars
import copy
import logging
import re
from typing import Any

from uvicorn.config import LOGGING_CONFIG

__all__ = ["DROPPED_ON_PURPOSE", "QuietDeliberateDrops", "RedactSecrets", "log_config"]

_SECRET_QUERY = re.compile(
    r"((?:^|[?&])(?:token|password|pass|secret|apikey|api_key)=)[^&\s\"]*", re.IGNORECASE
)


def redact(text: str) -> str:
    """``text`` with the values of secret query parameters masked.

    >>> redact("GET /__mock/requests?token=s3cret&x=1 HTTP/1.1")
    'GET /__mock/requests?token=***&x=1 HTTP/1.1'
    """
    return _SECRET_QUERY.sub(r"\1***", text)


class RedactSecrets(logging.Filter):
    """Masks secret query parameters in a record's message and arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


# Set inside a request that breaks its connection on purpose (the disconnect fault): uvicorn
# then reports "ASGI callable returned without completing response", which would read like
# a crash; the mock's own console line says what happened instead.
DROPPED_ON_PURPOSE: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "mockserver_dropped", default=False
)


class QuietDeliberateDrops(logging.Filter):
    """Drops uvicorn's "returned without completing" error for a deliberate disconnect."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (DROPPED_ON_PURPOSE.get() and "without completing response" in str(record.msg))


def log_config(*, console: bool = True) -> dict[str, Any]:
    """uvicorn's default logging configuration, with :class:`RedactSecrets` on every
    handler, deliberate drops kept quiet, and (``console``) one line per request on stderr
    (``mockserver._console``)."""
    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    filters = config.setdefault("filters", {})
    filters["redact"] = {"()": "mockserver._logging.RedactSecrets"}
    filters["drops"] = {"()": "mockserver._logging.QuietDeliberateDrops"}
    for handler in config["handlers"].values():
        handler.setdefault("filters", []).append("redact")
    config["handlers"]["default"]["filters"].append("drops")
    config["formatters"]["requests"] = {"()": "mockserver._console.RequestFormatter"}
    config["handlers"]["requests"] = {
        "()": "mockserver._console.ConsoleHandler",
        "formatter": "requests",
        "stream": "ext://sys.stderr",
        "filters": ["redact"],
    }
    config["loggers"]["mockserver.requests"] = {
        "handlers": ["requests"],
        "level": "INFO" if console else "WARNING",
        "propagate": False,
    }
    return config
