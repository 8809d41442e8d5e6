"""The DuckDB path on a large Parquet file: wall time and peak memory of steward's audit.

Run: ``.venv/bin/python bench/duckdb_large.py [--rows 100000000] [--repeats 3] [--json OUT]``

Generates (once) ``bench/out/large-N.parquet`` with DuckDB itself: race (5 skewed levels), sex,
label ``y``, score ``s`` and decision ``d = s >= 0.5``, drawn from hashes of the row number, so the
data never sits in Python's memory and the file is the same on every run. Then, each in a fresh
child process (``python -c``), alternately and ``--repeats`` times:

* steward: ``steward.audit(path, label="y", prediction="d", score="s", protected=...)``, which
  hashes the file (SHA-256), validates, runs one DuckDB GROUP BY and computes metrics and tests;
* floor: a bare ``SELECT race, sex, y, d, count(*), sum(s), sum(s*s) FROM read_parquet(...)
  GROUP BY ALL`` with DuckDB's default settings.

Peak resident memory is the child's own maximum RSS as the kernel reports it to the parent
(``os.wait4``), so it includes the interpreter, imports and DuckDB's buffers. Time is reported both
for the call inside the child and for the whole child (start-up and imports included). The file is
read once before timing, so every run sees a warm page cache. Target: peak memory under 2 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import duckdb
from rich.console import Console

from _common import child, cpu_model, exclusive, load, warm

HERE = Path(__file__).resolve().parent
console = Console(width=None if sys.stdout.isatty() else 150)
TARGET_MB = 2048

GENERATE = """
COPY (
  SELECT
    CASE WHEN h1 < 0.60 THEN 'White' WHEN h1 < 0.80 THEN 'Black' WHEN h1 < 0.92 THEN 'Hispanic'
         WHEN h1 < 0.98 THEN 'Asian' ELSE 'Other' END AS race,
    CASE WHEN h2 < 0.45 THEN 'Female' ELSE 'Male' END AS sex,
    y,
    CAST(s >= 0.5 AS BIGINT) AS d,
    s
  FROM (
    SELECT h1, h2, y,
           least(1.0, greatest(0.0, 0.3 + 0.3 * y + 0.08 * CAST(h1 >= 0.6 AND h1 < 0.8 AS INTEGER)
                                    + 0.36 * (h4 - 0.5))) AS s
    FROM (
      SELECT h1, h2, h4, CAST(h3 < 0.35 + 0.1 * CAST(h1 >= 0.6 AND h1 < 0.8 AS INTEGER) AS BIGINT) AS y
      FROM (
        SELECT hash(i, {seed}, 1) / 18446744073709551616.0 AS h1, hash(i, {seed}, 2) / 18446744073709551616.0 AS h2,
               hash(i, {seed}, 3) / 18446744073709551616.0 AS h3, hash(i, {seed}, 4) / 18446744073709551616.0 AS h4
        FROM range({rows}) t(i)
      )
    )
  )
) TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 1000000)
"""

CHILD_AUDIT = """
import json, sys, time, warnings
warnings.simplefilter("ignore")
import steward
t = time.perf_counter()
r = steward.audit(sys.argv[1], label="y", prediction="d", score="s", protected={"race": "White", "sex": "Male"})
seconds = time.perf_counter() - t
f = r.to_frame()
print(json.dumps({"seconds": seconds, "rows": r.source["rows"], "engine": r.settings["engine"],
                  "groups": len(f),
                  "selection_rate": {f"{a}={g}": v for a, g, v in f[["attribute", "group", "selection_rate"]].itertuples(index=False)}}))
