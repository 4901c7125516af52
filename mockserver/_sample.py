"""Draw examples from the kit's strategies outside a test, reproducibly, for ``sample``."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as seed_with

from contracts.strategies import invalid_requests, requests
from openapi import Spec

__all__ = ["draw_examples"]


def draw_examples(spec: Spec, *, count: int, seed: int, invalid: bool) -> list[Any]:
    """``count`` draws (fewer only if the space is smaller) from ``requests()`` or
    ``invalid_requests()``; the same seed gives the same draws."""
    drawn: list[Any] = []
    strategy = invalid_requests(spec=spec) if invalid else requests(spec=spec)

    @seed_with(seed)
    @settings(max_examples=count, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(example: Any) -> None:
        if len(drawn) < count:
            drawn.append(example)

    collect()
    return drawn
