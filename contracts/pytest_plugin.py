"""The pytest plugin: a real mock Runware server per test, and the contract at teardown.

Registered as the ``pytest11`` entry point ``runware``; loading it imports nothing heavy —
the mock (Starlette, uvicorn) is imported when a fixture first needs it.

Fixtures:
    ``runware_mock`` (function): the session's mock, reset for this test, with the
        ``@pytest.mark.runware(...)`` options applied. At teardown the test errors if the
        code under test sent a request that breaks the contract (unless
        ``allow_invalid=True``), listing each violation's parameter and message.
    ``runware_mock_session`` (session): one mock on a loopback port for the session (each
        pytest-xdist worker gets its own).
    ``runware_app`` (function): the ASGI app, for ``httpx.ASGITransport``.
    ``runware_spec`` (session): the loaded OpenAPI document.

Options: ``--runware-spec PATH``, ``--runware-seed N`` (also ini keys ``runware_spec`` and
``runware_seed``), ``--runware-coverage`` (a table of what the run exercised), and, for the
packaged contract suite, ``--runware-target URL`` and ``--runware-api-key KEY``.

Architecture note: this is the one module of ``contracts`` that reaches up to
``mockserver``; it does so lazily, inside fixtures, so the checks never depend on it.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

__all__ = ["RunwareMock", "RunwareOptions"]

_MARKER = ("runware(spec=None, seed=None, replies=[], faults=[], allow_invalid=False): run "
           "this test against a mock for another document or seed, with scripted replies and "
           "queued faults; allow_invalid=True lets requests that break the contract pass.")
_COVERAGE = pytest.StashKey["Coverage"]()


@dataclass(frozen=True, slots=True)
class RunwareOptions:
    """The ``@pytest.mark.runware(...)`` keyword arguments, checked."""

    spec: str | None = None
    seed: int | None = None
    replies: tuple[Mapping[str, Any], ...] = ()
    faults: tuple[Mapping[str, Any], ...] = ()
    allow_invalid: bool = False

    @classmethod
    def from_marker(cls, marker: pytest.Mark | None) -> RunwareOptions:
        if marker is None:
            return cls()
        if marker.args:
            pytest.fail(f"@pytest.mark.runware takes keyword arguments only: {_MARKER}",
                        pytrace=False)
        unknown = set(marker.kwargs) - {"spec", "seed", "replies", "faults", "allow_invalid"}
        if unknown:
            pytest.fail(f"@pytest.mark.runware got unknown argument(s) {sorted(unknown)}: "
                        f"{_MARKER}", pytrace=False)
        kwargs = dict(marker.kwargs)
        kwargs["replies"] = tuple(kwargs.get("replies") or ())
        kwargs["faults"] = tuple(kwargs.get("faults") or ())
        return cls(**kwargs)


@dataclass
class Coverage:
    """What the test run sent to mocks, for ``--runware-coverage``."""

    task_types: Counter[str] = field(default_factory=Counter)
    delivery_methods: Counter[str] = field(default_factory=Counter)
    settings: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)

    def add(self, entries: Sequence[Mapping[str, Any]]) -> None:
        for entry in entries:
            self.statuses[int(entry.get("status", 0))] += 1
            request = entry.get("request")
            for task in request if isinstance(request, list) else ():
                if not isinstance(task, dict):
                    continue
                self.task_types[str(task.get("taskType"))] += 1
                if task.get("taskType") not in ("authentication", "getResponse", "ping"):
                    self.delivery_methods[str(task.get("deliveryMethod", "(default)"))] += 1
                for name in task.get("settings") or {}:
                    self.settings[str(name)] += 1


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RunwareMock:
    """A mock Runware server on a loopback port, in a background thread.

    Attributes:
        url: the REST endpoint (``http://127.0.0.1:PORT/v1``).
        ws_url: the WebSocket endpoint.
        api_key: a key the mock accepts.
        requests: the journal — each entry with the body, its violations, the response.
    """

    api_key = "pytest-runware-key"

    def __init__(self, *, spec_source: str | None, seed: int | None) -> None:
        import uvicorn

        import openapi
        from mockserver import MockConfig, create_app

        self.spec = openapi.load(spec_source)
        self.app = create_app(spec=self.spec, config=MockConfig(seed=seed, processing_ms=0))
        self.mock = self.app.state.mock
        port = _free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.url = f"{self.base}/v1"
        self.ws_url = f"ws://127.0.0.1:{port}/v1"
        self._server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=port,
                                                     log_level="warning", lifespan="on"))
        self._thread = threading.Thread(target=self._server.run, name="runware-mock",
                                        daemon=True)

    def start(self) -> RunwareMock:
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the runware mock did not start on a loopback port")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=15)

    @property
    def requests(self) -> list[dict[str, Any]]:
        """The journal, oldest first."""
        import httpx

        entries: list[dict[str, Any]] = httpx.get(f"{self.base}/__mock/requests",
                                                  timeout=15).json()["requests"]
        return entries

    def reply(self, *, text: str, match: str | None = None, **options: Any) -> Any:
        """Script a reply (see ``MockServer.reply``)."""
        return self.mock.reply(text=text, match=match, **options)

    def fail(self, *, status: int | None = None, times: int | None = None,
             code: str | None = None, **options: Any) -> Any:
        """Queue a fault for the next matching requests (see docs/errors.md)."""
        fields = {k: v for k, v in {"status": status, "times": times, "code": code}.items()
                  if v is not None}
        return self.mock.fail(**fields, **options)

    def reset(self) -> None:
        """Forget replies, faults and the journal."""
        import httpx

        self.mock.forget_scripts()
        httpx.delete(f"{self.base}/__mock/requests", timeout=15)


# -- hooks -----------------------------------------------------------------------------------

def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("runware", "runware-contract-kit")
    group.addoption("--runware-spec", metavar="PATH", default=None,
                    help="OpenAPI document for the mock (default: the bundled one)")
    group.addoption("--runware-seed", type=int, metavar="N", default=None,
                    help="seed for the mock's generated seeds and probabilities")
    group.addoption("--runware-coverage", action="store_true", default=False,
                    help="print which task types, delivery methods, settings and statuses "
                         "the run exercised")
    group.addoption("--runware-target", metavar="URL", default=None,
                    help="contracts.suite: the server to verify (its REST endpoint)")
    group.addoption("--runware-api-key", metavar="KEY", default=None,
                    help="contracts.suite: the API key to send")
    # Here, not in the suite's conftest: with --pyargs that conftest loads only after the
    # command line is parsed, and pytest would refuse the option.
    group.addoption("--runware-examples", type=int, default=10, metavar="N",
                    help="contracts.suite: drawn requests per property test (10)")
    parser.addini("runware_spec", "OpenAPI document for the mock", default=None)
    parser.addini("runware_seed", "seed for the mock", default=None)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", _MARKER)
    config.stash[_COVERAGE] = Coverage()


def _setting(config: pytest.Config, name: str) -> Any:
    value = config.getoption(f"--runware-{name}")
    return value if value is not None else config.getini(f"runware_{name}")


def _start(spec_source: str | None, seed: int | None) -> RunwareMock:
    return RunwareMock(spec_source=spec_source, seed=seed).start()


@pytest.fixture(scope="session")
def runware_spec(pytestconfig: pytest.Config) -> Any:
    """The OpenAPI document the session's mock serves (``--runware-spec``)."""
    import openapi

    return openapi.load(_setting(pytestconfig, "spec"))


@pytest.fixture(scope="session")
def runware_mock_session(pytestconfig: pytest.Config) -> Iterator[RunwareMock]:
    """One mock for the whole session, on a loopback port."""
    seed = _setting(pytestconfig, "seed")
    mock = _start(_setting(pytestconfig, "spec"), int(seed) if seed is not None else None)
    yield mock
    mock.stop()


@pytest.fixture
def runware_mock(request: pytest.FixtureRequest,
                 pytestconfig: pytest.Config) -> Iterator[RunwareMock]:
    """A mock for this test: the session's, reset, with the marker's options applied."""
    options = RunwareOptions.from_marker(request.node.get_closest_marker("runware"))
    own = options.spec is not None or options.seed is not None
    if own:  # another document or seed: a mock of this test's own
        seed = options.seed if options.seed is not None else _setting(pytestconfig, "seed")
        mock = _start(options.spec or _setting(pytestconfig, "spec"),
                      int(seed) if seed is not None else None)
    else:
        mock = request.getfixturevalue("runware_mock_session")
        mock.reset()
    try:
        for reply in options.replies:
            mock.reply(**dict(reply))
        for fault in options.faults:
            mock.fail(**dict(fault))
        yield mock
        entries = mock.requests
        pytestconfig.stash[_COVERAGE].add(entries)
        if not options.allow_invalid:
            _fail_on_invalid(entries)
    finally:
        if own:
            mock.stop()


@pytest.fixture
def runware_app(pytestconfig: pytest.Config) -> Any:
    """The mock as an ASGI app, for ``httpx.AsyncClient(transport=httpx.ASGITransport(...))``."""
    import openapi
    from mockserver import MockConfig, create_app

    seed = _setting(pytestconfig, "seed")
    return create_app(spec=openapi.load(_setting(pytestconfig, "spec")),
                      config=MockConfig(seed=int(seed) if seed is not None else None,
                                        processing_ms=0))


def _fail_on_invalid(entries: Sequence[Mapping[str, Any]]) -> None:
    invalid = [e for e in entries if e.get("violations")]
    if not invalid:
        return
    lines = []
    for entry in invalid:
        for violation in entry["violations"]:
            where = violation.get("parameter") or "(body)"
            lines.append(f"  - {entry['method']} {entry['path']}: {where}: "
                         f"{violation['message']} [{violation['code']}]")
    count = sum(len(e["violations"]) for e in invalid)
    pytest.fail(f"the code under test sent {len(invalid)} request(s) that break the Runware "
                f"contract ({count} violation(s)); fix the client, or mark the test "
                f"@pytest.mark.runware(allow_invalid=True):\n" + "\n".join(lines),
                pytrace=False)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if not config.getoption("--runware-coverage"):
        return
    coverage: Coverage = config.stash[_COVERAGE]
    write = terminalreporter.write_line
    terminalreporter.section("runware coverage")
    for title, counter in (("task types", coverage.task_types),
                           ("delivery methods", coverage.delivery_methods),
                           ("settings", coverage.settings),
                           ("status codes", coverage.statuses)):
        row = ", ".join(f"{name} x{n}" for name, n in sorted(counter.items(),
                                                             key=lambda kv: str(kv[0])))
        write(f"{title:<18}| {row or '(none)'}")
    if not any((coverage.task_types, coverage.statuses)):
        write("no request reached a runware_mock in this run")
