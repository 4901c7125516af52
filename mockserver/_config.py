"""The mock's configuration: a frozen object, from keyword arguments or a JSON/TOML file.

docs/config.md explains every key; examples/mock.toml lists them with their defaults.
File keys (all optional)::

    specs = ["qwen.openapi.json", "models/"]  # the OpenAPI documents, one per model: files
                                    # or directories of *.openapi.json (relative to this
                                    # file); default: the bundled document
    api_keys = ["key-1"]            # accepted keys; empty: any non-empty key
    seed = 42                       # makes the seeds the mock draws reproducible
    max_body_bytes = 10485760       # larger bodies get 413
    max_tasks = 1000                # so do requests with more tasks than this
    journal_size = 1000             # requests kept for /__mock/requests
    journal_bytes = 67108864        # ...and at most this many bytes of them in memory
    journal_entry_bytes = 262144    # a body over this is kept cut, with a marker
    max_header_bytes = 65536        # a bigger request line + headers: 431, connection closed
    header_timeout_s = 10           # a request head slower than this: 408, connection closed
    shutdown_timeout_s = 5          # on SIGTERM, requests still running after this are cut

    store = "redis://127.0.0.1:6379/0"  # shared async results/journal; default: memory
    processing_ms = 10              # how long a generation takes before its result is ready
    ttft_ms = 0                     # streams: delay before the first chunk
    tokens_per_second = 0           # streams: pacing; 0 sends as fast as possible
    result_ttl_s = 600              # how long async results can be polled
    session_buffer_s = 120          # WebSocket results kept for a resuming client
    idle_timeout_s = 120            # WebSocket closed after this long without a message
    webhook_allowlist = ["127.0.0.0/8", "::1/128", "localhost"]
    webhook_attempts = 5            # retries with exponential backoff from webhook_backoff_ms
    webhook_backoff_ms = 200
    webhook_max_pending = 1000      # deliveries under way at once; beyond: not attempted
    retry_after_s = 1               # Retry-After on 429/503 (default: none, as Runware)
    stream_keepalive_s = 15         # streams: a ": keep-alive" comment this often until the
                                    # first token (0: none)
    admin_token = "…"               # required on /__mock/* (header X-Runware-Mock-Token)
    allowed_hosts = ["mock.internal"]  # Host names besides loopback for /__mock/*

    [[faults]]                      # errors on demand (see mockserver/_faults.py)
    status = 503                    # or fault = "disconnect" / "error-frame" / "truncate" /
    times = 2                       # "stall" with after_chunks = 3; or delay_ms / latency
    match = "retry me"              # also regex, task_type, model, delivery_method,
                                    # probability, code, message, retry_after_s,
                                    # phase = "processing" (accepted, then fails),
                                    # envelope = "error" (singular pre-stream form)

    [api_key_profiles."broke-key"]  # every request with this key
    status = 402
    [api_key_profiles."busy-key"]
    rate_limit_per_second = 5       # a token bucket: 429 beyond it
    retry_after_s = 1               # ...with this Retry-After (default: none)
    burst = 5

    [pricing]                       # USD per token, for includeCost
    prompt_per_token = 0.0000006
    completion_per_token = 0.0000024

    [[replies]]                     # scripted replies; the first match wins
    match = "capital of France"     # substring of the last user message (or: regex = "...")
    text = "Paris."
    finish_reason = "stop"          # optional: reasoning, model, delivery_method, usage,
                                    # processing_ms, ttft_ms, tokens_per_second
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openapi import KitError

from ._pattern import Pattern, PatternError

__all__ = ["ConfigError", "MockConfig", "ReplyRule", "load_config"]


class ConfigError(KitError):
    """The mock's configuration is unusable; ``key`` names the offending setting."""

    def __init__(self, message: str, *, key: str = "") -> None:
        self.key = key
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class ReplyRule:
    """A scripted reply: when the last user message matches, answer with ``text``.

    ``match`` is a substring, ``regex`` a regular expression in RE2 syntax (searched in
    linear time, see ``mockserver._pattern``; a pattern RE2 cannot run is refused here);
    either, both or neither (then every request matches). ``model`` and ``delivery_method``
    narrow it.
    """

    text: str = ""
    match: str | None = None
    regex: str | None = None
    model: str | None = None
    delivery_method: str | None = None
    reasoning: str | None = None
    finish_reason: str | None = None
    usage: Mapping[str, int] | None = None
    processing_ms: int | None = None
    ttft_ms: int | None = None
    tokens_per_second: float | None = None
    json: Any = None  # a JSON value to reply with instead of text (a JSON-mode task)
    _compiled: Pattern | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.text, str):
            raise ConfigError(f"a reply's text must be a string, not {self.text!r}", key="text")
        if (self.json is None) == (self.text == ""):
            raise ConfigError(
                "a reply needs exactly one of text (prose) and json (a JSON "
                "value, for tasks that ask for JSON output)",
                key="text",
            )
        if self.regex is not None:
            if not isinstance(self.regex, str):
                raise ConfigError(
                    f"a reply's regex must be a string, not {self.regex!r}", key="regex"
                )
            try:
                object.__setattr__(self, "_compiled", Pattern(self.regex, field="reply regex"))
            except PatternError as exc:
                raise ConfigError(str(exc), key="regex") from exc

    def matches(self, message: str, *, model: str | None, delivery_method: str) -> bool:
        if self.model is not None and model != self.model:
            return False
        if self.delivery_method is not None and delivery_method != self.delivery_method:
            return False
        if self.match is not None and self.match not in message:
            return False
        return self._compiled is None or self._compiled.search(message)


