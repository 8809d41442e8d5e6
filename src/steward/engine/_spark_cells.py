"""Spark engine: the audit's cells as one ``groupBy().agg()`` where the data lives, collected to the driver.

The cells are additive, so Spark computes them like any aggregation (partial sums in each partition,
merged in a small shuffle) and only the few hundred cell rows reach the driver. There they go through
the same normalisation as DuckDB's rows (group names, label and decision coding, the checks for missing
and invalid values), so the :class:`CellTable` is the one the NumPy and DuckDB engines build: the same
cells and counts; weighted sums equal up to the order of summation (float addition is not associative,
and Spark adds in partition order), which moves them by about 1e-13 relative on a million rows.

Spark is never imported until a Spark DataFrame or ``engine="spark"`` asks for it.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
import uuid
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from steward.data import Roles, Source, file_sha256
from steward.data._source import _csv_header, _delimiter, check_csv_rows
from steward.engine._cells import CellTable
from steward.engine._duckdb import _cells_from_rows, _first_line
from steward.engine._spark import require_spark, spark_session
from steward.errors import DataValidationError

__all__ = ["cells_from_spark", "command_line_session", "quiet_pyspark", "PANDAS_WARNING"]

Progress = Callable[[str, float], None]

# PySpark 4 warns about pandas 3 when its pandas helpers load; Steward's Spark path converts nothing to or
# from pandas (it collects a few cell rows), so the warning says nothing about what Steward does.
PANDAS_WARNING = "PySpark does not yet fully support pandas"

# How DuckDB names the types it would read from the same Parquet file: the error for a text weight is the
# same line whichever engine reads the file.
_DUCKDB_TYPE = {"string": "VARCHAR", "boolean": "BOOLEAN", "binary": "BLOB", "date": "DATE",
                "timestamp": "TIMESTAMP WITH TIME ZONE", "timestamp_ntz": "TIMESTAMP"}
_INT_TEXT = re.compile(r"[+-]?[0-9]+")

# How a command starts its session when a file is first read (see command_line_session); unset: spark_session()
_STARTER: ContextVar[Callable[[], Any] | None] = ContextVar("steward_spark_starter", default=None)


@contextmanager
def quiet_pyspark() -> Iterator[None]:
    """Keep PySpark's pandas-3 ``FutureWarning`` from Steward's users (Steward makes no pandas conversion)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=PANDAS_WARNING, category=FutureWarning)
        yield


@contextmanager
def command_line_session(*, debug: bool = False, on_progress: Progress | None = None) -> Iterator[None]:
    """For a command: the Spark session the audit reads its file with, started only when Spark is needed
    (a mistyped column is said at once, without waiting for a JVM) and stopped at the end.

    The active session is used when there is one; else a new local one is started whose JVM would write its
    start-up lines and log to the terminal between Steward's own lines. Unless ``debug``, the JVM gets
    ``/dev/null`` as its stderr: a failing Spark job still reaches the user as Steward's one-line error, and
    ``--debug`` shows the JVM's own output. Steward's progress bar keeps the terminal meanwhile.
    """
    require_spark()
    started: list[Any] = []

    def start() -> Any:
        from pyspark.sql import SparkSession

        active = SparkSession.getActiveSession()
        if active is not None:
            return active
        if on_progress is not None:
            on_progress("starting Spark", 0.0)
        with _jvm_stderr(None if debug else os.devnull):
            started.append(spark_session())
        if on_progress is not None:
            on_progress("starting Spark", 1.0)
        return started[-1]

    token = _STARTER.set(start)
    root = logging.getLogger()
    root.addFilter(_py4j_noise)
    try:
        with quiet_pyspark():
            yield
    finally:
        _STARTER.reset(token)
        for spark in started:
            spark.stop()
        root.removeFilter(_py4j_noise)


def _py4j_noise(record: logging.LogRecord) -> bool:
    """Py4J logs a Ctrl-C during a call into the JVM as an error with two tracebacks, on the root logger;
    the command says "interrupted" in one line instead."""
    return "py4j" not in record.pathname.replace(os.sep, "/").split("/")


@contextmanager
def _jvm_stderr(path: str | None) -> Iterator[None]:
    """Point file descriptor 2 at ``path`` while the JVM starts (the child keeps it for its life), while
    Python's ``sys.stderr`` (Steward's progress bar) goes on writing to the terminal through a copy."""
    if path is None:
        yield
        return
    before = sys.stderr
    try:
        direct = before.fileno() == 2
    except (AttributeError, OSError, ValueError):  # replaced by a capture (tests): it does not write to fd 2
        direct = False
    before.flush()
    saved = os.dup(2)
    target = os.open(path, os.O_WRONLY)
    copy = open(saved, "w", closefd=False, encoding=before.encoding, errors=before.errors) if direct else None
    try:
        os.dup2(target, 2)
        if copy is not None:
            sys.stderr = copy
        yield
    finally:
        if copy is not None:
            copy.flush()
            sys.stderr = before
        os.dup2(saved, 2)
        os.close(target)
        os.close(saved)


