"""Delivery modes: async records and their polls, and the events of a stream.

Async: a task's results are generated when it is accepted and kept in the store with the
wall-clock time they become ready (``processing_ms`` later), so any worker sharing the
store answers ``getResponse`` the same way. Polls are cumulative: every poll returns every
generation's current state, and the same ``success`` items until the record expires.

Stream: reasoning deltas first, then text deltas, then a final chunk with an empty delta,
the ``finishReason`` and ``usage``/``cost`` when asked for, then ``[DONE]`` — the framing
all current SDKs parse (protocol reference, section 4). Every chunk carries taskUUID and
taskType.
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

__all__ = ["ack_item", "new_record", "poll_items", "stream_events"]

_PIECE = re.compile(r"\S+\s*|\s+")


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


def new_record(task: Mapping[str, Any], generations: Sequence[Generation], *,
               config: MockConfig) -> dict[str, Any]:
    """What the store keeps for an accepted async task (JSON-able)."""
    ready = time.time() + timing(config, generations, "processing_ms")
    return {"taskType": task["taskType"], "taskUUID": task["taskUUID"], "readyAt": ready,
            "items": [g.item(task, config=config) for g in generations]}


def poll_items(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Cumulative state of every generation of a task, as a getResponse reply holds it."""
    if time.time() < record["readyAt"]:
        return [{"taskType": record["taskType"], "taskUUID": record["taskUUID"],
                 "status": "processing", "resultIndex": item["resultIndex"]}
                for item in record["items"]]
    return [{**item, "status": "success"} for item in record["items"]]


def _event(payload: Mapping[str, Any]) -> str:
    return f"data: {orjson.dumps(payload).decode()}\n\n"


async def stream_events(task: Mapping[str, Any], generations: Sequence[Generation], *,
                        config: MockConfig) -> AsyncIterator[str]:
    """Server-Sent Events for one stream task, paced by ``ttft_ms``/``tokens_per_second``."""
    head = {"taskUUID": task["taskUUID"], "taskType": task["taskType"]}
    # Every delta event shares its start; only the piece of text changes. Built once, the
    # events cost one small encode each (the throughput of a stream is this loop).
    opening = f"data: {orjson.dumps(head).decode()[:-1]},"
    first = timing(config, generations, "ttft_ms")
    rate = timing(config, generations, "tokens_per_second")
    gap = 1 / rate if rate > 0 else 0.0
    if first:
        await asyncio.sleep(first)
    several = len(generations) > 1
    for generation in generations:
        index = {"resultIndex": generation.result_index} if several else {}
        start = opening + (f'"resultIndex":{generation.result_index},' if several else "")
        for kind, text in (("reasoningContent", generation.reasoning or ""),
                           ("text", generation.text)):
            tail = ',"finishReason":null}\n\n' if kind == "text" else "}\n\n"
            prefix = f'{start}"delta":{{"{kind}":'
            for piece in _PIECE.findall(text):
                if gap:
                    await asyncio.sleep(gap)
                yield f"{prefix}{orjson.dumps(piece).decode()}}}{tail}"
        yield _event({**head, **index, "delta": {}, "finishReason": generation.finish_reason,
                      **generation.accounting(task, config=config)})
    yield "data: [DONE]\n\n"


class StreamDropped(Exception):
    """Raised inside a stream to drop the connection (the ``disconnect`` fault)."""


async def broken_stream(events: AsyncIterator[str], fault: Any,
                        task: Mapping[str, Any]) -> AsyncIterator[str]:
    """The stream of a ``disconnect``/``error-frame``/``truncate``/``stall`` fault: the
    first ``after_chunks`` events, then the break."""
    sent = 0
    async for event in events:
        if sent == fault.after_chunks:
            if fault.kind == "stall":
                await asyncio.sleep(fault.stall_ms / 1000)
            elif fault.kind == "error-frame":
                yield error_event([{"code": fault.error_code, "message": fault.error_message,
                                    "taskType": task["taskType"], "taskUUID": task["taskUUID"]}])
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
