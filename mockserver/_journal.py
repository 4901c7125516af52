"""The journal: every request the mock saw, its verdict and its response, bounded.

Entries stay as cheap objects in this process and become dicts only when read. With a
shared store (Redis) they are written through, so every worker's requests show up.
"""

from __future__ import annotations

import itertools
import os
import re
import time
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Any, cast, overload

from contracts import parse_json

from . import _exactjson as exactjson
from ._console import log_request
from ._store import SharedJournal, Store

__all__ = ["Entry", "Journal", "JournalPage", "RawJSON", "mask_key", "parse_cursor"]


@dataclass(slots=True)  # not frozen: two are built per request, and frozen init is slower
class RawJSON:
    """A JSON body kept as the bytes that crossed the wire, parsed only when the journal is
    read. Holding a thousand parse trees instead made every request allocate fresh, cold
    memory: the REST hot path ran ~10% slower with a full journal than with an empty one."""

    data: bytes

    def value(self) -> Any:
        return parse_json(self.data)


def _value(body: Any) -> Any:
    return body.value() if isinstance(body, RawJSON) else body


def mask_key(key: str | None) -> str | None:
    """An API key as the journal shows it: enough to tell keys apart, never the key."""
    if not key:
        return None
    return f"{key[:4]}…{key[-2:]}" if len(key) > 10 else "…"


def task_summaries(payload: Any) -> list[dict[str, Any]]:
    """taskType, taskUUID, model and deliveryMethod of each task, for the journal's index."""
    if not isinstance(payload, list):
        return []
    keys = ("taskType", "taskUUID", "model", "deliveryMethod")
    return [
        {k: task.get(k) for k in keys if k in task} for task in payload if isinstance(task, dict)
    ]


@dataclass(slots=True)
class Entry:
    """One request (or webhook delivery) and what became of it."""

    id: str
    received: float
    method: str
    path: str
    api_key: str | None
    request: Any  # the parsed body, or its RawJSON
    violations: list[dict[str, Any]]
    status: int
    response: Any  # likewise
    latency_ms: float
    fault: str | None = None
    size: int = 0  # bytes it holds, about: the journal is bounded in bytes, not only count
    # The proxy's verdict on the reply (the server's side: drift from the contract), and who
    # answered (the upstream, a cassette); the mock's own entries leave both empty.
    drift: list[dict[str, Any]] | None = None
    origin: str | None = None

    def to_dict(self) -> dict[str, Any]:
        request = _value(self.request)
        return {
            "id": self.id,
            "received": self.received,
            "method": self.method,
            "path": self.path,
            "apiKey": mask_key(self.api_key),
            "status": self.status,
            "latencyMs": round(self.latency_ms, 3),
            "valid": not self.violations,
            "violations": self.violations,
            "tasks": task_summaries(request),
            "fault": self.fault,
            "request": _masked(request, self.api_key),
            "response": _value(self.response),
            "drift": self.drift or [],
            "origin": self.origin,
        }


_KEY_IN_TEXT = re.compile(r'("apiKey"\s*:\s*")((?:[^"\\]|\\.)*)(")')


def _masked(payload: Any, key: str | None = None) -> Any:
    """The request as the journal shows it: every ``apiKey`` masked, wherever it stands (a
    task, a lone object, nested arrays), and the request's key wherever it appears in text —
    a body that did not parse is kept as text, and a key may sit in it anywhere."""
    if isinstance(payload, dict):
        return {
            k: (mask_key(v) if isinstance(v, str) else "…") if k == "apiKey" else _masked(v, key)
            for k, v in payload.items()
        }
    if isinstance(payload, list):
        return [_masked(item, key) for item in payload]
    if isinstance(payload, str):
        text = _KEY_IN_TEXT.sub(lambda m: f"{m[1]}{mask_key(m[2]) or ''}{m[3]}", payload)
        return text.replace(key, mask_key(key) or "…") if key and len(key) >= 4 else text
    return payload


# A string longer than this is kept cut, with a marker, once an entry is over its budget.
_KEPT_CHARS = 1024


def _kept(body: Any, budget: int) -> tuple[Any, int]:
    """``bounded(body, budget)`` and its ``_size``; a body as it crossed the wire, within
    the budget (every request the mock answers), costs one length."""
    if body.__class__ is RawJSON:
        size = len(body.data)
        if size <= budget:
            return body, size
    elif body is None:
        return None, 0
    kept = bounded(body, budget)
    return kept, _size(kept)


