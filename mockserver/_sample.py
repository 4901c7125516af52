"""Draw examples from the kit's strategies outside a test, reproducibly, for ``sample``.

Three kinds: ``realistic`` (``realistic_requests()``: what an application sends, short
enough for ``curl -d "$line"``), ``fuzz`` (``requests()``: boundary draws, megabytes long)
and ``invalid`` (``invalid_requests()``: each body breaks one named rule).
"""

from __future__ import annotations

import random
import uuid
from typing import Any, Literal

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as seed_with

from contracts.strategies import invalid_requests, realistic_requests, requests
from openapi import Spec

__all__ = ["Kind", "draw_examples"]

Kind = Literal["realistic", "fuzz", "invalid"]


def draw_examples(spec: Spec, *, count: int, seed: int, kind: Kind) -> list[Any]:
    """``count`` draws (fewer only if the space is smaller) of one kind; the same seed gives
    the same draws.

    Realistic draws are meant for live servers, where an async taskUUID is single-use, so
    their taskUUIDs come from the run's seed instead of Hypothesis (which may repeat one
    across examples, and opens every run with the same simplest one): fresh in every run,
    repeated only by ``--seed``.
    """
    drawn: list[Any] = []
    strategies = {"realistic": realistic_requests, "fuzz": requests, "invalid": invalid_requests}
    strategy = strategies[kind](spec=spec)
    fresh = random.Random(seed)

    @seed_with(seed)
    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(example: Any) -> None:
        if len(drawn) < count:
            drawn.append(example)

    collect()
    if kind == "realistic":
        for body in drawn:
            for task in body:
                task["taskUUID"] = str(uuid.UUID(int=fresh.getrandbits(128), version=4))
    return drawn
