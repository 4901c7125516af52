"""Where the mock keeps what must outlive one request: async results, WebSocket session
buffers, claimed taskUUIDs — and, in a shared store, the journal.

``MemoryStore`` (the default) keeps them in this process, bounded and with TTLs (the
journal then keeps its entries itself). ``RedisStore`` (``--store redis://HOST:PORT/DB``)
shares them between worker processes and hosts, so an async task accepted by one worker
can be polled from another, and every worker's requests show in one journal. Both speak
the same small async interface (``Store``; a shared one also ``SharedJournal``), and
values are plain JSON-able dicts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from contracts import parse_json
from openapi import KitError

from . import _exactjson as exactjson

__all__ = [
    "JournalSlice",
    "MemoryStore",
    "SessionWatch",
    "SharedJournal",
    "Store",
    "StoreUnavailable",
    "open_store",
]


class StoreUnavailable(KitError):
    """The shared store cannot be reached; the mock answers 503 until it is back."""


class SessionWatch:
    """A live WebSocket's hold on a session (from ``Store.watch``), and its doorbell.

    ``held`` stays True until another socket authenticates with the session, in any process
    sharing the store. ``wait()`` returns each time frames may have been buffered for the
    session, the first time once the hold is in place: a drain from then on misses nothing.
    """

    def __init__(self, session: str) -> None:
        self.session = session
        self.token = uuid.uuid4().hex
        self.held = True
        self._placed = False  # this watch's own announcement has come back
        self._bell = asyncio.Event()

    def ring(self) -> None:
        self._bell.set()

    def announced(self, token: str) -> None:
        """A socket took the session (this one or another); announcements arrive in order,
        so one after this watch's own is newer, and one before it older."""
        if token == self.token:
            self._placed = True
        elif self._placed:
            self.held = False
        else:
            return
        self.ring()

    async def wait(self) -> None:
        await self._bell.wait()
        self._bell.clear()


class Store(Protocol):
    """The store interface (all coroutines; TTLs in seconds). A ``shared`` store also keeps
    the journal (:class:`SharedJournal`), the queued faults and token buckets, so every
    worker and host sees the same (the ``journal_*``, ``faults_*``, ``count`` and
    ``bucket_take`` methods of RedisStore)."""

    shared: bool

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
        """Keep a WebSocket frame that could not be delivered, for a resuming client, and
        ring every watch of the session."""

    async def drain(self, session: str) -> list[str]:
        """Take every buffered frame of a session, oldest first (atomically: a frame goes
        to one drain only)."""

    async def watch(self, session: str) -> SessionWatch:
        """Hold a session for a socket that authenticated with it (older holds end)."""

    async def unwatch(self, watch: SessionWatch) -> None:
        """Let a hold go (its socket closed); frames for the session are then kept."""

    async def close(self) -> None: ...

    async def ping(self) -> bool:
        """Is the store reachable?"""


class SharedJournal(Protocol):
    """Where a shared store keeps the journal every worker writes (``RedisStore``); an
    in-memory journal keeps its entries itself (``_journal.Journal``)."""

    async def journal_append(self, entry: dict[str, Any], cap: int) -> None:
        """Add an entry, numbered one more than the last (the newest ``cap`` are kept)."""

    async def journal_list(self, *, after: tuple[str, int] | None = None) -> JournalSlice:
        """The journal's newest entries: those numbered above ``after`` (an epoch and a
        number, from an earlier slice) while that epoch holds, else all of them."""

    async def journal_clear(self) -> None:
        """Drop every entry, and start a new epoch."""


@dataclass(frozen=True, slots=True)
class JournalSlice:
    """A store's journal as ``journal_list`` read it, in one atomic step.

    Every entry is numbered as it is added (``last`` is the newest's number), so the ``size``
    entries held are numbered ``last - size + 1`` to ``last``: with several workers writing
    one list, that number is the global order, which their entry ids are not. ``epoch``
    changes whenever the numbers could start again (a clear, a new or flushed store): a
    number is only meaningful with its epoch."""

    epoch: str
    last: int
    size: int
    entries: list[dict[str, Any]]  # oldest first


_SECRET_PARAMS = {"password", "pass", "token", "secret"}

