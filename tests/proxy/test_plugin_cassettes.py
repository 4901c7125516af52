"""A cassette per test, with the plugin's record modes, used as a downstream project would."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.proxy.conftest import clear, posts

TEST = """
import httpx, pytest, uuid

def task(content):
    return {"taskType": "textInference", "taskUUID": str(uuid.uuid4()),
            "model": "alibaba:qwen@3.5-397b", "deliveryMethod": "sync",
            "messages": [{"role": "user", "content": content}]}

@pytest.mark.runware(cassette=True)
def test_blue(runware_mock):
    reply = httpx.post(runware_mock.url, json=[task("Why is the sky blue?")],
                       headers={"Authorization": f"Bearer {runware_mock.api_key}"})
    assert reply.status_code == 200, reply.text
    print("TEXT", reply.json()["data"][0]["text"])
"""


def _run(pytester: pytest.Pytester, *args: str, source: str = TEST) -> pytest.RunResult:
    pytester.makepyfile(test_downstream=source)
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-s", *args)


def _text(result: pytest.RunResult) -> str:
    # -s: the test's print lands on the line pytest started for it.
    return next(line.partition("TEXT ")[2] for line in result.outlines if "TEXT " in line)


def test_record_once_then_replay_with_nothing_leaving_the_machine(
    pytester: pytest.Pytester, upstream: str
) -> None:
    clear(upstream)
    cassette = pytester.path / "cassettes" / "test_downstream" / "test_blue.json"
    first = _run(pytester, "--runware-record-mode", "once", "--runware-upstream", f"{upstream}/v1")
    first.assert_outcomes(passed=1)
    assert cassette.exists()
    assert len(posts(upstream)) == 1
    assert len(json.loads(cassette.read_text())["interactions"]) == 1
    # none, the default: the upstream given is never asked, the cassette answers.
    clear(upstream)
    again = _run(pytester, "--runware-upstream", f"{upstream}/v1")
    again.assert_outcomes(passed=1)
    assert _text(again) == _text(first)
    assert journal_is_empty(upstream)
    # once, with the cassette there: replayed too.
    third = _run(pytester, "--runware-record-mode", "once", "--runware-upstream", f"{upstream}/v1")
    third.assert_outcomes(passed=1)
    assert journal_is_empty(upstream)


def journal_is_empty(upstream: str) -> bool:
    return posts(upstream) == []


def test_none_without_a_cassette_says_how_to_record_it(pytester: pytest.Pytester) -> None:
    result = _run(pytester)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*test_blue.json does not exist*--runware-record-mode once --runware-upstream URL*"]
    )


def test_a_request_the_cassette_lacks_fails_the_test(
    pytester: pytest.Pytester, upstream: str
) -> None:
    _run(
        pytester, "--runware-record-mode", "once", "--runware-upstream", f"{upstream}/v1"
    ).assert_outcomes(passed=1)
    changed = TEST.replace("Why is the sky blue?", "Why is the sky green?")
    result = _run(pytester, source=changed)
    result.assert_outcomes(failed=1, errors=1)  # the 404 fails it; teardown says why
    result.stdout.fnmatch_lines(
        ["*matched no recording of the test's cassette*", "*differs at /0/messages/0/content*"]
    )


def test_new_episodes_records_what_is_missing_and_all_records_anew(
    pytester: pytest.Pytester, upstream: str
) -> None:
    both = TEST + TEST.replace("def test_blue", "def test_blue_again").replace(
        "cassette=True", 'cassette="test_blue"'
    ).replace("sky blue?", "sea blue?")
    cassette = pytester.path / "cassettes" / "test_downstream" / "test_blue.json"
    record = ("--runware-upstream", f"{upstream}/v1")
    _run(pytester, "--runware-record-mode", "once", *record).assert_outcomes(passed=1)
    clear(upstream)
    _run(pytester, "--runware-record-mode", "new_episodes", *record, source=both).assert_outcomes(
        passed=2
    )
    # test_blue was replayed; test_blue_again's request was new, and is now recorded too.
    assert len(posts(upstream)) == 1
    assert len(json.loads(cassette.read_text())["interactions"]) == 2
    _run(pytester, "--runware-record-mode", "all", *record).assert_outcomes(passed=1)
    assert len(json.loads(cassette.read_text())["interactions"]) == 1


def test_recording_without_an_upstream_is_refused(pytester: pytest.Pytester) -> None:
    result = _run(pytester, "--runware-record-mode", "all")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*no upstream is set: pass --runware-upstream URL*"])


def test_the_marker_rejects_a_bad_cassette(pytester: pytest.Pytester, tmp_path: Path) -> None:
    result = _run(pytester, source=TEST.replace("cassette=True", "cassette=3"))
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*cassette=3*pass True*or a name*"])
