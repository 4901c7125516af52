"""How a benchmark is run and how it reports: the shared options, header and figures.

Every benchmark takes the same options under the same names (``--seconds``, ``--rounds``,
``--connections``, ``--loader``, ``--json``), checked the same way; prints the machine
(``_machine.py``) and the versions of what it measures first; prints every round, then the
median and range of the rounds and each ratio with its target; shouts the runs that failed;
and can write its figures to a JSON file. A benchmark's ``main`` reads::

    parser = _report.parser(__doc__, seconds=4, rounds=2, loader=True)
    args = _report.parse(parser, argv)
    wrk = _report.wrk(parser, args)
    host = _report.header("uvicorn", "starlette", "httpx", uvicorn=True)
    ...
    print(f"  round {n} mock {rate:,.0f} req/s{_report.flag(run.failed)}")
    print(f"mock req/s : {_report.Spread.of(rates).text(',.0f')}")
    ratio = _report.Ratio(mock / bare, target=0.8)
    print(f"ratio      : {ratio.value:.2f}x  {ratio.target_text}  {ratio.verdict}")
    return _report.end(args, host=host, begun=begun, errors=failures, ratio=ratio.json())
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import _machine  # benchmarks/_machine.py: run these as scripts from the repository root

__all__ = [
    "ERRORS",
    "Ratio",
    "Spread",
    "cpu",
    "end",
    "finish",
    "flag",
    "header",
    "loud",
    "ms",
    "parse",
    "parser",
    "percentile_ms",
    "shout",
    "verdict",
    "write_json",
    "wrk",
]

ERRORS = "  <-- ERRORS"  # the end of a round's line when the round failed
SERVER_DISTS = ("uvloop", "httptools")  # what uvicorn picks when they are installed
FEW_CPUS = 4

verdict, loud = _machine.verdict, _machine.loud


# --------------------------------------------------------------------------------------------
# Options


def parser(
    doc: str | None,
    *,
    seconds: float | None = None,
    seconds_help: str = "length of each measured run",
    rounds: int | None = None,
    rounds_help: str = "alternating rounds",
    connections: int | None = None,
    loader: bool = False,
) -> argparse.ArgumentParser:
    """A parser with ``--json`` and each shared option given a default.

    ``seconds`` is whole seconds when the default is an ``int`` (wrk takes ``-dNs``), any
    positive number when it is a ``float``. ``loader`` adds ``--loader auto|wrk|httpx``.
    """
    made = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    if seconds is not None:
        whole = isinstance(seconds, int)
        made.add_argument(
            "--seconds",
            type=int if whole else float,
            default=seconds,
            help=f"{seconds_help}, {'whole ' if whole else ''}seconds (default {seconds:g})",
        )
    if rounds is not None:
        made.add_argument(
            "--rounds", type=int, default=rounds, help=f"{rounds_help} (default {rounds})"
        )
    if connections is not None:
        made.add_argument(
            "--connections",
            type=int,
            default=connections,
            help=f"concurrent connections (default {connections})",
        )
    if loader:
        made.add_argument(
            "--loader",
            choices=("auto", "wrk", "httpx"),
            default="auto",
            help="load generator: wrk when on PATH (auto), or the httpx fallback",
        )
    made.add_argument("--json", type=Path, metavar="PATH", help="also write the figures here")
    return made


def parse(made: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse ``argv``; a count below 1 (or seconds not above 0) is a usage error naming it."""
    args = made.parse_args(argv)
    for name in ("rounds", "connections"):
        value = getattr(args, name, None)
        if value is not None and value < 1:
            made.error(f"--{name} must be at least 1, not {value}")
    seconds = getattr(args, "seconds", None)
    if isinstance(seconds, int) and seconds < 1:
        made.error(f"--seconds must be at least 1, not {seconds}")
    if isinstance(seconds, float) and seconds <= 0:
        made.error(f"--seconds must be above 0, not {seconds:g}")
    return args


def wrk(made: argparse.ArgumentParser, args: argparse.Namespace) -> str | None:
    """wrk's path, or None for the httpx fallback; ``--loader wrk`` without it is an error."""
    found = shutil.which("wrk") if args.loader != "httpx" else None
    if args.loader == "wrk" and found is None:
        made.error("--loader wrk: wrk is not on PATH")
    return found


# --------------------------------------------------------------------------------------------
# Header


