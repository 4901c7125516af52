"""CPU use of the server under test and of the load generator, to show which side is saturated.

A process tree's CPU seconds come from ``/proc`` (Linux; None elsewhere), the load
generator's from ``getrusage`` (wrk, a reaped child) or ``time.process_time`` (this process,
the httpx client). ``measured`` turns the two into per cent of one core over one action.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["children_cpu_s", "measured", "percent", "self_cpu_s", "tree_cpu_s"]

T = TypeVar("T")


def _clock_ticks() -> int:
    try:
        return os.sysconf("SC_CLK_TCK")
    except (AttributeError, ValueError, OSError):
        return 100


def tree_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of a live process and all its descendants."""
    stats: dict[int, tuple[int, float]] = {}  # pid -> (ppid, cpu seconds)
    try:
        entries = os.listdir("/proc")
    except OSError:
        return None
    ticks = _clock_ticks()
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        stats[int(entry)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / ticks)
    if pid not in stats:
        return None
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += stats[current][1]
        todo.extend(child for child, (parent, _) in stats.items() if parent == current)
    return total


def children_cpu_s() -> float:
    """CPU seconds of this process's reaped children (wrk's, once it has exited)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def self_cpu_s() -> float:
    return time.process_time()


def percent(cpu: float | None, wall: float) -> float | None:
    return None if cpu is None or wall <= 0 else 100.0 * cpu / wall


def measured(
    server_pid: int, client_cpu: Callable[[], float], action: Callable[[], T]
) -> tuple[T, float | None, float | None]:
    """Run ``action``; also return the server's and the client's CPU use, % of one core."""
    server_before, client_before = tree_cpu_s(server_pid), client_cpu()
    started = time.perf_counter()
    result = action()
    wall = time.perf_counter() - started
    server_after, client_after = tree_cpu_s(server_pid), client_cpu()
    server_cpu = (
        None if server_before is None or server_after is None else server_after - server_before
    )
    return result, percent(server_cpu, wall), percent(client_after - client_before, wall)
