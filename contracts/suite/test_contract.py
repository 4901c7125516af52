"""Provider verification: does this server keep the contract the document describes?"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import openapi
from contracts import check_response
from contracts.strategies import InvalidCase, invalid_requests, tasks


@pytest.fixture(scope="session")
def spec(runware_spec: openapi.Spec) -> openapi.Spec:
    # The plugin's fixture: --runware-spec or the runware_spec ini key, as the mock reads it.
    return runware_spec


def _settings(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))


def _fresh(task: dict[str, Any]) -> dict[str, Any]:
    # A taskUUID is unique per task (the document says so in prose): never resend one.
    return {**task, "taskUUID": str(uuid.uuid4())}


def _events(text: str) -> list[Any]:
    return [line[6:] if line[6:] == "[DONE]" else json.loads(line[6:])
            for line in text.splitlines() if line.startswith("data: ")]


def test_valid_sync_requests_succeed_with_conforming_replies(client: Any, spec: openapi.Spec,
                                                             examples: int) -> None:
    @_settings(examples)
    @given(tasks(spec=spec, deliveryMethod=st.just("sync"), webhookURL=st.nothing()))
    def check(task: dict[str, Any]) -> None:
        body = [_fresh(task)]
        reply = client.post("", json=body)
        assert reply.status_code == 200, reply.text
        assert check_response(reply.json(), request=body) == []

    check()


def test_labelled_invalid_requests_get_400_naming_the_parameter(client: Any,
                                                               spec: openapi.Spec,
                                                               examples: int) -> None:
    @_settings(examples)
    @given(invalid_requests(spec=spec))
    def check(case: InvalidCase) -> None:
        reply = client.post("", content=json.dumps(case.payload),
                            headers={"Content-Type": "application/json"})
        assert reply.status_code == 400, reply.text
        body = reply.json()
        assert check_response(body) == []
        parameters = [e.get("parameter", "") for e in body["errors"]]
        assert case.violation.parameter in parameters, (case.violation, body)

    check()


@pytest.mark.parametrize("method", ["sync", "async", "stream"])
def test_every_delivery_method(client: Any, spec: openapi.Spec, method: str) -> None:
    if method not in spec.delivery_methods:
        pytest.skip(f"{spec.source} has no deliveryMethod {method!r}")
    task = {"taskType": spec.inference_task_type, "taskUUID": str(uuid.uuid4()),
            "model": spec.model_id, "deliveryMethod": method, "includeUsage": True,
            "messages": [{"role": "user", "content": "Say hello in one short sentence."}]}
    reply = client.post("", json=[task])
    assert reply.status_code == 200, reply.text
    if method == "stream":
        assert reply.headers["content-type"].startswith("text/event-stream")
        *chunks, done = _events(reply.text)
        assert done == "[DONE]"
        assert chunks
        assert all(check_response(c, request=[task]) == [] for c in chunks)
        assert chunks[-1]["finishReason"] is not None
        return
    assert check_response(reply.json(), request=[task]) == []
    if method == "sync":
        assert reply.json()["data"][0]["text"]
        return
    deadline = time.monotonic() + 120
    while True:
        poll = client.post("", json=[{"taskType": "getResponse", "taskUUID": task["taskUUID"]}])
        assert poll.status_code == 200, poll.text
        assert check_response(poll.json()) == []
        statuses = {item["status"] for item in poll.json()["data"]}
        if statuses == {"success"}:
            break
        assert "error" not in statuses, poll.text
        assert time.monotonic() < deadline, "async results did not arrive within 120 s"
        time.sleep(1)
