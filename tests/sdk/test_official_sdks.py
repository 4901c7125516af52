"""Runware's two official Python SDKs, unmodified, against the mock as a real server process.

Each SDK lives in a venv of its own (both install the import name ``runware``): PyPI
``runware-sdk`` 1.8 in ``.venv-sdk-new`` and PyPI ``runware`` 0.5 (legacy) in
``.venv-sdk-legacy``; ``.ci/test`` creates them. A scenario runs ``clients/<sdk>.py`` with that
venv's python, which prints one JSON line with what the SDK returned. The test checks that
answer, then the mock's journal: every request the SDK made must have passed the contract.
Without a venv the scenario is skipped, or fails when RUNWARE_KIT_REQUIRE_SDKS=1 (CI).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

import openapi

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = Path(__file__).resolve().parent / "clients"
API_KEY = "sdk-compat-key"
USAGE_KEYS = ("promptTokens", "completionTokens", "totalTokens")


@dataclass(frozen=True)
class Sdk:
    venv: str
    requirement: str
    script: str
    ws_path: str  # what a user of this SDK writes after host:port in the WebSocket URL


SDKS = {
    "new": Sdk(".venv-sdk-new", "runware-sdk==1.8.*", "new_sdk.py", "/v1"),
    "legacy": Sdk(".venv-sdk-legacy", "runware==0.5.*", "legacy_sdk.py", ""),
}


@dataclass(frozen=True)
class Scenario:
    sdk: str
    name: str
    delivery: str  # the deliveryMethod the SDK sends
    results: int = 1  # how many results it must return (streams: one final text)
    polls: bool = False  # an async task: the SDK must have polled getResponse for it

    @property
    def id(self) -> str:
        return f"{self.sdk}-{self.name}"

    @property
    def stream(self) -> bool:
        return self.delivery == "stream"


SCENARIOS = [
    # runware-sdk: run() without a deliveryMethod sends "async", then polls getResponse.
    Scenario("new", "rest-run-default", "async", polls=True),
    Scenario("new", "rest-run-sync-2", "sync", results=2),
    Scenario("new", "rest-stream", "stream"),
    Scenario("new", "ws-run-default", "async", polls=True),
    Scenario("new", "ws-run-sync-2", "sync", results=2),
    Scenario("legacy", "ws-text", "sync"),
    Scenario("legacy", "ws-text-2", "sync", results=2),
    Scenario("legacy", "ws-async", "async", polls=True),
    Scenario("legacy", "stream", "stream"),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def mock_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`runware-kit serve` as a user starts it, on a free loopback port."""
    port = _free_port()
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


def _sdk_python(sdk: Sdk) -> Path:
    python = ROOT / sdk.venv / "bin" / "python"
    if python.exists():
        return python
    reason = (
        f"{sdk.venv}/ is missing; create it with `python3 -m venv {sdk.venv} && "
        f"{sdk.venv}/bin/pip install '{sdk.requirement}'` (.ci/test does)"
    )
    if os.environ.get("RUNWARE_KIT_REQUIRE_SDKS") == "1":
        pytest.fail(f"{reason}. RUNWARE_KIT_REQUIRE_SDKS=1: the SDK tests must run")
    pytest.skip(reason)


def _run_client(scenario: Scenario, url: str, model: str) -> tuple[dict[str, Any], str]:
    """The client script's JSON answer and its stderr."""
    sdk = SDKS[scenario.sdk]
    command = [
        str(_sdk_python(sdk)),
        str(CLIENTS / sdk.script),
        "--http",
        f"{url}/v1",
        "--ws",
        url.replace("http://", "ws://", 1) + sdk.ws_path,
        "--api-key",
        API_KEY,
        "--scenario",
        scenario.name,
        "--model",
        model,
        "--timeout",
        "30",
    ]
    try:
        run = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{scenario.id}: the client did not exit within 60 s; stderr:\n{exc.stderr!r}")
    lines = [line for line in run.stdout.splitlines() if line.strip()]
    try:
        out = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        pytest.fail(
            f"{scenario.id}: exit {run.returncode}, no JSON line on stdout:\n"
            f"{run.stdout}\nstderr:\n{run.stderr}"
        )
    assert isinstance(out, dict)
    if "error" not in out:
        assert run.returncode == 0, f"{scenario.id}: exit {run.returncode} without an error"
    return out, run.stderr