def _size(body: Any) -> int:
    if body is None:
        return 0
    if isinstance(body, RawJSON):
        return len(body.data)
    if isinstance(body, str | bytes):
        return len(body)
    return len(exactjson.dumps(body))


def _cut_strings(value: Any) -> Any:
    if isinstance(value, str) and len(value) > _KEPT_CHARS:
        return (
            f"{value[:_KEPT_CHARS]}…[truncated by the journal: {len(value):,} characters,"
            f" the first {_KEPT_CHARS:,} kept]"
        )
    if isinstance(value, dict):
        return {k: _cut_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_cut_strings(v) for v in value]
    return value


def bounded(body: Any, budget: int) -> Any:
    """A body as the journal keeps it: as it came when within ``budget`` bytes; else its
    long strings cut (the shape, the task summaries and the verdict stay readable); else,
    if still too large, its first ``budget`` bytes as text, with a marker."""
    size = _size(body)
    if size <= budget:
        return body
    value = body.value() if isinstance(body, RawJSON) else body
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, dict | list):
        cut = _cut_strings(value)
        if _size(cut) <= budget:
            return cut
        value = exactjson.dumps(cut).decode()
    text = str(value)
    return f"{text[:budget]}…[truncated by the journal: {size:,} bytes, the first {budget:,} kept]"


_NUMBERS = itertools.count(1)
# "<pid hex>-": asking the OS for the pid on every entry cost a system call per request. A
# forked child numbers its entries under its own pid.
_PID = f"{os.getpid():x}-"


def _forked() -> None:
    global _PID
    _PID = f"{os.getpid():x}-"


if hasattr(os, "register_at_fork"):  # not on Windows, which does not fork
    os.register_at_fork(after_in_child=_forked)
# The epoch of every in-memory journal of this process: their entries are numbered by
# _NUMBERS, which starts again only in another process (where a cursor from here means
# nothing). A shared store keeps its own numbers and epoch (see _store.JournalSlice).
_EPOCH = uuid.uuid4().hex[:12]


def _number(entry: Entry) -> int:
    return int(entry.id.rpartition("-")[2])  # the _NUMBERS part of "<pid hex>-<n>"


def parse_cursor(since: str) -> tuple[str, int] | None:
    """A ``cursor`` from :meth:`Journal.entries` as (epoch, number); None for ``"0"``
    (everything).

    Raises:
        ValueError: ``since`` is neither ``"0"`` nor ``"<epoch>.<number>"``.
    """
    if since == "0":
        return None
    epoch, dot, number = since.rpartition(".")
    if not (epoch and dot and number.isascii() and number.isdigit() and len(number) <= 18):
        raise ValueError(
            f"since={since!r} is not a journal cursor: pass the 'cursor' of an "
            "earlier GET /__mock/requests?since=… answer, or since=0 for every "
            "entry"
        )
    return epoch, int(number)


@dataclass(frozen=True, slots=True)
class JournalPage:
    """What ``Journal.entries(since=…)`` answers: the entries recorded after a cursor.

    A client keeps a copy of the journal: it adds ``requests`` to what it holds and keeps
    the newest ``total`` (older ones were evicted). With ``reset``, ``requests`` is the
    whole journal instead, to replace the copy: the cursor was of another epoch (the
    journal was cleared, or the mock or its store restarted), or the entries after it are
    gone. Pass ``cursor`` as ``since`` next time."""

    requests: list[dict[str, Any]]  # oldest first, as in the full journal
    cursor: str
    reset: bool
    total: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "cursor": self.cursor,
            "reset": self.reset,
            "total": self.total,
        }


def _follows(held: tuple[str, int] | None, epoch: str, oldest: int, last: int) -> bool:
    """Can a client holding the entries up to ``held`` go on from there? Yes if it holds
    none of this epoch, or the entry it holds last is still in the journal (numbered
    ``oldest`` to ``last``): then nothing after it was cleared or evicted unseen."""
    return held is not None and held[0] == epoch and (held[1] == 0 or oldest <= held[1] <= last)


def _cursor(epoch: str, last: int, size: int) -> str:
    return f"{epoch}.{last if size else 0}"


