"""The inspector page (``GET /__mock/``): served offline, safe with hostile bodies, and usable
in a real headless Chromium (Debian's ``chromium``, driven by Playwright)."""

from __future__ import annotations

import itertools
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
from tests._support import asgi_client
from tests.conftest import STEP_MS
from tests.mockserver.conftest import AUTH, RunningServer, text_task

SCREENSHOT_COPY = Path("/tmp/inspector.png")


def inspector_app(**config: Any) -> Starlette:
    """The mock with the inspector's routes (added here until ``create_app`` mounts them)."""
    app = create_app(config=MockConfig(**config))
    if not any(getattr(route, "path", None) == "/__mock/" for route in app.routes):
        app.router.routes.extend(inspector_routes(app.state.mock))
    return app


# -- over HTTP, in-process ----------------------------------------------------------------


@pytest.mark.anyio
async def test_page_and_assets_are_served_by_the_mock() -> None:
    async with asgi_client(inspector_app()) as http:
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
    async with asgi_client(inspector_app(admin_token=token)) as http:
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
    app = inspector_app(
        api_keys=("sk-live-secret-1234",),
        store=None,
        replies=(ReplyRule(text="Paris.", match="France"),),
        faults=({"status": 500, "times": 3, "match": "boom"},),
        api_key_profiles={"broke-key-9999": {"status": 402}},
    )
    mock = app.state.mock
    mock.reply(text="Rome.", match="Italy")
    mock.fail(status=503, times=2)
    async with asgi_client(app) as http:
        view = (await http.get("/__mock/config")).json()
    assert "sk-live-secret-1234" not in str(view)
    assert "broke-key-9999" not in str(view)
    assert view["config"]["api_keys"] == ["sk-l…34"]
    assert view["faults"]["keyProfiles"] == [{"apiKey": "brok…99", "status": 402}]
    assert view["faults"]["queued"][0]["status"] == 503
    assert view["faults"]["rules"][0]["times"] == 3
    assert [(r["origin"], r["text"]) for r in view["replies"]] == [
        ("runtime", "Rome."),
        ("config", "Paris."),
    ]
    assert view["document"]["modelId"] == "alibaba:qwen@3.5-397b"
    assert view["store"] == "MemoryStore"


@pytest.mark.anyio
async def test_config_hides_the_store_password(redis_url: str) -> None:
    with_password = redis_url.replace("redis://", "redis://:pw-123@", 1)
    app = inspector_app(store=with_password)
    async with asgi_client(app) as http:
        view = (await http.get("/__mock/config")).json()
        await app.state.mock.close()
    assert "pw-123" not in str(view)
    assert view["config"]["store"] == redis_url.replace("redis://", "redis://:***@", 1)
    assert view["store"] == "RedisStore"


def test_the_journal_the_page_polls_works_with_redis(redis_url: str) -> None:
    """The page only reads /__mock/requests: with a shared store, every worker's requests."""
    task = text_task(taskUUID=str(uuid.uuid4()))
    with (
        RunningServer(inspector_app(store=redis_url)) as one,
        RunningServer(inspector_app(store=redis_url)) as two,
    ):
        httpx.delete(f"{one.url}/__mock/requests")
        httpx.post(f"{one.url}/v1", json=[task], headers=AUTH)
        assert httpx.get(f"{two.url}/__mock/").status_code == 200
        seen = httpx.get(f"{two.url}/__mock/requests").json()["requests"]
        assert httpx.get(f"{two.url}/__mock/config").json()["store"] == "RedisStore"
    assert [e["tasks"][0]["taskUUID"] for e in seen] == [task["taskUUID"]]


# -- the journal after a cursor: what the page polls ---------------------------------------


async def _post(http: httpx.AsyncClient, n: int = 1) -> list[str]:
    """n valid requests; their taskUUIDs."""
    sent = []
    for _ in range(n):
        task = text_task(taskUUID=str(uuid.uuid4()))
        assert (await http.post("/v1", json=[task], headers=AUTH)).status_code == 200
        sent.append(task["taskUUID"])
    return sent


async def _since(http: httpx.AsyncClient, cursor: str) -> dict[str, Any]:
    answer = await http.get("/__mock/requests", params={"since": cursor})
    assert answer.status_code == 200, answer.text
    page: dict[str, Any] = answer.json()
    return page


def _uuids(entries: list[dict[str, Any]]) -> list[str]:
    return [e["tasks"][0]["taskUUID"] for e in entries]