# Counters of shared faults outlive no mock for long (a day), and buckets refill anyway.
_COUNTER_TTL_S = 86_400
_COUNT = """
local n = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return n
"""
_BUCKET = """
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local state = redis.call('HMGET', KEYS[1], 'tokens', 'stamp')
local tokens, stamp = tonumber(state[1]) or burst, tonumber(state[2]) or now
tokens = math.min(burst, tokens + (now - stamp) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'stamp', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 60000)
return tostring(wait)
"""

# A claim's value once the task's results are kept: no owner fingerprint equals it.
_KEPT = "kept"
_CLAIM = """
local held = redis.call('GET', KEYS[1])
if held and held ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""

# The journal: a list of entries and a hash of {epoch, seq}. Appends number the entries
# (HINCRBY, in the same step as RPUSH, so the list's order is the numbers' order); a read
# takes the numbers and the entries after a cursor in one step. Lua numbers are doubles:
# exact up to 2**53 appends.
_JOURNAL_APPEND = """
redis.call('HINCRBY', KEYS[2], 'seq', 1)
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1)
"""
_JOURNAL_READ = """
redis.call('HSETNX', KEYS[2], 'epoch', ARGV[1])
local meta = redis.call('HMGET', KEYS[2], 'epoch', 'seq')
local last = tonumber(meta[2]) or 0
local size = redis.call('LLEN', KEYS[1])
local after = tonumber(ARGV[3])
local take = size
if meta[1] == ARGV[2] and after > 0 and after <= last then
  take = math.min(size, last - after)
