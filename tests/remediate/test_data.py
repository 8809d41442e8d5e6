"""Reweighing and disparate impact removal."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from steward.datasets import load_adult, load_german
from steward.errors import DataValidationError
from steward.remediate import DisparateImpactRemover, ReweighingClassifier, reweighing_weights


@pytest.fixture(scope="module")
def adult():
    df = load_adult(dropna=True)
    return df, (df["income"] == ">50K").astype(int).to_numpy()


def test_reweighing_weights_are_the_kamiran_calders_formula(adult):
    df, y = adult
    w = reweighing_weights(df["race"], y)
    n = len(df)
    frame = pd.DataFrame({"g": df["race"].astype(str), "y": y})
    p_g = frame["g"].map(frame["g"].value_counts() / n)
    p_y = frame["y"].map(frame["y"].value_counts() / n)
    p_gy = frame.groupby(["g", "y"])["y"].transform("size") / n
    np.testing.assert_allclose(w, p_g * p_y / p_gy, rtol=1e-12)
    # under the weights every group has the overall positive rate
    for g, part in frame.assign(w=w).groupby("g"):
        assert np.average(part["y"], weights=part["w"]) == pytest.approx(y.mean(), abs=1e-12)
    assert w.sum() == pytest.approx(n)


def test_reweighing_matches_aif360_when_it_is_installed(adult):
    aif = pytest.importorskip("aif360.algorithms.preprocessing")
    from aif360.datasets import BinaryLabelDataset

    df, y = adult
    d = pd.DataFrame({"sex": (df["sex"] == "Male").astype(int), "y": y, "x": df["age"]})
    ds = BinaryLabelDataset(df=d, label_names=["y"], protected_attribute_names=["sex"])
    out = aif.Reweighing([{"sex": 0}], [{"sex": 1}]).fit_transform(ds)
    np.testing.assert_allclose(reweighing_weights(d["sex"], y), out.instance_weights, rtol=1e-9)


def test_reweighing_classifier_fits_with_the_weights(adult):
    from sklearn.linear_model import LogisticRegression

    df, y = adult
    X = df[["age", "hours-per-week", "education-num", "sex"]].head(5000)
    clf = ReweighingClassifier(LogisticRegression(max_iter=1000), sensitive="sex").fit(X, y[:5000])
    assert clf.predict_proba(X).shape == (5000, 2)
    assert list(clf.estimator_.feature_names_in_) == ["age", "hours-per-week", "education-num"]
    np.testing.assert_allclose(clf.weights_, reweighing_weights(X["sex"], y[:5000]))
    with pytest.raises(DataValidationError, match="'race' is not in X"):
        ReweighingClassifier(LogisticRegression(), sensitive="race").fit(X, y[:5000])


def test_weighted_reweighing_on_a_two_by_two_table_by_hand():
    # rows (group, label, sample weight); weighted counts W(g, y): a1 = 3, a0 = 1, b1 = 0.5, b0 = 4.5
    g = ["a", "a", "a", "a", "b", "b", "b", "b"]
    y = [1, 1, 0, 0, 1, 0, 0, 0]
    sw = [1.0, 2.0, 0.25, 0.75, 0.5, 1.5, 2.0, 1.0]
    total, wa, wb, w1, w0 = 9.0, 4.0, 5.0, 3.5, 5.5
    # AIF360's Reweighing: W(g, y) = W(g) W(y) / (W W(g, y))
    hand = {("a", 1): wa * w1 / (total * 3.0), ("a", 0): wa * w0 / (total * 1.0),
            ("b", 1): wb * w1 / (total * 0.5), ("b", 0): wb * w0 / (total * 4.5)}
    expected = [hand[(gi, yi)] for gi, yi in zip(g, y)]
    np.testing.assert_allclose(reweighing_weights(g, y, sample_weight=sw), expected, rtol=1e-14)
    # the unweighted factors come from the row counts (a1 = 2, a0 = 2, b1 = 1, b0 = 3), as before
    plain = {("a", 1): 4 * 3 / (8 * 2), ("a", 0): 4 * 5 / (8 * 2), ("b", 1): 4 * 3 / (8 * 1), ("b", 0): 4 * 5 / (8 * 3)}
    np.testing.assert_allclose(reweighing_weights(g, y), [plain[k] for k in zip(g, y)], rtol=1e-14)


def test_reweighing_with_sample_weights_equalises_the_weighted_positive_rates(adult):
    from sklearn.linear_model import LogisticRegression

    df, y = adult
    rng = np.random.default_rng(7)
    sw = rng.lognormal(0.0, 1.0, len(df)) * np.where(df["race"] == "White", 1.0, 3.0)
    w = reweighing_weights(df["race"], y, sample_weight=sw)
    final = sw * w
    overall = np.average(y, weights=sw)  # the weighted positive rate of all rows
    for g in df["race"].unique():
        m = (df["race"] == g).to_numpy()
        assert np.average(y[m], weights=final[m]) == pytest.approx(overall, abs=1e-12)
        # and each group keeps its weighted share of the data
        assert final[m].sum() == pytest.approx(sw[m].sum(), rel=1e-12)
    # the classifier fits with sample_weight × reweighing factor
    X = df[["age", "hours-per-week", "education-num", "race"]].head(4000)
    clf = ReweighingClassifier(LogisticRegression(max_iter=1000), sensitive="race").fit(X, y[:4000],
                                                                                       sample_weight=sw[:4000])
    np.testing.assert_allclose(clf.weights_, sw[:4000] * reweighing_weights(X["race"], y[:4000], sw[:4000]), rtol=1e-14)
    for g in X["race"].unique():
        m = (X["race"] == g).to_numpy()
        assert np.average(y[:4000][m], weights=clf.weights_[m]) == pytest.approx(np.average(y[:4000], weights=sw[:4000]),
                                                                                abs=1e-12)
    with pytest.raises(DataValidationError, match="sample_weight has 3 values"):
        reweighing_weights(["a", "b"], [0, 1], sample_weight=[1, 2, 3])


def test_full_repair_makes_the_groups_distributions_equal_in_rank():
    g = load_german()
    rng = np.random.default_rng(0)
    small = g[g["foreign_worker"] == "A202"]
    large = g[g["foreign_worker"] == "A201"].iloc[rng.choice(963, len(small), replace=False)]
    both = pd.concat([small, large], ignore_index=True)
    feats = ["credit_amount", "duration_months", "age_years"]
    fixed = DisparateImpactRemover("foreign_worker", 1.0, features=feats, keep_sensitive=True).fit_transform(both)
    for f in feats:
        a = np.sort(fixed.loc[fixed["foreign_worker"] == "A201", f].to_numpy())
        b = np.sort(fixed.loc[fixed["foreign_worker"] == "A202", f].to_numpy())
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-9)  # same sizes: the same values, rank by rank
        for grp in ("A201", "A202"):  # order within each group is kept
            sel = (both["foreign_worker"] == grp).to_numpy()
            before, after = both.loc[sel, f].to_numpy(float), fixed.loc[sel, f].to_numpy()
            order = np.argsort(before, kind="stable")
            assert np.all(np.diff(after[order]) >= 0)


def test_repair_level_zero_changes_nothing_and_a_half_is_halfway():
    g = load_german()
    feats = ["credit_amount", "duration_months"]
    zero = DisparateImpactRemover("personal_status_sex", 0.0, features=feats).fit_transform(g)
    np.testing.assert_array_equal(zero[feats].to_numpy(), g[feats].to_numpy(dtype=float))
    assert "personal_status_sex" not in zero.columns
    full = DisparateImpactRemover("personal_status_sex", 1.0, features=feats).fit_transform(g)
    half = DisparateImpactRemover("personal_status_sex", 0.5, features=feats).fit_transform(g)
    np.testing.assert_allclose(half[feats], (g[feats].to_numpy(float) + full[feats].to_numpy()) / 2)
    with pytest.raises(DataValidationError, match="repair_level"):
        DisparateImpactRemover("personal_status_sex", 1.5).fit(g)


def test_repair_inside_a_pipeline_on_new_rows():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    g = load_german()
    X = g[["credit_amount", "duration_months", "age_years", "personal_status_sex"]]
    y = (g["class"] == 2).astype(int)
    pipe = make_pipeline(DisparateImpactRemover("personal_status_sex", 1.0), LogisticRegression(max_iter=2000))
    pipe.fit(X.iloc[:700], y.iloc[:700])
    assert pipe.predict_proba(X.iloc[700:]).shape == (300, 2)
    odd = X.iloc[700:].assign(personal_status_sex="A95")
    with pytest.raises(DataValidationError, match="not seen by fit"):
        pipe.predict_proba(odd)
