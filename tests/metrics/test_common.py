"""Invariances every group metric must have (the idea of scikit-learn's test_common)."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from steward.metrics import COMPARISONS, RATES
from tests.conftest import quiet_audit, small_frame

METRICS = [*RATES, "favourable_rate", "adverse_impact_ratio", "marginal_effect", "smd", "mean_score",
           *(f"{c}_{k}" for c in COMPARISONS for k in ("ratio", "difference"))]
EXTRA = [f"{m}_ci_{e}" for m in RATES for e in ("low", "high")] + [
    "adverse_impact_ratio_ci_low", "adverse_impact_ratio_ci_high", "favourable_rate_p_value",
    "smd_p_value", "fpr_p_value", "fnr_p_value"]


def run(df: pd.DataFrame, **kw) -> pd.DataFrame:
    r = quiet_audit(df, label="y", prediction="d", score="s", protected={"race": "A", "sex": "F"}, **kw)
    return r.to_frame().set_index(["attribute", "group"]).sort_index()


@pytest.mark.parametrize("metric", METRICS)
def test_every_metric_is_reported_for_every_group(metric):
    f = run(small_frame())
    assert metric in f.columns
    assert f[metric].notna().all()


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000))
def test_row_order_does_not_change_results(seed):
    df = small_frame(seed=seed % 50)
    shuffled = df.sample(frac=1.0, random_state=seed)
    a, b = run(df), run(shuffled)
    pd.testing.assert_frame_equal(a[METRICS + EXTRA], b[METRICS + EXTRA], rtol=1e-10)


@settings(max_examples=25, deadline=None)
@given(st.permutations(["A", "B", "C"]))
def test_group_relabelling_does_not_change_results(perm):
    df = small_frame(seed=5)
    rename = dict(zip(["A", "B", "C"], [f"g{p}" for p in perm]))
    a = run(df)
    b = quiet_audit(df.assign(race=df["race"].map(rename)), label="y", prediction="d", score="s",
                    protected={"race": rename["A"], "sex": "F"}).to_frame()
    b["group"] = b["group"].replace({v: k for k, v in rename.items()}, regex=False)
    b["group"] = [
        "*".join({v: k for k, v in rename.items()}.get(p, p) for p in g.split("*")) for g in b["group"]
    ]
    b = b.set_index(["attribute", "group"]).sort_index()
    pd.testing.assert_frame_equal(a[METRICS + EXTRA], b[METRICS + EXTRA], rtol=1e-10)


@pytest.mark.parametrize("kind", ["DataFrame", "Arrow", "csv", "parquet", "csv.gz"])
def test_every_input_kind_gives_the_same_numbers(kind, tmp_path):
    import pyarrow as pa

    df = small_frame(seed=11)
    if kind == "DataFrame":
        data = df
    elif kind == "Arrow":
        data = pa.Table.from_pandas(df)
    elif kind == "parquet":
        data = tmp_path / "d.parquet"
        df.to_parquet(data)
    else:
        data = tmp_path / f"d.{kind}"
        df.to_csv(data, index=False)
    pd.testing.assert_frame_equal(run(data)[METRICS + EXTRA], run(df)[METRICS + EXTRA], rtol=1e-10)


def test_label_and_prediction_types_are_read_alike():
    df = small_frame(seed=2)
    base = run(df)
    as_bool = run(df.assign(y=df["y"].astype(bool), d=df["d"].astype(bool)))
    as_float = run(df.assign(y=df["y"].astype(float), d=df["d"].astype("Int64")))
    for other in (as_bool, as_float):
        pd.testing.assert_frame_equal(base[METRICS], other[METRICS])
    text = quiet_audit(df.assign(y=np.where(df["y"] == 1, "yes", "no")), label="y", positive_label="yes",
                       prediction="d", score="s", protected={"race": "A", "sex": "F"}).to_frame()
    np.testing.assert_allclose(text.set_index(["attribute", "group"]).sort_index()["false_positive_rate"],
                               base["false_positive_rate"])


@pytest.mark.parametrize("engine", ["numpy", "duckdb"])
def test_forced_engines_give_the_same_numbers(engine, tmp_path):
    df = small_frame(seed=13)
    path = tmp_path / "d.parquet"
    df.to_parquet(path)
    for data in (df, path):
        pd.testing.assert_frame_equal(run(data, engine=engine)[METRICS + EXTRA], run(df)[METRICS + EXTRA], rtol=1e-10)


def test_in_memory_fingerprint_follows_the_data():
    df = small_frame(seed=3)
    kw = dict(label="y", prediction="d", protected={"race": "A"})
    a, b = quiet_audit(df, **kw).source, quiet_audit(df.copy(), **kw).source
    assert a["sha256"] == b["sha256"] and a["sha256_of"] == "audited columns"
    changed = df.copy()
    changed.loc[0, "d"] = 1 - changed.loc[0, "d"]
    assert quiet_audit(changed, **kw).source["sha256"] != a["sha256"]
