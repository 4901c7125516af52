"""Every error on demand, without changing client code.

Four triggers; when several apply to one request, the most specific wins:

1. the header ``X-Runware-Mock-Error: <status>[:<code>]`` — this request only;
2. faults queued at run time with ``POST /__mock/faults`` — the next matching requests;
3. fault rules in the config (``[[faults]]``) — matching requests, always, the first N
   times, or with probability p (seeded, so reproducible);
4. per-API-key profiles in the config (``[api_key_profiles.KEY]``) — every request with that
   key: a fixed error, a token-bucket rate limit (429 beyond it), latency.

A fault is an HTTP error (any documented status plus 413 and 504, with a realistic Runware
code; ``Retry-After`` only when asked for), a delay, or a broken stream (``disconnect``,
``error-frame``, ``truncate``, ``stall`` after N chunks). Every fault that fires is named in
the journal with the trigger that fired it.
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from openapi import KitError

from ._error_bodies import error_item
from ._journal import mask_key
from ._pattern import Pattern, PatternError

__all__ = [
    "DEFAULT_CODES",
    "Fault",
    "FaultBook",
    "FaultError",
    "KeyProfile",
    "Latency",
    "RequestFacts",
    "TokenBucket",
    "fault_from_mapping",
    "header_fault",
    "profile_from_mapping",
]

DEFAULT_CODES = {
    400: "invalidParameter",
    401: "invalidApiKey",
    402: "insufficientCredits",
    403: "insufficientPermissions",
    404: "notFound",
    408: "timeout",
    409: "conflictTaskUUID",
    413: "payloadTooLarge",
    429: "rateLimitExceeded",
    500: "internalServerError",
    502: "badGateway",
    503: "serviceUnavailable",
    504: "timeoutProvider",
}
_MESSAGES = {
    "insufficientCredits": "Insufficient credits: top up your Runware balance.",
    "insufficientPermissions": "This API key lacks permission for this request.",
    "invalidApiKey": "Invalid API key.",
    "rateLimitExceeded": "Too many requests: slow down, and retry with a backoff.",
    "internalServerError": "Something went wrong on Runware's end.",
    "serviceUnavailable": "Temporarily unavailable (maintenance or capacity); retry later.",
    "timeoutProvider": "The provider timed out.",
}
STREAM_FAULTS = ("disconnect", "error-frame", "truncate", "stall")


class FaultError(KitError, ValueError):
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
    kind: str | None = None  # a stream fault, one of STREAM_FAULTS
    after_chunks: int = 0
    stall_ms: float = 1000
    retry_after_s: float | None = None  # a Retry-After header, only when asked for
    phase: str = "request"  # or "processing": the task is accepted, then fails
    envelope: str = "errors"  # or "error": the singular pre-stream form
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

    @property
    def error_status(self) -> int:
        """The HTTP status of this error: its own, or the one its code implies."""
        if self.status is not None:
            return self.status
        return next((s for s, c in DEFAULT_CODES.items() if c == self.code), 500)

    def headers(self, *, retry_after_s: float | None = None) -> dict[str, str]:
        """Runware documents no Retry-After for inference and the SDKs do not read it: the
        header goes out only when the fault (or the config's ``retry_after_s``) asks, so a
        client that relies on it cannot pass here and fail in production."""
        wait = self.retry_after_s if self.retry_after_s is not None else retry_after_s
        return {} if wait is None else {"Retry-After": f"{wait:g}"}

    def error(self, task: Mapping[str, Any]) -> dict[str, Any]:
        """This fault as the error item about one task."""
        return error_item(
            self.error_code,
            self.error_message,
            task_type=_text(task.get("taskType")),
            task_uuid=_text(task.get("taskUUID")),
        )

    def matches(self, request: RequestFacts) -> bool:
        for wanted, actual in (
            (self.task_type, request.task_type),
            (self.model, request.model),
            (self.delivery_method, request.delivery_method),
        ):
            if wanted is not None and wanted != actual:
                return False
        if self.match is not None and self.match not in request.message:
            return False
        return self._pattern is None or self._pattern.search(request.message)

    def describe(self) -> str:
        what = (
            self.kind
            if self.kind is not None
            else f"{self.error_status} {self.error_code}"
            if self.status or self.code
            else "latency"
        )
        if self.phase == "processing":
            what = f"{self.error_code} while processing"
        return f"{what} ({self.label})" if self.label else what

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "code": self.error_code if self.status else None,
            "fault": self.kind,
            "afterChunks": self.after_chunks,
            "times": self.times,
            "probability": self.probability,
            "match": self.match,
            "regex": self.regex,
            "taskType": self.task_type,
            "model": self.model,
            "deliveryMethod": self.delivery_method,
            "phase": self.phase,
            "retryAfterS": self.retry_after_s,
            "envelope": self.envelope,
            "label": self.label,
        }


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
_ALIASES = {
    "delayMs": "delay_ms",
    "afterChunks": "after_chunks",
    "stallMs": "stall_ms",
    "retryAfterS": "retry_after_s",
    "taskType": "task_type",
    "deliveryMethod": "delivery_method",
    "fault": "kind",
    "latencyMs": "latency",
}
_FIELDS = {
    "status",
    "code",
    "message",
    "delay_ms",
    "latency",
    "kind",
    "after_chunks",
    "stall_ms",
    "retry_after_s",
    "times",
    "probability",
    "match",
    "regex",
    "task_type",
    "model",
    "delivery_method",
    "phase",
    "envelope",
}
PHASES = ("request", "processing")
ENVELOPES = ("errors", "error")


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _latency(value: Any) -> Latency:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Latency(fixed_ms=float(value))
    if not isinstance(value, Mapping):
        raise FaultError(
            f"latency is {value!r}; give {{'fixed_ms': 100}}, "
            "{'uniform_ms': [50, 200]} or {'normal_ms': [100, 20]}"
        )
    names = {str(k).replace("Ms", "_ms").lower(): v for k, v in value.items()}
    if set(names) - {"fixed_ms", "uniform_ms", "normal_ms"} or len(names) != 1:
        raise FaultError(
            f"latency {dict(value)!r} needs exactly one of fixed_ms, uniform_ms, normal_ms"
        )
    ((kind, amount),) = names.items()
    numbers = [amount] if kind == "fixed_ms" else amount
    if not (
        isinstance(numbers, list | tuple)
        and len(numbers) == (1 if kind == "fixed_ms" else 2)
        and all(isinstance(n, int | float) and not isinstance(n, bool) for n in numbers)
    ):
        wanted = "a number" if kind == "fixed_ms" else "two numbers"
        raise FaultError(f"latency {kind} must be {wanted} of milliseconds, not {amount!r}")
    if kind == "fixed_ms":
        return Latency(fixed_ms=float(amount))
    pair = (float(numbers[0]), float(numbers[1]))
    return Latency(uniform_ms=pair) if kind == "uniform_ms" else Latency(normal_ms=pair)


def fault_from_mapping(data: Mapping[str, Any], *, label: str) -> Fault:
    """A fault from the admin API's JSON or a config table, every field checked."""
    fields = _fault_fields(data)
    status, kind = _checked_effect(fields)
    phase, envelope = _checked_phase_and_envelope(fields, status=status, kind=kind)
    retry_after = _checked_retry_after(fields)
    code = _checked_code(fields)
    times = _checked_times(fields)
    probability = _checked_probability(fields)
    _check_strings(fields)
    latency = _fault_latency(fields)
    pattern = _fault_pattern(fields)
    try:
        return Fault(
            status=status,
            code=code,
            message=fields.get("message"),
            latency=latency,
            kind=kind,
            after_chunks=int(fields.get("after_chunks", 0)),
            stall_ms=float(fields.get("stall_ms", 1000)),
            retry_after_s=None if retry_after is None else float(retry_after),
            phase=phase,
            envelope=envelope,
            times=times,
            probability=float(probability),
            match=fields.get("match"),
            regex=fields.get("regex"),
            task_type=fields.get("task_type"),
            model=fields.get("model"),
            delivery_method=fields.get("delivery_method"),
            label=label,
            _pattern=pattern,
        )
    except (TypeError, ValueError) as exc:
        raise FaultError(f"a fault field has the wrong type: {exc}") from exc


def _fault_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """A fault's fields under their Python names, none unknown."""
    if not isinstance(data, Mapping):
        raise FaultError(f"a fault is a JSON object, not {data!r}")
    fields = {_ALIASES.get(k, k): v for k, v in data.items()}
    unknown = set(fields) - _FIELDS
    if unknown:
        raise FaultError(
            f"unknown fault field(s) {sorted(unknown)}; known: status, code, "
            "message, delayMs, latency, fault, afterChunks, stallMs, "
            "retryAfterS, times, probability, match, regex, taskType, model, "
            "deliveryMethod, phase, envelope"
        )
    return fields


def _checked_effect(fields: Mapping[str, Any]) -> tuple[int | None, str | None]:
    """(status, stream fault) of a fault that does something: fails, breaks a stream or waits."""
    status: int | None = fields.get("status")
    if status is not None and (
        not isinstance(status, int) or isinstance(status, bool) or not 400 <= status <= 599
    ):
        raise FaultError(f"status is {status!r}; give an HTTP error status from 400 to 599")
    kind: str | None = fields.get("kind")
    if kind is not None and kind not in STREAM_FAULTS:
        raise FaultError(f"fault is {kind!r}; stream faults are {', '.join(STREAM_FAULTS)}")
    if (
        status is None
        and kind is None
        and fields.get("code") is None
        and "delay_ms" not in fields
        and "latency" not in fields
    ):
        raise FaultError(
            "a fault needs a status (or an error code), a stream fault ('fault') "
            "or a delay ('delayMs' or 'latency')"
        )
    return status, kind


def _checked_phase_and_envelope(
    fields: Mapping[str, Any], *, status: int | None, kind: str | None
) -> tuple[str, str]:
    phase: str = fields.get("phase", "request")
    if phase not in PHASES:
        raise FaultError(
            f"phase is {phase!r}; give 'request' (the call fails) or "
            "'processing' (the task is accepted, then fails)"
        )
    if phase == "processing" and (
        kind is not None or (status is None and fields.get("code") is None)
    ):
        raise FaultError(
            "a fault with phase 'processing' fails the task with an error: give "
            "it a status or a code (a stream fault is already mid-processing)"
        )
    envelope: str = fields.get("envelope", "errors")
    if envelope not in ENVELOPES:
        raise FaultError(
            f"envelope is {envelope!r}; give 'errors' ({{\"errors\": [...]}}) or "
            "'error' (the singular pre-stream form)"
        )
    return phase, envelope


def _checked_retry_after(fields: Mapping[str, Any]) -> float | None:
    retry_after: float | None = fields.get("retry_after_s")
    if retry_after is not None and (
        not isinstance(retry_after, int | float) or isinstance(retry_after, bool) or retry_after < 0
    ):
        raise FaultError(
            f"retryAfterS is {retry_after!r}; give seconds (or leave it out for "
            "no Retry-After header, as Runware sends none)"
        )
    return retry_after


def _checked_code(fields: Mapping[str, Any]) -> str | None:
    code: str | None = fields.get("code")
    if code is not None and not isinstance(code, str):
        raise FaultError(
            f"code is {code!r}; give a Runware error code such as 'serviceUnavailable'"
        )
    return code


def _checked_times(fields: Mapping[str, Any]) -> int | None:
    times: int | None = fields.get("times")
    if times is not None and (not isinstance(times, int) or isinstance(times, bool) or times < 1):
        raise FaultError(
            f"times is {times!r}; give a positive whole number (or leave it out "
            "for every matching request)"
        )
    return times


def _checked_probability(fields: Mapping[str, Any]) -> float:
    probability: float = fields.get("probability", 1.0)
    if not isinstance(probability, int | float) or not 0 <= probability <= 1:
        raise FaultError(f"probability is {probability!r}; give a number from 0 to 1")
    return probability


def _check_strings(fields: Mapping[str, Any]) -> None:
    for name in ("message", "match", "regex", "task_type", "model", "delivery_method"):
        if fields.get(name) is not None and not isinstance(fields[name], str):
            raise FaultError(f"{name} is {fields[name]!r}; give a string (or leave it out)")


def _fault_latency(fields: Mapping[str, Any]) -> Latency | None:
    if "latency" in fields:
        return _latency(fields["latency"])
    if "delay_ms" in fields:
        return _latency(fields["delay_ms"])
    return None


def _fault_pattern(fields: Mapping[str, Any]) -> Pattern | None:
    if fields.get("regex") is None:
        return None
    try:
        return Pattern(fields["regex"], field="regex")
    except PatternError as exc:
        raise FaultError(str(exc)) from exc


def header_fault(value: str) -> Fault:
    """``X-Runware-Mock-Error: 503`` or ``503:serviceUnavailable``."""
    status_text, _, code = value.strip().partition(":")
    if not (status_text.strip().isascii() and status_text.strip().isdigit()):  # not "²"
        raise FaultError(
            f"X-Runware-Mock-Error is {value!r}; send '<status>[:<code>]', "
            "e.g. '503' or '402:insufficientCredits'"
        )
    return fault_from_mapping(
        {"status": int(status_text), "code": code.strip() or None},
        label="header X-Runware-Mock-Error",
    )


@dataclass
class KeyProfile:
    """What always happens to one API key's requests."""

    fault: Fault | None = None
    bucket: TokenBucket | None = None
    latency: Latency | None = None
    retry_after_s: float | None = None  # Retry-After on the rate limit's 429, when asked


class SharedFaults(Protocol):
    """Where a shared store keeps what every worker must agree on (``RedisStore``)."""

    async def faults_version(self) -> int: ...
    async def faults_queued(self) -> list[str]: ...
    async def faults_add(self, entry: str) -> None: ...
    async def faults_remove(self, entry: str) -> None: ...
    async def faults_clear(self) -> None: ...
    async def count(self, name: str) -> int: ...
    async def bucket_take(self, name: str, rate: float, burst: float) -> float: ...


@dataclass(slots=True)
class _Queued:
    """A fault in the shared queue: its entry as stored, its id, and the fault."""

    entry: str
    id: str
    fault: Fault


class FaultBook:
    """All triggers, and the choice among them for one request.

    With a shared store (``shared``), the queue and the key profiles' token buckets live
    there: a fault queued on one worker fires on any, ``times`` counts firings across all of
    them, a ``probability`` draws from one shared, seeded sequence, and a key's rate limit
    holds for the whole fleet. Config rules are the same in every worker and count per
    worker."""

    def __init__(
        self,
        *,
        rules: list[Fault],
        profiles: dict[str, KeyProfile],
        seed: int | None,
        shared: SharedFaults | None = None,
    ) -> None:
        self.rules = rules
        self.profiles = profiles
        self.queue: list[Fault] = []
        self._rng = random.Random(seed)
        self._seed = seed
        self._lock = threading.Lock()
        self._shared = shared
        self._version = -1
        self._shared_queue: list[_Queued] = []

    @property
    def active(self) -> bool:
        """Could any fault fire? (Else a request skips fault matching entirely.)"""
        return self._shared is not None or bool(self.queue or self.rules or self.profiles)

    def add(self, fault: Fault) -> None:
        """Queue a fault in this process (a memory store: the only process)."""
        if self._shared is not None:
            raise FaultError(
                "this mock shares its faults through its store: queue them with "
                "POST /__mock/faults (or `await mock.queue_fault(...)`)"
            )
        with self._lock:
            self.queue.append(fault)

    async def enqueue(self, fault: Fault, fields: Mapping[str, Any]) -> None:
        """Queue a fault where every worker sees it (``fields``: what it was made from)."""
        if self._shared is None:
            self.add(fault)
            return
        await self._shared.faults_add(json.dumps({"id": uuid.uuid4().hex, "fault": dict(fields)}))

    def clear(self) -> None:
        with self._lock:
            self.queue.clear()

    async def clear_all(self) -> None:
        """Forget every queued fault, in every worker."""
        self.clear()
        if self._shared is not None:
            await self._shared.faults_clear()

    async def queued(self) -> list[Fault]:
        if self._shared is None:
            return list(self.queue)
        await self._refresh()
        return [q.fault for q in self._shared_queue]

    async def has_processing(self) -> bool:
        """Is any processing-phase fault queued or configured? (Else tasks skip the check.)"""
        queued = await self.queued() if self._shared is not None else self.queue
        return any(f.phase == "processing" for f in (*queued, *self.rules)) or any(
            p.fault is not None and p.fault.phase == "processing" for p in self.profiles.values()
        )

    async def _refresh(self) -> None:
        assert self._shared is not None
        version = await self._shared.faults_version()
        if version == self._version:
            return
        entries = await self._shared.faults_queued()
        loaded = []
        for entry in entries:
            data = json.loads(entry)
            loaded.append(
                _Queued(entry, data["id"], fault_from_mapping(data["fault"], label="queued"))
            )
        self._shared_queue, self._version = loaded, version

    def _take(
        self, faults: list[Fault], request: RequestFacts, *, remove: bool, phase: str
    ) -> Fault | None:
        for fault in faults:
            if fault.phase != phase or not fault.matches(request):
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

    async def _take_shared(self, request: RequestFacts, phase: str) -> Fault | None:
        shared = self._shared
        assert shared is not None
        await self._refresh()
        for queued in self._shared_queue:
            fault = queued.fault
            if fault.phase != phase or not fault.matches(request):
                continue
            if fault.probability < 1:
                draw = await shared.count(f"draw:{queued.id}")
                if random.Random(f"{self._seed}:{queued.id}:{draw}").random() >= fault.probability:
                    continue
            if fault.times is not None:
                fired = await shared.count(f"fired:{queued.id}")
                if fired > fault.times:
                    continue
                if fired == fault.times:  # its last firing: out of the queue, for everyone
                    await shared.faults_remove(queued.entry)
            return fault
        return None

    async def choose(
        self, request: RequestFacts, header: str | None, *, phase: str = "request"
    ) -> Fault | None:
        """The fault for this request (``phase`` "request") or for one of its tasks
        ("processing"), most specific trigger first (see the module doc)."""
        if header is not None:
            return header_fault(header) if phase == "request" else None
        if self._shared is not None:
            queued = await self._take_shared(request, phase)
            if queued is not None:
                return queued
        with self._lock:
            queued = self._take(self.queue, request, remove=True, phase=phase)
            if queued is not None:
                return queued
            rule = self._take(self.rules, request, remove=False, phase=phase)
        if rule is not None:
            return rule
        profile = self.profiles.get(request.key or "")
        if profile is None:
            return None
        if profile.fault is not None and profile.fault.phase == phase:
            return profile.fault
        if phase != "request":
            return None
        if profile.bucket is not None:
            bucket = profile.bucket
            wait = (
                bucket.take()
                if self._shared is None
                else await self._shared.bucket_take(
                    _digest(request.key or ""), bucket.rate, bucket.burst
                )
            )
            if wait:
                return Fault(
                    status=429,
                    retry_after_s=profile.retry_after_s,
                    message=f"Rate limit of {bucket.rate:g} requests a second "
                    "exceeded for this key: slow down, and retry with a backoff.",
                    label="api_key_profiles rate limit",
                )
        if profile.latency is not None:
            return Fault(latency=profile.latency, label="api_key_profiles latency")
        return None

    def sample(self, latency: Latency) -> float:
        return latency.sample(self._rng)


def _digest(key: str) -> str:
    """A key as the shared store names its bucket: never the key itself."""
    return hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()


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
    retry_after = rest.get("retry_after_s", rest.get("retryAfterS"))
    if rest.keys() <= {"retry_after_s", "retryAfterS"}:
        rest = {}  # only the rate limit's Retry-After: no fault of its own
    fault = fault_from_mapping(rest, label=name) if rest else None
    if retry_after is not None and (
        not isinstance(retry_after, int | float) or isinstance(retry_after, bool) or retry_after < 0
    ):
        raise FaultError(f"{name}.retry_after_s is {retry_after!r}; give seconds")
    if rate is not None and (not isinstance(rate, int | float) or rate <= 0):
        raise FaultError(f"{name}.rate_limit_per_second is {rate!r}; give a positive number")
    return KeyProfile(
        fault=fault,
        retry_after_s=None if retry_after is None else float(retry_after),
        bucket=TokenBucket(float(rate), float(burst or rate)) if rate else None,
        latency=_latency(latency) if latency is not None else None,
    )
