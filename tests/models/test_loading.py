"""Every supported model file loads and scores like the model it was saved from; unsafe files are refused."""

from __future__ import annotations

import hashlib
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest

from steward.datasets import load_adult
from steward.errors import DataValidationError, StewardError, TamperedModelError, UnsafeModelError
from steward.models import load_model, wrap_model

NUM = ["age", "education-num", "hours-per-week", "capital-gain"]
CAT = ["sex", "race", "workclass"]


@pytest.fixture(scope="module")
def adult():
    df = load_adult(dropna=True).sample(3000, random_state=0).reset_index(drop=True)
    return df, (df["income"] == ">50K").astype(int).to_numpy()


def _cats(df):
    X = df[NUM + CAT].copy()
    for c in CAT:
        X[c] = X[c].astype("category")
    return X


def test_skops_pipeline_loads_and_scores_the_same(adult, tmp_path):
    from skops.io import dump
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    df, y = adult
    pipe = make_pipeline(make_column_transformer((OneHotEncoder(handle_unknown="ignore"), CAT), (StandardScaler(), NUM)),
                         LogisticRegression(max_iter=500)).fit(df[NUM + CAT], y)
    path = tmp_path / "model.skops"
    dump(pipe, path)
    m = load_model(path)
    assert m.kind == "scikit-learn" and m.task == "classification" and m.artifact.format == "skops"
    assert m.artifact.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    np.testing.assert_allclose(m.score(df), pipe.predict_proba(df[NUM + CAT])[:, 1], atol=1e-12)
    assert set(m.predict(df, 0.5)) <= {0, 1}


def test_lightgbm_text_maps_text_columns_to_the_training_categories(adult, tmp_path):
    import lightgbm as lgb

    df, y = adult
    X = _cats(df)
    booster = lgb.train({"objective": "binary", "verbose": -1, "num_leaves": 15}, lgb.Dataset(X, y), 30)
    path = tmp_path / "model.txt"
    booster.save_model(str(path))
    m = load_model(path)
    assert m.kind == "lightgbm" and m.task == "classification" and m.features == tuple(NUM + CAT)
    expected = booster.predict(X)
    # plain text columns, rows in another order so categories first appear in another order
    shuffled = df.iloc[::-1].reset_index(drop=True)
    np.testing.assert_allclose(m.score(shuffled), expected[::-1], atol=1e-12)


@pytest.mark.parametrize("suffix", ["json", "ubj"])
def test_xgboost_json_and_ubj(adult, tmp_path, suffix):
    import xgboost as xgb

    df, y = adult
    clf = xgb.XGBClassifier(n_estimators=30, max_depth=3, enable_categorical=True, tree_method="hist").fit(_cats(df), y)
    path = tmp_path / f"model.{suffix}"
    clf.save_model(str(path))
    m = load_model(path)
    assert m.kind == "xgboost" and m.task == "classification" and m.artifact.format == f"xgboost-{suffix}"
    np.testing.assert_allclose(m.score(df), clf.predict_proba(_cats(df))[:, 1], atol=1e-6)


def test_onnx_from_scikit_learn(adult, tmp_path):
    from skl2onnx import to_onnx
    from sklearn.ensemble import GradientBoostingClassifier

    df, y = adult
    X = df[NUM].to_numpy(np.float32)
    clf = GradientBoostingClassifier(n_estimators=30, max_depth=3, random_state=0).fit(X, y)
    path = tmp_path / "model.onnx"
    path.write_bytes(to_onnx(clf, X[:1]).SerializeToString())
    m = load_model(path, features=NUM)
    assert m.kind == "onnx" and m.task == "classification"
    np.testing.assert_allclose(m.score(df), clf.predict_proba(X)[:, 1], atol=1e-5)


def test_a_callable_and_a_fitted_estimator_wrap(adult):
    from sklearn.linear_model import LogisticRegression

    df, y = adult
    m = wrap_model(lambda X: 1 / (1 + np.exp(-(X["age"].to_numpy() - 40) / 10)), features=["age"])
    assert m.kind == "callable" and m.score(df).shape == (len(df),)
    lr = LogisticRegression(max_iter=500).fit(df[NUM], y)
    w = wrap_model(lr)
    assert w.features == tuple(NUM)
    np.testing.assert_allclose(w.score(df), lr.predict_proba(df[NUM])[:, 1])
    with pytest.raises(DataValidationError, match="'age'"):
        w.score(df.drop(columns=["age"]))
    with pytest.raises(StewardError, match="cannot score with"):
        wrap_model(42)


@pytest.mark.parametrize("suffix", ["pkl", "joblib"])
def test_pickle_and_joblib_are_refused_unless_trusted(adult, tmp_path, suffix):
    import joblib
    from sklearn.linear_model import LogisticRegression

    df, y = adult
    lr = LogisticRegression(max_iter=500).fit(df[NUM], y)
    path = tmp_path / f"model.{suffix}"
    if suffix == "pkl":
        path.write_bytes(pickle.dumps(lr))
    else:
        joblib.dump(lr, path)
    with pytest.raises(UnsafeModelError) as exc:
        load_model(path)
    text = str(exc.value)
    assert "runs any code" in text and "trust_pickle=True" in text and "--trust-pickle" in text
    assert hashlib.sha256(path.read_bytes()).hexdigest() in text
    m = load_model(path, trust_pickle=True)
    np.testing.assert_allclose(m.score(df), lr.predict_proba(df[NUM])[:, 1])


def test_a_tampered_file_is_caught_by_its_hash_before_loading(adult, tmp_path):
    import lightgbm as lgb

    df, y = adult
    path = tmp_path / "model.txt"
    lgb.train({"objective": "binary", "verbose": -1}, lgb.Dataset(df[NUM], y), 5).save_model(str(path))
    good = hashlib.sha256(path.read_bytes()).hexdigest()
    assert load_model(path, sha256=good).artifact.sha256 == good
    data = bytearray(path.read_bytes())
    i = data.index(b"leaf_value=") + len(b"leaf_value=")
    data[i] = ord("9") if data[i] != ord("9") else ord("8")
    path.write_bytes(bytes(data))
    with pytest.raises(TamperedModelError, match=good):
        load_model(path, sha256=good)


def test_skops_refuses_types_it_does_not_trust(adult, tmp_path):
    import lightgbm as lgb
    from skops.io import dump

    df, y = adult
    clf = lgb.LGBMClassifier(n_estimators=5, verbose=-1).fit(df[NUM], y)
    path = tmp_path / "lgbm.skops"
    dump(clf, path)
    with pytest.raises(UnsafeModelError, match="LGBMClassifier") as exc:
        load_model(path)
    assert "--trust-type" in str(exc.value)
    from skops.io import get_untrusted_types

    m = load_model(path, trusted_types=get_untrusted_types(file=path))
    np.testing.assert_allclose(m.score(df), clf.predict_proba(df[NUM])[:, 1])


def test_bad_files_give_one_clear_error(tmp_path):
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"not an onnx model at all")
    with pytest.raises(StewardError, match="could not be read as onnx"):
        load_model(bad)
    with pytest.raises(DataValidationError, match="unknown suffix '.h5'"):
        load_model(tmp_path / "model.h5")
    with pytest.raises(DataValidationError, match="does not exist"):
        load_model(tmp_path / "missing.txt")
