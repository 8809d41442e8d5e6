"""Re-identification risk over 5 quasi-identifiers of a Parquet file against a bare DuckDB GROUP BY.

Run: ``.venv/bin/python bench/privacy_reident.py [--rows 1000000] [--repeats 3] [--json OUT]``

Generates (once, seeded) ``bench/out/reident-N.parquet`` with DuckDB from hashes of the row number:
age (18-86, skewed to the young, 69 values), sex (2), race (5, skewed), zip (1,000 five-digit codes,
skewed), education (16 levels, skewed) as quasi-identifiers; diagnosis (10 categories, skewed) and
income (81 round numbers) as sensitive attributes. Then times, alternately in this process and
``--repeats`` times (best of), after one untimed warm-up of each:

* steward: ``reidentification_risk(path, [age, sex, race, zip, education], sensitive="diagnosis")``:
  k-anonymity, records in classes below k, uniques, distinct and entropy l-diversity, t-closeness
  and the smallest classes;
* floor: a bare ``SELECT age, sex, race, zip, education, count(*) FROM read_parquet(...) GROUP BY ALL``
  fetched as an Arrow table (DuckDB's fastest way out; ``fetchall()`` is ~3x slower and would flatter us).

Target: steward within 2x of the floor. For information, also timed: no sensitive attribute, and the
numeric ``income`` (81 values, more than ``PIVOT_MAX``: its own (class, value) group-by and NumPy).
Both sides must agree: the number of classes, of rows, of unique rows and the smallest class.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import duckdb
from rich.console import Console

from _common import cpu_model, exclusive, load

HERE = Path(__file__).resolve().parent
console = Console(width=None if sys.stdout.isatty() else 150)
QIS = ["age", "sex", "race", "zip", "education"]
TARGET = 2.0

_EDU = ["Preschool", "1st-4th", "5th-6th", "7th-8th", "9th", "10th", "11th", "12th", "HS-grad", "Some-college",
        "Assoc-voc", "Assoc-acdm", "Bachelors", "Masters", "Prof-school", "Doctorate"]
_DIAG = ["none", "flu", "asthma", "diabetes", "hypertension", "depression", "cancer", "hiv", "hepatitis", "arthritis"]

# hash(i * 8 + j), not hash(i, seed, j): DuckDB's hashes of tuples that differ in one member are correlated
# (corr 0.6 between hash(i, 0, 1) and hash(i, 0, 2)), which would make the columns depend on each other.
GENERATE = """
COPY (
  SELECT
    CAST(18 + floor(69 * pow(h1, 1.3)) AS INTEGER) AS age,
    CASE WHEN h2 < 0.48 THEN 'Female' ELSE 'Male' END AS sex,
    CASE WHEN h3 < 0.62 THEN 'White' WHEN h3 < 0.80 THEN 'Black' WHEN h3 < 0.93 THEN 'Hispanic'
         WHEN h3 < 0.98 THEN 'Asian' ELSE 'Other' END AS race,
    CAST(10000 + 7 * floor(1000 * pow(h4, 2)) AS INTEGER)::VARCHAR AS zip,
    {edu}[1 + CAST(floor(16 * pow(h5, 0.7)) AS INTEGER)] AS education,
    {diag}[1 + CAST(floor(10 * pow(h6, 2)) AS INTEGER)] AS diagnosis,
    CAST(round(20000 + 80000 * h7 * h1) / 1000 AS INTEGER) * 1000 AS income
  FROM (SELECT {hashes} FROM range({rows}) t(i))
) TO '{path}' (FORMAT parquet)
"""


def generate(rows: int, seed: int, path: Path) -> dict:
    meta_path = path.with_name(path.name + ".json")
    if path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("rows") == rows and meta.get("seed") == seed:
            console.print(f"using {path} ({rows:,} rows, generated on {meta['date']})")
            return meta
    path.parent.mkdir(parents=True, exist_ok=True)
    hashes = ", ".join(f"hash(i * 8 + {j} + {seed} * 8 * {rows}) / 18446744073709551616.0 AS h{j}" for j in range(1, 8))
    sql = GENERATE.format(edu=repr(_EDU), diag=repr(_DIAG), hashes=hashes, rows=rows, path=path.with_suffix(".tmp"))
    t = time.perf_counter()
    duckdb.sql(sql)
    path.with_suffix(".tmp").replace(path)
    meta = {"rows": rows, "seed": seed, "seconds": time.perf_counter() - t, "bytes": path.stat().st_size,
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    meta_path.write_text(json.dumps(meta, indent=2))
    console.print(f"generated {path} ({meta['bytes'] / 1e6:.0f} MB) in {meta['seconds']:.1f} s")
    return meta


def floor(path: Path) -> dict:
    con = duckdb.connect()
    try:
        sql = f"SELECT {', '.join(QIS)}, count(*) AS n FROM read_parquet('{path}') GROUP BY ALL"
        table = con.sql(sql).to_arrow_table()
    finally:
        con.close()
    n = table.column("n").to_numpy()
    return {"classes": table.num_rows, "rows": int(n.sum()), "unique": int((n == 1).sum()), "k": int(n.min())}


def steward_run(path: Path, sensitive: str | None) -> dict:
    from steward.privacy._reident import reidentification_risk

    r = reidentification_risk(path, QIS, sensitive=sensitive)
    out = {"classes": r.classes, "rows": r.rows, "unique": r.unique_records, "k": r.k_anonymity}
    if len(r.diversity):
        out.update(r.diversity.iloc[0][["distinct_l", "entropy_l", "t_closeness"]].to_dict())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    path = HERE / "out" / (f"reident-{args.rows}.parquet" if args.seed == 0 else
                           f"reident-{args.rows}-seed{args.seed}.parquet")
    console.print(f"[bold]Re-identification risk benchmark[/bold]  {cpu_model()}, {os.cpu_count()} cores, "
                  f"python {platform.python_version()}, duckdb {duckdb.__version__}; load {load()}")
    with exclusive(console):
        load_start = load()
        meta = generate(args.rows, args.seed, path)
        runs = {"floor": lambda: floor(path), "steward": lambda: steward_run(path, "diagnosis"),
                "steward, no sensitive": lambda: steward_run(path, None),
                "steward, numeric income": lambda: steward_run(path, "income")}
        best, last = {}, {}
        for name, fn in runs.items():  # warm-up: imports, the file in the page cache
            last[name] = fn()
        for i in range(args.repeats):
            for name, fn in runs.items():
                t = time.perf_counter()
                last[name] = fn()
                best[name] = min(best.get(name, float("inf")), time.perf_counter() - t)
        load_end = load()

    f = last["floor"]
    for name in runs:
        got = {k: last[name][k] for k in ("classes", "rows", "unique", "k")}
        if got != f:
            sys.exit(f"{name} disagrees with the floor: {got} != {f}")
    console.print(f"{args.rows:,} rows, {f['classes']:,} classes, {f['unique']:,} unique rows, smallest class {f['k']}")
    d = last["steward"]
    console.print(f"diagnosis: distinct l {d['distinct_l']}, entropy l {d['entropy_l']:.4g}, "
                  f"t-closeness {d['t_closeness']:.4f}")
    base = best["floor"]
    for name in runs:
        ratio = best[name] / base
        mark = "" if name == "floor" else f"  {ratio:.2f}x the floor"
        if name == "steward":
            mark += f"  target <= {TARGET:g}x: {'met' if ratio <= TARGET else 'MISSED'}"
        console.print(f"{name:26s} {best[name]:.3f} s (best of {args.repeats}){mark}")
    figures = {"rows": args.rows, "classes": f["classes"], "seconds": best, "ratio": best["steward"] / base,
               "target_met": best["steward"] / base <= TARGET, "generation": meta,
               "machine": {"cores": os.cpu_count(), "cpu": cpu_model(), "python": platform.python_version(),
                           "duckdb": duckdb.__version__, "load_1min_at_start": load_start, "load_1min_at_end": load_end,
                           "date": datetime.now(timezone.utc).isoformat(timespec="seconds")}}
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
