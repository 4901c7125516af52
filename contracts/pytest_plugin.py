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
    ``runware_spec`` (session): the loaded OpenAPI document (the first, with several).
    ``runware_catalog`` (session): every loaded document, one per model (an
        ``openapi.Catalog``; the checks and strategies take it as ``spec=``).

Options: ``--runware-spec PATH`` (repeat it, or name a directory, for several models: one
mock serves them all), ``--runware-seed N`` (also ini keys ``runware_spec``, one path a
line, and ``runware_seed``), ``--runware-coverage`` (a table of what the run exercised, per
model), and, for the packaged contract suite, ``--runware-target URL`` and
``--runware-api-key KEY``.

Cassettes: ``@pytest.mark.runware(cassette=True)`` gives a test a mock that replays its
recorded traffic (nothing leaves the machine), or a proxy that records it, as
``--runware-record-mode`` (``none``, ``once``, ``new_episodes``, ``all``) and
``--runware-upstream URL`` say (``_plugin_cassettes``, docs/proxy.md).

Architecture note: this is the one module of ``contracts`` that reaches up to
``mockserver``; it does so lazily, inside fixtures, so the checks never depend on it.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import pytest

from ._coverage import Coverage
from ._plugin_cassettes import add_options as _add_cassette_options
from ._plugin_cassettes import app_factory, cassette_path, check_replay

__all__ = ["JournalEntry", "JournalViolation", "RunwareMock", "RunwareOptions"]

_MARKER = (
    "runware(spec=None, seed=None, replies=[], faults=[], allow_invalid=False): run "
    "this test against a mock for another document (or a list of them, one per model) "
    "or seed, with scripted replies and queued faults; allow_invalid=True lets requests "
    "that break the contract pass."
)
_MARKER += (
    " cassette=True (or a name) records this test's traffic once and replays it "
    "offline (--runware-record-mode, docs/proxy.md); replay_ignore=[FIELD, ...]: "
    "task fields that change between runs, left out when matching."
)
_COVERAGE = pytest.StashKey["Coverage"]()
_CATALOG = pytest.StashKey[Any]()  # the session's openapi.Catalog, loaded once


@dataclass(frozen=True, slots=True)
class RunwareOptions:
    """The ``@pytest.mark.runware(...)`` keyword arguments, checked."""

    spec: tuple[Any, ...] | None = None  # paths (or Specs): the mock's documents
    seed: int | None = None
    replies: tuple[Mapping[str, Any], ...] = ()
    faults: tuple[Mapping[str, Any], ...] = ()
    allow_invalid: bool = False
    cassette: Any = None  # True (named after the test), a name, or an absolute path
    replay_ignore: tuple[str, ...] = ()

    @classmethod
    def from_marker(cls, marker: pytest.Mark | None) -> RunwareOptions:
        if marker is None:
            return cls()
        if marker.args:
            pytest.fail(
                f"@pytest.mark.runware takes keyword arguments only: {_MARKER}", pytrace=False
            )
        unknown = set(marker.kwargs) - {
            "spec",
            "seed",
            "replies",
            "faults",
            "allow_invalid",
            "cassette",
            "replay_ignore",
        }
        if unknown:
            pytest.fail(
                f"@pytest.mark.runware got unknown argument(s) {sorted(unknown)}: {_MARKER}",
                pytrace=False,
            )
        kwargs = dict(marker.kwargs)
        spec = kwargs.get("spec")
        if spec is not None:  # one path, or a list of them
            kwargs["spec"] = tuple(spec) if isinstance(spec, list | tuple) else (spec,)
        kwargs["replies"] = tuple(kwargs.get("replies") or ())
        kwargs["faults"] = tuple(kwargs.get("faults") or ())
        kwargs["replay_ignore"] = tuple(kwargs.get("replay_ignore") or ())
        return cls(**kwargs)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# -- the journal, typed ------------------------------------------------------------------------

_VIOLATION_KEYS = {
    "code": "code",
    "message": "message",
    "parameter": "parameter",
    "taskType": "task_type",
    "taskUUID": "task_uuid",
    "documentation": "documentation",
}


