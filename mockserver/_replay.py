"""``serve --replay DIR``: answer requests from recorded cassettes, taskUUIDs rewritten.

A request whose tasks match a recording (``_match``: equal once ``taskUUID`` and the
configurable ignore list are removed) is answered with the recorded reply — its status,
body or events, every recorded taskUUID replaced by the one this request sent. Equal
recordings are used in the order they were recorded, the last one again once all were (an
async task's polls: "processing", then "success", then "success" for any later poll). A
getResponse finds the recording of its own task: a match remembers which recorded taskUUID
each new one stands for (``aliases``).

Over the WebSocket each task is matched on its own and answered with the frames the server
sent about it (until the client next sent that taskUUID); authentication, pings and session
resumption stay the mock's. Pacing: ``fast`` (at once) or ``recorded`` (each event and frame
when it came, relative to its request).

A request no recording matches gets a Runware-style 404 ``noRecordingMatched`` (an error
frame over the WebSocket) naming the closest recording and the first JSON pointer where they
differ, or — ``miss="pass"`` — goes on to the app behind (the mock generates, or the pytest
plugin's proxy records it).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from contracts import JSONProblem, parse_json

from . import _exactjson as exactjson
from ._cassette import Cassette, load_cassettes
from ._config import ConfigError
from ._error_bodies import error_body, error_item
from ._match import DEFAULT_IGNORE, closest, first_difference, normalized
from ._rest_endpoint import bearer, is_json, media_type

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from openapi import Spec

    from ._mock import MockServer

__all__ = ["Hit", "Miss", "ReplayFirst", "Replayer", "install_replay"]

Pacing = Literal["fast", "recorded"]
MissMode = Literal["error", "pass"]
REST_PATHS = frozenset({"/v1", "/", "/v1/"})
_REPLAYED_HEADERS = ("content-type", "retry-after", "cache-control")
_ALIASES = 100_000  # new → recorded taskUUIDs remembered (a poll may come much later)
_SHOWN = 80  # characters of a value a miss message shows


@dataclass(frozen=True, slots=True)
class _Recording:
    cassette: Cassette
    interaction: Mapping[str, Any]
    request: Any  # the recorded request (REST: the body; WebSocket: one task)
    compared: Any  # the request as matching compares it
    replies: tuple[tuple[float, Any], ...] = ()  # WebSocket: (ms after the task, frame)

    @property
    def label(self) -> str:
        i = self.interaction
        return (
            f"{self.cassette.name}#{i.get('id')} ({i.get('kind')}, recorded "
            f"{float(i.get('startedMs', 0)) / 1000:.3f} s into its session)"
        )


@dataclass(frozen=True, slots=True)
class Hit:
    """A recording to answer with, and the taskUUIDs to rewrite (recorded → new)."""

    recording: _Recording
    rename: Mapping[str, str]

    @property
    def label(self) -> str:
        return self.recording.label


@dataclass(frozen=True, slots=True)
class Miss:
    """No recording matched: why, in words a user can act on."""

    message: str
    closest: str | None = None
    pointer: str | None = None


def _uuid_list(payload: Any) -> list[str | None]:
    if not isinstance(payload, list):
        return []
    return [
        t.get("taskUUID") if isinstance(t, dict) and isinstance(t.get("taskUUID"), str) else None
        for t in payload
    ]


def _canonical(value: Any) -> bytes:
    return exactjson.dumps(value, sort_keys=True)


def _shown(value: Any) -> str:
    if value is ...:
        return "(absent)"
    text = exactjson.dumps(value).decode()
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


def rewrite(value: Any, rename: Mapping[str, str]) -> Any:
    """``value`` with every recorded taskUUID replaced by its new one, in any string."""
    if not rename:
        return value
    if isinstance(value, dict):
        return {k: rewrite(v, rename) for k, v in value.items()}
    if isinstance(value, list):
        return [rewrite(v, rename) for v in value]
    if isinstance(value, str):
        for old, new in rename.items():
            if old in value:
                value = value.replace(old, new)
    return value


def _ws_recordings(
    cassette: Cassette, interaction: Mapping[str, Any], ignore: Sequence[str], spec: Spec
) -> list[_Recording]:
    """Each task a client sent on a recorded socket, with the frames that answered it
    (authentication and pings are the mock's, never a recording's)."""
    unrecorded = (spec.authentication_task_type, spec.ping_task_type)
    frames = [f for f in interaction.get("frames") or () if isinstance(f, Mapping)]
    found = []
    for index, frame in enumerate(frames):
        if frame.get("from") != "client":
            continue
        body = frame.get("body")
        for task in body if isinstance(body, list) else [body]:
            if not isinstance(task, dict) or task.get("taskType") in unrecorded:
                continue
            uuid = task.get("taskUUID")
            replies = []
            for later in frames[index + 1 :]:
                mentions = isinstance(uuid, str) and uuid in _canonical(later.get("body")).decode()
                if later.get("from") == "client":
                    if mentions:
                        break  # the client asks about the task again: that is its own reply
                    continue
                if mentions:
                    replies.append(
                        (
                            float(later.get("atMs", 0)) - float(frame.get("atMs", 0)),
                            later.get("body"),
                        )
                    )
            found.append(
                _Recording(
                    cassette,
                    interaction,
                    task,
                    normalized([task], poll_type=spec.poll_task_type, ignore=ignore)[0],
                    tuple(replies),
                )
            )
    return found


@dataclass
class Replayer:
    """The recordings of some cassettes, and the state of replaying them.

    Args:
        cassettes: what to answer from (``load_cassettes(DIR)``).
        ignore: task fields matching leaves out (dotted paths reach into objects);
            ``taskUUID`` is always among them.
        pacing: ``"fast"``, or ``"recorded"`` to wait as long as the server took.
        spec: the document whose utility task types (the poll, authentication, ping) the
            recordings are read with.
    """

    cassettes: Sequence[Cassette]
    ignore: Sequence[str] = DEFAULT_IGNORE
    pacing: Pacing = "fast"
    misses: list[str] = field(default_factory=list)  # every miss's message, in order
    hits: int = 0
    spec: Spec = field(kw_only=True, repr=False)

    def __post_init__(self) -> None:
        if self.pacing not in ("fast", "recorded"):
            raise ConfigError(
                f"pacing={self.pacing!r}: use 'fast' or 'recorded'", key="replay_pacing"
            )
        self.ignore = tuple(dict.fromkeys(("taskUUID", *self.ignore)))
        self.rest: list[_Recording] = []
        self.ws: list[_Recording] = []
        for cassette in self.cassettes:
            for interaction in cassette.interactions:
                kind = interaction.get("kind")
                body = (interaction.get("request") or {}).get("body")
                if kind in ("rest", "stream") and isinstance(body, list):
                    compared = normalized(
                        body, poll_type=self.spec.poll_task_type, ignore=self.ignore
                    )
                    self.rest.append(_Recording(cassette, interaction, body, compared))
                elif kind == "websocket":
                    self.ws.extend(_ws_recordings(cassette, interaction, self.ignore, self.spec))
        self._index = {
            kind: self._by_key(recordings)
            for kind, recordings in (("rest", self.rest), ("ws", self.ws))
        }
        self._used: set[int] = set()
        self.aliases: OrderedDict[str, str] = OrderedDict()

    @staticmethod
    def _by_key(recordings: Sequence[_Recording]) -> dict[bytes, list[_Recording]]:
        index: dict[bytes, list[_Recording]] = {}
        for recording in recordings:
            index.setdefault(_canonical(recording.compared), []).append(recording)
        return index

    @property
    def source(self) -> str:
        folders = sorted({str(c.path.parent) for c in self.cassettes})
        return ", ".join(folders) or "(no cassettes)"

    def match_rest(self, payload: Any) -> Hit | Miss:
        """The recording for a REST body (a list of tasks), or why there is none."""
        return self._match("rest", payload, _uuid_list(payload))

    def match_task(self, task: Mapping[str, Any]) -> Hit | Miss:
        """The recording for one task sent over the WebSocket, or why there is none."""
        return self._match("ws", dict(task), _uuid_list([task]))

    def _match(self, kind: str, payload: Any, uuids: list[str | None]) -> Hit | Miss:
        compared = normalized(
            payload if kind == "rest" else [payload],
            poll_type=self.spec.poll_task_type,
            ignore=self.ignore,
            aliases=self.aliases,
        )
        if kind == "ws":
            compared = compared[0]
        equal = self._index[kind].get(_canonical(compared))
        if not equal:
            miss = self._miss(kind, compared)
            self.misses.append(miss.message)
            return miss
        recording = next((r for r in equal if id(r) not in self._used), equal[-1])
        self._used.add(id(recording))
        recorded = _uuid_list(recording.request if kind == "rest" else [recording.request])
        rename: dict[str, str] = {}
        for old, new in zip(recorded, uuids, strict=False):
            if old and new and old != new:
                rename[old] = new
            if old and new:
                self.aliases[new] = old
                self.aliases.move_to_end(new)
        while len(self.aliases) > _ALIASES:
            self.aliases.popitem(last=False)
        self.hits += 1
        return Hit(recording, rename)

    def _miss(self, kind: str, compared: Any) -> Miss:
        pool = self.rest if kind == "rest" else self.ws
        what = "request" if kind == "rest" else "WebSocket task"
        ignored = ", ".join(self.ignore)
        head = (
            f"No recording matched this {what} (replaying {len(pool)} "
            f"{'REST' if kind == 'rest' else 'WebSocket'} recordings from {self.source}; "
            f"compared without {ignored})."
        )
        fix = (
            " Record the session again (runware-kit proxy --record DIR, or the pytest "
            "plugin's --runware-record-mode), add the field that changes between runs to "
            "the ignore list (--replay-ignore), or let the mock answer misses "
            "(--replay-miss generate)."
        )
        index = closest(compared, [r.compared for r in pool])
        if index is None:
            return Miss(head + " There is no recording of this kind to compare with." + fix)
        near = pool[index]
        found = first_difference(near.compared, compared)
        if found is None:  # equal keys but used up cannot happen (the last one repeats)
            return Miss(head + fix, closest=near.label)
        pointer, recorded, sent = found
        return Miss(
            f"{head} The closest is {near.label}: it differs at "
            f"{pointer or '/'}: recorded {_shown(recorded)}, sent {_shown(sent)}.{fix}",
            closest=near.label,
            pointer=pointer,
        )


# -- answering -------------------------------------------------------------------------------


def _event_bytes(event: Mapping[str, Any], rename: Mapping[str, str]) -> bytes:
    if "data" in event and "raw" not in event:
        data = event["data"]
        text = data if isinstance(data, str) else exactjson.dumps(rewrite(data, rename)).decode()
        return f"data: {text}\n\n".encode()
    raw = rewrite(str(event.get("raw", "")), rename)
    return f"{raw}\n\n".encode()


async def _read_body(receive: Receive, *, limit: int) -> tuple[bytes, bool] | None:
    """The body as far as ``limit`` and whether more came, or None if the client left."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if size > limit or not message.get("more_body", False):
            break
    return b"".join(chunks), size > limit


