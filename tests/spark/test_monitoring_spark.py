"""Monitoring windows from Spark (``monitor_spark``) against the DuckDB path (``read_log`` + ``Monitor``, and the
one-off ``steward monitor run --data``) on a seeded log of four daily windows with a drift planted in one
feature on one day and a model-extraction key on another, labels for the first days only.

Counts (rows, bins, category counts, cells, score histograms, keys) must be identical; floating sums (a bin's
sum of values, a cell's score and expected correctness) may differ by the order Spark adds them in: they are
compared to a relative 1e-12 (with an absolute 1e-9 for a bin whose values cancel around zero); the alerts and
every window's signals are the same. Repartitioning (1, 2, 7, skewed) changes nothing."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from steward.cli import cli
from steward.errors import DataValidationError, RoleError
from steward.monitoring import Monitor, MonitorSettings, build_reference, monitor_spark
from steward.monitoring._sources import log_files, read_log
from tests.monitoring._data import CLEAN_ENV

START = pd.Timestamp("2026-03-02", tz="UTC")
DAYS = 4
N = 24_000
FEATURES = ["x1", "x2", "x3", "c1"]
COLUMNS = {"time": "ts", "score": "p", "decision": "d", "label": "y", "key_id": "caller"}
DRIFT_DAY, ATTACK_DAY = "2026-03-04", "2026-03-03"


def _rows(rng: np.random.Generator, n: int) -> pd.DataFrame:
    x1 = rng.normal(0, 1, n)
    x2 = rng.exponential(2.0, n)
    x2[rng.random(n) < 0.02] = np.nan
    x3 = rng.uniform(-5, 5, n)
    c1 = rng.choice(["a", "b", "c", "d"], n, p=[0.4, 0.3, 0.2, 0.1])
    sex = rng.choice(["F", "M"], n)
    z = 0.9 * x1 - 0.2 * np.nan_to_num(x2, nan=2.0) + 0.1 * x3 + (c1 == "a") * 0.3 + 0.4
    p = 1 / (1 + np.exp(-z))
    return pd.DataFrame({"x1": x1, "x2": x2, "x3": x3, "c1": c1, "sex": sex, "p": p, "d": (p >= 0.5).astype(int),
                         "y": (rng.random(n) < p).astype(int)})


@pytest.fixture(scope="module")
def log(tmp_path_factory) -> dict[str, Any]:
    rng = np.random.default_rng(2026)
    reference = _rows(rng, 20_000)
    ref = build_reference(reference, features=FEATURES, protected=["sex"], reference_groups={"sex": "M"}, score="p",
                          decision="d", label="y")
    rows = _rows(rng, N)
    secs = np.sort(rng.choice(DAYS * 86_400, N, replace=False))  # distinct times, the log in time order
    rows.insert(0, "ts", START + pd.to_timedelta(secs, unit="s"))
    day = rows["ts"].dt.strftime("%Y-%m-%d")
    rows["caller"] = rng.choice([f"k{i:02d}" for i in range(12)], N)
    drift = (day == DRIFT_DAY).to_numpy()
    rows.loc[drift, "x1"] += 1.2
    # an extraction attack: 400 queries of one key on one day, tiny perturbations around three seeds
    attack = rng.choice(np.flatnonzero((day == ATTACK_DAY).to_numpy()), 400, replace=False)
    seeds = rows.loc[attack[:3], ["x1", "x2", "x3"]].fillna(1.0).to_numpy()
    pick = rng.integers(0, 3, len(attack))
    rows.loc[attack, ["x1", "x2", "x3"]] = seeds[pick] + rng.normal(0, 1e-3, (len(attack), 3))
    rows.loc[attack, "c1"] = "b"
    rows.loc[attack, "caller"] = "k-attack"
    rows["y"] = rows["y"].astype("Int64").mask(rows["ts"] >= START + pd.Timedelta(hours=60))  # outcomes arrive later
    folder = tmp_path_factory.mktemp("monitor_spark")
    logdir = folder / "log"
    logdir.mkdir()
    half = N // 2
    for i, part in enumerate((rows.iloc[:half], rows.iloc[half:])):  # Spark reads neither nanoseconds nor their order
        part.to_parquet(logdir / f"part-{i}.parquet", index=False, coerce_timestamps="us")
    reference.to_parquet(folder / "reference.parquet", index=False)
    # the DuckDB path, as the one-off `steward monitor run --data` runs it
    mon = Monitor(ref, MonitorSettings())
    for f in log_files(logdir):
        for frame in read_log(f, [*ref.features, *ref.protected], COLUMNS):
            mon.add(frame)
    closed = mon.close(sorted(mon.windows))
    return {"rows": rows, "ref": ref, "logdir": logdir, "folder": folder, "duck": mon, "closed": closed}


@pytest.fixture(scope="module")
def frame(spark, log):
    df = spark.read.parquet(str(log["logdir"])).cache()
    df.count()
    yield df
    df.unpersist()


def _same(a: Any, b: Any, where: str = "") -> None:
    """Equal, exactly for counts and text; floats to a relative 1e-12 (absolute 1e-9: a sum that cancels)."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), f"{where}: keys {sorted(set(a) ^ set(b))}"
        for k in a:
            _same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), f"{where}: lengths {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and not isinstance(b, bool) and isinstance(b, (int, float)):
        assert math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-9) or (math.isnan(a) and math.isnan(b)), f"{where}: {a} {b}"
    else:
        assert type(a) is type(b) and a == b, f"{where}: {a!r} != {b!r}"


