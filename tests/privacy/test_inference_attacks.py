"""Membership and attribute inference: an overfit model leaks, a regularised one sits at the baseline; the
rule-based attack equals ART's on the same inputs; a model that reads the attribute reveals it, one that
does not, does not. Figures are recomputed independently (scikit-learn's AUC, plain counts)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from steward.datasets import load_adult
from steward.errors import DataValidationError, RoleError
from steward.models import wrap_model
from steward.privacy._attack import Encoded, auc_interval, best_threshold
from steward.privacy._attribute import attribute_inference
from steward.privacy._membership import membership_inference, rule_based_guesses

FEATURES = ["age", "education-num", "hours-per-week", "capital-gain", "capital-loss", "fnlwgt"]


@pytest.fixture(scope="module")
def adult():
    df = load_adult().sample(6000, random_state=1).reset_index(drop=True)
    df["y"] = df["income"].astype(str).str.contains(">50K").astype(int)
    return df.iloc[:3000].reset_index(drop=True), df.iloc[3000:].reset_index(drop=True)


@pytest.fixture(scope="module")
def overfit(adult):
    train, _ = adult
    m = RandomForestClassifier(n_estimators=60, min_samples_leaf=1, max_features=None, random_state=0, n_jobs=1)
    return wrap_model(m.fit(train[FEATURES], train["y"]), features=FEATURES)


@pytest.fixture(scope="module")
def regular(adult):
    train, _ = adult
    m = LogisticRegression(max_iter=2000, C=0.1)
    return wrap_model(m.fit(train[FEATURES], train["y"]), features=FEATURES)


def test_overfit_model_leaks_membership(adult, overfit):
    train, test = adult
    rep = membership_inference(overfit, train, test, label="y", protected=["sex"])
    a = rep.attacks.set_index("attack")
    assert list(rep.attacks["attack"]) == ["baseline", "loss_threshold", "loss_ratio", "rule_based", "black_box"]
    assert a.loc["baseline", "advantage"] == 0 and a.loc["baseline", "auc"] == 0.5
    assert rep.train_accuracy > 0.99 and rep.test_accuracy < 0.85  # the forest memorised its rows
    assert a.loc["loss_threshold", "advantage"] > 0.2 and a.loc["loss_threshold", "auc_low"] > 0.6
    assert a.loc["black_box", "auc"] > 0.6
    # the per-class loss ratio is at least as strong as ART's trained attack on the same rows
    assert a.loc["loss_ratio", "auc"] >= a.loc["black_box", "auc"] - 0.01
    # the rule-based attack's advantage is the generalisation gap on the judged rows (Yeom et al.)
    assert a.loc["rule_based", "tpr"] > 0.99
    # per group: each group's AUC recomputed with scikit-learn on that group's judged rows is in the table
    g = rep.groups
    assert set(g["group"]) == {"Female", "Male"} and g["judged"].all()
    json.dumps(rep.to_dict())  # JSON-safe
    assert "Membership advantage" in rep.html()


def test_loss_attack_auc_equals_sklearn(adult, overfit):
    """The loss-threshold AUC is the AUC of log p(true class) between judged members and non-members: redo the
    split with the same seed and compare with roc_auc_score."""
    train, test = adult
    rep = membership_inference(overfit, train, test, label="y", attacks=("loss_threshold",), seed=3)
    n = 3000
    rng = np.random.default_rng(3)
    # same draws as membership_inference: both sides have exactly n rows (no sampling), then the two fit masks
    fit_m = np.zeros(n, dtype=bool)
    fit_m[rng.choice(n, n // 2, replace=False)] = True
    fit_n = np.zeros(n, dtype=bool)
    fit_n[rng.choice(n, n // 2, replace=False)] = True
    pm = overfit.score(train)
    pn = overfit.score(test)
    lm = np.log(np.clip(np.where(train["y"] == 1, pm, 1 - pm), 1e-12, 1))
    ln = np.log(np.clip(np.where(test["y"] == 1, pn, 1 - pn), 1e-12, 1))
    s = np.concatenate([lm[~fit_m], ln[~fit_n]])
    truth = np.concatenate([np.ones((~fit_m).sum()), np.zeros((~fit_n).sum())])
    row = rep.attacks.set_index("attack").loc["loss_threshold"]
    assert row["auc"] == pytest.approx(roc_auc_score(truth, s), abs=1e-12)
    t = best_threshold(lm[fit_m], ln[fit_n])
    assert row["tpr"] == pytest.approx(float((lm[~fit_m] >= t).mean()))
    assert row["fpr"] == pytest.approx(float((ln[~fit_n] >= t).mean()))


def test_loss_ratio_by_hand():
    """Class 0: the attacker's members lost -0.1 and -0.2, its non-members -1 and -2; the one inner edge of two
    bins is their median, -0.6. Members per bin [0, 2] + 1, others [2, 0] + 1: shares 1/4 and 3/4. Class 1 has
    no attacker rows: every class-1 row keeps 1/2."""
    from steward.privacy._membership import _loss_ratio

    l_m = np.array([-0.1, -0.2, -0.3, -5.0, -0.1])
    y_m = np.array([0, 0, 0, 0, 1])
    l_n = np.array([-1.0, -2.0, -0.05, -3.0])
    y_n = np.array([0, 0, 0, 1])
    fit_m = np.array([True, True, False, False, False])
    fit_n = np.array([True, True, False, False])
    s_m, s_n = _loss_ratio(l_m, y_m, l_n, y_n, fit_m, fit_n, bins=2)
    assert s_m.tolist() == [0.75, 0.75, 0.75, 0.25, 0.5]
    assert s_n.tolist() == [0.25, 0.25, 0.75, 0.5]


def test_regularised_model_sits_at_the_baseline(adult, regular):
    train, test = adult
    rep = membership_inference(regular, train, test, label="y", protected=["sex"])
    for r in rep.attacks.itertuples():
        assert abs(r.advantage) < 0.06, r
        assert r.advantage_low <= 0.0 + 0.02  # no attack is clearly better than ignoring the model
    assert abs(rep.train_accuracy - rep.test_accuracy) < 0.03


def test_rule_based_attack_equals_art(adult, overfit):
    from art.attacks.inference.membership_inference import MembershipInferenceBlackBoxRuleBased
    from art.estimators.classification import BlackBoxClassifier

    train, _ = adult
    rows = train.iloc[:500]
    enc = Encoded(rows, FEATURES)
    x = enc.matrix(rows)
    est = BlackBoxClassifier(lambda m: np.column_stack([1 - overfit.score(enc.frame(m)), overfit.score(enc.frame(m))]),
                             input_shape=(len(FEATURES),), nb_classes=2)
    theirs = MembershipInferenceBlackBoxRuleBased(est).infer(x, np.eye(2)[rows["y"].to_numpy()])
    p = overfit.score(rows)
    ours = rule_based_guesses(np.column_stack([1 - p, p]), rows["y"].to_numpy())
    assert np.array_equal(np.asarray(theirs).astype(int), ours)


def test_encoded_round_trip(adult):
    train, _ = adult
    cols = ["age", "sex", "race", "hours-per-week"]
    enc = Encoded(train, cols)
    back = enc.frame(enc.matrix(train))
    pd.testing.assert_frame_equal(back.astype(str), train[cols].reset_index(drop=True).astype(str))


def test_auc_interval_hanley_mcneil_by_hand():
    # A = 0.8, n1 = 50, n0 = 40: Q1 = 0.8/1.2, Q2 = 2*0.64/1.8
    q1, q2 = 0.8 / 1.2, 1.28 / 1.8
    se = np.sqrt((0.8 * 0.2 + 49 * (q1 - 0.64) + 39 * (q2 - 0.64)) / 2000)
    lo, hi = auc_interval(0.8, 50, 40)
    assert lo == pytest.approx(0.8 - 1.959964 * se, abs=1e-6) and hi == pytest.approx(0.8 + 1.959964 * se, abs=1e-6)


def test_membership_errors(adult, regular):
    train, test = adult
    with pytest.raises(RoleError, match="label column 'nope'"):
        membership_inference(regular, train, test, label="nope")
    with pytest.raises(DataValidationError, match="unknown 'guess'"):
        membership_inference(regular, train, test, label="y", attacks=("guess",))
    with pytest.raises(DataValidationError, match="at least 20 rows"):
        membership_inference(regular, train.iloc[:10], test, label="y")
    with pytest.raises(RoleError, match="protected column"):
        membership_inference(regular, train, test, label="y", protected=["religion"])


def _planted(n: int = 4000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sex = rng.choice(["F", "M"], n)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    y = ((x1 + 2.0 * (sex == "M") + rng.normal(size=n)) > 1).astype(int)
    return pd.DataFrame({"sex": sex, "x1": x1, "x2": x2, "y": y})


def test_attribute_inference_finds_a_planted_attribute():
    from sklearn.compose import make_column_transformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    df = _planted()
    feats = ["x1", "x2", "sex"]
    m = make_pipeline(make_column_transformer((OneHotEncoder(), ["sex"]), remainder="passthrough"),
                      HistGradientBoostingClassifier(random_state=0)).fit(df[feats], df["y"])
    rep = attribute_inference(wrap_model(m, features=feats), df, attributes=["sex"])
    r = rep.table.iloc[0]
    assert r["attack"] > 0.7 and r["baseline"] < 0.6 and r["advantage_low"] > 0.15
    assert set(rep.groups["group"]) == {"F", "M"}
    # the per-group recalls average (weighted by rows) to the accuracies
    g = rep.groups
    assert (g["attack_recall"] * g["rows"]).sum() / g["rows"].sum() == pytest.approx(r["attack"])
    assert "AttributeInferenceBlackBox" in rep.html()


def test_attribute_inference_without_a_proxy_sits_at_the_baseline():
    df = _planted(seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = HistGradientBoostingClassifier(random_state=0).fit(df[["x1", "x2"]], df["y"])
    rep = attribute_inference(wrap_model(m, features=["x1", "x2"]), df, attributes=["sex"])
    r = rep.table.iloc[0]
    assert abs(r["advantage"]) < 0.05 and r["attack"] < 0.6
    json.dumps(rep.to_dict())


def test_attribute_inference_errors():
    df = _planted(200)
    m = wrap_model(LogisticRegression().fit(df[["x1", "x2"]], df["y"]), features=["x1", "x2"])
    with pytest.raises(RoleError, match="'religion'"):
        attribute_inference(m, df, attributes=["religion"])
    with pytest.raises(DataValidationError, match="bin it"):
        attribute_inference(m, df.assign(age=np.arange(len(df))), attributes=["age"])


def test_training_rows_given_as_unseen_are_refused(adult, overfit):
    train, test = adult
    with pytest.raises(DataValidationError, match="also among the training rows"):
        membership_inference(overfit, train, train.copy(), label="y")
    mixed = pd.concat([test.iloc[:1000], train.iloc[:500]], ignore_index=True)
    rep = membership_inference(overfit, train, mixed, label="y", attacks=("loss_threshold",))
    assert rep.notes == ["500 unseen row(s) were also among the training rows and were left out"]
    assert rep.rows == 500 and rep.non_members == 1000  # 1,000 truly unseen rows, judged on half of them


def test_paired_difference_interval_by_hand():
    """a right on rows 0,1,4; b on 0,3: difference 3/5 - 2/5 = 0.2; discordant: a only on 1 and 4 (0.4), b only on
    3 (0.2); variance (0.4 + 0.2 - 0.2^2) / 5 = 0.112 (McNemar's reading of paired proportions)."""
    from steward.privacy._attribute import _paired_difference

    d, lo, hi = _paired_difference(np.array([1, 1, 0, 0, 1]), np.array([1, 0, 0, 1, 0]), 0.95)
    half = 1.959963984540054 * np.sqrt(0.112)
    assert d == pytest.approx(0.2) and lo == pytest.approx(0.2 - half) and hi == pytest.approx(0.2 + half)