def header(
    *dists: str,
    labels: Mapping[str, str] | None = None,
    uvicorn: bool = False,
    few_cpus: bool = False,
) -> dict[str, Any]:
    """Print the machine and the versions of ``dists``; return them for the JSON report.

    ``labels`` renames a distribution in the output (``{"redis": "redis-py"}``); ``uvicorn``
    adds the loop and HTTP implementations it picks; ``few_cpus`` adds a note when the load
    generator must share fewer than four CPUs with the servers under test.
    """
    host = _machine.machine(*dists, *(SERVER_DISTS if uvicorn else ()))
    names = labels or {}
    print(f"machine : {host['cpu']} | nproc {host['nproc']} | {host['platform']}")
    print(
        " | ".join(
            [f"python  : {host['python']}"]
            + [f"{names.get(dist, dist)} {host[dist]}" for dist in dists]
        )
    )
    if uvicorn:
        loop = f"uvloop {host['uvloop']}" if host["uvloop"] else "asyncio"
        http = f"httptools {host['httptools']}" if host["httptools"] else "h11"
        print(f"uvicorn : loop {loop}, http {http} (auto-picked)")
    if few_cpus and host["nproc"] and host["nproc"] < FEW_CPUS:
        print(
            f"note    : only {host['nproc']} CPUs -- the load generator shares them with the "
            "server(s) under test"
        )
    return host


# --------------------------------------------------------------------------------------------
# Figures


def flag(failed: bool) -> str:
    return ERRORS if failed else ""


def cpu(value: float | None) -> str:
    """A CPU use, per cent of one core, 5 wide."""
    return "  n/a" if value is None else f"{value:4.0f}%"


def ms(value: float | None) -> str:
    """A latency in milliseconds, 7 wide."""
    return "    n/a" if value is None else f"{value:7.1f}"


def percentile_ms(seconds: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile (nearest rank) of durations in seconds, in ms; None when empty."""
    if not seconds:
        return None
    ordered = sorted(seconds)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


@dataclass(frozen=True, slots=True)
class Spread:
    """The median and range of one figure over the rounds."""

    median: float
    low: float
    high: float
    rounds: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        return cls(statistics.median(values), min(values), max(values), len(values))

    def text(self, spec: str = ",.0f") -> str:
        return f"median {self.median:{spec}}, {self.range_text(spec)}"

    def range_text(self, spec: str = ",.0f") -> str:
        rounds = f"{self.rounds} round{'s' if self.rounds != 1 else ''}"
        return f"range {self.low:{spec}}-{self.high:{spec}} over {rounds}"

    def json(self) -> dict[str, float]:
        return {"median": self.median, "min": self.low, "max": self.high, "rounds": self.rounds}


@dataclass(frozen=True, slots=True)
class Ratio:
    """A measured ratio and, when it has one, its target (at least, or at most, ``target``)."""

    value: float
    target: float | None = None
    at_least: bool = True

    @property
    def ok(self) -> bool:
        if self.target is None:
            return True
        return self.value >= self.target if self.at_least else self.value <= self.target

    @property
    def verdict(self) -> str:
        return "" if self.target is None else verdict(self.ok)

    @property
    def target_text(self) -> str:
        if self.target is None:
            return "no target"
        return f"{'>=' if self.at_least else '<='} {self.target:g}x"

    def json(self) -> dict[str, Any]:
        return {"value": self.value, "target": self.target, "verdict": self.verdict or None}


def shout(failures: Iterable[str]) -> None:
    """Each failed run, loudly: its figures are not valid."""
    for message in failures:
        loud(f"{message} -- its figures are not valid")


def finish(
    *, errors: Sequence[str], begun: float, json_path: Path | None, report: Mapping[str, Any]
) -> int:
    """The end of a run: shout ``errors``, print the run time since ``begun``
    (``time.perf_counter``), write ``report`` with ``total_seconds`` to ``json_path`` if
    given; return the exit status, 1 when a run failed."""
    shout(errors)
    total_s = time.perf_counter() - begun
    print(f"\ntotal run time {total_s:.1f} s")
    write_json(json_path, {**report, "total_seconds": total_s})
    return 1 if errors else 0


def end(
    args: argparse.Namespace,
    *,
    host: Mapping[str, Any],
    begun: float,
    errors: Sequence[str] = (),
    **figures: Any,
) -> int:
    """:func:`finish` for a benchmark whose options :func:`parse` read: the report holds the
    machine, the shared options it took (``seconds``, ``rounds``, ``connections``), then
    ``figures``, then ``errors`` (the failed runs); written to ``--json`` if given."""
    options = {
        name: getattr(args, name)
        for name in ("seconds", "rounds", "connections")
        if getattr(args, name, None) is not None
    }
    return finish(
        errors=errors,
        begun=begun,
        json_path=args.json,
        report={"machine": host, **options, **figures, "errors": list(errors)},
    )


def write_json(path: Path | None, report: Mapping[str, Any]) -> None:
    """Write ``report`` to ``path`` (the ``--json`` option), if one was given."""
    if path is None:
        return
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {path}")
