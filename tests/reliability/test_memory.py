"""Memory is bounded in bytes, not only in entries: large valid prompts do not pile up in
the journal or the text caches (the CLI's server, its RSS read from /proc)."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx

from tests.mockserver.conftest import AUTH, serve_cli, text_task

PROMPT_BYTES = 8 * 1024 * 1024
REQUESTS = 16


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_large_prompts_do_not_pile_up() -> None:
    with (
        serve_cli("--processing-ms", "0") as (url, server),
        httpx.Client(base_url=url, timeout=120) as http,
    ):
        before = _rss_mib(server.pid)
        for n in range(REQUESTS):
            # Each prompt is new (nothing to share between them) and valid: the document
            # sets no maxLength on message content.
            prompt = f"request {n} " + "word " * (PROMPT_BYTES // 5)
            reply = http.post(
                "/v1",
                json=[
                    text_task(
                        taskUUID=str(uuid.uuid4()), messages=[{"role": "user", "content": prompt}]
                    )
                ],
                headers=AUTH,
            )
            assert reply.status_code == 200, reply.text[:500]
        after = _rss_mib(server.pid)
        journal = http.get("/__mock/requests").json()["requests"]
        assert http.delete("/__mock/requests").status_code == 200
        cleared = _rss_mib(server.pid)
    assert len(journal) == REQUESTS
    content = journal[0]["request"][0]["messages"][0]["content"]
    assert len(content) < 4096
    assert "truncated by the journal" in content
    assert journal[0]["valid"] is True  # the verdict was taken on the whole body
    # 16 x 8 MiB went through: without the byte bounds the journal alone held 128 MiB.
    assert after - before < 64, (before, after)
    assert cleared - before < 64, (before, after, cleared)
    print(
        f"\nRSS {before:.0f} -> {after:.0f} MiB after {REQUESTS} x 8 MiB prompts, "
        f"{cleared:.0f} MiB after clearing the journal"
    )
