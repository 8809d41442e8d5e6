"""Monitoring windows from a Spark DataFrame or a lake path: the same window statistics, merged the same way,
judged by the same monitor, so the same alerts.

Each Spark partition reduces its rows, window by window, with :func:`reduce_batch` (the window of a row is
:func:`window_keys`', as the :class:`Monitor` computes it) and returns one JSON :class:`WindowStats` per
(window, partition); the driver collects those few rows and merges each window's partials in partition order
with :meth:`WindowStats.merge` (statistics that add up, as whylogs merges profiles). The merged windows go into
the monitor as its own :meth:`Monitor.add` would put them, and :meth:`Monitor.close` judges them: the signals,
CUSUM, streaks and alerts are computed on the driver by the code the DuckDB path runs.

What the partitioning cannot change: counts (rows, bins, categories, cells, score histograms, keys) are
identical to the DuckDB path's; floating sums (a numeric bin's sum of values, a cell's score and expected
correctness) add the same numbers in another order, so they agree to a relative 1e-12, and the alerts are
the same. PRADA (extraction) reads each caller key's queries in order: here every key's rows are taken
together (one ``groupBy`` of the key) in time order, rows of one key logged at the same instant ordered by
their values, so its verdicts equal those of a log read in time order.

Count windows follow the order rows are read in, which a distributed frame does not have: they are refused.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from steward.errors import DataValidationError, RoleError
from steward.monitoring._monitor import Monitor
from steward.monitoring._reference import Reference
from steward.monitoring._settings import MonitorSettings, load_monitor_settings
from steward.monitoring._sources import BATCH, ROLES, SUFFIXES, log_files
from steward.monitoring._window import WindowStats

__all__ = ["monitor_spark"]

_PANDAS3 = "PySpark does not yet fully support pandas"


@contextmanager
def _quiet():
    """PySpark warns about pandas 3 when an Arrow UDF is defined; Steward converts nothing through pandas there."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_PANDAS3)
        yield


def _q(name: str) -> str:
    """A column name as a Spark identifier (backquoted: dots and spaces are part of the name)."""
    return "`" + str(name).replace("`", "``") + "`"


def _read(spark: Any, data: Any, fmt: str | None) -> Any:
    """``data`` as a Spark DataFrame: itself, or the Parquet/CSV files of a local path (the files
    ``steward monitor run --data`` reads), or a lake URI (``s3a://``, ``abfss://``, ``dbfs:/``...) or a table
    folder of another format (``delta``...) read as ``fmt`` (default: by its suffix, else Parquet)."""
    from steward.engine._spark import is_spark_frame

    if is_spark_frame(data):
        return data
    if not isinstance(data, (str, os.PathLike)):
        raise DataValidationError(f"data: expected a Spark DataFrame or a path (Parquet/CSV file or folder, or a "
                                  f"lake URI), got {type(data).__name__}")
    text = os.fspath(data)
    if "://" in text or text.startswith("dbfs:") or (fmt is not None and fmt not in ("parquet", "csv", "tsv")):
        kind = fmt or next((s[1:] for s in SUFFIXES if text.lower().rstrip("/").endswith(s)), "parquet")
        return _reader(spark, kind).load(text)
    try:
        files = log_files(text)
    except DataValidationError as exc:
        raise DataValidationError(str(exc).replace("--data:", "data:", 1)) from None
    frames = []
    for suffix in SUFFIXES:
        group = [str(f) for f in files if f.suffix.lower() == suffix]
        if group:
            frames.append(_reader(spark, fmt or suffix[1:]).load(group))
    out = frames[0]
    for f in frames[1:]:
        out = out.unionByName(f)
    return out


def _reader(spark: Any, kind: str) -> Any:
    if kind in ("csv", "tsv"):  # a time without a zone is UTC, as DuckDB reads it (not the session's zone)
        return (spark.read.format("csv").option("header", "true").option("inferSchema", "true")
                .option("sep", "\t" if kind == "tsv" else ",").option("timeZone", "UTC"))
    return spark.read.format(kind)


def _layout(frame: Any, ref: Reference, columns: Mapping[str, str], by: str) -> Any:
    """The monitor's column layout (see ``read_log``): the reference's features and protected attributes by
    their names, and each role renamed from its column; a role's column missing is one clear error, except the
    label (outcomes usually arrive later)."""
    have = list(frame.columns)
    shown = ", ".join(have[:30])
    for role in columns:
        if role not in ROLES:
            raise RoleError(f"columns: unknown role {role!r}; the roles are: {', '.join(ROLES)}")
    want = list(dict.fromkeys([*ref.features, *ref.protected]))
    missing = [c for c in want if c not in have]
    if missing:
        raise DataValidationError(f"data: column(s) {', '.join(missing)} of the reference are not in the data; its "
                                  f"columns are: {shown}")
    cols = {r: c for r, c in columns.items() if r != "label" or c in have}
    for role, col in cols.items():
        if col not in have:
            raise DataValidationError(f"columns[{role!r}]: column {col!r} is not in the data; its columns are: {shown}")
    if "time" not in cols:
        raise DataValidationError(f"columns: windows by {by} need each prediction's time; map the 'time' role to its "
                                  "column (columns={'time': COLUMN})")
    from pyspark.sql import functions as F

    sel = [F.col(_q(c)).alias(c) for c in want]
    sel += [F.col(_q(col)).alias(role) for role, col in cols.items() if role not in want]
    return frame.select(*sel)


