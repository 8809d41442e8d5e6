"""Can two processes reach bench/monitoring.py's target (2x a bare DuckDB GROUP BY) by splitting the file?

Each worker reads its half of the 10M-row Parquet file (row numbers [lo, hi), DuckDB with one thread, as
Arrow batches of 200k rows -> pandas) and reduces every batch with ``reduce_batch`` on the benchmark's
reference; the statistics would then be merged by addition. Run after ``bench/monitoring.py --rows 10000000``
(which writes the file and the reference):

    .venv/bin/python bench/monitoring_split.py

It prints the wall time of 1 process over the whole file, 1 process over half of it, and 2 processes over
the two halves at once: the part of a monitor run that a split could parallelise (no judging, no storing).
"""

from __future__ import annotations

import json
import multiprocessing as mp
import sys
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
DATA = OUT / "monitoring-10000000.parquet"
REF = OUT / "monitoring-ref-200000-seed0.json"


def work(part: tuple[int, int]) -> int:
    import duckdb

    from steward.monitoring._reference import Reference
    from steward.monitoring._window import reduce_batch

    ref = Reference.from_dict(json.loads(REF.read_text()))
    lo, hi = part
    con = duckdb.connect(config={"threads": 1})
    q = con.sql(f"SELECT * EXCLUDE (file_row_number) FROM read_parquet('{DATA}', file_row_number=true) "
                f"WHERE file_row_number >= {lo} AND file_row_number < {hi}")
    return sum(reduce_batch(b.to_pandas(), ref).rows for b in q.to_arrow_reader(200_000))


def main() -> None:
    import pyarrow.parquet as pq

    if not DATA.exists() or not REF.exists():
        sys.exit("run bench/monitoring.py --rows 10000000 first (it writes the file and the reference)")
    n = pq.ParquetFile(DATA).metadata.num_rows
    ctx = mp.get_context("fork")
    for label, parts, procs in [("1 process, whole file", [(0, n)], 1), ("1 process, half the file", [(0, n // 2)], 1),
                                ("2 processes, one half each", [(0, n // 2), (n // 2, n)], 2)]:
        t = time.perf_counter()
        with ctx.Pool(procs) as pool:
            rows = sum(pool.map(work, parts))
        print(f"{label}: {rows:,} rows read and reduced in {time.perf_counter() - t:.2f} s", flush=True)


if __name__ == "__main__":
    main()
