"""The fenced code blocks of README.md and docs/*.md, for tests/test_docs.py.

A block is read with the HTML comments right above it (blank lines between are fine):

    <!-- not run: REASON -->      the test skips it, and says why
    <!-- run with: .venv-sdk-new -->  run a python block with that venv's python

Every block gets a kind, which says how its test runs it:

    python   "pytest" when it defines test functions (run as a test file), else "exec"
    sh, bash "serve" when its one command is `runware-kit serve`, else "shell"
    toml     "toml", json "json": parsed
    (none)   "synopsis" when it starts with `runware-kit `: its options are checked against
             `--help`; any other plain block is a "sample" (output, a diagram), left alone
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))

KINDS = ("pytest", "exec", "serve", "shell", "toml", "json", "synopsis", "sample")

_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`\s]*)")
_COMMENT = re.compile(r"^\s*<!--(?P<text>.*?)-->\s*$")
_NOT_RUN = re.compile(r"^not run:\s*(?P<reason>\S.*?)\s*$")
_RUN_WITH = re.compile(r"^run with:\s*(?P<venv>\S+)\s*$")
_URL_HOST = re.compile(r"\b(?:https?|wss?)://(?P<host>\[[^\]]*\]|[^\s/:'\"`)<>]+)")
_MOCK_ADDRESS = re.compile(r"\b(?P<host>127\.0\.0\.1|localhost):8080\b")
_LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")
_AWAIT_NOTE = re.compile(r"top-level\s*`?await`?", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Block:
    """One fenced block: where it is, what it says, and the markers above it."""

    path: str  # relative to the repository root
    number: int  # 1-based, counting every fence of its file
    line: int  # 1-based line of the opening fence
    lang: str
    code: str = field(repr=False)
    prose: str = field(repr=False)  # the text between the previous block and this one
    not_run: str | None  # the reason, when marked <!-- not run: REASON -->
    run_with: str | None  # a venv directory, when marked <!-- run with: VENV -->
    bad_markers: tuple[str, ...]  # comments above it that look like markers but are not

    @property
    def id(self) -> str:
        first = next(
            (" ".join(line.split()) for line in self.code.splitlines() if line.strip()), ""
        )
        if len(first) > 50:
            first = first[:47] + "..."
        return f"{self.path}#{self.number}: {first}"

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line} (block {self.number})"

    @property
    def kind(self) -> str:
        lang = self.lang
        if lang == "python":
            return "pytest" if defined_tests(self.code) else "exec"
        if lang in ("sh", "bash"):
            return "serve" if _serve_command(self.code) else "shell"
        if lang in ("toml", "json"):
            return lang
        if lang == "":
            return "synopsis" if self.code.startswith("runware-kit ") else "sample"
        return f"unknown ({lang})"

    def announces_top_level_await(self) -> bool:
        """True when the block's leading comment or the prose above it says it uses
        top-level ``await``."""
        lead = []
        for line in self.code.lstrip().splitlines():
            if not line.startswith("#"):
                break
            lead.append(line)
        return bool(_AWAIT_NOTE.search(self.prose) or _AWAIT_NOTE.search(" ".join(lead)))

    def foreign_hosts(self) -> list[str]:
        """Every host the block names in a URL that is not loopback."""
        return sorted(
            {
                m["host"]
                for m in _URL_HOST.finditer(self.code)
                if m["host"].lower() not in _LOOPBACK_HOSTS
            }
        )

    def for_port(self, port: int) -> str:
        """The code, with the mock's documented address (port 8080) moved to ``port``."""
        return _MOCK_ADDRESS.sub(lambda m: f"{m['host']}:{port}", self.code)

    def uses_the_mock(self) -> bool:
        return bool(_MOCK_ADDRESS.search(self.code))


def read_blocks(path: Path) -> list[Block]:
    """The fenced blocks of one Markdown file, in order."""
    lines = path.read_text(encoding="utf-8").splitlines()
    relative = _relative(path)
    blocks: list[Block] = []
    prose_start, i = 0, 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        fence, indent = opening["fence"], len(opening["indent"])
        end = i + 1
        while end < len(lines) and not re.match(
            rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}\s*$", lines[end]
        ):
            end += 1
        code = "\n".join(
            line[indent:] if line.startswith(" " * indent) else line.lstrip()
            for line in lines[i + 1 : end]
        )
        markers, first_marker = _markers_above(lines, i, prose_start)
        not_run = run_with = None
        bad = []
        for text in markers:
            if found := _NOT_RUN.match(text):
                not_run = found["reason"]
            elif found := _RUN_WITH.match(text):
                run_with = found["venv"]
            elif re.match(r"^(not[\s-]*run|run[\s-]*with|skip)", text, re.IGNORECASE):
                bad.append(text)
        blocks.append(
            Block(
                path=relative,
                number=len(blocks) + 1,
                line=i + 1,
                lang=opening["info"].lower(),
                code=code + "\n" if code else "",
                prose="\n".join(lines[prose_start:first_marker]),
                not_run=not_run,
                run_with=run_with,
                bad_markers=tuple(bad),
            )
        )
        prose_start = i = end + 1
    return blocks


def all_blocks() -> list[Block]:
    return [block for path in DOCS for block in read_blocks(path)]


