"""The inspector page (``GET /__mock/``): served offline, safe with hostile bodies, and usable
in a real headless Chromium (Debian's ``chromium``, driven by Playwright)."""

from __future__ import annotations

import re
import shutil
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from mockserver import MockConfig, create_app
from mockserver._config import ReplyRule
from mockserver._inspector import inspector_routes
from tests.conftest import STEP_MS
from tests.mockserver.conftest import AUTH, RunningServer, text_task

SCREENSHOT_COPY = Path("/tmp/inspector.png")



def inspector_app(**config: Any) -> Starlette:
    """The mock with the inspector's routes (added here until ``create_app`` mounts them)."""
    app = create_app(config=MockConfig(**config))
    if not any(getattr(route, "path", None) == "/__mock/" for route in app.routes):
        app.router.routes.extend(inspector_routes(app.state.mock))
    return app


def client_for(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mock")


# -- over HTTP, in-process ----------------------------------------------------------------

@pytest.mark.anyio
async def test_page_and_assets_are_served_by_the_mock() -> None:
    async with client_for(inspector_app()) as http:
        page = await http.get("/__mock/")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        csp = page.headers["content-security-policy"]
        assert "default-src 'none'" in csp
        assert "script-src 'self'" in csp
        assets = re.findall(r'(?:href|src)="([^"]+)"', page.text)
        assert {"static/inspector.css", "static/inspector.js"} <= set(assets)
        bodies = [page.text]
        for asset in assets:
            if asset.startswith("data:"):
                continue
            served = await http.get(f"/__mock/{asset}")
            assert served.status_code == 200, asset
            kind = "text/css" if asset.endswith(".css") else "text/javascript"
            assert served.headers["content-type"].startswith(kind)
            bodies.append(served.text)
        for body in bodies:  # offline: nothing is fetched from anywhere but the mock
            assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", body, re.IGNORECASE)
            assert "innerHTML" not in body
            assert "outerHTML" not in body
        assert (await http.get("/__mock/static/nope.js")).status_code == 404
        assert (await http.get("/__mock/static/inspector.html")).status_code == 404
        bare = await http.get("/__mock?token=t%201")
        assert bare.status_code == 308
        assert bare.headers["location"] == "__mock/?token=t%201"  # relative: works under a prefix


@pytest.mark.anyio
async def test_page_behind_the_admin_token() -> None:
    """The page and its files hold no data: served without the token, which the page takes
    from the URL's fragment (never sent, never logged); every data endpoint needs it."""
    token = 'tok 1/"><script>alert(1)</script>'
    async with client_for(inspector_app(admin_token=token)) as http:
        page = await http.get("/__mock/")
        assert page.status_code == 200
        assets = re.findall(r'(?:href|src)="(static/[^"]+)"', page.text)
        assert sorted(assets) == ["static/inspector.css", "static/inspector.js"]
        for asset in assets:
            assert (await http.get(f"/__mock/{asset}")).status_code == 200
        for path in ("/__mock/config", "/__mock/requests", "/__mock/faults"):
            assert (await http.get(path)).status_code == 403
        reflected = await http.get("/__mock/", params={"token": token})
        assert "<script>alert" not in reflected.text
        assert "tok 1" not in reflected.text
        by_query = await http.get("/__mock/requests", params={"token": token})
        assert by_query.status_code == 200
        view = await http.get("/__mock/config", headers={"X-Runware-Mock-Token": token})
    assert view.json()["config"]["admin_token"] == "***"
    assert "tok 1" not in view.text
    assert view.json()["config"]["tokens_per_second"] == 0
    assert view.json()["config"]["prompt_price_per_token"] > 0


@pytest.mark.anyio
async def test_config_masks_keys_and_store_passwords() -> None:
    app = inspector_app(api_keys=("sk-live-secret-1234",), store=None,
                        replies=(ReplyRule(text="Paris.", match="France"),),
                        faults=({"status": 500, "times": 3, "match": "boom"},),
                        api_key_profiles={"broke-key-9999": {"status": 402}})
    mock = app.state.mock
    mock.reply(text="Rome.", match="Italy")
    mock.fail(status=503, times=2)
    async with client_for(app) as http:
        view = (await http.get("/__mock/config")).json()
    assert "sk-live-secret-1234" not in str(view)
    assert "broke-key-9999" not in str(view)
    assert view["config"]["api_keys"] == ["sk-l…34"]
    assert view["faults"]["keyProfiles"] == [{"apiKey": "brok…99", "status": 402}]
    assert view["faults"]["queued"][0]["status"] == 503
    assert view["faults"]["rules"][0]["times"] == 3
    assert [(r["origin"], r["text"]) for r in view["replies"]] == [("runtime", "Rome."),
                                                                    ("config", "Paris.")]
    assert view["document"]["modelId"] == "alibaba:qwen@3.5-397b"
    assert view["store"] == "MemoryStore"


@pytest.mark.anyio
async def test_config_hides_the_store_password(redis_url: str) -> None:
    with_password = redis_url.replace("redis://", "redis://:pw-123@", 1)
    app = inspector_app(store=with_password)
    async with client_for(app) as http:
        view = (await http.get("/__mock/config")).json()
        await app.state.mock.close()
    assert "pw-123" not in str(view)
    assert view["config"]["store"] == redis_url.replace("redis://", "redis://:***@", 1)
    assert view["store"] == "RedisStore"


def test_the_journal_the_page_polls_works_with_redis(redis_url: str) -> None:
    """The page only reads /__mock/requests: with a shared store, every worker's requests."""
    task = text_task(taskUUID=str(uuid.uuid4()))
    with RunningServer(inspector_app(store=redis_url)) as one, \
            RunningServer(inspector_app(store=redis_url)) as two:
        httpx.delete(f"{one.url}/__mock/requests")
        httpx.post(f"{one.url}/v1", json=[task], headers=AUTH)
        assert httpx.get(f"{two.url}/__mock/").status_code == 200
        seen = httpx.get(f"{two.url}/__mock/requests").json()["requests"]
        assert httpx.get(f"{two.url}/__mock/config").json()["store"] == "RedisStore"
    assert [e["tasks"][0]["taskUUID"] for e in seen] == [task["taskUUID"]]


# -- in a real browser --------------------------------------------------------------------

def test_inspector_in_a_browser(browser_page: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    page = browser_page
    expect.set_options(timeout=STEP_MS)
    valid = text_task(taskUUID=str(uuid.uuid4()), deliveryMethod="sync")
    invalid = text_task(taskUUID=str(uuid.uuid4()), settings={"temperature": 5})
    hostile = text_task(taskUUID=str(uuid.uuid4()), model="<b id=pwned>x</b>", messages=[
        {"role": "user", "content": "<img src=x onerror=\"document.title='pwned'\">"}])
    admin = {"X-Runware-Mock-Token": "tok-123"}
    with RunningServer(inspector_app(seed=1, admin_token="tok-123")) as server:
        seen: list[tuple[str, str, str | None]] = []
        page.on("request", lambda r: seen.append(
            (r.method, r.url, r.headers.get("x-runware-mock-token"))))
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))

        page.goto(f"{server.url}/__mock/#token=tok-123")
        expect(page.locator("#connection")).to_have_text("live")
        final_url = page.url
        expect(page.locator("#empty")).to_be_visible()

        # Requests arrive while the page is open: they appear, newest first.
        with httpx.Client(base_url=server.url, headers=AUTH, timeout=10) as http:
            assert http.post("/v1", json=[valid]).status_code == 200
            assert http.post("/v1", json=[hostile]).status_code == 400
            assert http.post("/v1", json=[invalid]).status_code == 400
        rows = page.locator("#journal tbody tr")
        expect(rows).to_have_count(3)
        expect(rows.nth(0)).to_contain_text(invalid["taskUUID"])
        expect(rows.nth(2)).to_contain_text(valid["taskUUID"])
        expect(rows.nth(2).locator(".badge.valid")).to_have_text("valid")
        expect(rows.nth(2).locator(".status")).to_have_text("200")
        expect(rows.nth(2)).to_contain_text("alibaba:qwen@3.5-397b")
        expect(rows.nth(0).locator(".violation")).to_contain_text("settings.temperature")
        expect(rows.nth(0).locator(".status")).to_have_class(re.compile(r"\bs4\b"))

        # Hostile values are shown as text and never run.
        expect(rows.nth(1)).to_contain_text("<b id=pwned>x</b>")
        assert page.locator("#pwned").count() == 0
        assert page.locator("#journal img, #detail img").count() == 0

        # Open the invalid one: its violation and both bodies, pretty-printed.
        rows.nth(0).click()
        detail = page.locator("#detail")
        expect(detail).to_be_visible()
        expect(page.locator("#detail-verdict")).to_contain_text("settings.temperature")
        request_text = page.locator("#detail-request").inner_text()
        assert '"temperature": 5' in request_text
        assert f'\n    "taskUUID": "{invalid["taskUUID"]}"' in request_text  # indented
        expect(page.locator("#detail-response")).to_contain_text('"errors": [')
        expect(rows.nth(0)).to_have_class(re.compile(r"\bselected\b"))
        page.locator("#journal tbody tr", has_text=hostile["taskUUID"]).click()
        expect(page.locator("#detail-request")).to_contain_text("onerror=")
        assert page.locator("#journal img, #detail img").count() == 0
        assert page.title() != "pwned"
        rows.nth(0).click()

        # Filters: verdict, status class, free text.
        page.select_option("#filter-verdict", "invalid")
        expect(rows).to_have_count(2)
        page.select_option("#filter-verdict", "valid")
        expect(rows).to_have_count(1)
        expect(rows.nth(0)).to_contain_text(valid["taskUUID"])
        page.select_option("#filter-verdict", "")
        page.select_option("#filter-status", "4")
        expect(rows).to_have_count(2)
        page.select_option("#filter-status", "")
        page.fill("#filter-text", invalid["taskUUID"][:13])
        expect(rows).to_have_count(1)
        page.fill("#filter-text", "why is the sky")  # message text, any case
        expect(rows).to_have_count(2)
        page.fill("#filter-text", "")
        page.select_option("#filter-verdict", "invalid")
        expect(rows).to_have_count(2)
        expect(page.locator("#count")).to_have_text("2 of 3 requests")

        # Queue a fault from the page; the mock has it, and it fires.
        page.select_option("#fault-status", "503")
        page.fill("#fault-times", "2")
        page.fill("#fault-code", "serviceUnavailable")
        page.click("#fault-queue")
        expect(page.locator("#fault-result")).to_contain_text("Queued: 503 serviceUnavailable")
        faults = httpx.get(f"{server.url}/__mock/faults", headers=admin).json()
        assert [(f["status"], f["times"], f["code"]) for f in faults["queued"]] == [
            (503, 2, "serviceUnavailable")]
        expect(page.locator("#config")).to_contain_text('"status": 503')
        with httpx.Client(base_url=server.url, headers=AUTH, timeout=10) as http:
            assert http.post("/v1", json=[text_task(taskUUID=str(uuid.uuid4()))]
                             ).status_code == 503
        page.select_option("#filter-verdict", "")
        expect(rows).to_have_count(4)
        expect(rows.nth(0).locator(".fault")).to_contain_text("503 serviceUnavailable")
        expect(page.locator("#config")).to_contain_text('"times": 1')  # counted down

        # The screenshot for review: the full journal, the invalid entry open.
        page.locator("#journal tbody tr", has_text=invalid["taskUUID"]).click()
        expect(page.locator("#detail-verdict")).to_contain_text("settings.temperature")
        shot = tmp_path / "inspector.png"
        page.screenshot(path=str(shot), full_page=True)
        shutil.copyfile(shot, SCREENSHOT_COPY)

        # Clear the journal from the page.
        page.click("#clear-journal")
        expect(rows).to_have_count(0)
        expect(detail).to_be_hidden()
        journal = httpx.get(f"{server.url}/__mock/requests", headers=admin).json()
        assert journal == {"requests": []}

        # Live: one more request shows up without touching the page.
        # (expect() waits for it, bounded by STEP_MS: a bound, not a speed requirement.)
        httpx.post(f"{server.url}/v1", json=[text_task(taskUUID=str(uuid.uuid4()))],
                   headers=AUTH)
        expect(rows).to_have_count(1)

    # The token never travelled in a URL (so no access log saw it), and left the address bar.
    assert not any("tok-123" in url for _, url, _ in seen), seen
    assert "tok-123" not in final_url
    # Nothing but the mock was asked for anything; every admin call carried the token.
    assert all(url.startswith((f"{server.url}/__mock/", "data:")) for _, url, _ in seen), seen
    api_calls = {(method, url.removeprefix(f"{server.url}/__mock/"), token)
                 for method, url, token in seen if "?" not in url and url.startswith("http")
                 and not url.endswith(("/__mock/", ".css", ".js"))}
    assert api_calls == {("GET", "requests", "tok-123"), ("GET", "config", "tok-123"),
                         ("POST", "faults", "tok-123"), ("DELETE", "requests", "tok-123")}
    assert problems == []
