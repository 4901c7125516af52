"""Journal, health and the served OpenAPI document."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator

from contracts import check_response
from tests._support import asgi_client
from tests.mockserver.conftest import AUTH, text_task

pytestmark = pytest.mark.anyio


async def test_journal_records_requests_verdicts_and_responses(client: httpx.AsyncClient) -> None:
    await client.post("/v1", json=[text_task()], headers={"Authorization": "Bearer sk-secret-123"})
    await client.post("/v1", json=[text_task(seed="x")], headers=AUTH)
    entries = (await client.get("/__mock/requests")).json()["requests"]
    assert [e["status"] for e in entries] == [200, 400]
    good, bad = entries
    assert good["valid"] is True
    assert good["request"][0]["taskUUID"] == good["response"]["data"][0]["taskUUID"]
    assert good["tasks"] == [
        {
            "taskType": "textInference",
            "taskUUID": text_task()["taskUUID"],
            "model": "alibaba:qwen@3.5-397b",
        }
    ]
    assert good["apiKey"] == "sk-s…23"  # masked, never the key
    assert "sk-secret-123" not in str(entries)
    assert bad["violations"][0]["parameter"] == "seed"
    assert good["latencyMs"] >= 0
    assert (await client.delete("/__mock/requests")).json() == {"cleared": True}
    assert (await client.get("/__mock/requests")).json() == {"requests": []}


async def test_journal_is_bounded() -> None:
    from mockserver import MockConfig, create_app

    app = create_app(config=MockConfig(journal_size=3))
    async with asgi_client(app) as http:
        for seed in range(5):
            await http.post("/v1", json=[text_task(seed=seed)], headers=AUTH)
        entries = (await http.get("/__mock/requests")).json()["requests"]
    assert [e["request"][0]["seed"] for e in entries] == [2, 3, 4]


async def test_health(client: httpx.AsyncClient) -> None:
    health = (await client.get("/__mock/health")).json()
    assert health["status"] == "ok"
    assert health["model"] == "alibaba:qwen@3.5-397b"


async def test_served_document(client: httpx.AsyncClient) -> None:
    doc: dict[str, Any] = (await client.get("/openapi.json")).json()
    assert doc["servers"] == [
        {"url": "http://mock/v1", "description": "runware-contract-kit mock (offline emulation)"}
    ]
    vendor = client.app.state.mock.spec.to_dict()  # type: ignore[attr-defined]
    assert (
        doc["components"]["schemas"]["RequestBody"]
        == vendor["components"]["schemas"]["RequestBody"]
    )
    post = doc["paths"]["/"]["post"]
    assert post["requestBody"] == vendor["paths"]["/"]["post"]["requestBody"]
    assert set(post["responses"]) >= {
        "200",
        "400",
        "401",
        "402",
        "403",
        "413",
        "429",
        "500",
        "503",
        "504",
    }
    assert set(post["responses"]["200"]["content"]) == {"application/json", "text/event-stream"}
    Draft202012Validator.check_schema(doc["components"]["schemas"]["MockSuccessResponse"])
    # A real reply validates against the served 200 schema.
    reply = (await client.post("/v1", json=[text_task(includeUsage=True)], headers=AUTH)).json()
    assert check_response(reply) == []
    schema = {"$ref": "#/components/schemas/MockSuccessResponse", **doc}
    Draft202012Validator(schema).validate(reply)
    error = (await client.post("/v1", json=[{}], headers=AUTH)).json()
    Draft202012Validator({"$ref": "#/components/schemas/ErrorResponse", **doc}).validate(error)


async def test_journal_shows_the_request_and_response_exactly_as_they_crossed_the_wire(
    client: httpx.AsyncClient,
) -> None:
    # The journal keeps bodies as bytes and parses them when read: what it shows must still
    # be the request that was sent (exact numbers, the auth key masked) and the reply given.
    sent = [
        {"taskType": "authentication", "apiKey": "sk-secret-123"},
        text_task(settings={"temperature": 0.57, "topP": 0.07}),
    ]
    reply = await client.post("/v1", json=sent)
    assert reply.status_code == 200
    (entry,) = (await client.get("/__mock/requests")).json()["requests"]
    assert entry["request"][1] == sent[1]
    assert entry["request"][0] == {"taskType": "authentication", "apiKey": "sk-s…23"}
    assert entry["response"] == reply.json()
    assert "sk-secret-123" not in str(entry)


async def test_the_api_is_served_under_a_root_path() -> None:
    from mockserver import create_app

    # A root_path (a proxy prefix) takes the router's way, not the /v1 fast path.
    async with asgi_client(create_app(), root_path="/runware") as http:
        reply = await http.post("/runware/v1", json=[text_task()], headers=AUTH)
        wrong = await http.get("/runware/v1", headers=AUTH)
    assert reply.status_code == 200
    assert reply.json()["data"][0]["taskUUID"] == text_task()["taskUUID"]
    assert wrong.status_code == 405


async def test_journal_shows_numbers_exactly_as_they_were_written(
    client: httpx.AsyncClient,
) -> None:
    # Kept as a Decimal by the strict parser (a float would read 0.57): the journal must still
    # be readable, and show the number that got the request refused.
    body = json.dumps([text_task(settings={"temperature": "X"})]).replace(
        '"X"', "0.57000000000000001"
    )
    refused = await client.post(
        "/v1", content=body, headers={**AUTH, "Content-Type": "application/json"}
    )
    assert refused.status_code == 400
    journal = await client.get("/__mock/requests")
    assert journal.status_code == 200
    (entry,) = json.loads(journal.text, parse_float=Decimal)["requests"]
    assert entry["request"][0]["settings"]["temperature"] == Decimal("0.57000000000000001")
    assert entry["violations"][0]["parameter"] == "settings.temperature"
