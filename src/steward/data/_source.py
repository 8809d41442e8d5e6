"""Where audit data comes from: a pandas DataFrame, an Arrow table, or a CSV / Parquet path.

In-memory data is read by the NumPy engine; a path is scanned by DuckDB so that memory stays
bounded however large the file is. Either way the columns are checked here first, so that a
missing or ambiguous column is reported before any work is done.
"""

from __future__ import annotations

import csv
import difflib
import gzip
import hashlib
import io
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from steward.data._roles import Roles
from steward.errors import DataValidationError

__all__ = ["Source", "open_source", "check_columns", "file_sha256", "load_frame"]

_CSV_SUFFIXES = (".csv", ".csv.gz", ".txt", ".tsv", ".tsv.gz")
_PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")


@dataclass
class Source:
    """Audit data as given: in memory (``frame``/``table``) or a file (``path``)."""

    kind: str  # "dataframe", "arrow", "csv" or "parquet"
    columns: list[str]
    frame: pd.DataFrame | None = None
    table: pa.Table | None = None
    path: Path | None = None

    @property
    def in_memory(self) -> bool:
        return self.path is None

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "path": str(self.path) if self.path else None}


def open_source(data: Any) -> Source:
    """Recognise the kind of ``data`` and read its column names (not its rows)."""
    if isinstance(data, pd.DataFrame):
        return Source("dataframe", [str(c) for c in data.columns], frame=data)
    if isinstance(data, pa.Table):
        return Source("arrow", list(data.column_names), table=data)
    if isinstance(data, pa.RecordBatch):
        return open_source(pa.Table.from_batches([data]))
    if isinstance(data, (str, os.PathLike)):
        return _open_path(Path(data))
    raise DataValidationError(
        f"data: expected a pandas DataFrame, a pyarrow Table, or a path to a CSV or Parquet file, "
        f"got {type(data).__name__}"
    )


def _open_path(path: Path) -> Source:
    if not path.exists():
        raise DataValidationError(f"data file {str(path)!r} does not exist; check the path")
    if path.is_dir():
        raise DataValidationError(f"data path {str(path)!r} is a folder; give a CSV or Parquet file")
    if path.stat().st_size == 0:
        raise DataValidationError(f"data file {str(path)!r} is empty (0 bytes); nothing to audit")
    name = path.name.lower()
    if name.endswith(_PARQUET_SUFFIXES):
        try:
            import pyarrow.parquet as pq

            columns = list(pq.read_schema(path).names)
        except (pa.ArrowException, OSError) as exc:
            raise DataValidationError(f"data file {str(path)!r} is not a readable Parquet file: {exc}") from None
        return Source("parquet", columns, path=path)
    if name.endswith(_CSV_SUFFIXES):
        return Source("csv", _csv_header(path), path=path)
    raise DataValidationError(
        f"cannot tell the format of {str(path)!r} from its name; use a .csv, .csv.gz or .parquet file"
    )


def _csv_header(path: Path) -> list[str]:
    opener: Callable[..., Any] = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rt", newline="", encoding="utf-8", errors="replace") as fh:
            first = fh.readline()
    except (OSError, EOFError) as exc:
        raise DataValidationError(f"data file {str(path)!r} cannot be read: {exc}") from None
    if not first.strip():
        raise DataValidationError(f"data file {str(path)!r} is empty: it has no header line")
    delimiter = "\t" if path.name.lower().endswith((".tsv", ".tsv.gz")) else ","
    header = next(csv.reader(io.StringIO(first), delimiter=delimiter))
    return [h.strip() for h in header]


def check_columns(source: Source, roles: Roles) -> None:
    """Every role column exists exactly once; otherwise say which, and how to fix it."""
    counts = Counter(source.columns)
    where = _describe(source)
    for role, col in roles.columns_by_role():
        if counts[col] == 0:
            hint = difflib.get_close_matches(col, source.columns, n=1)
            suggestion = f"did you mean {hint[0]!r}? " if hint else ""
            shown = ", ".join(source.columns[:25]) + (" ..." if len(source.columns) > 25 else "")
            raise DataValidationError(
                f"{role} column {col!r} is not in {where}; {suggestion}the columns are: {shown}"
            )
        if counts[col] > 1:
            positions = [str(i + 1) for i, c in enumerate(source.columns) if c == col]
            raise DataValidationError(
                f"{where} has {counts[col]} columns named {col!r} (columns {', '.join(positions)}), "
                f"so the {role} is ambiguous; rename or drop the duplicates so that {col!r} names one column"
            )


def _describe(source: Source) -> str:
    return f"data file {str(source.path)!r}" if source.path else f"the {source.kind}"


def file_sha256(path: Path, on_progress: Callable[[int, int], None] | None = None) -> str:
    """SHA-256 of a file's bytes, read in 8 MiB blocks (``on_progress(done, total)`` after each)."""
    total = path.stat().st_size
    h = hashlib.sha256()
    done = 0
    with open(path, "rb") as fh:
        while block := fh.read(8 << 20):
            h.update(block)
            done += len(block)
            if on_progress is not None:
                on_progress(done, total)
    return h.hexdigest()


def load_frame(source: Source, columns: list[str]) -> Source:
    """Read the given columns of a file into memory (for the NumPy engine on small files)."""
    if source.path is None:
        return source
    try:
        if source.kind == "parquet":
            frame = pd.read_parquet(source.path, columns=columns)
        else:
            sep = "\t" if source.path.name.lower().endswith((".tsv", ".tsv.gz")) else ","
            frame = pd.read_csv(source.path, usecols=columns, sep=sep)
    except (ValueError, OSError, pa.ArrowException) as exc:
        raise DataValidationError(f"data file {str(source.path)!r} cannot be read: {exc}") from None
    return Source(source.kind, [str(c) for c in frame.columns], frame=frame, path=source.path)
