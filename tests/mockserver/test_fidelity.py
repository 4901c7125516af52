"""Where the mock follows the protocol reference (docs/errors.md, "Where the mock follows the
reference"): error items carry ``documentation`` (section 8); stream chunks carry no
``resultIndex`` and results follow one another (section 4); CJK text counts a token per
character; images add prompt tokens; a long time to first token is filled with keep-alive
comments (section 4), which both official SDKs skip."""

# Full-width letters and punctuation are what the token cases are about, not look-alikes.
# ruff: noqa: RUF001

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from hypothesis import given, settings
from hypothesis import strategies as st

import openapi
from contracts import check_request, check_response
from mockserver import MockConfig, create_app
from mockserver._text import cached_count, count_tokens, take_tokens
from tests._sdks import SCENARIOS, check_stream, run_client
from tests._support import asgi_client, sse_payloads
from tests.mockserver.conftest import AUTH, RunningServer, text_task

pytestmark = pytest.mark.anyio

ERRORS_PAGE = "https://runware.ai/docs/platform/errors"
DEADLINE_S = 30  # the bound on any one reply; a loaded machine is slow, not wrong
PROMPT = "Why is the sky blue?"


def new_uuid() -> str:
    return str(uuid.uuid4())


def _client(app: Any) -> httpx.AsyncClient:
    return asgi_client(app, timeout=DEADLINE_S)


# -- 1. every error item links Runware's errors page (reference section 8) ------------------


async def _missing_key(app: Any) -> list[Any]:
    async with _client(app) as http:
        return [(await http.post("/v1", json=[text_task()])).json()]


async def _wrong_key(app: Any) -> list[Any]:
    async with _client(app) as http:
        return [
            (
                await http.post(
                    "/v1", json=[text_task()], headers={"Authorization": "Bearer not-the-key"}
                )
            ).json()
        ]


async def _violation(app: Any) -> list[Any]:
    # Refused by the contract (contracts' Violation.to_error), not by the mock's own rules.
    async with _client(app) as http:
        task = text_task(settings={"temperature": 99}, bogus=True)
        return [(await http.post("/v1", json=[task], headers=AUTH)).json()]


async def _unknown_async_task(app: Any) -> list[Any]:
    async with _client(app) as http:
        poll = [{"taskType": "getResponse", "taskUUID": new_uuid()}]
        return [(await http.post("/v1", json=poll, headers=AUTH)).json()]


async def _reused_task_uuid(app: Any) -> list[Any]:
    task = text_task(taskUUID=new_uuid(), deliveryMethod="async")
    async with _client(app) as http:
        await http.post("/v1", json=[task], headers=AUTH)
        return [(await http.post("/v1", json=[task], headers=AUTH)).json()]


async def _header_fault(app: Any) -> list[Any]:
    async with _client(app) as http:
        return [
            (
                await http.post(
                    "/v1", json=[text_task()], headers={**AUTH, "X-Runware-Mock-Error": "503"}
                )
            ).json()
        ]


async def _bad_header_fault(app: Any) -> list[Any]:
    async with _client(app) as http:
        return [
            (
                await http.post(
                    "/v1", json=[text_task()], headers={**AUTH, "X-Runware-Mock-Error": "soon"}
                )
            ).json()
        ]


async def _unknown_route(app: Any) -> list[Any]:
    async with _client(app) as http:
        return [(await http.get("/v2/nothing-here", headers=AUTH)).json()]


async def _mid_stream_error(app: Any) -> list[Any]:
    app.state.mock.fail(fault="error-frame", after_chunks=2)
    async with _client(app) as http:
        reply = await http.post("/v1", json=[text_task(deliveryMethod="stream")], headers=AUTH)
    return [p for p in sse_payloads(reply.text) if isinstance(p, dict) and "errors" in p]


async def _websocket_stream(app: Any) -> list[Any]:
    with RunningServer(app) as server:
        async with websockets.connect(server.url.replace("http://", "ws://") + "/v1") as ws:
            await ws.send('[{"taskType": "authentication", "apiKey": "ws-key"}]')
            await asyncio.wait_for(ws.recv(), DEADLINE_S)
            await ws.send(json.dumps([text_task(taskUUID=new_uuid(), deliveryMethod="stream")]))
            return [json.loads(await asyncio.wait_for(ws.recv(), DEADLINE_S))]


