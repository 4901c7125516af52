"""What tests share that is not a fixture: plain functions and constants, imported by name.

Test modules never import from one another: what two of them share lives here, in
``tests/_sdks.py`` (the official SDKs' harness), or in a ``conftest.py`` (its folder's
fixtures and the helpers they are built on). Nothing here imports a test module or a
conftest, so the conftests, and the Schemathesis hooks in their own process, can use it.

- the two real model documents, and generated variants of them for catalogue tests: nothing
  in the kit may be model-specific, so the catalogue is tested with documents that differ the
  way Runware's documents differ from each other (another model id, other limits, other
  enums and defaults, settings added);
- the mock in-process (:func:`asgi_client`), a free loopback port (:func:`free_port`), and
  a ``python -m mockserver`` command run to its end (:func:`run_mock_cli`);
- the events of a Server-Sent Events reply (:func:`sse_data`, :func:`sse_payloads`);
- a downstream project's pytest run, for the plugin's tests (:func:`run_downstream`), and
  the packaged contract suite run against a mock (:func:`run_contract_suite`).
"""

from __future__ import annotations

import copy
import json
import socket
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp

import openapi

REPO = Path(__file__).parents[1]
DATA = Path(__file__).parent / "data"
SECOND_DOCUMENT = DATA / "runware-minimax-m2.7.openapi.json"
BUNDLED_PATH = Path(openapi.__file__).parent / "data" / openapi.BUNDLED_DOCUMENT


def document(which: str = "bundled") -> dict[str, Any]:
    """A fresh copy of one of the two real documents (``"bundled"`` or ``"second"``)."""
    path = BUNDLED_PATH if which == "bundled" else SECOND_DOCUMENT
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def task_schema(doc: dict[str, Any]) -> dict[str, Any]:
    """The task (item) schema of a document, to change in place."""
    items: dict[str, Any] = doc["components"]["schemas"]["RequestBody"]["items"]
    return items


def variant(
    model_id: str,
    *,
    base: str = "bundled",
    temperature_max: float | None = None,
    delivery_methods: list[str] | None = None,
    delivery_default: str | None = None,
    extra_setting: str | None = None,
    max_tasks: int | None = None,
    title: str | None = None,
) -> dict[str, Any]:
    """A document for ``model_id``: one of the two real ones with some limits changed.

    Args:
        temperature_max: ``settings.temperature.maximum``.
        delivery_methods: the ``deliveryMethod`` enum (its oneOf/enum replaced).
        delivery_default: the documented default ``deliveryMethod``.
        extra_setting: an integer setting (0 to 10) the base document does not have.
        max_tasks: ``maxItems`` on the body (a batch limit).
    """
    doc = copy.deepcopy(document(base))
    items = task_schema(doc)
    items["properties"]["model"]["const"] = model_id
    doc["info"]["x-air-id"] = model_id
    doc["info"]["title"] = title or f"Runware API - {model_id}"
    settings = items["properties"]["settings"]["properties"]
    if temperature_max is not None:
        settings["temperature"]["maximum"] = temperature_max
        settings["temperature"]["default"] = min(
            settings["temperature"].get("default", 0), temperature_max
        )
    delivery = items["properties"]["deliveryMethod"]
    if delivery_methods is not None:
        delivery.pop("oneOf", None)
        delivery["enum"] = delivery_methods
        if delivery.get("default") not in delivery_methods:
            delivery["default"] = delivery_methods[0]
    if delivery_default is not None:
        delivery["default"] = delivery_default
    if extra_setting is not None:
        settings[extra_setting] = {
            "title": extra_setting,
            "type": "integer",
            "minimum": 0,
            "maximum": 10,
        }
    if max_tasks is not None:
        doc["components"]["schemas"]["RequestBody"]["maxItems"] = max_tasks
    return doc


