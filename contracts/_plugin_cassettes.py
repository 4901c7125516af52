"""The plugin's cassettes: a test marked ``@pytest.mark.runware(cassette=...)`` talks to a
mock that replays its cassette, or to a proxy that records it, as ``--runware-record-mode``
says (vcrpy's modes: ``none``, ``once``, ``new_episodes``, ``all``; docs/proxy.md).

In ``none`` — the default, and what CI runs — the test's mock answers only from the
cassette: nothing leaves the machine, and a request the cassette does not hold fails the
test at teardown with the closest recording and where it differs. Like the rest of the
plugin, this imports ``mockserver`` only when a test uses it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

__all__ = [
    "MODES",
    "add_options",
    "app_factory",
    "cassette_path",
    "check_replay",
    "leaves_the_machine",
    "mode_of",
]

MODES = ("none", "once", "new_episodes", "all")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def add_options(group: Any) -> None:
    group.addoption(
        "--runware-record-mode",
        choices=MODES,
        default="none",
        help="tests with a cassette: none (replay only, nothing leaves the "
        "machine; the default), once (record what has no cassette yet), "
        "new_episodes (record what the cassette lacks), all (record anew)",
    )
    group.addoption(
        "--runware-upstream",
        metavar="URL",
        default=None,
        help="where recording tests' requests go (e.g. https://api.runware.ai/v1)",
    )
    group.addoption(
        "--runware-ws-upstream",
        metavar="URL",
        default=None,
        help="its WebSocket endpoint (default: --runware-upstream as ws(s)://)",
    )


def mode_of(config: pytest.Config) -> str:
    return str(config.getoption("--runware-record-mode") or "none")


def cassette_path(request: pytest.FixtureRequest, cassette: Any) -> Path:
    """Where a test's cassette lives: ``cassettes/<test module>/<name>.json`` next to the
    test file (``cassette=True``: the test's name); an absolute path as given."""
    if cassette is not True and not isinstance(cassette, str | os.PathLike):
        pytest.fail(
            f"@pytest.mark.runware(cassette={cassette!r}): pass True (a cassette "
            "named after the test) or a name",
            pytrace=False,
        )
    given = Path(cassette) if cassette is not True else None
    if given is not None and given.is_absolute():
        return given
    test_file = Path(str(request.node.path))
    name = _UNSAFE.sub("_", request.node.name) if given is None else str(given)
    if not name.endswith(".json"):
        name += ".json"
    return test_file.parent / "cassettes" / test_file.stem / name


def leaves_the_machine(mode: str, cassette: Path) -> bool:
    """Whether a test in ``mode`` with this cassette sends traffic to the upstream."""
    return mode in ("new_episodes", "all") or (mode == "once" and not cassette.exists())


def app_factory(
    request: pytest.FixtureRequest, cassette: Path, *, ignore: tuple[str, ...]
) -> tuple[Callable[..., Any], str | None]:
    """(what builds the test's app from its documents and config; the API key the test's
    client should send: the real one when recording, else None for the mock's).

    ========== =============================================================================
    none       the mock, answering from the cassette only; a miss fails the test
    once       no cassette yet: a proxy to the upstream that records it; else as ``none``
    new_episodes  recorded requests replayed; the others proxied, and added to the cassette
    all        a proxy to the upstream that records the cassette afresh
    ========== =============================================================================
    """
    config = request.config
    mode = mode_of(config)
    upstream = config.getoption("--runware-upstream")
    ws_upstream = config.getoption("--runware-ws-upstream")
    records = leaves_the_machine(mode, cassette)
    if not records and not cassette.exists():
        pytest.fail(
            f"the cassette {cassette} does not exist, and --runware-record-mode "
            f"{mode} only replays: record it once with --runware-record-mode once "
            "--runware-upstream URL (docs/proxy.md)",
            pytrace=False,
        )
    if records and upstream is None:
        pytest.fail(
            f"--runware-record-mode {mode} records {cassette}, but no upstream is "
            "set: pass --runware-upstream URL (e.g. https://api.runware.ai/v1)",
            pytrace=False,
        )

    def make(*, spec: Any, config: Any) -> Any:
        from mockserver import ConfigError, create_app, create_proxy_app, install_replay

        try:
            if not records:
                app = create_app(spec=spec, config=config)
                install_replay(app, cassettes=cassette, miss="error", ignore=ignore)
                return app
            app = create_proxy_app(
                target=upstream,
                ws_target=ws_upstream,
                spec=spec,
                config=config,
                record=cassette,
                append=mode == "new_episodes",
            )
            if mode == "new_episodes" and cassette.exists():
                install_replay(app, cassettes=cassette, miss="pass", ignore=ignore)
            return app
        except ConfigError as exc:
            pytest.fail(str(exc), pytrace=False)

    key = None
    if records:
        key = config.getoption("--runware-api-key") or os.environ.get("RUNWARE_API_KEY")
    return make, key


def check_replay(app: Any) -> None:
    """Fail the test if a request matched no recording of its cassette."""
    replayer = getattr(app.state, "replayer", None)
    if replayer is None or not replayer.misses:
        return
    proxy = getattr(app.state, "proxy", None)
    if proxy is not None:  # new_episodes: the misses were recorded, not failures
        return
    lines = "\n".join(f"  - {message}" for message in replayer.misses)
    pytest.fail(
        f"{len(replayer.misses)} request(s) matched no recording of the test's "
        f"cassette; record it (--runware-record-mode once/new_episodes "
        f"--runware-upstream URL):\n{lines}",
        pytrace=False,
    )
