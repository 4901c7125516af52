"""Tests of the example client, written as a downstream project would: the kit's fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from runware_client import RunwareError, TextClient


@pytest.fixture
def client(runware_mock) -> Iterator[TextClient]:  # type: ignore[no-untyped-def]
    text = TextClient(api_key=runware_mock.api_key, url=runware_mock.url)
    yield text
    text.close()


def test_completes_a_prompt(client: TextClient) -> None:
    answer = client.complete("Name a river in France", temperature=0.57)
    assert answer.text
    assert answer.finish_reason in ("stop", "length")
    assert answer.total_tokens


def test_scripted_reply(client: TextClient, runware_mock) -> None:  # type: ignore[no-untyped-def]
    runware_mock.reply(match="capital of France", text="Paris.")
    assert client.complete("What is the capital of France?").text == "Paris."


def test_retries_through_503(client: TextClient, runware_mock) -> None:  # type: ignore[no-untyped-def]
    runware_mock.fail(status=503, times=2)
    assert client.complete("Hello").text
    assert [e["status"] for e in runware_mock.requests] == [503, 503, 200]


def test_out_of_credits_is_not_retried(client: TextClient, runware_mock) -> None:  # type: ignore[no-untyped-def]
    runware_mock.fail(status=402)
    with pytest.raises(RunwareError) as caught:
        client.complete("Hello")
    assert caught.value.code == "insufficientCredits"
    assert len(runware_mock.requests) == 1


def test_max_tokens_caps_the_answer(client: TextClient) -> None:
    assert client.complete("Tell me a long story", max_tokens=3).finish_reason == "length"


@pytest.mark.runware(allow_invalid=True)
def test_a_temperature_out_of_range_is_refused(client: TextClient) -> None:
    with pytest.raises(RunwareError) as caught:
        client.complete("Hello", temperature=2.5)
    assert (caught.value.status, caught.value.parameter) == (400, "settings.temperature")
