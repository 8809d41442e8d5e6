"""Global views against scikit-learn's inspection module and hand computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from steward.errors import DataValidationError
from steward.explain import accumulated_local_effects, effects, partial_dependence, permutation_importance
from steward.models import wrap_model


@pytest.fixture(scope="module")
def numeric_gbm(german):
    from sklearn.ensemble import GradientBoostingClassifier

    X, y = german
    num = X.select_dtypes("number").astype(float)  # scikit-learn's partial dependence refuses integer columns
    return num, y, GradientBoostingClassifier(n_estimators=40, max_depth=3, random_state=0).fit(num, y)


def test_partial_dependence_and_ice_equal_scikit_learn(numeric_gbm):
    from sklearn.inspection import partial_dependence as sk_pd

    num, _, gb = numeric_gbm
    ours = partial_dependence(gb, num, "duration_months", grid_points=15)
    grid = ours.curves["value"].to_numpy(dtype=float)
    ref = sk_pd(gb, num, ["duration_months"], custom_values={"duration_months": grid}, method="brute",
                kind="both", response_method="predict_proba")
    np.testing.assert_allclose(ours.curves["effect"], ref["average"][0], atol=1e-12)
    np.testing.assert_allclose(ours.ice, ref["individual"][0], atol=1e-12)


def test_ale_by_hand():
    X = pd.DataFrame({"x1": [0.0, 1.0, 2.0, 3.0, 4.0], "x2": [1.0, 0.0, 1.0, 0.0, 1.0]})
    model = wrap_model(lambda d: d["x1"].to_numpy() ** 2 + d["x2"].to_numpy(), features=["x1", "x2"])
    ale = accumulated_local_effects(model, X, "x1", bins=2)
    # edges 0, 2, 4; rows 0,1,2 in the first interval (f(2)-f(0)=4), rows 3,4 in the second (f(4)-f(2)=12);
    # uncentred 0, 4, 16; centre = (3 * 2 + 2 * 10) / 5 = 5.2
    np.testing.assert_allclose(ale.curves["value"], [0, 2, 4])
    np.testing.assert_allclose(ale.curves["effect"], [-5.2, -1.2, 10.8])


def test_ale_of_a_linear_model_is_its_coefficient(numeric_gbm):
    from sklearn.linear_model import LinearRegression

    num, y, _ = numeric_gbm
    lr = LinearRegression().fit(num, y)
    ale = accumulated_local_effects(lr, num, "credit_amount", bins=10)
    v, e = ale.curves["value"].to_numpy(), ale.curves["effect"].to_numpy()
    np.testing.assert_allclose(np.diff(e) / np.diff(v), lr.coef_[list(num.columns).index("credit_amount")], rtol=1e-9)


def test_curves_per_protected_group(german, german_lgbm):
    X, _ = german
    pdp = partial_dependence(german_lgbm, X, "duration_months", by="foreign_worker", grid_points=10)
    groups = pdp.curves.groupby("group")["rows"].first()
    assert groups["all"] == 1000 and groups["A201"] == 963 and groups["A202"] == 37
    ale = accumulated_local_effects(german_lgbm, X, "credit_amount", by="foreign_worker")
    assert set(ale.curves["group"]) == {"all", "A201", "A202"}
    cat = partial_dependence(german_lgbm, X, "purpose")
    assert not cat.numeric and set(cat.curves["value"]) <= set(X["purpose"])
    for curve in (pdp, ale, cat):
        assert curve.chart().startswith("<svg") and curve.to_dict()["feature"] == curve.feature
    assert [c.kind for c in effects(german_lgbm, X, ["duration_months", "purpose"])] == \
        ["partial_dependence", "ale", "partial_dependence"]


def test_permutation_importance_equals_scikit_learn_and_is_zero_for_an_unused_feature(numeric_gbm):
    from sklearn.inspection import permutation_importance as sk_pi

    num, y, gb = numeric_gbm
    ours = permutation_importance(gb, num, y, metric="auc", n_repeats=4, random_state=3)
    ref = sk_pi(gb, num, y, scoring="roc_auc", n_repeats=4, random_state=3)
    want = pd.Series(ref.importances_mean, index=num.columns)
    got = ours.table.set_index("feature")["importance"]
    np.testing.assert_allclose(got[want.index], want, atol=1e-12)
    ignore_x2 = wrap_model(lambda d: 1 / (1 + np.exp(-d["duration_months"].to_numpy() / 10 + 2)),
                           features=["duration_months", "age_years"])
    imp = permutation_importance(ignore_x2, num, y).table.set_index("feature")["importance"]
    assert imp["age_years"] == 0 and imp["duration_months"] > 0


def test_bad_features_are_named(german, german_lgbm):
    X, y = german
    with pytest.raises(DataValidationError, match="not numeric"):
        accumulated_local_effects(german_lgbm, X, "purpose")
    with pytest.raises(DataValidationError, match="'income' is not a model input"):
        partial_dependence(german_lgbm, X, "income")
    with pytest.raises(DataValidationError, match="group column 'race'"):
        partial_dependence(german_lgbm, X, "duration_months", by="race")
    with pytest.raises(DataValidationError, match="metric must be"):
        permutation_importance(german_lgbm, X, y, metric="f1")
