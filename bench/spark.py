"""The audit on Apache Spark (``local[2]``) against a bare Spark ``groupBy().agg()`` and DuckDB, same file, same run.

Run: ``.venv/bin/python bench/spark.py [--rows 10000000] [--repeats 2] [--json OUT] [--compare OTHER_JSON]``
(``--rows 100000000 --compare bench/out/spark-10M.json`` for the large file and the marginal cost per row;
``--rows 1000000`` for a quick run.)

Generates (once) ``bench/out/spark-N.parquet`` with DuckDB from hashes of the row number (``hash(i*8+j)``:
one independent hash per column; ``hash(i, seed, j)`` gives correlated columns), so the data never sits in
Python's memory and the file is the same on every run: ``race`` (5 levels, 60/20/12/6/2%), ``sex`` (Female
45%), label ``y`` (35%, 45% for Black), ``score`` (clipped, higher with y), decision ``d = score >= 0.5`` and a
sample ``weight`` in [0.5, 2). Then, each in a fresh child process (``python -c``), alternating ``--repeats``
times:

* spark-steward: a ``local[2]`` session (``steward.engine._spark.spark_session``), then
  ``steward.audit(spark.read.parquet(path), label="y", prediction="d", score="score", weight="weight",
  protected={"race": "White", "sex": "Male"})``: Steward's one ``groupBy().agg()`` (cells with the weighted
  count, sum of squared weights, weighted score sums, and the counts of missing and invalid scores and
  weights that validation needs), collected, then every metric and test on the driver;
* spark-bare: the same session settings, ``spark.read.parquet(path).groupBy("race", "sex", "y", "d")
  .agg(count(*), sum(w), sum(w*w), sum(score), sum(score*score)).collect()``: the floor Steward's job is
  held to (target: Steward within 1.5x);
* duckdb-steward: ``steward.audit(path, ...)`` with the default engine (DuckDB), which also hashes the file
  (SHA-256) before its one GROUP BY; the hashing is timed apart from the scan.

Time: the call inside the child (session start apart), and the whole child. Memory: the Python child's own
peak (``VmHWM``, and ``ru_maxrss`` from ``os.wait4``) and, for Spark, the JVM's peak resident set (``VmHWM``
of the ``java`` process, read before the session stops): Spark's work happens in the JVM, which a
Python-side figure alone would miss. The per-stage costs (session start, read+aggregate per row, driver
metrics, and SHA-256 per byte for the path route) give the 1-billion-row estimate printed at the end.
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
TARGET_RATIO = 1.5
CORES = 2  # local[2]

GENERATE = """
COPY (
  SELECT
    CASE WHEN h1 < 0.60 THEN 'White' WHEN h1 < 0.80 THEN 'Black' WHEN h1 < 0.92 THEN 'Hispanic'
         WHEN h1 < 0.98 THEN 'Asian' ELSE 'Other' END AS race,
    CASE WHEN h2 < 0.45 THEN 'Female' ELSE 'Male' END AS sex,
    y,
    CAST(score >= 0.5 AS BIGINT) AS d,
    score,
    0.5 + 1.5 * h5 AS weight
  FROM (
    SELECT h1, h2, h5, y,
           least(1.0, greatest(0.0, 0.3 + 0.3 * y + 0.08 * black + 0.36 * (h4 - 0.5))) AS score
    FROM (
      SELECT h1, h2, h4, h5, black, CAST(h3 < 0.35 + 0.1 * black AS BIGINT) AS y
      FROM (
        SELECT h1, h2, h3, h4, h5, CAST(h1 >= 0.6 AND h1 < 0.8 AS INTEGER) AS black
        FROM (
          SELECT hash(i * 8 + 1) / 18446744073709551616.0 AS h1, hash(i * 8 + 2) / 18446744073709551616.0 AS h2,
                 hash(i * 8 + 3) / 18446744073709551616.0 AS h3, hash(i * 8 + 4) / 18446744073709551616.0 AS h4,
                 hash(i * 8 + 5) / 18446744073709551616.0 AS h5
          FROM range({rows}) t(i)
        )
      )
    )
  )
) TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 1000000)
"""

# Shared by the children: the JVM's pid (the gateway process execs java) and a process's peak resident set.
PRELUDE = """
import json, os, sys, time, warnings
warnings.simplefilter("ignore")

def hwm_mb(pid="self"):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")

