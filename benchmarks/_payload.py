"""The realistic request the sync benchmarks send: one ``textInference`` task, a three-turn
conversation about Canberra, with settings a user would set.

``bench_mock.py``, ``bench_proxy.py`` and ``bench_catalog.py`` POST :func:`sync_request` to
the servers; ``bench_validate.py`` checks a :func:`conversation` with more settings.
"""

from __future__ import annotations

import uuid
from typing import Any

__all__ = ["MESSAGES", "conversation", "sync_request"]

MESSAGES = (
    {"role": "user", "content": "What is the capital of Australia?"},
    {"role": "assistant", "content": "The capital of Australia is Canberra."},
    {"role": "user", "content": "Why was Canberra chosen over Sydney or Melbourne?"},
)


def conversation(model: str, *, settings: dict[str, Any], **fields: Any) -> list[dict[str, Any]]:
    """A one-task request for ``model`` with a fresh taskUUID: the conversation, then
    ``settings``, then ``fields`` in the order given."""
    return [
        {
            "taskType": "textInference",
            "taskUUID": str(uuid.uuid4()),
            "model": model,
            "messages": [dict(message) for message in MESSAGES],
            "settings": settings,
            **fields,
        }
    ]


def sync_request(model: str) -> list[dict[str, Any]]:
    """The load benchmarks' realistic, valid one-task request (no ``deliveryMethod``: the
    document's default, sync for the bundled one)."""
    return conversation(
        model,
        settings={"temperature": 0.57, "topP": 0.9, "maxTokens": 256, "stopSequences": ["\n\n"]},
        includeUsage=True,
    )
