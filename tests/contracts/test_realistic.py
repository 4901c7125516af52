"""``realistic_requests()`` and ``runware-kit sample``: what an application would send.

Every draw is valid, short enough for ``curl -d "$line"``, plausible (settings well inside
the document's limits, conversations that end on the user's turn, webhooks on ``.invalid``
hosts only), and answered by a mock with its default config — for both model documents.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis.errors import InvalidArgument

import openapi
from contracts import check_request, check_response
from contracts.strategies import realistic_requests
from mockserver import MockConfig, create_app, main
from tests._support import SECOND_DOCUMENT, asgi_client
from tests.mockserver.conftest import AUTH, RunningServer

BUNDLED = openapi.load()
SECOND = openapi.load(SECOND_DOCUMENT)
SPECS = [pytest.param(BUNDLED, id="bundled"), pytest.param(SECOND, id="second")]
LINE_LIMIT = 4096  # bytes: far below what a shell allows in one argument
UTILITY = ("authentication", "getResponse", "ping")


def _post(spec: openapi.Spec, body: bytes) -> httpx.Response:
    """The body sent to a fresh in-process mock with its default config (no raised limits)."""

    async def go() -> httpx.Response:
        app = create_app(spec=spec, config=MockConfig(processing_ms=0, seed=1))
        async with asgi_client(app) as http:
            return await http.post(
                "/v1", content=body, headers={**AUTH, "content-type": "application/json"}
            )

    return asyncio.run(go())


def _answered(reply: httpx.Response, body: list[dict[str, Any]]) -> None:
    """The normal answer: 200, a conforming JSON reply, or a whole event stream."""
    assert reply.status_code == 200, reply.text[:2000]
    if reply.headers["content-type"].startswith("text/event-stream"):
        assert len(body) == 1
        assert body[0].get("deliveryMethod") == "stream"
        assert reply.text.rstrip().endswith("data: [DONE]"), reply.text[-500:]
        return
    assert check_response(reply.json(), request=body) == []


def _inference(body: list[dict[str, Any]], spec: openapi.Spec) -> list[dict[str, Any]]:
    return [t for t in body if t["taskType"] == spec.inference_task_type]


# -- every draw ------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", SPECS)
def test_every_draw_is_valid_short_and_accepted(spec: openapi.Spec, network_audit: Any) -> None:
    @settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(realistic_requests(spec=spec))
    def check(body: list[dict[str, Any]]) -> None:
        line = json.dumps(body).encode()
        assert len(line) < LINE_LIMIT
        assert check_request(body, spec=spec) == []
        assert check_request(line, spec=spec) == []
        _answered(_post(spec, line), body)

    check()
    assert network_audit.foreign() == []  # the .invalid webhooks are never called, nor resolved


@pytest.mark.parametrize("spec", SPECS)
def test_every_draw_is_plausible_by_the_document(spec: openapi.Spec) -> None:
    roles = _roles(spec)
    numeric = [p for p in spec.parameters() if p.type in ("integer", "number")]

    @settings(max_examples=200, deadline=None)
    @given(realistic_requests(spec=spec))
    def check(body: list[dict[str, Any]]) -> None:
        tasks = _inference(body, spec)
        assert 1 <= len(tasks) <= 2
        uuids = [t["taskUUID"] for t in tasks]
        assert len(set(uuids)) == len(uuids)
        assert all(uuid.UUID(u).version == 4 for u in uuids)
        for task in tasks:
            assert task["model"] == spec.model_id
            messages = task["messages"]
            assert {m["role"] for m in messages} <= set(roles)
            assert messages[-1]["role"] == "user"  # a chat request ends on the user's turn
            assert all(0 < len(m["content"]) < 200 for m in messages)
            assert task.get("deliveryMethod", spec.delivery_methods[0]) in spec.delivery_methods
            if task.get("deliveryMethod") == "stream":
                assert len(tasks) == 1  # a stream in a batch would be answered as JSON
                assert "webhookURL" not in task
            if "webhookURL" in task:
                host = httpx.URL(task["webhookURL"]).host
                assert host.endswith(".invalid"), host
            for param in numeric:
                value = _at(task, param.path)
                if (
                    value is None
                    or (param.has_default and value == param.default)
                    or not _has_inside(param)
                ):
                    continue
                # Well inside: never a documented limit itself.
                assert param.minimum is None or value > param.minimum, (param.path, value)
                assert param.maximum is None or value < param.maximum, (param.path, value)

    check()


def _has_inside(param: openapi.Parameter) -> bool:
    """Has the range a value besides its limits (``numberResults`` 1 to 2 has none)?"""
    if param.minimum is None or param.maximum is None:
        return True
    step = param.multiple_of or (1 if param.type == "integer" else 0)
    return param.maximum - param.minimum > step


def _roles(spec: openapi.Spec) -> tuple[Any, ...]:
    items = spec.parameter("messages").schema["items"]
    if "$ref" in items:
        items = spec.registry.resolver(base_uri=spec.document_uri).lookup(items["$ref"]).contents
    return tuple(items["properties"]["role"]["enum"])


def _at(task: dict[str, Any], path: str) -> Any:
    value: Any = task
    for name in path.split("."):
        value = value.get(name) if isinstance(value, dict) else None
    return value


FEATURES: dict[str, Callable[[dict[str, Any]], bool]] = {
    "multi-turn": lambda t: any(m["role"] == "assistant" for m in t["messages"]),
    "system prompt": lambda t: (
        "systemPrompt" in t.get("settings", {}) or t["messages"][0]["role"] == "system"
    ),
    "sampling settings": lambda t: len(t.get("settings", {})) >= 2,
    "includeUsage": lambda t: t.get("includeUsage") is True,
    "includeCost": lambda t: t.get("includeCost") is True,
    "webhook": lambda t: "webhookURL" in t,
    "stream": lambda t: t.get("deliveryMethod") == "stream",
    "a language besides English": lambda t: not t["messages"][-1]["content"].isascii(),
}


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("feature", list(FEATURES))
def test_each_kind_of_request_is_drawn(spec: openapi.Spec, feature: str) -> None:
    found = find(
        realistic_requests(spec=spec),
        lambda body: any(FEATURES[feature](t) for t in _inference(body, spec)),
        settings=settings(max_examples=500, database=None),
    )
    assert check_request(found, spec=spec) == []


@pytest.mark.parametrize("spec", SPECS)
def test_every_delivery_method_of_the_document_is_drawn(spec: openapi.Spec) -> None:
    drawn: set[str] = set()

    def every_method_seen(body: list[dict[str, Any]]) -> bool:
        drawn.update(t["deliveryMethod"] for t in body if "deliveryMethod" in t)
        return drawn >= set(spec.delivery_methods)

    find(
        realistic_requests(spec=spec),
        every_method_seen,
        settings=settings(max_examples=500, database=None),
    )
    assert drawn == set(spec.delivery_methods)


# -- nothing is hard-coded -------------------------------------------------------------------


def _document(tmp_path: Path, change: Any) -> openapi.Spec:
    """The bundled document with its task's properties changed by ``change``, loaded."""
    document = BUNDLED.to_dict()
    change(document["components"]["schemas"]["RequestBody"]["items"]["properties"])
    path = tmp_path / "changed.openapi.json"
    path.write_text(json.dumps(document))
    return openapi.load(path)


