"""What every benchmark prints first: the machine, and the versions of what it measures."""

from __future__ import annotations

import importlib.util
import os
import platform
import sys
from importlib import metadata
from typing import Any

__all__ = ["loud", "machine", "verdict", "version"]


def version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def machine(*dists: str) -> dict[str, Any]:
    """CPU model, cores, platform, Python, and the version of each named distribution
    (``uvloop`` and ``httptools`` only when importable)."""
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        nproc = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        nproc = os.cpu_count() or 0
    found: dict[str, Any] = {
        "cpu": cpu or platform.machine(),
        "nproc": nproc,
        "platform": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
    }
    for dist in dists:
        importable = dist not in ("uvloop", "httptools") or importlib.util.find_spec(dist)
        found[dist] = version(dist) if importable else None
    return found


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def loud(message: str) -> None:
    line = "!" * 92
    text = f"\n{line}\n!! {message}\n{line}\n"
    print(text, flush=True)
    if not sys.stdout.isatty():  # redirected: make sure a terminal sees it too
        print(text, file=sys.stderr, flush=True)
