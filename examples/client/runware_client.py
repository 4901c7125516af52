"""A small Runware text client on httpx: what a downstream project might write.

Its tests (``tests/``) use the kit's pytest plugin: ``runware_mock`` serves the API on a
loopback port and fails a test whose code sent a request that breaks the contract.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

DEFAULT_MODEL = "alibaba:qwen@3.5-397b"


class RunwareError(Exception):
    """The API refused a request; ``code`` and ``parameter`` come from its error body."""

    def __init__(self, status: int, error: dict[str, Any]) -> None:
        self.status = status
        self.code = error.get("code", "")
        self.parameter = error.get("parameter")
        super().__init__(f"{status} {self.code}: {error.get('message', '')}")


@dataclass(frozen=True)
class Completion:
    text: str
    finish_reason: str
    total_tokens: int | None


class TextClient:
    """Chat completions over Runware's REST API, with retries on 429 and 5xx."""

    def __init__(
        self,
        *,
        api_key: str,
        url: str = "https://api.runware.ai/v1",
        model: str = DEFAULT_MODEL,
        retries: int = 3,
        backoff_s: float = 0.05,
    ) -> None:
        self._http = httpx.Client(
            base_url=url, timeout=30, headers={"Authorization": f"Bearer {api_key}"}
        )
        self.model = model
        self.retries = retries
        self.backoff_s = backoff_s

    def complete(
        self, prompt: str, *, temperature: float | None = None, max_tokens: int | None = None
    ) -> Completion:
        settings: dict[str, Any] = {}
        if temperature is not None:
            settings["temperature"] = round(temperature, 2)
        if max_tokens is not None:
            settings["maxTokens"] = max_tokens
        task: dict[str, Any] = {
            "taskType": "textInference",
            "taskUUID": str(uuid.uuid4()),
            "model": self.model,
            "includeUsage": True,
            "messages": [{"role": "user", "content": prompt}],
        }
        if settings:
            task["settings"] = settings
        item = self._post([task])[0]
        return Completion(
            text=item["text"],
            finish_reason=item["finishReason"],
            total_tokens=(item.get("usage") or {}).get("totalTokens"),
        )

    def _post(self, body: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for attempt in range(self.retries + 1):
            reply = self._http.post("", json=body)
            if reply.status_code == 200:
                data: list[dict[str, Any]] = reply.json()["data"]
                return data
            retryable = reply.status_code == 429 or reply.status_code >= 500
            if not retryable or attempt == self.retries:
                raise RunwareError(reply.status_code, reply.json()["errors"][0])
            time.sleep(self.backoff_s * 2**attempt)
        raise AssertionError("unreachable")

    def close(self) -> None:
        self._http.close()
