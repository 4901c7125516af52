"""The proxy's two verdicts: on what a client sent, and on what the server answered.

A request is judged against the document (``contracts.check_request``): its violations are
the *client's* fault and go in a journal entry's ``violations``, as the mock's do. A reply —
a REST body, each Server-Sent Event, each WebSocket frame — is judged against the response
contract (``contracts.check_response``, the protocol supplement) and goes in ``drift``: the
*server's* fault, the live API no longer matching what the kit (and the SDKs) expect.

A drift item reads like a violation, with the JSON pointer into the reply and where the
reply was (``"body"``, ``"event 3"``, ``"frame"``)::

    {"code": "invalidResponse", "message": "data[0].finishReason is \\"galaxy\\"; …",
     "parameter": "data[0].finishReason", "pointer": "/data/0/finishReason", "where": "body"}

Besides what breaks the contract, a field the contract does not name is reported too
(``unknownResponseField``): the supplement lets result items carry fields it does not list
(models add their own), so such a field is no violation — but it is news about the API.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from contracts import (
    JSONProblem,
    Violation,
    check_request,
    check_response,
    parse_json,
    reply_shape,
)
from openapi import Catalog, Spec

from ._match import pointer_escape

__all__ = ["SSEParser", "judge_reply", "judge_request", "request_key"]

_KNOWN = "mockserver._drift.known"  # Spec.memo key: the fields each supplement shape names


def judge_request(raw: bytes | str, *, spec: Spec | Catalog) -> tuple[Any, list[dict[str, Any]]]:
    """(the parsed body, or None when it is not JSON; the client's violations, as the
    journal's ``errors`` items)."""
    try:
        payload = parse_json(raw)
    except JSONProblem as problem:
        return None, [
            {
                "code": "invalidRequestBody",
                "message": problem.reason,
                "documentation": "https://runware.ai/docs/platform/errors",
            }
        ]
    found = check_request(payload, spec=spec, parsed=True)
    return payload, [v.to_error() for v in found]


def request_key(headers: Mapping[bytes, bytes], payload: Any, *, auth_type: str) -> str | None:
    """The API key a request carries: its Bearer header, else an authentication task's
    (a task of ``auth_type``, the document's ``Spec.authentication_task_type``)."""
    scheme, _, key = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
    if scheme.lower() == "bearer" and key.strip():
        return key.strip()
    if isinstance(payload, list):
        for task in payload:
            if (
                isinstance(task, dict)
                and task.get("taskType") == auth_type
                and isinstance(task.get("apiKey"), str)
            ):
                return str(task["apiKey"])
    return None


def _item(violation: Violation, where: str) -> dict[str, Any]:
    return {
        "code": violation.code,
        "message": violation.message,
        "parameter": violation.parameter,
        "pointer": violation.pointer,
        "where": where,
    }


def judge_reply(
    body: Any, *, request: Any, spec: Spec | Catalog, where: str = "body"
) -> list[dict[str, Any]]:
    """Every way a reply (parsed JSON, or raw text that failed to parse) drifts from the
    response contract, and each field it carries that the contract does not name."""
    first = spec.first if isinstance(spec, Catalog) else spec
    found = [_item(v, where) for v in check_response(body, request=request, spec=first)]
    return found + _unknown_fields(body, first, where)


def _known_fields(spec: Spec) -> dict[str, frozenset[str] | None]:
    """For each open supplement shape, the fields it names (None: a closed shape, whose
    unknown fields check_response reports itself)."""
    known: dict[str, frozenset[str] | None] | None = spec.memo.get(_KNOWN)
    if known is not None:
        return known
    defs = spec.protocol.get("$defs", {})

    def names(schema: Any, seen: frozenset[str]) -> set[str]:
        if not isinstance(schema, Mapping):
            return set()
        found = set(schema.get("properties", {}))
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/") and ref not in seen:
            found |= names(defs.get(ref[len("#/$defs/") :]), seen | {ref})
        for combinator in ("oneOf", "anyOf", "allOf"):
            for branch in schema.get(combinator, ()):
                found |= names(branch, seen)
        return found

    known = {
        name: None
        if schema.get("additionalProperties") is False
        else frozenset(names(schema, frozenset()))
        for name, schema in defs.items()
        if isinstance(schema, Mapping)
    }
    spec.memo[_KNOWN] = known
    return known


def _unknown_fields(body: Any, spec: Spec, where: str) -> list[dict[str, Any]]:
    if not isinstance(body, Mapping):
        return []
    if "delta" in body:
        items: Sequence[tuple[str, str, Any]] = [("", "chunk", body)]
    elif isinstance(body.get("data"), list):
        items = [(f"/data/{i}", f"data[{i}]", item) for i, item in enumerate(body["data"])]
    else:
        return []
    known = _known_fields(spec)
    found = []
    for pointer, label, item in items:
        if not isinstance(item, Mapping):
            continue
        shape = reply_shape(item, spec=spec)
        names = known.get(shape)
        if names is None:
            continue
        for key in item:
            if key not in names:
                found.append(
                    {
                        "code": "unknownResponseField",
                        "message": f"{label}.{key} is a field the response contract does not "
                        f"name ({shape} knows {', '.join(sorted(names))}): the server "
                        "sends something new; add it to the protocol supplement once "
                        "it is understood.",
                        "parameter": f"{label}.{key}",
                        "pointer": f"{pointer}/{pointer_escape(key)}",
                        "where": where,
                    }
                )
    return found


class SSEParser:
    """Server-Sent Events, framed incrementally from the bytes of a stream as they arrive.

    The proxy passes every chunk on to its client before it reads it, so it cannot hand the
    response to an SSE library (they consume it); this is the framing of the standard's
    "event stream interpretation", enough for Runware's streams: events end at a blank line,
    ``data:`` lines join with newlines, ``:`` comments and other fields are kept as text."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, chunk: bytes) -> Iterator[tuple[str | None, str]]:
        """Each event completed by ``chunk``: (its data, or None if it has none; its text)."""
        self._buffer += chunk
        while True:
            # Whichever blank line comes first ends the event (\n\n, \r\n\r\n or mixed).
            ends = [
                (i, len(sep))
                for sep in (b"\n\n", b"\r\n\r\n", b"\r\r")
                if (i := self._buffer.find(sep)) >= 0
            ]
            if not ends:
                return
            index, size = min(ends)
            block, self._buffer = self._buffer[:index], self._buffer[index + size :]
            if block.strip():
                yield _event(block)

    def close(self) -> tuple[str | None, str] | None:
        """The last event, if the stream ended without the blank line that ends it."""
        block, self._buffer = self._buffer, b""
        return _event(block) if block.strip() else None


def _event(block: bytes) -> tuple[str | None, str]:
    text = block.decode("utf-8", "replace")
    data = [line[5:].removeprefix(" ") for line in text.splitlines() if line.startswith("data:")]
    return ("\n".join(data) if data else None), text
