"""Benchmark: drawing tasks with ``contracts.strategies.tasks()`` vs a hand-written strategy.

Both run inside ``@given`` (which is where users pay for them), on the bundled document,
with the same number of examples, the database off and the same seeds; the best of a few
rounds counts. The hand-written reference is what a careful user would write for the same
schema with ``st.fixed_dictionaries``: the same required and optional parameters, the same
limits, exact two-place decimals, real uuids and URIs. Target: the kit's cost per task
within 1.25x the reference's.

    python benchmarks/bench_strategies.py [--examples 400] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from typing import Any

from hypothesis import given, seed, settings
from hypothesis import strategies as st

import openapi
from contracts.strategies import tasks

TARGET = 1.25


def hand_written(spec: openapi.Spec) -> st.SearchStrategy[dict[str, Any]]:
    """The same task schema, by hand (limits copied from the bundled document)."""
    hundredths = lambda high: st.integers(0, high).map(lambda k: k / 100)  # noqa: E731
    text = st.text(st.characters(codec="utf-8"), min_size=1, max_size=25)
    uri = st.builds(
        lambda host, path: f"https://{host}/{path}",
        st.sampled_from(["example.com", "localhost"]),
        st.from_regex(r"[a-z0-9]{1,10}", fullmatch=True),
    )
    image = st.one_of(
        st.uuids().map(str), uri, st.from_regex(r"[a-zA-Z0-9+/=]{1,20}", fullmatch=True)
    )
    settings_ = st.fixed_dictionaries(
        {},
        optional={
            "systemPrompt": text,
            "temperature": hundredths(200),
            "topP": hundredths(100),
            "frequencyPenalty": hundredths(200),
            "maxTokens": st.integers(1, 65536),
            "minP": hundredths(100),
            "presencePenalty": hundredths(200),
            "repetitionPenalty": hundredths(200),
            "stopSequences": st.lists(text, max_size=4),
            "thinkingLevel": st.sampled_from(["off", "high"]),
            "topK": st.integers(1, 100),
        },
    )
    message = st.fixed_dictionaries(
        {"role": st.sampled_from(["user", "assistant"]), "content": text}
    )
    return st.fixed_dictionaries(
        {
            "taskType": st.just("textInference"),
            "taskUUID": st.uuids().map(str),
            "model": st.just(spec.model_id),
            "messages": st.lists(message, min_size=1, max_size=5),
        },
        optional={
            "inputs": st.fixed_dictionaries(
                {},
                optional={
                    "images": st.lists(image, min_size=1, max_size=3),
                    "videos": st.lists(st.one_of(st.uuids().map(str), uri), min_size=1, max_size=3),
                },
            ),
            "seed": st.integers(0, 4294967295),
            "settings": settings_,
            "webhookURL": uri,
            "includeCost": st.booleans(),
            "deliveryMethod": st.sampled_from(["sync", "async", "stream"]),
            "numberResults": st.integers(1, 4),
            "includeUsage": st.booleans(),
        },
    )


def per_task_seconds(strategy: st.SearchStrategy[Any], examples: int, rounds: int) -> float:
    return min(_one_round(strategy, examples, round_) for round_ in range(rounds))


def _one_round(strategy: st.SearchStrategy[Any], examples: int, round_: int) -> float:
    count = [0]

    @seed(round_)
    @settings(max_examples=examples, database=None, deadline=None)
    @given(strategy)
    def run(task: Any) -> None:
        count[0] += 1

    started = time.perf_counter()
    run()
    return (time.perf_counter() - started) / max(count[0], 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--examples", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    spec = openapi.load()
    print(
        f"machine : {platform.processor() or platform.machine()} | nproc {os.cpu_count()} | "
        f"CPython {platform.python_version()}"
    )
    kit, reference = tasks(spec=spec), hand_written(spec)
    kit_s = per_task_seconds(kit, args.examples, args.rounds)
    ref_s = per_task_seconds(reference, args.examples, args.rounds)
    ratio = kit_s / ref_s
    print(f"{'strategy':<34}{'tasks/s':>10}{'ms/task':>10}")
    print(f"{'kit tasks()':<34}{1 / kit_s:>10.0f}{kit_s * 1000:>10.2f}")
    print(f"{'hand-written fixed_dictionaries':<34}{1 / ref_s:>10.0f}{ref_s * 1000:>10.2f}")
    verdict = "PASS" if ratio <= TARGET else "MISS"
    print(f"kit cost per task = {ratio:.2f}x the hand-written one (target <= {TARGET}x): {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