def _partials(ref: Reference, by: str):
    """The Arrow function each partition runs: its rows reduced per window, in batches of ``BATCH`` rows (as
    ``read_log`` reads), each window's batches merged; one row per window, and one (window null) counting the
    rows without a time."""

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        import pandas as pd
        import pyarrow as pa
        from pyspark import TaskContext

        from steward.monitoring._monitor import window_keys
        from steward.monitoring._window import reduce_batch

        part = TaskContext.get().partitionId()
        acc: dict[str, WindowStats] = {}
        no_time = 0

        def reduce(held: list[Any]) -> int:
            frame = pa.Table.from_batches(held).to_pandas()
            missing = frame["time"].isna().to_numpy()
            if missing.any():
                frame = frame[~missing]
            if not len(frame):
                return int(missing.sum())
            codes, uniq = pd.factorize(window_keys(frame["time"], by))
            for i, key in enumerate(uniq):
                stats = reduce_batch(frame[codes == i], ref)
                acc[key] = acc[key].merge(stats) if key in acc else stats
            return int(missing.sum())

        held: list[Any] = []
        n = 0
        for b in batches:
            held.append(b)
            n += b.num_rows
            if n >= BATCH:
                no_time += reduce(held)
                held, n = [], 0
        if n:
            no_time += reduce(held)
        windows = sorted(acc)
        yield pa.RecordBatch.from_pydict(
            {"part": [part] * (len(windows) + 1), "window": [*windows, None],
             "stats": [*(json.dumps(acc[k].to_dict()) for k in windows), None],
             "no_time": [0] * len(windows) + [no_time]},
            schema=pa.schema([("part", pa.int32()), ("window", pa.string()), ("stats", pa.string()),
                              ("no_time", pa.int64())]))

    return run


def _extraction(ref: Reference, settings: MonitorSettings, by: str, closed: list[str],
                state: Mapping[str, Any]):
    """The Arrow function each caller key's rows go through: PRADA over the key's queries in time order (rows of
    one instant by their values), window by window, as :meth:`Monitor.add` runs it on a log read in time order;
    one row per window (the key's verdicts as of its last query there) and one with its final state. A key's rows
    are held together in one worker's memory, as Spark's grouped functions hold a group."""

    def run(table: Any) -> Any:
        import numpy as np
        import pandas as pd
        import pyarrow as pa

        from steward.monitoring._detectors import ExtractionDetector
        from steward.monitoring._monitor import window_keys

        frame = table.to_pandas()
        frame = frame[frame["time"].notna().to_numpy()]
        frame = frame.assign(_t=pd.to_datetime(frame["time"], utc=True))
        rest = [c for c in frame.columns if c not in ("_t", "time")]
        frame = frame.sort_values(["_t", *rest], kind="stable", na_position="last").drop(columns="_t")
        frame = frame.reset_index(drop=True)
        keys = window_keys(frame["time"], by) if len(frame) else np.array([], dtype=object)
        if closed:
            keep = ~np.isin(keys, closed)
            frame, keys = frame[keep].reset_index(drop=True), keys[keep]
        names = frame["key_id"].astype(str).unique().tolist() if len(frame) else []
        det = ExtractionDetector(ref, settings.extraction, {k: state[k] for k in names if k in state})
        windows, verdicts = [], []
        codes, uniq = pd.factorize(pd.Series(keys, dtype=object))
        for i, key in enumerate(uniq):
            part = frame[codes == i]
            det.update(part)
            verdicts.append(json.dumps({x["subject"]: x for x in det.signals(
                part["key_id"].astype(str).unique().tolist())}))
            windows.append(key)
        return pa.table({"window": [*windows, None], "at": [*verdicts, json.dumps(det.state)]},
                        schema=pa.schema([("window", pa.string()), ("at", pa.string())]))

    return run


def _settings_of(settings: MonitorSettings | Mapping[str, Any] | None) -> MonitorSettings:
    if settings is None:
        return MonitorSettings()
    if isinstance(settings, MonitorSettings):
        return settings
    if isinstance(settings, Mapping):
        return load_monitor_settings(None, settings, where="settings")
    raise DataValidationError(f"settings: expected MonitorSettings or a mapping like {{'window': {{'by': 'day'}}}}, "
                              f"got {type(settings).__name__}")


