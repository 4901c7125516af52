"""/__mock/* cannot be driven or read from another origin: Host must be the mock's (DNS
rebinding), Origin must be the mock's own (CSRF), state changes must be JSON (so a browser
must preflight them, and preflights are refused), and an empty admin token is refused at
start-up. In-process tables here; the same attacks from a real browser are in
test_browser_attacks.py."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from mockserver import ConfigError, MockConfig, create_app
from tests._support import asgi_client, run_mock_cli

pytestmark = pytest.mark.anyio


def _client(base_url: str = "http://127.0.0.1:8080", **config: Any) -> httpx.AsyncClient:
    app = create_app(config=MockConfig(**config))
    return asgi_client(app, base_url=base_url)


HOSTS = [
    pytest.param("127.0.0.1:8080", (), 200, id="loopback-ip"),
    pytest.param("localhost:8080", (), 200, id="localhost"),
    pytest.param("[::1]:8080", (), 200, id="ipv6-loopback"),
    pytest.param("app.localhost", (), 200, id="dot-localhost"),
    pytest.param("testserver", (), 200, id="single-label-name"),
    pytest.param("evil.example.invalid:8080", (), 403, id="rebinding-name"),
    pytest.param("192.0.2.10:8080", (), 403, id="foreign-ip"),
    pytest.param("mock.internal:8080", ("mock.internal",), 200, id="allowed-host"),
    pytest.param("other.internal", ("*",), 200, id="any-host-allowed"),
]


@pytest.mark.parametrize(("host", "allowed", "status"), HOSTS)
async def test_host_must_be_the_mocks(host: str, allowed: tuple[str, ...], status: int) -> None:
    async with _client(allowed_hosts=allowed) as http:
        reply = await http.get("/__mock/requests", headers={"Host": host})
        rest = await http.post("/v1", json=[], headers={"Host": host, "Authorization": "Bearer k"})
    assert reply.status_code == status
    if status == 403:
        message = reply.json()["errors"][0]["message"]
        assert "allowed_hosts" in message
        assert host.split(":")[0] in message
    assert rest.status_code == 200  # the Runware API itself answers any Host


ORIGINS = [
    pytest.param(None, "POST", "application/json", 200, id="no-origin-cli-client"),
    pytest.param("http://127.0.0.1:8080", "POST", "application/json", 200, id="same-origin"),
    pytest.param(
        "http://127.0.0.1:9999", "POST", "application/json", 403, id="other-port-on-loopback"
    ),
    pytest.param(
        "https://attacker.example.invalid", "POST", "application/json", 403, id="other-site"
    ),
    pytest.param("null", "POST", "application/json", 403, id="sandboxed-null"),
    pytest.param(None, "POST", "text/plain", 415, id="text-plain-simple-request"),
    pytest.param(None, "POST", "application/x-www-form-urlencoded", 415, id="form-post"),
    pytest.param(None, "POST", "multipart/form-data; boundary=x", 415, id="multipart-post"),
    pytest.param("https://attacker.example.invalid", "GET", None, 403, id="cross-site-read"),
    pytest.param("https://attacker.example.invalid", "DELETE", None, 403, id="cross-site-delete"),
]


@pytest.mark.parametrize(("origin", "method", "media", "status"), ORIGINS)
async def test_only_the_mocks_own_pages_may_drive_it(
    origin: str | None, method: str, media: str | None, status: int
) -> None:
    headers = {} if origin is None else {"Origin": origin}
    if media is not None:
        headers["Content-Type"] = media
    async with _client() as http:
        reply = await http.request(
            method,
            "/__mock/faults",
            headers=headers,
            content=b'{"status": 500}' if method == "POST" else None,
        )
        queued = (await http.get("/__mock/faults")).json()["queued"]
    assert reply.status_code == status, reply.text
    # Only an accepted POST queued anything.
    assert len(queued) == (1 if method == "POST" and status == 200 else 0)


async def test_preflights_are_refused() -> None:
    async with _client() as http:
        reply = await http.options(
            "/__mock/faults",
            headers={
                "Origin": "https://attacker.example.invalid",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        )
    assert reply.status_code in (403, 405)
    assert "access-control-allow-origin" not in reply.headers


@pytest.mark.parametrize("token", ["", "   "], ids=["empty", "blank"])
def test_an_empty_admin_token_is_refused(token: str) -> None:
    with pytest.raises(ConfigError, match="admin_token is empty") as caught:
        MockConfig(admin_token=token)
    assert caught.value.key == "admin_token"


def test_serve_refuses_an_empty_admin_token_at_start_up() -> None:
    run = run_mock_cli("serve", "--host", "0.0.0.0", "--port", "1", "--admin-token", "")
    assert run.returncode == 2
    assert "admin_token is empty" in run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize(
    "token", ["plain-token", "tökén-ünïcödé", "東京-token"], ids=["ascii", "latin", "cjk"]
)
async def test_the_admin_token_matches_as_written(token: str) -> None:
    async with _client(admin_token=token) as http:
        by_header = await http.get(
            "/__mock/requests", headers={b"X-Runware-Mock-Token": token.encode()}
        )
        by_query = await http.get("/__mock/requests", params={"token": token})
        wrong = await http.get("/__mock/requests", headers={b"X-Runware-Mock-Token": b"nope"})
    assert by_header.status_code == 200
    assert by_query.status_code == 200
    assert wrong.status_code == 403