def _spark_run(data, log, **kw) -> tuple[dict, Monitor]:
    mon = Monitor(log["ref"], MonitorSettings())
    out = monitor_spark(data, monitor=mon, columns=COLUMNS, **kw)
    return out, mon


def _alerts(closed) -> list[dict]:
    return [{k: a[k] for k in ("window", "signal", "subject", "severity", "value", "threshold")}
            for _, al in closed for a in al]


def test_the_windows_their_statistics_and_the_alerts_equal_the_duckdb_paths(frame, log):
    out, mon = _spark_run(frame, log)
    duck = log["duck"]
    assert sorted(mon.windows) == sorted(duck.windows) == [f"2026-03-0{d}" for d in range(2, 6)]
    for key in duck.windows:
        _same(mon.windows[key].to_dict(), duck.windows[key].to_dict(), key)
        assert mon.windows[key].keys == duck.windows[key].keys  # each caller's volume, exactly
    # the counts against a hand computation on the rows themselves
    rows, ref = log["rows"], log["ref"]
    day = rows["ts"].dt.strftime("%Y-%m-%d")
    assert {k: w.rows for k, w in mon.windows.items()} == day.value_counts().to_dict()
    x1 = rows.loc[day == DRIFT_DAY, "x1"].to_numpy()
    edges = np.asarray(ref.features["x1"].edges)
    want = np.bincount(np.searchsorted(edges, x1, side="left"), minlength=len(edges) + 1)
    assert mon.windows[DRIFT_DAY].features["x1"]["bins"] == want.tolist()
    assert mon.windows[DRIFT_DAY].features["c1"]["counts"] == rows.loc[day == DRIFT_DAY, "c1"].value_counts().to_dict()
    labelled = rows["y"].notna() & (day == "2026-03-04")
    assert sum(mon.windows["2026-03-04"].score_pos) + sum(mon.windows["2026-03-04"].score_neg) == labelled.sum()
    # the same judgement: every signal of every window, the detectors' state, the alerts
    assert out["windows_closed"] == [k for k, _ in log["closed"]]
    _same(out["windows"], {k: duck.results[k] for k, _ in log["closed"]}, "results")
    _same(mon.state["extraction"], duck.state["extraction"], "extraction")
    _same(mon.state["cusum"], duck.state["cusum"], "cusum")
    _same(out["alerts"], _alerts(log["closed"]), "alerts")
    fired = {(a["window"], a["signal"], a["subject"]) for a in out["alerts"]}
    assert (DRIFT_DAY, "feature_drift", "x1") in fired and (ATTACK_DAY, "extraction", "k-attack") in fired
    assert {(w, s) for w, sig, s in fired if sig == "feature_drift"} == {(DRIFT_DAY, "x1")}
    assert out["rows_read"] == N and out["late_rows"] == 0


def test_the_result_is_what_the_one_off_cli_run_prints(frame, log):
    f = log["folder"]
    r = CliRunner().invoke(cli, ["monitor", "run", "--data", str(log["logdir"]), "--reference",
                                 str(f / "reference.parquet"), "--features", ",".join(FEATURES), "--protected",
                                 "sex=M", "--time", "ts", "--score", "p", "--decision", "d", "--label", "y", "--key",
                                 "caller", "--format", "json"], env=CLEAN_ENV, catch_exceptions=False)
    assert r.exit_code == 1, r.output  # alerts were raised
    cli_out = json.loads(r.output)
    out = monitor_spark(str(log["logdir"]), reference=log["ref"].to_dict(), columns=COLUMNS)
    assert set(out) == set(cli_out)
    for k in ("rows_read", "windows_closed", "windows_open", "late_rows", "incident_id", "tripped"):
        assert out[k] == cli_out[k], k
    _same(json.loads(json.dumps(out["alerts"])), cli_out["alerts"], "alerts")
    _same(json.loads(json.dumps(out["windows"])), cli_out["windows"], "windows")


