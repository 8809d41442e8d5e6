"""The PII scan of a large Parquet file against a bare DuckDB read of the same sample.

Target (issue 19): ``scan_pii(path, sample=10_000)`` of a 1M-row, 30-column file within 3x the time
of the bare read its sample costs: the same ``USING SAMPLE reservoir(10000 ROWS) REPEATABLE (0)``
query, every column as stored, fetched to pandas, on a fresh DuckDB connection.

The file (``bench/out/pii-N.parquet``, generated once with a seeded NumPy generator and reused while
its row count matches) has 24 ordinary columns (an id, 10 decimals, 6 whole numbers, 6 categories, a
sign-up date) and 6 identifier columns: e-mail, phone (+1 North American numbers), a Luhn-valid
Visa card number, a full name, an IPv4 address and a date of birth, each 5% missing. Both are timed
alternately in the same process, best of ``--repeats``, after one untimed read that warms the page
cache; the scan must flag exactly the 6 identifier columns (else exit 1).

    .venv/bin/python bench/privacy_pii.py                 # 1M rows
    .venv/bin/python bench/privacy_pii.py --rows 100000   # a smoke run
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import cpu_model, exclusive, load  # noqa: E402

HERE = Path(__file__).resolve().parent
TARGET = 3.0
IDENTIFIERS = ["email", "phone", "card_number", "full_name", "ip_address", "date_of_birth"]
FIRST = ["James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
         "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen",
         "Anna", "Lars", "Sofia", "Jan", "Fatima", "Mohammed", "Wei", "Yuki", "Pierre", "Ingrid"]
LAST = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
        "Hernandez", "Lopez", "Wilson", "Anderson", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Thompson",
        "de Vries", "Jansen", "Müller", "Schmidt", "Dubois", "Rossi", "Nakamura", "Kowalski", "O'Brien", "Nguyen"]
AREAS = np.array([201, 202, 212, 213, 305, 312, 415, 512, 617, 646, 702, 718, 805, 917, 929])


def _luhn_digit(body: np.ndarray) -> np.ndarray:
    """The check digit that makes each row of digits (without it) pass the Luhn test."""
    rev = body[:, ::-1].copy()
    rev[:, 0::2] *= 2  # the rightmost body digit is doubled once the check digit is appended
    rev[rev > 9] -= 9
    return (10 - rev.sum(axis=1) % 10) % 10


def _with_missing(values: np.ndarray, rng: np.random.Generator, share: float = 0.05) -> pd.Series:
    s = pd.Series(values, dtype=object)
    s[rng.random(len(s)) < share] = None
    return s


def generate(path: Path, rows: int, seed: int = 20261203) -> None:
    rng = np.random.default_rng(seed)
    cols: dict[str, object] = {"id": np.arange(rows, dtype=np.int64)}
    for k in range(10):
        cols[f"x{k}"] = rng.normal(size=rows).round(6)
    for k in range(6):
        cols[f"n{k}"] = rng.integers(0, 10 ** (k + 1), rows)
    levels = [["A", "B", "C", "D"], ["Private", "Self-emp", "State-gov", "Federal-gov"],
              ["red", "green", "blue"], ["North", "South", "East", "West", "Central"],
              ["New York", "Los Angeles", "Chicago", "San Francisco"], ["yes", "no"]]
    for k, lv in enumerate(levels):
        cols[f"c{k}"] = np.array(lv, dtype=object)[rng.integers(0, len(lv), rows)]
    cols["signup_date"] = (np.datetime64("2015-01-01") + rng.integers(0, 3650, rows)).astype("datetime64[D]")
    user = rng.integers(0, 10 ** 7, rows)
    dom = rng.integers(0, 40, rows)
    cols["email"] = _with_missing(np.array([f"user{u}@example{d}.com" for u, d in zip(user, dom)]), rng)
    area, exch, line = AREAS[rng.integers(0, len(AREAS), rows)], rng.integers(200, 1000, rows), \
        rng.integers(0, 10_000, rows)
    cols["phone"] = _with_missing(np.array([f"+1 {a} {e}-{n:04d}" for a, e, n in zip(area, exch, line)]), rng)
    body = np.concatenate([np.full((rows, 1), 4), rng.integers(0, 10, (rows, 14))], axis=1)
    digits = np.concatenate([body, _luhn_digit(body)[:, None]], axis=1)
    text = (digits + 48).astype(np.uint8).tobytes().decode("ascii")
    cols["card_number"] = _with_missing(np.array([text[i * 16:(i + 1) * 16] for i in range(rows)]), rng)
    first, last = np.array(FIRST)[rng.integers(0, len(FIRST), rows)], np.array(LAST)[rng.integers(0, len(LAST), rows)]
    middle = np.array(FIRST)[rng.integers(0, len(FIRST), rows)]
    cols["full_name"] = _with_missing(np.array([f"{f} {m} {la}" for f, m, la in zip(first, middle, last)]), rng)
    octets = rng.integers(1, 255, (rows, 4))
    cols["ip_address"] = _with_missing(np.array([f"{a}.{b}.{c}.{d}" for a, b, c, d in octets]), rng)
    dob = (np.datetime64("1940-01-01") + rng.integers(0, 65 * 365, rows)).astype("datetime64[D]")
    cols["date_of_birth"] = pd.Series(dob).where(rng.random(rows) >= 0.05)
    frame = pd.DataFrame(cols)
    assert frame.shape[1] == 30
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    frame.to_parquet(tmp, index=False, row_group_size=100_000)
    tmp.rename(path)


def bare_read(path: Path, sample: int, seed: int) -> pd.DataFrame:
    import duckdb

    con = duckdb.connect()
    try:
        return con.execute(f"SELECT * FROM read_parquet('{path}') USING SAMPLE reservoir({sample} ROWS) "
                           f"REPEATABLE ({seed})").df()
    finally:
        con.close()


def main() -> None:
    from steward.privacy._pii import scan_pii

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--sample", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    console = Console()
    path = HERE / "out" / f"pii-{args.rows}.parquet"
    if path.exists():
        import pyarrow.parquet as pq

        if pq.ParquetFile(path).metadata.num_rows != args.rows:
            path.unlink()
    if not path.exists():
        t = time.perf_counter()
        generate(path, args.rows)
        console.print(f"generated {path.name} in {time.perf_counter() - t:.1f} s")
    with exclusive(console):
        console.print(f"{cpu_model()}; load {load()}; {args.rows:,} rows x 30 columns, sample {args.sample:,}")
        bare_read(path, args.sample, 0)  # warm the page cache
        floor, ours = [], []
        for _ in range(args.repeats):
            t = time.perf_counter()
            got = bare_read(path, args.sample, 0)
            floor.append(time.perf_counter() - t)
            t = time.perf_counter()
            rep = scan_pii(path, sample=args.sample, seed=0)
            ours.append(time.perf_counter() - t)
    f, o = min(floor), min(ours)
    flagged = rep.identifier_columns()
    console.print(f"bare DuckDB read of the sample ({len(got):,} rows): {f:.3f} s; scan_pii: {o:.3f} s = "
                  f"{o / f:.2f}x (target <= {TARGET:g}x: {'met' if o / f <= TARGET else 'NOT met'})")
    console.print(rep.table[["column", "kind", "matches", "checked", "share"]].to_string(index=False))
    ok = sorted(flagged) == sorted(IDENTIFIERS) and rep.sampled_rows == len(got)
    if not ok:
        console.print(f"[red]flagged {flagged}, expected {IDENTIFIERS}[/red]")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"rows": args.rows, "sample": args.sample, "bare_read_s": f, "scan_s": o,
                                         "ratio": o / f, "target": TARGET, "flagged": flagged}, indent=2))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
