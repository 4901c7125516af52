"""Benchmark: drawing tasks with ``contracts.strategies.tasks()`` vs a hand-written strategy.

Both run inside ``@given`` (which is where users pay for them), on the bundled document,
with the same number of examples, the database off and the same seeds, alternately for
``--rounds`` rounds after an unmeasured warm-up (each round one seed for both, printed with
its ratio); the median of the rounds' ratios counts, with their range (issue 18: median of at
least 5 alternating rounds), and the best rounds' ratio is printed beside it. Timings on a
shared machine swing by a fifth from round to round, so the function calls per task are
counted too (cProfile's count, Python and C, seeds 0-2): that figure is the same on every
run with the same packages. The hand-written
reference is what a careful user would write
for the same schema with ``st.fixed_dictionaries``: the same required and optional
parameters, the same limits, exact two-place decimals, real uuids and URIs. Target: the
kit's cost per task within 1.1x the reference's (issue 18).

Then the coverage phase of ``invalid_requests()``: for each model document (the bundled
one and tests/data's second), how many examples of a ``@given`` test that draws nothing
else pass before every rule ``invalid_request_cases()`` lists has been drawn, one round per
seed, each round printed, then the median and range. No target: the test suite holds the
bound (twice as many examples as rules, tests/contracts/test_invalid_coverage.py).

    python benchmarks/bench_strategies.py [--examples 400] [--rounds 5] [--seeds 5] [--json PATH]
"""

from __future__ import annotations

import cProfile
import pstats
import sys
import time
from pathlib import Path
from typing import Any

import _report  # benchmarks/_report.py: run these as scripts from the repository root
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

import openapi
from contracts.strategies import InvalidCase, invalid_request_cases, invalid_requests, tasks

TARGET = 1.1
SECOND_DOCUMENT = Path(__file__).parents[1] / "tests" / "data" / "runware-minimax-m2.7.openapi.json"


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


def draw_tasks(strategy: st.SearchStrategy[Any], examples: int, round_: int) -> int:
    """Run a ``@given`` test of ``examples`` examples seeded ``round_``; the tasks drawn."""
    count = [0]

    @seed(round_)
    @settings(max_examples=examples, database=None, deadline=None)
    @given(strategy)
    def run(task: Any) -> None:
        count[0] += 1

    run()
    return count[0]


def per_task_seconds(strategy: st.SearchStrategy[Any], examples: int, round_: int) -> float:
    started = time.perf_counter()
    drawn = draw_tasks(strategy, examples, round_)
    return (time.perf_counter() - started) / max(drawn, 1)


def calls_per_task(strategy: st.SearchStrategy[Any], examples: int, rounds: int = 3) -> float:
    """Function calls per drawn task (Python and C ones, as cProfile counts them, the test's
    fixed cost included) over seeds 0..rounds-1: the same on every run and machine with the
    same packages, so a reader can check it where timings are noisy."""
    profile = cProfile.Profile()
    profile.enable()
    drawn = sum(draw_tasks(strategy, examples, round_) for round_ in range(rounds))
    profile.disable()
    return pstats.Stats(profile).total_calls / max(drawn, 1)  # type: ignore[attr-defined]


class _EveryRule(Exception):
    """Raised by the test once every rule is drawn: generation stops there."""


def _rule(case: InvalidCase) -> tuple[str, str]:
    """The case's rule, at task 0 (a fuzzed case may break a later task)."""
    head, _, rest = case.violation.pointer.removeprefix("/").partition("/")
    return (case.violation.keyword, f"/0/{rest}".rstrip("/") if head else "")


def draws_to_every_rule(spec: openapi.Spec, round_: int, *, cap: int) -> int | None:
    """How many examples pass before every rule has been drawn (None: not within ``cap``)."""
    wanted = {_rule(case) for case in invalid_request_cases(spec=spec)}
    seen: set[tuple[str, str]] = set()
    count = [0]

    @seed(round_)
    @settings(
        max_examples=cap,
        database=None,
        deadline=None,
        phases=[Phase.generate],  # no shrinking once the test "fails" at the last rule
        suppress_health_check=list(HealthCheck),
    )
    @given(invalid_requests(spec=spec))
    def run(case: InvalidCase) -> None:
        if seen >= wanted:
            raise _EveryRule  # the replay of the example that completed the set
        count[0] += 1
        seen.add(_rule(case))
        if seen >= wanted:
            raise _EveryRule

    try:
        run()
    except _EveryRule:
        return count[0]
    return None


