"""End to end: a real uvicorn server on a loopback port, and the CLI as a user starts it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest

from contracts import check_response
from tests._support import run_mock_cli
from tests.mockserver.conftest import AUTH, VALID_REQUEST, RunningServer, serve_cli, text_task


def test_real_server_answers_over_http(live_server: RunningServer) -> None:
    with httpx.Client(base_url=live_server.url, timeout=10) as http:
        reply = http.post("/v1", json=VALID_REQUEST, headers=AUTH)
        assert reply.status_code == 200
        assert check_response(reply.json(), request=VALID_REQUEST) == []
        refused = http.post("/v1", json=[text_task(seed=-1)], headers=AUTH)
        assert refused.status_code == 400
        doc = http.get("/openapi.json").json()
        assert doc["servers"][0]["url"] == f"{live_server.url}/v1"


def test_cli_serve_starts_with_banner_and_serves(tmp_path: Path) -> None:
    config = tmp_path / "mock.json"
    config.write_text(
        json.dumps({"api_keys": ["cli-key"], "replies": [{"match": "ping me", "text": "pong!"}]})
    )
    banner = tmp_path / "stderr.txt"
    unbuffered = {**os.environ, "PYTHONUNBUFFERED": "1"}
    options = ("--config", str(config), "--seed", "3")
    with (
        banner.open("w") as stderr,
        serve_cli(*options, stderr=stderr, env=unbuffered) as (url, process),
    ):
        assert httpx.get(f"{url}/__mock/health").json()["status"] == "ok"
        task = text_task(messages=[{"role": "user", "content": "please ping me"}])
        ok = httpx.post(f"{url}/v1", json=[task], headers={"Authorization": "Bearer cli-key"})
        assert ok.json()["data"][0]["text"] == "pong!"
        denied = httpx.post(f"{url}/v1", json=[task], headers=AUTH)
        assert denied.status_code == 401
    err = banner.read_text()
    assert process.returncode == 0
    assert f"{url}/v1" in err
    assert "alibaba:qwen@3.5-397b" in err
    assert "/__mock/requests" in err


def test_cli_serve_refuses_a_bad_config(tmp_path: Path) -> None:
    config = tmp_path / "mock.json"
    config.write_text('{"apikeys": []}')
    run = run_mock_cli("serve", "--config", str(config), timeout=30)
    assert run.returncode == 2
    assert "apikeys" in run.stderr


@pytest.mark.parametrize("workers", ["1", "2"], ids=["one-process", "two-workers"])
def test_cli_serve_applies_forwarded_headers_from_loopback(workers: str) -> None:
    # serve moves uvicorn's X-Forwarded-* handling behind the REST endpoint (hoisted): the
    # documents still follow a TLS-terminating proxy on loopback, and POST /v1 still answers.
    with serve_cli("--workers", workers, "--processing-ms", "0") as (url, _):
        forwarded = {"X-Forwarded-Proto": "https"}
        doc = httpx.get(f"{url}/openapi.json", headers=forwarded, timeout=10).json()
        plain = httpx.get(f"{url}/openapi.json", timeout=10).json()
        reply = httpx.post(f"{url}/v1", json=VALID_REQUEST, headers={**AUTH, **forwarded})
    host = url.removeprefix("http://")
    assert doc["servers"][0]["url"] == f"https://{host}/v1"
    assert plain["servers"][0]["url"] == f"{url}/v1"
    assert reply.status_code == 200
    assert check_response(reply.json(), request=VALID_REQUEST) == []
