"""Security: loopback by default, a locked admin surface elsewhere, keys never shown."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from mockserver import MockConfig, create_app
from mockserver._uvicorn import _is_loopback
from tests._support import asgi_client
from tests.mockserver.conftest import AUTH, serve_cli, text_task

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.10", False),
        ("example.com", False),
    ],
)
def test_loopback_detection(host: str, loopback: bool) -> None:
    assert _is_loopback(host) is loopback


async def test_admin_token_guards_the_admin_endpoints() -> None:
    app = create_app(config=MockConfig(admin_token="s3cret"))
    async with asgi_client(app) as http:
        locked = await http.get("/__mock/requests")
        wrong = await http.get("/__mock/requests", headers={"X-Runware-Mock-Token": "nope"})
        by_header = await http.get("/__mock/requests", headers={"X-Runware-Mock-Token": "s3cret"})
        by_query = await http.post("/__mock/faults?token=s3cret", json={"status": 503})
        health = await http.get("/__mock/health")
        api = await http.post("/v1", json=[text_task()], headers=AUTH)  # the API is not admin
    assert locked.status_code == wrong.status_code == 403
    assert "X-Runware-Mock-Token" in locked.json()["errors"][0]["message"]
    assert by_header.status_code == 200
    assert by_query.status_code == 200
    assert health.status_code == 200
    assert api.status_code == 503  # the fault queued with the token fired


async def test_admin_endpoints_locked_without_a_token_off_loopback() -> None:
    app = create_app(config=MockConfig(admin_open=False))
    async with asgi_client(app) as http:
        for method, path in (
            ("GET", "/__mock/requests"),
            ("DELETE", "/__mock/requests"),
            ("POST", "/__mock/faults"),
            ("GET", "/__mock/config"),
            ("GET", "/__mock/faults"),
        ):
            reply = await http.request(method, path)
            assert reply.status_code == 403
            assert "--admin-token" in reply.json()["errors"][0]["message"]
        # The page holds no data: it loads, and then finds every data endpoint locked.
        assert (await http.get("/__mock/")).status_code == 200


def test_api_keys_never_reach_the_logs_or_the_journal(tmp_path: Path) -> None:
    key = "sk-live-0123456789abcdef"
    log = tmp_path / "mock.log"
    with (
        log.open("w") as out,
        serve_cli("--log-level", "info", "--access-log", stdout=out, stderr=out) as (url, _),
    ):
        httpx.post(f"{url}/v1", json=[text_task()], headers={"Authorization": f"Bearer {key}"})
        httpx.post(f"{url}/v1", json=[{"taskType": "authentication", "apiKey": key}, text_task()])
        journal = httpx.get(f"{url}/__mock/requests").text
    logs = log.read_text()
    assert "POST /v1" in logs  # the access log is on, and still shows no key
    assert key not in logs
    assert journal.count("sk-l…ef") >= 2  # the header's key and the task's, both masked
    assert key not in journal
