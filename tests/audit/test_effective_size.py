"""With sample weights, the policy's minimum group size is held against Kish's effective size, and
the findings say so."""

import warnings

import numpy as np
import pandas as pd

import steward


def _one_heavy_row() -> pd.DataFrame:
    # group a: 60 rows of weight 1; group b: 60 rows, one of weight 1000 and 59 of weight 0.001
    rng = np.random.default_rng(1)
    w = np.r_[np.ones(60), 1000.0, np.full(59, 0.001)]
    return pd.DataFrame({"g": ["a"] * 60 + ["b"] * 60, "y": rng.integers(0, 2, 120), "d": rng.integers(0, 2, 120),
                         "s": rng.normal(size=120), "w": w})


def _findings(df: pd.DataFrame, **kw) -> dict[str, list]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", steward.StewardWarning)
        r = steward.audit(df, label="y", prediction="d", score="s", protected={"g": "a"}, policy="default",
                          tier="high", **kw)
    out: dict[str, list] = {}
    for f in r.findings:
        if f.group == "b":
            out.setdefault(f.check, []).append(f)
    return out


def test_a_weighted_group_of_effective_size_one_is_not_judged_and_the_finding_says_why():
    df = _one_heavy_row()
    wb = df["w"].to_numpy()[60:]
    hand = wb.sum() ** 2 / (wb ** 2).sum()  # Kish's effective size, about 1.0001
    found = _findings(df, weight="w")
    air = found["adverse_impact_ratio"][0]
    # The only comparison is too small to judge, so the required check has no evidence at all.
    assert air.status == "not_evidenced" and air.needs == "more people in each group"
    assert "effective size" in air.message and f"{hand:,.1f}" in air.message and "60 rows" in air.message
    size = found["group_size"][0]
    assert size.status == "warn" and "effective size" in size.message
    assert size.metric == "n_effective" and abs(size.value - hand) < 1e-9 and size.rows == 60


def test_without_weights_the_same_rows_are_judged_by_their_count():
    found = _findings(_one_heavy_row())
    assert found["adverse_impact_ratio"][0].status != "insufficient_data"
    size = found["group_size"][0]
    assert size.status == "pass" and size.metric == "rows" and size.value == 60
    assert "effective" not in size.message