@dataclass(frozen=True, slots=True)
class JournalViolation:
    """One rule a journaled request broke: an item of the mock's ``errors`` answer.

    Attributes:
        code: Runware's error code (``invalidParameter``, ``missingApiKey``, …).
        message: what is wrong, with the value, the limit and the fix.
        parameter: the parameter in Runware's dotted form (``settings.temperature``);
            ``""`` when the body as a whole is at fault.
        task_type: the task's ``taskType``, when it had one.
        task_uuid: the task's ``taskUUID``, when it had a readable one.
        documentation: the link to Runware's errors page every item carries.
        details: any other field of the item (none today), so nothing is dropped.
    """

    code: str
    message: str
    parameter: str = ""
    task_type: str | None = None
    task_uuid: str | None = None
    documentation: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict, hash=False)

    @classmethod
    def from_dict(cls, item: Mapping[str, Any]) -> JournalViolation:
        known = {attr: item[key] for key, attr in _VIOLATION_KEYS.items() if key in item}
        known["parameter"] = known.get("parameter") or ""
        return cls(
            **known,
            details=MappingProxyType({k: v for k, v in item.items() if k not in _VIOLATION_KEYS}),
        )

    def to_dict(self) -> dict[str, Any]:
        """The item as the journal's JSON has it (fields in Runware's order)."""
        item = {key: getattr(self, attr) for key, attr in _VIOLATION_KEYS.items()}
        kept = {k: v for k, v in item.items() if v is not None and (k != "parameter" or v)}
        return {**kept, **self.details}


# JSON key of GET /__mock/requests → attribute, in the journal's order.
_ENTRY_KEYS = {
    "id": "id",
    "received": "received",
    "method": "method",
    "path": "path",
    "apiKey": "api_key",
    "status": "status",
    "latencyMs": "latency_ms",
    "valid": "valid",
    "violations": "violations",
    "tasks": "tasks",
    "fault": "fault",
    "request": "request",
    "response": "response",
}


@dataclass(frozen=True, slots=True)
class JournalEntry(Mapping[str, Any]):
    """One request the mock saw (or one webhook delivery it made), and what became of it.

    ``runware_mock.requests`` is a list of these, oldest first. An entry also reads as the
    journal's JSON object (``GET /__mock/requests``): ``entry["latencyMs"]``,
    ``entry.get("fault")`` and ``dict(entry)`` give the values in that shape, for code
    written when the entries were plain dicts.

    Attributes:
        id: the journal's id of the entry.
        received: when it arrived, in seconds since the epoch.
        method: ``"POST"``; ``"WS"`` for a WebSocket frame; ``"WEBHOOK"`` for a delivery the
            mock made.
        path: the request's path; for a webhook, the URL it went to.
        api_key: the API key sent, masked (``"pyte…ey"``), or None.
        status: the HTTP status answered (a webhook: the receiver's, 0 if not attempted).
        latency_ms: how long the mock took to answer.
        valid: True when the request broke no rule of the contract.
        violations: every rule it broke (empty when ``valid``).
        tasks: each task's ``taskType``, ``taskUUID``, ``model`` and ``deliveryMethod``, as
            sent (read-only mappings; a key the task lacked is absent).
        fault: the fault that answered (``"429 rateLimitExceeded (header …)"``), or why a
            webhook was not attempted; None when none.
        request: the body as the journal keeps it: parsed JSON, every ``apiKey`` masked,
            very long strings cut.
        response: the JSON answered; ``"(event stream)"`` for a stream.
        extra: any other key of the journal's object, as it has it (read-only), so that a
            key the mock adds later is not dropped.

    An example test is in docs/pytest-plugin.md (*The journal*).
    """

    id: str
    received: float
    method: str
    path: str
    api_key: str | None
    status: int
    latency_ms: float
    valid: bool
    violations: tuple[JournalViolation, ...]
    tasks: tuple[Mapping[str, Any], ...] = field(hash=False)
    fault: str | None
    request: Any = field(hash=False)
    response: Any = field(hash=False)
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False)

    @classmethod
    def from_dict(cls, entry: Mapping[str, Any]) -> JournalEntry:
        """An entry from one item of ``GET /__mock/requests``'s ``requests``."""
        return cls(
            id=entry["id"],
            received=entry["received"],
            method=entry["method"],
            path=entry["path"],
            api_key=entry.get("apiKey"),
            status=entry["status"],
            latency_ms=entry["latencyMs"],
            valid=entry["valid"],
            violations=tuple(JournalViolation.from_dict(v) for v in entry.get("violations") or ()),
            tasks=tuple(MappingProxyType(dict(t)) for t in entry.get("tasks") or ()),
            fault=entry.get("fault"),
            request=entry.get("request"),
            response=entry.get("response"),
            extra=MappingProxyType({k: v for k, v in entry.items() if k not in _ENTRY_KEYS}),
        )

    def to_dict(self) -> dict[str, Any]:
        """The entry as ``GET /__mock/requests`` has it (a fresh dict, JSON keys)."""
        return {key: self[key] for key in self}

    def _json(self, key: str) -> Any:
        if key == "violations":
            return [v.to_dict() for v in self.violations]
        if key == "tasks":
            return [dict(t) for t in self.tasks]
        return getattr(self, _ENTRY_KEYS[key])

    def __getitem__(self, key: str) -> Any:
        if key in _ENTRY_KEYS:
            return self._json(key)
        if key in self.extra:
            return self.extra[key]
        raise KeyError(
            f"{key!r} is not a key of this journal entry; keys: "
            f"{', '.join(self)} (or the attributes: "
            f"{', '.join(_ENTRY_KEYS.values())})"
        )

    def __iter__(self) -> Iterator[str]:
        yield from _ENTRY_KEYS
        yield from self.extra

    def __len__(self) -> int:
        return len(_ENTRY_KEYS) + len(self.extra)


