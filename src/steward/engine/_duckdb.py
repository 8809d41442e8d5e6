"""File engine: one DuckDB ``GROUP BY`` over the finest cells, out of core.

DuckDB streams the CSV or Parquet file, so memory stays bounded by the number of cells (a few
hundred rows), not by the file. The same query also counts missing and invalid values, so
validation costs no second pass.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import duckdb
import numpy as np

from steward.data import Roles, Source, binary_mapping, file_sha256, group_labels
from steward.data._source import check_csv_rows
from steward.engine._cells import CellTable
from steward.engine._columns import missing_error
from steward.engine._limits import check_group_count
from steward.errors import DataValidationError

__all__ = ["cells_from_duckdb"]

_NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
            "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "REAL", "DECIMAL")

Progress = Callable[[str, float], None]


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _relation(con: duckdb.DuckDBPyConnection, source: Source) -> str:
    if source.path is None:
        frame = source.frame if source.frame is not None else source.table
        con.register("steward_source", frame)
        return "steward_source"
    path = str(source.path).replace("'", "''")
    if source.kind == "parquet":
        return f"read_parquet('{path}')"
    delim = "\\t" if source.path.name.lower().endswith((".tsv", ".tsv.gz")) else ","
    # Only numbers and text: DuckDB would otherwise read "yes"/"no" as booleans and text that
    # looks like a date as a date, silently changing what a label or group is. HUGEINT keeps whole
    # numbers beyond BIGINT exact: as DOUBLE, ids like 10**22 + 1 and 10**22 + 2 would be one group.
    return (f"read_csv('{path}', header=true, delim=E'{delim}', "
            "auto_type_candidates=['BIGINT', 'HUGEINT', 'DOUBLE', 'VARCHAR'])")


def cells_from_duckdb(
    source: Source,
    roles: Roles,
    *,
    on_progress: Progress | None = None,
    threads: int | None = None,
    memory_limit: str = "1GB",
) -> tuple[CellTable, int, str | None]:
    """Cell statistics of a file (or a registered frame), its row count and the file's SHA-256."""
    digest = None
    if source.path is not None:
        report = (lambda done, total: on_progress("hashing", done / total)) if on_progress else None
        digest = file_sha256(source.path, report)

    con = duckdb.connect(config={"memory_limit": memory_limit, "preserve_insertion_order": False})
    try:
        # Track progress for our own bar, but never let DuckDB print one into the user's output.
        con.execute("SET enable_progress_bar = true")
        con.execute("SET enable_progress_bar_print = false")
        if threads:
            con.execute(f"SET threads TO {int(threads)}")
        rel = _relation(con, source)
        try:
            types = _column_types(con, rel, roles)
            sql = _cell_query(rel, roles, types)
            rows = _run(con, sql, on_progress)
        except DataValidationError:
            if source.kind == "csv" and source.path is not None:
                check_csv_rows(source.path)  # a line with more or fewer fields than the header: say which
            raise
    finally:
        con.close()
    table, total = _cells_from_rows(rows, roles, source)
    return table, total, digest


def _column_types(con: duckdb.DuckDBPyConnection, rel: str, roles: Roles) -> dict[str, str]:
    cols = ", ".join(_q(c) for c in roles.role_columns())
    try:
        described = con.execute(f"DESCRIBE SELECT {cols} FROM {rel}").fetchall()
    except duckdb.Error as exc:
        raise DataValidationError(f"the data cannot be read: {_first_line(exc)}") from None
    types = {row[0]: str(row[1]).upper() for row in described}
    for role, col in (("score", roles.score), ("weight", roles.weight)):
        if col is not None and not types[col].startswith(_NUMERIC):
            raise DataValidationError(
                f"{role} column {col!r} must be numeric, but the file holds {types[col]} values; "
                "convert it to numbers or choose another column"
            )
    return types


def _cell_query(rel: str, roles: Roles, types: dict[str, str]) -> str:
    attrs = [f"{_q(p.column)} AS a{i}" for i, p in enumerate(roles.protected)]
    w = f"CAST({_q(roles.weight)} AS DOUBLE)" if roles.weight else "1.0"
    s = f"CAST({_q(roles.score)} AS DOUBLE)" if roles.score else None
    if roles.prediction is not None:
        decision = f"{_q(roles.prediction)} AS d_raw"
    else:
        decision = f"({s} >= {roles.threshold!r}) AS d_raw"
    measures = ["count(*) AS rows", f"sum({w}) AS n", f"sum({w} * {w}) AS n_sq"]
    if s is not None:
        measures += [
            f"sum({w} * {s}) AS score_sum",
            f"sum({w} * {s} * {s}) AS score_sq",
            f"count(*) FILTER (WHERE {s} IS NULL OR isnan({s})) AS score_missing",
            f"count(*) FILTER (WHERE isinf({s})) AS score_inf",
        ]
    if roles.weight:
        measures += [
            f"count(*) FILTER (WHERE {w} IS NULL OR isnan({w})) AS w_missing",
            f"count(*) FILTER (WHERE {w} < 0 OR isinf({w})) AS w_invalid",
        ]
    select = ", ".join([*attrs, f"{_q(roles.label)} AS y_raw", decision, *measures])
    return f"SELECT {select} FROM {rel} GROUP BY ALL"


