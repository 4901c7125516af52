"""Replies keep their own promises, for any document and in every delivery method: the texts
of one task are pairwise distinct after every cut (some SDKs de-duplicate results by text),
token counts match the text as sent, and no reasoning comes back when thinking is off."""

from __future__ import annotations

import asyncio
import json
import re
import string
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import websockets
from hypothesis import given, settings
from hypothesis import strategies as st

import openapi
from contracts import check_request, check_response
from contracts.strategies import tasks
from mockserver import MockConfig, create_app
from tests._support import SECOND_DOCUMENT, asgi_client, sse_payloads
from tests.mockserver.conftest import AUTH, Receiver, RunningServer

pytestmark = pytest.mark.anyio

# The documented counting rule (docs/mockserver.md): Latin words, each Han, kana or Hangul
# character (and CJK symbol), and punctuation marks. Restated here rather than imported, so
# the mock's own tokenizer is checked, not trusted.
CJK = (
    "\u1100-\u11ff\u3001-\u303f\u3040-\u30ff\u3130-\u318f\u31f0-\u31ff\u3400-\u4dbf"
    "\u4e00-\u9fff\ua960-\ua97f\uac00-\ud7ff\uf900-\ufaff\uff66-\uffdc\U00020000-\U0003ffff"
)
TOKEN = re.compile(f"[^\\W{CJK}]+|[{CJK}]|[^\\w\\s]")
PROMPT = "Why is the sky blue?"
# Stop sequences a reply of the mock is likely to hit: its separators and punctuation, common
# letters, and words of its openings.
VOCABULARY = (
    " ",
    ".",
    ",",
    ":",
    "\n",
    "e",
    "a",
    "o",
    "s",
    "the",
    "about",
    "is",
    "Here",
    "Let",
    "Good",
    "Thinking",
    "To",
    "In",
    "question",
)
DEADLINE_S = 10


def tokens(text: str) -> int:
    return len(TOKEN.findall(text))


def new_uuid() -> str:
    return str(uuid.uuid4())


def base_task(spec: openapi.Spec, **changes: Any) -> dict[str, Any]:
    task: dict[str, Any] = {
        "taskType": spec.inference_task_type,
        "taskUUID": new_uuid(),
        "model": spec.model_id,
        "includeUsage": True,
        "messages": [{"role": "user", "content": PROMPT}],
    }
    task.update(changes)
    return task


def most_results(spec: openapi.Spec) -> int:
    maximum = spec.parameter("numberResults").maximum
    assert isinstance(maximum, int), f"{spec.source} sets no numberResults maximum"
    return maximum


def thinking_off(spec: openapi.Spec) -> tuple[str, Any] | None:
    """The document's thinking setting and its off value, if it has one."""
    for parameter in spec.settings:
        for value in parameter.enum or ():
            if value in ("off", "none", "disabled"):
                return parameter.name, value
    return None


# -- delivering a task, whatever its method --------------------------------------------------


def _app(spec: openapi.Spec, **config: Any) -> Any:
    return create_app(spec=spec, config=MockConfig(processing_ms=0, **config))


async def _poll(http: httpx.AsyncClient, task_uuid: str) -> list[dict[str, Any]]:
    """getResponse until every generation is a success, within DEADLINE_S."""
    deadline = time.monotonic() + DEADLINE_S
    while True:
        reply = await http.post(
            "/v1", json=[{"taskType": "getResponse", "taskUUID": task_uuid}], headers=AUTH
        )
        assert reply.status_code == 200, reply.text
        items: list[dict[str, Any]] = reply.json()["data"]
        if items and all(i["status"] == "success" for i in items):
            return items
        assert time.monotonic() < deadline, f"still processing after {DEADLINE_S} s: {items}"
        await asyncio.sleep(0.01)


def _from_stream(body: str, task: dict[str, Any]) -> list[dict[str, Any]]:
    """The items a stream amounts to: each result's deltas joined, its final chunk's fields.
    Chunks carry no resultIndex (docs/mockserver.md): results follow one another, each
    closed by its final chunk, so a result's index is how many final chunks came before."""
    *chunks, done = sse_payloads(body)
    assert done == "[DONE]"
    items: dict[int, dict[str, Any]] = {}
    for chunk in chunks:
        assert check_response(chunk, request=[task]) == [], chunk
        assert "resultIndex" not in chunk, chunk
        index = sum(1 for i in items.values() if "finishReason" in i)
        item = items.setdefault(index, {"text": "", "resultIndex": index})
        delta = chunk["delta"]
        item["text"] += delta.get("text", "")
        if "reasoningContent" in delta:
            item["reasoningContent"] = item.get("reasoningContent", "") + delta["reasoningContent"]
        if chunk.get("finishReason") is not None:
            item["finishReason"] = chunk["finishReason"]
            if "usage" in chunk:
                item["usage"] = chunk["usage"]
    return [items[index] for index in sorted(items)]