async def _cursor_scenario(
    writers: list[httpx.AsyncClient], readers: list[httpx.AsyncClient]
) -> None:
    """Writes and reads spread over ``writers`` and ``readers`` (apps sharing one journal, or
    one app): a client following the cursor holds exactly the journal, and is told to
    start over when it was cleared or the entries after its cursor were evicted."""
    await readers[0].delete("/__mock/requests")
    first = await _since(readers[0], "0")  # "0": everything, to replace what is held
    assert (first["requests"], first["reset"], first["total"]) == ([], True, 0)
    cursor = first["cursor"]
    held: list[str] = []
    for round_, writer in enumerate(writers * 2):
        sent = await _post(writer, 2)
        page = await _since(readers[round_ % len(readers)], cursor)
        assert (_uuids(page["requests"]), page["reset"]) == (sent, False)  # only the new
        assert page["cursor"] != cursor
        held = (held + sent)[-page["total"] :]  # the newest `total`: older ones evicted
        cursor = page["cursor"]
        plain = (await readers[0].get("/__mock/requests")).json()
        assert _uuids(plain["requests"]) == held
    # Nothing new: nothing sent, the same cursor.
    assert await _since(readers[-1], cursor) == {
        "requests": [],
        "cursor": cursor,
        "reset": False,
        "total": len(held),
    }
    # More than the journal keeps arrived: the entries after the cursor are gone.
    sent = await _post(writers[-1], 5)
    page = await _since(readers[0], cursor)
    assert (_uuids(page["requests"]), page["reset"], page["total"]) == (sent[-4:], True, 4)
    # Cleared: the cursor is of the old journal, with entries since or without.
    await readers[-1].delete("/__mock/requests")
    assert (await _since(readers[0], page["cursor"]))["reset"] is True
    empty = await _since(readers[0], page["cursor"])
    assert (empty["requests"], empty["reset"], empty["total"]) == ([], True, 0)
    sent = await _post(writers[0], 1)
    page = await _since(readers[-1], page["cursor"])
    assert (_uuids(page["requests"]), page["reset"]) == (sent, True)
    # The cursor of an empty journal: whatever comes, as news.
    await readers[0].delete("/__mock/requests")
    empty = await _since(readers[0], "0")
    sent = await _post(writers[-1], 1)
    page = await _since(readers[-1], empty["cursor"])
    assert (_uuids(page["requests"]), page["reset"]) == (sent, False)


@pytest.mark.anyio
async def test_requests_since_a_cursor_in_memory() -> None:
    async with asgi_client(inspector_app(journal_size=4)) as http:
        await _cursor_scenario([http], [http])
        other = await _since(http, "0")
        # Another journal's cursor (another mock, or this one before a restart): start over.
        async with asgi_client(inspector_app(journal_size=4)) as fresh:
            await _post(fresh, 1)
            restarted = await _since(fresh, other["cursor"])
    assert (restarted["reset"], restarted["total"], len(restarted["requests"])) == (True, 1, 1)


@pytest.mark.anyio
async def test_requests_since_a_cursor_with_workers_sharing_redis(redis_url: str) -> None:
    """Two apps write one Redis list: a per-process counter is no order across them, the
    store's numbers are."""
    one, two = (
        inspector_app(journal_size=4, store=redis_url),
        inspector_app(journal_size=4, store=redis_url),
    )
    try:
        async with asgi_client(one) as first, asgi_client(two) as second:
            await _cursor_scenario([first, second], [second, first])
    finally:
        await one.state.mock.close()
        await two.state.mock.close()


@pytest.mark.anyio
async def test_a_flushed_redis_starts_a_new_epoch(redis_url: str) -> None:
    import redis.asyncio as redis

    app = inspector_app(store=redis_url)
    try:
        async with asgi_client(app) as http:
            await http.delete("/__mock/requests")
            await _post(http, 3)
            cursor = (await _since(http, "0"))["cursor"]
            flusher = redis.Redis.from_url(redis_url)
            await flusher.flushdb()  # the numbers start again: 1, 2, 3
            await flusher.aclose()
            sent = await _post(http, 4)
            page = await _since(http, cursor)
    finally:
        await app.state.mock.close()
    assert (_uuids(page["requests"]), page["reset"], page["total"]) == (sent, True, 4)