@contextmanager
def _unreadable() -> Iterator[None]:
    """Spark's errors about the data (a file it cannot read, a column it cannot resolve) as one line."""
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import PySparkException

    try:
        yield
    except (PySparkException, Py4JJavaError) as exc:
        raise DataValidationError(f"the data cannot be read: {_first_line(exc)}") from None


def _c(name: str) -> Any:
    """A column by its exact name: backticks keep dots and spaces in names from meaning struct fields."""
    from pyspark.sql import functions as F

    return F.col("`" + name.replace("`", "``") + "`")


def cells_from_spark(source: Source, roles: Roles, *, session: Any = None,
                     on_progress: Progress | None = None) -> tuple[CellTable, int, str | None]:
    """Cell statistics of a Spark DataFrame (or of a CSV/Parquet file read by Spark), its row count, and the
    file's SHA-256 (``None`` for a DataFrame: its rows never leave the cluster).

    ``session`` reads a file (default: the active session, else a new local one); a DataFrame brings its own.
    """
    digest = None
    if source.path is not None:
        report = (lambda done, total: on_progress("hashing", done / total)) if on_progress else None
        digest = file_sha256(source.path, report)
    with quiet_pyspark():
        try:
            with _unreadable():
                frame, text = _role_columns(source, session)
                query = _cell_query(frame, roles, source, text)
            rows = _collect(query, on_progress)
        except DataValidationError:
            if source.kind == "csv" and source.path is not None:
                check_csv_rows(source.path)  # a line with more or fewer fields than the header: say which
            raise
    if not rows["rows"]:
        where = f"data file {str(source.path)!r}" if source.path else "the Spark DataFrame"
        raise DataValidationError(f"{where} has no data rows; nothing to audit")
    if text:
        _typed_like_duckdb(rows, roles)
    if roles.weight is None:  # unweighted: n and n_sq are the row counts, exactly as the other engines have them
        rows["n"] = rows["n_sq"] = [float(c) for c in rows["rows"]]
    table, total = _cells_from_rows(rows, roles, source)
    return table, total, digest


def _role_columns(source: Source, session: Any) -> tuple[Any, bool]:
    """The data as a Spark DataFrame, and whether its columns are still text to be typed (a CSV file)."""
    if source.spark is not None:
        return source.spark, False
    assert source.path is not None
    starter = _STARTER.get()
    spark = starter() if session is None and starter is not None else spark_session(session)
    path = str(source.path.resolve())
    if source.kind == "parquet":
        return spark.read.parquet(path), False
    # CSV: every column as text under its position's name (the header may repeat names or hold dots), typed
    # afterwards as DuckDB types it (whole numbers, then numbers, else text), so group names agree.
    from pyspark.sql.types import StringType, StructField, StructType

    header = _csv_header(source.path)
    schema = StructType([StructField(f"c{i}", StringType()) for i in range(len(header))])
    frame = spark.read.csv(path, schema=schema, header=True, enforceSchema=True, sep=_delimiter(source.path),
                           multiLine=True, mode="FAILFAST", encoding="UTF-8")
    first = {name: i for i, name in reversed(list(enumerate(header)))}
    return frame.select(*[_c(f"c{first[col]}").alias(col) for col in dict.fromkeys(source.columns)]), True


def _type_name(dtype: Any, source: Source) -> tuple[str, str]:
    simple = dtype.simpleString()
    if source.path is not None:
        return "the file", _DUCKDB_TYPE.get(simple, simple.upper())
    return "the Spark DataFrame", simple


