"""Agreement with fairlearn on real data, and with ProPublica's published figures."""

import numpy as np
import pytest
from fairlearn.metrics import (
    MetricFrame,
    false_negative_rate,
    false_positive_rate,
    selection_rate,
    true_negative_rate,
    true_positive_rate,
)
from sklearn.metrics import accuracy_score, precision_score

from tests.conftest import quiet_audit

FAIRLEARN = {
    "selection_rate": selection_rate,
    "true_positive_rate": true_positive_rate,
    "false_positive_rate": false_positive_rate,
    "true_negative_rate": true_negative_rate,
    "false_negative_rate": false_negative_rate,
    "accuracy": accuracy_score,
    "precision": lambda y, p: precision_score(y, p, zero_division=np.nan),
}


def _check(result, y, d, sensitive: dict, attribute: str):
    mf = MetricFrame(metrics=FAIRLEARN, y_true=y, y_pred=d, sensitive_features=sensitive)
    ours = result.to_frame()
    ours = ours[ours["attribute"] == attribute].set_index("group")
    theirs = mf.by_group
    if len(sensitive) > 1:
        theirs.index = ["*".join(map(str, k)) for k in theirs.index]
    assert set(theirs.index) == set(ours.index)
    for metric in FAIRLEARN:
        for group in theirs.index:
            a, b = ours.loc[group, metric], theirs.loc[group, metric]
            if np.isnan(b):
                assert np.isnan(a), (metric, group)
            else:
                assert a == pytest.approx(b, abs=1e-12, rel=0), (metric, group)


def test_compas_matches_fairlearn(compas):
    r = quiet_audit(compas, label="two_year_recid", score="decile_score", threshold=5, favourable=0,
                    protected={"race": "Caucasian", "sex": "Male"})
    y, d = compas["two_year_recid"], (compas["decile_score"] >= 5).astype(int)
    _check(r, y, d, {"race": compas["race"]}, "race")
    _check(r, y, d, {"sex": compas["sex"]}, "sex")
    _check(r, y, d, {"race": compas["race"], "sex": compas["sex"]}, "race*sex")


def test_adult_matches_fairlearn(adult):
    r = quiet_audit(adult, label="income", positive_label=">50K", prediction="pred", score="score",
                    protected={"race": "White", "sex": "Male"})
    _check(r, adult["y"], adult["pred"], {"race": adult["race"]}, "race")
    _check(r, adult["y"], adult["pred"], {"sex": adult["sex"]}, "sex")
    _check(r, adult["y"], adult["pred"], {"race": adult["race"], "sex": adult["sex"]}, "race*sex")


def test_compas_reproduces_propublica_published_error_rates(compas):
    # ProPublica's "Compas Analysis" notebook, "Directions of the Racial Bias" (the article rounds
    # them to one decimal): labelled higher risk but did not re-offend, White 23.45% /
    # African-American 44.85%; labelled lower risk yet did re-offend, 47.72% / 27.99%.
    r = quiet_audit(compas, label="two_year_recid", score="decile_score", threshold=5, favourable=0,
                    protected={"race": "Caucasian"})
    f = r.to_frame().set_index("group")
    assert f.loc["Caucasian", "false_positive_rate"] == pytest.approx(0.2345, abs=0.00005)
    assert f.loc["African-American", "false_positive_rate"] == pytest.approx(0.4485, abs=0.00005)
    assert f.loc["Caucasian", "false_negative_rate"] == pytest.approx(0.4772, abs=0.00005)
    assert f.loc["African-American", "false_negative_rate"] == pytest.approx(0.2799, abs=0.00005)
    assert f.loc["African-American", "adverse_impact_ratio"] == pytest.approx(0.63, abs=0.005)
