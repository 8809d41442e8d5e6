"""Precomputed TreeSHAP against LightGBM's own pred_contrib."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from steward.errors import RoleError
from steward.explain import shapley_values

lgb = pytest.importorskip("lightgbm")
pytest.importorskip("numba")


@pytest.fixture(scope="module")
def adult_numeric():
    from steward.datasets import load_adult

    df = load_adult(dropna=True).sample(6000, random_state=1).reset_index(drop=True)
    y = (df["income"].astype(str).str.startswith(">50K")).astype(int).to_numpy()
    X = df.select_dtypes("number").astype(float)
    X["code"] = pd.factorize(df["occupation"])[0].astype(float)
    # missing values the model must route by each split's missing type
    rng = np.random.default_rng(0)
    X = X.mask(rng.random(X.shape) < 0.05)
    return X, y


@pytest.mark.parametrize("params", [
    {"max_depth": 3, "num_leaves": 8},
    {"max_depth": 8, "num_leaves": 63},
    {"max_depth": 6, "num_leaves": 31, "zero_as_missing": True},
    {"max_depth": 5, "num_leaves": 20, "use_missing": False},
])
def test_values_equal_pred_contrib(adult_numeric, params):
    X, y = adult_numeric
    model = lgb.LGBMClassifier(n_estimators=40, learning_rate=0.1, random_state=0, verbose=-1, **params).fit(X, y)
    fast = shapley_values(model, X, method="precomputed")
    assert "precomputed" in fast.method and fast.space == "log_odds"
    ref = model.booster_.predict(X, pred_contrib=True)
    np.testing.assert_allclose(fast.values, ref[:, :-1], atol=1e-9, rtol=0)
    assert fast.base_value == pytest.approx(ref[0, -1], abs=1e-9)
    np.testing.assert_allclose(fast.output, model.booster_.predict(X, raw_score=True), atol=1e-9)


def test_regression_and_auto_choice(adult_numeric):
    X, y = adult_numeric
    reg = lgb.LGBMRegressor(n_estimators=30, max_depth=4, num_leaves=15, verbose=-1).fit(X, X["age"].fillna(40) * 2)
    sv = shapley_values(reg, X)  # 6,000 rows: auto takes the precomputed tables
    assert "precomputed" in sv.method and sv.space == "raw"
    np.testing.assert_allclose(sv.values, reg.booster_.predict(X, pred_contrib=True)[:, :-1], atol=1e-9)
    few = shapley_values(reg, X.head(100))
    assert "pred_contrib" in few.method


def test_deep_or_categorical_models_fall_back(adult_numeric, german, german_lgbm):
    X, y = adult_numeric
    deep = lgb.LGBMClassifier(n_estimators=10, num_leaves=200, max_depth=-1, min_child_samples=5,
                              verbose=-1).fit(X, y)
    assert "pred_contrib" in shapley_values(deep, X).method
    with pytest.raises(RoleError, match="at most 8 deep"):
        shapley_values(deep, X, method="precomputed")
    G, _ = german
    big = pd.concat([G] * 3, ignore_index=True)
    assert "pred_contrib" in shapley_values(german_lgbm, big).method  # category splits
