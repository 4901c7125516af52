"""Fixtures of the contract suite: the target server, its key, and an HTTP client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test that takes ``spec`` runs once per loaded model (``--runware-spec``, given
    once per document or as a directory): the target must keep every model's contract."""
    if "spec" in metafunc.fixturenames:
        from contracts.pytest_plugin import session_catalog

        catalog = session_catalog(metafunc.config)
        metafunc.parametrize(
            "spec", list(catalog), ids=[s.model_id for s in catalog], scope="session"
        )


@pytest.fixture(scope="session")
def catalog(pytestconfig: pytest.Config) -> Any:
    """Every loaded document (the plugin's ``runware_catalog``)."""
    from contracts.pytest_plugin import session_catalog

    return session_catalog(pytestconfig)


@pytest.fixture(scope="session")
def target(pytestconfig: pytest.Config) -> str:
    url = pytestconfig.getoption("--runware-target")
    if not url:
        pytest.skip("contracts.suite needs --runware-target URL (and --runware-api-key KEY)")
    _reachable(str(url))
    return str(url)


def _reachable(url: str) -> None:
    """One probe before any test: an unreachable target is one clear line, not a page of
    tracebacks per test. Any HTTP answer (a 401 included) means it is there."""
    import httpx

    try:
        httpx.post(url, json=[], timeout=10)
    except httpx.TransportError as exc:
        pytest.exit(
            f"contracts.suite: cannot reach --runware-target {url} "
            f"({type(exc).__name__}: {exc or 'no answer'}); is the server running, "
            "and is the URL right?",
            returncode=pytest.ExitCode.USAGE_ERROR,
        )


@pytest.fixture(scope="session")
def client(target: str, pytestconfig: pytest.Config) -> Iterator[Any]:
    import httpx

    key = pytestconfig.getoption("--runware-api-key") or "contract-suite-key"
    with httpx.Client(
        base_url=target, timeout=60, headers={"Authorization": f"Bearer {key}"}
    ) as http:
        yield http


@pytest.fixture(scope="session")
def examples(pytestconfig: pytest.Config) -> int:
    return int(pytestconfig.getoption("--runware-examples"))
