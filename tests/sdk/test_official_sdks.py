"""Runware's two official Python SDKs, unmodified, against the mock as a real server process.

A scenario runs an SDK's client script in the SDK's own venv (see ``tests/_sdks.py``). The test
checks what the SDK returned, then the mock's journal: every request the SDK made must have
passed the contract.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import openapi
from tests._sdks import (
    SCENARIOS,
    Scenario,
    check_results,
    check_stream,
    journal_tasks,
    run_client,
    summary,
)
from tests._support import free_port


@pytest.fixture(scope="module")
def mock_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`runware-kit serve` as a user starts it, on a free loopback port."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path_factory.mktemp("mock") / "serve.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mockserver",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--seed",
                "1",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            deadline = time.monotonic() + 20
            while True:
                if process.poll() is not None:
                    pytest.fail(
                        f"the mock exited with status {process.returncode}:\n{log_path.read_text()}"
                    )
                try:
                    httpx.get(f"{url}/__mock/health", timeout=1).raise_for_status()
                    break
                except httpx.HTTPError:
                    if time.monotonic() > deadline:
                        pytest.fail(
                            f"the mock did not answer /__mock/health within 20 s:\n"
                            f"{log_path.read_text()}"
                        )
                    time.sleep(0.05)
            yield url
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="module")
def model_id() -> str:
    return openapi.load().model_id


def _journal(url: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = httpx.get(f"{url}/__mock/requests", timeout=10).json()[
        "requests"
    ]
    return entries


def _check_journal(scenario: Scenario, entries: list[dict[str, Any]], task_uuid: str) -> None:
    assert entries, "the SDK's requests are not in the journal"
    invalid = [entry for entry in entries if not entry.get("valid")]
    assert not invalid, f"the mock found {len(invalid)} of the SDK's requests invalid"
    sent = [
        task
        for entry in entries
        for task in journal_tasks(entry)
        if task.get("taskUUID") == task_uuid
    ]
    inference = [task for task in sent if task.get("taskType") == "textInference"]
    assert inference, f"no textInference task {task_uuid} in the journal"
    delivery = {task.get("deliveryMethod") for task in inference}
    assert delivery == {scenario.delivery}, (
        f"the SDK sent deliveryMethod {delivery}, the scenario expects {scenario.delivery!r}"
    )
    if scenario.polls:
        assert any(task.get("taskType") == "getResponse" for task in sent), (
            "the SDK never polled getResponse: the mock answered the async task with its "
            "results instead of an acknowledgement"
        )


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.id)
def test_official_sdk_against_the_mock(scenario: Scenario, mock_url: str, model_id: str) -> None:
    httpx.delete(f"{mock_url}/__mock/requests", timeout=10).raise_for_status()
    out, stderr = run_client(scenario, mock_url, model_id)
    journal = _journal(mock_url)
    context = f"{summary(journal)}\nclient stderr (last lines):\n" + "\n".join(
        stderr.splitlines()[-15:]
    )
    assert "error" not in out, f"{scenario.id}: the SDK failed: {out}\n{context}"
    try:
        task_uuid = (check_stream if scenario.stream else check_results)(scenario, out)
        _check_journal(scenario, journal, task_uuid)
    except AssertionError as exc:
        raise AssertionError(
            f"{scenario.id}: {exc}\nSDK answer: {json.dumps(out)[:1500]}\n{context}"
        ) from None


FAILURE: dict[str, Any] = {
    "phase": "processing",
    "times": 1,
    "code": "inferenceError",
    "message": "The model failed while generating (injected).",
}


@pytest.mark.parametrize(
    "scenario",
    [
        Scenario("new", "rest-run-default", "async", polls=True),
        Scenario("new", "ws-run-default", "async", polls=True),
        Scenario("legacy", "ws-text", "sync"),
    ],
    ids=lambda scenario: scenario.id,
)
def test_official_sdk_sees_a_task_that_fails_after_acceptance(
    scenario: Scenario, mock_url: str, model_id: str
) -> None:
    """A processing-phase fault: the task is accepted (acknowledged, or run), then fails;
    the SDK raises with the fault's code and message instead of waiting or returning."""
    httpx.delete(f"{mock_url}/__mock/requests", timeout=10).raise_for_status()
    queued = httpx.post(f"{mock_url}/__mock/faults", json=FAILURE, timeout=10)
    assert queued.status_code == 200, queued.text
    try:
        out, stderr = run_client(scenario, mock_url, model_id)
    finally:
        httpx.delete(f"{mock_url}/__mock/faults", timeout=10)
    journal = _journal(mock_url)
    context = f"{summary(journal)}\nclient stderr:\n" + "\n".join(stderr.splitlines()[-15:])
    assert "error" in out, f"{scenario.id}: the SDK did not fail: {out}\n{context}"
    assert "timeout" not in out["error"], f"{scenario.id}: the SDK waited: {out}\n{context}"
    said = json.dumps(out)
    assert FAILURE["code"] in said or FAILURE["message"] in said, f"{out}\n{context}"
    assert all(entry.get("valid") for entry in journal), context  # the SDK did nothing wrong
    if scenario.id.startswith("new-rest"):  # a REST request's journal entry names it
        assert any(entry.get("fault") for entry in journal), f"no fault fired:\n{context}"
    if scenario.polls:
        assert any(
            task.get("taskType") == "getResponse"
            for entry in journal
            for task in journal_tasks(entry)
        ), f"the SDK never polled:\n{context}"
