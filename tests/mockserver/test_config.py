from __future__ import annotations

from pathlib import Path

import pytest

from mockserver import ConfigError, MockConfig, load_config
from openapi import KitError

TOML = """
api_keys = ["k1", "k2"]
seed = 7
max_body_bytes = 2048
journal_size = 10

[pricing]
prompt_per_token = 0.5
completion_per_token = 1

[[replies]]
match = "hello"
text = "Hi!"

[[replies]]
regex = "(?i)bye"
text = "Bye."
finish_reason = "length"
"""


def test_toml_and_json_files(tmp_path: Path) -> None:
    path = tmp_path / "mock.toml"
    path.write_text(TOML)
    config = load_config(path)
    assert config.api_keys == ("k1", "k2")
    assert (config.seed, config.max_body_bytes, config.journal_size) == (7, 2048, 10)
    assert (config.prompt_price_per_token, config.completion_price_per_token) == (0.5, 1.0)
    assert [r.text for r in config.replies] == ["Hi!", "Bye."]
    assert config.replies[1].matches("Goodbye", model=None, delivery_method="sync")
    json_path = tmp_path / "mock.json"
    json_path.write_text('{"replies": [{"match": "x", "text": "y"}]}')
    assert load_config(json_path).replies[0].text == "y"


def test_defaults_work() -> None:
    config = MockConfig()
    assert config.api_keys == ()
    assert config.max_body_bytes == 10 * 1024 * 1024


BAD = [
    pytest.param('{"apikeys": []}', "apikeys", id="misspelt-key"),
    pytest.param('{"api_keys": "k"}', "api_keys", id="keys-not-a-list"),
    pytest.param('{"seed": "x"}', "seed", id="seed-not-int"),
    pytest.param('{"replies": [{"match": "x"}]}', "replies[0]", id="reply-without-text"),
    pytest.param('{"replies": [{"text": "x", "when": "y"}]}', "replies[0]", id="reply-bad-key"),
    pytest.param('{"replies": [{"text": "x", "regex": "("}]}', "regex", id="bad-regex"),
    pytest.param('{"pricing": {"per_token": 1}}', "pricing", id="bad-pricing-key"),
    pytest.param("[1]", "", id="not-an-object"),
    pytest.param("{nope", "", id="not-json"),
]


@pytest.mark.parametrize(("text", "key"), BAD)
def test_bad_config_names_the_key(tmp_path: Path, text: str, key: str) -> None:
    path = tmp_path / "mock.json"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.key == key
    assert isinstance(caught.value, KitError)
    # The message names the key at fault, or the file when the whole file is wrong.
    assert (key or str(path)) in str(caught.value)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.toml")
