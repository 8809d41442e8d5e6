"""Where audit data comes from: a pandas DataFrame, an Arrow table, a Spark DataFrame, or a CSV / Parquet path.

In-memory data is read by the NumPy engine; a path is scanned by DuckDB so that memory stays
bounded however large the file is; a Spark DataFrame is aggregated by Spark where it lives. Either
way the columns are checked here first, so that a missing or ambiguous column is reported before
any work is done.
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from steward.data._roles import Roles
from steward.errors import DataValidationError

__all__ = ["Source", "open_source", "check_columns", "check_csv_rows", "file_sha256", "load_frame"]

_CSV_SUFFIXES = (".csv", ".csv.gz", ".txt", ".tsv", ".tsv.gz")
_PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")


@dataclass
class Source:
    """Audit data as given: in memory (``frame``/``table``) or a file (``path``).

    ``notes`` says what was done to the data as read (identical duplicate columns dropped...).
    """

    kind: str  # "dataframe", "arrow", "spark", "csv" or "parquet"
    columns: list[str]
    frame: pd.DataFrame | None = None
    table: pa.Table | None = None
    path: Path | None = None
    notes: list[str] = field(default_factory=list)
    spark: Any = None  # a pyspark.sql.DataFrame (kind "spark"): only its schema is read here

    @property
    def in_memory(self) -> bool:
        return self.path is None

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "path": str(self.path) if self.path else None}
        if self.notes:
            out["notes"] = list(self.notes)
        return out


def open_source(data: Any) -> Source:
    """Recognise the kind of ``data`` and read its column names (not its rows)."""
    if isinstance(data, pd.DataFrame):
        frame, notes = _drop_identical_duplicates(data, "the dataframe")
        return Source("dataframe", [str(c) for c in frame.columns], frame=frame, notes=notes)
    if isinstance(data, pa.Table):
        if len(set(data.column_names)) < len(data.column_names):
            frame, notes = _drop_identical_duplicates(data.to_pandas(), "the Arrow table")
            return Source("arrow", [str(c) for c in frame.columns], frame=frame, notes=notes)
        return Source("arrow", list(data.column_names), table=data)
    if isinstance(data, pa.RecordBatch):
        return open_source(pa.Table.from_batches([data]))
    if isinstance(data, (str, os.PathLike)):
        return _open_path(Path(data))
    from steward.engine._spark import is_spark_frame  # no pyspark import: judged by the class's module

    if is_spark_frame(data):
        return Source("spark", [str(c) for c in data.columns], spark=data)
    raise DataValidationError(
        f"data: expected a pandas DataFrame, a pyarrow Table, a Spark DataFrame, or a path to a CSV or "
        f"Parquet file, got {type(data).__name__}"
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

            meta = pq.read_metadata(path)
            columns = list(meta.schema.to_arrow_schema().names)
        except (pa.ArrowException, OSError) as exc:
            raise DataValidationError(f"data file {str(path)!r} is not a readable Parquet file: {exc}") from None
        if meta.num_rows == 0:
            raise DataValidationError(f"data file {str(path)!r} has columns but no data rows; give a file with rows")
        if len(set(columns)) < len(columns):
            raise DataValidationError(f"data file {str(path)!r} names several columns alike "
                                      f"({', '.join(sorted({c for c in columns if columns.count(c) > 1}))}); "
                                      "give each column its own name")
        return Source("parquet", columns, path=path)
    if name.endswith(_CSV_SUFFIXES):
        header = _csv_header(path)
        notes = _csv_duplicates(path, header)
        return Source("csv", list(dict.fromkeys(header)), path=path, notes=notes)
    raise DataValidationError(
        f"cannot tell the format of {str(path)!r} from its name; use a .csv, .csv.gz or .parquet file"
    )


def _opener(path: Path) -> Callable[..., Any]:
    return gzip.open if path.name.lower().endswith(".gz") else open


def _delimiter(path: Path) -> str:
    return "\t" if path.name.lower().endswith((".tsv", ".tsv.gz")) else ","


def _csv_header(path: Path) -> list[str]:
    """The header's column names, after checking that the file is text with a header and a data row."""
    where = f"data file {str(path)!r}"
    try:
        with _opener(path)(path, "rb") as fh:
            head = fh.read(64 << 10)
        if b"\x00" in head:
            raise DataValidationError(f"{where} is not a CSV text file: it holds binary bytes; give a CSV "
                                      "(UTF-8 text, one row per line) or a Parquet file")
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < len(head) - 4:  # not a character cut at the end of the block
                raise DataValidationError(f"{where} is not UTF-8 text (byte {head[exc.start]:#04x} at offset "
                                          f"{exc.start}); save it as UTF-8 CSV") from None
        with _opener(path)(path, "rt", newline="", encoding="utf-8", errors="replace") as fh:
            first = fh.readline()
            row = next((line for line in fh if line.strip()), None) if first.strip() else None
    except (OSError, EOFError) as exc:
        raise DataValidationError(f"{where} cannot be read: {exc}") from None
    if not first.strip():
        raise DataValidationError(f"{where} is empty: it has no header line")
    if row is None:
        raise DataValidationError(f"{where} has a header line but no data rows; give a file with rows")
    header = next(csv.reader(io.StringIO(first), delimiter=_delimiter(path)))
    return [h.strip() for h in header]


