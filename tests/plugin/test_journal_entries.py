"""``runware_mock.requests``: typed journal entries, used as a downstream project uses them."""

from __future__ import annotations

import pytest

import contracts.pytest_plugin
from tests._support import run_downstream


def test_entries_are_typed(pytester: pytest.Pytester) -> None:
    result = run_downstream(
        pytester,
        """
import dataclasses, httpx, pytest
from contracts.pytest_plugin import JournalEntry, JournalViolation
from helpers import task

@pytest.mark.runware(allow_invalid=True)
def test_typed(runware_mock):
    auth = {"Authorization": f"Bearer {runware_mock.api_key}"}
    sent, bad = task(), task(settings={"temperature": 7})
    assert httpx.post(runware_mock.url, json=[sent], headers=auth).status_code == 200
    assert httpx.post(runware_mock.url, json=[bad], headers=auth).status_code == 400
    ok, refused = runware_mock.requests
    assert isinstance(ok, JournalEntry)
    assert (ok.method, ok.path, ok.status, ok.valid, ok.violations, ok.fault) == (
        "POST", "/v1", 200, True, (), None)
    assert ok.api_key != runware_mock.api_key            # masked, yet tells keys apart
    assert ok.api_key.startswith(runware_mock.api_key[:4])
    assert ok.latency_ms >= 0
    assert ok.received <= refused.received
    assert ok.tasks == ({"taskType": "textInference", "taskUUID": sent["taskUUID"],
                         "model": sent["model"]},)
    assert ok.request == [sent]
    assert ok.response["data"][0]["taskUUID"] == sent["taskUUID"]

    assert (refused.status, refused.valid) == (400, False)
    (violation,) = refused.violations
    assert isinstance(violation, JournalViolation)
    assert (violation.code, violation.parameter, violation.task_type, violation.task_uuid) == (
        "invalidParameter", "settings.temperature", "textInference", bad["taskUUID"])
    assert "above the maximum of 2" in violation.message
    assert refused.response == {"errors": [violation.to_dict()]}  # what the client was sent

    with pytest.raises(dataclasses.FrozenInstanceError):
        ok.status = 500
    with pytest.raises(TypeError):
        ok.tasks[0]["model"] = "other"
""",
    )
    result.assert_outcomes(passed=1)


def test_stream_and_webhook_entries(pytester: pytest.Pytester) -> None:
    result = run_downstream(
        pytester,
        """
import time, httpx
from helpers import task

def test_kinds(runware_mock):
    auth = {"Authorization": f"Bearer {runware_mock.api_key}"}
    streamed = task(deliveryMethod="stream")
    hooked = task(webhookURL="https://hooks.example.invalid/runware")
    httpx.post(runware_mock.url, json=[streamed], headers=auth)
    httpx.post(runware_mock.url, json=[hooked], headers=auth)
    deadline = time.monotonic() + 10
    while len(entries := runware_mock.requests) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)  # the webhook is journaled once its result is ready
    stream, acknowledged, webhook = entries
    assert stream.response == "(event stream)"
    assert stream.tasks[0]["deliveryMethod"] == "stream"
    assert acknowledged.response == {"data": [{"taskType": "textInference",
                                               "taskUUID": hooked["taskUUID"]}]}
    assert (webhook.method, webhook.path, webhook.status, webhook.api_key) == (
        "WEBHOOK", "https://hooks.example.invalid/runware", 0, None)
    assert webhook.fault.startswith("not attempted: host 'hooks.example.invalid'")
    assert webhook.request["data"][0]["taskUUID"] == hooked["taskUUID"]
""",
    )
    result.assert_outcomes(passed=1)


def test_entries_still_read_as_the_journals_dicts(pytester: pytest.Pytester) -> None:
    result = run_downstream(
        pytester,
        """
import httpx, pytest
from helpers import task

def test_old_style(runware_mock):
    httpx.post(runware_mock.url, json=[task()], headers={"Authorization": "Bearer k"})
    (entry,) = runware_mock.requests
    journal = httpx.get(f"{runware_mock.base}/__mock/requests").json()["requests"]
    assert [dict(entry)] == [entry.to_dict()] == journal
    assert entry["valid"] is True and entry["status"] == 200
    assert entry["latencyMs"] == entry.latency_ms
    assert entry["tasks"][0]["taskUUID"] == entry.tasks[0]["taskUUID"]
    assert entry.get("fault") is None and entry.get("nope", "absent") == "absent"
    assert "apiKey" in entry and "api_key" not in entry
    with pytest.raises(KeyError, match="not a key of this journal entry; keys: id, received"):
        entry["latency"]
""",
    )
    result.assert_outcomes(passed=1)


def test_a_key_the_journal_adds_later_is_kept() -> None:
    journaled = {
        "id": "1-1",
        "received": 1.0,
        "method": "POST",
        "path": "/v1",
        "apiKey": None,
        "status": 200,
        "latencyMs": 0.5,
        "valid": True,
        "violations": [],
        "tasks": [],
        "fault": None,
        "request": [],
        "response": {"data": []},
        "later": [1, 2],
    }
    entry = contracts.pytest_plugin.JournalEntry.from_dict(journaled)
    assert entry["later"] == [1, 2]
    assert entry.extra == {"later": [1, 2]}
    assert dict(entry) == entry.to_dict() == journaled
    assert list(entry)[-1] == "later"


def test_the_entry_types_are_public() -> None:
    assert {"JournalEntry", "JournalViolation"} <= set(contracts.pytest_plugin.__all__)