def coverage_report(seeds: int) -> dict[str, Any]:
    """Print every seed's count and each document's median and range; return them."""
    print("invalid_requests(): examples until every rule is drawn, one round per seed")
    report: dict[str, Any] = {}
    for name, spec in (("bundled", openapi.load()), ("second", openapi.load(SECOND_DOCUMENT))):
        rules = len(invalid_request_cases(spec=spec))
        counts = []
        for round_ in range(seeds):
            drawn = draws_to_every_rule(spec, round_, cap=10 * rules)
            print(f"  {name:<8} seed {round_}: {drawn if drawn is not None else 'not within cap'}")
            counts.append(drawn if drawn is not None else 10 * rules)
        spread = _report.Spread.of(counts)
        print(
            f"{name:<8} {rules} rules: median {spread.median:.0f} examples "
            f"({spread.median / rules:.2f}x the rules), {spread.range_text('.0f')} (no target)"
        )
        report[name] = {"rules": rules, "examples": counts, "spread": spread.json()}
    return report


def main(argv: list[str] | None = None) -> int:
    made = _report.parser(__doc__, rounds=5, rounds_help="alternating rounds, median kept")
    made.add_argument(
        "--examples", type=int, default=400, help="examples per round and strategy (default 400)"
    )
    made.add_argument("--seeds", type=int, default=5, help="coverage rounds per document (0: none)")
    args = _report.parse(made, argv)
    if args.examples < 1:
        made.error(f"--examples must be at least 1, not {args.examples}")
    if args.seeds < 0:
        made.error(f"--seeds must be at least 0, not {args.seeds}")
    begun = time.perf_counter()
    host = _report.header("hypothesis")
    print(
        f"budget  : {args.examples} examples per round and strategy, {args.rounds} rounds "
        "alternating after a warm-up, median kept"
    )
    spec = openapi.load()
    strategies = {"kit": tasks(spec=spec), "hand": hand_written(spec)}
    for strategy in strategies.values():  # compiled, cached and imported before any round
        per_task_seconds(strategy, max(args.examples // 4, 1), -1)
    seconds: dict[str, list[float]] = {name: [] for name in strategies}
    for round_ in range(args.rounds):
        order = list(strategies.items())
        for name, strategy in order[:: 1 if round_ % 2 == 0 else -1]:  # who goes first alternates
            seconds[name].append(per_task_seconds(strategy, args.examples, round_))
        kit_s, ref_s = seconds["kit"][-1], seconds["hand"][-1]
        print(
            f"  round {round_ + 1} kit {1 / kit_s:>6.0f} tasks/s {kit_s * 1000:6.2f} ms/task  "
            f"hand-written {1 / ref_s:>6.0f} tasks/s {ref_s * 1000:6.2f} ms/task  "
            f"ratio {kit_s / ref_s:.2f}x",
            flush=True,
        )
    ratios = [kit / ref for kit, ref in zip(seconds["kit"], seconds["hand"], strict=True)]
    spread = _report.Spread.of(ratios)
    ratio = _report.Ratio(spread.median, target=TARGET, at_least=False)
    kit_s, ref_s = min(seconds["kit"]), min(seconds["hand"])
    print()
    print(f"{'strategy':<34}{'tasks/s':>10}{'ms/task':>10}   (best rounds)")
    print(f"{'kit tasks()':<34}{1 / kit_s:>10.0f}{kit_s * 1000:>10.2f}")
    print(f"{'hand-written fixed_dictionaries':<34}{1 / ref_s:>10.0f}{ref_s * 1000:>10.2f}")
    for name, label in (("kit", "kit"), ("hand", "hand-written")):
        ms = _report.Spread.of([value * 1000 for value in seconds[name]])
        print(f"  {label} ms/task {ms.text('.2f')}")
    print(f"best rounds' ratio {kit_s / ref_s:.2f}x (for information)")
    print(
        f"kit cost per task = {ratio.value:.2f}x the hand-written one (median, "
        f"{spread.range_text('.2f')}; target "
        f"{ratio.target_text}): {ratio.verdict}"
    )
    calls = {name: calls_per_task(strategy, args.examples) for name, strategy in strategies.items()}
    print(
        f"function calls per task (cProfile, deterministic, seeds 0-2): kit {calls['kit']:,.0f}, "
        f"hand-written {calls['hand']:,.0f}: {calls['kit'] / calls['hand']:.2f}x"
    )
    coverage = {}
    if args.seeds > 0:
        print()
        coverage = coverage_report(args.seeds)
    return _report.end(
        args,
        host=host,
        begun=begun,
        examples=args.examples,
        seconds_per_task=seconds,
        ratio=ratio.json(),
        ratios=spread.json(),
        calls_per_task=calls,
        coverage=coverage,
    )


if __name__ == "__main__":
    sys.exit(main())