def test_limits_enums_and_defaults_come_from_the_document(tmp_path: Path) -> None:
    def narrow(properties: dict[str, Any]) -> None:
        properties["settings"]["properties"]["temperature"].update(
            minimum=0, maximum=0.3, multipleOf=0.1, default=0.2
        )
        properties["deliveryMethod"] = {"type": "string", "enum": ["async"], "default": "async"}
        properties["numberResults"].update(minimum=1, maximum=1, default=1)

    spec = _document(tmp_path, narrow)

    @settings(max_examples=150, deadline=None)
    @given(realistic_requests(spec=spec))
    def check(body: list[dict[str, Any]]) -> None:
        for task in body:
            assert task.get("settings", {}).get("temperature", 0.2) in (0.1, 0.2)
            assert task.get("deliveryMethod", "async") == "async"
            assert task.get("numberResults", 1) == 1
        assert check_request(body, spec=spec) == []

    check()


def test_a_document_with_no_room_for_a_plausible_request_fails_at_draw_time(tmp_path: Path) -> None:
    def demanding(properties: dict[str, Any]) -> None:
        properties["messages"]["items"]["properties"]["content"]["minLength"] = 5000

    strategy = realistic_requests(spec=_document(tmp_path, demanding))  # building never raises

    @settings(max_examples=1, database=None)
    @given(strategy)
    def draw(body: Any) -> None:
        pass

    with pytest.raises(InvalidArgument, match="no conversation of realistic_requests"):
        draw()