def _run(con: duckdb.DuckDBPyConnection, sql: str, on_progress: Progress | None) -> dict[str, list[Any]]:
    result: dict[str, Any] = {}

    def work() -> None:
        try:
            cur = con.execute(sql)
            names = [d[0] for d in cur.description]
            fetched = cur.fetchall()
            result["rows"] = {n: [r[i] for r in fetched] for i, n in enumerate(names)}
        except BaseException as exc:  # handed to the caller's thread
            result["error"] = exc

    thread = threading.Thread(target=work, name="steward-duckdb", daemon=True)
    thread.start()
    while thread.is_alive():
        thread.join(0.1)
        if on_progress is not None and thread.is_alive():
            try:
                pct = con.query_progress()
            except duckdb.Error:
                pct = -1
            if pct >= 0:
                on_progress("scanning", min(pct, 100.0) / 100.0)
    if "error" in result:
        exc = result["error"]
        if isinstance(exc, duckdb.Error):
            raise DataValidationError(f"the data cannot be read: {_first_line(exc)}") from None
        raise exc
    if on_progress is not None:
        on_progress("scanning", 1.0)
    return result["rows"]


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _is_missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v))


def _cells_from_rows(rows: dict[str, list[Any]], roles: Roles, source: Source) -> tuple[CellTable, int]:
    count = np.asarray(rows["rows"], dtype=np.int64)
    total = int(count.sum())
    if total == 0:
        where = f"data file {str(source.path)!r}" if source.path else f"the {source.kind}"
        raise DataValidationError(f"{where} has no data rows; nothing to audit")

    def missing_in(values: list[Any]) -> int:
        return int(sum(c for v, c in zip(values, count) if _is_missing(v)))

    for i, p in enumerate(roles.protected):
        m = missing_in(rows[f"a{i}"])
        if m:
            raise DataValidationError(
                f"protected attribute {p.column!r} has missing values in {m:,} of {total:,} rows; "
                f"drop those rows, or give them a group of their own such as 'Unknown'"
            )
    for key, role, col in (("y_raw", "label", roles.label), ("d_raw", "prediction", roles.prediction)):
        if col is not None and (m := missing_in(rows[key])):
            raise missing_error(role, col, m, total)
    if roles.score is not None:
        if m := int(sum(rows["score_missing"])):
            raise missing_error("score", roles.score, m, total)
        if m := int(sum(rows["score_inf"])):
            raise DataValidationError(f"score column {roles.score!r} has infinite values in {m:,} rows; replace or drop them")
    if roles.weight is not None:
        if m := int(sum(rows["w_missing"])):
            raise missing_error("weight", roles.weight, m, total)
        if m := int(sum(rows["w_invalid"])):
            raise DataValidationError(
                f"weight column {roles.weight!r} has negative or infinite values in {m:,} rows; "
                "sample weights must be finite and >= 0"
            )

    codes, names = [], []
    for i, p in enumerate(roles.protected):
        values = rows[f"a{i}"]
        uniques = list(dict.fromkeys(values))
        labels = group_labels(uniques)
        check_group_count(p.column, len(labels))
        index = {v: j for j, v in enumerate(uniques)}
        codes.append(np.array([index[v] for v in values], dtype=np.int64))
        names.append(labels)
    ymap = binary_mapping(list(dict.fromkeys(rows["y_raw"])), column=roles.label, role="label",
                          positive=roles.positive_label)
    y = np.array([ymap[v] for v in rows["y_raw"]], dtype=np.int8)
    if roles.prediction is not None:
        dmap = binary_mapping(list(dict.fromkeys(rows["d_raw"])), column=roles.prediction,
                              role="prediction", positive=roles.positive_label)
        d = np.array([dmap[v] for v in rows["d_raw"]], dtype=np.int8)
    else:
        d = np.array([int(bool(v)) for v in rows["d_raw"]], dtype=np.int8)
    stats = {"rows": count}
    for name in ("n", "n_sq", "score_sum", "score_sq"):
        if name in rows:
            stats[name] = np.asarray(rows[name], dtype=np.float64)
    table = CellTable.from_arrays(roles.attributes, names, codes, y, d, stats, has_score=roles.score is not None)
    return table, total
