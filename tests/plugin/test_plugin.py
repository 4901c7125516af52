"""The pytest plugin, used the way a downstream project uses it (pytester runs pytest)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests._support import run_contract_suite, run_downstream
from tests.mockserver.conftest import serve_cli


def test_fixtures_give_a_live_mock(pytester: pytest.Pytester) -> None:
    result = run_downstream(
        pytester,
        """
import httpx
from helpers import task

def test_sync(runware_mock):
    assert runware_mock.url.endswith("/v1")
    assert runware_mock.ws_url.startswith("ws://127.0.0.1:")
    reply = httpx.post(runware_mock.url, json=[task()],
                       headers={"Authorization": f"Bearer {runware_mock.api_key}"})
    assert reply.status_code == 200
    (entry,) = runware_mock.requests
    assert entry["valid"] and entry["status"] == 200

def test_isolated_from_the_previous_test(runware_mock):
    assert runware_mock.requests == []

def test_reply_and_fail(runware_mock):
    runware_mock.reply(match="Hello", text="Scripted.")
    runware_mock.fail(status=503, times=1)
    headers = {"Authorization": "Bearer k"}
    first = httpx.post(runware_mock.url, json=[task()], headers=headers)
    second = httpx.post(runware_mock.url, json=[task()], headers=headers)
    assert first.status_code == 503
    assert second.json()["data"][0]["text"] == "Scripted."

def test_spec_fixture(runware_spec):
    assert runware_spec.model_id == "alibaba:qwen@3.5-397b"
""",
    )
    result.assert_outcomes(passed=4)


def test_invalid_request_fails_the_test_at_teardown(pytester: pytest.Pytester) -> None:
    result = run_downstream(
        pytester,
        """
import httpx, pytest
from helpers import task

def test_sends_bad_payload(runware_mock):
    httpx.post(runware_mock.url, json=[task(settings={"temperature": 7})],
               headers={"Authorization": "Bearer k"})

@pytest.mark.runware(allow_invalid=True)
def test_allowed(runware_mock):
    reply = httpx.post(runware_mock.url, json=[task(settings={"temperature": 7})],
                       headers={"Authorization": "Bearer k"})
    assert reply.status_code == 400
""",
    )
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_sends_bad_payload*",
            "*break the Runware contract*",
            "*settings.temperature: settings.temperature is 7, above the maximum of 2*",
        ]
    )


def test_marker_options(pytester: pytest.Pytester, tmp_path: object) -> None:
    from tests._support import SECOND_DOCUMENT

    result = run_downstream(
        pytester,
        f"""
import httpx, pytest
from helpers import task

@pytest.mark.runware(replies=[{{"match": "Hello", "text": "From the marker."}}],
                     faults=[{{"status": 402, "times": 1}}])
def test_replies_and_faults(runware_mock):
    headers = {{"Authorization": "Bearer k"}}
    assert httpx.post(runware_mock.url, json=[task()], headers=headers).status_code == 402
    reply = httpx.post(runware_mock.url, json=[task()], headers=headers)
    assert reply.json()["data"][0]["text"] == "From the marker."

@pytest.mark.runware(spec={str(SECOND_DOCUMENT)!r}, seed=3)
def test_other_document(runware_mock):
    assert runware_mock.spec.model_id == "minimax:m2.7@0"
    reply = httpx.post(runware_mock.url, json=[task(model="minimax:m2.7@0", seed=1)],
                       headers={{"Authorization": "Bearer k"}})
    assert reply.status_code == 200

@pytest.mark.runware(color="red")
def test_bad_marker(runware_mock):
    pass
""",
    )
    result.assert_outcomes(passed=2, errors=1)
    assert "@pytest.mark.runware got unknown argument(s) ['color']" in result.stdout.str()


def test_marker_is_registered_with_its_signature(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--markers")
    assert (
        "@pytest.mark.runware(spec=None, seed=None, replies=[], faults=[], allow_invalid=False)"
    ) in result.stdout.str()


def test_options_and_ini(pytester: pytest.Pytester) -> None:
    from tests._support import SECOND_DOCUMENT

    pytester.makeini(f"[pytest]\nrunware_spec = {SECOND_DOCUMENT}\nrunware_seed = 5\n")
    result = run_downstream(
        pytester,
        """
def test_ini(runware_mock, runware_spec):
    assert runware_spec.model_id == "minimax:m2.7@0"
    assert runware_mock.spec.model_id == "minimax:m2.7@0"
