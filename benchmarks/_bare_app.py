"""The bare reference for ``bench_mock.py``: the least a Starlette ``POST /v1`` can do.

One route; the endpoint reads the whole body (as the mock must) and answers a fixed
``JSONResponse`` about the size of the mock's reply to a one-task request (one result item
with ~500 characters of text), serialised on every request as the mock's is. No parsing, no
validation, no auth, no journal: whatever the mock spends beyond this is the kit's own cost.

A second route, ``POST /stream?n=N``, is the reference for ``bench_delivery.py``: it reads
the body and answers a Starlette ``StreamingResponse`` of ``text/event-stream`` with exactly
``N`` ``data:`` lines, each yielded by an async generator as its own chunk, as the mock's
stream is: ``N - 2`` pre-built text deltas of about the mock's size, a final chunk with
``finishReason`` and ``usage``, then ``data: [DONE]``.

    python -m uvicorn benchmarks._bare_app:app --host 127.0.0.1 --port 8081 --no-access-log
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

__all__ = ["REPLY", "STREAM_EVENTS", "app"]

_TEXT = (
    "Canberra was chosen as a compromise between Sydney and Melbourne, the two largest "
    "cities, which both wanted to be the capital of the new federation in 1901. The "
    "constitution required the capital to be in New South Wales but at least one hundred "
    "miles from Sydney, and Melbourne hosted parliament until the new city was ready. A "
    "purpose-built capital also avoided favouring either rival, and the site was picked "
    "for its climate, water supply and room to grow, then planned by Walter Burley Griffin "
    "and Marion Mahony Griffin."
)

REPLY: dict[str, Any] = {
    "data": [
        {
            "taskType": "textInference",
            "taskUUID": "00000000-0000-4000-8000-000000000000",
            "text": _TEXT,
            "finishReason": "stop",
            "seed": 3337596976,
            "resultIndex": 0,
            "usage": {"promptTokens": 32, "completionTokens": 98, "totalTokens": 130},
        }
    ]
}


_UUID = "00000000-0000-4000-8000-000000000000"
_HEAD = f'data: {{"taskUUID":"{_UUID}","taskType":"textInference","delta":{{"text":"'
# Pre-built deltas, one word each (the mock's stream is one event per word); ~125 bytes each.
STREAM_EVENTS: tuple[str, ...] = tuple(
    f'{_HEAD}{word} "}},"finishReason":null}}\n\n' for word in _TEXT.split()
)
_LAST = (
    f'data: {{"taskUUID":"{_UUID}","taskType":"textInference","delta":{{}},'
    '"finishReason":"stop","usage":{"promptTokens":4,"completionTokens":96,'
    '"totalTokens":128,"thinkingTokens":28}}\n\n'
)
_DONE = "data: [DONE]\n\n"
STREAM_DEFAULT = 128
STREAM_MAX = 100_000


async def infer(request: Request) -> Response:
    await request.body()
    return JSONResponse(REPLY)


async def _events(count: int) -> AsyncIterator[str]:
    for index in range(count - 2):
        yield STREAM_EVENTS[index % len(STREAM_EVENTS)]
    yield _LAST
    yield _DONE


async def stream(request: Request) -> Response:
    """``n`` (default 128, at least 2) ``data:`` lines, the last one ``[DONE]``."""
    await request.body()
    try:
        count = int(request.query_params.get("n", STREAM_DEFAULT))
    except ValueError:
        return JSONResponse({"error": "n must be an integer"}, status_code=400)
    count = min(max(count, 2), STREAM_MAX)
    return StreamingResponse(
        _events(count), media_type="text/event-stream", headers={"Cache-Control": "no-store"}
    )


app = Starlette(
    routes=[Route("/v1", infer, methods=["POST"]), Route("/stream", stream, methods=["POST"])]
)
