"""The mock's behaviour, apart from transport: authenticate, validate, answer each task.

``MockServer`` is what ``app.state.mock`` holds. The HTTP layer (``_app``,
``_rest_endpoint``) and the WebSocket layer (``_websocket``) only move bytes, and say which
:class:`Channel` a task's answer travels on; tests and the pytest plugin drive this object
directly (``reply()``, ``journal``, ``reset()``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import threading
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from contracts import check_request
from openapi import Catalog, Spec

from . import _exactjson as exactjson
from ._config import MockConfig, ReplyRule
from ._delivery import ack_item, broken_stream, new_record, poll_items, stream_events, timing
from ._error_bodies import error_body, error_item
from ._faults import (
    Fault,
    FaultBook,
    FaultError,
    RequestFacts,
    SharedFaults,
    fault_from_mapping,
    profile_from_mapping,
)
from ._inference import Generation, SeedSource, generate, last_user_message
from ._journal import Journal
from ._json_output import JsonOutputError
from ._store import Store, open_store
from ._webhook import WebhookSender

__all__ = ["REST", "REST_BATCH", "WEBSOCKET", "Channel", "MockServer", "Outcome", "TaskReply"]


@dataclass(frozen=True, slots=True)
class Channel:
    """How a task's answer travels back, as far as :meth:`MockServer.answer` must know it.

    ``streams`` says what becomes of a ``deliveryMethod: "stream"`` task: ``"stream"``, an
    event stream (a REST request of that one task); ``"sync"``, answered as a sync task
    (one reply body cannot be both an event stream and JSON: a task of a REST batch; the
    protocol reference is silent here, and refusing a request the document allows would be
    worse); ``"refuse"``, an error (streams are REST's, not the WebSocket's).

    ``defer``: an accepted async task's results are left in ``TaskReply.pending`` for the
    caller to keep (``run`` keeps them only once no other task of the request is refused).
    """

    name: str
    streams: Literal["stream", "sync", "refuse"]
    defer: bool


REST = Channel("REST", streams="stream", defer=True)  # a POST of one task
REST_BATCH = Channel("REST batch", streams="sync", defer=True)  # a task of a POST of several
WEBSOCKET = Channel("WebSocket", streams="refuse", defer=False)  # a task of a frame


@dataclass(slots=True)  # not frozen: one is built per request, and frozen init is slower
class Outcome:
    """What to answer over HTTP: a status and a JSON body, or a stream of SSE events."""

    status: int
    body: Any
    headers: Mapping[str, str] | None = None
    violations: tuple[dict[str, Any], ...] = ()
    events: AsyncIterator[str] | None = None
    fault: str | None = None  # the fault that fired, for the journal


@dataclass(slots=True)
class TaskReply:
    """One task's answer: data items, error items, or generations to stream."""

    items: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    stream: tuple[Mapping[str, Any], Sequence[Generation]] | None = None
    delay: float = 0.0  # seconds the generation takes (sync results wait for it)
    claimed: str | None = None  # a taskUUID this task reserved
    # An accepted async/webhook task's (task, record), kept only once its whole request is
    # accepted: a request refused as a whole leaves no results and sends no webhooks.
    pending: tuple[Mapping[str, Any], dict[str, Any]] | None = None
    ready_at: float | None = None  # a poll answered "processing": when the results are ready
    # The task was accepted and failed while it was generated (a processing-phase fault):
    # its error items, answered next to the other tasks' data. Not a refusal.
    failed: list[dict[str, Any]] = field(default_factory=list)
    stream_fault: Fault | None = None  # how its stream breaks (a processing failure)
    failure: Fault | None = None  # the processing-phase fault that failed it
    # What the mock's own scripts got wrong about this task (a JSON reply that does not fit
    # the request's jsonSchema): journaled as violations, though the client did no wrong.
    problems: Sequence[dict[str, Any]] = ()


def _owner(task: Mapping[str, Any], account: str) -> str:
    """A submission's fingerprint: the same task sent again by the same key (a retry) has
    the same one."""
    return hashlib.blake2b(
        exactjson.dumps(task, sort_keys=True) + account.encode(), digest_size=16
    ).hexdigest()


