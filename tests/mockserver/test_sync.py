"""The mock's sync delivery, in-process over ASGI: what a client sees."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

import openapi
from contracts import check_response
from mockserver import MockConfig, ReplyRule, create_app
from tests._support import SECOND_DOCUMENT, asgi_client, sse_payloads
from tests.mockserver.conftest import AUTH, UUID, VALID_REQUEST, text_task

pytestmark = pytest.mark.anyio


async def post(client: httpx.AsyncClient, body: Any, **kwargs: Any) -> httpx.Response:
    headers = {**AUTH, **kwargs.pop("headers", {})}
    if isinstance(body, bytes):
        return await client.post(
            "/v1", content=body, headers={"content-type": "application/json", **headers}, **kwargs
        )
    return await client.post("/v1", json=body, headers=headers, **kwargs)


async def test_valid_request_gets_a_conforming_result(client: httpx.AsyncClient) -> None:
    reply = await post(client, VALID_REQUEST)
    assert reply.status_code == 200
    body = reply.json()
    assert check_response(body, request=VALID_REQUEST) == []
    (item,) = body["data"]
    assert item["taskUUID"] == VALID_REQUEST[0]["taskUUID"]
    assert item["finishReason"] in ("stop", "length")
    assert item["usage"]["totalTokens"] == (
        item["usage"]["promptTokens"]
        + item["usage"]["completionTokens"]
        + item["usage"]["thinkingTokens"]
    )


@pytest.mark.parametrize("path", ["/v1", "/v1/", "/"])
async def test_every_endpoint_form(client: httpx.AsyncClient, path: str) -> None:
    reply = await client.post(path, json=[text_task()], headers=AUTH)
    assert reply.status_code == 200
    assert reply.json()["data"][0]["taskUUID"] == UUID


async def test_same_request_and_seed_give_the_same_text(client: httpx.AsyncClient) -> None:
    first = (await post(client, [text_task(seed=42)])).json()["data"][0]
    again = (await post(client, [text_task(seed=42)])).json()["data"][0]
    other = (await post(client, [text_task(seed=43)])).json()["data"][0]
    assert first["text"] == again["text"]
    assert first["seed"] == 42
    assert other["text"] != first["text"]


async def test_without_a_seed_one_is_drawn_and_reported(client: httpx.AsyncClient) -> None:
    item = (await post(client, [text_task()])).json()["data"][0]
    assert 0 <= item["seed"] < 2**32
    replay = (await post(client, [text_task(seed=item["seed"])])).json()["data"][0]
    assert replay["text"] == item["text"]


async def test_replies_read_as_prose_about_the_prompt(client: httpx.AsyncClient) -> None:
    task = text_task(messages=[{"role": "user", "content": "Explain photosynthesis in plants"}])
    text = (await post(client, [task])).json()["data"][0]["text"]
    assert "lorem" not in text.lower()
    assert "photosynthesis" in text or "plants" in text
    assert re.search(r"[A-Z][a-z]+ .+\.", text)


async def test_number_results(client: httpx.AsyncClient) -> None:
    request = [text_task(numberResults=3, seed=7)]
    data = (await post(client, request)).json()["data"]
    assert [item["resultIndex"] for item in data] == [0, 1, 2]
    assert len({item["seed"] for item in data}) == 3
    assert len({item["text"] for item in data}) == 3
    assert check_response({"data": data}, request=request) == []


async def test_integer_written_as_float_is_an_integer(client: httpx.AsyncClient) -> None:
    body = (
        json.dumps([text_task(seed=5)])
        .replace('"seed": 5', '"seed": 5.0')
        .replace('"taskType"', '"numberResults": 2.0, "settings": {"maxTokens": 4.0}, "taskType"')
    )
    reply = await post(client, body.encode())
    assert reply.status_code == 200, reply.json()
    data = reply.json()["data"]
    assert len(data) == 2
    assert data[0]["seed"] == 5
    assert all(item["finishReason"] == "length" for item in data)


async def test_max_tokens_caps_the_completion(client: httpx.AsyncClient) -> None:
    item = (await post(client, [text_task(settings={"maxTokens": 5}, includeUsage=True)])).json()[
        "data"
    ][0]
    assert item["finishReason"] == "length"
    assert item["usage"]["completionTokens"] == 5


async def test_stop_sequences_cut_the_text(client: httpx.AsyncClient) -> None:
    full = (await post(client, [text_task(seed=3)])).json()["data"][0]["text"]
    word = full.split()[4]
    cut = (await post(client, [text_task(seed=3, settings={"stopSequences": [word]})])).json()[
        "data"
    ][0]
    assert cut["text"] == full[: full.index(word)]
    assert cut["finishReason"] == "stop"


async def test_thinking_adds_reasoning_and_thinking_tokens(client: httpx.AsyncClient) -> None:
    high = (
        await post(client, [text_task(settings={"thinkingLevel": "high"}, includeUsage=True)])
    ).json()["data"][0]
    off = (
        await post(client, [text_task(settings={"thinkingLevel": "off"}, includeUsage=True)])
    ).json()["data"][0]
    assert high["reasoningContent"]
    assert high["usage"]["thinkingTokens"] > 0
    assert "reasoningContent" not in off
    assert off["usage"]["thinkingTokens"] == 0
    # Omitted, the document's default applies ("high" in the bundled document).
    default = (await post(client, [text_task()])).json()["data"][0]
    assert "reasoningContent" in default


async def test_system_prompt_and_every_message_count(client: httpx.AsyncClient) -> None:
    short = (await post(client, [text_task(includeUsage=True)])).json()["data"][0]
    longer = (
        await post(
            client,
            [
                text_task(
                    includeUsage=True,
                    settings={"systemPrompt": "Be brief and precise, please."},
                    messages=[
                        {"role": "user", "content": "Hello there"},
                        {"role": "assistant", "content": "Hi!"},
                        {"role": "user", "content": "Why is the sky blue?"},
                    ],
                )
            ],
        )
    ).json()["data"][0]
    # "Be brief and precise, please." is 7 tokens, "Hello there" 2 and "Hi!" 2.
    assert longer["usage"]["promptTokens"] == short["usage"]["promptTokens"] + 7 + 2 + 2


async def test_usage_and_cost_only_when_asked(client: httpx.AsyncClient) -> None:
    plain = (await post(client, [text_task()])).json()["data"][0]
    assert "usage" not in plain
    assert "cost" not in plain
    priced = (await post(client, [text_task(includeCost=True, includeUsage=True)])).json()["data"][
        0
    ]
    usage = priced["usage"]
    expected = (
        usage["promptTokens"] * 0.0000006
        + (usage["completionTokens"] + usage["thinkingTokens"]) * 0.0000024
    )
    assert priced["cost"] == pytest.approx(expected)


async def test_pricing_is_configurable() -> None:
    app = create_app(config=MockConfig(prompt_price_per_token=1.0, completion_price_per_token=0))
    async with asgi_client(app) as http:
        item = (await post(http, [text_task(includeCost=True, includeUsage=True)])).json()["data"][
            0
        ]
    assert item["cost"] == item["usage"]["promptTokens"]


async def test_empty_array_is_valid(client: httpx.AsyncClient) -> None:
    reply = await post(client, [])
    assert (reply.status_code, reply.json()) == (200, {"data": []})


async def test_several_tasks_in_one_request(client: httpx.AsyncClient) -> None:
    other = "00000000-0000-4000-8000-000000000001"
    request = [text_task(), text_task(taskUUID=other, numberResults=2)]
    data = (await post(client, request)).json()["data"]
    assert [item["taskUUID"] for item in data] == [UUID, other, other]
    assert check_response({"data": data}, request=request) == []


async def test_ping_over_rest(client: httpx.AsyncClient) -> None:
    reply = await post(client, [{"taskType": "ping", "ping": True}])
    assert reply.json() == {"data": [{"taskType": "ping", "pong": True}]}


async def test_second_document_drives_the_mock() -> None:
    spec = openapi.load(SECOND_DOCUMENT)
    app = create_app(spec=spec)
    async with asgi_client(app) as http:
        good = await post(http, [text_task(model="minimax:m2.7@0")])
        bad = await post(http, [text_task()])
        health = (await http.get("/__mock/health")).json()
    assert good.status_code == 200
    # Its thinking setting is reasoningEffort, default "medium": reasoning is on.
    assert "reasoningContent" in good.json()["data"][0]
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["parameter"] == "model"
    assert health["model"] == "minimax:m2.7@0"


RULES = (
    ReplyRule(match="capital of France", text="Paris."),
    ReplyRule(regex=r"(?i)^say (\w+)$", text="Said.", finish_reason="length", reasoning="Easy."),
    ReplyRule(match="usage", text="Counted.", usage={"completionTokens": 99}),
    ReplyRule(match="streamed", delivery_method="stream", text="Only when streaming."),
)


@pytest.mark.parametrize(
    ("message", "text"),
    [
        pytest.param("What is the capital of France?", "Paris.", id="substring"),
        pytest.param("SAY hello", "Said.", id="regex"),
        pytest.param("say hello world", None, id="regex-does-not-match"),
        pytest.param("streamed please", None, id="delivery-method-narrows"),
    ],
)
async def test_scripted_replies_from_config(message: str, text: str | None) -> None:
    app = create_app(config=MockConfig(replies=RULES))
    async with asgi_client(app) as http:
        item = (
            await post(http, [text_task(messages=[{"role": "user", "content": message}])])
        ).json()["data"][0]
    if text is None:
        assert item["text"] not in {rule.text for rule in RULES}
    else:
        assert item["text"] == text


async def test_scripted_reply_fields_and_python_api(client: httpx.AsyncClient) -> None:
    mock = client.app.state.mock  # type: ignore[attr-defined]
    mock.reply(
        match="weather",
        text="Sunny.",
        finish_reason="stop",
        reasoning="Looked outside.",
        usage={"promptTokens": 1, "completionTokens": 2, "thinkingTokens": 3},
    )
    task = text_task(
        messages=[{"role": "user", "content": "How is the weather?"}], includeUsage=True
    )
    item = (await post(client, [task])).json()["data"][0]
    assert (item["text"], item["reasoningContent"]) == ("Sunny.", "Looked outside.")
    assert item["usage"] == {
        "promptTokens": 1,
        "completionTokens": 2,
        "totalTokens": 6,
        "thinkingTokens": 3,
    }
    await mock.reset()
    again = (await post(client, [task])).json()["data"][0]
    assert again["text"] != "Sunny."


def test_every_reply_to_drawn_requests_conforms() -> None:
    """Sweep strategy-drawn valid requests through a fresh app; check every reply (JSON or
    each stream event). Webhooks point at loopback, where the default allowlist lets them."""
    import asyncio

    from hypothesis import given, settings
    from hypothesis import strategies as st

    from contracts.strategies import tasks

    async def send(body: list[dict[str, Any]]) -> httpx.Response:
        async with asgi_client(create_app(config=MockConfig(processing_ms=0))) as http:
            return await post(http, body)

    bodies = st.lists(
        tasks(webhookURL=st.just("http://127.0.0.1:9/hook")),
        min_size=1,
        max_size=3,
        unique_by=lambda t: t["taskUUID"],
    )

    @settings(max_examples=120, deadline=None)
    @given(bodies)
    def sweep(body: list[dict[str, Any]]) -> None:
        reply = asyncio.run(send(body))
        streams = [
            t
            for t in body
            if t.get("deliveryMethod") == "stream" and "webhookURL" not in t and len(body) == 1
        ]
        assert reply.status_code == 200, reply.text
        if streams:
            assert reply.headers["content-type"].startswith("text/event-stream")
            *chunks, done = sse_payloads(reply.text)
            assert done == "[DONE]"
            for chunk in chunks:
                assert check_response(chunk, request=body) == []
        else:
            assert check_response(reply.json(), request=body) == []

    sweep()


def test_more_results_than_the_reply_pool_end_instead_of_hanging() -> None:
    # A document may allow more numberResults than there are distinct replies per prompt:
    # texts stay distinct while the pool lasts, then repeat; generation always ends.
    from mockserver._inference import generate
    from mockserver._text import REPLY_POOL

    count = REPLY_POOL + 6
    results = generate(
        text_task(numberResults=count, seed=7),
        spec=openapi.load(),
        config=MockConfig(),
        rules=(),
        seeds=lambda: 0,
    )
    assert [r.result_index for r in results] == list(range(count))
    assert len({r.text for r in results[:REPLY_POOL]}) == REPLY_POOL