@pytest.mark.anyio
@pytest.mark.parametrize(
    "since", ["", "abc", "x.", ".5", "e.-1", "e.1e3", "e.\u0661", "e." + "9" * 40]
)
async def test_requests_since_something_else_is_refused(since: str) -> None:
    async with asgi_client(inspector_app()) as http:
        answer = await http.get("/__mock/requests", params={"since": since})
        plain = await http.get("/__mock/requests")
    assert answer.status_code == 400
    (error,) = answer.json()["errors"]
    assert (error["code"], error["parameter"]) == ("invalidParameter", "since")
    assert f"since={since!r} is not a journal cursor" in error["message"]
    assert "since=0" in error["message"]  # how to fix it
    assert plain.json() == {"requests": []}  # without since=, the answer is as it was


# -- in a real browser --------------------------------------------------------------------


def test_inspector_in_a_browser(browser_page: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    page = browser_page
    expect.set_options(timeout=STEP_MS)
    valid = text_task(taskUUID=str(uuid.uuid4()), deliveryMethod="sync")
    invalid = text_task(taskUUID=str(uuid.uuid4()), settings={"temperature": 5})
    hostile = text_task(
        taskUUID=str(uuid.uuid4()),
        model="<b id=pwned>x</b>",
        messages=[{"role": "user", "content": "<img src=x onerror=\"document.title='pwned'\">"}],
    )
    admin = {"X-Runware-Mock-Token": "tok-123"}
    with RunningServer(inspector_app(seed=1, admin_token="tok-123")) as server:
        seen: list[tuple[str, str, str | None]] = []
        page.on(
            "request",
            lambda r: seen.append((r.method, r.url, r.headers.get("x-runware-mock-token"))),
        )
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
            (503, 2, "serviceUnavailable")
        ]
        expect(page.locator("#config")).to_contain_text('"status": 503')
        with httpx.Client(base_url=server.url, headers=AUTH, timeout=10) as http:
            assert http.post("/v1", json=[text_task(taskUUID=str(uuid.uuid4()))]).status_code == 503
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
        httpx.post(f"{server.url}/v1", json=[text_task(taskUUID=str(uuid.uuid4()))], headers=AUTH)
        expect(rows).to_have_count(1)

    # The token never travelled in a URL (so no access log saw it), and left the address bar.
    assert not any("tok-123" in url for _, url, _ in seen), seen
    assert "tok-123" not in final_url
    # Nothing but the mock was asked for anything; every admin call carried the token.
    assert all(url.startswith((f"{server.url}/__mock/", "data:")) for _, url, _ in seen), seen
    api_calls = {
        (method, url.removeprefix(f"{server.url}/__mock/").partition("?")[0], token)
        for method, url, token in seen
        if url.startswith("http") and not url.endswith(("/__mock/", ".css", ".js"))
    }
    assert api_calls == {
        ("GET", "requests", "tok-123"),
        ("GET", "config", "tok-123"),
        ("POST", "faults", "tok-123"),
        ("DELETE", "requests", "tok-123"),
    }
    # The journal is read after a cursor, from the first read on (see the tests below).
    assert all(
        "?since=" in url
        for method, url, _ in seen
        if method == "GET" and url.partition("?")[0].endswith("/requests")
    )
    assert problems == []


# Put in the page before its own script: every state of the journal's note (#empty) at a
# microtask checkpoint, so every state that could have been painted, and the one at
# DOMContentLoaded (the deferred script has run by then; its first read has not answered).
_NOTE_STATES = """
window.__noteStates = [];
const note = () => {
  const empty = document.getElementById("empty");
  if (!empty) return null;
  const state = (empty.hidden ? "hidden: " : "shown: ") + empty.textContent.trim();
  const states = window.__noteStates;
  if (states[states.length - 1] !== state) states.push(state);
  return state;
};
new MutationObserver(note).observe(document, {subtree: true, childList: true,
                                              attributes: true, characterData: true});
document.addEventListener("DOMContentLoaded", () => {
  window.__atDOMContentLoaded = {
    note: note(), rows: document.querySelectorAll("#journal tbody tr").length};
});
"""
_LOADING = "Loading the journal…"
SCREENSHOT_1280 = Path("/tmp/inspector-1280.png")


