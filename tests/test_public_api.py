"""The public surface of each package is pinned: a change here is a change to users."""

from __future__ import annotations

import importlib
import importlib.metadata
import re
from pathlib import Path

import pytest

PUBLIC = {
    "openapi": [
        "BUNDLED_DOCUMENT",
        "Catalog",
        "KitError",
        "Parameter",
        "SecurityScheme",
        "Spec",
        "SpecError",
        "load",
        "load_catalog",
        "protocol_schema",
        "thaw",
    ],
    "contracts": [
        "ContractViolation",
        "JSONProblem",
        "Violation",
        "check_request",
        "check_response",
        "check_value",
        "parse_json",
        "precompile",
        "reply_shape",
        "validate_request",
    ],
    "contracts.strategies": [
        "RESPONSE_KINDS",
        "InvalidCase",
        "invalid_request_cases",
        "invalid_requests",
        "realistic_requests",
        "requests",
        "responses",
        "schema_values",
        "tasks",
    ],
    "mockserver": [
        "ConfigError",
        "FaultError",
        "MockConfig",
        "MockServer",
        "ReplyRule",
        "StoreUnavailable",
        "create_app",
        "create_proxy_app",
        "install_replay",
        "load_config",
        "main",
    ],
}


@pytest.mark.parametrize("package", sorted(PUBLIC))
def test_all_is_pinned_and_sorted(package: str) -> None:
    module = importlib.import_module(package)
    assert module.__all__ == PUBLIC[package]
    # isort's order: CONSTANTS, then Classes, then functions, each alphabetical.
    assert module.__all__ == sorted(
        module.__all__,
        key=lambda name: (0 if name.isupper() else 1 if name[0].isupper() else 2, name),
    )
    for name in module.__all__:
        assert hasattr(module, name)


@pytest.mark.parametrize("package", ["contracts", "mockserver", "openapi"])
def test_imported_package_is_this_projects(package: str) -> None:
    """PyPI's "openapi" and "contracts" are other projects: make sure we import ours."""
    module = importlib.import_module(package)
    owners = importlib.metadata.packages_distributions().get(package, [])
    assert set(owners) == {"runware-contract-kit"}, owners
    assert (Path(module.__file__).parent / "py.typed").exists()  # type: ignore[arg-type]


def test_one_error_root() -> None:
    import contracts
    import openapi

    assert issubclass(openapi.SpecError, openapi.KitError)
    assert issubclass(contracts.ContractViolation, openapi.KitError)


def test_the_error_tree_is_the_one_drawn() -> None:
    """The drawing in openapi/_errors.py is the tree: each drawn class is exported by the
    package named beside it and derives from KitError, and every exception class a package
    exports is drawn (no error of ours escapes the root)."""
    import openapi._errors

    drawn = dict(
        re.findall(
            r"^\s*(?:[├└]── )?(\w+)\s+\((\w+)\)", openapi._errors.__doc__ or "", re.MULTILINE
        )
    )
    assert drawn["KitError"] == "openapi"
    assert len(drawn) >= 7, drawn
    for name, package in drawn.items():
        cls = getattr(importlib.import_module(package), name)
        assert name in importlib.import_module(package).__all__, (package, name)
        assert issubclass(cls, openapi._errors.KitError), name
    exported = {
        name
        for package in PUBLIC
        for name in PUBLIC[package]
        if isinstance(cls := getattr(importlib.import_module(package), name), type)
        and issubclass(cls, BaseException)
    }
    assert exported == set(drawn), exported ^ set(drawn)
