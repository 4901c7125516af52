"""Where the mock keeps what must outlive one request: async results, WebSocket session
buffers, claimed taskUUIDs and the journal.

``MemoryStore`` (the default) keeps them in this process, bounded and with TTLs.
``RedisStore`` (``--store redis://HOST:PORT/DB``) shares them between worker processes and
hosts, so an async task accepted by one worker can be polled from another. Both speak the
same small async interface, and values are plain JSON-able dicts.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict, deque
from typing import Any, Protocol

from contracts import parse_json
from openapi import KitError

from . import _exactjson as exactjson

__all__ = ["MemoryStore", "Store", "StoreUnavailable", "open_store"]


class StoreUnavailable(KitError):
    """The shared store cannot be reached; the mock answers 503 until it is back."""


class Store(Protocol):
    """The store interface (all coroutines; TTLs in seconds)."""

    async def claim(self, task_uuid: str, ttl: float, *, owner: str) -> bool:
        """Reserve a taskUUID for the submission ``owner`` (a fingerprint of the task and
        its key); False if another submission holds it, or its results are kept
        (``conflictTaskUUID``). The same submission may claim again until its results are
        kept: a submit that failed half-way (the store went down) leaves a claim behind,
        and the client's retry must still succeed."""

    async def release(self, task_uuid: str) -> None:
        """Give a claim back (a request refused after claiming)."""

    async def put_result(self, task_uuid: str, record: dict[str, Any], ttl: float) -> None:
        """Keep an async task's record until ``ttl`` runs out; from then on its taskUUID is
        taken for good (no submission may claim it again)."""

    async def get_result(self, task_uuid: str) -> dict[str, Any] | None:
        """An async task's record, or None when unknown or expired."""

    async def buffer(self, session: str, frame: str, ttl: float) -> None:
        """Keep a WebSocket frame that could not be delivered, for a resuming client."""

    async def drain(self, session: str) -> list[str]:
        """Take every buffered frame of a session, oldest first."""

    async def journal_append(self, entry: dict[str, Any], cap: int) -> None: ...

    async def journal_list(self) -> list[dict[str, Any]]: ...

    async def journal_clear(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> bool:
        """Is the store reachable?"""


# A claim's value once the task's results are kept: no owner fingerprint equals it.
_KEPT = "kept"
_CLAIM = """
local held = redis.call('GET', KEYS[1])
if held and held ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""


class _Expiring:
    """A bounded mapping with per-key deadlines; the oldest keys go first when full."""

    def __init__(self, cap: int) -> None:
        self._cap = cap
        self._data: OrderedDict[str, tuple[float, Any]] = OrderedDict()

    def get(self, key: str) -> Any:
        found = self._data.get(key)
        if found is None:
            return None
        deadline, value = found
        if deadline < time.monotonic():
            del self._data[key]
            return None
        return value

    def put(self, key: str, value: Any, ttl: float) -> None:
        self._data[key] = (time.monotonic() + ttl, value)
        self._data.move_to_end(key)
        while len(self._data) > self._cap:
            self._data.popitem(last=False)

    def pop(self, key: str) -> Any:
        found = self._data.pop(key, None)
        return None if found is None or found[0] < time.monotonic() else found[1]

    def __len__(self) -> int:
        return len(self._data)


class MemoryStore:
    """The in-process store: bounded (``cap`` entries per kind) and with TTLs."""

    def __init__(self, *, cap: int = 10_000) -> None:
        self._claims = _Expiring(cap)
        self._results = _Expiring(cap)
        self._buffers = _Expiring(cap)
        self._journal: deque[dict[str, Any]] = deque()

    async def claim(self, task_uuid: str, ttl: float, *, owner: str) -> bool:
        held = self._claims.get(task_uuid)
        if held is not None and held != owner:
            return False
        self._claims.put(task_uuid, owner, ttl)
        return True

    async def release(self, task_uuid: str) -> None:
        self._claims.pop(task_uuid)

    async def put_result(self, task_uuid: str, record: dict[str, Any], ttl: float) -> None:
        self._results.put(task_uuid, record, ttl)
        self._claims.put(task_uuid, _KEPT, ttl)

    async def get_result(self, task_uuid: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self._results.get(task_uuid)
        return found

    async def buffer(self, session: str, frame: str, ttl: float) -> None:
        frames: list[str] = self._buffers.get(session) or []
        frames.append(frame)
        self._buffers.put(session, frames, ttl)

    async def drain(self, session: str) -> list[str]:
        frames: list[str] = self._buffers.pop(session) or []
        return frames

    async def journal_append(self, entry: dict[str, Any], cap: int) -> None:
        self._journal.append(entry)
        while len(self._journal) > cap:
            self._journal.popleft()

    async def journal_list(self) -> list[dict[str, Any]]:
        return list(self._journal)

    async def journal_clear(self) -> None:
        self._journal.clear()

    async def close(self) -> None:
        return None

    async def ping(self) -> bool:
        return True


class RedisStore:
    """The shared store on a real Redis server (``redis://HOST:PORT/DB``)."""

    def __init__(self, url: str, *, prefix: str = "runware-kit") -> None:
        try:
            import redis.asyncio as redis  # imported only when a Redis store is asked for
        except ImportError as exc:
            from ._config import ConfigError

            raise ConfigError("the Redis store needs the redis client: pip install "
                              "'runware-contract-kit[redis]'", key="store") from exc

        self._redis = redis.Redis.from_url(url, decode_responses=True,
                                           socket_connect_timeout=2, socket_timeout=5)
        self._prefix = prefix
        self.url = url

    async def _guard(self, operation: Any) -> Any:
        """Await a Redis call; a Redis failure becomes StoreUnavailable (a clear 503)."""
        from redis.exceptions import RedisError

        try:
            return await operation
        except (RedisError, OSError) as exc:
            raise StoreUnavailable(f"the store {self.url} is unreachable "
                                   f"({type(exc).__name__}); retry shortly") from exc

    def _key(self, kind: str, name: str = "") -> str:
        return f"{self._prefix}:{kind}:{name}" if name else f"{self._prefix}:{kind}"

    async def claim(self, task_uuid: str, ttl: float, *, owner: str) -> bool:
        # One atomic step: a claim sent just before Redis stalled may still run after the
        # mock gave up on it (and answered 503); the client's retry, the same owner, then
        # finds its own claim and goes on.
        return bool(await self._guard(self._redis.eval(
            _CLAIM, 1, self._key("claim", task_uuid), owner, int(ttl * 1000))))

    async def release(self, task_uuid: str) -> None:
        await self._guard(self._redis.delete(self._key("claim", task_uuid)))

    async def put_result(self, task_uuid: str, record: dict[str, Any], ttl: float) -> None:
        pipe: Any = self._redis.pipeline(transaction=True)
        pipe.set(self._key("result", task_uuid), json.dumps(record), px=int(ttl * 1000))
        pipe.set(self._key("claim", task_uuid), _KEPT, px=int(ttl * 1000))
        await self._guard(pipe.execute())

    async def get_result(self, task_uuid: str) -> dict[str, Any] | None:
        raw = await self._guard(self._redis.get(self._key("result", task_uuid)))
        return None if raw is None else dict(json.loads(raw))

    async def buffer(self, session: str, frame: str, ttl: float) -> None:
        key = self._key("buffer", session)
        pipe: Any = self._redis.pipeline(transaction=True)
        pipe.rpush(key, frame)
        pipe.pexpire(key, int(ttl * 1000))
        await self._guard(pipe.execute())

    async def drain(self, session: str) -> list[str]:
        key = self._key("buffer", session)
        pipe: Any = self._redis.pipeline(transaction=True)
        pipe.lrange(key, 0, -1)
        pipe.delete(key)
        frames, _ = await self._guard(pipe.execute())
        return list(frames)

    async def journal_append(self, entry: dict[str, Any], cap: int) -> None:
        key = self._key("journal")
        pipe: Any = self._redis.pipeline(transaction=False)
        pipe.rpush(key, exactjson.dumps(entry))
        pipe.ltrim(key, -cap, -1)
        await self._guard(pipe.execute())

    async def journal_list(self) -> list[dict[str, Any]]:
        raws = await self._guard(self._redis.lrange(self._key("journal"), 0, -1))
        return [parse_json(raw) for raw in raws]

    async def journal_clear(self) -> None:
        await self._guard(self._redis.delete(self._key("journal")))

    async def close(self) -> None:
        await self._redis.aclose()

    async def ping(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except Exception:
            return False


def open_store(url: str | None) -> Store:
    """``None`` or ``memory://`` → MemoryStore; ``redis://…`` → RedisStore."""
    if url is None or url in ("memory", "memory://"):
        return MemoryStore()
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisStore(url)
    from ._config import ConfigError

    raise ConfigError(f"store {url!r} is not supported; use memory:// or redis://HOST:PORT/DB",
                      key="store")