def test_inspector_first_paint_and_layout_at_1280_px(browser_page: Any, tmp_path: Path) -> None:
    """A pre-filled journal: the page says "loading" until its first read answers, then
    shows the entries, never "No requests yet" in between; long violation lists collapse in
    their row; at 1280 px nothing scrolls sideways, long values are cut with a tooltip."""
    from playwright.sync_api import Route, expect

    page = browser_page
    expect.set_options(timeout=STEP_MS)
    page.set_viewport_size({"width": 1280, "height": 800})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    settings = {
        "temperature": 5,
        "topP": 7,
        "maxTokens": -1,
        "topK": "x",
        "seed": -5,
        "frequencyPenalty": 9,
        "presencePenalty": 9,
        "repetitionPenalty": 0.0001,
    }
    many = text_task(taskUUID=str(uuid.uuid4()), deliveryMethod="often", settings=settings)
    long_model = "acme:" + "a-very-long-model-name-" * 6 + "v1"
    pair = [text_task(taskUUID=str(uuid.uuid4())), text_task(taskUUID=str(uuid.uuid4()))]
    app = inspector_app(seed=1, api_key_profiles={"broke-key-9999": {"status": 402}})
    with (
        RunningServer(app) as server,
        httpx.Client(base_url=server.url, headers=AUTH, timeout=10) as http,
    ):
        assert (
            http.post(
                "/v1", json=[text_task(taskUUID=str(uuid.uuid4()), deliveryMethod="sync")]
            ).status_code
            == 200
        )
        assert (
            http.post(
                "/v1",
                json=[text_task(taskUUID=str(uuid.uuid4()))],
                headers={"Authorization": "Bearer broke-key-9999"},
            ).status_code
            == 402
        )
        assert http.post("/__mock/faults", json={"status": 503, "times": 1}).status_code == 200
        assert http.post("/v1", json=[text_task(taskUUID=str(uuid.uuid4()))]).status_code == 503
        http.post("/v1", json=[text_task(taskUUID=str(uuid.uuid4()), model=long_model)])
        assert http.post("/v1", json=pair).status_code == 200
        assert http.post("/v1", json=[many]).status_code == 400
        journal = http.get("/__mock/requests").json()["requests"][::-1]  # newest first
        violations = journal[0]["violations"]
        assert len(violations) >= 9  # the scenario of issue 15

        # Hold the page's first read of the journal until its loading state is checked.
        held: list[Route] = []
        released = False

        def hold(route: Route) -> None:
            if released:
                route.continue_()
            else:
                held.append(route)

        page.add_init_script(_NOTE_STATES)
        page.route(re.compile(r"/__mock/requests\?since="), hold)
        with page.expect_request(re.compile(r"/__mock/requests\?since=0$")):
            page.goto(f"{server.url}/__mock/", wait_until="domcontentloaded")
        rows = page.locator("#journal tbody tr")
        note = page.locator("#empty")
        assert page.evaluate("window.__atDOMContentLoaded") == {
            "note": f"shown: {_LOADING}",
            "rows": 0,
        }
        expect(note).to_be_visible()
        expect(note).to_have_text(_LOADING)
        expect(page.locator("#journal-pane")).to_have_attribute("aria-busy", "true")
        page.screenshot(path=str(tmp_path / "inspector-loading.png"))
        released = True
        for route in held:
            route.continue_()
        expect(rows).to_have_count(len(journal))
        expect(note).to_be_hidden()
        expect(page.locator("#journal-pane")).not_to_have_attribute("aria-busy", "true")
        expect(page.locator("#count")).to_have_text(f"{len(journal)} of {len(journal)} requests")
        states = page.evaluate("window.__noteStates")
        assert states[0] == f"shown: {_LOADING}", states
        assert not [s for s in states if s.startswith("shown: No requests yet")], states

        # Nine violations: two in the row, then "+7 more"; every one in the detail pane.
        first = rows.nth(0)
        expect(first.locator(".violation")).to_have_count(2)
        expect(first.locator(".more")).to_have_text(f"+{len(violations) - 2} more")
        # Cut to one line each; the whole message is the tooltip.
        expect(first.locator(".violation").nth(0)).to_have_attribute(
            "title", violations[0]["message"]
        )
        assert violations[0]["message"].startswith(violations[0]["parameter"] + " ")
        first.click()
        verdict = page.locator("#detail-verdict")
        expect(verdict.locator(".violation")).to_have_count(len(violations))
        expect(verdict.locator(".violation .param")).to_have_text(
            [v["parameter"] for v in violations]
        )
        expect(verdict).not_to_contain_text(re.compile(r"\+\d+ more"))

        # 1280 px: no sideways scrolling, of the page or of the journal's table.
        widths = page.evaluate("""() => {
          const table = document.getElementById("journal");
          const pane = document.getElementById("journal-pane");
          const edge = table.getBoundingClientRect().right;
          return {page: document.documentElement.scrollWidth,
                  table: [table.scrollWidth, table.clientWidth],
                  pane: [pane.scrollWidth, pane.clientWidth],
                  beyond: [...table.querySelectorAll("th, td")].filter(
                    (c) => c.getBoundingClientRect().right > edge + 0.5).length};
        }""")
        assert widths["page"] <= 1280, widths
        assert widths["table"][0] <= widths["table"][1], widths
        assert widths["pane"][0] <= widths["pane"][1], widths
        assert widths["beyond"] == 0, widths
        # Long values are cut to their column, and whole in the cell's tooltip.
        model_cell = page.locator("#journal td", has_text=long_model)
        expect(model_cell).to_have_attribute("title", long_model)
        assert model_cell.evaluate("(c) => c.scrollWidth > c.clientWidth")  # it was cut
        for entry in journal:
            if entry["fault"]:
                cell = page.locator(f'#journal tr[data-id="{entry["id"]}"] td.fault')
                expect(cell).to_have_attribute("title", entry["fault"])
                expect(cell).to_have_text(entry["fault"])
        expect(page.locator("#journal td.fault[title^='402 ']")).to_have_count(1)
        expect(rows.nth(1).locator("td").nth(1)).to_have_text("textInference +1")

        shot = tmp_path / "inspector-1280.png"
        page.screenshot(path=str(shot), full_page=True)
        shutil.copyfile(shot, SCREENSHOT_1280)
    assert problems == []


