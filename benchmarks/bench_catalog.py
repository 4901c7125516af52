"""Benchmark the catalogue: what loading 50 model documents costs, and what it costs a request.

In one run, on one machine, this writes 50 model documents into a temporary directory: the
bundled Qwen3.5-397B as it ships, and 49 generated from the two the repository holds (the
bundled one and tests/data's MiniMax M2.7), each with its own model id and varied limits
(``settings.temperature.maximum``, ``settings.maxTokens.maximum``,
``settings.systemPrompt.maxLength``), enums (the ``deliveryMethod`` values) and, for every
third, an extra setting. "1" is a directory holding only the bundled document (the mock as
``bench_mock.py`` runs it), "50" the directory holding all; every request is for the bundled
model, which both know. For each, alternately, ``--rounds`` times:

* ``load``: in a fresh interpreter, after its imports, ``openapi.load_catalog(DIR)`` and the
  compilation of every document's validators -- the work ``serve`` does before it listens;
* ``start-up``: ``runware-kit serve --spec DIR`` from spawn to the first 200 answer to a
  valid POST (polled every 10 ms), as ``bench_mock.py`` measures it;
* ``check_request``: in this process, microseconds per call of ``check_request(raw_bytes,
  spec=catalog)`` on a valid one-task request, the two catalogues back to back (6 timed
  repeats, each in turn first, after a warm-up; best of each); with 1 loaded that is the
  single-document path, with 50 the routed one;
* ``sync req/s``: ``wrk -t1 -c32`` (``--seconds`` each, after a 1 s warm-up) POSTing a valid
  one-task sync request for one of the loaded models to each server; without wrk, the httpx
  fallback of ``_load.py`` (client-bound: its figures only compare with each other).

It prints the machine, every round, then for each measure the median and range and the
median and range of the rounds' ratios, 50 / 1 (each round measures both side by side). A
request must pay nothing for the size of the catalogue: the check_request and req/s ratios
should be about 1. ``bench_instructions.py --catalog`` counts the same with valgrind, which
a busy machine does not move.

Run it from the repository root, in the project's environment::

    python benchmarks/bench_catalog.py                   # ~2 min
    python benchmarks/bench_catalog.py --rounds 3 --seconds 3 --json bench-catalog.json
"""

from __future__ import annotations

import contextlib
import copy
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import _report  # benchmarks/_report.py: run these as scripts from the repository root
import httpx
from _load import Load
from _payload import sync_request
from _servers import HEADERS, REPO, free_port, mock_command, running

import openapi
from contracts import check_request

DOCUMENTS = 50
SOURCES = (
    Path(openapi.__file__).parent / "data" / openapi.BUNDLED_DOCUMENT,
    REPO / "tests" / "data" / "runware-minimax-m2.7.openapi.json",
)
STARTUP_LIMIT_S = 20.0
# What a fresh interpreter does before serve listens, minus uvicorn: import, load, compile.
LOAD_PROBE = """
import sys, time
import openapi
from contracts._engine import engine_for
import jsonschema  # imported by the first checked document; not part of what is measured
started = time.perf_counter()
catalog = openapi.load_catalog(sys.argv[1])
for spec in catalog:
    engine_for(spec)
print(time.perf_counter() - started, len(catalog))
"""


