"""Group metrics on small hand-computed cases."""

import math

import numpy as np
import pandas as pd
import pytest

from tests.conftest import quiet_audit


def hand_frame() -> pd.DataFrame:
    # Group a (reference): 10 rows, 6 decided 1; group b: 10 rows, 3 decided 1.
    # Labels chosen so that a: TP=4 FP=2 TN=3 FN=1 ; b: TP=2 FP=1 TN=4 FN=3.
    rows = (
        [("a", 1, 1)] * 4 + [("a", 0, 1)] * 2 + [("a", 0, 0)] * 3 + [("a", 1, 0)] * 1
        + [("b", 1, 1)] * 2 + [("b", 0, 1)] * 1 + [("b", 0, 0)] * 4 + [("b", 1, 0)] * 3
    )
    df = pd.DataFrame(rows, columns=["g", "y", "d"])
    df["s"] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] + [2, 2, 3, 3, 4, 4, 5, 5, 6, 6]
    return df


def test_rates_and_ratios_by_hand():
    r = quiet_audit(hand_frame(), label="y", prediction="d", score="s", protected={"g": "a"}, min_group_size=5)
    f = r.to_frame().set_index("group")
    a, b = f.loc["a"], f.loc["b"]
    assert a.is_reference and not b.is_reference
    assert (a.selection_rate, b.selection_rate) == (0.6, 0.3)
    assert (a.true_positive_rate, b.true_positive_rate) == (0.8, 0.4)
    assert (a.false_positive_rate, b.false_positive_rate) == (0.4, 0.2)
    assert (a.false_negative_rate, b.false_negative_rate) == pytest.approx((0.2, 0.6))
    assert b.precision == pytest.approx(2 / 3) and b.negative_predictive_value == pytest.approx(4 / 7)
    assert b.accuracy == 0.6 and b.base_rate == 0.5
    assert b.adverse_impact_ratio == pytest.approx(0.5)  # 0.3 / 0.6
    assert b.below_four_fifths and not a.below_four_fifths
    assert b.marginal_effect == pytest.approx(-0.3)
    assert b.fpr_ratio == pytest.approx(0.5) and b.fnr_ratio == pytest.approx(3.0)
    assert b.fnr_difference == pytest.approx(0.4)
    assert b.share == 0.5


def test_favourable_zero_flips_the_adverse_impact_ratio():
    r = quiet_audit(hand_frame(), label="y", prediction="d", protected={"g": "a"}, favourable=0, min_group_size=5)
    b = r.to_frame().set_index("group").loc["b"]
    assert b.favourable_rate == pytest.approx(0.7)
    assert b.adverse_impact_ratio == pytest.approx(0.7 / 0.4)
    assert b.marginal_effect == pytest.approx(0.3)


def test_smd_by_hand():
    df = hand_frame()
    r = quiet_audit(df, label="y", prediction="d", score="s", protected={"g": "a"}, min_group_size=5)
    b = r.to_frame().set_index("group").loc["b"]
    sd_all = df["s"].std(ddof=1)
    assert b.smd == pytest.approx((4.0 - 5.5) / sd_all, rel=1e-12)
    assert b.mean_score == 4.0
    # Welch interval of the mean difference, divided by the same SD.
    from scipy import stats

    t = stats.ttest_ind(df.s[df.g == "b"], df.s[df.g == "a"], equal_var=False)
    ci = t.confidence_interval(0.95)
    assert b.smd_p_value == pytest.approx(t.pvalue, rel=1e-10)
    assert (b.smd_ci_low, b.smd_ci_high) == pytest.approx((ci.low / sd_all, ci.high / sd_all), rel=1e-10)


