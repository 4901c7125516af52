"""The inspector with several models loaded: it names them and filters the journal by model
(a real headless Chromium, as in test_inspector.py)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

import openapi
from mockserver import MockConfig, create_app
from tests._support import SECOND_DOCUMENT
from tests.conftest import STEP_MS
from tests.mockserver.conftest import AUTH, RunningServer, text_task

QWEN, MINIMAX = "alibaba:qwen@3.5-397b", "minimax:m2.7@0"


def test_the_model_filter(browser_page: Any) -> None:
    from playwright.sync_api import expect

    page = browser_page
    expect.set_options(timeout=STEP_MS)
    catalog = openapi.load_catalog(openapi.load(), SECOND_DOCUMENT)
    qwen, minimax = (text_task(taskUUID=str(uuid.uuid4()), model=m) for m in (QWEN, MINIMAX))
    mixed = [
        text_task(taskUUID=str(uuid.uuid4())),
        text_task(taskUUID=str(uuid.uuid4()), model=MINIMAX),
    ]
    unloaded = text_task(taskUUID=str(uuid.uuid4()), model="minimax:m2.7@1")
    with RunningServer(create_app(spec=catalog, config=MockConfig(processing_ms=0))) as server:
        problems: list[str] = []
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto(f"{server.url}/__mock/")
        expect(page.locator("#connection")).to_have_text("live")
        expect(page.locator("#document")).to_contain_text("2 models")
        expect(page.locator("#filter-model")).to_be_visible()
        with httpx.Client(base_url=server.url, headers=AUTH, timeout=10) as http:
            for body in ([qwen], [minimax], mixed, [unloaded]):
                http.post("/v1", json=body)
        rows = page.locator("#journal tbody tr")
        expect(rows).to_have_count(4)
        # A batch that mixes models names each once.
        expect(page.locator("#journal td", has_text=f"{QWEN}, {MINIMAX}")).to_have_count(1)

        page.select_option("#filter-model", MINIMAX)
        expect(rows).to_have_count(2)  # the MiniMax task, and the mixed batch
        expect(page.locator("#count")).to_have_text("2 of 4 requests")
        page.select_option("#filter-model", QWEN)
        expect(rows).to_have_count(2)
        page.select_option("#filter-model", "\u0000not-loaded")  # "not loaded"
        expect(rows).to_have_count(1)
        expect(rows.nth(0)).to_contain_text(unloaded["taskUUID"])
        expect(rows.nth(0).locator(".violation")).to_contain_text("model")
        page.select_option("#filter-model", "")
        expect(rows).to_have_count(4)
        assert problems == []


def test_one_model_shows_no_model_filter(browser_page: Any) -> None:
    from playwright.sync_api import expect

    page = browser_page
    expect.set_options(timeout=STEP_MS)
    with RunningServer(create_app(config=MockConfig(processing_ms=0))) as server:
        page.goto(f"{server.url}/__mock/")
        expect(page.locator("#document")).to_contain_text(QWEN)
        expect(page.locator("#filter-model")).to_be_hidden()
