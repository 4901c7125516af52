"""Fixtures of the contract suite: the target server, its key, and an HTTP client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runware-examples", type=int, default=10, metavar="N",
                     help="contracts.suite: drawn requests per property test (10)")


@pytest.fixture(scope="session")
def target(pytestconfig: pytest.Config) -> str:
    url = pytestconfig.getoption("--runware-target")
    if not url:
        pytest.skip("contracts.suite needs --runware-target URL (and --runware-api-key KEY)")
    return str(url)


@pytest.fixture(scope="session")
def client(target: str, pytestconfig: pytest.Config) -> Iterator[Any]:
    import httpx

    key = pytestconfig.getoption("--runware-api-key") or "contract-suite-key"
    with httpx.Client(base_url=target, timeout=60,
                      headers={"Authorization": f"Bearer {key}"}) as http:
        yield http


@pytest.fixture(scope="session")
def examples(pytestconfig: pytest.Config) -> int:
    return int(pytestconfig.getoption("--runware-examples"))
