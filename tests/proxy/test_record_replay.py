"""Record a session through the proxy, then replay it offline: same texts, new taskUUIDs."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from mockserver import ConfigError, MockConfig, create_app, install_replay
from mockserver._replay import rewrite
from tests._support import sse_payloads
from tests.mockserver.conftest import RunningServer
from tests.proxy.conftest import AUTH, KEY, clear, journal, running_proxy, text_task


def _session(server: RunningServer) -> dict[str, Any]:
    """One client session: a sync batch, a stream, async + poll, and a WebSocket task.
    Returns what it got back and the taskUUIDs it sent, in order."""
    sync = text_task(deliveryMethod="sync", numberResults=2, includeUsage=True)
    stream = text_task("Name a blue flower.", deliveryMethod="stream")
    later = text_task("And a blue bird?", deliveryMethod="async")
    over_ws = text_task("Why is the sea blue?", deliveryMethod="sync")
    url = f"{server.url}/v1"
    out: dict[str, Any] = {"uuids": [t["taskUUID"] for t in (sync, stream, later, over_ws)]}
    out["sync"] = httpx.post(url, json=[sync], headers=AUTH, timeout=30).json()
    streamed = httpx.post(url, json=[stream], headers=AUTH, timeout=30).text
    out["stream"] = [event for event in sse_payloads(streamed) if event != "[DONE]"]
    out["ack"] = httpx.post(url, json=[later], headers=AUTH, timeout=30).json()
    poll = [{"taskType": "getResponse", "taskUUID": later["taskUUID"]}]
    for _ in range(100):
        out["poll"] = httpx.post(url, json=poll, headers=AUTH, timeout=30).json()
        if out["poll"]["data"][0].get("status") == "success":
            break
        time.sleep(0.02)

    async def websocket() -> Any:
        async with connect(url.replace("http://", "ws://", 1)) as socket:
            await socket.send(json.dumps([{"taskType": "authentication", "apiKey": KEY}]))
            await asyncio.wait_for(socket.recv(), 10)
            await socket.send(json.dumps([over_ws]))
            return json.loads(await asyncio.wait_for(socket.recv(), 10))

    out["ws"] = asyncio.run(websocket())
    return out


def _texts(session: dict[str, Any]) -> list[str]:
    return (
        [item["text"] for item in session["sync"]["data"]]
        + ["".join(chunk["delta"].get("text", "") for chunk in session["stream"])]
        + [session["poll"]["data"][0]["text"], session["ws"]["data"][0]["text"]]
    )


@pytest.fixture
def recorded(upstream: str, tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    clear(upstream)
    folder = tmp_path / "cassettes"
    with running_proxy(f"{upstream}/v1", record=folder / "session.json") as proxy:
        original = _session(proxy)
    return folder, original


def _replaying(folder: Path, **options: Any) -> RunningServer:
    app = create_app(config=MockConfig(seed=99, processing_ms=0))
    install_replay(app, cassettes=folder, **options)
    return RunningServer(app)


def test_a_recorded_session_replays_its_texts_byte_for_byte_with_new_task_uuids(
    recorded: tuple[Path, dict[str, Any]], upstream: str, network_audit: Any
) -> None:
    folder, original = recorded
    clear(upstream)
    with _replaying(folder) as server:
        replayed = _session(server)
        entries = journal(server.url)
    assert network_audit.foreign() == []  # nothing but loopback was even looked up
    assert _texts(replayed) == _texts(original)
    assert replayed["uuids"] != original["uuids"]
    rename = dict(zip(original["uuids"], replayed["uuids"], strict=True))
    for part in ("sync", "stream", "ack", "poll", "ws"):
        assert replayed[part] == rewrite(original[part], rename), part
    assert replayed["sync"]["data"][0]["taskUUID"] == replayed["uuids"][0]
    assert journal(upstream) == []  # nothing went to the upstream
    assert all(e["valid"] for e in entries)
    assert [e["origin"].split(" ")[0] for e in entries if e["method"] == "POST"] == ["replayed"] * 4


def test_the_cassette_is_readable_and_holds_no_secret(
    recorded: tuple[Path, dict[str, Any]],
) -> None:
    folder, original = recorded
    (cassette,) = folder.glob("*.json")
    text = cassette.read_text()
    assert KEY not in text
    assert "authorization" not in text.lower()
    data = json.loads(text)
    assert text == json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert data["format"] == 1
    assert data["model"] == "alibaba:qwen@3.5-397b"
    assert data["kit"]
    kinds = [i["kind"] for i in data["interactions"]]
    assert kinds == ["rest", "stream", "rest", "rest", "websocket"]
    # taskUUIDs as recorded; every exchange with its timing.
    assert data["interactions"][0]["request"]["body"][0]["taskUUID"] == original["uuids"][0]
    assert all(i["startedMs"] >= 0 for i in data["interactions"])
    assert all(i["response"]["durationMs"] >= 0 for i in data["interactions"][:-1])
    assert data["interactions"][-1]["durationMs"] >= 0  # a socket's: open to close
    assert all("atMs" in e for e in data["interactions"][1]["response"]["events"])
    auth = data["interactions"][-1]["frames"][0]
    assert auth["from"] == "client"
    assert auth["body"][0]["apiKey"] == "[removed]"


def test_a_miss_names_the_closest_recording_and_where_it_differs(
    recorded: tuple[Path, dict[str, Any]],
) -> None:
    folder, _ = recorded
    with _replaying(folder) as server:
        task = text_task(
            "Why is the sky green?", deliveryMethod="sync", numberResults=2, includeUsage=True
        )
        reply = httpx.post(f"{server.url}/v1", json=[task], headers=AUTH, timeout=30)
        (entry,) = journal(server.url)
    assert reply.status_code == 404
    (error,) = reply.json()["errors"]
    assert error["code"] == "noRecordingMatched"
    assert "session.json#1" in error["message"]
    assert (
        'differs at /0/messages/0/content: recorded "Why is the sky blue?", sent '
        '"Why is the sky green?"'
    ) in error["message"]
    assert entry["fault"] == "replay: no recording matched"
    assert entry["valid"]


def test_a_miss_can_fall_back_to_the_mocks_generation(
    recorded: tuple[Path, dict[str, Any]],
) -> None:
    folder, _ = recorded
    with _replaying(folder, miss="pass") as server:
        reply = httpx.post(
            f"{server.url}/v1", json=[text_task("Something new")], headers=AUTH, timeout=30
        )
        (entry,) = journal(server.url)
    assert reply.status_code == 200
    assert reply.json()["data"][0]["text"]
    assert entry["origin"] is None  # the mock's own answer


def test_a_websocket_miss_is_an_error_frame_about_its_task(
    recorded: tuple[Path, dict[str, Any]],
) -> None:
    folder, _ = recorded
    task = text_task("Not recorded", deliveryMethod="sync")

    async def session(server: RunningServer) -> Any:
        async with connect(server.url.replace("http://", "ws://", 1) + "/v1") as socket:
            await socket.send(json.dumps([{"taskType": "authentication", "apiKey": KEY}]))
            await asyncio.wait_for(socket.recv(), 10)
            await socket.send(json.dumps([task]))
            return json.loads(await asyncio.wait_for(socket.recv(), 10))

    with _replaying(folder) as server:
        frame = asyncio.run(session(server))
    (error,) = frame["errors"]
    assert error["code"] == "noRecordingMatched"
    assert error["taskUUID"] == task["taskUUID"]
    assert "differs at /messages/0/content" in error["message"]


def _hand_made(folder: Path, interactions: list[dict[str, Any]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "hand.json"
    path.write_text(
        json.dumps(
            {
                "format": 1,
                "kit": "test",
                "model": "m",
                "document": "d",
                "target": "http://127.0.0.1:1/v1",
                "recorded": "now",
                "interactions": interactions,
            }
        )
    )
    return path


def _rest(body: list[Any], reply: dict[str, Any], **response: Any) -> dict[str, Any]:
    return {
        "id": 1,
        "kind": "rest",
        "startedMs": 0,
        "request": {"method": "POST", "path": "/v1", "headers": {}, "body": body},
        "response": {
            "status": 200,
            "headers": {"content-type": "application/json"},
            "body": reply,
            "durationMs": 1,
            **response,
        },
    }


def test_polls_replay_in_their_recorded_order_and_the_last_repeats(tmp_path: Path) -> None:
    task = text_task(deliveryMethod="async")
    uuid = task["taskUUID"]
    poll = [{"taskType": "getResponse", "taskUUID": uuid}]
    item = {"taskType": "textInference", "taskUUID": uuid}
    _hand_made(
        tmp_path,
        [
            _rest([task], {"data": [item]}),
            _rest(poll, {"data": [{**item, "status": "processing"}]}),
            _rest(
                poll,
                {"data": [{**item, "status": "success", "text": "Done.", "finishReason": "stop"}]},
            ),
        ],
    )
    fresh = text_task(deliveryMethod="async")
    fresh_poll = [{"taskType": "getResponse", "taskUUID": fresh["taskUUID"]}]
    with _replaying(tmp_path) as server:

        def post(body: Any) -> Any:
            return httpx.post(f"{server.url}/v1", json=body, headers=AUTH, timeout=10).json()

        ack = post([fresh])
        statuses = [post(fresh_poll)["data"][0]["status"] for _ in range(3)]
        unknown = httpx.post(
            f"{server.url}/v1",
            headers=AUTH,
            timeout=10,
            json=[{"taskType": "getResponse", "taskUUID": text_task()["taskUUID"]}],
        )
    assert ack["data"][0]["taskUUID"] == fresh["taskUUID"]
    assert statuses == ["processing", "success", "success"]
    # A poll for a task no recording answered finds nothing: its taskUUID is compared.
    assert unknown.status_code == 404
    assert "/0/taskUUID" in unknown.json()["errors"][0]["message"]


def test_the_ignore_list_leaves_fields_out_of_matching(tmp_path: Path) -> None:
    recorded = text_task(settings={"seed": 1})
    _hand_made(
        tmp_path,
        [
            _rest(
                [recorded],
                {
                    "data": [
                        {
                            "taskType": "textInference",
                            "taskUUID": recorded["taskUUID"],
                            "text": "Recorded.",
                            "finishReason": "stop",
                        }
                    ]
                },
            )
        ],
    )
    sent = {**recorded, "taskUUID": text_task()["taskUUID"], "settings": {"seed": 2}}
    with _replaying(tmp_path) as strict, _replaying(tmp_path, ignore=["settings.seed"]) as loose:
        missed = httpx.post(f"{strict.url}/v1", json=[sent], headers=AUTH, timeout=10)
        matched = httpx.post(f"{loose.url}/v1", json=[sent], headers=AUTH, timeout=10)
    assert missed.status_code == 404
    assert (
        "differs at /0/settings/seed: recorded 1, sent 2" in missed.json()["errors"][0]["message"]
    )
    assert matched.json()["data"][0] == {
        "taskType": "textInference",
        "taskUUID": sent["taskUUID"],
        "text": "Recorded.",
        "finishReason": "stop",
    }


@pytest.mark.parametrize(("pacing", "slow"), [("recorded", True), ("fast", False)])
def test_streams_replay_at_their_recorded_pace_or_at_once(
    tmp_path: Path, pacing: str, slow: bool
) -> None:
    task = text_task(deliveryMethod="stream")
    head = {"taskType": "textInference", "taskUUID": task["taskUUID"]}
    stream = _rest(
        [task],
        {},
        events=[
            {"atMs": 0, "data": {**head, "delta": {"text": "Hi"}, "finishReason": None}},
            {"atMs": 400, "data": {**head, "delta": {}, "finishReason": "stop"}},
            {"atMs": 400, "data": "[DONE]"},
        ],
    )
    stream["kind"] = "stream"
    del stream["response"]["body"]
    _hand_made(tmp_path, [stream])
    with _replaying(tmp_path, pacing=pacing) as server:
        started = time.monotonic()
        reply = httpx.post(
            f"{server.url}/v1",
            json=[{**task, "taskUUID": text_task()["taskUUID"]}],
            headers=AUTH,
            timeout=10,
        )
        took = time.monotonic() - started
    assert reply.text.endswith("data: [DONE]\n\n")
    assert reply.text.count("data: ") == 3
    assert (took >= 0.4) is slow


def test_a_folder_that_holds_no_cassette_is_named(tmp_path: Path) -> None:
    (tmp_path / "notes.json").write_text('{"hello": 1}')
    with pytest.raises(ConfigError, match=r"notes\.json is no cassette"):
        install_replay(create_app(), cassettes=tmp_path)
    with pytest.raises(ConfigError, match="no such directory"):
        install_replay(create_app(), cassettes=tmp_path / "missing")


def test_the_example_cassette_replays_as_docs_proxy_md_says() -> None:
    folder = Path(__file__).resolve().parents[2] / "examples" / "cassettes"
    recorded = json.loads((folder / "example.json").read_text())["interactions"][0]
    task = {**recorded["request"]["body"][0], "taskUUID": text_task()["taskUUID"]}
    with _replaying(folder) as server:
        reply = httpx.post(f"{server.url}/v1", json=[task], headers=AUTH, timeout=10)
    old = recorded["request"]["body"][0]["taskUUID"]
    assert reply.json() == rewrite(recorded["response"]["body"], {old: task["taskUUID"]})
