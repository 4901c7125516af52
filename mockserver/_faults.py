"""Every error on demand, without changing client code.

Four triggers; when several apply to one request, the most specific wins:

1. the header ``X-Runware-Mock-Error: <status>[:<code>]`` — this request only;
2. faults queued at run time with ``POST /__mock/faults`` — the next matching requests;
3. fault rules in the config (``[[faults]]``) — matching requests, always, the first N
   times, or with probability p (seeded, so reproducible);
4. per-API-key profiles in the config (``[api_key_profiles.KEY]``) — every request with that
   key: a fixed error, a token-bucket rate limit (429 beyond it), latency.

A fault is an HTTP error (any documented status plus 413 and 504, with a realistic Runware
code; 429 and 503 carry ``Retry-After``), a delay, or a broken stream (``disconnect``,
``error-frame``, ``truncate``, ``stall`` after N chunks). Every fault that fires is named in
the journal with the trigger that fired it.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._journal import mask_key
from ._pattern import Pattern, PatternError

__all__ = ["DEFAULT_CODES", "Fault", "FaultBook", "FaultError", "KeyProfile", "Latency",
           "RequestFacts", "TokenBucket", "fault_from_mapping", "header_fault",
           "profile_from_mapping"]

HEADER = "x-runware-mock-error"
DEFAULT_CODES = {400: "invalidParameter", 401: "invalidApiKey", 402: "insufficientCredits",
                 403: "insufficientPermissions", 404: "notFound", 408: "timeout",
                 409: "conflictTaskUUID", 413: "payloadTooLarge", 429: "rateLimitExceeded",
                 500: "internalServerError", 502: "badGateway", 503: "serviceUnavailable",
                 504: "timeoutProvider"}
_MESSAGES = {
    "insufficientCredits": "Insufficient credits: top up your Runware balance.",
    "insufficientPermissions": "This API key lacks permission for this request.",
    "invalidApiKey": "Invalid API key.",
    "rateLimitExceeded": "Too many requests: slow down and retry after the Retry-After delay.",
    "internalServerError": "Something went wrong on Runware's end.",
    "serviceUnavailable": "Temporarily unavailable (maintenance or capacity); retry later.",
    "timeoutProvider": "The provider timed out.",
}
STREAM_FAULTS = ("disconnect", "error-frame", "truncate", "stall")


class FaultError(ValueError):
    """A fault description is wrong; the message names the field and the fix."""


@dataclass(frozen=True, slots=True)
class Latency:
    """A delay: fixed, uniform between two bounds, or normal (mean, deviation), in ms."""

    fixed_ms: float | None = None
    uniform_ms: tuple[float, float] | None = None
    normal_ms: tuple[float, float] | None = None

    def sample(self, rng: random.Random) -> float:
        """Seconds to wait."""
        if self.fixed_ms is not None:
            return self.fixed_ms / 1000
        if self.uniform_ms is not None:
            return rng.uniform(*self.uniform_ms) / 1000
        if self.normal_ms is not None:
            return max(0.0, rng.gauss(*self.normal_ms)) / 1000
        return 0.0


@dataclass(slots=True)
class Fault:
    """What to do to a request; ``status`` None means no error (a delay or a stream fault).

    ``times`` counts down as it fires (None: unlimited); ``probability`` is per request.
    """

    status: int | None = None
    code: str | None = None
    message: str | None = None
    latency: Latency | None = None
    kind: str | None = None          # a stream fault, one of STREAM_FAULTS
    after_chunks: int = 0
    stall_ms: float = 1000
    retry_after_s: float = 1
    times: int | None = None
    probability: float = 1.0
    match: str | None = None
    regex: str | None = None
    task_type: str | None = None
    model: str | None = None
    delivery_method: str | None = None
    label: str = ""
    _pattern: Pattern | None = field(default=None, repr=False)

    @property
    def error_code(self) -> str:
        return self.code or DEFAULT_CODES.get(self.status or 500, "internalServerError")

    @property
    def error_message(self) -> str:
        # Worded by code, not status: an error-frame fault mid-stream has no status, and must
        # read the same as the HTTP error of the same code.
        code = self.error_code
        return self.message or _MESSAGES.get(code, f"Injected error: {code}.")

    def headers(self) -> dict[str, str]:
        # Retry-After is what a careful client reads before retrying a 429 or 503.
        if self.status in (429, 503):
            return {"Retry-After": f"{self.retry_after_s:g}"}
        return {}

    def matches(self, request: RequestFacts) -> bool:
        for wanted, actual in ((self.task_type, request.task_type), (self.model, request.model),
                               (self.delivery_method, request.delivery_method)):
            if wanted is not None and wanted != actual:
                return False
        if self.match is not None and self.match not in request.message:
            return False
        return self._pattern is None or self._pattern.search(request.message)

    def describe(self) -> str:
        what = (f"{self.status} {self.error_code}" if self.status else
                self.kind or "latency")
        return f"{what} ({self.label})" if self.label else what

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "code": self.error_code if self.status else None,
                "fault": self.kind, "afterChunks": self.after_chunks, "times": self.times,
                "probability": self.probability, "match": self.match, "regex": self.regex,
                "taskType": self.task_type, "model": self.model,
                "deliveryMethod": self.delivery_method, "label": self.label}


@dataclass(frozen=True, slots=True)
class RequestFacts:
    """What fault matching looks at."""

    key: str | None
    task_type: str | None
    model: str | None
    delivery_method: str | None
    message: str


class TokenBucket:
    """A real token bucket: ``rate`` requests a second, bursts up to ``burst``."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, max(1.0, burst)
        self._tokens, self._stamp = self.burst, time.monotonic()
        self._lock = threading.Lock()

    def take(self) -> float:
        """0 if a request may pass now, else the seconds until one may."""
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            if self._tokens >= 1:
                self._tokens -= 1
                return 0.0
            return (1 - self._tokens) / self.rate