def jvm_pid(spark):
    pid = spark.sparkContext._gateway.proc.pid
    if open(f"/proc/{pid}/comm").read().strip() == "java":
        return pid
    for child in os.listdir("/proc"):  # spark-submit did not exec java: find the java child
        try:
            stat = open(f"/proc/{child}/stat").read()
        except OSError:
            continue
        if stat.split(") ", 1)[1].split()[1] == str(pid) and open(f"/proc/{child}/comm").read().strip() == "java":
            return int(child)
    raise SystemExit("no java process found")

ROLES = dict(label="y", prediction="d", score="score", weight="weight", protected={"race": "White", "sex": "Male"})

def rates(result):
    f = result.to_frame()
    return {f"{a}={g}": [int(r), s] for a, g, r, s in f[["attribute", "group", "rows", "selection_rate"]].itertuples(index=False)}
"""

CHILD_SPARK_STEWARD = PRELUDE + """
t = time.perf_counter()
from steward.engine._spark import spark_session
spark = spark_session(master="local[2]")
session_s = time.perf_counter() - t
import steward
marks = {}
def progress(stage, fraction):
    marks[stage] = time.perf_counter()  # the last report of each stage: its end
t = time.perf_counter()
r = steward.audit(spark.read.parquet(sys.argv[1]), on_progress=progress, **ROLES)
end = time.perf_counter()
print(json.dumps({"seconds": end - t, "session_seconds": session_s, "aggregate_seconds": marks["scanning"] - t,
                  "driver_seconds": end - marks["scanning"], "rows": r.source["rows"], "engine": r.settings["engine"],
                  "rates": rates(r), "python_hwm_mb": hwm_mb(), "jvm_hwm_mb": hwm_mb(jvm_pid(spark))}))
spark.stop()
"""

CHILD_SPARK_BARE = PRELUDE + """
t = time.perf_counter()
from steward.engine._spark import spark_session
spark = spark_session(master="local[2]")
session_s = time.perf_counter() - t
from pyspark.sql import functions as F
t = time.perf_counter()
w, s = F.col("weight"), F.col("score")
rows = (spark.read.parquet(sys.argv[1]).groupBy("race", "sex", "y", "d")
        .agg(F.count(F.lit(1)), F.sum(w), F.sum(w * w), F.sum(s), F.sum(s * s)).collect())
seconds = time.perf_counter() - t
partitions = spark.read.parquet(sys.argv[1]).rdd.getNumPartitions()
print(json.dumps({"seconds": seconds, "session_seconds": session_s, "rows": sum(r[4] for r in rows),
                  "cells": [list(r[:5]) for r in rows], "partitions": partitions,
                  "python_hwm_mb": hwm_mb(), "jvm_hwm_mb": hwm_mb(jvm_pid(spark))}))
spark.stop()
"""

CHILD_DUCKDB_STEWARD = PRELUDE + """
import steward
marks = {}
def progress(stage, fraction):
    marks[stage] = time.perf_counter()  # the last report of each stage: its end
t = time.perf_counter()
r = steward.audit(sys.argv[1], on_progress=progress, **ROLES)
end = time.perf_counter()
print(json.dumps({"seconds": end - t, "hash_seconds": marks["hashing"] - t,
                  "aggregate_seconds": marks["scanning"] - marks["hashing"], "driver_seconds": end - marks["scanning"],
                  "rows": r.source["rows"], "engine": r.settings["engine"], "rates": rates(r),
                  "python_hwm_mb": hwm_mb()}))