async def deliver(app: Any, task: dict[str, Any]) -> list[dict[str, Any]]:
    """The result items a client of ``task``'s delivery method ends up with (in-process)."""
    async with asgi_client(app) as http:
        reply = await http.post("/v1", json=[task], headers=AUTH)
        assert reply.status_code == 200, reply.text
        method = task.get("deliveryMethod")
        if method == "stream":
            return _from_stream(reply.text, task)
        assert check_response(reply.json(), request=[task]) == []
        if method == "async":
            return await _poll(http, task["taskUUID"])
        items: list[dict[str, Any]] = reply.json()["data"]
        return items


async def deliver_by_webhook(app: Any, task: dict[str, Any]) -> list[dict[str, Any]]:
    hooks = Receiver(statuses=[])
    count = task.get("numberResults", 1)
    with hooks.server, RunningServer(app) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=DEADLINE_S) as http:
            ack = await http.post("/v1", json=[{**task, "webhookURL": hooks.url}], headers=AUTH)
            assert ack.status_code == 200, ack.text
            deadline = time.monotonic() + DEADLINE_S
            while len(hooks.received) < count:
                assert time.monotonic() < deadline, f"{len(hooks.received)} of {count} hooks"
                await asyncio.sleep(0.01)
    return sorted((b["data"][0] for b in hooks.received), key=lambda i: i["resultIndex"])


async def deliver_by_websocket(app: Any, task: dict[str, Any]) -> list[dict[str, Any]]:
    count = task.get("numberResults", 1)
    with RunningServer(app) as server:
        async with websockets.connect(server.url.replace("http://", "ws://") + "/v1") as ws:
            await ws.send('[{"taskType": "authentication", "apiKey": "ws-key"}]')
            await asyncio.wait_for(ws.recv(), DEADLINE_S)
            await ws.send(json.dumps([task]))
            frames = [
                json.loads(await asyncio.wait_for(ws.recv(), DEADLINE_S)) for _ in range(count)
            ]
    assert all(check_response(frame, request=[task]) == [] for frame in frames)
    items = [frame["data"][0] for frame in frames]
    return sorted(items, key=lambda i: i["resultIndex"])


# -- what every reply promises ---------------------------------------------------------------


def _cut_json(item: dict[str, Any]) -> bool:
    """Whether a JSON-mode reply was cut short: its text is no longer a whole JSON text."""
    try:
        json.loads(item["text"])
    except ValueError:
        return True
    return False


def assert_kept_promises(task: dict[str, Any], items: list[dict[str, Any]]) -> None:
    count = task.get("numberResults", 1)
    settings_ = task.get("settings") or {}
    stops = settings_.get("stopSequences") or ()
    cap = settings_.get("maxTokens")
    texts = [i["text"] for i in items]
    assert [i["resultIndex"] for i in items] == list(range(count))
    # JSON output (a document's outputFormat "JSON"): every JSON text starts alike, so texts
    # cut short (by maxTokens, or by a stop sequence such as '"' that every one holds early)
    # may coincide, and the cut is never bent to make them differ; uncut ones are drawn
    # for distinct seeds.
    json_mode = any(str(v).lower() == "json" for v in task.values() if isinstance(v, str))
    if json_mode and not stops:  # nothing but maxTokens can cut a JSON reply short
        for item in items:
            assert item["finishReason"] == "length" or not _cut_json(item), item
    cut = any(i["finishReason"] == "length" or (stops and _cut_json(i)) for i in items)
    if not (json_mode and cut):
        assert len(set(texts)) == count, f"duplicate texts: {texts}"
    for item in items:
        text, usage = item["text"], item["usage"]
        assert not [s for s in stops if s in text], (text, stops)
        assert usage["completionTokens"] == tokens(text), text
        assert (
            usage["totalTokens"]
            == usage["promptTokens"] + usage["completionTokens"] + usage["thinkingTokens"]
        )
        if cap is not None:
            assert usage["completionTokens"] <= cap
        if item["finishReason"] == "length":
            assert cap is not None, item
            assert usage["completionTokens"] == cap, item
        else:
            assert item["finishReason"] == "stop", item