_MAX_BODY = 10 * 1024 * 1024
_JOURNAL = 1000
_PROMPT_PRICE = 0.0000006
_COMPLETION_PRICE = 0.0000024
_ALLOWLIST = ("127.0.0.0/8", "::1/128", "localhost")


@dataclass(frozen=True, slots=True)
class MockConfig:
    """Everything the mock can be told; every field has a working default."""

    api_keys: tuple[str, ...] = ()
    # The documents to serve (files or directories; docs/catalog.md); empty: the bundled
    # one. `runware-kit serve --spec` replaces them, as create_app(spec=...) does.
    specs: tuple[str, ...] = ()
    seed: int | None = None
    max_body_bytes: int = _MAX_BODY
    max_tasks: int = 1000  # tasks in one request; more get 413, like a big body
    journal_size: int = _JOURNAL
    journal_bytes: int = 64 * 1024 * 1024  # the journal in memory, in bytes
    journal_entry_bytes: int = 256 * 1024  # a larger body is kept cut, with a marker
    prompt_price_per_token: float = _PROMPT_PRICE
    completion_price_per_token: float = _COMPLETION_PRICE
    replies: tuple[ReplyRule, ...] = ()
    store: str | None = None
    processing_ms: int = 10
    ttft_ms: int = 0
    tokens_per_second: float = 0
    result_ttl_s: float = 600
    session_buffer_s: float = 120
    idle_timeout_s: float = 120
    webhook_allowlist: tuple[str, ...] = _ALLOWLIST
    webhook_attempts: int = 5
    webhook_backoff_ms: int = 200
    webhook_max_pending: int = 1000  # deliveries under way at once; more are not attempted
    # Retry-After on 429/503 replies that set none of their own; None: no header, as
    # Runware documents none for inference (protocol reference, rate limits).
    retry_after_s: float | None = None
    stream_keepalive_s: float = 15  # ": keep-alive" comments while the first token waits
    faults: tuple[Mapping[str, Any], ...] = ()
    # Host names (besides loopback ones) accepted on /__mock/* — the DNS-rebinding guard;
    # "*" accepts any (the CLI sets it when bound to every address, with a token).
    allowed_hosts: tuple[str, ...] = ()
    admin_token: str | None = None  # required on /__mock/* when set
    admin_open: bool = True  # False: /__mock/* refused (non-loopback, no token)
    api_key_profiles: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # Transport limits (mockserver/_protocol.py, the uvicorn options in _uvicorn.py); WebSocket
    # frames are bounded by max_body_bytes, like REST bodies.
    max_header_bytes: int = 64 * 1024
    header_timeout_s: float = 10
    shutdown_timeout_s: float = 5

    def __post_init__(self) -> None:
        if self.admin_token is not None and not self.admin_token.strip():
            raise ConfigError(
                "admin_token is empty (an unset shell variable?): pass a "
                "non-empty token, or leave it out to keep the admin API on "
                "loopback only",
                key="admin_token",
            )

    def retry_after_headers(self) -> dict[str, str]:
        """The Retry-After header of a 429/503 that sets none of its own (often none)."""
        wait = self.retry_after_s
        return {} if wait is None else {"Retry-After": f"{wait:g}"}

    def replace(self, **changes: Any) -> MockConfig:
        """A copy with some fields changed (keyword names as in the constructor)."""
        fields = {name: getattr(self, name) for name in self.__slots__}
        unknown = set(changes) - set(fields)
        if unknown:
            raise ConfigError(f"unknown config field(s) {sorted(unknown)}", key=sorted(unknown)[0])
        fields.update(changes)
        return MockConfig(**fields)


