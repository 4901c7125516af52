"""examples/mock.toml names every config key, each with a comment, and loads as it is."""

from __future__ import annotations

import re
from pathlib import Path

from mockserver import MockConfig, load_config
from mockserver._config import _TOP_KEYS

EXAMPLE = Path(__file__).parents[2] / "examples" / "mock.toml"
DOCS = Path(__file__).parents[2] / "docs" / "config.md"


def test_the_example_loads_and_keeps_the_defaults() -> None:
    config = load_config(EXAMPLE)
    defaults = MockConfig()
    for name in (
        "processing_ms",
        "journal_size",
        "max_body_bytes",
        "webhook_allowlist",
        "result_ttl_s",
        "stream_keepalive_s",
        "max_header_bytes",
    ):
        assert getattr(config, name) == getattr(defaults, name), name
    assert config.replies[0].text == "Paris."
    assert config.faults[0]["match"] == "please fail"
    assert set(config.api_key_profiles) == {"broke-key", "busy-key"}


def test_the_example_and_the_docs_name_every_key() -> None:
    text = EXAMPLE.read_text()
    docs = DOCS.read_text()
    for key in sorted(_TOP_KEYS):
        line = re.search(rf"^(# )?\[*\"?{key}\b.*$", text, re.MULTILINE)
        assert line, f"examples/mock.toml does not name {key}"
        # Each key's line says what it is for (a comment on it or right after it).
        assert "#" in line.group(0).lstrip("# ") or key in ("pricing",), line.group(0)
        assert f"`{key}`" in docs, f"docs/config.md does not explain {key}"
