"""When is a request "the same" as a recorded one: tasks compared up to volatile fields.

A request matches a recording when its tasks equal the recorded tasks once the *ignored*
fields are removed from both (``taskUUID`` by default: every run sends new ones; add e.g.
``webhookURL`` or ``settings.seed`` when they change from run to run). ``apiKey`` is always
ignored (cassettes never hold it). A ``getResponse`` task is the exception: its taskUUID
names the task it polls, so it is compared as the *recorded* task it stands for (the alias a
previous match made), which is how a poll finds the recording of its own task.

When nothing matches, :func:`closest` names the recording that differs least and
:func:`first_difference` says where: a JSON pointer into the request, and both values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "DEFAULT_IGNORE",
    "closest",
    "distance",
    "first_difference",
    "normalized",
    "pointer_escape",
]

DEFAULT_IGNORE = ("taskUUID",)
_ALWAYS = ("apiKey",)


def _drop(task: dict[str, Any], dotted: str) -> None:
    head, _, rest = dotted.partition(".")
    if not rest:
        task.pop(head, None)
        return
    inner = task.get(head)
    if isinstance(inner, dict):
        inner = dict(inner)
        task[head] = inner
        _drop(inner, rest)


def normalized(
    payload: Any,
    *,
    poll_type: str,
    ignore: Sequence[str] = DEFAULT_IGNORE,
    aliases: Mapping[str, str] | None = None,
) -> Any:
    """The request as matching compares it: each task without the ``ignore``d fields
    (dotted paths reach into objects: ``settings.seed``), a poll's taskUUID (a task of
    ``poll_type``, the document's ``Spec.poll_task_type``) as the recorded task it polls
    (``aliases``: new taskUUID → recorded one)."""
    if not isinstance(payload, list):
        return payload
    out: list[Any] = []
    for task in payload:
        if not isinstance(task, dict):
            out.append(task)
            continue
        kept = dict(task)
        for name in (*_ALWAYS, *ignore):
            _drop(kept, name)
        if task.get("taskType") == poll_type and isinstance(task.get("taskUUID"), str):
            uuid = task["taskUUID"]
            kept["taskUUID"] = aliases.get(uuid, uuid) if aliases else uuid
        out.append(kept)
    return out


def pointer_escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def first_difference(recorded: Any, sent: Any, pointer: str = "") -> tuple[str, Any, Any] | None:
    """The first place two JSON values differ, as (JSON pointer, recorded, sent); a value
    missing on one side is ``...`` (Ellipsis). None when they are equal."""
    if isinstance(recorded, dict) and isinstance(sent, dict):
        for key in sorted(recorded.keys() | sent.keys()):
            found = first_difference(
                recorded.get(key, ...), sent.get(key, ...), f"{pointer}/{pointer_escape(key)}"
            )
            if found is not None:
                return found
        return None
    if isinstance(recorded, list) and isinstance(sent, list):
        for index in range(max(len(recorded), len(sent))):
            found = first_difference(
                recorded[index] if index < len(recorded) else ...,
                sent[index] if index < len(sent) else ...,
                f"{pointer}/{index}",
            )
            if found is not None:
                return found
        return None
    # type() too: JSON's true is not its 1, though Python's True == 1.
    if type(recorded) is type(sent) and recorded == sent:
        return None
    return pointer, recorded, sent


def distance(a: Any, b: Any) -> int:
    """How many leaves differ between two JSON values (a missing subtree counts its
    leaves): small for a near miss, large for another request altogether."""
    if isinstance(a, dict) and isinstance(b, dict):
        return sum(distance(a.get(k, ...), b.get(k, ...)) for k in a.keys() | b.keys())
    if isinstance(a, list) and isinstance(b, list):
        return sum(
            distance(a[i] if i < len(a) else ..., b[i] if i < len(b) else ...)
            for i in range(max(len(a), len(b)))
        )
    if a is ...:
        return _leaves(b)
    if b is ...:
        return _leaves(a)
    return 0 if type(a) is type(b) and a == b else max(_leaves(a), _leaves(b))


def _leaves(value: Any) -> int:
    if isinstance(value, dict):
        return sum(_leaves(v) for v in value.values()) or 1
    if isinstance(value, list):
        return sum(_leaves(v) for v in value) or 1
    return 1


def closest(sent: Any, recorded: Sequence[Any]) -> int | None:
    """The index of the recorded (normalized) request nearest ``sent``; None if none."""
    if not recorded:
        return None
    return min(range(len(recorded)), key=lambda i: distance(recorded[i], sent))