def _journal(url: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = httpx.get(f"{url}/__mock/requests", timeout=10).json()[
        "requests"
    ]
    return entries


def _tasks(entry: dict[str, Any]) -> list[dict[str, Any]]:
    request = entry.get("request")
    if isinstance(request, list) and all(isinstance(task, dict) for task in request):
        return request
    return list(entry.get("tasks") or [])


def _summary(entries: list[dict[str, Any]]) -> str:
    """The journal as a reader of a failure wants it: what the SDK sent, what it got back."""
    if not entries:
        return "journal: (empty: the mock recorded no request)"
    lines = ["journal:"]
    pings = [
        entry for entry in entries if {task.get("taskType") for task in _tasks(entry)} == {"ping"}
    ]
    if pings:
        valid = all(entry.get("valid") for entry in pings)
        lines.append(f"  ({len(pings)} ping requests, all valid={valid})")
    for entry in entries:
        if entry in pings:
            continue
        sent = json.dumps(entry.get("request"))
        got = json.dumps(entry.get("response"))
        lines.append(
            f"  #{entry.get('id')} {entry.get('method')} {entry.get('path')} -> "
            f"{entry.get('status')} valid={entry.get('valid')}\n"
            f"    sent: {sent[:600]}\n    got:  {got[:600]}"
        )
        if entry.get("violations"):
            lines.append(f"    violations: {json.dumps(entry['violations'])[:600]}")
    return "\n".join(lines)


def _is_uuid(value: object) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return isinstance(value, str)


def _check_usage(usage: object, where: str) -> None:
    assert isinstance(usage, dict), f"{where}: usage is {usage!r}, not an object"
    for key in USAGE_KEYS:
        assert isinstance(usage.get(key), int), f"{where}: usage.{key} is {usage.get(key)!r}"


def _check_results(scenario: Scenario, out: dict[str, Any]) -> str:
    """The SDK's list of results; returns their taskUUID."""
    results = out.get("results")
    assert isinstance(results, list), f"no results list in {out}"
    assert len(results) == scenario.results, (
        f"the SDK returned {len(results)} results, numberResults was {scenario.results}"
    )
    for i, item in enumerate(results):
        where = f"result {i}"
        assert item.get("taskType") == "textInference", f"{where}: taskType {item!r}"
        assert isinstance(item.get("text"), str), f"{where}: no text in {item!r}"
        assert item["text"].strip(), f"{where}: empty text"
        assert _is_uuid(item.get("taskUUID")), f"{where}: taskUUID {item.get('taskUUID')!r}"
        assert item.get("finishReason"), f"{where}: no finishReason in {item!r}"
        _check_usage(item.get("usage"), where)
    task_uuids: set[str] = {item["taskUUID"] for item in results}
    assert len(task_uuids) == 1, f"the results carry different taskUUIDs: {task_uuids}"
    if scenario.results > 1:
        texts = [item["text"] for item in results]
        assert len(set(texts)) == len(texts), f"the results repeat a text: {texts}"
        if scenario.sdk == "new":  # the legacy SDK's IText has no resultIndex
            indexes = sorted(item.get("resultIndex") for item in results)
            assert indexes == list(range(scenario.results)), f"resultIndex values {indexes}"
    if "ack" in out:
        ack = out["ack"]
        assert ack.get("taskType") == "textInference", f"ack {ack!r}"
        assert ack.get("taskUUID") in task_uuids, f"ack {ack!r} is for another task"
    return task_uuids.pop()


def _check_stream(scenario: Scenario, out: dict[str, Any]) -> str:
    """The SDK's stream: deltas that add up to its final text; returns the taskUUID."""
    deltas, result = out.get("text_deltas"), out.get("result")
    assert isinstance(result, dict), f"no final result in {out}"
    assert isinstance(deltas, list), f"no text deltas in {out}"
    assert deltas, f"the SDK saw no text delta; its final state: {result}"
    assert all(isinstance(delta, str) and delta for delta in deltas), f"deltas {deltas!r}"
    assert "".join(deltas) == result.get("text"), (
        f"the deltas {deltas!r} do not add up to the final text {result.get('text')!r}"
    )
    if scenario.sdk == "new":
        reasoning = out.get("reasoning_deltas")
        assert isinstance(reasoning, list), f"no reasoning deltas in {out}"
        assert "".join(reasoning) == result.get("reasoning_content"), (
            f"reasoning deltas {reasoning!r} vs {result.get('reasoning_content')!r}"
        )
        assert result.get("finish_reason"), f"no finishReason on any chunk: {result}"
        task_uuid = result.get("task_uuid")
    else:
        assert result.get("taskType") == "textInference", f"final IText {result}"
        assert result.get("finishReason"), f"final IText {result}"
        task_uuid = result.get("taskUUID")
    _check_usage(result.get("usage"), "final chunk (includeUsage was true)")
    assert _is_uuid(task_uuid), f"the stream's chunks carry no taskUUID: {result}"
    assert isinstance(task_uuid, str)
    return task_uuid


def _check_journal(scenario: Scenario, entries: list[dict[str, Any]], task_uuid: str) -> None:
    assert entries, "the SDK's requests are not in the journal"
    invalid = [entry for entry in entries if not entry.get("valid")]
    assert not invalid, f"the mock found {len(invalid)} of the SDK's requests invalid"
    sent = [
        task for entry in entries for task in _tasks(entry) if task.get("taskUUID") == task_uuid
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
    out, stderr = _run_client(scenario, mock_url, model_id)
    journal = _journal(mock_url)
    context = f"{_summary(journal)}\nclient stderr (last lines):\n" + "\n".join(
        stderr.splitlines()[-15:]
    )
    assert "error" not in out, f"{scenario.id}: the SDK failed: {out}\n{context}"
    try:
        task_uuid = (_check_stream if scenario.stream else _check_results)(scenario, out)
        _check_journal(scenario, journal, task_uuid)
    except AssertionError as exc:
        raise AssertionError(
            f"{scenario.id}: {exc}\nSDK answer: {json.dumps(out)[:1500]}\n{context}"
        ) from None


FAILURE = {
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
        out, stderr = _run_client(scenario, mock_url, model_id)
    finally:
        httpx.delete(f"{mock_url}/__mock/faults", timeout=10)
    journal = _journal(mock_url)
    context = f"{_summary(journal)}\nclient stderr:\n" + "\n".join(stderr.splitlines()[-15:])
    assert "error" in out, f"{scenario.id}: the SDK did not fail: {out}\n{context}"
    assert "timeout" not in out["error"], f"{scenario.id}: the SDK waited: {out}\n{context}"
    said = json.dumps(out)
    assert FAILURE["code"] in said or FAILURE["message"] in said, f"{out}\n{context}"
    assert all(entry.get("valid") for entry in journal), context  # the SDK did nothing wrong
    if scenario.id.startswith("new-rest"):  # a REST request's journal entry names it
        assert any(entry.get("fault") for entry in journal), f"no fault fired:\n{context}"
    if scenario.polls:
        assert any(
            task.get("taskType") == "getResponse" for entry in journal for task in _tasks(entry)
        ), f"the SDK never polled:\n{context}"
