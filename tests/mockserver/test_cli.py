from __future__ import annotations

import json
from pathlib import Path

import pytest

from mockserver import main
from tests._support import SECOND_DOCUMENT, run_mock_cli

EXAMPLES = Path(__file__).parents[2] / "examples" / "requests"
VALID = json.dumps(
    [
        {
            "taskType": "textInference",
            "taskUUID": "a770f077-f413-47de-9dac-be0b26a35da6",
            "model": "alibaba:qwen@3.5-397b",
            "messages": [{"role": "user", "content": "Hi"}],
        }
    ]
)


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_valid_file_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", write(tmp_path, "ok.json", VALID)]) == 0
    assert capsys.readouterr().out.strip().endswith("ok.json: valid")


def test_invalid_file_exits_1_with_one_line_per_violation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = json.loads(VALID)
    body[0]["settings"] = {"temperature": 5, "topK": 0}
    assert main(["validate", write(tmp_path, "bad.json", json.dumps(body))]) == 1
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    assert "settings.temperature is 5, above the maximum of 2" in lines[0]
    assert "[invalidParameter at /0/settings/topK]" in lines[1]


def test_json_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good, bad = write(tmp_path, "a.json", VALID), write(tmp_path, "b.json", "[{]")
    assert main(["validate", "--json", good, bad]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["model"] == "alibaba:qwen@3.5-397b"
    assert [f["valid"] for f in report["files"]] == [True, False]
    (violation,) = report["files"][1]["violations"]
    assert violation["code"] == "invalidRequestBody"
    assert violation["keyword"] == "json"


def test_stdin_and_exit_codes_through_the_console_script() -> None:
    ok = run_mock_cli("validate", "-", input=VALID)
    assert (ok.returncode, ok.stdout.strip()) == (0, "<stdin>: valid")
    bad = run_mock_cli("validate", "-", input="[NaN]")
    assert bad.returncode == 1
    assert "NaN is not valid JSON" in bad.stdout


USAGE_ERRORS = [
    pytest.param([], id="no-command"),
    pytest.param(["validate"], id="no-files"),
    pytest.param(["validate", "/nonexistent/x.json"], id="missing-file"),
    pytest.param(["validate", "--spec", "/nonexistent/spec.json", "-"], id="missing-spec"),
    pytest.param(["frobnicate"], id="unknown-command"),
]


@pytest.mark.parametrize("argv", USAGE_ERRORS)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    try:
        status = main(argv)
    except SystemExit as exit_:
        status = int(exit_.code or 0)
    assert status == 2
    assert capsys.readouterr().err


@pytest.mark.parametrize(
    ("model", "options", "status"),
    [
        pytest.param("alibaba:qwen@3.5-397b", [], 0, id="bundled-document-qwen"),
        pytest.param(
            "alibaba:qwen@3.5-397b", ["--spec", str(SECOND_DOCUMENT)], 1, id="second-refuses-qwen"
        ),
        pytest.param("minimax:m2.7@0", ["--spec", str(SECOND_DOCUMENT)], 0, id="second-minimax"),
    ],
)
def test_other_document_by_flag(
    tmp_path: Path, model: str, options: list[str], status: int
) -> None:
    body = json.loads(VALID)
    body[0]["model"] = model
    assert main(["validate", *options, write(tmp_path, "q.json", json.dumps(body))]) == status


def test_bundled_examples() -> None:
    assert main(["validate", "-q", str(EXAMPLES / "valid.json")]) == 0
    assert main(["validate", "-q", str(EXAMPLES / "invalid.json")]) == 1


def test_sample_prints_valid_requests_reproducibly(capsys: pytest.CaptureFixture[str]) -> None:
    from contracts import check_request

    assert main(["sample", "-n", "4", "--seed", "7"]) == 0
    first = capsys.readouterr()
    lines = first.out.strip().splitlines()
    assert len(lines) == 4
    assert all(check_request(line.encode()) == [] for line in lines)
    assert "--seed 7" in first.err
    assert main(["sample", "-n", "4", "--seed", "7"]) == 0
    assert capsys.readouterr().out == first.out


def test_sample_invalid_names_the_broken_rule(capsys: pytest.CaptureFixture[str]) -> None:
    from contracts import check_request

    assert main(["sample", "--invalid", "-n", "5", "--seed", "3"]) == 0
    out = capsys.readouterr()
    lines = out.out.strip().splitlines()
    rules = [line for line in out.err.splitlines() if not line.startswith("# seed")]
    assert len(lines) == len(rules) == 5
    for line, rule in zip(lines, rules, strict=True):
        (violation,) = check_request(line.encode())
        assert rule.startswith(f"# {violation.keyword} at {violation.pointer or '/'}:")


def test_sample_with_the_second_document(capsys: pytest.CaptureFixture[str]) -> None:
    from contracts import check_request
    from openapi import load

    assert main(["sample", "-n", "2", "--seed", "1", "--spec", str(SECOND_DOCUMENT)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2  # an empty output must not pass the loop below vacuously
    second = load(SECOND_DOCUMENT)
    for line in lines:
        tasks = [t for t in json.loads(line) if t["taskType"] == "textInference"]
        assert tasks
        assert all(task["model"] == "minimax:m2.7@0" for task in tasks)
        assert check_request(line.encode(), spec=second) == []


def test_validate_reports_every_file_the_unreadable_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write(tmp_path, "ok.json", VALID)
    body = json.loads(VALID)
    body[0]["settings"] = {"temperature": 5}
    bad = write(tmp_path, "bad.json", json.dumps(body))
    missing = str(tmp_path / "missing.json")
    assert main(["validate", good, missing, bad]) == 2  # an unreadable file wins
    out = capsys.readouterr()
    assert out.out.splitlines()[0] == f"{good}: valid"
    assert out.out.splitlines()[1].startswith(f"{bad}: task 0: settings.temperature")
    assert out.err.strip() == f"runware-kit: cannot read {missing}: No such file or directory"
    assert main(["validate", "--json", good, missing]) == 2
    files = json.loads(capsys.readouterr().out)["files"]
    assert files == [
        {"file": good, "valid": True, "violations": []},
        {"file": missing, "error": f"cannot read {missing}: No such file or directory"},
    ]
