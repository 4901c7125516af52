"""Provider verification: does this server keep the contract the document describes?"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

import openapi
from contracts import check_response
from contracts.strategies import InvalidCase, invalid_requests, tasks

# ``spec``: each loaded model's document in turn (conftest.py parametrizes by model).


def _settings(examples: int) -> settings:
    return settings(
        max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )


def _fresh(task: dict[str, Any]) -> dict[str, Any]:
    # A taskUUID is unique per task (the document says so in prose): never resend one.
    return {**task, "taskUUID": str(uuid.uuid4())}


def _within_body_limit(reply: Any) -> None:
    """A 413 is the target's limit on body size, no verdict on the rule the draw is about:
    that draw is set aside. (Boundary draws of a document with large limits run to tens of
    megabytes; the mock refuses bodies over 10 MiB.) If every draw were, Hypothesis would
    fail the test as unsatisfiable."""
    if reply.status_code == 413:
        reject()


def _events(text: str) -> list[Any]:
    return [
        line[6:] if line[6:] == "[DONE]" else json.loads(line[6:])
        for line in text.splitlines()
        if line.startswith("data: ")
    ]


def test_valid_sync_requests_succeed_with_conforming_replies(
    client: Any, spec: openapi.Spec, examples: int
) -> None:
    @_settings(examples)
    @given(tasks(spec=spec, deliveryMethod=st.just("sync"), webhookURL=st.nothing()))
    def check(task: dict[str, Any]) -> None:
        body = [_fresh(task)]
        reply = client.post("", json=body)
        _within_body_limit(reply)
        assert reply.status_code == 200, reply.text
        assert check_response(reply.json(), request=body) == []

    check()


def test_labelled_invalid_requests_get_400_naming_the_parameter(
    client: Any, spec: openapi.Spec, examples: int
) -> None:
    @_settings(examples)
    @given(invalid_requests(spec=spec))
    def check(case: InvalidCase) -> None:
        reply = client.post(
            "", content=json.dumps(case.payload), headers={"Content-Type": "application/json"}
        )
        _within_body_limit(reply)
        assert reply.status_code == 400, reply.text
        body = reply.json()
        assert check_response(body) == []
        parameters = [e.get("parameter", "") for e in body["errors"]]
        assert case.violation.parameter in parameters, (case.violation, body)

    check()


def test_a_batch_mixing_models_is_answered_task_by_task(
    client: Any, catalog: openapi.Catalog, examples: int
) -> None:
    if len(catalog) < 2:
        pytest.skip("one model loaded: pass --runware-spec once per model to mix them")

    # Small tasks: this is about each task reaching its model's document; the tests above
    # hunt each document's boundaries (a batch of boundary draws runs to megabytes).
    small = tasks(
        spec=catalog,
        deliveryMethod=st.just("sync"),
        webhookURL=st.nothing(),
        settings=st.nothing(),
        messages=st.just([{"role": "user", "content": "Say hello."}]),
    )

    @_settings(examples)
    @given(st.lists(small, min_size=2, max_size=3))
    def check(drawn: list[dict[str, Any]]) -> None:
        body = [_fresh(task) for task in drawn]
        reply = client.post("", json=body)
        assert reply.status_code == 200, reply.text
        assert check_response(reply.json(), request=body) == []
        answered = {item["taskUUID"] for item in reply.json()["data"]}
        assert answered == {task["taskUUID"] for task in body}

    check()


@pytest.mark.parametrize("method", ["sync", "async", "stream"])
def test_every_delivery_method(client: Any, spec: openapi.Spec, method: str) -> None:
    if method not in spec.delivery_methods:
        pytest.skip(f"{spec.source} has no deliveryMethod {method!r}")
    task = {
        "taskType": spec.inference_task_type,
        "taskUUID": str(uuid.uuid4()),
        "model": spec.model_id,
        "deliveryMethod": method,
        "includeUsage": True,
        "messages": [{"role": "user", "content": "Say hello in one short sentence."}],
    }
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
        poll = client.post(
            "", json=[{"taskType": spec.poll_task_type, "taskUUID": task["taskUUID"]}]
        )
        assert poll.status_code == 200, poll.text
        assert check_response(poll.json()) == []
        statuses = {item["status"] for item in poll.json()["data"]}
        if statuses == {"success"}:
            break
        assert "error" not in statuses, poll.text
        assert time.monotonic() < deadline, "async results did not arrive within 120 s"
        time.sleep(1)
