"""Drive PyPI ``runware`` 0.5 (the legacy SDK) against a Runware server.

Run with the SDK venv's python (``.venv-sdk-legacy/bin/python legacy_sdk.py --http URL --ws URL
--api-key K --scenario NAME --model MODEL``). Prints one JSON line: what the SDK returned, or
``{"error": ...}`` with exit status 1.
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

import runware.utils
from _common import USER_MESSAGE, Scenario, close_quietly, main
from runware import IAsyncTaskResponse, IText, ITextInference, ITextInferenceMessage, Runware


def _request(args: argparse.Namespace, **extra: Any) -> ITextInference:
    return ITextInference(
        model=args.model,
        includeUsage=True,
        messages=[ITextInferenceMessage(role="user", content=USER_MESSAGE)],
        **extra,
    )


def _client(args: argparse.Namespace) -> Runware:
    # Streams go over HTTP to the URL this table maps the WebSocket URL to; a URL missing from
    # it means production (https://api.runware.ai/v1), so the mock's must be added.
    runware.utils._WS_TO_HTTP[args.ws] = args.http
    return Runware(api_key=args.api_key, url=args.ws)


def _texts(results: Any) -> list[dict[str, Any]]:
    if not isinstance(results, list) or not all(isinstance(r, IText) for r in results):
        raise TypeError(f"expected List[IText], the SDK returned {results!r}")
    return [dataclasses.asdict(r) for r in results]


async def _text(args: argparse.Namespace, **extra: Any) -> dict[str, Any]:
    rw = _client(args)
    try:
        await rw.connect()
        return {"results": _texts(await rw.textInference(_request(args, **extra)))}
    finally:
        await close_quietly(rw.disconnect)


async def ws_async(args: argparse.Namespace) -> dict[str, Any]:
    rw = _client(args)
    try:
        await rw.connect()
        ack = await rw.textInference(_request(args, deliveryMethod="async"))
        if not isinstance(ack, IAsyncTaskResponse):
            raise TypeError(f"expected IAsyncTaskResponse, the SDK returned {ack!r}")
        results = await rw.getResponse(taskUUID=ack.taskUUID, numberResults=1)
        return {"ack": dataclasses.asdict(ack), "results": _texts(results)}
    finally:
        await close_quietly(rw.disconnect)


async def stream(args: argparse.Namespace) -> dict[str, Any]:
    # No connect(): a stream is one HTTP request, so the scenario does not depend on the
    # WebSocket working.
    rw = _client(args)
    deltas: list[str] = []
    finals: list[dict[str, Any]] = []
    try:
        chunks = await rw.textInference(_request(args, deliveryMethod="stream"))
        if isinstance(chunks, (list, IAsyncTaskResponse)):
            raise TypeError(f"expected an async iterator, the SDK returned {chunks!r}")
        async for chunk in chunks:
            if isinstance(chunk, str):
                deltas.append(chunk)
            elif isinstance(chunk, IText):
                finals.append(dataclasses.asdict(chunk))
            else:
                raise TypeError(f"the stream yielded {chunk!r}, neither str nor IText")
    finally:
        await close_quietly(rw.disconnect)
    if len(finals) != 1:
        raise AssertionError(
            f"the stream ended with {len(finals)} final IText items, not 1 "
            f"(it yields one only on a chunk with finishReason set); text "
            f"deltas so far: {deltas!r}"
        )
    return {"text_deltas": deltas, "result": finals[0]}


SCENARIOS: dict[str, Scenario] = {
    "ws-text": lambda args: _text(args),
    "ws-text-2": lambda args: _text(args, numberResults=2),
    "ws-async": ws_async,
    "stream": stream,
}

if __name__ == "__main__":
    main(SCENARIOS)
