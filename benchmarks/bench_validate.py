"""Benchmark the kit's pre-request validator against reference implementations.

In one run, on one machine, this measures how many checks per second each of these manages on
a realistic VALID one-task ``textInference`` request and on an INVALID one carrying about ten
violations:

* ``kit(bytes)``  -- ``contracts.check_request(raw_bytes)``: strict JSON parse plus validation;
* ``kit(parsed)`` -- ``contracts.check_request(parsed_list)``: validation only;
* ``jsonschema``  -- ``list(Draft202012Validator(RequestBody, format_checker=...)
  .iter_errors(parsed_list))``, the validator built once, outside the timed loop;
* ``json.loads``  -- ``json.loads(raw_bytes)`` alone, the floor any bytes-in check must pay.

Each measurement runs for a bounded time (``--seconds``, default 1.5 s) split over 3 repeats;
the best repeat counts. It then prints the rates, the ratios kit/jsonschema and the cost of a
kit check in units of ``json.loads``, each next to its target and marked PASS or MISS.

Run it from the repository root, in the project's environment::

    python benchmarks/bench_validate.py               # ~12 s
    python benchmarks/bench_validate.py --seconds 0.5 --json bench.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import _machine  # benchmarks/_machine.py: run these as scripts from the repository root
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


@dataclass(frozen=True)
class Ratio:
    """One derived figure, with its target (``None``: shown for information only)."""

    case: str
    name: str
    value: float
    target: float | None
    higher_is_better: bool

    @property
    def verdict(self) -> str:
        if self.target is None:
            return "info"
        ok = self.value >= self.target if self.higher_is_better else self.value <= self.target
        return "PASS" if ok else "MISS"

    @property
    def target_text(self) -> str:
        if self.target is None:
            return "-"
        return f"{'>=' if self.higher_is_better else '<='} {self.target:g}x"


# --------------------------------------------------------------------------------------------
# Payloads


def valid_request(model: str) -> list[dict[str, Any]]:
    """A realistic, valid one-task text-inference request."""
    return [
        {
            "taskType": "textInference",
            "taskUUID": str(uuid.uuid4()),
            "model": model,
            "messages": [
                {"role": "user", "content": "What is the capital of Australia?"},
                {"role": "assistant", "content": "The capital of Australia is Canberra."},
                {"role": "user", "content": "Why was Canberra chosen over Sydney or Melbourne?"},
            ],
            "settings": {
                "systemPrompt": "You are a concise geography tutor. Answer in two sentences.",
                "temperature": 0.57,
                "topP": 0.9,
                "maxTokens": 512,
                "stopSequences": ["\n\n", "END"],
            },
            "deliveryMethod": "sync",
            "includeUsage": True,
        }
    ]


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


def best_rate(fn: Callable[[], object], seconds: float) -> float:
    """Checks per second: the best of ``REPEATS`` repeats, ``seconds`` in all."""
    batch = calibrate(fn)
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


def machine() -> dict[str, Any]:
    return _machine.machine("jsonschema")


def ratios(case: str, rates: dict[str, float]) -> list[Ratio]:
    vs_jsonschema = 20.0 if case == "valid" else 5.0
    json_cost = 2.0 if case == "valid" else None
    return [
        Ratio(
            case,
            "kit(bytes) rate / jsonschema rate",
            rates["kit_bytes"] / rates["jsonschema"],
            vs_jsonschema,
            True,
        ),
        Ratio(
            case,
            "kit(parsed) rate / jsonschema rate",
            rates["kit_parsed"] / rates["jsonschema"],
            vs_jsonschema,
            True,
        ),
        Ratio(
            case,
            "kit(bytes) time / json.loads time",
            rates["json_loads"] / rates["kit_bytes"],
            json_cost,
            False,
        ),
        Ratio(
            case,
            "kit(parsed) time / json.loads time",
            rates["json_loads"] / rates["kit_parsed"],
            None,
            False,
        ),
        Ratio(
            case,
            "kit(bytes)+messages rate / jsonschema",
            rates["kit_prose"] / rates["jsonschema"],
            None,
            True,
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--seconds",
        type=float,
        default=1.5,
        help="time budget per measurement, split over 3 repeats (default 1.5)",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the numbers here")
    args = parser.parse_args(argv)
    if args.seconds <= 0:
        parser.error("--seconds must be positive")

    host = machine()
    print(f"machine : {host['cpu']} | nproc {host['nproc']} | {host['platform']}")
    print(f"python  : {host['python']} | jsonschema {host['jsonschema']}")
    print(f"budget  : {args.seconds:g} s per measurement, best of {REPEATS} repeats")

    spec = openapi.load()
    schema = spec.to_dict()["components"]["schemas"]["RequestBody"]
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)

    cases = {"valid": valid_request(spec.model_id), "invalid": invalid_request(spec.model_id)}
    rates: dict[str, dict[str, float]] = {}
    counts: dict[str, dict[str, int]] = {}
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
        rates[case] = {kind: best_rate(fns[kind], args.seconds) for kind in KINDS}

    print()
    print(f"{'checks/s':<38}{'valid':>14}{'invalid':>14}")
    for kind in KINDS:
        print(f"{LABELS[kind]:<38}" + "".join(f"{rates[c][kind]:>14,.0f}" for c in cases))
    print(f"{'  payload bytes':<38}" + "".join(f"{counts[c]['bytes']:>14}" for c in cases))
    print(f"{'  violations: kit':<38}" + "".join(f"{counts[c]['kit']:>14}" for c in cases))
    print(
        f"{'  errors: jsonschema':<38}" + "".join(f"{counts[c]['jsonschema']:>14}" for c in cases)
    )

    derived = [ratio for case in cases for ratio in ratios(case, rates[case])]
    print()
    print(f"{'case':<9}{'ratio':<38}{'value':>9}  {'target':<9}verdict")
    for ratio in derived:
        print(
            f"{ratio.case:<9}{ratio.name:<38}{ratio.value:>8.2f}x  "
            f"{ratio.target_text:<9}{ratio.verdict}"
        )

    if args.json is not None:
        report = {
            "machine": host,
            "seconds_per_measurement": args.seconds,
            "repeats": REPEATS,
            "cases": {
                case: {
                    **counts[case],
                    "checks_per_second": rates[case],
                    "seconds_per_check": {k: 1.0 / r for k, r in rates[case].items()},
                }
                for case in cases
            },
            "ratios": [
                {
                    "case": r.case,
                    "name": r.name,
                    "value": r.value,
                    "target": r.target,
                    "higher_is_better": r.higher_is_better,
                    "verdict": r.verdict,
                }
                for r in derived
            ],
        }
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
