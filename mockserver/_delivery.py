"""Delivery modes: async records and their polls, and the events of a stream.

Async: a task's results are generated when it is accepted and kept in the store with the
wall-clock time they become ready (``processing_ms`` later), so any worker sharing the
store answers ``getResponse`` the same way. Polls are cumulative: every poll returns every
generation's current state, and the same ``success`` items until the record expires.

Stream: reasoning deltas first, then text deltas, then a final chunk with an empty delta,
the ``finishReason`` and ``usage``/``cost`` when asked for, then ``[DONE]`` — the framing
all current SDKs parse (protocol reference, section 4). Every chunk carries taskUUID and
taskType, and none carries ``resultIndex``: the backend emits none on stream chunks
(section 4), so with numberResults > 1 the results follow one another, each closed by its
own final chunk. A long time to first token is filled with ``: keep-alive`` comments, which
every SSE parser skips (section 4).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import orjson

from ._config import MockConfig
from ._inference import Generation
from ._text import CJK

__all__ = ["ack_item", "new_record", "poll_items", "stream_events"]

# A delta is a word with the space after it, or one CJK character (a token each, as _text
# counts them), so tokens_per_second paces CJK text as it paces Latin text.
_PIECE = re.compile(f"[^\\s{CJK}]+\\s*|[{CJK}]\\s*|\\s+")  # runs first: mostly Latin
_KEEPALIVE = ": keep-alive\n\n"


def timing(config: MockConfig, generations: Sequence[Generation], name: str) -> float:
    """A timing knob in seconds: the scripted rule's value when it sets one, else the config's."""
    for generation in generations:
        rule = generation.rule
        if rule is not None and getattr(rule, name) is not None:
            return float(getattr(rule, name)) / (1000 if name.endswith("_ms") else 1)
    value = float(getattr(config, name))
    return value / 1000 if name.endswith("_ms") else value


def ack_item(task: Mapping[str, Any]) -> dict[str, Any]:
    """The immediate reply to an async (or webhook) task: its taskType and taskUUID."""
    return {"taskType": task["taskType"], "taskUUID": task["taskUUID"]}


def new_record(
    task: Mapping[str, Any], generations: Sequence[Generation], *, config: MockConfig
) -> dict[str, Any]:
    """What the store keeps for an accepted async task (JSON-able)."""
    ready = time.time() + timing(config, generations, "processing_ms")
    return {
        "taskType": task["taskType"],
        "taskUUID": task["taskUUID"],
        "readyAt": ready,
        "items": [g.item(task, config=config) for g in generations],
    }


def poll_items(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Cumulative state of every generation of a task, as a getResponse reply holds it: a
    task that failed while processing is one ``status: "error"`` item with its ``error``
    (protocol reference §3; what py-new and ts-new check for)."""
    if time.time() < record["readyAt"]:
        return [
            {
                "taskType": record["taskType"],
                "taskUUID": record["taskUUID"],
                "status": "processing",
                "resultIndex": item["resultIndex"],
            }
            for item in record["items"]
        ]
    failure = record.get("failure")
    if failure is not None:
        error = {k: v for k, v in failure.items() if k not in ("taskType", "taskUUID")}
        return [
            {
                "taskType": record["taskType"],
                "taskUUID": record["taskUUID"],
                "status": "error",
                "error": error,
            }
        ]
    return [{**item, "status": "success"} for item in record["items"]]


def _event(payload: Mapping[str, Any]) -> str:
    return f"data: {orjson.dumps(payload).decode()}\n\n"


async def stream_events(
    task: Mapping[str, Any],
    generations: Sequence[Generation],
    *,
    config: MockConfig,
    keepalive_s: float | None = None,
) -> AsyncIterator[str]:
    """Server-Sent Events for one stream task, paced by ``ttft_ms``/``tokens_per_second``.

    ``keepalive_s``: while the first token is awaited longer than this, a ``: keep-alive``
    comment goes out every ``keepalive_s`` seconds; ``None`` takes the config's
    ``stream_keepalive_s``; 0 sends none.
    """
    head = {"taskUUID": task["taskUUID"], "taskType": task["taskType"]}
    # Every delta event shares its start; only the piece of text changes. Built once, the
    # events cost one small encode each (the throughput of a stream is this loop).
    opening = f"data: {orjson.dumps(head).decode()[:-1]},"
    first = timing(config, generations, "ttft_ms")
    rate = timing(config, generations, "tokens_per_second")
    gap = 1 / rate if rate > 0 else 0.0
    if first:
        every = keepalive_s if keepalive_s is not None else float(config.stream_keepalive_s)
        if 0 < every < first:
            # The loop's clock, not time.monotonic: tests freeze the module's clock.
            loop = asyncio.get_running_loop()
            due = loop.time() + first
            while due - loop.time() > every:
                await asyncio.sleep(every)
                yield _KEEPALIVE
            first = max(0.0, due - loop.time())
        await asyncio.sleep(first)
    for generation in generations:
        for kind, text in (
            ("reasoningContent", generation.reasoning or ""),
            ("text", generation.text),
        ):
            tail = ',"finishReason":null}\n\n' if kind == "text" else "}\n\n"
            prefix = f'{opening}"delta":{{"{kind}":'
            for piece in _PIECE.findall(text):
                if gap:
                    await asyncio.sleep(gap)
                yield f"{prefix}{orjson.dumps(piece).decode()}}}{tail}"
        yield _event(
            {
                **head,
                "delta": {},
                "finishReason": generation.finish_reason,
                **generation.accounting(task, config=config),
            }
        )
    yield "data: [DONE]\n\n"


class StreamDropped(Exception):
    """Raised inside a stream to drop the connection (the ``disconnect`` fault)."""


async def broken_stream(
    events: AsyncIterator[str], fault: Any, task: Mapping[str, Any]
) -> AsyncIterator[str]:
    """The stream of a ``disconnect``/``error-frame``/``truncate``/``stall`` fault: the
    first ``after_chunks`` events, then the break."""
    sent = 0
    async for event in events:
        if event.startswith(":"):  # a keep-alive comment is no chunk
            yield event
            continue
        if sent == fault.after_chunks:
            if fault.kind == "stall":
                await asyncio.sleep(fault.stall_ms / 1000)
            elif fault.kind == "error-frame":
                yield error_event([fault.error(task)])
                return
            elif fault.kind == "truncate":
                yield event[: max(8, len(event) // 2)]  # half an event: no closing brace
                return
            else:
                raise StreamDropped
        yield event
        sent += 1


def error_event(errors: list[dict[str, Any]]) -> str:
    """A mid-stream error, as ts-new's tests frame it: ``data: {"errors": [...]}``."""
    return _event({"errors": errors})
