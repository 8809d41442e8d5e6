"""Predictions logged by another system, read from a Parquet/CSV file or a folder of them by DuckDB, in
batches (Arrow record batches), in the monitor's column layout: the reference's features and protected
attributes by their names, and the roles (time, score, decision, label, key_id, prediction_id) renamed from
the file's columns. Memory stays bounded by the batch, not the file."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pandas as pd

from steward.errors import DataValidationError

__all__ = ["log_files", "file_tag", "read_log", "ROLES", "BATCH"]

ROLES = ("time", "score", "decision", "label", "key_id", "prediction_id")
BATCH = 200_000
SUFFIXES = (".parquet", ".csv", ".tsv")


def log_files(path: str | Path) -> list[Path]:
    """The Parquet/CSV files of ``path`` (itself, or every one under the folder), sorted by name."""
    p = Path(path)
    if not p.exists():
        raise DataValidationError(f"--data: {str(p)!r} does not exist; give a Parquet or CSV file, or a folder")
    files = sorted(f for f in (p.rglob("*") if p.is_dir() else [p]) if f.is_file() and f.suffix.lower() in SUFFIXES)
    if not files:
        raise DataValidationError(f"--data: {str(p)!r} holds no Parquet or CSV file (.parquet, .csv, .tsv)")
    return files


def file_tag(f: Path) -> str:
    """What says a file changed since it was read: its size and modification time."""
    st = f.stat()
    return f"{st.st_size}:{st.st_mtime_ns}"


def _sq(p: Path) -> str:
    if any(c in p.name for c in "*?[]{}"):  # DuckDB reads a path as a glob pattern: such a name is not one file
        raise DataValidationError(f"--data: {p.name!r} has a glob character (* ? [ ] {{ }}) in its name; rename it")
    return str(p).replace("'", "''")


def _qi(name: str) -> str:
    """A column name as a DuckDB identifier (quoted, its double quotes doubled)."""
    return '"' + str(name).replace('"', '""') + '"'



def read_log(f: Path, want: Sequence[str], columns: Mapping[str, str], batch: int = BATCH) -> Iterator[pd.DataFrame]:
    """The rows of one file in batches: the columns ``want`` and each role of ``columns`` (role -> the file's
    column). A role's column missing from the file is one clear error naming the option, except the label:
    outcomes usually arrive later (``steward monitor labels``)."""
    import duckdb

    con = duckdb.connect()
    try:
        suffix = f.suffix.lower()
        rel = (f"read_parquet('{_sq(f)}')" if suffix == ".parquet" else
               f"read_csv('{_sq(f)}', header=true, delim='{chr(9) if suffix == '.tsv' else ','}')")
        have = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {rel}").fetchall()]
        missing = [c for c in want if c not in have]
        if missing:
            raise DataValidationError(f"{f.name}: column(s) {', '.join(missing)} of the reference are not in the file; "
                                      f"its columns are: {', '.join(have[:30])}")
        cols = {r: c for r, c in columns.items() if r != "label" or c in have}
        for role, col in cols.items():
            if col not in have:
                raise DataValidationError(f"--{role.replace('_', '-')}: column {col!r} is not in {f.name}; its columns "
                                          f"are: {', '.join(have[:30])}")
        names = list(dict.fromkeys(want))
        sel = [_qi(c) for c in names] + [f"{_qi(col)} AS {_qi(role)}" for role, col in cols.items() if role not in names]
        query = con.sql(f"SELECT {', '.join(sel)} FROM {rel}")
        # DuckDB 2 renamed fetch_record_batch (deprecated there) to to_arrow_reader
        reader = query.to_arrow_reader(batch) if hasattr(query, "to_arrow_reader") else query.fetch_record_batch(batch)
        for b in reader:
            yield b.to_pandas()
    finally:
        con.close()