def _body_again(raw: bytes, *, more: bool, receive: Receive) -> Receive:
    """A ``receive`` for the app behind: the body as it came, then the client's own."""
    kept: bytes | None = raw

    async def again() -> Message:
        nonlocal kept
        if kept is not None:
            body, kept = kept, None
            return {"type": "http.request", "body": body, "more_body": more}
        return await receive()

    return again


async def _answer_miss(send: Send, miss: Miss) -> Any:
    """Answer with a 404 ``noRecordingMatched``; what to journal of it."""
    body = orjson.dumps(error_body("noRecordingMatched", miss.message))
    await send(
        {
            "type": "http.response.start",
            "status": 404,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
    return parse_json(body)


class ReplayFirst:
    """Middleware that answers ``POST /v1`` and the WebSocket's tasks from recordings when
    they match; everything else (and, with ``miss="pass"``, every miss) goes to the app."""

    def __init__(
        self, app: ASGIApp, *, replayer: Replayer, mock: MockServer, miss: MissMode = "error"
    ) -> None:
        self.app = app
        self.replayer = replayer
        self.mock = mock
        self.miss = miss
        # The tasks a socket's session is made of: the mock answers them, never a recording.
        self._auth_type = mock.spec.authentication_task_type
        self._session_types = (self._auth_type, mock.spec.ping_task_type)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] in REST_PATHS:
            await self._rest(scope, receive, send)
        elif scope["type"] == "websocket" and scope["path"] in REST_PATHS:
            await self._websocket(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _sleep_until(self, started: float, at_ms: Any) -> None:
        if self.replayer.pacing == "recorded":
            delay = started + float(at_ms or 0) / 1000 - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)

    # -- REST ----------------------------------------------------------------------------

    async def _rest(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        read = await _read_body(receive, limit=self.mock.config.max_body_bytes)
        if read is None:  # the client left
            return
        raw, more = read
        again = _body_again(raw, more=more, receive=receive)
        try:
            payload = parse_json(raw)
        except JSONProblem:
            payload = None
        headers = dict(scope["headers"])
        key, refused = self.mock.authenticate(bearer(headers), payload)
        answerable = is_json(media_type(headers)) and isinstance(payload, list)
        if more or not answerable or refused is not None:
            # Not a request a recording could answer: the mock refuses it as it would.
            await self.app(scope, again, send)
            return
        found = self.replayer.match_rest(payload)
        if isinstance(found, Miss) and self.miss == "pass":
            await self.app(scope, again, send)
            return
        violations = list(self.mock.violations(payload))
        if isinstance(found, Miss):
            status, journaled = 404, await _answer_miss(send, found)
            fault: str | None = "replay: no recording matched"
            origin = f"replay miss (closest: {found.closest or 'none'})"
        else:
            status, journaled = await self._answer_hit(send, found, started=started)
            fault, origin = None, f"replayed {found.label}"
        await self.mock.journal.record(
            method="POST",
            path=scope["path"],
            api_key=key,
            request=payload,
            violations=violations,
            status=status,
            response=journaled,
            started=started,
            fault=fault,
            origin=origin,
        )

    async def _answer_hit(self, send: Send, found: Hit, *, started: float) -> tuple[int, Any]:
        """Answer with the recorded reply, taskUUIDs rewritten: (its status, what to journal)."""
        response = found.recording.interaction.get("response") or {}
        status = int(response.get("status", 200))
        kept = response.get("headers") or {}
        out = [
            (name.encode("latin-1"), str(kept[name]).encode("latin-1"))
            for name in _REPLAYED_HEADERS
            if name in kept
        ]
        if "events" in response:
            await send({"type": "http.response.start", "status": status, "headers": out})
            shown = []
            for event in response["events"]:
                await self._sleep_until(started, event.get("atMs"))
                chunk = _event_bytes(event, found.rename)
                shown.append(rewrite(event.get("data", event.get("raw")), found.rename))
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return status, {"events": shown}
        journaled: Any
        if "body" in response:
            journaled = rewrite(response["body"], found.rename)
            body = exactjson.dumps(journaled)
        else:
            journaled = rewrite(str(response.get("text", "")), found.rename)
            body = journaled.encode()
        await self._sleep_until(started, response.get("durationMs"))
        out.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": out})
        await send({"type": "http.response.body", "body": body})
        return status, journaled

    # -- WebSocket -----------------------------------------------------------------------

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        lock = asyncio.Lock()
        jobs: set[asyncio.Task[None]] = set()
        state: dict[str, Any] = {"authenticated": False, "key": None, "open": True}

        async def locked_send(message: Message) -> None:
            text = message.get("text") if message["type"] == "websocket.send" else None
            if text and not state["authenticated"] and '"connectionSessionUUID"' in text:
                state["authenticated"] = True  # the mock accepted the key
            if message["type"] == "websocket.close":
                state["open"] = False
            async with lock:
                await send(message)

        async def filtered_receive() -> Message:
            while True:
                message = await receive()
                if message["type"] == "websocket.disconnect":
                    state["open"] = False
                text = message.get("text") if message["type"] == "websocket.receive" else None
                if text is None:
                    return message
                try:
                    payload = parse_json(text)
                except JSONProblem:
                    return message
                tasks = payload if isinstance(payload, list) else [payload]
                kept: list[Any] = []
                answered: list[tuple[dict[str, Any], Hit | Miss]] = []
                for task in tasks:
                    if (
                        not isinstance(task, dict)
                        or not state["authenticated"]
                        or task.get("taskType") in self._session_types
                    ):
                        if (
                            isinstance(task, dict)
                            and task.get("taskType") == self._auth_type
                            and isinstance(task.get("apiKey"), str)
                        ):
                            state["key"] = task["apiKey"]
                        kept.append(task)
                        continue
                    found = self.replayer.match_task(task)
                    if isinstance(found, Miss) and self.miss == "pass":
                        kept.append(task)
                    else:
                        answered.append((task, found))
                if not answered:
                    return message
                arrived = time.perf_counter()
                for task, found in answered:
                    job = asyncio.ensure_future(
                        self._ws_answer(scope["path"], task, found, locked_send, state, arrived)
                    )
                    jobs.add(job)
                    job.add_done_callback(jobs.discard)
                if kept:
                    return {"type": "websocket.receive", "text": exactjson.dumps(kept).decode()}

        try:
            await self.app(scope, filtered_receive, locked_send)
        finally:
            for job in list(jobs):
                job.cancel()
            await asyncio.gather(*jobs, return_exceptions=True)

    async def _ws_answer(
        self,
        path: str,
        task: dict[str, Any],
        found: Hit | Miss,
        send: Send,
        state: dict[str, Any],
        started: float,
    ) -> None:
        violations = list(self.mock.violations([task]))
        if isinstance(found, Miss):
            frames: list[tuple[float, Any]] = [
                (
                    0.0,
                    {
                        "errors": [
                            error_item(
                                "noRecordingMatched",
                                found.message,
                                task_type=task.get("taskType")
                                if isinstance(task.get("taskType"), str)
                                else None,
                                task_uuid=task.get("taskUUID")
                                if isinstance(task.get("taskUUID"), str)
                                else None,
                            )
                        ]
                    },
                )
            ]
        else:
            frames = [(at, rewrite(frame, found.rename)) for at, frame in found.recording.replies]
        try:
            for at, frame in frames:
                await self._sleep_until(started, at)
                if not state["open"]:
                    return
                await send({"type": "websocket.send", "text": exactjson.dumps(frame).decode()})
        except (OSError, RuntimeError):
            return  # the client left
        finally:
            await self.mock.journal.record(
                method="WS",
                path=path,
                api_key=state["key"],
                request=[task],
                violations=violations,
                status=404 if isinstance(found, Miss) else 200,
                response=[frame for _, frame in frames] or None,
                started=started,
                fault="replay: no recording matched" if isinstance(found, Miss) else None,
                origin=f"replayed {found.label}"
                if isinstance(found, Hit)
                else f"replay miss (closest: {found.closest or 'none'})",
            )


def install_replay(
    app: Starlette,
    *,
    cassettes: str | os.PathLike[str] | Sequence[Cassette],
    miss: MissMode = "error",
    ignore: Sequence[str] = DEFAULT_IGNORE,
    pacing: Pacing = "fast",
) -> Replayer:
    """Put a replay layer in front of a mock app (before it starts) and return it.

    Args:
        app: an app from :func:`~mockserver.create_app` (or the proxy's).
        cassettes: a directory of cassettes (or one file), or loaded ones.
        miss: ``"error"`` (answer a 404 ``noRecordingMatched``) or ``"pass"`` (let the app
            answer: the mock generates, a proxy forwards and records).
        ignore: task fields matching leaves out, beside ``taskUUID``.
        pacing: ``"fast"`` or ``"recorded"``.

    Raises:
        ConfigError: the cassettes cannot be read, or an option is unknown.
    """
    if miss not in ("error", "pass"):
        raise ConfigError(f"miss={miss!r}: use 'error' or 'pass'", key="replay_miss")
    loaded = (
        load_cassettes(cassettes) if isinstance(cassettes, str | os.PathLike) else tuple(cassettes)
    )
    mock = app.state.mock
    replayer = Replayer(loaded, ignore=tuple(ignore), pacing=pacing, spec=mock.spec)
    app.add_middleware(ReplayFirst, replayer=replayer, mock=mock, miss=miss)
    app.state.replayer = replayer
    return replayer