""",
    )
    result.assert_outcomes(passed=1)


def test_runware_app_fixture_for_asgi(pytester: pytest.Pytester) -> None:
    result = run_downstream(
        pytester,
        """
import asyncio, httpx
from helpers import task

def test_asgi(runware_app):
    async def go():
        transport = httpx.ASGITransport(app=runware_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://mock") as http:
            return await http.post("/v1", json=[task()], headers={"Authorization": "Bearer k"})
    assert asyncio.run(go()).status_code == 200
""",
    )
    result.assert_outcomes(passed=1)


def test_coverage_summary(pytester: pytest.Pytester) -> None:
    result = run_downstream(
        pytester,
        """
import httpx
from helpers import task

def test_send(runware_mock):
    headers = {"Authorization": "Bearer k"}
    httpx.post(runware_mock.url, json=[task(deliveryMethod="async",
               settings={"temperature": 0.5})], headers=headers)
    httpx.post(runware_mock.url, json=[task()], headers={**headers,
               "X-Runware-Mock-Error": "429"})
""",
        "--runware-coverage",
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*runware coverage*",
            "task types*textInference x2*",
            "delivery methods*async x1*",
            "settings*temperature x1*",
            "status codes*200 x1*429 x1*",
        ]
    )


def test_plugin_import_is_light() -> None:
    code = (
        "import sys, contracts.pytest_plugin; "
        "heavy = [m for m in ('starlette', 'uvicorn', 'mockserver', 'hypothesis') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "[]"


def test_xdist_gives_each_worker_its_own_mock(pytester: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    # --dist each runs every test on both workers, so both workers surely start a mock. Each
    # run writes what it saw: the worker, its mock's URL, and that mock's journal right
    # after the run's own request.
    result = run_downstream(
        pytester,
        """
import json, os, httpx
from helpers import task

def _record(name, runware_mock):
    sent = task()
    reply = httpx.post(runware_mock.url, json=[sent],
                       headers={"Authorization": f"Bearer {runware_mock.api_key}"})
    assert reply.status_code == 200
    seen = [t["taskUUID"] for e in runware_mock.requests for t in e["tasks"]]
    worker = os.environ["PYTEST_XDIST_WORKER"]
    with open(f"seen-{worker}-{name}.json", "w") as out:
        json.dump({"worker": worker, "pid": os.getpid(), "url": runware_mock.url,
                   "sent": sent["taskUUID"], "journal": seen}, out)

def test_a(runware_mock): _record("a", runware_mock)
def test_b(runware_mock): _record("b", runware_mock)
""",
        "-n",
        "2",
        "--dist",
        "each",
    )
    result.assert_outcomes(passed=4)
    runs = [json.loads(path.read_text()) for path in sorted(pytester.path.glob("seen-*.json"))]
    assert sorted(r["worker"] for r in runs) == ["gw0", "gw0", "gw1", "gw1"], runs
    by_worker: dict[str, set[str]] = {}
    for r in runs:
        by_worker.setdefault(r["worker"], set()).add(r["url"])
        assert r["url"].startswith("http://127.0.0.1:"), r
        # The mock this run used saw this run's request and nothing from the other worker.
        assert r["journal"] == [r["sent"]], r
    # One mock per worker, for the whole session; never the same one for both workers.
    assert all(len(urls) == 1 for urls in by_worker.values()), by_worker
    assert len(set.union(*by_worker.values())) == 2, by_worker
    assert len({r["pid"] for r in runs}) == 2, runs


def test_contract_suite_against_the_cli_mock() -> None:
    """CI runs the packaged suite against the kit's own mock, started by the CLI."""
    with serve_cli("--processing-ms", "0") as (url, _):
        suite = run_contract_suite(url, "--runware-examples", "5", "-q")
    assert suite.returncode == 0, suite.stdout[-3000:]
    assert "5 passed" in suite.stdout


def test_contract_suite_against_an_unreachable_target_is_one_line(
    pytester: pytest.Pytester,
) -> None:
    from tests._support import free_port

    closed = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--pyargs", "contracts.suite", "--runware-target", closed
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    out = result.stdout.str() + result.stderr.str()
    assert f"contracts.suite: cannot reach --runware-target {closed} (ConnectError" in out
    assert "Traceback" not in out
    assert out.count("cannot reach") == 1


def test_contract_suite_skips_without_a_target(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--pyargs", "contracts.suite")
    result.assert_outcomes(skipped=6)  # 5 tests, and the mixed-models one