ERROR_CASES: dict[str, tuple[Callable[[Any], Awaitable[list[Any]]], dict[str, Any]]] = {
    "missing-api-key": (_missing_key, {}),
    "wrong-api-key": (_wrong_key, {"api_keys": ("the-key",)}),
    "contract-violation": (_violation, {}),
    "unknown-async-task": (_unknown_async_task, {}),
    "reused-async-taskUUID": (_reused_task_uuid, {}),
    "fault-header": (_header_fault, {}),
    "malformed-fault-header": (_bad_header_fault, {}),
    "unknown-route": (_unknown_route, {}),
    "mid-stream-error-frame": (_mid_stream_error, {}),
    "stream-over-websocket": (_websocket_stream, {}),
}


@pytest.mark.parametrize("case", list(ERROR_CASES), ids=list(ERROR_CASES))
async def test_every_error_item_links_the_errors_page(case: str) -> None:
    produce, config = ERROR_CASES[case]
    bodies = await produce(create_app(config=MockConfig(processing_ms=0, **config)))
    items = [item for body in bodies for item in body.get("errors", [])]
    assert items, f"{case}: no error came back: {bodies}"
    for item in items:
        assert item.get("documentation") == ERRORS_PAGE, item
        assert {"code", "message"} <= item.keys(), item
    for body in bodies:
        assert check_response(body) == [], body


def test_violations_link_the_errors_page_outside_the_mock(spec: openapi.Spec) -> None:
    found = check_request([text_task(settings={"temperature": 99})], spec=spec)
    assert found
    assert {v.to_error()["documentation"] for v in found} == {ERRORS_PAGE}


# -- 2. streams: no resultIndex; results one after another (reference section 4) ------------


def stream_results(body: str) -> list[dict[str, Any]]:
    """A stream's results as a client without resultIndex reads them: each result is the
    deltas up to and including the next chunk with a finishReason."""
    *chunks, done = sse_payloads(body)
    assert done == "[DONE]"
    results: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for chunk in chunks:
        assert "resultIndex" not in chunk, chunk
        if current is None:
            current = {"text": "", "reasoning": "", "deltas": 0}
            results.append(current)
        current["text"] += chunk["delta"].get("text", "")
        current["reasoning"] += chunk["delta"].get("reasoningContent", "")
        current["deltas"] += bool(chunk["delta"])
        if chunk.get("finishReason") is not None:
            assert chunk["delta"] == {}, chunk
            current["final"] = chunk
            current = None
    assert current is None, f"the last result has no final chunk: {results[-1]}"
    return results


def _max_results(spec: openapi.Spec) -> int:
    maximum = spec.parameter("numberResults").maximum
    assert isinstance(maximum, int), f"{spec.source} sets no numberResults maximum"
    return maximum


def test_stream_results_follow_one_another_and_match_sync(spec: openapi.Spec) -> None:
    app = create_app(spec=spec, config=MockConfig(processing_ms=0))
    thinking = spec.parameter("settings.thinkingLevel")

    @settings(max_examples=40, deadline=None)
    @given(
        seed=st.integers(0, 2**31 - 1),
        count=st.integers(1, _max_results(spec)),
        level=st.sampled_from([None, *(thinking.enum or ())]),
        cap=st.none() | st.integers(1, 8),
    )
    def check(seed: int, count: int, level: Any, cap: int | None) -> None:
        given_settings: dict[str, Any] = {} if level is None else {"thinkingLevel": level}
        if cap is not None:
            given_settings["maxTokens"] = cap
        task = text_task(
            taskUUID=new_uuid(),
            seed=seed,
            numberResults=count,
            includeUsage=True,
            includeCost=True,
            settings=given_settings,
        )
        assert check_request([task], spec=spec) == []

        async def both() -> tuple[str, list[dict[str, Any]]]:
            async with _client(app) as http:
                stream = await http.post(
                    "/v1", json=[{**task, "deliveryMethod": "stream"}], headers=AUTH
                )
                sync = await http.post(
                    "/v1", json=[{**task, "deliveryMethod": "sync"}], headers=AUTH
                )
            assert stream.status_code == sync.status_code == 200, (stream.text, sync.text)
            return stream.text, sync.json()["data"]

        body, items = asyncio.run(both())
        results = stream_results(body)
        items.sort(key=lambda item: item["resultIndex"])
        assert len(results) == count
        for result, item in zip(results, items, strict=True):
            assert result["text"] == item["text"]
            assert result["reasoning"] == item.get("reasoningContent", "")
            final = result["final"]
            assert final["finishReason"] == item["finishReason"]
            assert final["usage"] == item["usage"]
            assert final["cost"] == item["cost"]

    check()


