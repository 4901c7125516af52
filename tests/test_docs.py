"""Every code block of README.md and docs/*.md runs here, so no snippet can rot.

How each kind of block is run (markers and kinds: ``tests/_docs.py``):

- ``python`` blocks that define test functions are a test file: pytest runs them with the
  kit's plugin loaded from its entry point, as a user's project would; every test must pass.
- Other ``python`` blocks run in a fresh interpreter (a venv's when marked
  ``<!-- run with: VENV -->``), after the earlier such blocks of their file, in one
  namespace. Top-level ``await`` runs in asyncio and must be announced (a first comment or
  the prose above saying "top-level await"). The ``#`` lines after a ``# prints:`` comment are
  what the block must print (``...`` stands for any text).
- ``sh`` blocks run in ``bash -eu -o pipefail`` from the repository root, with the venv's
  bin first on PATH, against a mock started for these tests (``127.0.0.1:8080`` and
  ``localhost:8080`` become its port), reset before each block. ``curl`` fails on an HTTP
  error status there, and each loopback URL a comment tells the reader to open must answer
  200. A block whose one command is ``runware-kit serve`` is started on a free port, must
  answer, and must exit 0 on SIGTERM.
- ``toml`` and ``json`` blocks must parse; a ``runware-kit`` synopsis may name only options
  its ``--help`` lists; other plain blocks are output samples and diagrams.

A block marked ``<!-- not run: REASON -->`` is skipped with its reason. A block that runs may
name no host but loopback, and the python processes that run blocks refuse any connection or
name lookup for another host.
"""

from __future__ import annotations

import ast
import doctest
import inspect
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests._docs import (
    DOCS,
    KINDS,
    NETWORK_GUARD,
    ROOT,
    RUNNER,
    Block,
    all_blocks,
    commands,
    comment_urls,
    defined_tests,
    expected_output,
    stray_not_run_markers,
    synopsis_options,
)
from tests._support import free_port
from tests.mockserver.conftest import serve_cli

BIN = Path(sys.executable).parent  # the kit's venv: runware-kit and pytest are here
BLOCKS = all_blocks()
CHECKED = [block for block in BLOCKS if block.kind != "sample"]
TIMEOUT_S = 300  # the longest one block may run (the contract suite is the slowest, ~10 s)


@dataclass(frozen=True)
class Mock:
    url: str
    port: int


@pytest.fixture(scope="module")
def docs_mock() -> Iterator[Mock]:
    """`python -m mockserver serve --port P`, for the blocks that talk to the mock."""
    with serve_cli() as (url, _):
        yield Mock(url=url, port=int(url.rsplit(":", 1)[1]))


def _reset(mock: Mock) -> None:
    for path in ("/__mock/faults", "/__mock/requests"):
        httpx.delete(mock.url + path, timeout=10).raise_for_status()