@st.composite
def cut_tasks(draw: st.DrawFn, spec: openapi.Spec) -> dict[str, Any]:
    """A valid task of ``spec`` whose replies are likely to be cut short: any numberResults
    the document allows, small maxTokens, stop sequences from the mock's own prose."""
    task = draw(tasks(spec=spec))
    task.pop("webhookURL", None)  # delivered by a webhook: not in-process
    task["includeUsage"] = True
    low = int(spec.parameter("numberResults").minimum or 1)
    task["numberResults"] = draw(st.integers(low, most_results(spec)))
    seed = spec.parameter("seed")
    task.setdefault(
        "seed", draw(st.integers(int(seed.minimum or 0), int(seed.maximum or 2**31 - 1)))
    )
    given_settings = dict(task.get("settings") or {})
    cap = spec.parameter("settings.maxTokens")
    if draw(st.booleans()):
        small = int(min(cap.maximum or 12, 12))
        given_settings["maxTokens"] = draw(st.integers(int(cap.minimum or 1), small))
    else:
        given_settings.pop("maxTokens", None)
    stop = spec.parameter("settings.stopSequences")
    longest = (stop.schema.get("items") or {}).get("maxLength") or 64
    words = [w for w in VOCABULARY if len(w) <= longest]
    given_settings["stopSequences"] = draw(
        st.lists(
            st.sampled_from(words)
            | st.text(st.characters(codec="ascii"), min_size=1, max_size=min(3, longest)),
            max_size=min(stop.max_items or 6, 6),
        )
    )
    task["settings"] = given_settings
    return task


def test_drawn_replies_are_distinct_and_counted(any_spec: openapi.Spec) -> None:
    @settings(max_examples=120, deadline=None)
    @given(cut_tasks(any_spec))
    def check(task: dict[str, Any]) -> None:
        assert check_request([task], spec=any_spec) == []  # the draw itself stays valid
        items = asyncio.run(deliver(_app(any_spec), task))
        assert_kept_promises(task, items)
        again = asyncio.run(deliver(_app(any_spec), {**task, "taskUUID": new_uuid()}))
        assert [i["text"] for i in again] == [i["text"] for i in items]  # same seed, same text

    check()


# -- edge cases ------------------------------------------------------------------------------


def test_json_replies_a_stop_sequence_cuts_alike_stay_cut_alike() -> None:
    # Every JSON reply opens with '{"': a stop sequence '"' cuts each one to "{". The mock
    # does not bend the cut to make the texts differ, and says "stop" (found by Hypothesis).
    spec = openapi.load(SECOND_DOCUMENT)
    task = {
        "taskType": "textInference",
        "taskUUID": str(uuid.uuid4()),
        "model": spec.model_id,
        "messages": [{"role": "user", "content": "What is the capital of Australia?"}],
        "outputFormat": "JSON",
        "numberResults": 2,
        "seed": 5,
        "includeUsage": True,
        "settings": {"stopSequences": ['"']},
    }
    assert check_request([task], spec=spec) == []
    items = asyncio.run(deliver(_app(spec), task))
    assert [(i["text"], i["finishReason"]) for i in items] == [("{", "stop"), ("{", "stop")]
    assert_kept_promises(task, items)


@dataclass(frozen=True)
class Cut:
    """An edge case: the settings, built from what the uncut replies say."""

    settings: Callable[[list[str]], dict[str, Any]]
    expect: Callable[[list[dict[str, Any]]], None] = lambda items: None


def _all_length(items: list[dict[str, Any]]) -> None:
    assert {i["finishReason"] for i in items} == {"length"}


def _one_token_each(items: list[dict[str, Any]]) -> None:
    _all_length(items)
    assert all(tokens(i["text"]) == 1 for i in items)


def _first_is_empty(items: list[dict[str, Any]]) -> None:
    # Result 0 is its own reply, cut at position 0: an empty text is a valid reply, once.
    assert items[0]["text"] == ""
    assert all(i["text"] for i in items[1:])


CUTS = {
    "maxTokens-1-at-most-results": Cut(lambda uncut: {"maxTokens": 1}, _one_token_each),
    "maxTokens-2-at-most-results": Cut(lambda uncut: {"maxTokens": 2}, _all_length),
    "stop-at-position-0": Cut(lambda uncut: {"stopSequences": [uncut[0][0]]}, _first_is_empty),
    "stop-is-the-first-word": Cut(
        lambda uncut: {"stopSequences": [uncut[0].split()[0]]}, _first_is_empty
    ),
    "stop-is-a-common-word": Cut(lambda uncut: {"stopSequences": ["about"]}),
    "stop-is-a-space": Cut(lambda uncut: {"stopSequences": [" "]}),
    "stop-is-a-period": Cut(lambda uncut: {"stopSequences": ["."]}),
    "stop-is-a-space-and-maxTokens-1": Cut(lambda uncut: {"stopSequences": [" "], "maxTokens": 1}),
    "every-first-letter-stopped": Cut(
        lambda uncut: {"stopSequences": sorted({t[0] for t in uncut})}
    ),
    "first-letters-stopped-and-maxTokens-1": Cut(
        lambda uncut: {"stopSequences": sorted({t[0] for t in uncut}), "maxTokens": 1}
    ),
}