# Both spellings are accepted: camelCase in the admin API's JSON (as the Runware API writes
# its fields), snake_case in config files.
_ALIASES = {"delayMs": "delay_ms", "afterChunks": "after_chunks", "stallMs": "stall_ms",
            "retryAfterS": "retry_after_s", "taskType": "task_type",
            "deliveryMethod": "delivery_method", "fault": "kind", "latencyMs": "latency"}
_FIELDS = {"status", "code", "message", "delay_ms", "latency", "kind", "after_chunks",
           "stall_ms", "retry_after_s", "times", "probability", "match", "regex", "task_type",
           "model", "delivery_method"}


def _latency(value: Any) -> Latency:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Latency(fixed_ms=float(value))
    if not isinstance(value, Mapping):
        raise FaultError(f"latency is {value!r}; give {{'fixed_ms': 100}}, "
                         "{'uniform_ms': [50, 200]} or {'normal_ms': [100, 20]}")
    names = {str(k).replace("Ms", "_ms").lower(): v for k, v in value.items()}
    if set(names) - {"fixed_ms", "uniform_ms", "normal_ms"} or len(names) != 1:
        raise FaultError(f"latency {dict(value)!r} needs exactly one of fixed_ms, uniform_ms, "
                         "normal_ms")
    (kind, amount), = names.items()
    numbers = [amount] if kind == "fixed_ms" else amount
    if not (isinstance(numbers, list | tuple) and len(numbers) == (1 if kind == "fixed_ms" else 2)
            and all(isinstance(n, int | float) and not isinstance(n, bool) for n in numbers)):
        wanted = "a number" if kind == "fixed_ms" else "two numbers"
        raise FaultError(f"latency {kind} must be {wanted} of milliseconds, not {amount!r}")
    if kind == "fixed_ms":
        return Latency(fixed_ms=float(amount))
    pair = (float(numbers[0]), float(numbers[1]))
    return Latency(uniform_ms=pair) if kind == "uniform_ms" else Latency(normal_ms=pair)


def fault_from_mapping(data: Mapping[str, Any], *, label: str) -> Fault:
    """A fault from the admin API's JSON or a config table, every field checked."""
    if not isinstance(data, Mapping):
        raise FaultError(f"a fault is a JSON object, not {data!r}")
    fields = {_ALIASES.get(k, k): v for k, v in data.items()}
    unknown = set(fields) - _FIELDS
    if unknown:
        raise FaultError(f"unknown fault field(s) {sorted(unknown)}; known: status, code, "
                         "message, delayMs, latency, fault, afterChunks, stallMs, "
                         "retryAfterS, times, probability, match, regex, taskType, model, "
                         "deliveryMethod")
    status = fields.get("status")
    if status is not None and (not isinstance(status, int) or isinstance(status, bool)
                               or not 400 <= status <= 599):
        raise FaultError(f"status is {status!r}; give an HTTP error status from 400 to 599")
    kind = fields.get("kind")
    if kind is not None and kind not in STREAM_FAULTS:
        raise FaultError(f"fault is {kind!r}; stream faults are {', '.join(STREAM_FAULTS)}")
    if status is None and kind is None and "delay_ms" not in fields and "latency" not in fields:
        raise FaultError("a fault needs a status, a stream fault ('fault') or a delay "
                         "('delayMs' or 'latency')")
    code = fields.get("code")
    if code is not None and not isinstance(code, str):
        raise FaultError(f"code is {code!r}; give a Runware error code such as "
                         "'serviceUnavailable'")
    times = fields.get("times")
    if times is not None and (not isinstance(times, int) or isinstance(times, bool) or times < 1):
        raise FaultError(f"times is {times!r}; give a positive whole number (or leave it out "
                         "for every matching request)")
    probability = fields.get("probability", 1.0)
    if not isinstance(probability, int | float) or not 0 <= probability <= 1:
        raise FaultError(f"probability is {probability!r}; give a number from 0 to 1")
    for name in ("message", "match", "regex", "task_type", "model", "delivery_method"):
        if fields.get(name) is not None and not isinstance(fields[name], str):
            raise FaultError(f"{name} is {fields[name]!r}; give a string (or leave it out)")
    latency = None
    if "latency" in fields:
        latency = _latency(fields["latency"])
    elif "delay_ms" in fields:
        latency = _latency(fields["delay_ms"])
    pattern = None
    if fields.get("regex") is not None:
        try:
            pattern = Pattern(fields["regex"], field="regex")
        except PatternError as exc:
            raise FaultError(str(exc)) from exc
    try:
        return Fault(status=status, code=code, message=fields.get("message"), latency=latency,
                     kind=kind, after_chunks=int(fields.get("after_chunks", 0)),
                     stall_ms=float(fields.get("stall_ms", 1000)),
                     retry_after_s=float(fields.get("retry_after_s", 1)), times=times,
                     probability=float(probability), match=fields.get("match"),
                     regex=fields.get("regex"), task_type=fields.get("task_type"),
                     model=fields.get("model"), delivery_method=fields.get("delivery_method"),
                     label=label, _pattern=pattern)
    except (TypeError, ValueError) as exc:
        raise FaultError(f"a fault field has the wrong type: {exc}") from exc