"""

CHILD_FLOOR = """
import json, sys, time
import duckdb
t = time.perf_counter()
rows = duckdb.sql(f"SELECT race, sex, y, d, count(*), sum(s), sum(s * s) FROM read_parquet('{sys.argv[1]}') GROUP BY ALL").fetchall()
seconds = time.perf_counter() - t
print(json.dumps({"seconds": seconds, "rows": sum(r[4] for r in rows), "cells": [list(r[:5]) for r in rows]}))
"""


def generate(rows: int, seed: int, path: Path) -> dict:
    """Write the file unless it exists with this row count and seed; return its metadata."""
    meta_path = path.with_name(path.name + ".json")
    if path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        n = duckdb.sql(f"SELECT count(*) FROM read_parquet('{path}')").fetchall()[0][0]
        if n == rows and meta.get("rows") == rows and meta.get("seed") == seed:
            console.print(f"using {path} ({rows:,} rows, {path.stat().st_size / 1e9:.2f} GB, "
                          f"generated in {meta['seconds']:.0f} s on {meta['date']})")
            return meta
    path.parent.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(path.parent).free
    need = rows * 20  # ~9 bytes a row on disk; keep room for DuckDB's temporary files
    console.print(f"free disk in {path.parent}: {free / 1e9:.1f} GB (want {need / 1e9:.1f} GB)")
    if free < need:
        sys.exit(f"not enough disk for {rows:,} rows in {path.parent}: {free / 1e9:.1f} GB free")
    tmp = path.with_name(path.name + ".tmp")
    with console.status(f"generating {rows:,} rows into {path} with DuckDB"):
        t = time.perf_counter()
        duckdb.sql(GENERATE.format(rows=rows, seed=seed, path=tmp))
        seconds = time.perf_counter() - t
        tmp.replace(path)
    meta = {"rows": rows, "seed": seed, "seconds": seconds, "bytes": path.stat().st_size,
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "duckdb": duckdb.__version__}
    meta_path.write_text(json.dumps(meta, indent=2))
    console.print(f"generated {path} ({meta['bytes'] / 1e9:.2f} GB) in {seconds:.0f} s")
    return meta


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=3, help="runs of each child, alternating; best time, largest peak")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    out = HERE / "out"
    path = out / (f"large-{args.rows}.parquet" if args.seed == 0 else f"large-{args.rows}-seed{args.seed}.parquet")
    console.print(f"[bold]DuckDB path benchmark[/bold]  {cpu_model()}, {os.cpu_count()} cores, "
                  f"python {platform.python_version()}, duckdb {duckdb.__version__}; load {load()}")
    load_start = load()
    meta = generate(args.rows, args.seed, path)
    with console.status("reading the file once (warm page cache)"):
        warm_s = warm(path)
    console.print(f"read {path.stat().st_size / 1e9:.2f} GB once in {warm_s:.1f} s (page cache now warm)")

    audits, floors = [], []
    for i in range(args.repeats):
        with console.status(f"run {i + 1}/{args.repeats}: steward audit (child process)"):
            audits.append(child(CHILD_AUDIT, path))
        with console.status(f"run {i + 1}/{args.repeats}: bare DuckDB GROUP BY (child process)"):
            floors.append(child(CHILD_FLOOR, path))
        a, f = audits[-1], floors[-1]
        console.print(f"run {i + 1}: steward {a['seconds']:.2f} s (child {a['wall_seconds']:.2f} s, "
                      f"peak {a['peak_mb']:.0f} MB); floor {f['seconds']:.2f} s "
                      f"(child {f['wall_seconds']:.2f} s, peak {f['peak_mb']:.0f} MB)")

    # Both did the work: every row counted, and the same selection rates per race and sex.
    for a in audits:
        assert a["rows"] == args.rows and a["engine"] == "duckdb", a
    for f in floors:
        assert f["rows"] == args.rows
    cells = floors[0]["cells"]
    for attr, idx in (("race", 0), ("sex", 1)):
        for g in sorted({c[idx] for c in cells}):
            n = sum(c[4] for c in cells if c[idx] == g)
            sel = sum(c[4] for c in cells if c[idx] == g and c[3] == 1) / n
            got = audits[0]["selection_rate"][f"{attr}={g}"]
            assert abs(got - sel) <= 1e-12, (attr, g, got, sel)

    best_a = min(audits, key=lambda r: r["seconds"])
    best_f = min(floors, key=lambda r: r["seconds"])
    peak_a = max(r["peak_mb"] for r in audits)
    peak_f = max(r["peak_mb"] for r in floors)
    figures = {
        "machine": {"cores": os.cpu_count(), "cpu": cpu_model(), "python": platform.python_version(),
                    "duckdb": duckdb.__version__, "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    "load_1min_at_start": load_start, "load_1min_at_end": load()},
        "rows": args.rows, "file_gb": path.stat().st_size / 1e9, "generation": meta, "warm_read_seconds": warm_s,
        "steward": {"seconds": best_a["seconds"], "wall_seconds": min(r["wall_seconds"] for r in audits),
                    "peak_mb": peak_a, "runs": [{k: r[k] for k in ("seconds", "wall_seconds", "peak_mb")} for r in audits]},
        "floor": {"seconds": best_f["seconds"], "wall_seconds": min(r["wall_seconds"] for r in floors),
                  "peak_mb": peak_f, "runs": [{k: r[k] for k in ("seconds", "wall_seconds", "peak_mb")} for r in floors]},
        "time_ratio": best_a["seconds"] / best_f["seconds"],
        "wall_ratio": min(r["wall_seconds"] for r in audits) / min(r["wall_seconds"] for r in floors),
        "peak_target_mb": TARGET_MB, "peak_target_met": peak_a < TARGET_MB,
    }
    console.print(f"\n[bold]{args.rows:,} rows, {figures['file_gb']:.2f} GB Parquet, best of {args.repeats}[/bold]")
    console.print(f"steward audit        : {best_a['seconds']:6.2f} s in the call, {figures['steward']['wall_seconds']:6.2f} s "
                  f"for the child; peak RSS {peak_a:5.0f} MB "
                  f"(target < {TARGET_MB} MB: {'met' if figures['peak_target_met'] else 'MISSED'})")
    console.print(f"bare DuckDB GROUP BY : {best_f['seconds']:6.2f} s in the call, {figures['floor']['wall_seconds']:6.2f} s "
                  f"for the child; peak RSS {peak_f:5.0f} MB")
    console.print(f"steward / floor      : {figures['time_ratio']:.2f} (call), {figures['wall_ratio']:.2f} (child); "
                  f"selection rates per race and sex agree to 1e-12")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2))
        console.print(f"figures written to {args.json}")


if __name__ == "__main__":
    with exclusive(console):
        main()
