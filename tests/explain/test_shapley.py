"""Shapley values against shap's own explainers and hand computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shap

from steward.errors import DataValidationError, RoleError
from steward.explain import shapley_values


def _categories(X):
    return X.astype({c: "category" for c in X.columns if not pd.api.types.is_numeric_dtype(X[c].dtype)})


def test_lightgbm_contributions_equal_shap_and_sum_to_raw_output(german, german_lgbm):
    X, _ = german
    sv = shapley_values(german_lgbm, X)
    ref = np.asarray(shap.TreeExplainer(german_lgbm).shap_values(_categories(X)))
    ref = ref[1] if ref.ndim == 3 and ref.shape[0] == 2 else ref
    assert sv.space == "log_odds" and sv.exact and "pred_contrib" in sv.method
    np.testing.assert_allclose(sv.values, ref, atol=1e-6, rtol=0)
    raw = german_lgbm.predict(_categories(X), raw_score=True)
    np.testing.assert_allclose(sv.base_value + sv.values.sum(axis=1), raw, atol=1e-6, rtol=0)


def test_xgboost_contributions_equal_shap(german):
    xgb = pytest.importorskip("xgboost")
    X, y = german
    model = xgb.XGBClassifier(n_estimators=40, max_depth=4, enable_categorical=True, random_state=0).fit(_categories(X), y)
    sv = shapley_values(model, X)
    ref = shap.TreeExplainer(model).shap_values(_categories(X))
    np.testing.assert_allclose(sv.values, ref, atol=1e-6, rtol=0)
    np.testing.assert_allclose(sv.output, model.predict(_categories(X), output_margin=True), atol=1e-5)


def test_forest_in_parallel_is_identical_to_shap_single_process(german):
    from sklearn.ensemble import RandomForestClassifier

    X, y = german
    num = X.select_dtypes("number")
    rf = RandomForestClassifier(n_estimators=30, max_depth=6, random_state=0).fit(num, y)
    sv = shapley_values(rf, num, n_jobs=2)
    ref = shap.TreeExplainer(rf).shap_values(num)[:, :, 1]
    assert "2 process" in sv.method and sv.space == "probability"
    np.testing.assert_array_equal(sv.values, ref)  # the same C++ code on the same rows: bit-identical
    np.testing.assert_allclose(sv.output, rf.predict_proba(num)[:, 1], atol=1e-9)


def test_gradient_boosting_is_in_log_odds(german):
    from sklearn.ensemble import GradientBoostingClassifier

    X, y = german
    num = X.select_dtypes("number")
    gb = GradientBoostingClassifier(n_estimators=30, max_depth=3, random_state=0).fit(num, y)
    sv = shapley_values(gb, num, n_jobs=1)
    assert sv.space == "log_odds"
    np.testing.assert_allclose(sv.output, gb.decision_function(num), atol=1e-6)


def test_logistic_regression_values_are_coefficient_times_distance_from_background_mean(german):
    from sklearn.linear_model import LogisticRegression

    X, y = german
    num = X.select_dtypes("number")
    num = (num - num.mean()) / num.std()
    lr = LogisticRegression(max_iter=1000).fit(num, y)
    bg = num.sample(200, random_state=1)
    sv = shapley_values(lr, num.head(50), background=bg, background_size=200)
    assert sv.exact and "LinearExplainer" in sv.method
    hand = lr.coef_[0] * (num.head(50) - bg.mean()).to_numpy()
    np.testing.assert_allclose(sv.values, hand, atol=1e-9)
    # the model-agnostic estimator is exact for an additive model: same values in log-odds
    # the model-agnostic path, here by enumerating the 2^7 coalitions: the same values
    est = shapley_values(lr, num.head(50), background=bg, background_size=200, method="sampling", space="log_odds")
    assert est.exact and "128 coalitions" in est.method
    np.testing.assert_allclose(est.values, hand, atol=1e-8)


def test_enumerated_values_equal_shaps_exact_explainer_on_a_nonlinear_model(german):
    X, _ = german
    num = X[["duration_months", "credit_amount", "age_years", "installment_rate"]].astype(float)
    f = lambda a: np.tanh(a[:, 0] / 20) * np.log1p(a[:, 1]) / 8 + (a[:, 2] > 35) * a[:, 3] / 10  # noqa: E731
    from steward.models import wrap_model

    model = wrap_model(lambda d: f(d.to_numpy(dtype=float)), features=list(num.columns))
    bg = num.sample(40, random_state=2)
    ours = shapley_values(model, num.head(25), background=bg, background_size=40)
    ref = shap.explainers.Exact(f, shap.maskers.Independent(bg.to_numpy(), max_samples=40))(num.head(25).to_numpy())
    np.testing.assert_allclose(ours.values, ref.values, atol=1e-12)
    assert ours.base_value == pytest.approx(float(np.asarray(ref.base_values).reshape(-1)[0]))


def test_model_agnostic_estimator_on_a_pipeline_with_text_columns(german):
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    X, y = german
    text = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c].dtype)]
    num = [c for c in X.columns if c not in text]
    pipe = make_pipeline(make_column_transformer((OneHotEncoder(handle_unknown="ignore"), text),
                                                 (StandardScaler(), num)),
                         LogisticRegression(max_iter=2000)).fit(X, y)
    sv = shapley_values(pipe, X.head(10), background=X, background_size=30, max_evals=200)
    assert sv.space == "probability" and "permutation" in sv.method
    np.testing.assert_allclose(sv.output, pipe.predict_proba(X.head(10))[:, 1], atol=1e-9)
    assert sv.additivity_error < 1e-9


def test_probability_space_is_additive_and_keeps_signs(german, german_lgbm):
    X, _ = german
    lo = shapley_values(german_lgbm, X)
    pr = shapley_values(german_lgbm, X, space="probability")
    np.testing.assert_allclose(pr.output, german_lgbm.predict_proba(_categories(X))[:, 1], atol=1e-9)
    assert pr.additivity_error < 1e-9 and "rescaled" in pr.method
    assert np.all(np.sign(pr.values) == np.sign(lo.values))


def test_additive_ebm_values_are_exact(german):
    pytest.importorskip("interpret")
    from steward.explain import train_ebm

    X, y = german
    ebm = train_ebm(X, y, max_rounds=200)
    bg = X.sample(100, random_state=0)
    fast = shapley_values(ebm, X.head(20), background=bg)
    slow = shapley_values(ebm, X.head(20), background=bg, method="sampling", space="log_odds")
    assert fast.exact and "EBM" in fast.method
    np.testing.assert_allclose(fast.values, slow.values, atol=1e-9)


def test_bad_arguments_are_named(german, german_lgbm):
    X, _ = german
    with pytest.raises(DataValidationError, match="space must be"):
        shapley_values(german_lgbm, X, space="odds")
    with pytest.raises(DataValidationError, match="duration_months"):
        shapley_values(german_lgbm, X.drop(columns="duration_months"))
    from sklearn.linear_model import LinearRegression

    reg = LinearRegression().fit(X.select_dtypes("number"), np.arange(len(X)))
    with pytest.raises(RoleError, match="no log_odds space"):
        shapley_values(reg, X.select_dtypes("number"), space="log_odds")
    with pytest.raises(DataValidationError, match="DataFrame"):
        shapley_values(german_lgbm, X.to_numpy())


def test_result_shapes(german, german_lgbm):
    X, _ = german
    sv = shapley_values(german_lgbm, X.head(5))
    frame = sv.to_frame()
    assert list(frame.columns) == ["base_value", *X.columns, "output"] and len(frame) == 5
    d = sv.to_dict()
    assert d["rows"] == 5 and set(d["importance"]) == set(X.columns)
    assert isinstance(sv.importance(), pd.Series) and "<table" in sv._repr_html_()


def test_a_given_background_is_used_whole(german):
    from sklearn.linear_model import LogisticRegression

    X, y = german
    num = X.select_dtypes("number")
    num = (num - num.mean()) / num.std()
    lr = LogisticRegression(max_iter=1000).fit(num, y)
    bg = num.sample(300, random_state=3)
    sv = shapley_values(lr, num.head(40), background=bg)
    # exact interventional values of a linear model, by hand: coefficient × distance from the mean of
    # the whole background (a 100-row sample of it has another mean)
    hand = lr.coef_[0] * (num.head(40) - bg.mean()).to_numpy()
    np.testing.assert_allclose(sv.values, hand, atol=1e-9)
    assert np.abs(hand - lr.coef_[0] * (num.head(40) - bg.sample(100, random_state=0).mean()).to_numpy()).max() > 1e-3
    ref = shap.LinearExplainer(lr, shap.maskers.Independent(bg.to_numpy(), max_samples=300))
    np.testing.assert_allclose(sv.values, ref.shap_values(num.head(40).to_numpy()), atol=1e-9)
    assert sv.meta["background_rows"] == 300 and sv.meta["background_sampled_from"] is None
    assert "300 background rows" in sv.method and "sampled" not in sv.method


def test_a_given_background_is_used_whole_by_the_model_agnostic_path(german):
    X, _ = german
    num = X[["duration_months", "credit_amount", "age_years"]].astype(float)
    f = lambda a: np.tanh(a[:, 0] / 20) * np.log1p(a[:, 1]) / 8 + (a[:, 2] > 35) * 0.3  # noqa: E731
    from steward.models import wrap_model

    model = wrap_model(lambda d: f(d.to_numpy(dtype=float)), features=list(num.columns))
    bg = num.sample(300, random_state=4)
    ours = shapley_values(model, num.head(20), background=bg)
    ref = shap.explainers.Exact(f, shap.maskers.Independent(bg.to_numpy(), max_samples=300))(num.head(20).to_numpy())
    np.testing.assert_allclose(ours.values, ref.values, atol=1e-12)
    assert ours.base_value == pytest.approx(f(bg.to_numpy()).mean(), abs=1e-12)
    assert ours.meta["background_rows"] == 300 and ours.meta["background_source"] == "given"


def test_capping_a_given_background_is_explicit_and_said(german):
    from sklearn.linear_model import LinearRegression

    X, _ = german
    num = X.select_dtypes("number").astype(float)
    reg = LinearRegression().fit(num.drop(columns="credit_amount"), num["credit_amount"])
    feats = num.drop(columns="credit_amount")
    bg = feats.sample(300, random_state=5)
    sv = shapley_values(reg, feats.head(10), background=bg, background_size=50)
    assert sv.meta["background_rows"] == 50 and sv.meta["background_sampled_from"] == 300
    assert "50 rows sampled at random from the 300 given" in sv.method
    assert sv.to_dict()["background_sampled_from"] == 300
    # without a background, a sample of the explained rows (100 by default), also said
    own = shapley_values(reg, feats, space="raw")
    assert own.meta["background_rows"] == 100 and own.meta["background_source"] == "explained rows"
    assert "sampled at random from the 1,000 explained rows" in own.method
    with pytest.raises(DataValidationError, match="background_size"):
        shapley_values(reg, feats.head(10), background=bg, background_size=0)