class RunwareMock:
    """A mock Runware server on a loopback port, in a background thread.

    Attributes:
        url: the REST endpoint (``http://127.0.0.1:PORT/v1``).
        ws_url: the WebSocket endpoint.
        api_key: a key the mock accepts.
        requests: the journal, oldest first: a :class:`JournalEntry` per request.
        catalog: every document it serves, one per model (``openapi.Catalog``).
        spec: the first of them (the only one, unless several were given).
    """

    api_key = "pytest-runware-key"

    def __init__(self, *, spec_source: Any = None, seed: int | None, make_app: Any = None) -> None:
        import uvicorn

        import openapi
        from mockserver import MockConfig, create_app

        # One source, or several (paths, directories, Specs): one mock serves every model.
        sources = (
            ()
            if spec_source is None
            else tuple(spec_source)
            if isinstance(spec_source, list | tuple)
            else (spec_source,)
        )
        self.catalog = openapi.load_catalog(*sources)
        self.spec = self.catalog.first
        # make_app: a cassette's (replay, or a recording proxy), built the same way.
        self.app = (make_app or create_app)(
            spec=self.catalog, config=MockConfig(seed=seed, processing_ms=0)
        )
        self.mock = self.app.state.mock
        port = _free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.url = f"{self.base}/v1"
        self.ws_url = f"ws://127.0.0.1:{port}/v1"
        self._server = uvicorn.Server(
            uvicorn.Config(
                self.app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"
            )
        )
        self._thread = threading.Thread(target=self._server.run, name="runware-mock", daemon=True)

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
    def requests(self) -> list[JournalEntry]:
        """The journal, oldest first: what each request sent, its verdict, the answer."""
        import httpx

        entries: list[dict[str, Any]] = httpx.get(
            f"{self.base}/__mock/requests", timeout=15
        ).json()["requests"]
        return [JournalEntry.from_dict(entry) for entry in entries]

    def reply(self, *, text: str, match: str | None = None, **options: Any) -> Any:
        """Script a reply (see ``MockServer.reply``)."""
        return self.mock.reply(text=text, match=match, **options)

    def fail(
        self,
        *,
        status: int | None = None,
        times: int | None = None,
        code: str | None = None,
        **options: Any,
    ) -> Any:
        """Queue a fault for the next matching requests (see docs/errors.md)."""
        fields = {
            k: v
            for k, v in {"status": status, "times": times, "code": code}.items()
            if v is not None
        }
        return self.mock.fail(**fields, **options)

    def reset(self) -> None:
        """Forget replies, faults and the journal."""
        import httpx

        self.mock.forget_scripts()
        httpx.delete(f"{self.base}/__mock/requests", timeout=15)


# -- hooks -----------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("runware", "runware-contract-kit")
    group.addoption(
        "--runware-spec",
        metavar="PATH",
        default=None,
        action="append",
        help="OpenAPI document for the mock, or a directory of them; repeat it "
        "for several models (default: the bundled one)",
    )
    group.addoption(
        "--runware-seed",
        type=int,
        metavar="N",
        default=None,
        help="seed for the mock's generated seeds and probabilities",
    )
    group.addoption(
        "--runware-coverage",
        action="store_true",
        default=False,
        help="print which task types, delivery methods, settings and statuses "
        "the run exercised, and per model which settings it never sent",
    )
    group.addoption(
        "--runware-target",
        metavar="URL",
        default=None,
        help="contracts.suite: the server to verify (its REST endpoint)",
    )
    group.addoption(
        "--runware-api-key",
        metavar="KEY",
        default=None,
        help="contracts.suite: the API key to send",
    )
    # Here, not in the suite's conftest: with --pyargs that conftest loads only after the
    # command line is parsed, and pytest would refuse the option.
    group.addoption(
        "--runware-examples",
        type=int,
        default=10,
        metavar="N",
        help="contracts.suite: drawn requests per property test (10)",
    )
    _add_cassette_options(group)
    parser.addini(
        "runware_spec",
        "OpenAPI documents for the mock, one path (or directory) a line",
        type="linelist",
        default=[],
    )
    parser.addini("runware_seed", "seed for the mock", default=None)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", _MARKER)
    config.stash[_COVERAGE] = Coverage()


def _setting(config: pytest.Config, name: str) -> Any:
    value = config.getoption(f"--runware-{name}")
    return value if value is not None else config.getini(f"runware_{name}")