def account_of(key: str | None) -> str:
    """Whose tasks these are: a digest of the API key (the store never holds the key). A
    task's results, polls and WebSocket session belong to the key that created them, as
    they belong to a Runware account."""
    return (
        ""
        if not key
        else hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()
    )


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


class MockServer:
    """One emulated Runware endpoint for one catalogue of documents (one per model) and one
    configuration."""

    def __init__(
        self, *, spec: Spec | Catalog, config: MockConfig, store: Store | None = None
    ) -> None:
        # Every task is judged, generated and answered by the document of its model; the
        # first document (``spec``) by the tasks that name none (getResponse, ping).
        self.catalog = Catalog.of(spec)
        self.spec = self.catalog.first
        # The utility task types, as the protocol supplement names them (bound once: hot path).
        self._auth_type, self._poll_type, self._ping_type = self.spec.utility_task_types
        # The one object check_request takes: the Spec itself when it is alone, which is
        # the single-document path exactly.
        self._judge: Spec | Catalog = self.spec if len(self.catalog) == 1 else self.catalog
        self.config = config
        self.store = store if store is not None else open_store(config.store)
        self.journal = Journal(
            size=config.journal_size,
            store=self.store,
            max_bytes=config.journal_bytes,
            entry_bytes=config.journal_entry_bytes,
        )
        self.webhooks = WebhookSender(
            attempts=config.webhook_attempts,
            backoff_ms=config.webhook_backoff_ms,
            record=self.journal.record,
            allowlist=config.webhook_allowlist,
            max_pending=config.webhook_max_pending,
        )
        self.started = time.time()
        self._seeds = SeedSource(config.seed)
        self._draw_seed = self._seeds.draw
        # Read from the document once: answer() asks for them on every task.
        self._inference_types = frozenset(t for s in self.catalog for t in s.inference_task_types)
        self._default_delivery = str(self.spec.defaults.get("deliveryMethod", "sync"))
        self._delivery_by_model = {
            model: str(s.defaults.get("deliveryMethod", "sync"))
            for model in self.catalog.model_ids
            if (s := self.catalog.for_model(model)) is not None
        }
        self._runtime_rules: list[ReplyRule] = []
        self._processing_s = timing(config, (), "processing_ms")
        self._lock = threading.Lock()
        self.faults = FaultBook(
            rules=[
                fault_from_mapping(f, label=f"config faults[{i}]")
                for i, f in enumerate(config.faults)
            ],
            profiles={
                key: profile_from_mapping(key, p) for key, p in config.api_key_profiles.items()
            },
            seed=config.seed,
            shared=cast(SharedFaults, self.store) if self.store.shared else None,
        )

    # -- the Python API ------------------------------------------------------------------

    def reply(
        self,
        *,
        text: str = "",
        json: Any = None,
        match: str | None = None,
        regex: str | None = None,
        model: str | None = None,
        delivery_method: str | None = None,
        reasoning: str | None = None,
        finish_reason: str | None = None,
        usage: Mapping[str, int] | None = None,
        processing_ms: int | None = None,
        ttft_ms: int | None = None,
        tokens_per_second: float | None = None,
    ) -> ReplyRule:
        """Script a reply (``text``, or ``json`` for tasks that ask for JSON output); rules
        added here are tried before the config's, oldest first."""
        rule = ReplyRule(
            text=text,
            json=json,
            match=match,
            regex=regex,
            model=model,
            delivery_method=delivery_method,
            reasoning=reasoning,
            finish_reason=finish_reason,
            usage=usage,
            processing_ms=processing_ms,
            ttft_ms=ttft_ms,
            tokens_per_second=tokens_per_second,
        )
        with self._lock:
            self._runtime_rules.append(rule)
        return rule

    @property
    def rules(self) -> tuple[ReplyRule, ...]:
        runtime = self._runtime_rules
        return (*runtime, *self.config.replies) if runtime else self.config.replies

    def fail(self, **fault: Any) -> Fault:
        """Queue a fault for the next matching requests (``POST /__mock/faults`` fields,
        snake_case or camelCase): ``fail(status=503, times=2)``,
        ``fail(fault="disconnect", after_chunks=3)``."""
        queued = fault_from_mapping(fault, label="queued")
        self.faults.add(queued)
        return queued

    async def queue_fault(self, **fault: Any) -> Fault:
        """``fail()`` for any store: with a shared one, every worker sees the fault."""
        queued = fault_from_mapping(fault, label="queued")
        await self.faults.enqueue(queued, fault)
        return queued

    def forget_scripts(self) -> None:
        """Forget the replies and faults added at run time (the config's stay)."""
        with self._lock:
            self._runtime_rules.clear()
        self.faults.clear()

    async def reset(self) -> None:
        """Forget scripted replies and queued faults added at run time; clear the journal."""
        self.forget_scripts()
        await self.faults.clear_all()
        await self.journal.clear()

    def facts(self, payload: Any, key: str | None) -> RequestFacts:
        """What fault matching looks at: the request's first task."""
        task = (
            next(
                (
                    t
                    for t in payload
                    if isinstance(t, dict)
                    and t.get("taskType") not in (self._auth_type, self._ping_type)
                ),
                None,
            )
            if isinstance(payload, list)
            else None
        )
        if task is None:
            return RequestFacts(key, None, None, None, "")
        messages = task.get("messages")
        return RequestFacts(
            key=key,
            task_type=_str(task.get("taskType")),
            model=_str(task.get("model")),
            delivery_method=_str(task.get("deliveryMethod", self._default_for(task))),
            message=last_user_message(messages) if isinstance(messages, list) else "",
        )

    async def injected(
        self, payload: Any, key: str | None, header: str | None
    ) -> tuple[Outcome | None, Fault | None]:
        """The fault for a request: an error outcome to answer with, or a stream fault to
        apply (after any delay it asks for); (None, None) when nothing fires."""
        book = self.faults
        if header is None and not book.active:
            return None, None  # the common case: nothing to match, so nothing to compute
        try:
            fault = await self.faults.choose(self.facts(payload, key), header)
        except FaultError as exc:
            refusal = error_body("invalidParameter", str(exc), parameter="X-Runware-Mock-Error")
            return Outcome(400, refusal, violations=tuple(refusal["errors"])), None
        if fault is None:
            return None, None
        if fault.latency is not None:
            await asyncio.sleep(self.faults.sample(fault.latency))
        if fault.kind is not None or (fault.status is None and fault.code is None):
            return None, fault  # a stream fault, or only a delay
        task = (
            next((t for t in payload if isinstance(t, dict) and "taskUUID" in t), {})
            if isinstance(payload, list)
            else {}
        )
        error = fault.error(task)
        # The singular envelope is what a pre-stream HTTP error may use (reference §1).
        body: dict[str, Any] = (
            {"errors": [error]}
            if fault.envelope == "errors"
            else {"error": error, **{k: task[k] for k in ("taskUUID", "taskType") if k in task}}
        )
        return Outcome(
            fault.error_status,
            body,
            headers=fault.headers(retry_after_s=self.config.retry_after_s),
            fault=fault.describe(),
        ), fault

    async def processing_fault(self, task: Mapping[str, Any], key: str | None) -> Fault | None:
        """The processing-phase fault that fails this task, if any (each task of a batch is
        matched on its own, so a fault can fail some tasks and spare the rest)."""
        book = self.faults
        if (
            not book.active
            or task.get("taskType") not in self._inference_types
            or not await book.has_processing()
        ):
            return None
        messages = task.get("messages")
        facts = RequestFacts(
            key=key,
            task_type=_str(task.get("taskType")),
            model=_str(task.get("model")),
            delivery_method=self._delivery(task),
            message=last_user_message(messages) if isinstance(messages, list) else "",
        )
        return await book.choose(facts, None, phase="processing")

    async def close(self) -> None:
        await self.webhooks.close()
        await self.store.close()

    # -- requests ------------------------------------------------------------------------

    def authenticate(
        self, header_key: str | None, payload: Any
    ) -> tuple[str | None, Outcome | None]:
        """The API key of a request, or the 401 to answer with."""
        key = header_key
        if (
            key is None
            and isinstance(payload, list)
            and payload
            and isinstance(payload[0], dict)
            and payload[0].get("taskType") == self._auth_type
        ):
            found = payload[0].get("apiKey")
            key = found if isinstance(found, str) else None
        return key, self.check_key(key)

    def check_key(self, key: str | None) -> Outcome | None:
        if not key:
            return Outcome(
                401,
                error_body(
                    "missingApiKey",
                    "No API key: send 'Authorization: Bearer <key>' or an "
                    f"{self._auth_type} task first in the array.",
                    parameter="apiKey",
                    task_type=self._auth_type,
                ),
            )
        if self.config.api_keys and key not in self.config.api_keys:
            return Outcome(
                401,
                error_body(
                    "invalidApiKey",
                    "Invalid API key: this mock accepts only the keys in its config (api_keys).",
                    parameter="apiKey",
                    task_type=self._auth_type,
                ),
            )
        return None

    def violations(self, payload: Any) -> tuple[dict[str, Any], ...]:
        found = check_request(payload, spec=self._judge, parsed=True)
        return tuple(v.to_error() for v in found) if found else ()

    async def run(
        self, payload: Any, *, key: str | None = None, stream_fault: Fault | None = None
    ) -> Outcome:
        """Answer a parsed REST body: 400 for any violation, else every task's reply."""
        violations = self.violations(payload)
        if violations:
            return Outcome(400, {"errors": list(violations)}, violations=violations)
        tasks = payload  # less any authentication task (most requests have none)
        for task in payload:
            if task.get("taskType") == self._auth_type:
                tasks = [t for t in payload if t.get("taskType") != self._auth_type]
                break
        # A stream task sent with other tasks is answered like a sync one (see Channel).
        channel = REST if len(tasks) == 1 else REST_BATCH
        replies = []
        for task in tasks:
            # (processing_fault says None at once when no fault could fire, but not for free)
            failure = await self.processing_fault(task, key) if self.faults.active else None
            replies.append(await self.answer(task, key=key, channel=channel, failure=failure))
        if (
            len(replies) == 1
            and not replies[0].errors
            and replies[0].stream is None
            and stream_fault is None
            and replies[0].failure is None
        ):
            # The common case, one task: no merging needed.
            (reply,) = replies
            if reply.pending is not None:
                await self._keep(*reply.pending)
            if reply.delay:
                await asyncio.sleep(reply.delay)
            return Outcome(200, {"data": reply.items}, None, tuple(reply.problems))
        errors = [e for r in replies for e in r.errors]
        if errors:
            for reply in replies:  # refused as a whole: give back what was reserved
                if reply.claimed:
                    await self.store.release(reply.claimed)
            # Refused by the mock's rules (a reused taskUUID, an unknown task to poll): a
            # verdict on the request, so the journal does not call it valid.
            return Outcome(400, {"errors": errors}, violations=tuple(errors))
        for reply in replies:
            if reply.pending is not None:
                await self._keep(*reply.pending)
        for reply in replies:
            if reply.stream is not None:
                task, generations = reply.stream
                events = stream_events(task, generations, config=self.config)
                broken = reply.stream_fault or stream_fault
                if broken is not None and broken.kind is not None:
                    return Outcome(
                        200,
                        None,
                        fault=(reply.failure or broken).describe(),
                        events=broken_stream(events, broken, task),
                        violations=tuple(reply.problems),
                    )
                return Outcome(200, None, events=events, violations=tuple(reply.problems))
        delay = max((r.delay for r in replies), default=0.0)
        if delay:
            await asyncio.sleep(delay)
        data = [item for r in replies for item in r.items]
        failed = [e for r in replies for e in r.failed]
        fired = (
            "; ".join(dict.fromkeys(r.failure.describe() for r in replies if r.failure is not None))
            or None
        )
        problems = tuple(p for r in replies for p in r.problems)
        if not failed:  # (an async task's failure shows when it is polled)
            return Outcome(200, {"data": data}, fault=fired, violations=problems)
        if data:
            # Runware: "errors are scoped to the specific task that failed, while other tasks
            # in the same request may still succeed". A 2xx, because the SDKs raise on any
            # other status before reading a body's data (py-new transport/rest.py).
            return Outcome(200, {"data": data, "errors": failed}, fault=fired)
        first = next(r.failure for r in replies if r.failure is not None)
        return Outcome(
            first.error_status,
            {"errors": failed},
            fault=fired,
            headers=first.headers(retry_after_s=self.config.retry_after_s),
        )

    def spec_for(self, task: Mapping[str, Any]) -> Spec:
        """The document of a task's model (the first document for a task that names none)."""
        return self.catalog.for_model(task.get("model")) or self.spec

    def _default_for(self, task: Mapping[str, Any]) -> str:
        """The documented default deliveryMethod of the task's model."""
        model = task.get("model")
        found = self._delivery_by_model.get(model) if model.__class__ is str else None
        return self._default_delivery if found is None else found

    def _delivery(self, task: Mapping[str, Any]) -> str:
        method = task.get("deliveryMethod")
        return self._default_for(task) if method is None else str(method)

    async def answer(
        self,
        task: Mapping[str, Any],
        *,
        key: str | None = None,
        channel: Channel,
        failure: Fault | None = None,
    ) -> TaskReply:
        """One valid task's reply (the caller has validated it), shaped for the ``channel``
        it travels on (``REST``, ``REST_BATCH`` or ``WEBSOCKET``); ``failure``: the
        processing-phase fault that fails it."""
        task_type = task.get("taskType")
        if task_type == self._ping_type:
            return TaskReply(items=[{"taskType": task_type, "pong": True}])
        if task_type == self._poll_type:
            return await self._poll(task, account_of(key))
        if task_type not in self._inference_types:
            return TaskReply(
                errors=[
                    error_item(
                        "unsupportedTaskType",
                        f"taskType {task_type!r} is not emulated by this mock.",
                        parameter="taskType",
                        task_type=str(task_type),
                        task_uuid=task.get("taskUUID"),
                    )
                ]
            )
        method = task.get("deliveryMethod")  # (self._delivery(task), one call fewer)
        delivery = self._default_for(task) if method is None else str(method)
        # A webhookURL outside the allowlist is accepted as Runware would accept it; the
        # sender records its delivery as not attempted (see _webhook).
        webhook = task.get("webhookURL")
        try:
            generations = generate(
                task,
                # One document is every task's (spec_for would say so, at a call's cost).
                spec=self.spec if self._judge is self.spec else self.spec_for(task),
                config=self.config,
                rules=self.rules,
                seeds=self._draw_seed,
            )
        except JsonOutputError as exc:  # the task's jsonSchema cannot be answered
            return TaskReply(
                errors=[
                    error_item(
                        "invalidParameter",
                        str(exc),
                        parameter=exc.parameter,
                        task_type=str(task_type),
                        task_uuid=task.get("taskUUID"),
                    )
                ]
            )
        reply = await self._deliver(task, generations, delivery, webhook, key, channel, failure)
        for generation in generations:
            if generation.problem is not None:
                reply.problems = [g.problem for g in generations if g.problem is not None]
                break
        return reply

    async def _deliver(  # positional: called once per task, where keywords cost
        self,
        task: Mapping[str, Any],
        generations: Sequence[Generation],
        delivery: str,
        webhook: Any,
        key: str | None,
        channel: Channel,
        failure: Fault | None,
    ) -> TaskReply:
        """One accepted inference task's generations, shaped for its delivery method."""
        task_type = task.get("taskType")
        if delivery == "stream" and not webhook and channel.streams != "sync":
            if channel.streams == "refuse":
                return TaskReply(
                    errors=[
                        error_item(
                            "invalidParameter",
                            "Streaming is delivered over REST (Server-Sent "
                            "Events), not over the WebSocket: POST this task to /v1.",
                            parameter="deliveryMethod",
                            task_type=str(task_type),
                            task_uuid=task["taskUUID"],
                        )
                    ]
                )
            if failure is not None:  # the stream breaks with the error, as a backend's does
                broken = dataclasses.replace(
                    failure, kind="error-frame", status=None, phase="request"
                )
                return TaskReply(stream=(task, generations), stream_fault=broken, failure=failure)
            return TaskReply(stream=(task, generations))
        if delivery == "async" or webhook:
            reply = await self._accept(
                task, generations, account=account_of(key), defer=channel.defer, failure=failure
            )
            reply.failure = failure
            return reply
        # A rule's processing_ms, if one set it (timing), else the config's.
        delay = self._processing_s
        for generation in generations:
            if generation.rule is not None:
                delay = timing(self.config, generations, "processing_ms")
                break
        if failure is not None:
            return TaskReply(failed=[failure.error(task)], delay=delay, failure=failure)
        config = self.config
        if len(generations) == 1:  # (a comprehension is a call of its own)
            return TaskReply([generations[0].item(task, config=config)], delay=delay)
        return TaskReply([g.item(task, config=config) for g in generations], delay=delay)

    async def _accept(
        self,
        task: Mapping[str, Any],
        generations: Sequence[Generation],
        *,
        account: str,
        defer: bool,
        failure: Fault | None = None,
    ) -> TaskReply:
        uuid = str(task["taskUUID"])
        if not await self.store.claim(uuid, self.config.result_ttl_s, owner=_owner(task, account)):
            return TaskReply(
                errors=[
                    error_item(
                        "conflictTaskUUID",
                        f"taskUUID {uuid} was already used for another task; "
                        "send a new UUID v4 per task (poll the earlier one with "
                        f"{self._poll_type}).",
                        parameter="taskUUID",
                        task_type=str(task["taskType"]),
                        task_uuid=uuid,
                    )
                ]
            )
        record = new_record(task, generations, config=self.config)
        record["account"] = account
        if failure is not None:  # getResponse says "error" once it is "ready"
            record["failure"] = failure.error(task)
        if defer:
            return TaskReply(items=[ack_item(task)], claimed=uuid, pending=(task, record))
        await self._keep(task, record)
        return TaskReply(items=[ack_item(task)], claimed=uuid)

    async def _keep(self, task: Mapping[str, Any], record: dict[str, Any]) -> None:
        """Store an accepted task's results for getResponse; schedule its webhook."""
        await self.store.put_result(str(task["taskUUID"]), record, self.config.result_ttl_s)
        if isinstance(task.get("webhookURL"), str):
            if "failure" in record:  # the failure is delivered once, as an errors body
                self.webhooks.schedule_bodies(
                    task["webhookURL"],
                    [{"errors": [record["failure"]]}],
                    ready_at=record["readyAt"],
                )
            else:
                self.webhooks.schedule(
                    task["webhookURL"], record["items"], ready_at=record["readyAt"]
                )

    async def _poll(self, task: Mapping[str, Any], account: str) -> TaskReply:
        uuid = str(task["taskUUID"])
        record = await self.store.get_result(uuid)
        # Another key's task is as unknown to this one as a task never sent.
        if record is None or record.get("account", "") != account:
            return TaskReply(
                errors=[
                    error_item(
                        "taskNotFound",
                        f"No async task {uuid} is known: it was never accepted, or its "
                        f"results expired (kept {self.config.result_ttl_s:g} s). "
                        "Send the taskUUID of a task submitted with deliveryMethod 'async'.",
                        parameter="taskUUID",
                        task_type=self._poll_type,
                        task_uuid=uuid,
                    )
                ]
            )
        items = poll_items(record)
        pending = any(item.get("status") == "processing" for item in items)
        return TaskReply(items=items, ready_at=record["readyAt"] if pending else None)
