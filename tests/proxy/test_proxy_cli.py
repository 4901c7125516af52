"""``runware-kit proxy`` and ``runware-kit serve --replay`` as a user runs them."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.mockserver.conftest import run_cli, serve_cli
from tests.proxy.conftest import AUTH, KEY, cassette_files, clear, journal, text_task


@contextlib.contextmanager
def proxy_cli(*args: str, log: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`python -m mockserver proxy --port P *args`: yields (url, process) once it answers;
    stops it with SIGTERM (the test checks the exit status)."""
    with (
        log.open("wb") as out,
        run_cli("proxy", *args, stderr=out, describe=log.read_text) as running,
    ):
        yield running


def test_record_with_the_proxy_then_replay_with_serve(upstream: str, tmp_path: Path) -> None:
    clear(upstream)
    folder = tmp_path / "cassettes"
    task = text_task(deliveryMethod="sync")
    with proxy_cli(
        "--target", f"{upstream}/v1", "--record", str(folder), log=tmp_path / "proxy.log"
    ) as (url, process):
        recorded = httpx.post(f"{url}/v1", json=[task], headers=AUTH, timeout=30).json()
        (entry,) = journal(url)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    banner = (tmp_path / "proxy.log").read_text()
    assert f"forwards  : {upstream}/v1" in banner
    assert str(folder) in banner
    assert entry["origin"] == f"upstream {upstream}/v1"
    (cassette,) = cassette_files(folder)
    assert KEY not in cassette.read_text()
    assert len(json.loads(cassette.read_text())["interactions"]) == 1

    clear(upstream)
    again = text_task(deliveryMethod="sync")
    with serve_cli("--replay", str(folder), "--quiet") as (url, _):
        replayed = httpx.post(f"{url}/v1", json=[again], headers=AUTH, timeout=30).json()
        missed = httpx.post(f"{url}/v1", json=[text_task("Other")], headers=AUTH, timeout=30)
    assert replayed["data"][0]["text"] == recorded["data"][0]["text"]
    assert replayed["data"][0]["taskUUID"] == again["taskUUID"]
    assert missed.status_code == 404
    assert cassette.name in missed.text
    assert journal(upstream) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["serve", "--replay", "/nonexistent/cassettes"], "no such directory"),
        (["serve", "--replay", ".", "--workers", "2"], "--replay serves from one worker"),
        (["proxy", "--target", "ftp://127.0.0.1/v1"], "is not an http(s) URL"),
        (
            ["proxy", "--target", "http://127.0.0.1:1/v1", "--ws-target", "http://x/"],
            "is not a ws(s) URL",
        ),
    ],
    ids=["missing-folder", "workers", "bad-target", "bad-ws-target"],
)
def test_unusable_options_are_one_clear_line(args: list[str], message: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mockserver", *args, "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
