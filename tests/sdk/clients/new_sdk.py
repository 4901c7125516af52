"""Drive PyPI ``runware-sdk`` 1.8 (``from runware import Runware``) against a Runware server.

Run with the SDK venv's python (``.venv-sdk-new/bin/python new_sdk.py --http URL --ws URL
--api-key K --scenario NAME --model MODEL``). Prints one JSON line: what the SDK returned, or
``{"error": ...}`` with exit status 1. taskType is always passed so the SDK never fetches its
model registry from the internet.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from _common import Scenario, close_quietly, main, text_task
from runware import Runware


def _client(args: argparse.Namespace, transport: str) -> Runware:
    return Runware(
        api_key=args.api_key, transport=transport, ws_base_url=args.ws, http_base_url=args.http
    )


async def _run(args: argparse.Namespace, transport: str, **extra: Any) -> dict[str, Any]:
    client = _client(args, transport)
    try:
        await client.connect()
        results = await client.run(text_task(args.model, **extra))
        return {"results": results}
    finally:
        await close_quietly(client.close)


async def _collect(stream: Any) -> list[str]:
    return [delta async for delta in stream]


async def rest_stream(args: argparse.Namespace) -> dict[str, Any]:
    client = _client(args, "rest")
    try:
        stream = await client.stream(text_task(args.model))
        # Both iterators are fed by one SSE request, so they are drained side by side.
        text, reasoning = await asyncio.gather(
            _collect(stream.text_stream), _collect(stream.reasoning_stream)
        )
        final = await stream.result()
        return {
            "text_deltas": text,
            "reasoning_deltas": reasoning,
            "result": {
                "text": final.text,
                "reasoning_content": final.reasoning_content,
                "finish_reason": final.finish_reason,
                "usage": final.usage,
                "cost": final.cost,
                "task_uuid": final.task_uuid,
                "chunks": len(final.raw_chunks),
            },
        }
    finally:
        await close_quietly(client.close)


SCENARIOS: dict[str, Scenario] = {
    # run() without deliveryMethod means "async": an ack, then getResponse polling.
    "rest-run-default": lambda args: _run(args, "rest"),
    "rest-run-sync-2": lambda args: _run(args, "rest", deliveryMethod="sync", numberResults=2),
    "rest-stream": rest_stream,
    "ws-run-default": lambda args: _run(args, "websocket"),
    "ws-run-sync-2": lambda args: _run(args, "websocket", deliveryMethod="sync", numberResults=2),
}

if __name__ == "__main__":
    main(SCENARIOS)
