"""What both SDK client scripts share: their command line, the time bound, one JSON line out.

This runs under an SDK's own venv, so it imports nothing from the kit (and nothing but the
standard library).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

Scenario = Callable[[argparse.Namespace], Awaitable[dict[str, Any]]]

USER_MESSAGE = "Why is the sky blue? Answer in two sentences."


def text_task(model: str, **extra: Any) -> dict[str, Any]:
    """The task every scenario sends, as a plain dict: a user message, usage requested."""
    return {
        "taskType": "textInference",
        "model": model,
        "messages": [{"role": "user", "content": USER_MESSAGE}],
        "includeUsage": True,
        **extra,
    }


def describe(exc: BaseException) -> dict[str, Any]:
    """An exception as JSON: its type and message plus the SDKs' structured fields."""
    out: dict[str, Any] = {"error": f"{type(exc).__name__}: {exc}"}
    for field in ("code", "status_code", "error_data"):
        value = getattr(exc, field, None)
        if value is not None:
            out[field] = value if isinstance(value, (str, int, dict, list)) else repr(value)
    return out


def main(scenarios: dict[str, Scenario]) -> None:
    """Parse the arguments, run one scenario within --timeout, print one JSON line, exit."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--http", required=True, help="REST base URL, e.g. http://h:p/v1")
    parser.add_argument("--ws", required=True, help="WebSocket URL, e.g. ws://h:p/v1")
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--scenario", required=True, choices=sorted(scenarios))
    parser.add_argument("--model", required=True)
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds (30)")
    args = parser.parse_args()

    async def bounded() -> dict[str, Any]:
        try:
            return await asyncio.wait_for(scenarios[args.scenario](args), args.timeout)
        except TimeoutError:
            return {
                "error": f"timeout: scenario {args.scenario!r} did not finish within "
                f"{args.timeout:g} s (the SDK was still waiting for a reply)"
            }

    # Not asyncio.run: its teardown waits for every task, and an SDK's reconnect loop may
    # never end. The answer is printed first, then the process leaves (below).
    loop = asyncio.new_event_loop()
    try:
        out = loop.run_until_complete(bounded())
    except Exception as exc:
        traceback.print_exc()
        out = describe(exc)
    out = {"scenario": args.scenario, **out}
    print(json.dumps(out, default=repr), flush=True)
    sys.stderr.flush()
    os._exit(1 if "error" in out else 0)


async def close_quietly(close: Callable[[], Awaitable[Any]]) -> None:
    """Close an SDK client, bounded, so a failed scenario still exits promptly."""
    try:
        await asyncio.wait_for(close(), 5)
    except Exception:
        traceback.print_exc()
