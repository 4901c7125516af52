"""Run every delivery benchmark in one run on one machine: streams, then async round trips.

* ``bench_stream.py`` -- the mock's stream events/s against a bare Starlette SSE endpoint on
  the same uvicorn, at 1 and 50 clients, ``--rounds`` alternating rounds, wrk with a Lua
  script (or an httpx fallback). Target: the best mock round at least 0.5x the best bare
  round, for every client count;
* ``bench_async.py`` -- async submit + getResponse round trips per second from 16 asyncio
  loops, one run per store: in-memory, Redis, Redis with two workers. No target.

Each is a script of its own, with its docstring saying how it measures; this one prints the
machine once, runs both with the same ``--seconds`` (``--rounds`` is the streams'), and
writes one JSON file with both sets of figures (keys as before the split). The exit status
is 1 when any run failed.

Run it from the repository root, in the project's environment::

    python benchmarks/bench_delivery.py                         # ~65 s
    python benchmarks/bench_delivery.py --seconds 2 --rounds 1 --json bench-delivery.json
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import _delivery  # benchmarks/_delivery.py: run these as scripts from the repository root
import _report
import bench_async
import bench_stream


def main(argv: Sequence[str] | None = None) -> int:
    made = bench_stream.parser(__doc__)
    made.add_argument("--no-redis", action="store_true", help="skip the Redis-store async runs")
    args = _report.parse(made, argv)
    wrk = _report.wrk(made, args)

    def measure(model: str) -> dict[str, Any]:
        streams = bench_stream.measure(
            model=model, wrk=wrk, seconds=args.seconds, rounds=args.rounds
        )
        print()
        trips = bench_async.measure(
            model=model, seconds=args.seconds, rounds=1, redis=not args.no_redis
        )
        return {
            **streams,
            **trips,
            "commands": streams["commands"] | trips["commands"],
            "startup_seconds": streams["startup_seconds"] | trips["startup_seconds"],
            "errors": streams["errors"] + trips["errors"],
        }

    return _delivery.run(args, measure, "redis")


if __name__ == "__main__":
    sys.exit(main())
