from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

import openapi
from tests._support import SECOND_DOCUMENT

pytest_plugins = ["pytester"]  # tests/plugin runs pytest as a downstream project would

settings.register_profile(
    "ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
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
        if self.active and event in (
            "socket.connect",
            "socket.getaddrinfo",
            "socket.gethostbyname",
            "socket.gethostbyname_ex",
        ):
            self.events.append((event, args[1] if event == "socket.connect" else args[0]))

    def foreign(self) -> list[tuple[str, Any]]:
        """Events about anything but loopback."""

        def local(target: Any) -> bool:
            host = target[0] if isinstance(target, tuple) else target
            if isinstance(host, bytes):
                host = host.decode()
            return (
                not isinstance(host, str)
                or host in ("localhost", "::1")
                or host.startswith(("127.", "/"))
            )

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


# -- a real browser: Debian's chromium, driven by Playwright (never `playwright install`) --

BROWSER_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STEP_MS = 10_000  # the longest any one browser step may take


@pytest.fixture
def chromium() -> str:
    """Debian's chromium and the playwright package, or a skip (a failure in CI)."""
    problem = None
    binary = shutil.which("chromium") or (
        "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None
    )
    if binary is None:
        problem = "chromium is not installed (Debian package chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "the playwright package is not installed (pip install playwright)"
    if problem is not None:
        if os.environ.get("RUNWARE_KIT_REQUIRE_BROWSER") == "1":
            pytest.fail(problem)
        pytest.skip(problem)
    assert binary is not None
    return binary


@pytest.fixture
def browser(chromium: str, tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """``browser(*extra_flags)``: a page in a fresh headless Chromium profile; every
    browser opened is closed after the test."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        contexts: list[Any] = []

        def open_page(*extra: str) -> Any:
            context = playwright.chromium.launch_persistent_context(
                str(tmp_path / f"profile-{len(contexts)}"),
                executable_path=chromium,
                headless=True,
                args=[*BROWSER_FLAGS, *extra],
                timeout=30_000,
                viewport={"width": 1500, "height": 950},
            )
            contexts.append(context)
            page = context.pages[0] if context.pages else context.new_page()
            page.set_default_timeout(STEP_MS)
            return page

        try:
            yield open_page
        finally:
            for context in contexts:
                context.close()


@pytest.fixture
def browser_page(browser: Callable[..., Any]) -> Any:
    """A page in headless Chromium (Debian's, driven by Playwright)."""
    return browser()


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server for the tests of one module (see ``redis_server``)."""
    from tests.mockserver.conftest import redis_server

    with redis_server(tmp_path_factory.mktemp("redis")) as (url, _):
        yield url
