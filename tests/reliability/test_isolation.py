"""Tasks and results belong to the API key that created them, as they belong to a Runware
account: another key polling them gets taskNotFound, exactly as for a task never sent."""

from __future__ import annotations

import uuid

import pytest

from mockserver import MockConfig, create_app
from tests._support import asgi_client
from tests.mockserver.conftest import text_task

pytestmark = pytest.mark.anyio

OWNER = {"Authorization": "Bearer key-of-alice-0001"}
OTHER = {"Authorization": "Bearer key-of-mallory-02"}


def _poll(task_uuid: str) -> list[dict[str, str]]:
    return [{"taskType": "getResponse", "taskUUID": task_uuid}]


@pytest.mark.parametrize("delivery", ["async", "webhook"])
async def test_another_key_cannot_poll_a_task(delivery: str) -> None:
    changes = (
        {"deliveryMethod": "async"}
        if delivery == "async"
        else {"webhookURL": "https://hooks.example.invalid/runware"}
    )
    task = text_task(taskUUID=str(uuid.uuid4()), **changes)
    app = create_app(config=MockConfig(processing_ms=0))
    async with asgi_client(app) as http:
        assert (await http.post("/v1", json=[task], headers=OWNER)).status_code == 200
        stolen = await http.post("/v1", json=_poll(task["taskUUID"]), headers=OTHER)
        never_sent = await http.post("/v1", json=_poll(str(uuid.uuid4())), headers=OTHER)
        own = await http.post("/v1", json=_poll(task["taskUUID"]), headers=OWNER)
        by_task = await http.post(
            "/v1",
            json=[
                {"taskType": "authentication", "apiKey": "key-of-alice-0001"},
                *_poll(task["taskUUID"]),
            ],
        )
    assert stolen.status_code == 400
    (error,) = stolen.json()["errors"]
    assert error["code"] == "taskNotFound"
    # Indistinguishable from a task that does not exist, but for the UUID itself.
    (unknown,) = never_sent.json()["errors"]
    assert error["message"].replace(task["taskUUID"], "U") == unknown["message"].replace(
        unknown["taskUUID"], "U"
    )
    assert [i["status"] for i in own.json()["data"]] == ["success"]
    assert [i["status"] for i in by_task.json()["data"]] == ["success"]
