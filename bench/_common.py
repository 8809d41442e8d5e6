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


def child(code: str, *args: object, rss_key: str = "peak_mb") -> dict:
    """Run ``python -c code args...`` in a child process: the last JSON line it prints, plus its wall time and its
    peak resident memory (``ru_maxrss`` from ``os.wait4``, in MB, under ``rss_key``). A failing child ends the
    benchmark with the end of its stderr."""
    import json
    import subprocess
    import sys
    import tempfile

    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", code, *map(str, args)], stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
        code_ = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if code_ != 0:
            sys.exit(f"child failed ({code_}):\n{err.read()[-4000:]}")
        figures = json.loads([line for line in out.read().splitlines() if line.startswith("{")][-1])
    figures["wall_seconds"] = wall
    figures[rss_key] = usage.ru_maxrss / 1024  # kilobytes on Linux
    return figures


def warm(path: Path) -> float:
    """Read ``path`` once (so every variant meets a warm page cache); the seconds it took."""
    t = time.perf_counter()
    with open(path, "rb", buffering=0) as f:
        while f.read(1 << 24):
            pass
    return time.perf_counter() - t