def _csv_duplicates(path: Path, header: list[str]) -> list[str]:
    """Notes for columns named alike with identical values; an error naming them when their values differ."""
    dupes = {c: [i for i, h in enumerate(header) if h == c] for c in header if header.count(c) > 1}
    notes = []
    for col, positions in dupes.items():
        first, *others = positions
        differ: dict[int, tuple[int, Any, Any]] = {}
        try:
            chunks = pd.read_csv(path, usecols=positions, sep=_delimiter(path), header=None, skiprows=1,
                                 dtype=str, keep_default_na=False, chunksize=500_000)
            start = 0
            for chunk in chunks:
                base = chunk[first]
                for p in others:
                    if p not in differ:
                        bad = np.flatnonzero((chunk[p] != base).to_numpy())
                        if len(bad):
                            differ[p] = (start + int(bad[0]) + 1, base.iat[bad[0]], chunk[p].iat[bad[0]])
                start += len(chunk)
        except (ValueError, OSError) as exc:
            raise DataValidationError(f"data file {str(path)!r} cannot be read: {exc}") from None
        _say_duplicates(f"data file {str(path)!r}", col, positions, differ, notes)
    return notes


def _say_duplicates(where: str, col: str, positions: list[int], differ: dict[int, tuple[int, Any, Any]],
                    notes: list[str]) -> None:
    shown = ", ".join(str(p + 1) for p in positions)
    if differ:
        p, (row, a, b) = next(iter(differ.items()))
        raise DataValidationError(
            f"{where} has {len(positions)} columns named {col!r} (columns {shown}) whose values differ (data row "
            f"{row}: {a!r} in column {positions[0] + 1}, {b!r} in column {p + 1}); rename or drop the duplicates "
            f"so that {col!r} names one column")
    notes.append(f"{where} has {len(positions)} identical columns named {col!r} (columns {shown}); the first is used")


def _drop_identical_duplicates(frame: pd.DataFrame, where: str) -> tuple[pd.DataFrame, list[str]]:
    names = [str(c) for c in frame.columns]
    if len(set(names)) == len(names):
        return frame, []
    notes: list[str] = []
    for col in dict.fromkeys(c for c in names if names.count(c) > 1):
        positions = [i for i, c in enumerate(names) if c == col]
        base = frame.iloc[:, positions[0]]
        differ = {}
        for p in positions[1:]:
            other = frame.iloc[:, p]
            same = (base == other) | (base.isna() & other.isna())
            if not same.all():
                i = int(np.flatnonzero(~same.to_numpy())[0])
                differ[p] = (i + 1, *(v.item() if isinstance(v, np.generic) else v for v in (base.iat[i], other.iat[i])))
        _say_duplicates(where, col, positions, differ, notes)
    return frame.loc[:, ~pd.Index(names).duplicated()], notes


def check_csv_rows(path: Path) -> None:
    """Every line of a CSV file has as many fields as its header; otherwise say which line does not."""
    import pyarrow.csv as pacsv

    header = _csv_header(path)
    names = [f"c{i}" for i in range(len(header))]
    try:
        reader = pacsv.open_csv(
            path, read_options=pacsv.ReadOptions(column_names=names, skip_rows=1),
            parse_options=pacsv.ParseOptions(delimiter=_delimiter(path), newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(include_columns=names[:1], check_utf8=False,
                                                 column_types={names[0]: pa.string()}))
        for _ in reader:
            pass
    except pa.ArrowInvalid as exc:
        text = str(exc)
        if "Expected" not in text:
            raise DataValidationError(f"data file {str(path)!r} cannot be read: {text}") from None
        line, fields = _ragged_line(path, len(header))
        raise DataValidationError(
            f"data file {str(path)!r} line {line} has {fields} fields but the header has {len(header)}; "
            f"fix that line (a missing or extra comma, or a value with a comma that needs quotes)") from None


def _ragged_line(path: Path, width: int) -> tuple[int, int]:
    with _opener(path)(path, "rt", newline="", encoding="utf-8", errors="replace") as fh:
        reader = csv.reader(fh, delimiter=_delimiter(path))
        for fields in reader:
            if fields and len(fields) != width and reader.line_num > 1:
                return reader.line_num, len(fields)
    return 0, width


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
    if source.path:
        return f"data file {str(source.path)!r}"
    return "the Spark DataFrame" if source.kind == "spark" else f"the {source.kind}"


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
    if source.kind != "parquet":
        check_csv_rows(source.path)  # pandas would pad short lines and, with usecols, drop extra fields
    try:
        if source.kind == "parquet":
            frame = pd.read_parquet(source.path, columns=columns)
        else:
            frame = pd.read_csv(source.path, usecols=columns, sep=_delimiter(source.path))
    except (ValueError, OSError, pa.ArrowException) as exc:
        raise DataValidationError(f"data file {str(source.path)!r} cannot be read: {exc}") from None
    frame.attrs["notes"] = list(source.notes)
    return Source(source.kind, [str(c) for c in frame.columns], frame=frame, path=source.path, notes=source.notes)
