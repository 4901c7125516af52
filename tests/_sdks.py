"""The harness for Runware's two official Python SDKs: the scenarios, the client scripts
that run them, and the checks of what an SDK returned.

Each SDK lives in a venv of its own (both install the import name ``runware``): PyPI
``runware-sdk`` 1.8 in ``.venv-sdk-new`` and PyPI ``runware`` 0.5 (legacy) in
``.venv-sdk-legacy``; ``.ci/test`` creates them. :func:`run_client` runs
``sdk/clients/<sdk>.py`` with that venv's python, which prints one JSON line with what the SDK
returned. Without a venv the scenario is skipped, or fails when RUNWARE_KIT_REQUIRE_SDKS=1
(CI). Used by ``tests/sdk``, the mock's fidelity tests and the proxy's SDK tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
CLIENTS = Path(__file__).resolve().parent / "sdk" / "clients"
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


def run_client(scenario: Scenario, url: str, model: str) -> tuple[dict[str, Any], str]:
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


def journal_tasks(entry: dict[str, Any]) -> list[dict[str, Any]]:
    request = entry.get("request")
    if isinstance(request, list) and all(isinstance(task, dict) for task in request):
        return request
    return list(entry.get("tasks") or [])


def summary(entries: list[dict[str, Any]]) -> str:
    """The journal as a reader of a failure wants it: what the SDK sent, what it got back."""
    if not entries:
        return "journal: (empty: the mock recorded no request)"
    lines = ["journal:"]
    pings = [
        entry
        for entry in entries
        if {task.get("taskType") for task in journal_tasks(entry)} == {"ping"}
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


def check_results(scenario: Scenario, out: dict[str, Any]) -> str:
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


def check_stream(scenario: Scenario, out: dict[str, Any]) -> str:
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
