"""Cassettes: one readable JSON file per recorded session, its secrets removed.

A cassette is what ``runware-kit proxy --record DIR`` writes for a session (and the pytest
plugin for a test), and what ``runware-kit serve --replay DIR`` answers from::

    {"format": 1, "kit": "0.1.0", "model": "alibaba:qwen@3.5-397b", "document": "…",
     "target": "http://127.0.0.1:8081/v1", "recorded": "2026-12-01T10:00:00Z",
     "interactions": [
       {"id": 1, "kind": "rest", "startedMs": 0.0,
        "request": {"method": "POST", "path": "/v1", "headers": {…}, "body": [{…}]},
        "response": {"status": 200, "headers": {…}, "body": {"data": […]},
                     "durationMs": 12.5}},
       {"id": 2, "kind": "stream", …, "response": {"status": 200, "headers": {…},
        "events": [{"atMs": 3.1, "data": {…}}, …, {"atMs": 9.0, "data": "[DONE]"}]}},
       {"id": 3, "kind": "websocket", "startedMs": 40.2,
        "request": {"path": "/v1", "query": "", "headers": {…}},
        "frames": [{"atMs": 0.4, "from": "client", "body": […]},
                   {"atMs": 2.0, "from": "server", "body": {…}}], "close": {…}}]}

Keys are sorted and indented, so a cassette diffs well in review. Bodies keep their numbers
exactly as written (``contracts.parse_json``); taskUUIDs stay as recorded. What never gets
in: the ``Authorization`` header (only the headers in ``_KEPT_HEADERS`` are written), every
``apiKey`` value, and any API key the session sent, wherever it would appear in a text.
"""

from __future__ import annotations

import asyncio
import datetime
import os
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contracts import JSONProblem, parse_json
from openapi import Catalog, Spec

from . import _exactjson as exactjson
from ._config import ConfigError

__all__ = [
    "FORMAT",
    "REMOVED",
    "Cassette",
    "Recorder",
    "kept_headers",
    "load_cassette",
    "load_cassettes",
    "scrub",
    "session_path",
]

FORMAT = 1
REMOVED = "[removed]"
# Headers worth replaying or reading; everything else (Authorization, cookies, tracing ids,
# anything a provider adds) stays out, so no secret can slip in under a new name.
_KEPT_HEADERS = frozenset(
    {
        "content-type",
        "accept",
        "user-agent",
        "retry-after",
        "cache-control",
        "x-runware-dry-run",
        "sec-websocket-protocol",
    }
)
_SAVE_EVERY_S = 0.25  # a recording session rewrites its file at most this often


def kept_headers(headers: Iterable[tuple[bytes | str, bytes | str]]) -> dict[str, str]:
    """The headers a cassette keeps, names lower-cased."""
    kept: dict[str, str] = {}
    for name, value in headers:
        name = name.decode("latin-1") if isinstance(name, bytes) else name
        value = value.decode("latin-1") if isinstance(value, bytes) else value
        if name.lower() in _KEPT_HEADERS:
            kept[name.lower()] = value
    return kept


def scrub(value: Any, secrets: Iterable[str]) -> Any:
    """``value`` with every ``apiKey`` replaced and each secret cut out of every string."""
    hidden = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def clean(item: Any) -> Any:
        if isinstance(item, dict):
            return {k: REMOVED if k == "apiKey" else clean(v) for k, v in item.items()}
        if isinstance(item, list):
            return [clean(v) for v in item]
        if isinstance(item, str):
            for secret in hidden:
                item = item.replace(secret, REMOVED)
        return item

    return clean(value)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("runware-contract-kit")
    except PackageNotFoundError:  # a checkout that was never installed
        return "0+unknown"


@dataclass(frozen=True, slots=True)
class Cassette:
    """A loaded cassette: where it came from, what recorded it, and its interactions."""

    path: Path
    meta: Mapping[str, Any]
    interactions: tuple[Mapping[str, Any], ...]

    @property
    def name(self) -> str:
        return self.path.name


