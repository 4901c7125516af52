"""Schemathesis, the widely used OpenAPI fuzzer, against the running mock: zero failures.

It reads the document the mock serves at /openapi.json and runs with the checks
not_a_server_error, status_code_conformance, content_type_conformance,
response_schema_conformance, negative_data_rejection, positive_data_acceptance, plus
stream_events_conform (our hook: every SSE event checked). The hooks module teaches it the
rules the document gives only in prose (tests/reliability/schemathesis_hooks.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import jsonschema
import pytest

import openapi
from contracts import check_request
from tests.mockserver.conftest import serve_cli

ROOT = Path(__file__).parents[2]
CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_schema_conformance,negative_data_rejection,positive_data_acceptance,"
    "stream_events_conform"
)


def _schemathesis() -> str:
    found = shutil.which("schemathesis", path=str(Path(sys.executable).parent)) or shutil.which(
        "schemathesis"
    )
    if found is None:
        pytest.fail("schemathesis is not installed (it is a dev dependency)")
    return found


def test_schemathesis_finds_nothing() -> None:
    with serve_cli("--processing-ms", "0", "--webhook-attempts", "1") as (url, _):
        run = subprocess.run(
            [
                _schemathesis(),
                "--config-file",
                str(Path(__file__).parent / "schemathesis.toml"),
                "run",
                f"{url}/openapi.json",
                "-c",
                CHECKS,
                "-H",
                "Authorization: Bearer schemathesis",
                "--max-examples",
                "300",
                "--phases",
                "examples,coverage,fuzzing",
                "--seed",
                "1",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
            cwd=ROOT,
            env={**os.environ, "SCHEMATHESIS_HOOKS": "tests.reliability.schemathesis_hooks"},
        )
        alive = httpx.get(f"{url}/__mock/health", timeout=5)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert " passed" in run.stdout
    assert alive.json()["status"] == "ok"


def test_where_schemathesis_and_jsonschema_are_wrong_the_mock_is_not_loosened() -> None:
    """Two disagreements, shown rather than papered over in the mock:

    - jsonschema, which Schemathesis uses to judge data, divides floats for multipleOf and
      calls 0.57 and 0.07 "not a multiple of 0.01"; the document allows them and so does the
      mock (the kit judges the decimal the JSON text wrote);
    - Schemathesis' negative mode emits bodies the document accepts (an empty array, or a
      body unchanged while another component was mutated); the hooks judge such cases with
      the kit's exact validator instead of expecting a 4xx.
    """
    judge = jsonschema.Draft202012Validator({"type": "number", "multipleOf": 0.01})
    assert not judge.is_valid(0.57)
    assert not judge.is_valid(0.07)
    spec = openapi.load()
    task = {
        "taskType": "textInference",
        "taskUUID": "a770f077-f413-47de-9dac-be0b26a35da6",
        "model": spec.model_id,
        "messages": [{"role": "user", "content": "Hi"}],
        "settings": {"temperature": 0.57, "topP": 0.07},
    }
    assert check_request([task]) == []
    assert check_request(b"[]") == []