end
local tail = {}
if take > 0 then tail = redis.call('LRANGE', KEYS[1], -take, -1) end
return {meta[1], last, size, tail}
"""


def _epoch() -> str:
    return uuid.uuid4().hex[:12]


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

    shared = False  # faults and buckets stay in the FaultBook of this process

    def __init__(self, *, cap: int = 10_000) -> None:
        self._claims = _Expiring(cap)
        self._results = _Expiring(cap)
        self._buffers = _Expiring(cap)
        self._watches: dict[str, list[SessionWatch]] = {}

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
        for watch in self._watches.get(session, ()):
            watch.ring()

    async def drain(self, session: str) -> list[str]:
        frames: list[str] = self._buffers.pop(session) or []
        return frames

    async def watch(self, session: str) -> SessionWatch:
        watch = SessionWatch(session)
        holders = self._watches.setdefault(session, [])
        holders.append(watch)
        for holder in holders:
            holder.announced(watch.token)
        return watch

    async def unwatch(self, watch: SessionWatch) -> None:
        holders = self._watches.get(watch.session, [])
        if watch in holders:
            holders.remove(watch)
        if not holders:
            self._watches.pop(watch.session, None)

    async def close(self) -> None:
        return None

    async def ping(self) -> bool:
        return True


# On a session's channel: a frame was buffered, or a socket took the session (its token).
_FRAME, _HOLD = "frame", "hold "
_SUBSCRIBE_TIMEOUT_S = 10


class RedisStore:
    """The shared store on a real Redis server (``redis://HOST:PORT/DB``)."""

    def __init__(self, url: str, *, prefix: str = "runware-kit") -> None:
        try:
            import redis.asyncio as redis  # imported only when a Redis store is asked for
        except ImportError as exc:
            from ._config import ConfigError

            raise ConfigError(
                "the Redis store needs the redis client: pip install 'runware-contract-kit[redis]'",
                key="store",
            ) from exc

        self._redis = redis.Redis.from_url(
            url, decode_responses=True, socket_connect_timeout=2, socket_timeout=5
        )
        self._prefix = prefix
        self.url = url
        # Session notices: one subscriber connection per process, whatever the socket count.
        self._pubsub: Any = self._redis.pubsub()
        self._holders: dict[str, list[SessionWatch]] = {}  # by channel
        self._subscribed: dict[str, asyncio.Event] = {}  # the channel's SUBSCRIBE confirmed
        self._confirming: dict[str, deque[asyncio.Event]] = {}  # in the order sent
        self._subscribing = asyncio.Lock()
        self._reader: asyncio.Task[None] | None = None
        self._closed = False

    async def _guard(self, operation: Any) -> Any:
        """Await a Redis call; a Redis failure becomes StoreUnavailable (a clear 503)."""
        from redis.exceptions import RedisError

        try:
            return await operation
        except (RedisError, OSError) as exc:
            raise StoreUnavailable(
                f"the store {hide_password(self.url)} is unreachable "
                f"({type(exc).__name__}); retry shortly"
            ) from exc

    def _key(self, kind: str, name: str = "") -> str:
        return f"{self._prefix}:{kind}:{name}" if name else f"{self._prefix}:{kind}"

    async def claim(self, task_uuid: str, ttl: float, *, owner: str) -> bool:
        # One atomic step: a claim sent just before Redis stalled may still run after the
        # mock gave up on it (and answered 503); the client's retry, the same owner, then
        # finds its own claim and goes on.
        return bool(
            await self._guard(
                self._redis.eval(_CLAIM, 1, self._key("claim", task_uuid), owner, int(ttl * 1000))
            )
        )

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
        pipe.publish(self._key("session", session), _FRAME)
        await self._guard(pipe.execute())

    async def drain(self, session: str) -> list[str]:
        key = self._key("buffer", session)
        pipe: Any = self._redis.pipeline(transaction=True)
        pipe.lrange(key, 0, -1)
        pipe.delete(key)
        frames, _ = await self._guard(pipe.execute())
        return list(frames)

    async def watch(self, session: str) -> SessionWatch:
        if self._closed:
            raise StoreUnavailable(f"the store {self.url} is closed")
        channel = self._key("session", session)
        watch = SessionWatch(session)
        self._holders.setdefault(channel, []).append(watch)
        try:
            subscribed = self._subscribed.get(channel)
            if subscribed is None:
                subscribed = self._subscribed[channel] = asyncio.Event()
                self._confirming.setdefault(channel, deque()).append(subscribed)
                async with self._subscribing:
                    await self._guard(self._pubsub.subscribe(channel))
                if self._reader is None or self._reader.done():
                    self._reader = asyncio.get_running_loop().create_task(self._read())
            # Announce the hold only once subscribed: hearing it back then places the watch,
            # and every later notice reaches it.
            try:
                await asyncio.wait_for(subscribed.wait(), _SUBSCRIBE_TIMEOUT_S)
            except TimeoutError:
                raise StoreUnavailable(
                    f"the store {self.url} did not confirm a subscription "
                    f"within {_SUBSCRIBE_TIMEOUT_S} s"
                ) from None
            await self._guard(self._redis.publish(channel, _HOLD + watch.token))
        except BaseException:
            await self.unwatch(watch)
            raise
        return watch

    async def unwatch(self, watch: SessionWatch) -> None:
        channel = self._key("session", watch.session)
        holders = self._holders.get(channel, [])
        if watch in holders:
            holders.remove(watch)
        if holders or channel not in self._holders:
            return
        del self._holders[channel]
        subscribed = self._subscribed.pop(channel, None)
        if subscribed is not None and not subscribed.is_set():
            # Never confirmed (the SUBSCRIBE failed): no reply will come for it.
            waiting = self._confirming.get(channel, deque())
            if subscribed in waiting:
                waiting.remove(subscribed)
        if self._closed:
            return
        # On failure, redis-py subscribes again on reconnect at worst: notices without
        # holders are ignored.
        async with self._subscribing:
            with contextlib.suppress(StoreUnavailable):
                await self._guard(self._pubsub.unsubscribe(channel))

    async def _read(self) -> None:
        """Hand the session channels' messages to this process's watches."""
        from redis.exceptions import RedisError

        pause = 0.05
        while True:
            try:
                message = await self._pubsub.get_message(timeout=None)
            except (RedisError, OSError):
                # The next read reconnects, and redis-py subscribes again to every channel.
                await asyncio.sleep(pause)
                pause = min(pause * 2, 2.0)
                continue
            pause = 0.05
            if message is not None:
                self._dispatch(message["type"], message["channel"], message["data"])

    def _dispatch(self, kind: str, channel: str, data: Any) -> None:
        holders = list(self._holders.get(channel, ()))
        if kind == "subscribe":
            # Replies come in the order the SUBSCRIBEs were sent (one each, also when
            # redis-py subscribes again after a reconnect, when notices may have been lost:
            # so every holder drains once).
            waiting = self._confirming.get(channel)
            if waiting:
                waiting.popleft().set()
                if not waiting:
                    del self._confirming[channel]
            for watch in holders:
                watch.ring()
        elif kind == "message" and isinstance(data, str) and data.startswith(_HOLD):
            for watch in holders:
                watch.announced(data[len(_HOLD) :])
        elif kind == "message":
            for watch in holders:
                watch.ring()

    async def journal_append(self, entry: dict[str, Any], cap: int) -> None:
        await self._guard(
            self._redis.eval(
                _JOURNAL_APPEND,
                2,
                self._key("journal"),
                self._key("journal", "meta"),
                exactjson.dumps(entry),
                cap,
            )
        )

    async def journal_list(self, *, after: tuple[str, int] | None = None) -> JournalSlice:
        # A fresh epoch goes along in case the store has none yet (new, or flushed).
        epoch, held = after if after is not None else ("", 0)
        found, last, size, raws = await self._guard(
            self._redis.eval(
                _JOURNAL_READ,
                2,
                self._key("journal"),
                self._key("journal", "meta"),
                _epoch(),
                epoch,
                held,
            )
        )
        return JournalSlice(found, int(last), int(size), [parse_json(raw) for raw in raws])

    async def journal_clear(self) -> None:
        pipe: Any = self._redis.pipeline(transaction=True)
        pipe.delete(self._key("journal"))
        pipe.hset(self._key("journal", "meta"), "epoch", _epoch())
        await self._guard(pipe.execute())

    # -- faults shared by every worker (mockserver._faults.FaultBook) --------------------

    shared = True

    async def faults_version(self) -> int:
        """Bumped on every change to the queued faults: a worker reloads them when it moves."""
        return int(await self._guard(self._redis.get(self._key("faults", "version"))) or 0)

    async def faults_queued(self) -> list[str]:
        return list(await self._guard(self._redis.lrange(self._key("faults", "queue"), 0, -1)))

    async def faults_add(self, entry: str) -> None:
        pipe: Any = self._redis.pipeline(transaction=True)
        pipe.rpush(self._key("faults", "queue"), entry)
        pipe.incr(self._key("faults", "version"))
        await self._guard(pipe.execute())

    async def faults_remove(self, entry: str) -> None:
        pipe: Any = self._redis.pipeline(transaction=True)
        pipe.lrem(self._key("faults", "queue"), 1, entry)
        pipe.incr(self._key("faults", "version"))
        await self._guard(pipe.execute())

    async def faults_clear(self) -> None:
        pipe: Any = self._redis.pipeline(transaction=True)
        pipe.delete(self._key("faults", "queue"))
        pipe.incr(self._key("faults", "version"))
        await self._guard(pipe.execute())

    async def count(self, name: str) -> int:
        """A shared counter's next value (1, 2, …): how often a fault fired, or was drawn."""
        return int(
            await self._guard(
                self._redis.eval(_COUNT, 1, self._key("count", name), int(_COUNTER_TTL_S * 1000))
            )
        )

    async def bucket_take(self, name: str, rate: float, burst: float) -> float:
        """One token from a token bucket every worker shares (Redis' clock, so hosts agree):
        0 if a request may pass now, else the seconds until one may."""
        wait = await self._guard(
            self._redis.eval(_BUCKET, 1, self._key("bucket", name), repr(rate), repr(burst))
        )
        return float(wait)

    async def close(self) -> None:
        self._closed = True
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.wait([self._reader])
        await self._pubsub.aclose()
        await self._redis.aclose()

    async def ping(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except Exception:
            return False


def hide_password(url: str | None) -> str | None:
    """A store URL as the inspector shows it: the password replaced by ``***``.

    >>> hide_password("redis://user:s3cret@cache:6379/0?password=x&db=1")
    'redis://user:***@cache:6379/0?password=***&db=1'
    """
    if not url:
        return url
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user, colon, _password = userinfo.partition(":")
        netloc = f"{user}{colon}{'***' if colon else ''}@{host}"
    query = urlencode(
        [
            (k, "***" if k.lower() in _SECRET_PARAMS else v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
        ],
        safe="*",
    )
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def open_store(url: str | None) -> Store:
    """``None`` or ``memory://`` → MemoryStore; ``redis://…`` → RedisStore."""
    if url is None or url in ("memory", "memory://"):
        return MemoryStore()
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisStore(url)
    from ._config import ConfigError

    raise ConfigError(
        f"store {url!r} is not supported; use memory:// or redis://HOST:PORT/DB", key="store"
    )