def write(folder: Path, name: str, doc: dict[str, Any]) -> Path:
    """Write ``doc`` as ``folder/name`` (the folder made if need be); returns the path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


# -- tasks ---------------------------------------------------------------------------------

UUID = "a770f077-f413-47de-9dac-be0b26a35da6"


def task(spec: openapi.Spec, **changes: Any) -> dict[str, Any]:
    """An inference task for ``spec``'s model; ``parent__leaf=value`` sets a nested key
    (``settings__temperature=0.5``)."""
    base: dict[str, Any] = {
        "taskType": spec.inference_task_type,
        "taskUUID": UUID,
        "model": spec.model_id,
        "messages": [{"role": "user", "content": "Hello there"}],
    }
    for dotted, value in changes.items():
        target = base
        *parents, leaf = dotted.split("__")
        for parent in parents:
            target = target.setdefault(parent, {})
        target[leaf] = value
    return base


def model_task(model: Any, *, content: str = "Hi", **changes: Any) -> dict[str, Any]:
    """A one-message textInference task naming ``model`` (any value, for routing tables),
    with a fresh taskUUID; ``changes`` replace or add top-level fields."""
    body: dict[str, Any] = {
        "taskType": "textInference",
        "taskUUID": str(uuid.uuid4()),
        "model": model,
        "messages": [{"role": "user", "content": content}],
    }
    body.update(changes)
    return body


# -- the mock in-process, and on the network -----------------------------------------------


def asgi_client(
    app: ASGIApp,
    *,
    base_url: str = "http://mock",
    root_path: str = "",
    raise_app_exceptions: bool = True,
    **options: Any,
) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` that calls ``app`` in-process (``httpx.ASGITransport``), as
    unit tests use the mock; use it as ``async with asgi_client(app) as http``.

    ``root_path`` and ``raise_app_exceptions`` go to the transport, the other ``options``
    (``headers``, ``timeout``) to the client.
    """
    transport = httpx.ASGITransport(
        app=app, root_path=root_path, raise_app_exceptions=raise_app_exceptions
    )
    return httpx.AsyncClient(transport=transport, base_url=base_url, **options)


def free_port() -> int:
    """A loopback TCP port that nothing listens on (at the moment of asking)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def run_mock_cli(
    *args: str, input: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``python -m mockserver *args`` run to its end, ``input`` on its stdin: for the
    commands and refusals that exit by themselves. Its output is captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "mockserver", *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def buffered_event(app: Any) -> threading.Event:
    """Set once the app's store has buffered a frame for a session (a client that left)."""
    store = app.state.mock.store
    original = store.buffer
    done = threading.Event()

    async def buffer(*args: Any, **kwargs: Any) -> None:
        await original(*args, **kwargs)
        done.set()

    store.buffer = buffer
    return done


# -- Server-Sent Events --------------------------------------------------------------------


def sse_data(text: str) -> list[str]:
    """The text after ``data: `` of each data line of an event stream, in order; comments,
    blank lines and other fields left out. Each of the mock's events is one data line."""
    return [line.removeprefix("data: ") for line in text.splitlines() if line.startswith("data: ")]


def sse_payloads(text: str) -> list[Any]:
    """The JSON of each ``data:`` line of an event stream, ``[DONE]`` as the string."""
    return [data if data == "[DONE]" else json.loads(data) for data in sse_data(text)]


# -- the plugin, as a downstream project uses it -------------------------------------------

DOWNSTREAM_TASK = """
import uuid
def task(**changes):
    body = {"taskType": "textInference", "taskUUID": str(uuid.uuid4()),
            "model": "alibaba:qwen@3.5-397b",
            "messages": [{"role": "user", "content": "Hello"}]}
    body.update(changes)
    return body
"""


def run_downstream(
    pytester: pytest.Pytester, source: str, *args: str, helpers: str = DOWNSTREAM_TASK
) -> pytest.RunResult:
    """pytest in a subprocess on a downstream project: ``test_downstream.py`` holding
    ``source``, beside ``helpers.py`` holding ``helpers`` (by default a ``task(**changes)``
    for the bundled model)."""
    pytester.makepyfile(helpers=helpers, test_downstream=source)
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)


def run_contract_suite(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The packaged contract suite (``pytest --pyargs contracts.suite -W error``) in a
    subprocess from the repository's root, against the mock at ``url`` (its ``/v1``, key
    ``ci-key``); ``args`` go to pytest as well. Its output is captured as text."""
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "--pyargs",
        "contracts.suite",
        "--runware-target",
        f"{url}/v1",
        "--runware-api-key",
        "ci-key",
        "-W",
        "error",
        *args,
    ]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=300, check=False, cwd=REPO
    )