def test_inspector_polls_after_its_cursor_and_starts_over_when_cleared(browser_page: Any) -> None:
    """After its first read the page asks only for what came after its cursor; evicted
    entries leave the page, and a journal cleared by another client empties it."""
    from playwright.sync_api import Route, expect

    page = browser_page
    expect.set_options(timeout=STEP_MS)
    answers: list[tuple[str, dict[str, Any]]] = []  # each read of the journal, in order

    def record(route: Route) -> None:
        response = route.fetch()
        answers.append((route.request.url, response.json()))
        route.fulfill(response=response)

    page.route(re.compile(r"/__mock/requests(\?|$)"), record)
    with (
        RunningServer(inspector_app(seed=1, journal_size=5)) as server,
        httpx.Client(base_url=server.url, headers=AUTH, timeout=10) as http,
    ):

        def post(n: int) -> list[str]:
            sent = [str(uuid.uuid4()) for _ in range(n)]
            for task_uuid in sent:
                assert http.post("/v1", json=[text_task(taskUUID=task_uuid)]).status_code == 200
            return sent

        uuids = page.locator("#journal tbody td.uuid")
        before = post(2)
        page.goto(f"{server.url}/__mock/")
        expect(uuids).to_have_text(before[::-1])
        expect(page.locator("#connection")).to_have_text("live")
        new = post(2)
        expect(uuids).to_have_text((before + new)[::-1])

        reads = list(answers)
        assert reads[0][0].endswith("?since=0")
        assert (reads[0][1]["reset"], _uuids(reads[0][1]["requests"])) == (True, before)
        for (_, previous), (url, _) in itertools.pairwise(reads):
            assert url.endswith(f"?since={previous['cursor']}"), (url, previous)
        later = [entry for _, answer in reads[1:] for entry in answer["requests"]]
        assert not any(answer["reset"] for _, answer in reads[1:])
        assert _uuids(later) == new  # each new entry sent once, nothing else

        # The journal keeps 5: the oldest leave the page too.
        newest = post(4)
        expect(uuids).to_have_text((before + new + newest)[-5:][::-1])

        # Another client clears the journal: the page starts over, empty.
        page.locator("#journal tbody tr").nth(0).click()
        expect(page.locator("#detail")).to_be_visible()
        cleared_at = len(answers)
        assert http.delete("/__mock/requests").status_code == 200
        expect(uuids).to_have_count(0)
        expect(page.locator("#empty")).to_have_text(re.compile(r"^No requests yet"))
        expect(page.locator("#detail")).to_be_hidden()
        assert any(answer["reset"] for _, answer in answers[cleared_at:])
        last = post(1)
        expect(uuids).to_have_text(last)
    assert all("?since=" in url for url, _ in answers)
