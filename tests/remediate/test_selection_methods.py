"""Model selection, reductions, group thresholds, the reject option and the before/after evidence."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import steward
from steward.datasets import load_adult
from steward.errors import DataValidationError, RoleError
from steward.remediate import (
    default_candidates,
    group_fairness,
    group_thresholds,
    reduction,
    reject_option,
    select_model,
)
from steward.audit import remediate

pytest.importorskip("lightgbm")
pytest.importorskip("fairlearn")
FEATURES = ["age", "workclass", "education-num", "marital-status", "occupation", "relationship", "capital-gain",
            "capital-loss", "hours-per-week"]


@pytest.fixture(scope="module")
def adult():
    tr = load_adult("train", dropna=True).sample(5000, random_state=0).reset_index(drop=True)
    te = load_adult("test", dropna=True).sample(3000, random_state=0).reset_index(drop=True)
    return tr, te


@pytest.fixture(scope="module")
def selection(adult):
    tr, _ = adult
    return select_model(tr, label="income", positive_label=">50K", features=FEATURES, protected="sex",
                        reference="Male", candidates=default_candidates(12), folds=3, tolerance=0.01, n_jobs=2)


def test_selection_finds_a_less_discriminatory_candidate_within_tolerance(selection, tmp_path):
    t = selection.table
    best, chosen = t.loc[selection.most_accurate], t.loc[selection.chosen]
    assert chosen["auc"] >= best["auc"] - 0.01
    assert chosen["air_min"] > best["air_min"]
    assert t.loc[selection.chosen, "pareto"] and t["pareto"].sum() >= 1
    svg = selection.chart()
    (tmp_path / "selection.svg").write_text(svg)
    assert svg.startswith("<svg") and (tmp_path / "selection.svg").stat().st_size > 5000


def test_group_fairness_agrees_with_the_audit(adult):
    tr, _ = adult
    rng = np.random.default_rng(1)
    d = (rng.random(len(tr)) < np.where(tr["sex"] == "Male", 0.4, 0.25)).astype(int)
    y = (tr["income"] == ">50K").astype(int).to_numpy()
    ours = group_fairness(tr["sex"].astype(str).to_numpy(), y, d, "Male")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        audit = steward.audit(tr.assign(d=d, y=y), label="y", prediction="d", protected={"sex": "Male"},
                              intersections=False).to_frame().set_index("group")
    assert ours["air_min"] == pytest.approx(audit.loc["Female", "adverse_impact_ratio"], rel=1e-12)
    assert ours["fpr_ratio_max"] == pytest.approx(max(audit.loc["Female", "fpr_ratio"],
                                                      1 / audit.loc["Female", "fpr_ratio"]), rel=1e-12)


def test_protected_attributes_are_not_features_unless_asked(adult):
    tr, _ = adult
    with pytest.raises(RoleError, match="allow_protected"):
        select_model(tr, label="income", positive_label=">50K", features=[*FEATURES, "sex"], protected="sex")


def test_reductions_raise_the_adverse_impact_ratio_on_training_data(adult):
    tr, _ = adult
    r = reduction(tr, label="income", positive_label=">50K", features=FEATURES, protected="sex",
                  constraint="demographic_parity", ratio_bound=0.8)
    assert not r.uses_protected_at_decision and "exponentiated_gradient" in r.method
    y = (tr["income"] == ">50K").astype(int).to_numpy()
    d = (r.model.score(tr) >= 0.5).astype(int)
    assert group_fairness(tr["sex"].astype(str).to_numpy(), y, d, "Male")["air_min"] > 0.6


def test_group_thresholds_equalise_selection_and_need_the_attribute(adult):
    import lightgbm as lgb

    from steward.models import wrap_model

    tr, _ = adult
    X = tr[FEATURES].astype({c: "category" for c in FEATURES if not pd.api.types.is_numeric_dtype(tr[c])})
    base = wrap_model(lgb.LGBMClassifier(n_estimators=60, verbose=-1).fit(X, (tr["income"] == ">50K").astype(int)))
    r = group_thresholds(base, tr, label="income", positive_label=">50K", protected="sex")
    assert r.uses_protected_at_decision
    p = r.model.score(tr)
    rates = pd.Series(p).groupby(tr["sex"].to_numpy()).mean()
    assert abs(rates["Male"] - rates["Female"]) < 0.02  # expected selection rates equal by construction
    with pytest.raises(DataValidationError, match="needs column.*.sex."):
        r.model.score(tr.drop(columns="sex"))


def test_reject_option_counts():
    s = np.array([0.1, 0.46, 0.5, 0.54, 0.56, 0.9])
    r = reject_option(s, threshold=0.5, band=0.05, groups=["a", "a", "b", "b", "b", "a"])
    assert r.to_review == 3 and list(r.decision) == [0, -1, -1, -1, 1, 1]
    assert r.by_group.set_index("group").loc["b", "to_review"] == 2


def test_before_after_evidence(adult):
    tr, te = adult
    rep = remediate("reweighing", tr, te, label="income", positive_label=">50K", features=FEATURES,
                    protected={"sex": "Male"})
    g = rep.groups.set_index("group")
    assert g.loc["Female", "adverse_impact_ratio_after"] > g.loc["Female", "adverse_impact_ratio_before"]
    assert g.loc["Female", "outcome"] == "gained"
    assert set(rep.quality["model"]) == {"before", "after"} and rep.verdict["before"] is False
    assert "does not use the protected attribute" in rep.html() and rep.chart().startswith("<svg")
    rej = remediate("reject_option", tr, te, label="income", positive_label=">50K", features=FEATURES,
                    protected={"sex": "Male"}, band=0.1)
    assert rej.review["to_review"] > 0
    assert rej.quality.set_index("model").loc["after", "rows"] == len(te) - rej.review["to_review"]


def test_policy_limits_become_fairlearn_constraints(tmp_path):
    from steward.audit import constraint_from_policy

    assert constraint_from_policy("default", "high") == ("demographic_parity", 0.8)
    with pytest.raises(DataValidationError, match="tier 'extreme'"):
        constraint_from_policy("default", "extreme")
