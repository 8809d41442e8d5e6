"""Sufficient statistics: one pass, merge by addition, identical across engines."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from steward.data import Roles, open_source, parse_protected
from steward.engine import CellTable, cells_from_duckdb, cells_from_frame
from tests.conftest import small_frame


def roles(**kw) -> Roles:
    base = dict(label="y", prediction="d", score="s", protected=parse_protected(["race=A", "sex"]))
    base.update(kw)
    return Roles(**base)


@st.composite
def frames(draw, min_rows=2):
    n = draw(st.integers(min_value=min_rows, max_value=60))
    ints = st.lists(st.integers(0, 1), min_size=n, max_size=n)
    return pd.DataFrame({
        "race": draw(st.lists(st.sampled_from(["A", "B", "C"]), min_size=n, max_size=n)),
        "sex": draw(st.lists(st.sampled_from(["F", "M"]), min_size=n, max_size=n)),
        "y": draw(ints),
        "d": draw(ints),
        "s": draw(st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=n, max_size=n)),
        "w": draw(st.lists(st.floats(0.0, 10.0), min_size=n, max_size=n)),
    })


def cells(df: pd.DataFrame, r: Roles) -> CellTable:
    return cells_from_frame(open_source(df), r)[0]


def has_two_groups(df: pd.DataFrame) -> bool:
    return df["race"].nunique() > 1 and df["sex"].nunique() > 1


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(frames(min_rows=4), st.data())
def test_merge_of_parts_equals_whole(df, data):
    cut = data.draw(st.integers(1, len(df) - 1))
    a, b = df.iloc[:cut], df.iloc[cut:]
    if not (has_two_groups(df) and has_two_groups(a) and has_two_groups(b)):
        return
    for r in (roles(), roles(weight="w")):
        whole = cells(df, r)
        merged = cells(a, r).merge(cells(b, r))
        assert merged.equals(whole, rtol=1e-9)
        assert merged.total_rows == len(df)


@settings(max_examples=40, deadline=None)
@given(frames())
def test_numpy_and_duckdb_agree(df):
    if not has_two_groups(df):
        return
    for r in (roles(), roles(weight="w"), roles(prediction=None, threshold=0.0)):
        ours, n1, _ = cells_from_frame(open_source(df), r)
        theirs, n2, _ = cells_from_duckdb(open_source(df), r)
        assert n1 == n2 == len(df)
        assert ours.equals(theirs, rtol=1e-9)


@settings(max_examples=40, deadline=None)
@given(frames(), st.randoms(use_true_random=False))
def test_row_order_does_not_matter(df, rnd):
    if not has_two_groups(df):
        return
    order = list(range(len(df)))
    rnd.shuffle(order)
    assert cells(df, roles(weight="w")).equals(cells(df.iloc[order], roles(weight="w")), rtol=1e-9)


def test_file_engines_agree_on_csv_and_parquet(tmp_path):
    df = small_frame(seed=7, n=2000)
    csv, parquet = tmp_path / "d.csv", tmp_path / "d.parquet"
    df.to_csv(csv, index=False)
    df.to_parquet(parquet)
    r = roles(weight="w")
    mem = cells(df, r)
    for path in (csv, parquet):
        table, rows, digest = cells_from_duckdb(open_source(path), r)
        assert rows == 2000 and len(digest) == 64
        assert table.equals(mem, rtol=1e-9)
    arrow = cells_from_frame(open_source(pa.Table.from_pandas(df)), r)[0]
    assert arrow.equals(mem)


def test_cells_hold_the_confusion_counts():
    df = small_frame(seed=1, n=500)
    g = cells(df, roles()).groups(["race"]).set_index("group")
    for race, part in df.groupby("race"):
        y, d = part["y"], part["d"]
        assert g.loc[race, "tp"] == ((y == 1) & (d == 1)).sum()
        assert g.loc[race, "fp"] == ((y == 0) & (d == 1)).sum()
        assert g.loc[race, "tn"] == ((y == 0) & (d == 0)).sum()
        assert g.loc[race, "fn"] == ((y == 1) & (d == 0)).sum()
        assert g.loc[race, "score_sum"] == pytest.approx(part["s"].sum())
        assert g.loc[race, "score_sq"] == pytest.approx((part["s"] ** 2).sum())


def test_merging_different_audits_is_refused():
    from steward.errors import StewardError

    df = small_frame()
    a = cells(df, roles())
    b = cells(df, roles(score=None, protected=parse_protected(["race"]), prediction="d"))
    with pytest.raises(StewardError, match="cannot merge"):
        a.merge(b)
