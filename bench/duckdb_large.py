"""The DuckDB path on a Parquet file larger than memory should matter: time and peak memory.

Run: ``.venv/bin/python bench/duckdb_large.py [--rows 100000000]``

Generates (once) ``bench/out/large-N.parquet`` with DuckDB itself, from hashes of the row number,
so the data never sits in Python's memory. Then, each in a fresh child process so that peak
resident memory is the child's own: steward's audit of the file (SHA-256 of the file, validation,
one GROUP BY, metrics and tests), and as the floor a bare DuckDB GROUP BY of the same cells.
Target: the audit's peak memory under 2 GB.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console

HERE = Path(__file__).resolve().parent
console = Console()

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
        SELECT hash(i, 1) / 18446744073709551616.0 AS h1, hash(i, 2) / 18446744073709551616.0 AS h2,
               hash(i, 3) / 18446744073709551616.0 AS h3, hash(i, 4) / 18446744073709551616.0 AS h4
        FROM range({rows}) t(i)
      )
    )
  )
) TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 1000000)
"""

CHILD_AUDIT = """
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
import steward
t = time.perf_counter()
r = steward.audit(sys.argv[1], label="y", prediction="d", score="s", protected={"race": "White", "sex": "Male"})
seconds = time.perf_counter() - t
air = float(r.to_frame().query("group == 'Black'")["adverse_impact_ratio"].iloc[0])
print(json.dumps({"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "rows": r.source["rows"], "air_black": air}))
"""

CHILD_FLOOR = """
import json, resource, sys, time
import duckdb
t = time.perf_counter()
rows = duckdb.sql(f"SELECT race, sex, y, d, count(*), sum(s), sum(s * s) FROM read_parquet('{sys.argv[1]}') GROUP BY ALL").fetchall()
seconds = time.perf_counter() - t
print(json.dumps({"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "rows": sum(r[4] for r in rows)}))
"""


def generate(rows: int, path: Path) -> None:
    import duckdb

    if path.exists():
        n = duckdb.sql(f"SELECT count(*) FROM read_parquet('{path}')").fetchall()[0][0]
        if n == rows:
            console.print(f"using {path} ({rows:,} rows, {path.stat().st_size / 1e9:.2f} GB)")
            return
    free = shutil.disk_usage(path.parent).free
    if free < rows * 40:
        sys.exit(f"not enough disk for {rows:,} rows in {path.parent}: {free / 1e9:.1f} GB free")
    tmp = path.with_suffix(".tmp")
    with console.status(f"generating {rows:,} rows into {path}"):
        t = time.perf_counter()
        duckdb.sql(GENERATE.format(rows=rows, path=tmp))
        tmp.replace(path)
    console.print(f"generated {path} ({path.stat().st_size / 1e9:.2f} GB) in {time.perf_counter() - t:.0f} s")


def child(code: str, path: Path) -> dict:
    proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000_000)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    path = out / f"large-{args.rows}.parquet"
    generate(args.rows, path)
    with console.status("steward audit (child process)"):
        audit = child(CHILD_AUDIT, path)
    with console.status("bare DuckDB GROUP BY (child process)"):
        floor = child(CHILD_FLOOR, path)
    assert audit["rows"] == floor["rows"] == args.rows
    figures = {"rows": args.rows, "file_gb": path.stat().st_size / 1e9, "steward": audit, "floor": floor,
               "time_ratio": audit["seconds"] / floor["seconds"]}
    console.print(f"steward audit: {audit['seconds']:.1f} s, peak {audit['peak_mb']:.0f} MB "
                  f"(target < 2048 MB: {'met' if audit['peak_mb'] < 2048 else 'MISSED'})")
    console.print(f"bare DuckDB GROUP BY: {floor['seconds']:.1f} s, peak {floor['peak_mb']:.0f} MB")
    console.print(f"steward / floor time: {figures['time_ratio']:.2f}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
