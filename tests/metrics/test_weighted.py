"""Sample weights: the standardized mean difference does not depend on the weights' scale (checked
against statsmodels and a hand formula), and "too small to judge" counts Kish's effective size."""

import numpy as np
import pandas as pd
import pytest

import steward
from tests.conftest import quiet_audit, small_frame


def run(df: pd.DataFrame, **kw) -> pd.DataFrame:
    r = quiet_audit(df, label="y", prediction="d", score="s", weight="w", protected={"race": "A", "sex": "F"}, **kw)
    return r.to_frame().set_index(["attribute", "group"]).sort_index()


@pytest.mark.parametrize("scale", [0.001, 1000.0])
def test_multiplying_every_weight_by_a_constant_changes_nothing_but_n(scale):
    df = small_frame(seed=3)
    base, scaled = run(df), run(df.assign(w=df["w"] * scale))
    assert base["smd"].notna().all() and base.loc[("race", "B"), "smd_p_value"] > 0
    np.testing.assert_allclose(scaled["n"], base["n"] * scale, rtol=1e-12)
    numeric = [c for c in base.columns if c != "n" and pd.api.types.is_float_dtype(base[c])]
    assert {"smd", "smd_ci_low", "smd_ci_high", "smd_p_value", "score_sd", "n_effective"} <= set(numeric)
    pd.testing.assert_frame_equal(scaled[numeric], base[numeric], rtol=1e-9)
    assert (scaled["too_small_to_judge"] == base["too_small_to_judge"]).all()


def test_weights_summing_to_less_than_one_work():
    df = small_frame(seed=4)
    tiny = df.assign(w=df["w"] / df["w"].sum() / 2)  # all weights together: 0.5
    a, b = run(df), run(tiny)
    assert b["smd"].notna().all()
    cols = ["smd", "smd_ci_low", "smd_ci_high", "smd_p_value", "score_sd"]
    pd.testing.assert_frame_equal(b[cols], a[cols], rtol=1e-9)