def test_air_interval_and_p_value_are_the_katz_interval_and_fisher_test():
    from scipy import stats
    from statsmodels.stats.proportion import confint_proportions_2indep

    r = quiet_audit(hand_frame(), label="y", prediction="d", protected={"g": "a"}, min_group_size=5)
    b = r.to_frame().set_index("group").loc["b"]
    assert b.favourable_rate_test == "fisher"
    assert b.favourable_rate_p_value == pytest.approx(stats.fisher_exact([[3, 7], [6, 4]]).pvalue)
    lo, hi = confint_proportions_2indep(3, 10, 6, 10, method="log", compare="ratio")
    assert (b.adverse_impact_ratio_ci_low, b.adverse_impact_ratio_ci_high) == pytest.approx((lo, hi))


def test_undefined_values_are_reported_with_a_reason():
    df = pd.DataFrame({"g": ["a"] * 4 + ["b"] * 4, "y": [1, 0, 1, 0, 1, 1, 1, 1], "d": [1, 0, 0, 1, 1, 0, 1, 1]})
    r = quiet_audit(df, label="y", prediction="d", protected={"g": "a"}, min_group_size=1)
    b = r.to_frame().set_index("group").loc["b"]
    assert math.isnan(b.false_positive_rate)
    assert b.undefined["false_positive_rate"] == "no rows with label 0 in the group"
    assert "fpr_ratio" in b.undefined
    row = next(g for g in r.to_dict()["groups"] if g["group"] == "b")
    assert row["false_positive_rate"] is None and row["undefined"]["false_positive_rate"]
    assert row["smd"] is None and row["undefined"]["smd"] == "no score column was given"


def test_reference_with_no_favourable_outcomes_makes_air_undefined():
    df = pd.DataFrame({"g": ["a"] * 5 + ["b"] * 5, "y": [0, 1] * 5, "d": [0] * 5 + [1, 0, 1, 0, 1]})
    r = quiet_audit(df, label="y", prediction="d", protected={"g": "a"}, min_group_size=1)
    b = r.to_frame().set_index("group").loc["b"]
    assert math.isnan(b.adverse_impact_ratio)
    assert "no favourable decisions" in b.undefined["adverse_impact_ratio"]


def test_small_groups_are_flagged_and_warned():
    import steward

    df = hand_frame()
    with pytest.warns(steward.SmallGroupWarning, match="too small to judge"):
        r = steward.audit(df, label="y", prediction="d", protected={"g": "a"}, min_group_size=30)
    assert r.to_frame()["too_small_to_judge"].all()
    assert any("too small" in n for n in r.notes)


def test_default_reference_is_the_largest_group_and_is_said():
    import steward

    df = pd.concat([hand_frame(), hand_frame().assign(g="b")])
    with pytest.warns(steward.DefaultReferenceWarning, match="largest group"):
        r = steward.audit(df, label="y", prediction="d", protected=["g"], min_group_size=1)
    assert r.references == [{"attribute": "g", "group": "b", "chosen": "largest group"}]
    assert r.to_dict()["references"][0]["chosen"] == "largest group"


def test_weights_equal_to_repetition_give_the_same_rates():
    df = hand_frame()
    reps = np.arange(1, len(df) + 1) % 3 + 1
    weighted = quiet_audit(df.assign(w=reps), label="y", prediction="d", score="s", weight="w", protected={"g": "a"})
    repeated = quiet_audit(df.loc[df.index.repeat(reps)], label="y", prediction="d", score="s", protected={"g": "a"})
    cols = ["selection_rate", "false_positive_rate", "false_negative_rate", "precision", "adverse_impact_ratio",
            "mean_score"]
    pd.testing.assert_frame_equal(weighted.to_frame()[cols], repeated.to_frame()[cols], rtol=1e-12)
    # Spread is not the same: weights are reliability weights (their scale does not matter), so the SD
    # divides the weighted sum of squares by N - Σw²/N rather than by N - 1 as repetition would.
    # (The mean difference is the same, so the SMDs differ by exactly that ratio of SDs.)
    big_n, big_n_sq = reps.sum(), (reps ** 2).sum()
    factor = np.sqrt((big_n - big_n_sq / big_n) / (big_n - 1))
    np.testing.assert_allclose(weighted.to_frame()["smd"], repeated.to_frame()["smd"] * factor, rtol=1e-12)