STREAM_CASES = {
    # One result: the framing every SDK parses, one final chunk.
    "one-result": 1,
    # Two and the document's most: each result closed by its own final chunk, none indexed.
    "two-results": 2,
    "most-results": None,
}


@pytest.mark.parametrize("count", list(STREAM_CASES.values()), ids=list(STREAM_CASES))
async def test_stream_chunks_carry_no_result_index(
    any_spec: openapi.Spec, count: int | None
) -> None:
    count = count or _max_results(any_spec)
    task = {
        "taskType": any_spec.inference_task_type,
        "taskUUID": new_uuid(),
        "model": any_spec.model_id,
        "deliveryMethod": "stream",
        "numberResults": count,
        "includeUsage": True,
        "messages": [{"role": "user", "content": PROMPT}],
    }
    async with _client(create_app(spec=any_spec, config=MockConfig(seed=3))) as http:
        reply = await http.post("/v1", json=[task], headers=AUTH)
    assert reply.status_code == 200, reply.text
    assert '"resultIndex"' not in reply.text
    results = stream_results(reply.text)
    assert len(results) == count
    assert len({r["text"] for r in results}) == count  # distinct, as in every delivery
    assert all(r["deltas"] for r in results)


# -- 3. tokens: CJK characters one each, Latin words as before ------------------------------


@dataclass(frozen=True)
class Count:
    text: str
    tokens: int


COUNTS = {
    "japanese-sentence": Count("今日は良い天気ですね。", 11),
    "chinese-sentence": Count("天空为什么是蓝色的？", 10),
    "korean-sentence": Count("하늘은 왜 파란가요?", 9),
    "katakana-with-long-vowel-mark": Count("コーヒー", 4),
    "iteration-mark-and-ideographic-zero": Count("時々〇", 3),
    "full-width-punctuation": Count("「はい」、！", 6),
    "ideographic-space-is-no-token": Count("日\u3000本", 2),
    "half-width-katakana": Count("ｶﾀｶﾅ", 4),
    "han-beside-latin": Count("abc日本def", 4),
    "latin-words-as-before": Count("Why is the sky blue? It's Rayleigh scattering.", 12),
    "full-width-latin-is-a-word": Count("ＡＢＣ１２３", 1),
    "accented-latin-word": Count("déjà vu", 2),
    "supplementary-ideograph": Count("𠮷野家", 3),
    "empty": Count("", 0),
}


@pytest.mark.parametrize("case", list(COUNTS.values()), ids=list(COUNTS))
def test_token_counts(case: Count) -> None:
    assert count_tokens(case.text) == case.tokens
    assert cached_count(case.text) == case.tokens


CJK_ALPHABET = (
    st.characters(min_codepoint=0x3040, max_codepoint=0x30FF)
    | st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
    | st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3)
    | st.sampled_from("。、！？「」\u3000々〇ーｶﾞ𠮷")
)
MIXED_TEXT = st.text(CJK_ALPHABET | st.characters(codec="ascii") | st.characters(), max_size=80)


@settings(max_examples=400, deadline=None)
@given(text=MIXED_TEXT, limit=st.integers(-2, 90))
def test_a_cut_holds_exactly_the_tokens_asked_for(text: str, limit: int) -> None:
    cut = take_tokens(text, limit)
    assert text.startswith(cut)
    assert count_tokens(cut) == min(max(limit, 0), count_tokens(text))


@settings(max_examples=200, deadline=None)
@given(text=st.text(CJK_ALPHABET.filter(lambda c: not c.isspace()), max_size=40))
def test_each_cjk_character_is_a_token(text: str) -> None:
    assert count_tokens(text) == len(text)


@settings(max_examples=200, deadline=None)
@given(text=st.text(st.characters(codec="ascii"), max_size=80))
def test_ascii_counts_as_before(text: str) -> None:
    assert count_tokens(text) == len(re.findall(r"\w+|[^\w\s]", text))


async def _one(app: Any, task: dict[str, Any]) -> dict[str, Any]:
    async with _client(app) as http:
        reply = await http.post("/v1", json=[task], headers=AUTH)
    assert reply.status_code == 200, reply.text
    item: dict[str, Any] = reply.json()["data"][0]
    return item