def _specs(config: pytest.Config) -> tuple[str, ...]:
    """The session's documents: every ``--runware-spec``, else the ini's lines."""
    given = config.getoption("--runware-spec") or config.getini("runware_spec") or ()
    return tuple(str(path) for path in given)


def session_catalog(config: pytest.Config) -> Any:
    """The session's ``openapi.Catalog`` (``--runware-spec``), loaded once; the contract
    suite parametrizes its tests by its models."""
    if _CATALOG not in config.stash:
        import openapi

        config.stash[_CATALOG] = openapi.load_catalog(*_specs(config))
    return config.stash[_CATALOG]


def _start(spec_source: Any, seed: int | None, make_app: Any = None) -> RunwareMock:
    return RunwareMock(spec_source=spec_source, seed=seed, make_app=make_app).start()


@pytest.fixture(scope="session")
def runware_spec(pytestconfig: pytest.Config) -> Any:
    """The OpenAPI document the session's mock serves (``--runware-spec``); with several,
    the first (``runware_catalog`` has them all)."""
    return session_catalog(pytestconfig).first


@pytest.fixture(scope="session")
def runware_catalog(pytestconfig: pytest.Config) -> Any:
    """Every document the session's mock serves, one per model (an ``openapi.Catalog``):
    pass it as ``spec=`` to ``check_request`` and to the strategies."""
    return session_catalog(pytestconfig)


@pytest.fixture(scope="session")
def runware_mock_session(pytestconfig: pytest.Config) -> Iterator[RunwareMock]:
    """One mock for the whole session, on a loopback port."""
    seed = _setting(pytestconfig, "seed")
    mock = _start(session_catalog(pytestconfig), int(seed) if seed is not None else None)
    yield mock
    mock.stop()


@pytest.fixture
def runware_mock(
    request: pytest.FixtureRequest, pytestconfig: pytest.Config
) -> Iterator[RunwareMock]:
    """A mock for this test: the session's, reset, with the marker's options applied."""
    options = RunwareOptions.from_marker(request.node.get_closest_marker("runware"))
    own = options.spec is not None or options.seed is not None or options.cassette is not None
    make_app, recording_key = None, None
    if options.cassette is not None:  # replays its cassette, or records it (docs/proxy.md)
        make_app, recording_key = app_factory(
            request, cassette_path(request, options.cassette), ignore=options.replay_ignore
        )
    if own:  # another document, seed or a cassette: a mock of this test's own
        seed = options.seed if options.seed is not None else _setting(pytestconfig, "seed")
        mock = _start(
            options.spec or session_catalog(pytestconfig),
            int(seed) if seed is not None else None,
            make_app,
        )
        if recording_key is not None:
            mock.api_key = recording_key  # the upstream's key: the test's client sends it
    else:
        mock = request.getfixturevalue("runware_mock_session")
        mock.reset()
    try:
        for reply in options.replies:
            mock.reply(**dict(reply))
        for fault in options.faults:
            mock.fail(**dict(fault))
        yield mock
        check_replay(mock.app)
        entries = mock.requests
        pytestconfig.stash[_COVERAGE].add(entries, catalog=mock.catalog)
        if not options.allow_invalid:
            _fail_on_invalid(entries)
    finally:
        if own:
            mock.stop()


@pytest.fixture
def runware_app(pytestconfig: pytest.Config) -> Any:
    """The mock as an ASGI app, for ``httpx.AsyncClient(transport=httpx.ASGITransport(...))``."""
    from mockserver import MockConfig, create_app

    seed = _setting(pytestconfig, "seed")
    return create_app(
        spec=session_catalog(pytestconfig),
        config=MockConfig(seed=int(seed) if seed is not None else None, processing_ms=0),
    )


def _fail_on_invalid(entries: Sequence[Mapping[str, Any]]) -> None:
    invalid = [e for e in entries if e.get("violations")]
    if not invalid:
        return
    lines = []
    for entry in invalid:
        for violation in entry["violations"]:
            where = violation.get("parameter") or "(body)"
            lines.append(
                f"  - {entry['method']} {entry['path']}: {where}: "
                f"{violation['message']} [{violation['code']}]"
            )
    count = sum(len(e["violations"]) for e in invalid)
    pytest.fail(
        f"the code under test sent {len(invalid)} request(s) that break the Runware "
        f"contract ({count} violation(s)); fix the client, or mark the test "
        f"@pytest.mark.runware(allow_invalid=True):\n" + "\n".join(lines),
        pytrace=False,
    )


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if not config.getoption("--runware-coverage"):
        return
    coverage: Coverage = config.stash[_COVERAGE]
    terminalreporter.section("runware coverage")
    for line in coverage.lines():
        terminalreporter.write_line(line)
