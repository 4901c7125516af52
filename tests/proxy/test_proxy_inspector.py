"""The inspector in front of the proxy: who broke the contract, the client or the server."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import STEP_MS
from tests.mockserver.conftest import RunningServer
from tests.proxy.conftest import AUTH, DriftingUpstream, running_proxy, text_task


def test_the_inspector_tells_server_drift_from_a_clients_violation(
    browser_page: Any, drifting: tuple[DriftingUpstream, RunningServer]
) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=STEP_MS)
    _, upstream = drifting
    page = browser_page
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    with running_proxy(f"{upstream.url}/v1") as proxy:
        page.goto(f"{proxy.url}/__mock/")
        expect(page.locator("#connection")).to_have_text("live")
        with httpx.Client(base_url=proxy.url, headers=AUTH, timeout=10) as http:
            http.post("/v1", json=[text_task("drift:unknown-finish-reason")])
            http.post("/v1", json=[text_task(settings={"temperature": 9})])
        rows = page.locator("#journal tbody tr")
        expect(rows).to_have_count(2)
        client_fault, server_fault = rows.nth(0), rows.nth(1)  # newest first
        expect(server_fault.locator(".badge.valid")).to_have_text("valid")
        expect(server_fault.locator(".badge.drift")).to_have_text("server drift (1)")
        expect(server_fault.locator(".violation.drift")).to_contain_text("data[0].finishReason")
        expect(client_fault.locator(".violation")).to_contain_text("settings.temperature")
        assert client_fault.locator(".badge.drift").count() == 0
        server_fault.click()
        expect(page.locator("#detail-verdict")).to_contain_text("server, body")
    assert problems == []