def variants(folder: Path, count: int) -> list[str]:
    """Write ``count`` documents into ``folder``; their model ids, in file order."""
    bases = [json.loads(path.read_text(encoding="utf-8")) for path in SOURCES]
    models = []
    for index in range(count):
        doc = copy.deepcopy(bases[index % 2])
        items = doc["components"]["schemas"]["RequestBody"]["items"]
        model = f"{items['properties']['model']['const']}-v{index:02d}"
        items["properties"]["model"]["const"] = model
        doc["info"]["x-air-id"] = model
        doc["info"]["title"] = f"{doc['info']['title']} (variant {index})"
        settings = items["properties"]["settings"]["properties"]
        settings["temperature"]["maximum"] = 1 + (index % 10) / 10
        settings["temperature"]["default"] = min(settings["temperature"].get("default", 0), 1)
        settings["maxTokens"]["maximum"] = 1024 * (1 + index % 8)
        settings["systemPrompt"]["maxLength"] = 4096 * (1 + index % 5)
        delivery = items["properties"]["deliveryMethod"]
        methods = ["sync", "stream", "async"][: 2 + index % 2]
        delivery.pop("oneOf", None)
        delivery["enum"] = methods
        if index % 3 == 0:
            settings[f"beamWidth{index}"] = {"type": "integer", "minimum": 0, "maximum": 1 + index}
        (folder / f"model-{index:02d}.openapi.json").write_text(json.dumps(doc), encoding="utf-8")
        models.append(model)
    return models


def catalog_folders(temp: Path) -> dict[str, Path]:
    """ "1": the bundled document alone; "50": the same file and 49 variants of the two."""
    folders = {"1": temp / "1", "50": temp / "50"}
    for folder in folders.values():
        folder.mkdir()
        shutil.copy(SOURCES[0], folder / "bundled.openapi.json")
    models = variants(folders["50"], DOCUMENTS - 1)
    assert openapi.load(SOURCES[0]).model_id not in models
    return folders


def catalog_request() -> bytes:
    """A sync request for the bundled model that every variant would accept too."""
    payload = sync_request(openapi.load(SOURCES[0]).model_id)
    payload[0]["settings"]["temperature"] = 0.5  # within every variant's limit
    payload[0]["deliveryMethod"] = "sync"
    return json.dumps(payload).encode()