def header_fault(value: str) -> Fault:
    """``X-Runware-Mock-Error: 503`` or ``503:serviceUnavailable``."""
    status_text, _, code = value.strip().partition(":")
    if not (status_text.strip().isascii() and status_text.strip().isdigit()):  # not "²"
        raise FaultError(f"X-Runware-Mock-Error is {value!r}; send '<status>[:<code>]', "
                         "e.g. '503' or '402:insufficientCredits'")
    return fault_from_mapping({"status": int(status_text), "code": code.strip() or None},
                              label="header X-Runware-Mock-Error")


@dataclass
class KeyProfile:
    """What always happens to one API key's requests."""

    fault: Fault | None = None
    bucket: TokenBucket | None = None
    latency: Latency | None = None


class FaultBook:
    """All triggers, and the choice among them for one request."""

    def __init__(self, *, rules: list[Fault], profiles: dict[str, KeyProfile],
                 seed: int | None) -> None:
        self.rules = rules
        self.profiles = profiles
        self.queue: list[Fault] = []
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> None:
        with self._lock:
            self.queue.append(fault)

    def clear(self) -> None:
        with self._lock:
            self.queue.clear()

    def _take(self, faults: list[Fault], request: RequestFacts, *, remove: bool) -> Fault | None:
        for fault in faults:
            if not fault.matches(request):
                continue
            if fault.probability < 1 and self._rng.random() >= fault.probability:
                continue
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0 and remove:
                    faults.remove(fault)
                elif fault.times < 0:
                    continue
            return fault
        return None

    def choose(self, request: RequestFacts, header: str | None) -> Fault | None:
        """The fault for this request, most specific trigger first (see the module doc)."""
        if header is not None:
            return header_fault(header)
        with self._lock:
            queued = self._take(self.queue, request, remove=True)
            if queued is not None:
                return queued
            rule = self._take(self.rules, request, remove=False)
        if rule is not None:
            return rule
        profile = self.profiles.get(request.key or "")
        if profile is None:
            return None
        if profile.fault is not None:
            return profile.fault
        if profile.bucket is not None:
            wait = profile.bucket.take()
            if wait:
                return Fault(status=429, retry_after_s=max(1, round(wait + 0.5)),
                             message=f"Rate limit of {profile.bucket.rate:g} requests a second "
                                     "exceeded for this key: retry after the Retry-After delay.",
                             label="api_key_profiles rate limit")
        if profile.latency is not None:
            return Fault(latency=profile.latency, label="api_key_profiles latency")
        return None

    def sample(self, latency: Latency) -> float:
        return latency.sample(self._rng)


def profile_from_mapping(key: str, data: Mapping[str, Any]) -> KeyProfile:
    """``[api_key_profiles.KEY]``: status/code, rate_limit_per_second + burst, latency.

    The key is named by its masked form (as the journal shows keys), in the fault's label and
    in every error message: labels reach the journal, ``/__mock/faults`` and the logs."""
    name = f"api_key_profiles[{mask_key(key) or ''!r}]"
    if not isinstance(data, Mapping):
        raise FaultError(f"{name} must be a table, not {data!r}")
    rest = dict(data)
    rate = rest.pop("rate_limit_per_second", None)
    burst = rest.pop("burst", None)
    latency = rest.pop("latency", None)
    fault = fault_from_mapping(rest, label=name) if rest else None
    if rate is not None and (not isinstance(rate, int | float) or rate <= 0):
        raise FaultError(f"{name}.rate_limit_per_second is {rate!r}; give a positive number")
    return KeyProfile(fault=fault,
                      bucket=TokenBucket(float(rate), float(burst or rate)) if rate else None,
                      latency=_latency(latency) if latency is not None else None)

