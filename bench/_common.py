"""Shared by the benchmark scripts: one benchmark at a time, and what the machine was doing."""

from __future__ import annotations

import contextlib
import fcntl
import os
import platform
import time
from collections.abc import Iterator
from pathlib import Path

LOCK = Path(__file__).resolve().parent / "out" / ".bench.lock"


@contextlib.contextmanager
def exclusive(console) -> Iterator[None]:
    """Hold ``bench/out/.bench.lock`` for the whole run: two benchmarks on 2 cores spoil each other's figures."""
    LOCK.parent.mkdir(parents=True, exist_ok=True)
    with open(LOCK, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            console.print(f"another benchmark holds {LOCK} ({f.read().strip() or 'unknown'}); waiting for it")
            fcntl.flock(f, fcntl.LOCK_EX)
        f.seek(0)
        f.truncate()
        f.write(f"pid {os.getpid()} since {time.strftime('%H:%M:%S')}")
        f.flush()
        try:
            yield
        finally:
            f.truncate(0)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def load() -> float:
    """One-minute load average; on this 2-core machine anything near 1 before a run means a neighbour."""
    return round(os.getloadavg()[0], 2)