async def test_a_cjk_prompt_counts_a_token_per_character() -> None:
    app = create_app(config=MockConfig(processing_ms=0))
    latin = await _one(
        app, text_task(includeUsage=True, messages=[{"role": "user", "content": "a"}])
    )
    sentence = [{"role": "user", "content": "今日は良い天気ですね。"}]
    cjk = await _one(app, text_task(includeUsage=True, messages=sentence))
    assert cjk["usage"]["promptTokens"] - latin["usage"]["promptTokens"] == 11 - 1


@pytest.mark.parametrize("method", ["sync", "stream"])
async def test_max_tokens_cuts_cjk_per_character(method: str) -> None:
    app = create_app(config=MockConfig(processing_ms=0))
    app.state.mock.reply(match="sky", text="空が青いのはレイリー散乱のためです。")
    task = text_task(includeUsage=True, deliveryMethod=method, settings={"maxTokens": 5})
    async with _client(app) as http:
        reply = await http.post("/v1", json=[task], headers=AUTH)
    if method == "stream":
        (result,) = stream_results(reply.text)
        text, final = result["text"], result["final"]
        assert result["deltas"] == 5  # one CJK character a delta, as they are counted
    else:
        final = reply.json()["data"][0]
        text = final["text"]
    assert text == "空が青いの"
    assert final["finishReason"] == "length"
    assert final["usage"]["completionTokens"] == 5


# -- 4. images add prompt tokens; the text of parts is their text, never their JSON ---------


def _with_content_parts(spec: openapi.Spec, folder: Path) -> openapi.Spec:
    """The bundled document with message content as a string or a list of text and image
    parts (the shape OpenAI-style vision models use), loaded as a user would load it."""
    document = spec.to_dict()  # a mutable copy
    message = document["components"]["schemas"]["RequestBody"]["items"]["properties"]["messages"][
        "items"
    ]
    text_schema = message["properties"]["content"]
    message["properties"]["content"] = {
        "anyOf": [
            text_schema,
            {
                "type": "array",
                "minItems": 1,
                "items": {
                    "oneOf": [
                        {
                            "type": "object",
                            "required": ["type", "text"],
                            "additionalProperties": False,
                            "properties": {"type": {"const": "text"}, "text": text_schema},
                        },
                        {
                            "type": "object",
                            "required": ["type", "image_url"],
                            "additionalProperties": False,
                            "properties": {
                                "type": {"const": "image_url"},
                                "image_url": {
                                    "type": "object",
                                    "required": ["url"],
                                    "properties": {"url": {"type": "string", "format": "uri"}},
                                },
                            },
                        },
                    ]
                },
            },
        ]
    }
    path = folder / "parts.openapi.json"
    path.write_text(json.dumps(document))
    return openapi.load(path)


@pytest.fixture(scope="module")
def parts_spec(tmp_path_factory: pytest.TempPathFactory) -> openapi.Spec:
    return _with_content_parts(openapi.load(), tmp_path_factory.mktemp("parts"))


IMAGE_TOKENS = 256  # prompt tokens per image: the mock's documented policy (docs/mockserver.md)
IMAGE = {"type": "image_url", "image_url": {"url": "https://example.com/sky.png"}}
IMAGE_URL = "https://example.com/sky.png"

# content of the one user message, the task's inputs, and how many images that is
IMAGE_CASES = {
    "text-part-only": ([{"type": "text", "text": PROMPT}], None, 0),
    "text-and-one-image-part": ([{"type": "text", "text": PROMPT}, IMAGE], None, 1),
    "image-part-first": ([IMAGE, {"type": "text", "text": PROMPT}], None, 1),
    "two-image-parts": ([{"type": "text", "text": PROMPT}, IMAGE, IMAGE], None, 2),
    "string-content-and-inputs-images": (PROMPT, {"images": [IMAGE_URL, IMAGE_URL]}, 2),
    "parts-and-inputs-images": (
        [{"type": "text", "text": PROMPT}, IMAGE],
        {"images": [IMAGE_URL]},
        2,
    ),
}


@pytest.mark.parametrize("case", list(IMAGE_CASES), ids=list(IMAGE_CASES))
async def test_images_add_prompt_tokens(parts_spec: openapi.Spec, case: str) -> None:
    content, inputs, images = IMAGE_CASES[case]
    app = create_app(spec=parts_spec, config=MockConfig(processing_ms=0))
    plain = text_task(taskUUID=new_uuid(), seed=5, includeUsage=True)
    task = {**plain, "taskUUID": new_uuid(), "messages": [{"role": "user", "content": content}]}
    if inputs is not None:
        task["inputs"] = inputs
    assert check_request([task], spec=parts_spec) == []
    expected, item = await _one(app, plain), await _one(app, task)
    assert (
        item["usage"]["promptTokens"] == expected["usage"]["promptTokens"] + images * IMAGE_TOKENS
    )
    # The reply is about the text, as for the same words sent as a string.
    assert item["text"] == expected["text"]


