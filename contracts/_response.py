"""Checks of server replies: results, acknowledgements, getResponse items, chunks, errors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import openapi
from openapi import Catalog, Spec

from ._engine import engine_for
from ._json import JSONProblem, parse_json
from ._messages import to_violation
from ._request import RAW_TYPES
from ._schema._compile import RawError
from ._violation import Violation

__all__ = ["check_response", "reply_shape"]

_ACK_KEYS = frozenset({"taskType", "taskUUID"})


def reply_shape(item: Mapping[str, Any], *, spec: Spec | Catalog | None = None) -> str:
    """Which reply shape a ``data`` item of a reply claims to be, by its fields.

    Args:
        item: one item of a reply's ``data`` array (or one stream chunk).
        spec: the document naming the utility tasks; the bundled one by default.

    Returns:
        The name of the protocol supplement's definition (``openapi.protocol_schema()``,
        under ``$defs``) that judges such an item: ``"TextInferenceResult"``,
        ``"AsyncAcknowledgement"``, ``"GetResponseItem"``, ``"StreamChunk"``,
        ``"AuthenticationReply"`` or ``"PingReply"``.

    Example:
        >>> reply_shape({"taskType": "textInference", "taskUUID": "…", "status": "processing"})
        'GetResponseItem'
    """
    if isinstance(spec, Catalog):
        spec = spec.first
    return _shape(item, spec if spec is not None else openapi.load())


def _shape(item: Mapping[str, Any], spec: Spec) -> str:
    task_type = item.get("taskType")
    if task_type == spec.authentication_task_type:
        return "AuthenticationReply"
    if task_type == spec.ping_task_type:
        return "PingReply"
    if "delta" in item:
        return "StreamChunk"
    if "status" in item or "error" in item:
        return "GetResponseItem"
    if item.keys() <= _ACK_KEYS:
        return "AsyncAcknowledgement"
    return "TextInferenceResult"


def check_response(
    body: Any, *, request: Any = None, spec: Spec | Catalog | None = None
) -> list[Violation]:
    """Every way a server reply breaks the response contract (empty: it conforms).

    Args:
        body: a reply body — ``{"data": [...]}``, ``{"errors": [...]}``, or one stream chunk
            object (the JSON of an SSE ``data:`` line) — as a dict or raw JSON.
        request: the request it answers (list of tasks, or raw JSON), to check that replies
            match their tasks: known taskUUIDs, the same taskType, ``cost``/``usage`` when
            ``includeCost``/``includeUsage`` asked for them, ``numberResults`` items.
        spec: the document; the bundled one by default. Replies follow the protocol
            supplement, the same for every model: with a :class:`~openapi.Catalog`, the
            first document's ``ErrorResponse`` judges error bodies.
    """
    if isinstance(spec, Catalog):
        spec = spec.first
    spec = spec if spec is not None else openapi.load()
    engine = engine_for(spec)
    if isinstance(body, RAW_TYPES):
        try:
            body = parse_json(body)
        except JSONProblem as problem:
            return [
                Violation(
                    pointer="",
                    parameter="",
                    keyword="json",
                    code="invalidResponseBody",
                    message=problem.reason,
                )
            ]
    if isinstance(request, RAW_TYPES):
        try:
            request = parse_json(request)
        except JSONProblem:
            request = None
    if isinstance(body, Mapping) and "delta" in body:
        return _run(engine.protocol["StreamChunk"], body, ()) + _against_request(
            [body], request, ("",), chunks=True, spec=spec
        )
    if isinstance(body, Mapping) and "errors" in body and "data" in body:
        found = _run(engine.protocol["PartialEnvelope"], body, ())
        items = body["data"] if isinstance(body["data"], list) else []
        for index, item in enumerate(items):
            if isinstance(item, Mapping):
                found += _run(engine.protocol[_shape(item, spec)], item, ("data", index))
        return found + _against_request(items, request, ("data",), chunks=False, spec=spec)
    if isinstance(body, Mapping) and "errors" in body:
        found = _run(engine.error_response, body, ())
        return found or _run(engine.protocol["ErrorEnvelope"], body, ())
    if isinstance(body, Mapping) and "error" in body:
        return _run(engine.protocol["SingularErrorEnvelope"], body, ())
    found = _run(engine.protocol["DataEnvelope"], body, ())
    if found or not isinstance(body, Mapping):
        return found
    items = body["data"]
    for index, item in enumerate(items):
        if isinstance(item, Mapping):
            found += _run(engine.protocol[_shape(item, spec)], item, ("data", index))
    return found + _against_request(items, request, ("data",), chunks=False, spec=spec)


def _run(validate: Any, value: Any, root: tuple[Any, ...]) -> list[Violation]:
    errs: list[RawError] = []
    validate(value, root, errs)
    return [to_violation(raw).replace(code="invalidResponse") for raw in errs]


def _violation(pointer: str, parameter: str, keyword: str, message: str) -> Violation:
    return Violation(
        pointer=pointer,
        parameter=parameter,
        keyword=keyword,
        code="invalidResponse",
        message=message,
    )


def _against_request(
    items: Sequence[Any], request: Any, root: tuple[str, ...], *, chunks: bool, spec: Spec
) -> list[Violation]:
    if not isinstance(request, list | tuple):
        return []
    # Their replies carry no taskUUID to match (a poll's carry the polled task's).
    untracked = (spec.authentication_task_type, spec.ping_task_type)
    tasks = {
        t.get("taskUUID"): t
        for t in request
        if isinstance(t, Mapping) and t.get("taskType") not in untracked
    }
    found: list[Violation] = []
    results: dict[Any, list[Any]] = {}
    for index, item in enumerate(items):
        if not isinstance(item, Mapping) or item.get("taskType") in untracked:
            continue
        where = "/".join((*root, str(index))) if not chunks else ""
        pointer = f"/{where}" if where else ""
        param = f"data[{index}]" if not chunks else "chunk"
        task = tasks.get(item.get("taskUUID"))
        if task is None:
            found.append(
                _violation(
                    f"{pointer}/taskUUID",
                    f"{param}.taskUUID",
                    "x-taskUUID",
                    f"{param}.taskUUID {item.get('taskUUID')!r} answers no task of the request.",
                )
            )
            continue
        if task.get("taskType") == spec.poll_task_type:
            continue
        if item.get("taskType") != task.get("taskType"):
            found.append(
                _violation(
                    f"{pointer}/taskType",
                    f"{param}.taskType",
                    "x-taskType",
                    f"{param}.taskType is {item.get('taskType')!r} but the task "
                    f"it answers is {task.get('taskType')!r}.",
                )
            )
        final = not chunks or item.get("finishReason") is not None
        is_result = "text" in item or (chunks and final)
        if is_result and final:
            for flag, member in (("includeCost", "cost"), ("includeUsage", "usage")):
                if task.get(flag) is True and member not in item:
                    found.append(
                        _violation(
                            pointer,
                            param,
                            f"x-{flag}",
                            f"{param} has no {member} although the task set {flag}: true.",
                        )
                    )
        if "text" in item:
            results.setdefault(item.get("taskUUID"), []).append(item)
    for uuid, group in results.items():
        wanted = tasks[uuid].get("numberResults", 1)
        indices = sorted(i.get("resultIndex", 0) for i in group)
        if (
            isinstance(wanted, int)
            and len(group) == wanted
            and wanted > 1
            and indices != list(range(wanted))
        ):
            found.append(
                _violation(
                    "",
                    "",
                    "x-resultIndex",
                    f"the {wanted} results of task {uuid} carry resultIndex "
                    f"{indices}; expected 0..{wanted - 1}, one each.",
                )
            )
    return found