_RULE_KEYS = {
    "text",
    "json",
    "match",
    "regex",
    "model",
    "delivery_method",
    "reasoning",
    "finish_reason",
    "usage",
    "processing_ms",
    "ttft_ms",
    "tokens_per_second",
}
_NUMBER_KEYS: dict[str, type | tuple[type, ...]] = {
    "processing_ms": int,
    "ttft_ms": int,
    "tokens_per_second": (int, float),
    "result_ttl_s": (int, float),
    "session_buffer_s": (int, float),
    "idle_timeout_s": (int, float),
    "webhook_attempts": int,
    "webhook_backoff_ms": int,
    "retry_after_s": (int, float),
    "stream_keepalive_s": (int, float),
    "webhook_max_pending": int,
    "max_tasks": int,
    "journal_bytes": int,
    "journal_entry_bytes": int,
    "max_header_bytes": int,
    "header_timeout_s": (int, float),
    "shutdown_timeout_s": (int, float),
}
_POSITIVE_KEYS = {"max_header_bytes", "header_timeout_s"}  # 0 would refuse every request
_TOP_KEYS = {
    "api_keys",
    "specs",
    "seed",
    "max_body_bytes",
    "journal_size",
    "pricing",
    "replies",
    "store",
    "webhook_allowlist",
    "faults",
    "api_key_profiles",
    "admin_token",
    "allowed_hosts",
    *_NUMBER_KEYS,
}


def _require(kind: type | tuple[type, ...], value: Any, key: str) -> Any:
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise ConfigError(
            f"{key} is {value!r}; it must be {getattr(kind, '__name__', kind)}", key=key
        )
    return value