@pytest.mark.parametrize("layout", ["1", "2", "7", "skewed"])
def test_the_partitioning_changes_nothing(spark, frame, log, layout):
    from pyspark.sql import functions as F

    if layout == "skewed":  # nine rows in ten in one partition, the rest spread by range
        h = F.abs(F.hash("ts"))
        df = (frame.withColumn("_s", F.when(h % 10 == 0, h % 1000 + 1).otherwise(F.lit(0)))
              .repartitionByRange(4, "_s").drop("_s"))
        sizes = [r["count"] for r in df.groupBy(F.spark_partition_id().alias("p")).count().collect()]
        assert len(sizes) >= 2 and max(sizes) >= 0.85 * N
    else:
        df = frame.repartition(int(layout))
        assert df.rdd.getNumPartitions() == int(layout)
    out, mon = _spark_run(df, log)
    duck = log["duck"]
    for key in duck.windows:
        _same(mon.windows[key].to_dict(), duck.windows[key].to_dict(), f"{layout}:{key}")
    _same(out["alerts"], _alerts(log["closed"]), f"{layout}:alerts")
    _same(out["windows"], {k: duck.results[k] for k, _ in log["closed"]}, f"{layout}:results")


def test_a_csv_log_gives_the_duckdb_paths_windows_in_any_session_time_zone(spark, tmp_path, log):
    """A CSV's times without a zone are UTC, as DuckDB reads them, whatever the session's zone."""
    rows = log["rows"].iloc[::8].copy()
    rows["ts"] = rows["ts"].dt.strftime("%Y-%m-%d %H:%M:%S")
    path = tmp_path / "log.csv"
    rows.to_csv(path, index=False)
    ref = log["ref"]
    duck = Monitor(ref, MonitorSettings())
    for batch in read_log(path, [*ref.features, *ref.protected], COLUMNS):
        duck.add(batch)
    zone = spark.conf.get("spark.sql.session.timeZone")
    spark.conf.set("spark.sql.session.timeZone", "America/New_York")
    try:
        out, mon = _spark_run(str(path), log)
    finally:
        spark.conf.set("spark.sql.session.timeZone", zone)
    assert out["rows_read"] == len(rows) and sorted(mon.windows) == sorted(duck.windows)
    for key in duck.windows:
        _same(mon.windows[key].to_dict(), duck.windows[key].to_dict(), f"csv:{key}")


def _one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text and len(text) < 400
    return text


def test_bad_input_is_one_clear_line(frame, log, tmp_path: Path):
    from pyspark.sql import functions as F

    ref = log["ref"]
    with pytest.raises(DataValidationError) as e:
        monitor_spark(frame, reference=ref, columns=COLUMNS, settings={"window": {"by": "count", "size": 1000}})
    assert "window.by" in _one_line(e) and "count" in str(e.value) and "hour, day or week" in str(e.value)
    with pytest.raises(DataValidationError) as e:
        monitor_spark(frame.drop("x2"), reference=ref, columns=COLUMNS)
    assert "x2" in _one_line(e) and "not in the data" in str(e.value)
    with pytest.raises(DataValidationError) as e:
        monitor_spark(frame, reference=ref, columns={**COLUMNS, "score": "prob"})
    assert "columns['score']" in _one_line(e) and "'prob'" in str(e.value)
    with pytest.raises(DataValidationError) as e:
        monitor_spark(frame, reference=ref, columns={k: v for k, v in COLUMNS.items() if k != "time"})
    assert "'time'" in _one_line(e)
    with pytest.raises(RoleError) as e:
        monitor_spark(frame, reference=ref, columns={**COLUMNS, "when": "ts"})
    assert "'when'" in _one_line(e)
    with pytest.raises(DataValidationError) as e:
        monitor_spark(str(tmp_path / "nowhere"), reference=ref, columns=COLUMNS)
    assert _one_line(e).startswith("data:") and "does not exist" in str(e.value)
    with pytest.raises(DataValidationError) as e:
        monitor_spark(frame.limit(50).withColumn("ts", F.lit(None).cast("timestamp")), reference=ref, columns=COLUMNS)
    assert "50 rows have no time" in _one_line(e)