def load_once(folder: Path) -> float:
    done = subprocess.run(
        [sys.executable, "-c", LOAD_PROBE, str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=REPO,
    )
    seconds, _ = done.stdout.split()
    return float(seconds)


def startup_once(folder: Path, body: bytes) -> float:
    port = free_port()
    with running(
        "mock",
        mock_command(port, "--spec", str(folder), "--quiet"),
        port,
        lambda: body,
        limit_s=STARTUP_LIMIT_S,
    ) as server:
        return server.startup_s


def check_us(catalogs: Mapping[str, openapi.Catalog], raw: bytes) -> dict[str, float]:
    """Microseconds per ``check_request(raw, spec=catalog)`` for each catalogue, measured
    back to back (6 repeats, each in turn first, best of each), so a slower moment of a shared
    machine falls on both."""
    for catalog in catalogs.values():
        assert check_request(raw, spec=catalog) == []
        for _ in range(2000):
            check_request(raw, spec=catalog)
    best = dict.fromkeys(catalogs, float("inf"))
    calls = 20_000
    for repeat in range(6):  # who goes first alternates
        for size, catalog in list(catalogs.items())[:: 1 if repeat % 2 == 0 else -1]:
            started = time.perf_counter()
            for _ in range(calls):
                check_request(raw, spec=catalog)
            best[size] = min(best[size], (time.perf_counter() - started) / calls * 1e6)
    return best


def main(argv: Sequence[str] | None = None) -> int:
    made = _report.parser(
        __doc__,
        seconds=5,
        seconds_help="length of each load run",
        rounds=5,
        rounds_help="rounds of each measure, 1 and 50 loaded alternating",
        connections=32,
        loader=True,
    )
    args = _report.parse(made, argv)
    wrk = _report.wrk(made, args)
    begun = time.perf_counter()
    host = _report.header("uvicorn", "starlette", uvicorn=True)
    loader = (
        f"{wrk} -t1 -c{args.connections} -d{args.seconds}s"
        if wrk
        else "httpx fallback (wrk not on PATH): client-bound figures"
    )
    print(f"load    : {loader}; {args.rounds} rounds, 1 and 50 loaded alternating")

    figures: dict[str, dict[str, list[float]]] = {
        name: {"1": [], "50": []} for name in ("load_s", "startup_s", "check_us", "sync_rps")
    }
    with tempfile.TemporaryDirectory() as temp:
        folders = catalog_folders(Path(temp))
        chosen = openapi.load(SOURCES[0]).model_id
        body = catalog_request()
        print(
            f"catalog : the bundled document and {DOCUMENTS - 1} generated from "
            f"{len(SOURCES)}; requests for {chosen}, {len(body)} bytes"
        )
        catalogs = {size: openapi.load_catalog(folder) for size, folder in folders.items()}
        assert len(catalogs["50"]) == DOCUMENTS
        assert catalogs["1"].model_ids == (chosen,)
        print()

        for round_ in range(1, args.rounds + 1):
            for size, us in check_us(catalogs, body).items():
                figures["check_us"][size].append(us)
            for size, folder in folders.items():
                figures["load_s"][size].append(load_once(folder))
                figures["startup_s"][size].append(startup_once(folder, body))
                print(
                    f"  round {round_} {size:>2} loaded: load "
                    f"{figures['load_s'][size][-1]:.3f} s  start-up "
                    f"{figures['startup_s'][size][-1]:.3f} s  check_request "
                    f"{figures['check_us'][size][-1]:.2f} us",
                    flush=True,
                )

        load = Load.prepare(wrk, body, Path(temp))
        failed: list[str] = []
        with contextlib.ExitStack() as stack:
            servers = {}
            for size, folder in folders.items():
                port = free_port()
                servers[size] = stack.enter_context(
                    running(
                        f"mock-{size}",
                        mock_command(port, "--spec", str(folder), "--quiet"),
                        port,
                        lambda: body,
                        limit_s=STARTUP_LIMIT_S,
                    )
                )
                reply = httpx.post(servers[size].url(), content=body, headers=HEADERS, timeout=5.0)
                if reply.status_code != 200:
                    sys.exit(
                        f"FAIL: the mock with {size} loaded answered {reply.status_code}: "
                        f"{reply.text[:300]}"
                    )
            for round_ in range(1, args.rounds + 1):
                for size, server in servers.items():
                    run = load.run(
                        server,
                        connections=args.connections,
                        seconds=args.seconds,
                        round_=round_,
                        name=f"{size} loaded",
                    )
                    if run.failed:
                        failed.append(run.problem)
                    figures["sync_rps"][size].append(run.requests_per_s)
                    print(
                        f"  round {round_} {size:>2} loaded: {run.requests_per_s:,.0f} req/s  "
                        f"p50 {run.p50_ms:.2f} ms  p99 {run.p99_ms:.2f} ms"
                        f"{_report.flag(run.failed)}",
                        flush=True,
                    )

    print()
    labels = {  # and how each is written
        "load_s": ("load + compile, s", ".3f"),
        "startup_s": ("serve start-up, s", ".3f"),
        "check_us": ("check_request, us", ".2f"),
        "sync_rps": ("sync req/s", ",.0f"),
    }
    summary: dict[str, Any] = {}
    for name, (label, shown) in labels.items():
        one_s, many_s = (_report.Spread.of(figures[name][size]) for size in ("1", "50"))
        # Each round measures 1 and 50 loaded side by side: the median of its ratios.
        paired = _report.Spread.of(
            [many / one for one, many in zip(figures[name]["1"], figures[name]["50"], strict=True)]
        )
        ratio = _report.Ratio(paired.median)  # about 1 expected; no target
        summary[name] = {
            "1": one_s.median,
            "50": many_s.median,
            "ratio_50_to_1": ratio.value,
            "ratios": paired.json(),
        }
        print(
            f"{label:<18}  1: {one_s.text(shown):<42}  50: {many_s.text(shown):<42}  "
            f"50/1 {ratio.value:.2f}x ({paired.range_text('.2f')})  {ratio.target_text}"
        )
    return _report.end(
        args,
        host=host,
        begun=begun,
        errors=failed,
        loader=load.loader,
        documents=DOCUMENTS,
        figures=figures,
        summary=summary,
    )


if __name__ == "__main__":
    sys.exit(main())