def _cell_query(frame: Any, roles: Roles, source: Source, text: bool) -> Any:
    """One ``groupBy().agg()`` over the finest cells, counting missing and invalid values on the way."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import NumericType

    if not text:
        fields = frame.select(*[_c(c) for c in roles.role_columns()]).schema.fields
        types = dict(zip(roles.role_columns(), (f.dataType for f in fields)))
        for role, col in (("score", roles.score), ("weight", roles.weight)):
            if col is not None and not isinstance(types[col], NumericType):
                where, name = _type_name(types[col], source)
                raise DataValidationError(f"{role} column {col!r} must be numeric, but {where} holds {name} values; "
                                          "convert it to numbers or choose another column")

    def number(col: str) -> Any:
        return _c(col).try_cast("double") if text else _c(col).cast("double")

    def count_where(cond: Any) -> Any:
        return F.count(F.when(cond, 1))

    inf = float("inf")
    keys = [_c(p.column).alias(f"a{i}") for i, p in enumerate(roles.protected)]
    keys.append(_c(roles.label).alias("y_raw"))
    s = number(roles.score) if roles.score is not None else None
    w = number(roles.weight) if roles.weight is not None else None
    keys.append(_c(roles.prediction).alias("d_raw") if roles.prediction is not None
                else (s >= float(roles.threshold)).alias("d_raw"))
    measures = [F.count(F.lit(1)).alias("rows")]
    if w is not None:
        measures += [F.sum(w).alias("n"), F.sum(w * w).alias("n_sq"),
                     count_where(w.isNull() | F.isnan(w)).alias("w_missing"),
                     count_where((w < 0) | (F.abs(w) == inf)).alias("w_invalid")]
    if s is not None:
        ws = s if w is None else w * s
        measures += [F.sum(ws).alias("score_sum"), F.sum(ws * s).alias("score_sq"),
                     count_where(s.isNull() | F.isnan(s)).alias("score_missing"),
                     count_where(F.abs(s) == inf).alias("score_inf")]
    if text:  # text that is no number: DuckDB would have typed the column VARCHAR and refused it
        for role, col in (("score", roles.score), ("weight", roles.weight)):
            if col is not None:
                measures.append(count_where(_c(col).isNotNull() & number(col).isNull()).alias(f"{role}_text"))
    return frame.groupBy(*keys).agg(*measures)


def _collect(query: Any, on_progress: Progress | None) -> dict[str, list[Any]]:
    """Run the aggregation in a thread, another one watching its progress, while this one only waits.

    Waiting without calling into the JVM matters for Ctrl-C: PySpark's SIGINT handler cancels the jobs
    through this thread's JVM connection, which must not be in the middle of another call.
    """
    try:
        sc = query.sparkSession.sparkContext
    except Exception:  # Spark Connect: no SparkContext on the client, so no job group to watch
        sc = None
    group = f"steward-audit-{uuid.uuid4().hex[:12]}"
    names = query.columns
    result: dict[str, Any] = {}

    def work() -> None:
        try:
            if sc is not None:
                sc.setJobGroup(group, "Steward audit: cell statistics", interruptOnCancel=True)
            result["rows"] = query.collect()
        except BaseException as exc:  # handed to the caller's thread
            result["error"] = exc

    finished = threading.Event()
    threads = [threading.Thread(target=work, name="steward-spark", daemon=True)]
    if on_progress is not None and sc is not None:
        threads.append(threading.Thread(target=_watch, args=(sc, group, on_progress, finished),
                                        name="steward-spark-progress", daemon=True))
    for t in threads:
        t.start()
    try:
        while threads[0].is_alive():
            threads[0].join(0.2)
    except BaseException:
        finished.set()
        if sc is not None:
            sc.cancelJobGroup(group)
        raise
    finished.set()
    for t in threads[1:]:
        t.join()
    if "error" in result:
        with _unreadable():
            raise result["error"]
    if on_progress is not None:
        on_progress("scanning", 1.0)
    return {n: [r[i] for r in result["rows"]] for i, n in enumerate(names)}


def _watch(sc: Any, group: str, on_progress: Progress, finished: threading.Event) -> None:
    """Report the job group's progress until ``finished``. Spark submits the stages one by one: the fraction
    of those known so far can reach 1 (or drop, when the next stage comes), so the bar shows the largest so
    far and reaches 1 only when the collect returns."""
    shown = 0.0
    while not finished.wait(0.25):
        try:
            done = _fraction_done(sc, group)
        except Exception:  # the session is stopping (Ctrl-C): nothing more to show
            return
        if done is not None and min(done, 0.99) > shown:
            shown = min(done, 0.99)
            on_progress("scanning", shown)


def _fraction_done(sc: Any, group: str) -> float | None:
    """Completed tasks over all tasks of the job group's stages so far (``None`` before the first stage)."""
    tracker = sc.statusTracker()
    total = done = 0
    for job in tracker.getJobIdsForGroup(group):
        info = tracker.getJobInfo(job)
        for stage in (info.stageIds if info is not None else ()):
            s = tracker.getStageInfo(stage)
            if s is not None:
                total += s.numTasks
                done += s.numCompletedTasks
    return done / total if total else None


def _typed_like_duckdb(rows: dict[str, list[Any]], roles: Roles) -> None:
    """Type the text key columns of a CSV as DuckDB does: all whole numbers, else all numbers, else text."""
    keys = [f"a{i}" for i in range(len(roles.protected))] + ["y_raw"]
    if roles.prediction is not None:
        keys.append("d_raw")
    for key in keys:
        values = [v for v in dict.fromkeys(rows[key]) if v is not None]
        if values and all(_INT_TEXT.fullmatch(v.strip()) for v in values):
            rows[key] = [None if v is None else int(v) for v in rows[key]]
        elif values and all(_is_number(v) for v in values):
            rows[key] = [None if v is None else float(v) for v in rows[key]]
    for role, col in (("score", roles.score), ("weight", roles.weight)):
        if col is not None and sum(rows[f"{role}_text"]):
            raise DataValidationError(f"{role} column {col!r} must be numeric, but the file holds VARCHAR values; "
                                      "convert it to numbers or choose another column")


def _is_number(v: str) -> bool:
    if "_" in v:  # Python reads 1_000 as a number; DuckDB and Spark do not
        return False
    try:
        float(v)
    except ValueError:
        return False
    return True