def monitor_spark(data: Any, *, reference: Reference | Mapping[str, Any] | None = None,
                  columns: Mapping[str, str] | None = None,
                  settings: MonitorSettings | Mapping[str, Any] | None = None, monitor: Monitor | None = None,
                  confidence: float = 0.95, min_group_size: int = 30, format: str | None = None,
                  session: Any = None) -> dict[str, Any]:
    """Monitor a prediction log held by Spark once, every window judged: ``steward monitor run --data`` on a
    Spark DataFrame or a lake path.

    Parameters
    ----------
    data : a Spark DataFrame, or a path: a local Parquet/CSV file or folder (the files the one-off DuckDB run
        reads), or a lake URI (or, with ``format`` such as ``"delta"``, a table's folder) read by Spark as
        ``format`` (default: by its suffix, else Parquet).
    reference : the :class:`Reference` (or its ``to_dict()``) the windows are compared with; or give ``monitor``.
    columns : role -> the data's column for the roles ``time`` (required: windows are by time), ``score``,
        ``decision``, ``label`` (optional, left out when absent), ``key_id`` and ``prediction_id``.
    settings : :class:`MonitorSettings` or a mapping merged over the defaults (``{"window": {"by": "hour"}}``);
        the window must be by hour, day or week.
    monitor : a :class:`Monitor` to feed instead (its reference, settings, stored windows and detector state
        are used, and it holds the windows, results and state afterwards, as after :meth:`Monitor.add`).
    session : the Spark session (default: the active one, else a local one; see ``spark_session``).

    Returns
    -------
    dict
        What the one-off DuckDB run returns: ``rows_read``, ``windows_closed`` (each judged), ``alerts`` (window,
        signal, subject, severity, value, threshold), ``late_rows`` (rows of windows the monitor had already
        judged, left out) and ``windows`` (each window's signals, as :meth:`Monitor.view` gives them). Counts are
        those of the DuckDB path exactly; sums of floating values agree to a relative 1e-12 (another order of
        the same additions); the alerts are the same.
    """
    from steward.engine._spark import require_spark, spark_session

    if (reference is None) == (monitor is None):
        raise DataValidationError("reference: give the reference (or a monitor that has one), not both")
    if monitor is None:
        ref = reference if isinstance(reference, Reference) else Reference.from_dict(reference)
        monitor = Monitor(ref, _settings_of(settings), confidence=confidence, min_group_size=min_group_size)
    elif settings is not None:
        raise DataValidationError("settings: a monitor brings its own settings; give settings or a monitor, not both")
    mon, by = monitor, monitor.settings.window.by
    if by == "count":
        raise DataValidationError("window.by: count windows follow the order rows are read in, which a Spark "
                                  "DataFrame does not have; window by time on Spark (hour, day or week)")
    require_spark()
    spark = spark_session(session)
    frame = _layout(_read(spark, data, format), mon.ref, dict(columns or {}), by)
    with _quiet():
        parts = frame.mapInArrow(_partials(mon.ref, by), "part int, window string, stats string, no_time long")
    rows = parts.collect()
    no_time = sum(r["no_time"] for r in rows)
    if no_time:
        raise DataValidationError(f"columns['time']: {no_time:,} rows have no time; every row needs one to fall in "
                                  "a window (fill or drop them)")
    by_window: dict[str, list[tuple[int, WindowStats]]] = {}
    for r in rows:
        if r["window"] is not None:
            by_window.setdefault(r["window"], []).append((r["part"], WindowStats.from_dict(json.loads(r["stats"]))))
    closed = list(mon.state["closed"])
    read = late = 0
    for key in sorted(by_window):
        ps = [w for _, w in sorted(by_window[key], key=lambda pw: pw[0])]
        stats = ps[0].merge(*ps[1:])
        read += stats.rows
        if key in closed:  # rows for a window already judged: counted, left out (the judgement stands)
            late += stats.rows
            continue
        mon.windows[key] = mon.windows[key].merge(stats) if key in mon.windows else stats
        mon.touched.add(key)
    if late:
        mon.state["late_rows"] = int(mon.state.get("late_rows", 0)) + late
    if mon.settings.extraction.enabled and "key_id" in frame.columns:
        keep = ["time", "key_id", *[c for c in mon.ref.features if c in frame.columns]]
        with _quiet():
            out = (frame.select(*[_q(c) for c in dict.fromkeys(keep)]).groupBy("key_id")
                   .applyInArrow(_extraction(mon.ref, mon.settings, by, closed, dict(mon.state["extraction"])),
                                 "window string, at string"))
        for r in out.collect():
            if r["window"] is None:
                mon.state["extraction"].update(json.loads(r["at"]))
            else:
                mon.state["extraction_at"].setdefault(r["window"], {}).update(json.loads(r["at"]))
    judged = mon.close(sorted(k for k in mon.windows if k not in mon.state["closed"]))
    return {"monitor": os.fspath(data) if isinstance(data, (str, os.PathLike)) else "Spark DataFrame",
            "rows_read": read, "windows_closed": [k for k, _ in judged], "windows_open": [], "late_rows": late,
            "alerts": [{k: a[k] for k in ("window", "signal", "subject", "severity", "value", "threshold")}
                       for _, al in judged for a in al],
            "incident_id": None, "tripped": [], "windows": {k: mon.results[k] for k, _ in judged}}
