"""The audit on Spark equals the audit in memory: the same cells, groups and findings (issue 20).

The reference is the NumPy engine on the same rows as a pandas DataFrame (an independent implementation:
``np.bincount`` over integer codes), and a plain pandas ``groupby`` for the weighted group sizes. Counts
must be identical; weighted sums may differ only by the order of summation (Spark adds partition by
partition), so they are compared at a relative 1e-12, far above that rounding (~1e-13 on a million rows)
and far below any real difference.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from steward.cli import cli
from steward.data import Roles, open_source, parse_protected
from steward.engine import cells_from_frame
from steward.engine._spark_cells import cells_from_spark
from steward.errors import DataValidationError, RoleError
from tests.conftest import quiet_audit

RTOL = 1e-12
N = 1_000_000
RACES = ["White", "Black", "Hispanic", "Asian", "Other"]


def million_rows() -> pd.DataFrame:
    """A seeded table with weights (some zero), a score, two protected attributes, and missing values:
    ``race`` misses 0.3% of its values (``race_f`` gives them the group 'Unknown'), ``y_m`` and
    ``score_m`` are the label and score with a few missing."""
    rng = np.random.default_rng(20)
    race = rng.choice(RACES, size=N, p=[0.6, 0.2, 0.12, 0.06, 0.02]).astype(object)
    black = race == "Black"
    race[rng.random(N) < 0.003] = None
    y = (rng.random(N) < 0.35 + 0.1 * black).astype(np.int64)
    score = np.clip(0.3 + 0.3 * y + 0.08 * black + 0.36 * (rng.random(N) - 0.5), 0.0, 1.0)
    w = rng.gamma(2.0, 0.5, size=N)
    w[rng.random(N) < 0.01] = 0.0
    return pd.DataFrame({
        "race": pd.array(race, dtype="str"), "race_f": pd.array(np.where(pd.isna(race), "Unknown", race), dtype="str"),
        "sex": rng.choice(["Female", "Male"], size=N, p=[0.45, 0.55]),
        "y": y, "d": (score >= 0.5).astype(np.int64), "score": score, "w": w,
        "y_m": np.where(rng.random(N) < 0.002, np.nan, y.astype(float)),
        "score_m": np.where(rng.random(N) < 0.001, np.nan, score),
    })


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    frame = million_rows()
    path = tmp_path_factory.mktemp("spark") / "million.parquet"
    frame.to_parquet(path, index=False)
    return frame, path


@pytest.fixture(scope="module")
def big_spark(spark, big):
    sdf = spark.read.parquet(str(big[1])).cache()
    assert sdf.count() == N
    yield sdf
    sdf.unpersist()


BIG_ROLES = dict(label="y", prediction="d", score="score", weight="w", protected={"race_f": "White", "sex": "Male"})


def to_spark(spark, frame: pd.DataFrame):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # PySpark's note on pandas 3: test setup only
        return spark.createDataFrame(frame)


def assert_same_audit(a, b) -> None:
    """Same cells, groups table, references, notes and findings; floats at RTOL."""
    assert a.cells.equals(b.cells, rtol=RTOL)
    pd.testing.assert_frame_equal(a.cells.frame, b.cells.frame, rtol=RTOL)
    pd.testing.assert_frame_equal(a.groups, b.groups, rtol=RTOL)
    assert a.references == b.references and a.notes == b.notes
    assert (a.findings is None) == (b.findings is None)
    if a.findings is not None:
        assert a.passed == b.passed
        for fa, fb in zip(a.findings, b.findings, strict=True):
            da, db = fa.to_dict(), fb.to_dict()
            for key in ("value", "p_value"):
                va, vb = da.pop(key, None), db.pop(key, None)
                assert (va is None and vb is None) or va == pytest.approx(vb, rel=RTOL, nan_ok=True), (key, va, vb)
            ca, cb = da.pop("ci", None), db.pop("ci", None)
            assert (ca is None and cb is None) or ca == pytest.approx(cb, rel=RTOL, nan_ok=True)
            assert da == db


def test_compas_equals_numpy(spark, compas):
    frame = compas[["race", "sex", "two_year_recid", "decile_score"]]
    kw = dict(label="two_year_recid", score="decile_score", threshold=5, favourable=0,
              protected={"race": "Caucasian", "sex": "Male"}, policy="default", tier="high")
    a = quiet_audit(frame, **kw)
    b = quiet_audit(to_spark(spark, frame), **kw)
    assert b.settings["engine"] == "spark" and b.source["kind"] == "spark" and b.source["rows"] == len(frame)
    assert_same_audit(a, b)
    assert any(f.status == "fail" for f in b.findings)  # the comparison covers failing findings too


def test_adult_equals_numpy_with_weights_and_positive_label(spark, adult):
    frame = adult[["race", "sex", "income", "education-num", "fnlwgt", "pred"]]
    kw = dict(label="income", positive_label=">50K", prediction="pred", score="education-num", weight="fnlwgt",
              protected={"race": "White", "sex": "Male"}, policy="default", tier="high")
    a = quiet_audit(frame, **kw)
    b = quiet_audit(to_spark(spark, frame), **kw)
    assert_same_audit(a, b)
    # and the weighted group sizes agree with a plain pandas groupby
    n = b.groups.set_index(["attribute", "group"])["n"]
    for col in ("race", "sex"):
        for g, total in frame.groupby(col)["fnlwgt"].sum().items():
            assert n[(col, g)] == pytest.approx(total, rel=RTOL)


def test_million_rows_with_weights_intersections_and_missing_groups(big, big_spark):
    frame, _ = big
    kw = dict(BIG_ROLES, policy="default", tier="high")
    a = quiet_audit(frame, **kw)
    seen: list[tuple[str, float]] = []
    b = quiet_audit(big_spark, on_progress=lambda stage, f: seen.append((stage, f)), **kw)
    assert_same_audit(a, b)
    scanning = [f for stage, f in seen if stage == "scanning"]
    assert scanning[-1] == 1.0 and scanning == sorted(scanning)  # the progress bar only moves forward, to the end
    assert "Unknown" in set(b.groups["group"]) and "Unknown*Female" in set(b.groups["group"])
    g = b.groups.set_index(["attribute", "group"])
    for (race, sex), part in frame.groupby(["race_f", "sex"]):
        assert g.loc[("race_f*sex", f"{race}*{sex}"), "rows"] == len(part)
        assert g.loc[("race_f*sex", f"{race}*{sex}"), "n"] == pytest.approx(part["w"].sum(), rel=RTOL)


@pytest.mark.parametrize("change, expected", [
    (dict(protected=["race", "sex"]), "protected attribute 'race' has missing values in {race:,} of 1,000,000 rows"),
    (dict(label="y_m"), "label column 'y_m' has missing values in {y_m:,} of 1,000,000 rows"),
    (dict(score="score_m"), "score column 'score_m' has missing values in {score_m:,} of 1,000,000 rows"),
])
def test_missing_values_are_refused_as_by_duckdb(big, big_spark, change, expected):
    frame, _ = big
    kw = {**BIG_ROLES, **change}
    with pytest.raises(DataValidationError) as duck:
        quiet_audit(frame, engine="duckdb", **kw)
    with pytest.raises(DataValidationError) as spark_error:
        quiet_audit(big_spark, **kw)
    assert str(spark_error.value) == str(duck.value)
    counts = {c: int(frame[c].isna().sum()) for c in ("race", "y_m", "score_m")}
    assert str(spark_error.value).startswith(expected.format(**counts))


def partitionings(sdf):
    yield "1 partition", sdf.coalesce(1), 1
    yield "2 partitions", sdf.repartition(2), 2
    yield "7 partitions", sdf.repartition(7), 7
    # a range partitioning keeps each value in one partition: White (60% of the rows) makes one huge partition;
    # cached, so that checking the skew and computing the cells share one shuffle
    yield "skewed: by race, one partition holds White", sdf.repartitionByRange(3, "race_f").cache(), 3


def test_partitioning_changes_no_number(big, big_spark):
    from pyspark.sql import functions as F

    frame, _ = big
    roles = Roles(label="y", prediction="d", score="score", weight="w",
                  protected=parse_protected(["race_f=White", "sex"]))
    expected, total, _ = cells_from_frame(open_source(frame), roles)
    columns = big_spark.select("race_f", "sex", "y", "d", "score", "w")
    for name, sdf, parts in partitionings(columns):
        assert sdf.rdd.getNumPartitions() == parts, name
        if name.startswith("skewed"):
            sizes = [r[1] for r in sdf.groupBy(F.spark_partition_id()).count().collect()]
            assert max(sizes) >= 0.6 * N, sizes  # one partition holds the White group, 60% of the rows
        got, rows, digest = cells_from_spark(open_source(sdf), roles)
        sdf.unpersist()
        assert rows == total and digest is None
        pd.testing.assert_frame_equal(got.frame[got.keys + ["rows"]], expected.frame[expected.keys + ["rows"]])
        for stat in ("n", "n_sq", "score_sum", "score_sq"):
            np.testing.assert_allclose(got.frame[stat], expected.frame[stat], rtol=RTOL, err_msg=f"{name}: {stat}")


@st.composite
def small_tables(draw):
    n = draw(st.integers(2, 80))
    return pd.DataFrame({
        "g": draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=n, max_size=n)),
        "h": draw(st.lists(st.sampled_from([1.0, 2.0]), min_size=n, max_size=n)),
        "y": draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)),
        "s": draw(st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=n, max_size=n)),
        "w": draw(st.lists(st.floats(0.0, 10.0), min_size=n, max_size=n)),
    })


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(small_tables(), st.integers(1, 7))
def test_any_partitioning_of_any_table_gives_the_numpy_cells(spark, frame, parts):
    if frame["g"].nunique() < 2 or frame["h"].nunique() < 2:
        return
    roles = Roles(label="y", score="s", threshold=0.0, weight="w", protected=parse_protected(["g", "h"]))
    expected, total, _ = cells_from_frame(open_source(frame), roles)
    got, rows, _ = cells_from_spark(open_source(to_spark(spark, frame).repartition(parts)), roles)
    assert rows == total
    assert list(got.frame["h"].unique()) == list(expected.frame["h"].unique())  # 1.0 is group "1" in both
    assert got.equals(expected, rtol=RTOL)


def test_path_errors_are_the_duckdb_lines(spark, tmp_path):
    path = tmp_path / "bad.parquet"
    pd.DataFrame({"g": ["a", "b", "a"], "y": [0, 1, 2], "y01": [0, 1, 1], "d": [1, 0, 1], "w": ["1", "2", "3"],
                  "v": [1.0, -1.0, 2.0]}).to_parquet(path)
    cases = [dict(label="y", prediction="d", protected=["gg"]),  # no such column (with a suggestion)
             dict(label="y01", prediction="d", protected=["g"], weight="w"),  # a text weight
             dict(label="y01", prediction="d", protected=["g"], weight="v"),  # a negative weight
             dict(label="y", prediction="d", protected=["g"])]  # a label that is not 0/1
    for kw in cases:
        with pytest.raises(DataValidationError) as duck:
            quiet_audit(path, engine="duckdb", **kw)
        with pytest.raises(DataValidationError) as on_spark:
            quiet_audit(path, engine="spark", **kw)
        assert str(on_spark.value) == str(duck.value)
        assert "\n" not in str(on_spark.value)


def test_csv_read_by_spark_gives_duckdb_groups_and_errors(spark, tmp_path):
    """A CSV's text is typed as DuckDB types it: '1.0' and '1' in a number column are one group, "1"."""
    path = tmp_path / "groups.csv"
    path.write_text("grp,y,d,s,note,w\n" + "".join(
        f"{g},{i % 2},{(i // 2) % 2},{i / 7:.3f},\"a, b\",{1 + i % 3}\n" for i, g in enumerate(["1.0", "2", "1", "2.0"] * 10)))
    kw = dict(label="y", prediction="d", score="s", weight="w", protected=["grp"])
    a = quiet_audit(path, engine="duckdb", **kw)
    b = quiet_audit(path, engine="spark", **kw)
    assert list(b.groups["group"]) == list(a.groups["group"]) == ["1", "2"]
    assert b.cells.equals(a.cells, rtol=RTOL) and b.source["format"] == "csv"
    with pytest.raises(DataValidationError) as duck:
        quiet_audit(path, engine="duckdb", **{**kw, "weight": "note"})
    with pytest.raises(DataValidationError) as on_spark:
        quiet_audit(path, engine="spark", **{**kw, "weight": "note"})
    assert str(on_spark.value) == str(duck.value)