def test_a_bad_spec_argument_fails_at_draw_time_naming_it() -> None:
    @settings(max_examples=1, database=None)
    @given(realistic_requests(spec="spec.json"))  # type: ignore[arg-type]
    def draw(body: Any) -> None:
        pass

    with pytest.raises(InvalidArgument, match=r"spec='spec\.json' must be an openapi\.Spec"):
        draw()


def test_repr_shows_how_it_was_built() -> None:
    assert repr(realistic_requests()) == "realistic_requests()"
    assert repr(realistic_requests(spec=SECOND)) == f"realistic_requests(spec={SECOND!r})"


# -- runware-kit sample ----------------------------------------------------------------------


def _sample(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[list[str], str]:
    assert main(["sample", *args]) == 0
    out = capsys.readouterr()
    return out.out.splitlines(), out.err


@pytest.mark.parametrize("spec", SPECS)
def test_sample_prints_realistic_lines_by_default(
    spec: openapi.Spec, capsys: pytest.CaptureFixture[str], network_audit: Any
) -> None:
    other = [] if spec is BUNDLED else ["--spec", str(SECOND_DOCUMENT)]
    lines, err = _sample(capsys, "-n", "25", "--seed", "11", *other)
    assert len(lines) == 25
    assert err.startswith("# seed 11")
    uuids = [t["taskUUID"] for line in lines for t in json.loads(line)]
    assert len(set(uuids)) == len(uuids)  # fresh in every line, not only within one
    for line in lines:
        assert len(line.encode()) < LINE_LIMIT
        body = json.loads(line)
        assert check_request(line.encode(), spec=spec) == []
        _answered(_post(spec, line.encode()), body)
    assert network_audit.foreign() == []


def test_sample_seed_repeats_a_run_and_another_seed_does_not(
    capsys: pytest.CaptureFixture[str],
) -> None:
    first, _ = _sample(capsys, "-n", "6", "--seed", "5")
    again, _ = _sample(capsys, "-n", "6", "--seed", "5")
    other, _ = _sample(capsys, "-n", "6", "--seed", "6")
    assert first == again
    # taskUUIDs come from the run's seed: no line of one run reappears in another.
    assert not set(first) & set(other)


def test_sample_without_a_seed_says_which_it_used(capsys: pytest.CaptureFixture[str]) -> None:
    lines, err = _sample(capsys, "-n", "2")
    seed = err.split()[2]
    assert _sample(capsys, "-n", "2", "--seed", seed)[0] == lines


def test_sample_fuzz_prints_boundary_draws(capsys: pytest.CaptureFixture[str]) -> None:
    lines, _ = _sample(capsys, "--fuzz", "-n", "10", "--seed", "7")
    assert len(lines) == 10
    assert all(check_request(line.encode()) == [] for line in lines)
    # requests() draws the documented limits on purpose: megabyte prompts among them.
    assert max(len(line) for line in lines) > 100 * LINE_LIMIT


def test_sample_invalid_and_fuzz_do_not_combine(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["sample", "--invalid", "--fuzz"])
    assert exited.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_sample_invalid_lines_break_one_rule_each(capsys: pytest.CaptureFixture[str]) -> None:
    lines, err = _sample(capsys, "--invalid", "-n", "4", "--seed", "2")
    assert len(lines) == 4
    assert all(len(check_request(line.encode())) == 1 for line in lines)
    assert len([r for r in err.splitlines() if not r.startswith("# seed")]) == 4


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_sample_lines_work_with_curl_d_line(tmp_path: Path) -> None:
    """As the docs show it: each line as curl's argument, to a real server on loopback."""
    with RunningServer(create_app(config=MockConfig(processing_ms=0))) as server:
        script = (
            f'"{sys.executable}" -m mockserver sample -n 8 --seed 3 | '
            "while read -r line; do "
            "curl --fail-with-body --silent --show-error --max-time 30 "
            f'-H "Authorization: Bearer k" -H "Content-Type: application/json" '
            f'-d "$line" {server.url}/v1 -o /dev/null -w "%{{http_code}}\\n"; done'
        )
        done = subprocess.run(
            ["bash", "-eu", "-o", "pipefail", "-c", script],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == ["200"] * 8
        journal = httpx.get(f"{server.url}/__mock/requests", timeout=10).json()["requests"]
    posts = [e for e in journal if e["method"] == "POST"]
    assert len(posts) == 8
    assert all(e["valid"] for e in posts)
