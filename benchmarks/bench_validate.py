"""Benchmark the kit's pre-request validator against reference implementations.

In one run, on one machine, this measures how many checks per second each of these manages on
a realistic VALID one-task ``textInference`` request and on an INVALID one carrying about ten
violations:

* ``kit(bytes)``  -- ``contracts.check_request(raw_bytes)``: strict JSON parse plus validation;
* ``kit(parsed)`` -- ``contracts.check_request(parsed_list)``: validation only;
* ``jsonschema``  -- ``list(Draft202012Validator(RequestBody, format_checker=...)
  .iter_errors(parsed_list))``, the validator built once, outside the timed loop;
* ``json.loads``  -- ``json.loads(raw_bytes)`` alone, the floor any bytes-in check must pay.

Each of ``--rounds`` rounds measures every one of them once, in turn (the order reversed
every other round, so that a machine busy with something else weighs on all alike), for
``--seconds`` each, the best of 3 repeats. Every ratio -- kit/jsonschema rates, the cost of a
kit check in units of ``json.loads`` -- is taken within one round. It prints the machine,
every round, then each ratio's median and range over the rounds next to its target, marked
PASS or MISS by the median.

Run it from the repository root, in the project's environment::

    python benchmarks/bench_validate.py               # ~30 s
    python benchmarks/bench_validate.py --rounds 3 --seconds 0.3 --json bench.json
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import _report  # benchmarks/_report.py: run these as scripts from the repository root
from _payload import conversation
from jsonschema import Draft202012Validator

import openapi
from contracts import check_request

REPEATS = 3
BATCH_TARGET_S = 0.005  # calibrate batches to about this long, so timer overhead is negligible
INVALID_RANGE = (8, 14)

KINDS = ("kit_bytes", "kit_parsed", "kit_prose", "jsonschema", "json_loads")
LABELS = {
    "kit_bytes": "kit check_request(bytes)",
    "kit_parsed": "kit check_request(parsed)",
    "kit_prose": "kit check_request(bytes) + messages",
    "jsonschema": "jsonschema Draft202012 iter_errors",
    "json_loads": "json.loads(bytes)",
}
COLUMNS = {
    "kit_bytes": "kit(bytes)",
    "kit_parsed": "kit(parsed)",
    "kit_prose": "+messages",
    "jsonschema": "jsonschema",
    "json_loads": "json.loads",
}


@dataclass(frozen=True)
class Derived:
    """One derived figure over the rounds, with its target (``None``: for information only)."""

    case: str
    name: str
    values: tuple[float, ...]  # one per round
    target: float | None
    higher_is_better: bool

    @property
    def spread(self) -> _report.Spread:
        return _report.Spread.of(self.values)

    @property
    def ratio(self) -> _report.Ratio:
        """The median of the rounds against the target."""
        return _report.Ratio(self.spread.median, self.target, at_least=self.higher_is_better)


# --------------------------------------------------------------------------------------------
# Payloads


def valid_request(model: str) -> list[dict[str, Any]]:
    """A realistic, valid one-task text-inference request."""
    settings = {
        "systemPrompt": "You are a concise geography tutor. Answer in two sentences.",
        "temperature": 0.57,
        "topP": 0.9,
        "maxTokens": 512,
        "stopSequences": ["\n\n", "END"],
    }
    return conversation(model, settings=settings, deliveryMethod="sync", includeUsage=True)


def invalid_request(model: str) -> list[dict[str, Any]]:
    """The same kind of request, broken in about ten independent ways."""
    return [
        {
            "taskType": "textInference",
            "taskUUID": "nope",  # not a UUID
            "model": model,
            "messages": [
                {"role": "system", "content": "Be brief."},  # role not allowed
                {"role": "user", "content": ""},  # empty content
                {"role": "user", "content": "Why was Canberra chosen?"},
            ],
            "settings": {
                "systemPrompt": "You are a concise geography tutor.",
                "temperature": 2.5,  # above maximum
                "topP": True,  # not a number
                "maxTokens": 0,  # below minimum
                "stopSequences": ["", "END"],  # empty stop sequence
            },
            "deliveryMethod": "asinc",  # not an allowed value
            "numberResults": 9,  # above maximum
            "includeUsage": True,
            "temprature": 0.5,  # unknown key
        }
    ]


# --------------------------------------------------------------------------------------------
# Timing


def all_errors(validator: Draft202012Validator, instance: Any) -> list[Any]:
    """The reference check: every jsonschema error for ``instance``."""
    return list(validator.iter_errors(instance))


def with_messages(raw: bytes) -> list[str]:
    return [violation.message for violation in check_request(raw)]


def _run(fn: Callable[[], object], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return time.perf_counter() - start


def calibrate(fn: Callable[[], object]) -> int:
    """Calls per batch so that one batch lasts about ``BATCH_TARGET_S`` (warms ``fn`` up too)."""
    n = 1
    while True:
        elapsed = _run(fn, n)
        if elapsed >= BATCH_TARGET_S or n >= 1 << 24:
            return max(1, round(n * BATCH_TARGET_S / max(elapsed, 1e-9)))
        n *= 2 if elapsed * 10 > BATCH_TARGET_S else 10


def best_rate(fn: Callable[[], object], batch: int, seconds: float) -> float:
    """Checks per second: the best of ``REPEATS`` repeats, ``seconds`` in all."""
    budget = seconds / REPEATS
    best = 0.0
    for _ in range(REPEATS):
        calls, elapsed = 0, 0.0
        while elapsed < budget:
            elapsed += _run(fn, batch)
            calls += batch
        best = max(best, calls / elapsed)
    return best


# --------------------------------------------------------------------------------------------
# Reporting


# (name, numerator, denominator, higher is better); a rate ratio, or a time ratio written
# as the inverse ratio of rates.
FIGURES = (
    ("kit(bytes) rate / jsonschema rate", "kit_bytes", "jsonschema", True),
    ("kit(parsed) rate / jsonschema rate", "kit_parsed", "jsonschema", True),
    ("kit(bytes) time / json.loads time", "json_loads", "kit_bytes", False),
    ("kit(parsed) time / json.loads time", "json_loads", "kit_parsed", False),
    ("kit(bytes)+messages rate / jsonschema", "kit_prose", "jsonschema", True),
)


def target(case: str, name: str) -> float | None:
    if name.startswith(("kit(bytes) rate", "kit(parsed) rate")):
        return 20.0 if case == "valid" else 5.0
    if name.startswith("kit(bytes) time") and case == "valid":
        return 1.5  # issue 18
    return None


def ratios(case: str, rounds: list[dict[str, float]]) -> list[Derived]:
    return [
        Derived(
            case,
            name,
            tuple(rates[top] / rates[bottom] for rates in rounds),
            target(case, name),
            higher,
        )
        for name, top, bottom, higher in FIGURES
    ]


def main(argv: list[str] | None = None) -> int:
    made = _report.parser(
        __doc__,
        seconds=0.6,
        seconds_help=f"time per measurement and round, split over {REPEATS} repeats",
        rounds=5,
        rounds_help="rounds of every measure",
    )
    args = _report.parse(made, argv)
    begun = time.perf_counter()
    host = _report.header("jsonschema")
    print(
        f"budget  : {args.rounds} rounds; {args.seconds:g} s per measurement and round, "
        f"best of {REPEATS} repeats"
    )

    spec = openapi.load()
    schema = spec.to_dict()["components"]["schemas"]["RequestBody"]
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)

    cases = {"valid": valid_request(spec.model_id), "invalid": invalid_request(spec.model_id)}
    counts: dict[str, dict[str, int]] = {}
    measured: dict[str, dict[str, tuple[Callable[[], object], int]]] = {}
    for case, parsed in cases.items():
        raw = json.dumps(parsed).encode()
        kit_bytes, kit_parsed = len(check_request(raw)), len(check_request(parsed))
        reference = list(validator.iter_errors(parsed))
        counts[case] = {"bytes": len(raw), "kit": kit_parsed, "jsonschema": len(reference)}
        if kit_bytes != kit_parsed:
            sys.exit(
                f"FAIL: {case}: check_request gives {kit_bytes} violations for the bytes "
                f"but {kit_parsed} for the parsed list"
            )
        if case == "valid" and kit_parsed:
            sys.exit(
                f"FAIL: the valid payload has {kit_parsed} violations: {check_request(parsed)}"
            )
        low, high = INVALID_RANGE
        if case == "invalid" and not low <= kit_parsed <= high:
            sys.exit(
                f"FAIL: the invalid payload has {kit_parsed} violations, "
                f"expected {low}..{high}: {check_request(parsed)}"
            )
        if case == "valid" and reference:
            reasons = "; ".join(error.message for error in reference)
            print(
                f"note    : jsonschema reports the valid payload invalid ({reasons}) -- "
                "float multipleOf; timed anyway"
            )

        fns: dict[str, Callable[[], object]] = {
            "kit_bytes": partial(check_request, raw),
            "kit_parsed": partial(check_request, parsed),
            # Messages are written on first access; this row pays for every one of them.
            "kit_prose": partial(with_messages, raw),
            "jsonschema": partial(all_errors, validator, parsed),
            "json_loads": partial(json.loads, raw),
        }
        measured[case] = {kind: (fn, calibrate(fn)) for kind, fn in fns.items()}

    rounds: dict[str, list[dict[str, float]]] = {case: [] for case in cases}
    print(f"\n{'checks/s, by round':<38}" + "".join(f"{COLUMNS[k]:>14}" for k in KINDS))
    for round_ in range(1, args.rounds + 1):
        order = KINDS if round_ % 2 else KINDS[::-1]
        for case in cases:
            rates: dict[str, float] = {}
            for kind in order:
                fn, batch = measured[case][kind]
                rates[kind] = best_rate(fn, batch, args.seconds)
            rounds[case].append(rates)
            print(
                f"  round {round_} {case:<29}" + "".join(f"{rates[k]:>14,.0f}" for k in KINDS),
                flush=True,
            )

    print()
    print(f"{'checks/s, median of the rounds':<38}{'valid':>14}{'invalid':>14}")
    for kind in KINDS:
        medians = [statistics.median(r[kind] for r in rounds[c]) for c in cases]
        print(f"{LABELS[kind]:<38}" + "".join(f"{m:>14,.0f}" for m in medians))
    print(f"{'  payload bytes':<38}" + "".join(f"{counts[c]['bytes']:>14}" for c in cases))
    print(f"{'  violations: kit':<38}" + "".join(f"{counts[c]['kit']:>14}" for c in cases))
    print(
        f"{'  errors: jsonschema':<38}" + "".join(f"{counts[c]['jsonschema']:>14}" for c in cases)
    )

    derived = [figure for case in cases for figure in ratios(case, rounds[case])]
    print()
    print(f"{'case':<9}{'ratio':<38}{'median':>8}  {'range':<13}  {'target':<11}verdict")
    for figure in derived:
        spread, ratio = figure.spread, figure.ratio
        span = f"{spread.low:.2f}-{spread.high:.2f}"
        line = (
            f"{figure.case:<9}{figure.name:<38}{spread.median:>7.2f}x  {span:<13}  "
            f"{ratio.target_text:<11}{ratio.verdict}"
        )
        print(line.rstrip())
    for figure in derived:
        print(
            f"  {figure.case} {figure.name}, by round: "
            + ", ".join(f"{value:.2f}x" for value in figure.values)
        )

    return _report.end(
        args,
        host=host,
        begun=begun,
        seconds_per_measurement=args.seconds,
        repeats=REPEATS,
        cases={
            case: {**counts[case], "checks_per_second_by_round": rounds[case]} for case in cases
        },
        ratios=[
            {
                "case": f.case,
                "name": f.name,
                "median": f.spread.median,
                "range": [f.spread.low, f.spread.high],
                "by_round": list(f.values),
                "target": f.target,
                "higher_is_better": f.higher_is_better,
                "verdict": f.ratio.verdict or "info",
            }
            for f in derived
        ],
    )


if __name__ == "__main__":
    sys.exit(main())