def test_dataframe_errors_name_the_spark_dataframe(spark):
    sdf = to_spark(spark, pd.DataFrame({"g": ["a", "b"], "y": [0, 1], "d": [1, 1], "w": ["1", "2"]}))
    with pytest.raises(DataValidationError, match=r"^weight column 'w' must be numeric, but the Spark DataFrame "
                                                  r"holds string values; convert it"):
        quiet_audit(sdf, label="y", prediction="d", protected=["g"], weight="w")
    with pytest.raises(DataValidationError, match=r"^label column 'yy' is not in the Spark DataFrame; did you mean 'y'"):
        quiet_audit(sdf, label="yy", prediction="d", protected=["g"])
    with pytest.raises(DataValidationError, match=r"^the Spark DataFrame has no data rows"):
        quiet_audit(sdf.limit(0), label="y", prediction="d", protected=["g"])
    with pytest.raises(RoleError, match=r"^features and a model need the data's rows in memory"):
        quiet_audit(sdf, label="y", prediction="d", protected=["g"], features=["w"])
    with pytest.raises(RoleError, match=r"^engine 'duckdb' cannot read a Spark DataFrame"):
        quiet_audit(sdf, label="y", prediction="d", protected=["g"], engine="duckdb")
    with pytest.raises(RoleError, match=r"^engine 'spark' reads a Spark DataFrame or a CSV/Parquet path, not a dataframe"):
        quiet_audit(pd.DataFrame({"g": ["a", "b"], "y": [0, 1], "d": [1, 1]}), label="y", prediction="d", protected=["g"],
                    engine="spark")


