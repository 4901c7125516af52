from __future__ import annotations

from pathlib import Path

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
