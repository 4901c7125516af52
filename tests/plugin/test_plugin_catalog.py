"""The plugin with several documents: one mock serves every model, as Runware's API does."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests._support import (
    BUNDLED_PATH,
    SECOND_DOCUMENT,
    run_contract_suite,
    run_downstream,
    variant,
    write,
)
from tests.mockserver.conftest import serve_cli

TASK = """
import uuid
def task(model, **changes):
    body = {"taskType": "textInference", "taskUUID": str(uuid.uuid4()), "model": model,
            "messages": [{"role": "user", "content": "Hello"}]}
    body.update(changes)
    return body
"""
QWEN, MINIMAX = "alibaba:qwen@3.5-397b", "minimax:m2.7@0"


def test_spec_given_twice_serves_both_models(pytester: pytest.Pytester) -> None:
    result = run_downstream(
        pytester,
        f"""
import httpx
from hypothesis import given, settings, strategies as st
from contracts import check_request
from contracts.strategies import requests
from helpers import task

def test_fixtures(runware_spec, runware_catalog):
    assert runware_spec.model_id == {QWEN!r}
    assert runware_catalog.model_ids == ({QWEN!r}, {MINIMAX!r})

def test_one_mock_answers_both(runware_mock):
    headers = {{"Authorization": "Bearer k"}}
    reply = httpx.post(runware_mock.url, json=[task({MINIMAX!r}), task({QWEN!r})],
                       headers=headers)
    assert reply.status_code == 200, reply.text
    assert runware_mock.catalog.model_ids == ({QWEN!r}, {MINIMAX!r})

def test_a_model_not_loaded_fails_at_teardown(runware_mock):
    httpx.post(runware_mock.url, json=[task("minimax:m2.7@1")],
               headers={{"Authorization": "Bearer k"}})

@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_strategies_take_the_catalogue(data, runware_catalog):
    body = data.draw(requests(spec=runware_catalog))
    assert check_request(body, spec=runware_catalog) == []
""",
        "--runware-spec",
        str(BUNDLED_PATH),
        "--runware-spec",
        str(SECOND_DOCUMENT),
        helpers=TASK,
    )
    result.assert_outcomes(passed=4, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_a_model_not_loaded_fails_at_teardown*",
            '*model: model is "minimax:m2.7@1"*Did you mean*',
        ]
    )


def test_ini_lines_and_marker_lists(pytester: pytest.Pytester, tmp_path: Path) -> None:
    folder = tmp_path / "models"
    write(folder, "a.openapi.json", variant("acme:a@1"))
    write(folder, "b.openapi.json", variant("acme:b@1", base="second"))
    pytester.makeini(f"[pytest]\nrunware_spec =\n    {BUNDLED_PATH}\n    {folder}\n")
    result = run_downstream(
        pytester,
        f"""
import httpx, pytest
from helpers import task

def test_ini(runware_catalog, runware_mock):
    assert runware_catalog.model_ids == ({QWEN!r}, "acme:a@1", "acme:b@1")
    reply = httpx.post(runware_mock.url, json=[task("acme:a@1"), task("acme:b@1")],
                       headers={{"Authorization": "Bearer k"}})
    assert reply.status_code == 200

@pytest.mark.runware(spec=[{str(SECOND_DOCUMENT)!r}, {str(folder / "a.openapi.json")!r}])
def test_marker_list(runware_mock):
    assert runware_mock.spec.model_id == {MINIMAX!r}
    assert runware_mock.catalog.model_ids == ({MINIMAX!r}, "acme:a@1")
    reply = httpx.post(runware_mock.url, json=[task("acme:b@1")],
                       headers={{"Authorization": "Bearer k"}})
    assert reply.status_code == 400
""",
        helpers=TASK,
    )
    result.assert_outcomes(passed=2, errors=1)  # test_marker_list sent acme:b@1: not loaded
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_marker_list*"])


def test_coverage_per_model(pytester: pytest.Pytester) -> None:
    result = run_downstream(
        pytester,
        f"""
import httpx
from helpers import task

def test_send(runware_mock):
    headers = {{"Authorization": "Bearer k"}}
    httpx.post(runware_mock.url, json=[task({QWEN!r}, settings={{"temperature": 0.5}}),
                                       task({MINIMAX!r}, deliveryMethod="stream")],
               headers=headers)
    httpx.post(runware_mock.url, json=[task({MINIMAX!r}, settings={{"topP": 0.5}})],
               headers=headers)
""",
        "--runware-spec",
        str(BUNDLED_PATH),
        "--runware-spec",
        str(SECOND_DOCUMENT),
        "--runware-coverage",
        helpers=TASK,
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*runware coverage*",
            "task types*textInference x3*",
            f"-- model {QWEN} (1 task)",
            "delivery methods*(default) x1*",
            "settings*temperature x1*",
            "settings not sent*maxTokens*topK*",
            f"-- model {MINIMAX} (2 tasks)",
            "delivery methods*(default) x1, stream x1*",
            "settings*topP x1*",
            "settings not sent*maxTokens*",
        ]
    )
    summary = result.stdout.str()
    qwen_block = summary.split(f"-- model {QWEN}")[1].split("-- model")[0]
    assert "temperature" not in qwen_block.split("settings not sent")[1].splitlines()[0]


def test_contract_suite_runs_every_models_checks() -> None:
    with serve_cli(
        "--spec", str(BUNDLED_PATH), "--spec", str(SECOND_DOCUMENT), "--processing-ms", "0"
    ) as (url, _):
        suite = run_contract_suite(
            url,
            "--runware-examples",
            "3",
            "--runware-spec",
            str(BUNDLED_PATH),
            "--runware-spec",
            str(SECOND_DOCUMENT),
            "-rs",
            "-v",
        )
    assert suite.returncode == 0, suite.stdout[-3000:]
    # Five tests per model (MiniMax documents no async delivery), and a mixed batch.
    assert "10 passed, 1 skipped" in suite.stdout, suite.stdout[-3000:]
    for model in (QWEN, MINIMAX):
        assert (
            f"test_labelled_invalid_requests_get_400_naming_the_parameter[{model}] PASSED"
            in suite.stdout
        )
    assert "test_a_batch_mixing_models_is_answered_task_by_task PASSED" in suite.stdout