class Journal:
    """A bounded record of requests, in entries and in bytes: in memory, or written
    through to a shared store."""

    def __init__(
        self,
        *,
        size: int,
        store: Store,
        max_bytes: int = 64 * 1024 * 1024,
        entry_bytes: int = 256 * 1024,
    ) -> None:
        self._size = max(1, size)
        self._max_bytes = max_bytes
        self._entry_bytes = entry_bytes
        self._bytes = 0
        self._entries: deque[Entry] = deque()
        # A shared store keeps the journal of every worker; else it is this deque's.
        self._shared = cast(SharedJournal, store) if store.shared else None
        # Ids unique across workers sharing a store: process id, then a counter shared by
        # every journal of the process (two apps in one process may share a store too):
        # see _PID and _NUMBERS.

    async def record(
        self,
        *,
        method: str,
        path: str,
        api_key: str | None,
        request: Any,
        violations: list[dict[str, Any]],
        status: int,
        response: Any,
        started: float,
        fault: str | None = None,
        drift: list[dict[str, Any]] | None = None,
        origin: str | None = None,
    ) -> Entry:
        """Record one request (or webhook delivery); ``started`` is its ``perf_counter()``."""
        return await self.add(
            method,
            path,
            api_key,
            request,
            violations,
            status,
            response,
            started,
            fault,
            drift,
            origin,
        )

    async def add(
        self,
        method: str,
        path: str,
        api_key: str | None,
        request: Any,
        violations: list[dict[str, Any]],
        status: int,
        response: Any,
        started: float,
        fault: str | None = None,
        drift: list[dict[str, Any]] | None = None,
        origin: str | None = None,
    ) -> Entry:
        """``record()`` with positional arguments: the REST hot path's (its keywords cost
        nearly as much as building the entry)."""
        budget = self._entry_bytes
        # (_kept's answer for a body as it crossed the wire, without the calls)
        if request.__class__ is RawJSON and len(request.data) <= budget:
            request_size = len(request.data)
        else:
            request, request_size = _kept(request, budget)
        if response.__class__ is RawJSON and len(response.data) <= budget:
            response_size = len(response.data)
        else:
            response, response_size = _kept(response, budget)
        entry = Entry(
            f"{_PID}{next(_NUMBERS)}",
            time.time(),
            method,
            path,
            api_key,
            request,
            violations,
            status,
            response,
            (time.perf_counter() - started) * 1000,
            fault,
            request_size + response_size,
            drift,
            origin,
        )
        log_request(entry)
        if self._shared is not None:
            await self._shared.journal_append(entry.to_dict(), self._size)
            return entry
        entries = self._entries
        entries.append(entry)
        self._bytes += entry.size
        while len(entries) > self._size or (self._bytes > self._max_bytes and len(entries) > 1):
            self._bytes -= entries.popleft().size
        return entry

    @overload
    async def entries(self, *, since: None = None) -> list[dict[str, Any]]: ...

    @overload
    async def entries(self, *, since: str) -> JournalPage: ...

    async def entries(self, *, since: str | None = None) -> list[dict[str, Any]] | JournalPage:
        """Every entry, oldest first; or, with ``since`` (``"0"``, or the ``cursor`` of an
        earlier page), only those recorded after it, as a :class:`JournalPage`.

        Raises:
            ValueError: ``since`` is not a cursor (see :func:`parse_cursor`).
        """
        held = None if since is None else parse_cursor(since)
        if self._shared is not None:
            # The store sends the entries after ``held`` when it follows, else all of them.
            got = await self._shared.journal_list(after=held)
            if since is None:
                return got.entries
            follows = _follows(held, got.epoch, got.last - got.size + 1, got.last)
            return JournalPage(
                requests=got.entries,
                cursor=_cursor(got.epoch, got.last, got.size),
                reset=not follows,
                total=got.size,
            )
        entries = self._entries
        if since is None:
            return [entry.to_dict() for entry in list(entries)]
        # In memory the numbers are ascending but not consecutive (the journals of one
        # process share them): find the entries after the cursor from the newest down.
        oldest, last = (_number(entries[0]), _number(entries[-1])) if entries else (1, 0)
        follows = _follows(held, _EPOCH, oldest, last)
        mark = held[1] if follows and held is not None else 0
        after = list(itertools.takewhile(lambda e: _number(e) > mark, reversed(entries)))
        after.reverse()
        return JournalPage(
            requests=[entry.to_dict() for entry in after],
            cursor=_cursor(_EPOCH, last, len(entries)),
            reset=not follows,
            total=len(entries),
        )

    async def clear(self) -> None:
        if self._shared is not None:
            await self._shared.journal_clear()
        self._entries.clear()
        self._bytes = 0
