from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

import openapi

pytest_plugins = ["pytester"]  # tests/plugin runs pytest as a downstream project would

DATA = Path(__file__).parent / "data"
SECOND_DOCUMENT = DATA / "runware-minimax-m2.7.openapi.json"

settings.register_profile("ci", max_examples=200, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=60, deadline=None)
settings.load_profile("ci")


@pytest.fixture(scope="session")
def spec() -> openapi.Spec:
    return openapi.load()


@pytest.fixture(scope="session")
def second_spec() -> openapi.Spec:
    return openapi.load(SECOND_DOCUMENT)


@pytest.fixture(params=["bundled", "second"], scope="session")
def any_spec(request: pytest.FixtureRequest) -> openapi.Spec:
    """Each test using this runs once per model document: nothing is model-specific."""
    return openapi.load() if request.param == "bundled" else openapi.load(SECOND_DOCUMENT)


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    """Async tests run on asyncio (anyio's pytest plugin, which Starlette brings)."""
    return "asyncio"


class NetworkAudit:
    """Every socket connect and name lookup this process made while it was active (Python's
    audit events ``socket.connect`` and ``socket.getaddrinfo``): the proof that a foreign
    URL was never called, nor even resolved."""

    def __init__(self) -> None:
        self.active = False
        self.events: list[tuple[str, Any]] = []

    def __call__(self, event: str, args: tuple[Any, ...]) -> None:
        if self.active and event in ("socket.connect", "socket.getaddrinfo",
                                     "socket.gethostbyname", "socket.gethostbyname_ex"):
            self.events.append((event, args[1] if event == "socket.connect" else args[0]))

    def foreign(self) -> list[tuple[str, Any]]:
        """Events about anything but loopback."""
        def local(target: Any) -> bool:
            host = target[0] if isinstance(target, tuple) else target
            if isinstance(host, bytes):
                host = host.decode()
            return not isinstance(host, str) or host in ("localhost", "::1") or \
                host.startswith(("127.", "/"))
        return [(e, t) for e, t in self.events if not local(t)]


_AUDIT = NetworkAudit()
sys.addaudithook(_AUDIT)  # hooks cannot be removed: the fixture switches it on and off


@pytest.fixture
def network_audit() -> Iterator[NetworkAudit]:
    """Records this test's connects and lookups; see :class:`NetworkAudit`."""
    _AUDIT.events.clear()
    _AUDIT.active = True
    try:
        yield _AUDIT
    finally:
        _AUDIT.active = False
