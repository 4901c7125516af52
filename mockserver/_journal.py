"""The journal: every request the mock saw, its verdict and its response, bounded."""

from __future__ import annotations

import itertools
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Entry", "Journal", "mask_key"]


def mask_key(key: str | None) -> str | None:
    """An API key as the journal shows it: enough to tell keys apart, never the key."""
    if not key:
        return None
    return f"{key[:4]}…{key[-2:]}" if len(key) > 10 else "…"


@dataclass(slots=True)
class Entry:
    """One request and what became of it."""

    id: int
    received: float
    method: str
    path: str
    api_key: str | None
    request: Any
    violations: list[dict[str, Any]]
    status: int
    response: Any
    latency_ms: float
    fault: str | None = None
    tasks: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "received": self.received, "method": self.method,
                "path": self.path, "apiKey": self.api_key, "status": self.status,
                "latencyMs": round(self.latency_ms, 3), "valid": not self.violations,
                "violations": self.violations, "tasks": self.tasks, "fault": self.fault,
                "request": self.request, "response": self.response}


def task_summaries(payload: Any) -> list[dict[str, Any]]:
    """taskType, taskUUID, model and deliveryMethod of each task, for the journal's index."""
    if not isinstance(payload, list):
        return []
    keys = ("taskType", "taskUUID", "model", "deliveryMethod")
    return [{k: task.get(k) for k in keys if k in task} for task in payload
            if isinstance(task, dict)]


class Journal:
    """A bounded, in-memory record; the oldest entries go first when it is full."""

    def __init__(self, *, size: int) -> None:
        self._entries: deque[Entry] = deque(maxlen=max(1, size))
        self._ids = itertools.count(1)

    def record(self, *, method: str, path: str, api_key: str | None, request: Any,
               violations: list[dict[str, Any]], status: int, response: Any,
               started: float, fault: str | None = None) -> Entry:
        entry = Entry(id=next(self._ids), received=time.time(), method=method, path=path,
                      api_key=mask_key(api_key), request=request, violations=violations,
                      status=status, response=response,
                      latency_ms=(time.perf_counter() - started) * 1000, fault=fault,
                      tasks=task_summaries(request))
        self._entries.append(entry)
        return entry

    def entries(self) -> list[Entry]:
        return list(self._entries)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(list(self._entries))
