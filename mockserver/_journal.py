"""The journal: every request the mock saw, its verdict and its response, bounded.

Entries stay as cheap objects in this process and become dicts only when read. With a
shared store (Redis) they are written through, so every worker's requests show up.
"""

from __future__ import annotations

import itertools
import os
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from contracts import parse_json

from ._store import MemoryStore, Store

__all__ = ["Entry", "Journal", "RawJSON", "mask_key"]


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
    return [{k: task.get(k) for k in keys if k in task} for task in payload
            if isinstance(task, dict)]


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

    def to_dict(self) -> dict[str, Any]:
        request = _value(self.request)
        return {"id": self.id, "received": self.received, "method": self.method,
                "path": self.path, "apiKey": mask_key(self.api_key), "status": self.status,
                "latencyMs": round(self.latency_ms, 3), "valid": not self.violations,
                "violations": self.violations, "tasks": task_summaries(request),
                "fault": self.fault, "request": _masked(request),
                "response": _value(self.response)}


def _masked(payload: Any) -> Any:
    """The request as the journal shows it: an authentication task's key masked."""
    if not isinstance(payload, list) or not any(
            isinstance(t, dict) and "apiKey" in t for t in payload):
        return payload
    return [{**t, "apiKey": mask_key(t["apiKey"]) if isinstance(t["apiKey"], str) else "…"}
            if isinstance(t, dict) and "apiKey" in t else t for t in payload]


class Journal:
    """A bounded record of requests: in memory, or written through to a shared store."""

    def __init__(self, *, size: int, store: Store) -> None:
        self._size = max(1, size)
        self._entries: deque[Entry] = deque(maxlen=self._size)
        self._shared = None if isinstance(store, MemoryStore) else store
        # Ids unique across workers sharing a store: process id, then a counter.
        self._ids = (f"{os.getpid():x}-{n}" for n in itertools.count(1))

    async def record(self, *, method: str, path: str, api_key: str | None, request: Any,
                     violations: list[dict[str, Any]], status: int, response: Any,
                     started: float, fault: str | None = None) -> Entry:
        entry = Entry(id=next(self._ids), received=time.time(), method=method, path=path,
                      api_key=api_key, request=request, violations=violations, status=status,
                      response=response, latency_ms=(time.perf_counter() - started) * 1000,
                      fault=fault)
        if self._shared is not None:
            await self._shared.journal_append(entry.to_dict(), self._size)
        else:
            self._entries.append(entry)
        return entry

    async def entries(self) -> list[dict[str, Any]]:
        if self._shared is not None:
            return await self._shared.journal_list()
        return [entry.to_dict() for entry in list(self._entries)]

    async def clear(self) -> None:
        if self._shared is not None:
            await self._shared.journal_clear()
        self._entries.clear()
