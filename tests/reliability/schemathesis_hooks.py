"""Schemathesis hooks: teach the run the rules the document states only in prose.

Loaded with ``SCHEMATHESIS_HOOKS=tests.reliability.schemathesis_hooks``.

- A taskUUID is unique per task ("Must be unique per task", said in the description, which
  Schemathesis cannot know): every well-formed taskUUID is replaced by a fresh UUID v4, so
  ``conflictTaskUUID`` is never provoked by the generator reusing one.
- Where Schemathesis' generator and the document disagree — it judges ``multipleOf`` on
  binary floats — the case is judged by the kit's exact validator instead: a "positive" case
  that the document refuses, or a "negative" one it accepts, is not a test of the server.
  ``tests/reliability/test_schemathesis.py`` shows such cases and counts them.
- Streams: every Server-Sent Event of a ``text/event-stream`` reply is checked against the
  response contract (Schemathesis sees the stream as one string).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import schemathesis

from contracts import check_request, check_response
from contracts._schema._formats import FORMATS
from tests._support import sse_data

DISAGREEMENTS: list[dict[str, Any]] = []
# The mock's default max_body_bytes; larger bodies are a resource limit, not a contract test.
MAX_BODY = 10 * 1024 * 1024


def _rewrite(body: Any) -> Any:
    if not isinstance(body, list):
        return body
    out = []
    for task in body:
        if isinstance(task, dict):
            task = dict(task)
            if isinstance(task.get("taskUUID"), str) and FORMATS["uuid"](task["taskUUID"]):
                task["taskUUID"] = str(uuid.uuid4())
        out.append(task)
    return out


@schemathesis.hook
def before_call(context: Any, case: Any, **kwargs: Any) -> None:
    # before_call, not map_body: it runs for the cases of every phase, coverage included.
    case.body = _rewrite(case.body)


@schemathesis.hook
def filter_case(context: Any, case: Any) -> bool:
    """Keep only cases whose intended verdict the exact validator agrees with."""
    meta = getattr(case, "meta", None)
    components = getattr(meta, "components", None) or {}
    # Judge only what was generated for the body; a case made negative in its headers is a
    # test of the headers, whatever its body.
    body_info = next(
        (
            info
            for location, info in components.items()
            if str(getattr(location, "value", location)).lower() == "body"
        ),
        None,
    )
    mode = str(getattr(body_info, "mode", "")).lower()
    if body_info is None or not isinstance(case.body, list | dict):
        return True
    try:
        text = json.dumps(case.body)
        payload = json.loads(text)
    except (TypeError, ValueError):
        return True
    if len(text.encode()) > MAX_BODY:
        return False  # the mock's size limit answers these with 413, before any contract
    valid = check_request(payload, parsed=True) == []
    if "negative" in mode and valid:
        DISAGREEMENTS.append({"mode": "negative", "body": payload})
        return False
    if "positive" in mode and not valid:
        DISAGREEMENTS.append({"mode": "positive", "body": payload})
        return False
    return True


@schemathesis.check
def stream_events_conform(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every event of a stream reply conforms to the response contract."""
    if not response.headers.get("content-type", [""])[0].startswith("text/event-stream"):
        return None
    lines = sse_data(response.text)
    assert lines, "an event stream with no data events"
    assert lines[-1] == "[DONE]" or "errors" in lines[-1], (
        f"the stream did not end with [DONE]: {len(lines)} events, the last {lines[-1][:200]!r}"
        f", {len(response.text)} characters"
    )
    for line in lines[:-1] if lines[-1] == "[DONE]" else lines:
        chunk = json.loads(line)
        problems = check_response(chunk)
        assert not problems, f"stream event breaks the contract: {[str(p) for p in problems]}"
    return None