async def test_the_bundled_documents_inputs_images_add_prompt_tokens(spec: openapi.Spec) -> None:
    assert (
        "inputs" in spec.to_dict()["components"]["schemas"]["RequestBody"]["items"]["properties"]
    ), "the bundled document lost inputs.images"
    app = create_app(spec=spec, config=MockConfig(processing_ms=0))
    plain = text_task(seed=5, includeUsage=True)
    with_images = {**plain, "inputs": {"images": [IMAGE_URL] * 3}}
    assert check_request([with_images], spec=spec) == []
    base, item = await _one(app, plain), await _one(app, with_images)
    assert item["usage"]["promptTokens"] == base["usage"]["promptTokens"] + 3 * IMAGE_TOKENS


@pytest.mark.parametrize(
    ("match", "matches"),
    [
        pytest.param("sky", True, id="the-text-of-a-text-part"),
        pytest.param('"type"', False, id="never-the-json-of-the-parts"),
        pytest.param("example.com", False, id="never-an-image-url"),
    ],
)
async def test_rules_read_the_text_of_parts(
    parts_spec: openapi.Spec, match: str, matches: bool
) -> None:
    app = create_app(spec=parts_spec, config=MockConfig(processing_ms=0))
    app.state.mock.reply(match=match, text="Scripted.")
    task = text_task(
        messages=[{"role": "user", "content": [{"type": "text", "text": PROMPT}, IMAGE]}]
    )
    item = await _one(app, task)
    assert (item["text"] == "Scripted.") is matches


# -- 5. keep-alive comments while the first token is awaited (reference section 4) ----------

KEEPALIVE = ": keep-alive\n\n"

# ttft_ms, stream_keepalive_s, and how many keep-alives may come (inclusive range)
KEEPALIVE_CASES = {
    "long-ttft-fills-with-comments": (600, 0.05, (1, 12)),
    "ttft-shorter-than-the-interval": (100, 5.0, (0, 0)),
    "interval-0-sends-none": (300, 0.0, (0, 0)),
    "no-ttft-no-wait": (0, 0.05, (0, 0)),
}


def _raw_stream(url: str, task: dict[str, Any]) -> str:
    with (
        httpx.Client(base_url=url, timeout=DEADLINE_S) as http,
        http.stream("POST", "/v1", json=[task], headers=AUTH) as reply,
    ):
        assert reply.status_code == 200
        return "".join(reply.iter_text())


@pytest.mark.parametrize("case", list(KEEPALIVE_CASES), ids=list(KEEPALIVE_CASES))
def test_keep_alive_comments_before_the_first_token(case: str) -> None:
    ttft, every, (least, most) = KEEPALIVE_CASES[case]
    task = text_task(deliveryMethod="stream", seed=9, includeUsage=True)
    paced = create_app(config=MockConfig(ttft_ms=ttft, stream_keepalive_s=every))
    with RunningServer(paced) as server:
        body = _raw_stream(server.url, task)
    with RunningServer(create_app(config=MockConfig())) as server:
        plain = _raw_stream(server.url, task)
    head, data, rest = body.partition("data: ")
    assert data, body
    assert head == KEEPALIVE * (len(head) // len(KEEPALIVE)), head  # only whole comments
    assert least <= head.count(KEEPALIVE) <= most, head
    assert KEEPALIVE not in rest  # only while the first token is awaited
    assert data + rest == plain  # the events themselves are unchanged


@pytest.mark.parametrize("sdk", ["new", "legacy"])
def test_official_sdks_skip_keep_alive_comments(sdk: str) -> None:
    (scenario,) = [s for s in SCENARIOS if s.sdk == sdk and s.stream]
    app = create_app(config=MockConfig(seed=1, ttft_ms=400, stream_keepalive_s=0.05))
    with RunningServer(app) as server:
        sent = _raw_stream(server.url, text_task(deliveryMethod="stream"))
        assert sent.startswith(KEEPALIVE)  # this server does send them
        out, stderr = run_client(scenario, server.url, openapi.load().model_id)
    assert "error" not in out, f"{scenario.id}: {out}\n{stderr[-2000:]}"
    check_stream(scenario, out)
