"""Webhook delivery: one POST per result, retried with backoff, only to allowed targets.

The allowlist (default: loopback only) keeps the mock from being used to send requests into
a private network. Entries are IP networks (``"10.1.2.0/24"``), or host names compared
exactly (``"localhost"``, ``"hooks.test"``); a host name is never resolved to find out.

A target outside it is the mock's safety rule, not the document's: the task is accepted and
acknowledged exactly as Runware would, and the journal records each result's delivery as
not attempted, with the reason and how to allow the host. Only ``http`` and ``https``
targets are ever called.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx

__all__ = ["WebhookSender", "allowed_target", "refusal_reason"]

Record = Callable[..., Awaitable[Any]]


_SCHEMES = frozenset({"http", "https"})


def refusal_reason(url: str, allowlist: Sequence[str]) -> str | None:
    """Why the mock will not call ``url`` (judged from the URL alone), or None if it will."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        return (
            f"not attempted: the mock calls only http and https webhooks, and this one is "
            f"{scheme + '://' if scheme else 'not an absolute URL'}"
        )
    if not allowed_target(url, allowlist):
        host = parts.hostname or ""
        return (
            f"not attempted: host {host!r} is outside the mock's webhook_allowlist "
            "(default: loopback only); add the host or its network to webhook_allowlist "
            "in the mock's config to have the mock call it"
        )
    return None


def allowed_target(url: str, allowlist: Sequence[str]) -> bool:
    """Is ``url``'s host in the allowlist (an IP in a listed network, or a listed name)?"""
    host = (urlsplit(url).hostname or "").lower()
    if not host:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host in {entry.lower() for entry in allowlist}
    for entry in allowlist:
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


class WebhookSender:
    """Delivers results in the background; each attempt and failure goes to the journal.

    A delivery is one result's POST, with its retries. At most ``max_pending`` of them wait
    or run at once: one request may carry a thousand tasks of several results each, and
    without a cap every one of them holds a task, its results and soon a connection. A
    result beyond the cap is not delivered; the journal records it as not attempted as soon
    as it is scheduled, with the cap. :meth:`close` cancels every pending delivery.
    """

    def __init__(
        self,
        *,
        attempts: int,
        backoff_ms: int,
        record: Record,
        allowlist: Sequence[str],
        timeout_s: float = 5.0,
        max_pending: int = 1000,
    ) -> None:
        self._allowlist = tuple(allowlist)
        self._attempts = max(1, attempts)
        self._backoff = backoff_ms / 1000
        self._record = record
        self._timeout = timeout_s
        self.max_pending = max(0, max_pending)
        self._pending = 0  # results scheduled whose delivery has not ended
        self._tasks: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None

    @property
    def pending(self) -> int:
        """Deliveries scheduled and not yet ended (delivered, given up, or cancelled)."""
        return self._pending

    def schedule(self, url: str, items: Sequence[dict[str, Any]], *, ready_at: float) -> None:
        """Deliver each of ``items`` to ``url`` from ``ready_at`` on, each POSTed as
        ``{"data": [item]}``; never raises."""
        self.schedule_bodies(url, [{"data": [item]} for item in items], ready_at=ready_at)

    def schedule_bodies(
        self, url: str, bodies: Sequence[dict[str, Any]], *, ready_at: float
    ) -> None:
        """POST each of ``bodies`` as it is (a failure's ``{"errors": [...]}``)."""
        room = max(0, self.max_pending - self._pending)
        admitted, excess = bodies[:room], bodies[room:]
        if admitted:
            self._pending += len(admitted)
            self._spawn(self._deliver(url, admitted, ready_at))
        if excess:
            reason = (
                f"not attempted: the mock already has {self._pending} pending webhook "
                f"deliveries, its cap (webhook_max_pending = {self.max_pending} in the "
                "mock's config); raise the cap, or send fewer results with a webhookURL "
                "at a time"
            )
            self._spawn(self._refuse(url, excess, reason))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _refuse(self, url: str, bodies: Sequence[dict[str, Any]], reason: str) -> None:
        for body in bodies:
            await self._record(
                method="WEBHOOK",
                path=url,
                api_key=None,
                request=body,
                violations=[],
                status=0,
                response=None,
                started=time.perf_counter(),
                fault=reason,
            )

    async def _deliver(self, url: str, bodies: Sequence[dict[str, Any]], ready_at: float) -> None:
        left = len(bodies)
        try:
            await asyncio.sleep(max(0.0, ready_at - time.time()))
            reason = refusal_reason(url, self._allowlist)
            if reason is not None:  # recorded when the delivery would have been made
                await self._refuse(url, bodies, reason)
                return
            if self._client is None:
                self._client = httpx.AsyncClient(timeout=self._timeout, follow_redirects=False)
            for body in bodies:
                await self._post(url, body)
                left -= 1
                self._pending -= 1
        finally:  # also when cancelled: what was not delivered is no longer pending
            self._pending -= left

    async def _post(self, url: str, body: dict[str, Any]) -> None:
        assert self._client is not None
        delay = self._backoff
        for attempt in range(1, self._attempts + 1):
            started = time.perf_counter()
            status, failure = 0, None
            try:
                reply = await self._client.post(url, json=body)
                status = reply.status_code
                if not 200 <= status < 300:
                    failure = f"webhook answered {status}"
            except httpx.HTTPError as exc:
                failure = f"webhook unreachable: {type(exc).__name__}"
            last = attempt == self._attempts
            note = (
                None
                if failure is None
                else (
                    f"{failure} (attempt {attempt}/{self._attempts}"
                    + (", giving up)" if last else f", retrying in {delay:.2f} s)")
                )
            )
            await self._record(
                method="WEBHOOK",
                path=url,
                api_key=None,
                request=body,
                violations=[],
                status=status,
                response=None,
                started=started,
                fault=note,
            )
            if failure is None or last:
                return
            await asyncio.sleep(delay)
            delay *= 2

    async def close(self) -> None:
        """Cancel every pending delivery and journal write now, then close the client."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()