"""


def generate(rows: int, path: Path) -> dict:
    """Write the file unless it exists with this row count; return its metadata."""
    meta_path = path.with_name(path.name + ".json")
    if path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        n = duckdb.sql(f"SELECT count(*) FROM read_parquet('{path}')").fetchall()[0][0]
        if n == rows and meta.get("rows") == rows:
            console.print(f"using {path} ({rows:,} rows, {path.stat().st_size / 1e9:.2f} GB, "
                          f"generated in {meta['seconds']:.0f} s on {meta['date']})")
            return meta
    path.parent.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(path.parent).free
    need = rows * 30  # ~15 bytes a row on disk; room for DuckDB's temporary files
    if free < need:
        sys.exit(f"not enough disk for {rows:,} rows in {path.parent}: {free / 1e9:.1f} GB free")
    tmp = path.with_name(path.name + ".tmp")
    with console.status(f"generating {rows:,} rows into {path} with DuckDB"):
        t = time.perf_counter()
        duckdb.sql(GENERATE.format(rows=rows, path=tmp))
        seconds = time.perf_counter() - t
        tmp.replace(path)
    meta = {"rows": rows, "seconds": seconds, "bytes": path.stat().st_size,
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "duckdb": duckdb.__version__}
    meta_path.write_text(json.dumps(meta, indent=2))
    console.print(f"generated {path} ({meta['bytes'] / 1e9:.2f} GB) in {seconds:.0f} s")
    return meta


def check(rows: int, spark_runs: list[dict], bare_runs: list[dict], duck_runs: list[dict]) -> None:
    """Every child counted every row; Steward on Spark and on DuckDB give the same groups and selection rates."""
    for r in spark_runs + duck_runs:
        assert r["rows"] == rows, r
    assert {r["engine"] for r in spark_runs} == {"spark"} and {r["engine"] for r in duck_runs} == {"duckdb"}
    for r in bare_runs:
        assert r["rows"] == rows
    a, b = spark_runs[0]["rates"], duck_runs[0]["rates"]
    assert a.keys() == b.keys(), (a.keys(), b.keys())
    for k in a:
        assert a[k][0] == b[k][0] and abs(a[k][1] - b[k][1]) <= 1e-12, (k, a[k], b[k])
    cells = bare_runs[0]["cells"]
    for g in {c[0] for c in cells}:
        assert a[f"race={g}"][0] == sum(c[4] for c in cells if c[0] == g)


def summary(runs: list[dict]) -> dict:
    best = min(runs, key=lambda r: r["seconds"])
    out = {"seconds": best["seconds"], "wall_seconds": min(r["wall_seconds"] for r in runs),
           "python_hwm_mb": max(r["python_hwm_mb"] for r in runs), "ru_maxrss_mb": max(r["ru_maxrss_mb"] for r in runs),
           "runs": [{k: v for k, v in r.items() if k not in ("rates", "cells")} for r in runs]}
    for k in ("session_seconds", "aggregate_seconds", "driver_seconds", "hash_seconds"):
        if k in best:
            out[k] = best[k]
    if "jvm_hwm_mb" in best:
        out["jvm_hwm_mb"] = max(r["jvm_hwm_mb"] for r in runs)
    return out


def estimate(rows: int, spark: dict, file_bytes: int, other: dict | None) -> dict:
    """Per-row and per-stage costs of the Spark route, and what they make of 1 billion rows on C cores.

    With ``other`` (this benchmark's JSON at another row count) the per-row cost is the marginal one between
    the two sizes, and what is left of the read+aggregate time is a fixed cost per job (planning, reading
    the schema, starting tasks on a cold JVM); without it the whole time is charged to the rows (an upper
    bound). Both cores are taken as busy: core-seconds = seconds x 2.
    """
    agg = spark["aggregate_seconds"]
    if other is not None and other["rows"] != rows:
        per_row = (agg - other["spark_steward"]["aggregate_seconds"]) / (rows - other["rows"])
        basis = f"marginal between {other['rows']:,} and {rows:,} rows"
    else:
        per_row, basis = agg / rows, f"all of the read+aggregate time over {rows:,} rows"
    job = max(agg - per_row * rows, 0.0)
    fixed = spark["session_seconds"] + job + spark["driver_seconds"]
    return {"basis": basis, "session_seconds": spark["session_seconds"], "job_fixed_seconds": job,
            "driver_seconds": spark["driver_seconds"], "aggregate_core_ns_per_row": per_row * CORES * 1e9,
            "bytes_per_row": file_bytes / rows, "billion_rows_core_hours": per_row * CORES * 1e9 / 3600,
            "billion_rows_minutes_on": {str(c): (fixed + per_row * CORES * 1e9 / c) / 60 for c in (2, 16, 64, 256)}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--repeats", type=int, default=2, help="runs of each child, alternating; best time, largest peak")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--compare", type=Path, metavar="JSON",
                    help="this benchmark's --json at another --rows: per-row cost as the marginal one between the two")
    args = ap.parse_args()
    other = json.loads(args.compare.read_text()) if args.compare else None

    import pyspark

    path = HERE / "out" / f"spark-{args.rows}.parquet"
    console.print(f"[bold]Spark engine benchmark[/bold]  {cpu_model()}, {os.cpu_count()} cores, python "
                  f"{platform.python_version()}, pyspark {pyspark.__version__}, duckdb {duckdb.__version__}; load {load()}")
    load_start = load()
    meta = generate(args.rows, path)
    with console.status("reading the file once (warm page cache)"):
        warm_s = warm(path)
    size = path.stat().st_size
    console.print(f"read {size / 1e9:.2f} GB once in {warm_s:.1f} s (page cache now warm)")

    spark_runs, bare_runs, duck_runs = [], [], []
    for i in range(args.repeats):
        for name, code, runs in (("Steward on Spark", CHILD_SPARK_STEWARD, spark_runs),
                                 ("bare Spark groupBy().agg()", CHILD_SPARK_BARE, bare_runs),
                                 ("Steward on DuckDB", CHILD_DUCKDB_STEWARD, duck_runs)):
            with console.status(f"run {i + 1}/{args.repeats}: {name} (child process)"):
                r = child(code, path, rss_key="ru_maxrss_mb")
            runs.append(r)
            jvm = f", JVM peak {r['jvm_hwm_mb']:.0f} MB" if "jvm_hwm_mb" in r else ""
            console.print(f"run {i + 1}: {name:27s} {r['seconds']:7.2f} s in the call "
                          f"(child {r['wall_seconds']:6.2f} s); Python peak {r['python_hwm_mb']:.0f} MB{jvm}")
    check(args.rows, spark_runs, bare_runs, duck_runs)

    sp, bare, duck = summary(spark_runs), summary(bare_runs), summary(duck_runs)
    figures = {
        "machine": {"cores": os.cpu_count(), "cpu": cpu_model(), "python": platform.python_version(),
                    "pyspark": pyspark.__version__, "duckdb": duckdb.__version__,
                    "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    "load_1min_at_start": load_start, "load_1min_at_end": load()},
        "rows": args.rows, "file_gb": size / 1e9, "generation": meta, "warm_read_seconds": warm_s,
        "spark_partitions": bare_runs[0]["partitions"],
        "spark_steward": sp, "spark_bare": bare, "duckdb_steward": duck,
        "steward_over_bare": sp["seconds"] / bare["seconds"], "target_ratio": TARGET_RATIO,
        "target_met": sp["seconds"] / bare["seconds"] <= TARGET_RATIO,
        "sha256_seconds_per_gb": duck["hash_seconds"] / (size / 1e9),
        "estimate": estimate(args.rows, sp, size, other),
    }
    e = figures["estimate"]
    console.print(f"\n[bold]{args.rows:,} rows, {figures['file_gb']:.2f} GB Parquet, {figures['spark_partitions']} Spark "
                  f"partitions, best of {args.repeats}[/bold]")
    console.print(f"Steward on Spark  : {sp['seconds']:7.2f} s in the call (read+aggregate {sp['aggregate_seconds']:.2f} s, "
                  f"driver {sp['driver_seconds']:.3f} s) + session start {sp['session_seconds']:.1f} s; "
                  f"JVM peak {sp['jvm_hwm_mb']:.0f} MB, Python peak {sp['python_hwm_mb']:.0f} MB")
    console.print(f"bare Spark        : {bare['seconds']:7.2f} s in the call + session start {bare['session_seconds']:.1f} s; "
                  f"JVM peak {bare['jvm_hwm_mb']:.0f} MB, Python peak {bare['python_hwm_mb']:.0f} MB")
    console.print(f"Steward on DuckDB : {duck['seconds']:7.2f} s in the call (SHA-256 {duck['hash_seconds']:.2f} s, "
                  f"scan {duck['aggregate_seconds']:.2f} s, driver {duck['driver_seconds']:.3f} s); "
                  f"peak {duck['python_hwm_mb']:.0f} MB")
    console.print(f"Steward/bare Spark: {figures['steward_over_bare']:.2f} (target <= {TARGET_RATIO}: "
                  f"{'met' if figures['target_met'] else 'MISSED'}); Spark/DuckDB (scan only): "
                  f"{sp['aggregate_seconds'] / duck['aggregate_seconds']:.1f}")
    console.print(f"per row ({e['basis']}): {e['aggregate_core_ns_per_row']:.0f} core-ns to read and aggregate "
                  f"({e['bytes_per_row']:.1f} bytes of Parquet); fixed: session {e['session_seconds']:.1f} s, job "
                  f"{e['job_fixed_seconds']:.1f} s, driver {e['driver_seconds']:.3f} s; SHA-256 (path route) "
                  f"{figures['sha256_seconds_per_gb']:.1f} s/GB")
    console.print(f"1 billion rows: {e['billion_rows_core_hours']:.2f} core-hours of aggregation; minutes on "
                  + ", ".join(f"{c} cores {m:.1f}" for c, m in e["billion_rows_minutes_on"].items()))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2))
        console.print(f"figures written to {args.json}")


if __name__ == "__main__":
    with exclusive(console):
        main()