def stray_not_run_markers(path: Path) -> list[str]:
    """``not run`` comments of a file that are not right above a block (so honour nothing)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    attached = {i for block in read_blocks(path) for i in _marker_lines(lines, block.line - 1)}
    return [
        f"{_relative(path)}:{i + 1}: {line.strip()}"
        for i, line in enumerate(lines)
        if re.search(r"<!--\s*not[\s-]*run", line, re.IGNORECASE) and i not in attached
    ]


def _relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)


def _marker_lines(lines: list[str], fence: int, floor: int = 0) -> list[int]:
    found, j = [], fence - 1
    while j >= floor and (not lines[j].strip() or _COMMENT.match(lines[j])):
        if lines[j].strip():
            found.append(j)
        j -= 1
    return found


def _markers_above(lines: list[str], fence: int, floor: int) -> tuple[list[str], int]:
    found = _marker_lines(lines, fence, floor)
    texts = [m["text"].strip() for j in reversed(found) if (m := _COMMENT.match(lines[j]))]
    return texts, (min(found) if found else fence)


def defined_tests(code: str) -> list[str]:
    """The names of the test functions a python block defines at its top level."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    return [
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test")
    ]


def _serve_command(code: str) -> bool:
    commands = [
        line for line in code.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]
    return (
        len(commands) == 1
        and re.match(r"^(\S*/)?runware-kit\s+serve\b", commands[0].strip()) is not None
    )


def commands(code: str) -> list[str]:
    """A shell block's command lines (comments and blank lines dropped)."""
    return [
        line.split(" #")[0].rstrip()
        for line in code.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def comment_urls(code: str, port: int) -> list[str]:
    """Loopback http URLs that a shell block's comments tell the reader to open."""
    urls = []
    for line in code.splitlines():
        _, hash_, comment = line.partition("#")
        if not hash_:
            continue
        for found in re.finditer(r"http://(?:127\.0\.0\.1|localhost):8080[^\s)`'\"]*", comment):
            urls.append(_MOCK_ADDRESS.sub(lambda m: f"{m['host']}:{port}", found[0]))
    return urls


def expected_output(code: str) -> str | None:
    """What a python block says it prints: the ``#`` lines after each ``# prints:`` line,
    joined; None when it says nothing."""
    wanted: list[str] = []
    said, reading = False, False
    for line in code.splitlines():
        stripped = line.strip()
        if stripped == "# prints:":
            said = reading = True
        elif reading and stripped.startswith("#"):
            wanted.append(stripped[2:] if stripped.startswith("# ") else stripped[1:])
        else:
            reading = False
    return "\n".join(wanted) + "\n" if said else None


def synopsis_options(code: str) -> dict[str, set[str]]:
    """A plain ``runware-kit ...`` synopsis block's options, by subcommand ("" for the top
    level): ``{"serve": {"--host", ...}, "validate": {...}}``."""
    options: dict[str, set[str]] = {}
    command = ""
    for line in code.splitlines():
        text = line.split("#")[0]
        if line.startswith("runware-kit "):
            words = text.split()
            command = words[1] if len(words) > 1 and not words[1].startswith("-") else ""
        options.setdefault(command, set()).update(
            re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", text)
        )
    return options


# Guards a python process that runs a block: a connection or name lookup for anything but
# loopback is refused, and the process then exits with status 97 saying what it refused, so a
# snippet can never reach Runware (or anything else) from a test, even if it catches the error.
NETWORK_GUARD = r"""
import atexit, os, sys

_refused = []

def _loopback(host):
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    if not isinstance(host, str) or host.startswith("/"):
        return True  # a Unix socket, or getaddrinfo(None) for a local bind
    return (host in ("localhost", "::1", "ip6-localhost", "") or host.startswith("127.")
            or host.endswith(".localhost"))

def _guard(event, args):
    if event == "socket.connect" and isinstance(args[1], tuple):
        host = args[1][0]
    elif event in ("socket.getaddrinfo", "socket.gethostbyname"):
        host = args[0]
    else:
        return
    if not _loopback(host):
        _refused.append(f"{event} {host!r}")
        raise ConnectionRefusedError(f"docs test: {host!r} is not loopback")

def _report():
    if _refused:
        sys.stderr.write("docs test: refused non-loopback network access: "
                         + ", ".join(_refused) + "\n")
        sys.stderr.flush()
        os._exit(97)

sys.addaudithook(_guard)
atexit.register(_report)
"""

# Runs python blocks (JSON on stdin: [{"name", "source", "quiet"}]) in one namespace, in
# order; a quiet block's output is dropped. Blocks with top-level await run in one event loop.
RUNNER = (
    NETWORK_GUARD
    + r"""
import ast, asyncio, contextlib, inspect, io, json

pieces = json.load(sys.stdin)
codes = [(p, compile(p["source"], p["name"], "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT))
         for p in pieces]
namespace = {"__name__": "__main__"}

def _output(piece):
    return contextlib.redirect_stdout(io.StringIO()) if piece["quiet"] else contextlib.nullcontext()

async def _in_a_loop():
    for piece, code in codes:
        with _output(piece):
            result = eval(code, namespace)
            if inspect.iscoroutine(result):
                await result

if any(code.co_flags & inspect.CO_COROUTINE for _, code in codes):
    asyncio.run(_in_a_loop())
else:
    for piece, code in codes:
        with _output(piece):
            exec(code, namespace)
sys.stdout.flush()
"""
)
