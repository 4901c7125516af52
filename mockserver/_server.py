"""The mock's behaviour, apart from HTTP: authenticate, validate, answer; keep a journal.

``MockServer`` is what ``app.state.mock`` holds. Tests and the pytest plugin drive it
directly (``reply()``, ``journal``, ``reset()``); the HTTP layer in ``_app`` only moves
bytes in and out.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from contracts import check_request
from openapi import Spec

from ._config import MockConfig, ReplyRule
from ._errors import error_body, error_item
from ._inference import SeedSource, generate
from ._journal import Journal

__all__ = ["MockServer", "Outcome"]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What to answer: a status, a JSON body and extra headers."""

    status: int
    body: Any
    headers: Mapping[str, str] | None = None
    violations: tuple[dict[str, Any], ...] = ()


class MockServer:
    """One emulated Runware endpoint for one document and one configuration."""

    def __init__(self, *, spec: Spec, config: MockConfig) -> None:
        self.spec = spec
        self.config = config
        self.journal = Journal(size=config.journal_size)
        self.started = time.time()
        self._seeds = SeedSource(config.seed)
        self._runtime_rules: list[ReplyRule] = []
        self._lock = threading.Lock()

    # -- the Python API ------------------------------------------------------------------

    def reply(self, *, text: str, match: str | None = None, regex: str | None = None,
              model: str | None = None, delivery_method: str | None = None,
              reasoning: str | None = None, finish_reason: str | None = None,
              usage: Mapping[str, int] | None = None) -> ReplyRule:
        """Script a reply; rules added here are tried before the config's, oldest first."""
        rule = ReplyRule(text=text, match=match, regex=regex, model=model,
                         delivery_method=delivery_method, reasoning=reasoning,
                         finish_reason=finish_reason, usage=usage)
        with self._lock:
            self._runtime_rules.append(rule)
        return rule

    @property
    def rules(self) -> tuple[ReplyRule, ...]:
        return (*self._runtime_rules, *self.config.replies)

    def reset(self) -> None:
        """Forget scripted replies added at run time and clear the journal."""
        with self._lock:
            self._runtime_rules.clear()
        self.journal.clear()

    # -- requests ------------------------------------------------------------------------

    def authenticate(self, header_key: str | None,
                     payload: Any) -> tuple[str | None, Outcome | None]:
        """The API key of a request, or the 401 to answer with."""
        key = header_key
        if key is None and isinstance(payload, list) and payload and \
                isinstance(payload[0], dict) and payload[0].get("taskType") == "authentication":
            found = payload[0].get("apiKey")
            key = found if isinstance(found, str) else None
        if not key:
            return None, Outcome(401, error_body(
                "missingApiKey", "No API key: send 'Authorization: Bearer <key>' or an "
                "authentication task first in the array.", parameter="apiKey",
                task_type="authentication"))
        if self.config.api_keys and key not in self.config.api_keys:
            return key, Outcome(401, error_body(
                "invalidApiKey", "Invalid API key: this mock accepts only the keys in its "
                "config (api_keys).", parameter="apiKey", task_type="authentication"))
        return key, None

    def run(self, payload: Any) -> Outcome:
        """Validate a parsed body and answer it (sync delivery)."""
        violations = check_request(payload, spec=self.spec, raw=False)
        if violations:
            errors = tuple(v.to_error() for v in violations)
            return Outcome(400, {"errors": list(errors)}, violations=errors)
        data: list[dict[str, Any]] = []
        for task in payload:
            task_type = task.get("taskType")
            if task_type == "authentication":
                continue
            if task_type == "ping":
                data.append({"taskType": "ping", "pong": True})
                continue
            if task_type not in self.spec.inference_task_types:
                return Outcome(400, {"errors": [error_item(
                    "unsupportedTaskType", f"taskType {task_type!r} is not emulated by this "
                    "mock over REST yet.", parameter="taskType", task_type=str(task_type),
                    task_uuid=task.get("taskUUID"))]})
            generations = generate(task, spec=self.spec, config=self.config, rules=self.rules,
                                   seeds=self._seeds)
            data.extend(g.item(task, config=self.config) for g in generations)
        return Outcome(200, {"data": data})