def _env(*first_on_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    env["PATH"] = os.pathsep.join([*map(str, first_on_path), str(BIN), env.get("PATH", "")])
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _mock_port(request: pytest.FixtureRequest, *blocks: Block) -> int:
    """The docs' mock's port, reset, when any of the blocks talks to it."""
    if not any(block.uses_the_mock() for block in blocks):
        return 8080
    mock: Mock = request.getfixturevalue("docs_mock")
    _reset(mock)
    return mock.port


def _python(block: Block) -> str:
    if block.run_with is None:
        return sys.executable
    python = ROOT / block.run_with / "bin" / "python"
    if not python.exists():
        problem = f"{block.where} runs with {block.run_with}, which is missing (.ci/test makes it)"
        if os.environ.get("RUNWARE_KIT_REQUIRE_SDKS") == "1":
            pytest.fail(problem)
        pytest.skip(problem)
    return str(python)


def _awaits(block: Block) -> bool:
    code = compile(block.code, block.where, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    return bool(code.co_flags & inspect.CO_COROUTINE)


def _aligned(block: Block, code: str) -> str:
    """The code behind blank lines, so that tracebacks give the document's line numbers."""
    return "\n" * block.line + code


def _run(
    command: list[str], *, input: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``command`` run to its end from the repository's root, within the time one block may
    take, its output captured as text (``env``: :func:`_env` by default)."""
    return subprocess.run(
        command,
        input=input,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        cwd=ROOT,
        env=_env() if env is None else env,
        check=False,
    )


def _report(what: str, done: subprocess.CompletedProcess[str]) -> str:
    return (
        f"{what} exited with status {done.returncode}\n--- stdout\n{done.stdout[-6000:]}"
        f"\n--- stderr\n{done.stderr[-6000:]}"
    )


# -- how each kind runs -----------------------------------------------------------------------


def run_exec(block: Block, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    assert block.announces_top_level_await() or not _awaits(block), (
        f"{block.where} uses top-level await: say so in its first comment"
    )
    earlier = [
        b
        for b in BLOCKS
        if b.path == block.path
        and b.number < block.number
        and b.kind == "exec"
        and b.not_run is None
        and b.run_with == block.run_with
    ]
    port = _mock_port(request, *earlier, block)
    pieces = [
        {
            "name": str(ROOT / b.path),
            "source": _aligned(b, b.for_port(port)),
            "quiet": b is not block,
        }
        for b in [*earlier, block]
    ]
    done = _run([_python(block), "-c", RUNNER], input=json.dumps(pieces))
    assert done.returncode == 0, _report(block.where, done)
    wanted = expected_output(block.code)
    if wanted is not None:
        checker = doctest.OutputChecker()
        assert checker.check_output(wanted, done.stdout, doctest.ELLIPSIS), (
            f"{block.where} says it prints (after '# prints:')\n{wanted}\nbut printed\n"
            f"{done.stdout}"
        )


def run_pytest(block: Block, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    port = _mock_port(request, block)
    (tmp_path / "conftest.py").write_text(NETWORK_GUARD)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # a project of its own, not this one
    test_file = tmp_path / "test_from_the_docs.py"
    test_file.write_text(_aligned(block, block.for_port(port)))
    done = _run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-c",
            str(tmp_path / "pytest.ini"),
            "--rootdir",
            str(tmp_path),
            str(test_file),
        ]
    )
    assert done.returncode == 0, _report(f"pytest on {block.where}", done)
    count = len(defined_tests(block.code))
    assert re.search(rf"\b{count} passed\b", done.stdout), _report(
        f"pytest on {block.where} (expected {count} passed)", done
    )


def run_shell(block: Block, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    mock: Mock = request.getfixturevalue("docs_mock")
    _reset(mock)
    shims = tmp_path / "bin"
    shims.mkdir()
    curl = shutil.which("curl")
    if curl is None:
        pytest.fail("curl is not installed: the docs' shell blocks use it (Debian package curl)")
    # An HTTP error status fails the block, as a reader would notice it.
    (shims / "curl").write_text(
        f'#!/bin/sh\nexec {curl} --fail-with-body --silent --show-error --max-time 30 "$@"\n'
    )
    (shims / "curl").chmod(0o755)
    script = tmp_path / "block.sh"
    script.write_text(_aligned(block, block.for_port(mock.port)))
    done = _run(["bash", "-eu", "-o", "pipefail", str(script)], env=_env(shims))
    assert done.returncode == 0, _report(block.where, done)
    for url in comment_urls(block.code, mock.port):
        assert httpx.get(url, timeout=10).status_code == 200, f"{block.where}: {url}"


def run_serve(block: Block, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    port = free_port()
    command = re.sub(r"--port[ =]8080\b", f"--port {port}", commands(block.code)[0])
    if "--port" not in command:
        command += f" --port {port}"
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            ["bash", "-c", f"exec {command}"],
            cwd=ROOT,
            env=_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/__mock/health", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, f"{block.where}: exited\n{log_path.read_text()}"
                assert time.monotonic() < deadline, f"{block.where}: no answer within 30 s"
                time.sleep(0.05)
        for url in comment_urls(block.code, port):
            assert httpx.get(url, timeout=10).status_code == 200, f"{block.where}: {url}"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    assert process.returncode == 0, (
        f"{block.where}: SIGTERM gave status {process.returncode}\n{log_path.read_text()}"
    )


def run_toml(block: Block, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    tomllib.loads(block.code)


def run_json(block: Block, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    json.loads(block.code)


def run_synopsis(block: Block, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    for command, documented in synopsis_options(block.code).items():
        done = _run([str(BIN / "runware-kit"), *([command] if command else []), "--help"])
        assert done.returncode == 0, _report(f"runware-kit {command} --help", done)
        offered = set(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", done.stdout))
        missing = sorted(documented - offered)
        assert not missing, (
            f"{block.where} shows {missing} for `runware-kit {command}`, "
            f"which its --help does not offer:\n{done.stdout}"
        )


RUNS: dict[str, Callable[[Block, pytest.FixtureRequest, Path], None]] = {
    "exec": run_exec,
    "pytest": run_pytest,
    "shell": run_shell,
    "serve": run_serve,
    "toml": run_toml,
    "json": run_json,
    "synopsis": run_synopsis,
}


@pytest.mark.parametrize("block", CHECKED, ids=lambda block: block.id)
def test_block(block: Block, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    assert not block.bad_markers, (
        f"{block.where}: {list(block.bad_markers)} honours nothing; write <!-- not run: REASON -->"
    )
    if block.not_run is not None:
        pytest.skip(f"not run: {block.not_run}")
    foreign = block.foreign_hosts()
    assert not foreign, (
        f"{block.where} names {', '.join(foreign)}: point it at the mock "
        f"(127.0.0.1:8080) or mark it <!-- not run: REASON -->"
    )
    RUNS[block.kind](block, request, tmp_path)


# -- what holds for every block ---------------------------------------------------------------


def test_every_block_is_of_a_kind_this_module_runs() -> None:
    unknown = [f"{b.where}: ```{b.lang}" for b in BLOCKS if b.kind not in KINDS]
    assert not unknown, f"no test runs these blocks; use python, sh, toml, json or plain: {unknown}"
    assert set(RUNS) == set(KINDS) - {"sample"}


def test_every_skipped_block_says_why() -> None:
    malformed = [f"{b.where}: <!-- {text} -->" for b in BLOCKS for text in b.bad_markers]
    stray = [found for path in DOCS for found in stray_not_run_markers(path)]
    assert not malformed, f"write <!-- not run: REASON --> with a reason: {malformed}"
    assert not stray, f"a not-run marker must be right above its block: {stray}"
    assert all(b.not_run and b.not_run.strip() for b in BLOCKS if b.not_run is not None)


def test_top_level_await_is_announced() -> None:
    silent = [
        block.where
        for block in BLOCKS
        if block.lang == "python" and _awaits(block) and not block.announces_top_level_await()
    ]
    assert not silent, (
        "these blocks use top-level await without saying so (say it in a "
        f"first comment or the text above): {silent}"
    )


def test_install_lines_need_no_package_index() -> None:
    # The kit is on no package index: installs come from a clone, a built wheel or a git URL.
    unpublished = re.compile(r"pip install\s+(?:-\S+\s+)*['\"]?runware-contract-kit(?!\s*@)")
    found = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in DOCS
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if unpublished.search(line)
    ]
    assert not found, found


def test_readme_keeps_its_two_command_quickstart() -> None:
    readme = [b for b in BLOCKS if b.path == "README.md"]
    assert readme[0].code == (
        "python3 -m venv .venv && .venv/bin/pip install -q . && .venv/bin/runware-kit serve\n"
    )
    assert readme[1].code == "bash .ci/test\n"
