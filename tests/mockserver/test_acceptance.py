"""A request the document allows is never refused by the mock's own rules: whatever the
kit's strategies draw, and whatever ``runware-kit sample`` prints, is answered 200 (or,
for a poll of a task this mock never saw, ``taskNotFound``, as Runware answers it)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings

import openapi
from contracts import check_response
from contracts.strategies import requests
from mockserver import MockConfig, create_app, main
from tests._support import SECOND_DOCUMENT, asgi_client
from tests.mockserver.conftest import AUTH

# Large enough for any body the documents allow to be drawn: the size limit is a resource
# limit, tested on its own in test_refused_verdicts.py.
CONFIG = MockConfig(processing_ms=0, max_body_bytes=256 * 1024 * 1024, seed=1)
STATE_DEPENDENT = {"taskNotFound"}


def _answer(spec: openapi.Spec, body: bytes) -> httpx.Response:
    async def go() -> httpx.Response:
        app = create_app(spec=spec, config=CONFIG)
        async with asgi_client(app) as http:
            return await http.post(
                "/v1", content=body, headers={**AUTH, "content-type": "application/json"}
            )

    return asyncio.run(go())


def _accepted(reply: httpx.Response, payload: Any) -> None:
    if reply.status_code == 400:
        codes = {e["code"] for e in reply.json()["errors"]}
        assert codes <= STATE_DEPENDENT, reply.text[:2000]
        return
    assert reply.status_code == 200, reply.text[:2000]
    if reply.headers["content-type"] == "application/json":
        assert check_response(reply.json(), request=payload) == []


SPECS = {"bundled": openapi.load(), "second": openapi.load(SECOND_DOCUMENT)}


@pytest.mark.parametrize("name", list(SPECS))
def test_every_drawn_valid_request_is_accepted(name: str, network_audit: Any) -> None:
    spec = SPECS[name]

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(requests(spec=spec))
    def check(payload: Any) -> None:
        _accepted(_answer(spec, json.dumps(payload).encode()), payload)

    check()
    assert network_audit.foreign() == []  # drawn webhookURLs are never called


def test_every_sampled_line_is_accepted(
    capsys: pytest.CaptureFixture[str], network_audit: Any
) -> None:
    assert main(["sample", "-n", "30", "--seed", "7"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 30
    for line in lines:
        _accepted(_answer(SPECS["bundled"], line.encode()), json.loads(line))
    assert network_audit.foreign() == []