def test_cli_engine_spark_matches_duckdb_with_a_quiet_terminal(spark, big, tmp_path):
    """A fresh `steward audit --engine spark` process: the same report.json groups as --engine duckdb, and
    nothing from the JVM or PySpark between Steward's lines."""
    _, path = big
    args = ["--label", "y", "--prediction", "d", "--score", "score", "--weight", "w",
            "--protected", "race_f=White", "--protected", "sex=Male", "--no-progress"]
    duck = CliRunner().invoke(cli, ["audit", str(path), "--engine", "duckdb", "--out", str(tmp_path / "duck"), *args])
    assert duck.exit_code == 0, duck.output
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYSPARK_GATEWAY")}
    done = subprocess.run([sys.executable, "-m", "steward.cli", "audit", str(path), "--engine", "spark",
                           "--out", str(tmp_path / "spark"), *args], capture_output=True, text=True, env=env,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert not any(word in done.stdout for word in ("WARN", "FutureWarning", "log4j", "SparkContext"))
    assert done.stdout.startswith("Steward audit of 1,000,000 rows from ")
    a, b = (json.loads((tmp_path / d / "report.json").read_text()) for d in ("duck", "spark"))
    assert b["source"]["kind"] == "spark" and b["source"]["sha256"] == a["source"]["sha256"]
    assert [g["group"] for g in a["groups"]] == [g["group"] for g in b["groups"]]
    for ga, gb in zip(a["groups"], b["groups"]):
        assert ga.keys() == gb.keys()
        for k, va in ga.items():
            vb = gb[k]
            if isinstance(va, float) and isinstance(vb, float):
                assert va == pytest.approx(vb, rel=RTOL, nan_ok=True), (ga["group"], k)
            else:
                assert va == vb, (ga["group"], k)
