"""The proxy over REST: traffic passes unchanged, and both sides are judged and journaled."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from contracts import check_response
from tests._support import free_port
from tests.mockserver.conftest import RunningServer
from tests.proxy.conftest import (
    AUTH,
    DRIFTS,
    KEY,
    DriftingUpstream,
    clear,
    journal,
    posts,
    running_proxy,
    text_task,
)


def _post(server: RunningServer, body: Any, **kwargs: Any) -> httpx.Response:
    return httpx.post(f"{server.url}/v1", json=body, headers=AUTH, timeout=30, **kwargs)


def test_a_sync_request_passes_through_and_is_journaled_with_both_verdicts(
    proxy: RunningServer, upstream: str
) -> None:
    task = text_task(deliveryMethod="sync", numberResults=2, includeUsage=True)
    reply = _post(proxy, [task])
    assert reply.status_code == 200
    assert check_response(reply.json(), request=[task]) == []
    (seen,) = posts(upstream)  # the upstream got the request, and answered this
    assert seen["request"] == [task]
    assert seen["response"] == reply.json()
    (entry,) = journal(proxy.url)
    assert entry["valid"]
    assert entry["violations"] == []
    assert entry["drift"] == []
    assert entry["origin"] == f"upstream {upstream}/v1"
    assert entry["response"] == reply.json()
    assert entry["status"] == 200
    assert entry["apiKey"] == "prox…89"  # masked, as the mock masks it


def test_async_and_getresponse_pass_through(proxy: RunningServer, upstream: str) -> None:
    task = text_task(deliveryMethod="async")
    ack = _post(proxy, [task])
    assert ack.json() == {"data": [{"taskType": "textInference", "taskUUID": task["taskUUID"]}]}
    poll = [{"taskType": "getResponse", "taskUUID": task["taskUUID"]}]
    for _ in range(100):
        answer = _post(proxy, poll).json()
        if answer["data"][0].get("status") == "success":
            break
        time.sleep(0.02)
    assert answer["data"][0]["text"]
    entries = journal(proxy.url)
    assert [e["tasks"][0]["taskType"] for e in entries][:2] == ["textInference", "getResponse"]
    assert all(e["valid"] and e["drift"] == [] for e in entries)
    assert len(posts(upstream)) == len(entries)


def test_a_webhook_task_gets_its_acknowledgement(proxy: RunningServer) -> None:
    # A loopback receiver that is not there: the upstream's delivery fails on loopback.
    task = text_task(deliveryMethod="async", webhookURL=f"http://127.0.0.1:{free_port()}/hook")
    ack = _post(proxy, [task])
    assert ack.status_code == 200
    assert ack.json()["data"][0]["taskUUID"] == task["taskUUID"]
    (entry,) = [e for e in journal(proxy.url) if e["method"] == "POST"]
    assert entry["valid"]
    assert entry["drift"] == []


def test_an_invalid_request_is_the_clients_fault_and_still_goes_through(
    proxy: RunningServer, upstream: str
) -> None:
    task = text_task(settings={"temperature": 9})
    reply = _post(proxy, [task])
    assert reply.status_code == 400  # the upstream's refusal, passed on as it came
    (seen,) = posts(upstream)
    assert seen["response"] == reply.json()
    (entry,) = journal(proxy.url)
    assert not entry["valid"]
    assert entry["drift"] == []
    assert [v["parameter"] for v in entry["violations"]] == ["settings.temperature"]


def test_strict_refuses_an_invalid_request_before_it_leaves(upstream: str) -> None:
    clear(upstream)
    with running_proxy(f"{upstream}/v1", strict=True) as proxy:
        refused = _post(proxy, [text_task(settings={"temperature": 9})])
        accepted = _post(proxy, [text_task()])
        entries = journal(proxy.url)
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["parameter"] == "settings.temperature"
    assert accepted.status_code == 200
    assert len(posts(upstream)) == 1  # only the valid one reached the upstream
    assert entries[0]["origin"] == "proxy --strict: refused, not forwarded"
    assert entries[1]["origin"].startswith("upstream ")


@pytest.mark.parametrize("drift", sorted(DRIFTS))
def test_drift_in_a_reply_is_reported_and_the_reply_passed_on_unchanged(
    drift: str, drifting: tuple[DriftingUpstream, RunningServer]
) -> None:
    upstream, server = drifting
    with running_proxy(f"{server.url}/v1") as proxy:
        reply = _post(proxy, [text_task(f"drift:{drift}")])
        (entry,) = journal(proxy.url)
    assert reply.content == upstream.sent[-1]
    assert entry["valid"]
    assert entry["violations"] == []
    code, parameter = DRIFTS[drift][0]
    assert (code, parameter) in [(d["code"], d["parameter"]) for d in entry["drift"]]
    assert all(d["where"] == "body" for d in entry["drift"])


@pytest.mark.parametrize("drift", sorted(DRIFTS))
def test_drift_in_a_stream_event_is_reported_with_the_event(
    drift: str, drifting: tuple[DriftingUpstream, RunningServer]
) -> None:
    upstream, server = drifting
    with running_proxy(f"{server.url}/v1") as proxy:
        reply = _post(proxy, [text_task(f"drift:{drift}", deliveryMethod="stream")])
        (entry,) = journal(proxy.url)
    assert reply.content == upstream.sent[-1]
    code, parameter = DRIFTS[drift][1]
    assert (code, parameter, "event 3") in [
        (d["code"], d["parameter"], d["where"]) for d in entry["drift"]
    ]
    assert entry["response"]["events"][-1] == "[DONE]"


def test_a_conforming_stream_has_no_drift(
    drifting: tuple[DriftingUpstream, RunningServer],
) -> None:
    _, server = drifting
    with running_proxy(f"{server.url}/v1") as proxy:
        reply = _post(proxy, [text_task(deliveryMethod="stream")])
        (entry,) = journal(proxy.url)
    assert reply.text.endswith("data: [DONE]\n\n")
    assert entry["drift"] == []
    assert len(entry["response"]["events"]) == 4


def test_a_stream_is_passed_on_event_by_event(
    drifting: tuple[DriftingUpstream, RunningServer],
) -> None:
    upstream, server = drifting
    with (
        running_proxy(f"{server.url}/hold") as proxy,
        httpx.stream(
            "POST",
            f"{proxy.url}/v1",
            json=[text_task(deliveryMethod="stream")],
            headers=AUTH,
            timeout=30,
        ) as reply,
    ):
        started = time.monotonic()
        lines = reply.iter_lines()
        first = next(lines)
        waited = time.monotonic() - started
        upstream.release.set()  # only now does the upstream send the rest
        rest = [line for line in lines if line]
    # A proxy that buffered the stream would hold the first event until the upstream gave
    # up waiting (10 s) and sent the rest.
    assert json.loads(first.removeprefix("data: "))["delta"] == {"text": "Blue "}
    assert waited < 5, f"the first event took {waited:.1f} s: the stream was buffered"
    assert rest[-1] == "data: [DONE]"


def test_an_unreachable_target_is_a_runware_style_502() -> None:
    with running_proxy(f"http://127.0.0.1:{free_port()}/v1") as proxy:
        reply = _post(proxy, [text_task()])
        (entry,) = journal(proxy.url)
    assert reply.status_code == 502
    assert reply.json()["errors"][0]["code"] == "upstreamUnavailable"
    assert entry["origin"] == "upstream unreachable: ConnectError"


def test_the_journal_never_shows_the_key(proxy: RunningServer) -> None:
    _post(proxy, [{"taskType": "authentication", "apiKey": KEY}, text_task()])
    text = httpx.get(f"{proxy.url}/__mock/requests", timeout=10).text
    assert KEY not in text