def load_cassette(path: str | os.PathLike[str]) -> Cassette:
    """Read one cassette file.

    Raises:
        ConfigError: the file cannot be read, is not JSON, or is no cassette (``key`` is
            ``"replay"``).
    """
    path = Path(path)
    try:
        data = parse_json(path.read_bytes())
    except OSError as exc:
        raise ConfigError(f"cannot read the cassette {path}: {exc.strerror}", key="replay") from exc
    except JSONProblem as exc:
        raise ConfigError(
            f"the cassette {path} is not JSON: {exc.reason}; record it again "
            "(runware-kit proxy --record DIR)",
            key="replay",
        ) from exc
    if not isinstance(data, dict) or not isinstance(data.get("interactions"), list):
        raise ConfigError(
            f"{path} is no cassette: it has no 'interactions' list (cassettes "
            "are what runware-kit proxy --record writes)",
            key="replay",
        )
    if data.get("format") != FORMAT:
        raise ConfigError(
            f"the cassette {path} is of format {data.get('format')!r}; this kit "
            f"reads format {FORMAT}: record it again",
            key="replay",
        )
    meta = {k: v for k, v in data.items() if k != "interactions"}
    return Cassette(path=path, meta=meta, interactions=tuple(data["interactions"]))


def load_cassettes(folder: str | os.PathLike[str]) -> tuple[Cassette, ...]:
    """Every ``*.json`` cassette in ``folder`` (or the one file ``folder`` names), by name.

    Raises:
        ConfigError: the folder is missing, or a file in it is no cassette.
    """
    folder = Path(folder)
    if folder.is_file():
        return (load_cassette(folder),)
    if not folder.is_dir():
        raise ConfigError(
            f"--replay {folder}: no such directory; pass the directory "
            "runware-kit proxy --record wrote",
            key="replay",
        )
    return tuple(load_cassette(p) for p in sorted(folder.glob("*.json")))


def session_path(folder: str | Path) -> Path:
    """A new cassette's file in ``folder`` for a session starting now (sorted by time)."""
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    return Path(folder) / f"session-{stamp}-{os.getpid():x}-{os.urandom(2).hex()}.json"


class Recorder:
    """Collects a session's interactions and keeps its cassette file up to date.

    ``add()`` is called from the event loop; the file is rewritten (atomically) at most every
    ``_SAVE_EVERY_S`` and by ``save()``, so a stopped proxy leaves a complete cassette. With
    ``keep`` (the pytest plugin's ``new_episodes``) the interactions of an existing cassette
    come first.
    """

    def __init__(
        self, path: str | Path, *, spec: Spec | Catalog, target: str, keep: Cassette | None = None
    ) -> None:
        self.path = Path(path)
        first = spec.first if isinstance(spec, Catalog) else spec
        self.meta = {
            "format": FORMAT,
            "kit": _version(),
            "model": first.model_id,
            "document": first.title,
            "target": target,
            "recorded": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        self.interactions: list[dict[str, Any]] = (
            [dict(i) for i in keep.interactions] if keep is not None else []
        )
        self._next_id = max((int(i.get("id", 0)) for i in self.interactions), default=0) + 1
        self.started = time.perf_counter()
        self.secrets: set[str] = set()
        self._lock = threading.Lock()
        self._dirty = False
        self._timer: asyncio.TimerHandle | None = None

    def elapsed_ms(self, since: float | None = None) -> float:
        return round((time.perf_counter() - (self.started if since is None else since)) * 1000, 3)

    def add(self, interaction: dict[str, Any], *, secrets: Iterable[str] = ()) -> None:
        """Record one exchange (its ``startedMs`` set by the caller); secrets removed."""
        with self._lock:
            self.secrets.update(s for s in secrets if s)
            self.interactions.append({"id": self._next_id, **interaction})
            self._next_id += 1
            self._dirty = True
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.save()
            return
        if self._timer is None:
            self._timer = loop.call_later(_SAVE_EVERY_S, self._flush)

    def _flush(self) -> None:
        self._timer = None
        self.save()

    def save(self) -> None:
        """Write the cassette now if anything changed (a temporary file, then a rename)."""
        with self._lock:
            if not self._dirty:  # nothing new (a session without traffic leaves no file)
                return
            self._dirty = False
            body = scrub({**self.meta, "interactions": self.interactions}, self.secrets)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".cassette-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(exactjson.dumps(body, sort_keys=True, indent=True) + b"\n")
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.save()