@pytest.mark.parametrize("method", ["sync", "stream"])
@pytest.mark.parametrize("case", list(CUTS.values()), ids=list(CUTS))
async def test_edge_cases_keep_texts_distinct(
    any_spec: openapi.Spec, case: Cut, method: str
) -> None:
    count = most_results(any_spec)
    uncut = base_task(any_spec, numberResults=count, seed=7)
    natural = [i["text"] for i in await deliver(_app(any_spec), uncut)]
    task = {
        **uncut,
        "taskUUID": new_uuid(),
        "deliveryMethod": method,
        "settings": case.settings(natural),
    }
    assert check_request([task], spec=any_spec) == []
    items = await deliver(_app(any_spec), task)
    assert_kept_promises(task, items)
    case.expect(items)


async def test_result_zero_is_the_reply_numberResults_1_gives(any_spec: openapi.Spec) -> None:
    settings_ = {"maxTokens": 1}
    one = await deliver(_app(any_spec), base_task(any_spec, seed=3, settings=settings_))
    many = await deliver(
        _app(any_spec),
        base_task(any_spec, seed=3, settings=settings_, numberResults=most_results(any_spec)),
    )
    assert many[0]["text"] == one[0]["text"]


async def test_when_no_distinct_text_survives_the_results_repeat(any_spec: openapi.Spec) -> None:
    # The documented rule: a stop sequence for every printable character leaves every
    # candidate empty; the mock sends the empty text again rather than break the cut.
    stop = any_spec.parameter("settings.stopSequences")
    if stop.max_items is not None and stop.max_items < len(string.printable):
        pytest.skip(f"{any_spec.source} allows only {stop.max_items} stop sequences")
    count = most_results(any_spec)
    task = base_task(
        any_spec, numberResults=count, settings={"stopSequences": list(string.printable)}
    )
    assert check_request([task], spec=any_spec) == []
    items = await deliver(_app(any_spec), task)
    assert [i["text"] for i in items] == [""] * count
    assert {(i["finishReason"], i["usage"]["completionTokens"]) for i in items} == {("stop", 0)}


async def test_a_scripted_text_is_sent_as_written_for_every_result(any_spec: openapi.Spec) -> None:
    app = _app(any_spec)
    app.state.mock.reply(match="sky", text="Rayleigh scattering.")
    items = await deliver(app, base_task(any_spec, numberResults=most_results(any_spec)))
    assert [i["text"] for i in items] == ["Rayleigh scattering."] * most_results(any_spec)


# -- thinking off: no reasoning, scripted or generated, in any delivery ----------------------

DELIVERIES: dict[str, Callable[[Any, dict[str, Any]], Any]] = {
    "sync": deliver,
    "async": deliver,
    "stream": deliver,
    "webhook": deliver_by_webhook,
    "websocket": deliver_by_websocket,
}


@pytest.mark.parametrize("thinking", ["off", "on"])
@pytest.mark.parametrize("source", ["scripted", "generated"])
@pytest.mark.parametrize("via", list(DELIVERIES))
async def test_thinking_off_sends_no_reasoning(
    spec: openapi.Spec, via: str, source: str, thinking: str
) -> None:
    setting = thinking_off(spec)
    assert setting is not None, f"{spec.source} has no thinking setting with an off value"
    name, off = setting
    app = _app(spec)
    if source == "scripted":
        app.state.mock.reply(
            match="sky",
            text="Rayleigh scattering.",
            reasoning="Short wavelengths scatter more.",
            usage={"thinkingTokens": 5},
        )
    count = 2
    task = base_task(spec, numberResults=count)
    if via in ("async", "stream"):
        task["deliveryMethod"] = via
    if thinking == "off":
        task["settings"] = {name: off}
    assert check_request([task], spec=spec) == []
    items = await DELIVERIES[via](app, task)
    assert len(items) == count
    for item in items:
        if thinking == "off":
            assert "reasoningContent" not in item, item
            assert item["usage"]["thinkingTokens"] == 0
        elif source == "scripted":
            assert item["reasoningContent"] == "Short wavelengths scatter more."
            assert item["usage"]["thinkingTokens"] == 5
        else:
            assert item["reasoningContent"]
            assert item["usage"]["thinkingTokens"] == tokens(item["reasoningContent"])
        if source == "scripted":
            assert item["text"] == "Rayleigh scattering."
