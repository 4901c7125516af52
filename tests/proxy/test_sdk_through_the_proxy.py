"""runware-sdk 1.8, unmodified, through the proxy (REST, SSE and WebSocket), and its session
recorded and replayed offline: the same texts come back, under the SDK's new taskUUIDs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import openapi
from mockserver import MockConfig, create_app, install_replay
from tests._sdks import SCENARIOS as SDK_SCENARIOS
from tests._sdks import Scenario, check_results, check_stream, run_client, summary
from tests.mockserver.conftest import RunningServer
from tests.proxy.conftest import clear, journal, posts, running_proxy

MODEL = openapi.load().model_id
# The scenarios of runware-sdk 1.8 (the new SDK), as tests/sdk runs them against the mock.
SCENARIOS = [scenario for scenario in SDK_SCENARIOS if scenario.sdk == "new"]


def _sdk(scenario: Scenario, url: str) -> dict[str, Any]:
    out, stderr = run_client(scenario, url, MODEL)
    assert "error" not in out, f"{scenario.id}: {out}\n{summary(journal(url))}\n{stderr[-3000:]}"
    (check_stream if scenario.stream else check_results)(scenario, out)
    return out


def _texts(scenario: Scenario, out: dict[str, Any]) -> tuple[list[str], set[str]]:
    """What the SDK returned as text, and the taskUUIDs it carried."""
    if scenario.stream:
        return ["".join(out["text_deltas"])], {out["result"]["task_uuid"]}
    return [r["text"] for r in out["results"]], {r["taskUUID"] for r in out["results"]}


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.id)
def test_the_sdk_runs_unmodified_through_the_proxy(
    scenario: Scenario, proxy: RunningServer, upstream: str
) -> None:
    _sdk(scenario, proxy.url)
    entries = journal(proxy.url)
    assert entries, "the SDK's traffic is not in the proxy's journal"
    assert all(e["valid"] for e in entries), summary(entries)
    assert [e for e in entries if e["drift"]] == [], summary(entries)
    if scenario.name.startswith("rest"):
        assert len(posts(upstream)) == len(entries)  # each request went on, one to one


@pytest.fixture(scope="module")
def recorded(
    upstream: str, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, dict[str, Any]]]:
    """Every scenario once through a recording proxy: the cassettes' folder, and what the
    SDK got in each."""
    folder = tmp_path_factory.mktemp("sdk-cassettes")
    with running_proxy(f"{upstream}/v1", record=folder / "sdk.json") as proxy:
        runs = {scenario.id: _sdk(scenario, proxy.url) for scenario in SCENARIOS}
    return folder, runs


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.id)
def test_a_recorded_sdk_session_replays_offline(
    scenario: Scenario, recorded: tuple[Path, dict[str, dict[str, Any]]], upstream: str
) -> None:
    folder, runs = recorded
    app = create_app(config=MockConfig(seed=7, processing_ms=0))
    install_replay(app, cassettes=folder)
    clear(upstream)
    with RunningServer(app) as replay:
        replayed = _sdk(scenario, replay.url)
        entries = journal(replay.url)
    texts, uuids = _texts(scenario, replayed)
    recorded_texts, recorded_uuids = _texts(scenario, runs[scenario.id])
    assert texts == recorded_texts  # byte for byte
    assert uuids.isdisjoint(recorded_uuids)  # under the new taskUUIDs the SDK made
    assert not [e for e in entries if (e.get("fault") or "").startswith("replay")], json.dumps(
        entries
    )[:3000]
    assert posts(upstream) == []
