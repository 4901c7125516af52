"""The attacks a web page can make on a mock running next to the developer's browser, made
from a real headless Chromium (Debian's, driven by Playwright):

- **CSRF**: a page on another origin (here another loopback port) submits a form and fires
  fetches at ``/__mock/faults`` to queue an unlimited 500, and tries to read the journal;
- **DNS rebinding**: a page whose own name resolves to 127.0.0.1 (Chromium's
  ``--host-resolver-rules`` maps it, so no DNS query is made) calls ``/__mock/*`` as
  same-origin and reads the journal, prompts included.

Nothing it tries may queue a fault or read a byte of the journal."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from mockserver import MockConfig, create_app
from tests.mockserver.conftest import AUTH, RunningServer, text_task

SECRET_PROMPT = "the launch code is 0000-SECRET"
REBIND_NAME = "rebind.example.invalid"

ATTACK = """<!doctype html><title>cute cats</title>
<form id="f" method="POST" action="{mock}/__mock/faults" enctype="text/plain"
      target="sink"><input name='{{"status": 500, "x": "' value='"}}'></form>
<iframe name="sink"></iframe>
<script>
const results = {{}};
window.attack = (async () => {{
  document.getElementById("f").submit();
  const tries = {{
    "no-cors text/plain": () => fetch("{mock}/__mock/faults", {{method: "POST",
        mode: "no-cors", headers: {{"Content-Type": "text/plain"}},
        body: '{{"status": 500}}'}}),
    "cors json (preflight)": () => fetch("{mock}/__mock/faults", {{method: "POST",
        headers: {{"Content-Type": "application/json"}}, body: '{{"status": 500}}'}}),
    "read the journal": () => fetch("{mock}/__mock/requests").then(r => r.text()),
    "no-cors delete": () => fetch("{mock}/__mock/requests", {{method: "DELETE",
        mode: "no-cors"}}),
  }};
  for (const [name, attempt] of Object.entries(tries)) {{
    try {{ const got = await attempt(); results[name] = typeof got === "string" ? got :
            "opaque"; }}
    catch (e) {{ results[name] = "blocked: " + e; }}
  }}
  return results;
}})();
</script>"""


def _attacker(mock_url: str) -> Starlette:
    async def page(request: Request) -> HTMLResponse:
        return HTMLResponse(ATTACK.format(mock=mock_url))

    return Starlette(routes=[Route("/", page)])


def _mock() -> RunningServer:
    return RunningServer(create_app(config=MockConfig(processing_ms=0)))


def _tell_a_secret(mock_url: str) -> None:
    """One request in the journal, its prompt the secret no attack may read."""
    secret = [{"role": "user", "content": SECRET_PROMPT}]
    httpx.post(
        f"{mock_url}/v1",
        json=[text_task(taskUUID=str(uuid.uuid4()), messages=secret)],
        headers=AUTH,
    )


def _admin_state(url: str) -> tuple[list[Any], list[dict[str, Any]]]:
    faults = httpx.get(f"{url}/__mock/faults").json()["queued"]
    journal = httpx.get(f"{url}/__mock/requests").json()["requests"]
    return faults, journal


def test_a_page_on_another_origin_cannot_drive_the_mock(browser: Callable[..., Any]) -> None:
    with (
        _mock() as mock,
        RunningServer(_attacker(mock.url)) as attacker,
    ):
        _tell_a_secret(mock.url)
        page = browser()
        answered: list[tuple[str, str, int]] = []  # what reached the mock, and its answer
        page.on(
            "response",
            lambda r: (
                answered.append((r.request.method, r.url, r.status))
                if r.url.startswith(mock.url)
                else None
            ),
        )
        page.goto(attacker.url + "/")
        results = page.evaluate("window.attack")
        page.wait_for_load_state("networkidle")
        faults, journal = _admin_state(mock.url)
        after = httpx.post(
            f"{mock.url}/v1", json=[text_task(taskUUID=str(uuid.uuid4()))], headers=AUTH
        )
    assert faults == []  # nothing was queued: the form, the fetches
    assert after.status_code == 200  # and no 500 fires for the next client
    assert len(journal) == 1  # not cleared
    # The attempts did reach the mock (so the test is not vacuous), and each was refused.
    posts = [status for method, url, status in answered if method == "POST"]
    assert posts, answered
    assert all(status in (403, 405, 415) for _, _, status in answered), answered
    assert SECRET_PROMPT not in str(results)  # the journal was not read
    assert results["read the journal"].startswith("blocked")


def test_a_rebinding_page_cannot_read_or_drive_the_mock(browser: Callable[..., Any]) -> None:
    with _mock() as mock:
        _tell_a_secret(mock.url)
        page = browser(f"--host-resolver-rules=MAP {REBIND_NAME} 127.0.0.1")
        origin = f"http://{REBIND_NAME}:{mock.port}"
        # The page's origin is the attacker's name: to the browser, /__mock/* is same-origin.
        landing = page.goto(f"{origin}/openapi.json")
        assert landing is not None
        assert landing.status == 200  # the name does reach the mock
        results = page.evaluate("""async () => {
          const read = await fetch("/__mock/requests");
          const queue = await fetch("/__mock/faults", {method: "POST",
              headers: {"Content-Type": "application/json"}, body: '{"status": 500}'});
          const inspector = await fetch("/__mock/");
          return {read: read.status, body: await read.text(), queue: queue.status,
                  inspector: inspector.status};
        }""")
        faults, journal = _admin_state(mock.url)
    assert results["read"] == 403
    assert SECRET_PROMPT not in results["body"]
    assert REBIND_NAME in results["body"]  # the refusal names the Host it refused
    assert results["queue"] == 403
    assert results["inspector"] == 403
    assert faults == []
    assert len(journal) == 1
