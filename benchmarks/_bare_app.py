"""The bare reference for ``bench_mock.py``: the least a Starlette ``POST /v1`` can do.

One route; the endpoint reads the whole body (as the mock must) and answers a fixed
``JSONResponse`` about the size of the mock's reply to a one-task request (one result item
with ~500 characters of text), serialised on every request as the mock's is. No parsing, no
validation, no auth, no journal: whatever the mock spends beyond this is the kit's own cost.

    python -m uvicorn benchmarks._bare_app:app --host 127.0.0.1 --port 8081 --no-access-log
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

__all__ = ["REPLY", "app"]

_TEXT = ("Canberra was chosen as a compromise between Sydney and Melbourne, the two largest "
         "cities, which both wanted to be the capital of the new federation in 1901. The "
         "constitution required the capital to be in New South Wales but at least one hundred "
         "miles from Sydney, and Melbourne hosted parliament until the new city was ready. A "
         "purpose-built capital also avoided favouring either rival, and the site was picked "
         "for its climate, water supply and room to grow, then planned by Walter Burley Griffin "
         "and Marion Mahony Griffin.")

REPLY: dict[str, Any] = {"data": [{
    "taskType": "textInference",
    "taskUUID": "00000000-0000-4000-8000-000000000000",
    "text": _TEXT,
    "finishReason": "stop",
    "seed": 3337596976,
    "resultIndex": 0,
    "usage": {"promptTokens": 32, "completionTokens": 98, "totalTokens": 130},
}]}


async def infer(request: Request) -> Response:
    await request.body()
    return JSONResponse(REPLY)


app = Starlette(routes=[Route("/v1", infer, methods=["POST"])])