def _example():
    # two groups of a few weighted rows; labels and decisions play no part in the SMD
    xa, wa = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 2.5]), np.array([0.5, 1.0, 2.0, 1.0, 0.3, 3.0, 0.7])
    xb, wb = np.array([2.0, 2.5, 4.0, 7.0, 1.0, 3.5]), np.array([1.0, 4.0, 0.2, 0.7, 2.0, 1.5])
    df = pd.DataFrame({"g": ["a"] * len(xa) + ["b"] * len(xb), "s": np.r_[xa, xb], "w": np.r_[wa, wb]})
    df["y"] = np.arange(len(df)) % 2
    df["d"] = (np.arange(len(df)) // 2) % 2
    return df, (xa, wa), (xb, wb)


def test_weighted_smd_and_welch_test_by_hand_and_with_statsmodels():
    from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

    df, (xa, wa), (xb, wb) = _example()
    r = quiet_audit(df, label="y", prediction="d", score="s", weight="w", protected={"g": "a"}, min_group_size=1)
    b = r.to_frame().set_index("group").loc["b"]

    def n_eff(w):
        return w.sum() ** 2 / (w ** 2).sum()

    def hand_var(x, w):  # reliability weights: Σw(x − x̄)² / (Σw − Σw²/Σw)
        m = np.average(x, weights=w)
        return (w * (x - m) ** 2).sum() / (w.sum() - (w ** 2).sum() / w.sum())

    x_all, w_all = np.r_[xa, xb], np.r_[wa, wb]
    # statsmodels' ddof=0 variance is the weighted mean square; times n_eff/(n_eff − 1) it is the
    # reliability-weights variance. (Its ddof=1 divides by Σw − 1, the frequency-weights convention,
    # which changes with the weights' scale: that is not what the audit reports.)
    for x, w in ((xa, wa), (xb, wb), (x_all, w_all)):
        ne = n_eff(w)
        assert DescrStatsW(x, weights=w, ddof=0).var * ne / (ne - 1) == pytest.approx(hand_var(x, w), rel=1e-12)
        # equivalently: statsmodels with ddof=1 once the weights are rescaled to sum to n_eff
        assert DescrStatsW(x, weights=w * ne / w.sum(), ddof=1).var == pytest.approx(hand_var(x, w), rel=1e-12)
    assert b.score_sd == pytest.approx(np.sqrt(hand_var(xb, wb)), rel=1e-12)
    assert not b.score_sd == pytest.approx(DescrStatsW(xb, weights=wb, ddof=1).std, rel=1e-3)

    sd_total = np.sqrt(hand_var(x_all, w_all))
    diff = np.average(xb, weights=wb) - np.average(xa, weights=wa)
    assert b.mean_score == pytest.approx(np.average(xb, weights=wb), rel=1e-12)
    assert b.smd == pytest.approx(diff / sd_total, rel=1e-12)

    # Welch's test with n_eff rows per group: statsmodels' CompareMeans on weights summing to n_eff
    d_b = DescrStatsW(xb, weights=wb * n_eff(wb) / wb.sum())
    d_a = DescrStatsW(xa, weights=wa * n_eff(wa) / wa.sum())
    cm = CompareMeans(d_b, d_a)
    _, p, _ = cm.ttest_ind(usevar="unequal")
    lo, hi = cm.tconfint_diff(alpha=0.05, usevar="unequal")
    assert b.smd_p_value == pytest.approx(p, rel=1e-9)
    assert (b.smd_ci_low, b.smd_ci_high) == pytest.approx((lo / sd_total, hi / sd_total), rel=1e-9)


def test_unit_weights_give_exactly_the_unweighted_numbers():
    df = small_frame(seed=6)
    plain = quiet_audit(df, label="y", prediction="d", score="s", protected={"race": "A", "sex": "F"}).to_frame()
    ones = quiet_audit(df.assign(w=1.0), label="y", prediction="d", score="s", weight="w",
                       protected={"race": "A", "sex": "F"}).to_frame()
    numeric = [c for c in plain.columns if pd.api.types.is_float_dtype(plain[c])]
    pd.testing.assert_frame_equal(ones[numeric], plain[numeric], rtol=0, atol=0)
    assert (plain["n_effective"] == plain["rows"]).all()


def _one_heavy_row():
    # group a: 40 rows of weight 1; group b: 40 rows, one of weight 1000 and 39 of weight 0.001
    rng = np.random.default_rng(0)
    w = np.r_[np.ones(40), 1000.0, np.full(39, 0.001)]
    return pd.DataFrame({"g": ["a"] * 40 + ["b"] * 40, "y": rng.integers(0, 2, 80), "d": rng.integers(0, 2, 80),
                         "s": rng.normal(size=80), "w": w}), w[40:]


def test_a_group_of_effective_size_one_is_too_small_to_judge():
    df, wb = _one_heavy_row()
    with pytest.warns(steward.SmallGroupWarning, match="effective size"):
        r = steward.audit(df, label="y", prediction="d", score="s", weight="w", protected={"g": "a"},
                          min_group_size=30)
    f = r.to_frame().set_index("group")
    hand = wb.sum() ** 2 / (wb ** 2).sum()  # Kish: (Σw)² / Σw², about 1.00008
    assert f.loc["b", "n_effective"] == pytest.approx(hand, rel=1e-12) and hand < 1.001
    assert f.loc["a", "n_effective"] == pytest.approx(40.0, rel=1e-12)
    assert f.loc["b", "rows"] == 40 and f.loc["b", "too_small_to_judge"]
    assert any("effective size" in n and "g=b" in n for n in r.notes)
    row = next(g for g in r.to_dict()["groups"] if g["group"] == "b")
    assert row["n_effective"] == pytest.approx(hand) and row["too_small_to_judge"]
    # without the weights the same 40 rows are a group to judge
    plain = quiet_audit(df, label="y", prediction="d", score="s", protected={"g": "a"}, min_group_size=30)
    assert not plain.to_frame()["too_small_to_judge"].any()