def config_from_mapping(data: Mapping[str, Any]) -> MockConfig:
    """Build a config from parsed file contents, naming any key that is wrong."""
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise ConfigError(
            f"unknown config key(s) {sorted(unknown)}; known: {sorted(_TOP_KEYS)}",
            key=sorted(unknown)[0],
        )
    pricing = _require(dict, data.get("pricing", {}), "pricing")
    bad = set(pricing) - {"prompt_per_token", "completion_per_token"}
    if bad:
        raise ConfigError(f"unknown pricing key(s) {sorted(bad)}", key="pricing")
    rules = []
    for index, rule in enumerate(_require(list, data.get("replies", []), "replies")):
        rule = _require(dict, rule, f"replies[{index}]")
        extra = set(rule) - _RULE_KEYS
        if extra or ("text" not in rule and "json" not in rule):
            raise ConfigError(
                f"replies[{index}] needs 'text' (or 'json') and takes only "
                f"{sorted(_RULE_KEYS)}; got {sorted(rule)}",
                key=f"replies[{index}]",
            )
        rules.append(ReplyRule(**rule))
    keys = [
        _require(str, k, "api_keys[]") for k in _require(list, data.get("api_keys", []), "api_keys")
    ]
    specs = [_require(str, k, "specs[]") for k in _require(list, data.get("specs", []), "specs")]
    seed = data.get("seed")
    numbers = {
        key: _require(kind, data[key], key) for key, kind in _NUMBER_KEYS.items() if key in data
    }
    for key, value in numbers.items():
        if value < 0:
            raise ConfigError(f"{key} is {value}; it must not be negative", key=key)
    for key in sorted(_POSITIVE_KEYS & numbers.keys()):
        if not numbers[key]:
            raise ConfigError(
                f"{key} is 0; it must be above zero (0 would refuse every request)", key=key
            )
    allow = [
        _require(str, a, "webhook_allowlist[]")
        for a in _require(
            list, data.get("webhook_allowlist", list(_ALLOWLIST)), "webhook_allowlist"
        )
    ]
    store = data.get("store")
    faults = tuple(
        _require(dict, f, f"faults[{i}]")
        for i, f in enumerate(_require(list, data.get("faults", []), "faults"))
    )
    profiles = _require(dict, data.get("api_key_profiles", {}), "api_key_profiles")
    _check_faults(faults, profiles)
    token = data.get("admin_token")
    hosts = [
        _require(str, h, "allowed_hosts[]")
        for h in _require(list, data.get("allowed_hosts", []), "allowed_hosts")
    ]
    return MockConfig(
        allowed_hosts=tuple(hosts),
        faults=faults,
        api_key_profiles=profiles,
        admin_token=None if token is None else _require(str, token, "admin_token"),
        **numbers,
        store=None if store is None else _require(str, store, "store"),
        webhook_allowlist=tuple(allow),
        api_keys=tuple(keys),
        specs=tuple(specs),
        seed=None if seed is None else _require(int, seed, "seed"),
        max_body_bytes=_require(int, data.get("max_body_bytes", _MAX_BODY), "max_body_bytes"),
        journal_size=_require(int, data.get("journal_size", _JOURNAL), "journal_size"),
        prompt_price_per_token=float(
            _require(
                (int, float),
                pricing.get("prompt_per_token", _PROMPT_PRICE),
                "pricing.prompt_per_token",
            )
        ),
        completion_price_per_token=float(
            _require(
                (int, float),
                pricing.get("completion_per_token", _COMPLETION_PRICE),
                "pricing.completion_per_token",
            )
        ),
        replies=tuple(rules),
    )


def _check_faults(faults: tuple[Mapping[str, Any], ...], profiles: Mapping[str, Any]) -> None:
    from ._faults import FaultError, fault_from_mapping, profile_from_mapping

    for index, fault in enumerate(faults):
        try:
            fault_from_mapping(fault, label=f"faults[{index}]")
        except FaultError as exc:
            raise ConfigError(f"faults[{index}]: {exc}", key=f"faults[{index}]") from exc
    for key, profile in profiles.items():
        try:
            profile_from_mapping(key, profile)
        except FaultError as exc:
            raise ConfigError(f"api_key_profiles: {exc}", key="api_key_profiles") from exc


def load_config(path: str | Path) -> MockConfig:
    """Read a ``.json`` or ``.toml`` config file."""
    file = Path(path)
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read config {file}: {exc.strerror}") from exc
    try:
        data = tomllib.loads(raw.decode()) if file.suffix == ".toml" else json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        kind = "TOML" if file.suffix == ".toml" else "JSON"
        raise ConfigError(f"config {file} is not valid {kind}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"config {file} must hold an object/table at the top")
    config = config_from_mapping(data)
    if config.specs:  # relative to the file, as a user writes them next to it
        config = config.replace(specs=tuple(str(file.parent / spec) for spec in config.specs))
    return config
