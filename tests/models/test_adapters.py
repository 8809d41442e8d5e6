"""wrap_model: the columns a model reads, its task, and clear errors for models and data it cannot score."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from steward.errors import DataValidationError, RoleError, StewardError
from steward.models import wrap_model
from tests.models._helpers import CAT, NUM, as_categories


@pytest.fixture(scope="module")
def booster(adult_sample):
    import lightgbm as lgb

    df, y = adult_sample
    return lgb.train({"objective": "binary", "verbose": -1, "num_leaves": 15}, lgb.Dataset(df[NUM], y), 20)


def test_the_models_own_column_order_wins(adult_sample, booster):
    # LightGBM reads columns by position: --features in another order must not reorder its inputs.
    df, _ = adult_sample
    expected = booster.predict(df[NUM])
    for given in (None, NUM[::-1], ["sex", *NUM]):
        m = wrap_model(booster, features=given)
        assert m.features == tuple(NUM)
        np.testing.assert_allclose(m.score(df), expected)
    with pytest.raises(RoleError, match="do not match the model's 4 inputs"):
        wrap_model(booster, features=NUM[:2])


def test_other_names_map_to_the_models_inputs_by_position(adult_sample):
    import lightgbm as lgb
    from sklearn.linear_model import LogisticRegression

    df, y = adult_sample
    X = df[NUM].to_numpy(float)
    b = lgb.train({"objective": "binary", "verbose": -1}, lgb.Dataset(X, y), 10)  # inputs Column_0..3
    m = wrap_model(b, features=NUM)
    assert m.features == tuple(NUM)
    np.testing.assert_allclose(m.score(df), b.predict(X))
    with pytest.raises(DataValidationError, match="'Column_0'.*pass features="):
        wrap_model(b).score(df)
    renamed = df[NUM].set_axis(["a", "b", "c", "d"], axis=1)
    lr = LogisticRegression(max_iter=500).fit(renamed, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "X has feature names..." from scikit-learn
        np.testing.assert_allclose(wrap_model(lr, NUM).score(df), lr.predict_proba(renamed)[:, 1])
        fitted_on_array = LogisticRegression(max_iter=500).fit(X, y)
        np.testing.assert_allclose(wrap_model(fitted_on_array, features=NUM).score(df),
                                   fitted_on_array.predict_proba(X)[:, 1])


def test_scikit_learn_tasks_and_refusals(adult_sample):
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.svm import LinearSVC
    from sklearn.tree import DecisionTreeClassifier

    df, y = adult_sample
    lr = LogisticRegression(max_iter=500).fit(df[NUM], y)
    m = wrap_model(lr)
    assert (m.kind, m.task, m.features) == ("scikit-learn", "classification", tuple(NUM))
    np.testing.assert_allclose(m.score(df), lr.predict_proba(df[NUM])[:, 1])
    assert json.loads(json.dumps(m.describe())) == {"kind": "scikit-learn", "task": "classification",
                                                    "class_name": "LogisticRegression", "features": NUM,
                                                    "artifact": None}
    svc = LinearSVC().fit(df[NUM], df["income"])  # no predict_proba, text labels
    np.testing.assert_array_equal(wrap_model(svc).predict(df), (svc.predict(df[NUM]) == ">50K").astype(int))
    reg = wrap_model(LinearRegression().fit(df[NUM], df["hours-per-week"]))
    assert reg.task == "regression"
    with pytest.raises(RoleError, match="no 0/1 decision"):
        reg.predict(df)
    with pytest.raises(RoleError, match="has 5 classes; Steward scores binary"):
        wrap_model(DecisionTreeClassifier(max_depth=2).fit(df[NUM], df["race"]))
    with pytest.raises(RoleError, match="LogisticRegression is not fitted"):
        wrap_model(LogisticRegression())
    with pytest.raises(RoleError, match="cannot score with a builtins.int: give a scikit-learn"):
        wrap_model(42)


def test_scikit_learn_wrappers_of_boosting_libraries(adult_sample):
    import lightgbm as lgb
    import xgboost as xgb

    df, y = adult_sample
    X = as_categories(df, reverse=True)
    lgbm = lgb.LGBMClassifier(n_estimators=20, verbose=-1).fit(X, df["income"])
    m = wrap_model(lgbm)
    assert (m.kind, m.task, m.describe()["class_name"]) == ("lightgbm", "classification", "LGBMClassifier")
    np.testing.assert_allclose(m.score(df), lgbm.predict_proba(X)[:, 1])
    reg = xgb.XGBRegressor(n_estimators=10, enable_categorical=True).fit(X, df["hours-per-week"])
    m = wrap_model(reg)
    assert (m.kind, m.task) == ("xgboost", "regression")
    np.testing.assert_allclose(m.score(df), reg.predict(X), rtol=1e-6)
    with pytest.raises(RoleError, match="multiclass"):
        wrap_model(lgb.LGBMClassifier(n_estimators=2, verbose=-1).fit(df[NUM], df["race"]))
    with pytest.raises(RoleError, match="not fitted"):
        wrap_model(xgb.XGBClassifier())


def test_text_columns_a_model_cannot_map_are_refused(adult_sample):
    import lightgbm as lgb
    import xgboost as xgb

    df, y = adult_sample
    codes = as_categories(df).apply(lambda s: s.cat.codes if s.dtype == "category" else s)
    b = lgb.train({"objective": "binary", "verbose": -1}, lgb.Dataset(codes, y, categorical_feature=CAT), 5)
    with pytest.raises(DataValidationError, match=r"column 'sex' holds text \('\w+' in data row 1\) but the LightGBM "
                                                  r"model reads it as numbers .*also text: 'race', 'workclass'"):
        wrap_model(b).score(df)
    np.testing.assert_allclose(wrap_model(b).score(codes), b.predict(codes))
    d = xgb.DMatrix(codes.to_numpy(float), y, feature_names=NUM + CAT, feature_types=["q"] * 4 + ["c"] * 3,
                    enable_categorical=True)
    xb = xgb.train({"objective": "binary:logistic"}, d, 5)
    with pytest.raises(DataValidationError, match="XGBoost model reads it as numbers .*stores no training categories"):
        wrap_model(xb).score(df)


def test_scoring_errors_are_data_errors(adult_sample):
    from sklearn.linear_model import LogisticRegression

    df, y = adult_sample
    lr = LogisticRegression(max_iter=500).fit(df[NUM].to_numpy(), y)
    with pytest.raises(DataValidationError, match="scikit-learn model could not score the data: could not convert"):
        wrap_model(lr, features=["age", "sex", "race", "workclass"]).score(df)
    with pytest.raises(DataValidationError, match="'age'.*the data has: "):
        wrap_model(LogisticRegression(max_iter=500).fit(df[NUM], y)).score(df.drop(columns=["age"]))
    with pytest.raises(DataValidationError, match="returned 1 scores for 3000 rows"):
        wrap_model(lambda X: np.array([0.5])).score(df)
    with pytest.raises(ZeroDivisionError):  # a function's own bug keeps its own error
        wrap_model(lambda X: 1 / 0).score(df)
    assert issubclass(DataValidationError, StewardError)
