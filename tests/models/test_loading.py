"""Every supported model file loads and scores like the model it was saved from; unsafe files are refused."""

from __future__ import annotations

import hashlib
import json
import pickle
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from steward.errors import (
    DataValidationError,
    MissingExtraError,
    StewardError,
    TamperedModelError,
    UnsafeModelError,
)
from steward.models import ModelFileError, load_model
from tests.models._helpers import CAT, NUM, as_categories


def test_skops_pipeline_loads_and_scores_the_same(adult_sample, tmp_path):
    from skops.io import dump
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    df, y = adult_sample
    pipe = make_pipeline(make_column_transformer((OneHotEncoder(handle_unknown="ignore"), CAT), (StandardScaler(), NUM)),
                         LogisticRegression(max_iter=500)).fit(df[NUM + CAT], y)
    path = tmp_path / "model.skops"
    dump(pipe, path)
    m = load_model(path)
    assert m.kind == "scikit-learn" and m.task == "classification" and m.artifact.format == "skops"
    assert m.features == tuple(NUM + CAT)
    assert m.artifact.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert m.artifact.size == path.stat().st_size
    np.testing.assert_allclose(m.score(df), pipe.predict_proba(df[NUM + CAT])[:, 1], atol=1e-12)
    np.testing.assert_array_equal(m.predict(df, 0.5), pipe.predict(df[NUM + CAT]))
    described = json.loads(json.dumps(m.describe()))
    assert described["class_name"] == "Pipeline" and described["artifact"]["sha256"] == m.artifact.sha256


def test_lightgbm_text_maps_text_columns_to_the_training_categories(adult_sample, tmp_path):
    import lightgbm as lgb

    df, y = adult_sample
    # Categories in reverse alphabetical order: plain text turned into categories gets other codes.
    X = as_categories(df, reverse=True)
    booster = lgb.train({"objective": "binary", "verbose": -1, "num_leaves": 15, "min_data_per_group": 5},
                        lgb.Dataset(X, y), 30)
    path = tmp_path / "model.txt"
    booster.save_model(str(path))
    m = load_model(path)
    assert m.kind == "lightgbm" and m.task == "classification" and m.features == tuple(NUM + CAT)
    expected = booster.predict(X)
    # Plain text columns, rows reversed so the values first appear in another order.
    shuffled = df.iloc[::-1].reset_index(drop=True)
    assert not any(isinstance(shuffled[c].dtype, pd.CategoricalDtype) for c in CAT)
    np.testing.assert_allclose(m.score(shuffled), expected[::-1], atol=1e-12)
    # Rows where some categories never occur: by name, not by position, still.
    keep = ((df["race"] != "Amer-Indian-Eskimo") & (df["workclass"] != "Federal-gov")).to_numpy()
    np.testing.assert_allclose(m.score(df[keep]), expected[keep], atol=1e-12)
    # The mapping matters: the codes plain text gets by itself (alphabetical) would give other scores.
    naive = as_categories(df[keep]).apply(lambda s: s.cat.codes if s.dtype == "category" else s)
    assert np.abs(booster.predict(naive.to_numpy(float)) - expected[keep]).max() > 0.1


@pytest.mark.parametrize("suffix", ["json", "ubj"])
def test_xgboost_json_and_ubj(adult_sample, tmp_path, suffix):
    import xgboost as xgb

    df, y = adult_sample
    X = as_categories(df, reverse=True)
    clf = xgb.XGBClassifier(n_estimators=30, max_depth=3, enable_categorical=True, tree_method="hist").fit(X, y)
    path = tmp_path / f"model.{suffix}"
    clf.save_model(str(path))
    m = load_model(path)
    assert m.kind == "xgboost" and m.task == "classification" and m.artifact.format == f"xgboost-{suffix}"
    expected = clf.predict_proba(X)[:, 1]
    np.testing.assert_allclose(m.score(df), expected, atol=1e-6)
    keep = (df["race"] != "Amer-Indian-Eskimo").to_numpy()
    np.testing.assert_allclose(m.score(df[keep]), expected[keep], atol=1e-6)


def test_onnx_single_tensor_input(adult_sample, tmp_path):
    from skl2onnx import to_onnx
    from sklearn.ensemble import GradientBoostingClassifier

    df, y = adult_sample
    X = df[NUM].to_numpy(np.float32)
    clf = GradientBoostingClassifier(n_estimators=30, max_depth=3, random_state=0).fit(X, y)
    zipmap, tensor = tmp_path / "zipmap.onnx", tmp_path / "tensor.onnx"
    zipmap.write_bytes(to_onnx(clf, X[:1]).SerializeToString())
    tensor.write_bytes(to_onnx(clf, X[:1], options={"zipmap": False}).SerializeToString())
    for path in (zipmap, tensor):
        m = load_model(path, features=NUM)
        assert m.kind == "onnx" and m.task == "classification"
        np.testing.assert_allclose(m.score(df), clf.predict_proba(X)[:, 1], atol=1e-5)
    # Without names the columns must be exactly the model's inputs.
    m = load_model(tensor)
    assert m.features is None
    np.testing.assert_allclose(m.score(df[NUM]), clf.predict_proba(X)[:, 1], atol=1e-5)
    with pytest.raises(DataValidationError, match="takes 4 unnamed input columns but the data has 15"):
        m.score(df)


def test_onnx_one_input_per_column_with_text_inputs(adult_sample, tmp_path):
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    df, _ = adult_sample
    X = df[NUM + CAT].astype({c: np.float32 for c in NUM})
    pipe = make_pipeline(make_column_transformer((OneHotEncoder(handle_unknown="ignore"), CAT), (StandardScaler(), NUM)),
                         LogisticRegression(max_iter=500)).fit(X, df["income"])  # text labels: class 1 is ">50K"
    types = [(c, FloatTensorType([None, 1])) for c in NUM] + [(c, StringTensorType([None, 1])) for c in CAT]
    path = tmp_path / "pipeline.onnx"
    path.write_bytes(convert_sklearn(pipe, initial_types=types).SerializeToString())
    m = load_model(path)
    # skl2onnx writes 'education-num' as 'education_num'; the data column is found all the same.
    assert m.features == ("age", "education_num", "hours_per_week", "capital_gain", *CAT)
    np.testing.assert_allclose(m.score(df), pipe.predict_proba(X)[:, 1], atol=1e-5)


def test_a_callable_scores_rows(adult_sample):
    from steward.models import wrap_model

    df, _ = adult_sample
    m = wrap_model(lambda X: 1 / (1 + np.exp(-(X["age"].to_numpy() - 40) / 10)), features=["age"])
    assert m.kind == "callable" and m.artifact is None
    np.testing.assert_allclose(m.score(df), 1 / (1 + np.exp(-(df["age"].to_numpy() - 40) / 10)))


@pytest.mark.parametrize("suffix", ["pkl", "pickle", "joblib"])
def test_pickle_and_joblib_are_refused_unless_trusted(adult_sample, tmp_path, suffix):
    import joblib
    from sklearn.linear_model import LogisticRegression

    df, y = adult_sample
    lr = LogisticRegression(max_iter=500).fit(df[NUM], y)
    path = tmp_path / f"model.{suffix}"
    if suffix == "joblib":
        joblib.dump(lr, path)
    else:
        path.write_bytes(pickle.dumps(lr))
    with pytest.raises(UnsafeModelError) as exc:
        load_model(path)
    text = str(exc.value)
    assert "runs any code" in text and "trust_pickle=True" in text and "--trust-pickle" in text
    assert "skops" in text and str(path) in text
    assert hashlib.sha256(path.read_bytes()).hexdigest() in text
    m = load_model(path, trust_pickle=True)
    assert m.artifact.format == ("joblib" if suffix == "joblib" else "pickle")
    np.testing.assert_allclose(m.score(df), lr.predict_proba(df[NUM])[:, 1])


def test_a_tampered_file_is_caught_by_its_hash_before_loading(adult_sample, tmp_path):
    import lightgbm as lgb

    df, y = adult_sample
    path = tmp_path / "model.txt"
    lgb.train({"objective": "binary", "verbose": -1}, lgb.Dataset(df[NUM], y), 5).save_model(str(path))
    good = hashlib.sha256(path.read_bytes()).hexdigest()
    assert load_model(path, sha256=good.upper()).artifact.sha256 == good
    data = bytearray(path.read_bytes())
    i = data.index(b"leaf_value=") + len(b"leaf_value=")
    data[i] = ord("9") if data[i] != ord("9") else ord("8")
    path.write_bytes(bytes(data))
    bad = hashlib.sha256(bytes(data)).hexdigest()
    with pytest.raises(TamperedModelError, match=f"{bad}, not the expected {good}"):
        load_model(path, sha256=good)
    with pytest.raises(DataValidationError, match="not a SHA-256"):
        load_model(path, sha256="abc123")


def test_tampered_pickle_is_refused_even_when_trusted(tmp_path):
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps({"harmless": True}))
    good = hashlib.sha256(path.read_bytes()).hexdigest()
    # A pickle that would run code when loaded: the hash check must come first.
    path.write_bytes(b"cos\nsystem\n(S'touch " + str(tmp_path / "ran").encode() + b"'\ntR.")
    with pytest.raises(TamperedModelError):
        load_model(path, sha256=good, trust_pickle=True)
    assert not (tmp_path / "ran").exists()


def test_skops_refuses_types_it_does_not_trust(adult_sample, tmp_path):
    import lightgbm as lgb
    from skops.io import dump, get_untrusted_types

    df, y = adult_sample
    clf = lgb.LGBMClassifier(n_estimators=5, verbose=-1).fit(df[NUM], y)
    path = tmp_path / "lgbm.skops"
    dump(clf, path)
    untrusted = get_untrusted_types(file=path)
    with pytest.raises(UnsafeModelError, match="lightgbm.sklearn.LGBMClassifier") as exc:
        load_model(path)
    assert "trusted_types=" in str(exc.value) and "--trust-type" in str(exc.value)
    with pytest.raises(UnsafeModelError):  # trusting only some of them is not enough
        load_model(path, trusted_types=untrusted[:1])
    m = load_model(path, trusted_types=untrusted)
    assert m.kind == "lightgbm" and m.artifact.format == "skops"
    np.testing.assert_allclose(m.score(df), clf.predict_proba(df[NUM])[:, 1])


@pytest.mark.parametrize("suffix, fmt", [("onnx", "onnx"), ("txt", "lightgbm-text"), ("json", "xgboost-json"),
                                         ("ubj", "xgboost-ubj"), ("skops", "skops")])
def test_corrupt_files_give_one_clear_error(tmp_path, suffix, fmt):
    bad = tmp_path / f"broken.{suffix}"
    bad.write_bytes(b"not a model at all\x00\xff")
    with pytest.raises(ModelFileError, match=f"could not be read as {fmt}: ") as exc:
        load_model(bad)
    assert str(bad) in str(exc.value) and "\n" not in str(exc.value)
    assert exc.value.__cause__ is None and exc.value.__suppress_context__


def test_unknown_suffix_and_missing_file(tmp_path):
    with pytest.raises(DataValidationError, match=r"unknown suffix '.h5'; supported: .joblib, .json, .lgb, .onnx"):
        load_model(tmp_path / "model.h5")
    with pytest.raises(DataValidationError, match=r"missing.txt' does not exist"):
        load_model(tmp_path / "missing.txt")


def _run(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def test_importing_steward_and_steward_models_loads_no_model_library():
    heavy = "('sklearn', 'lightgbm', 'xgboost', 'onnxruntime', 'skops', 'joblib')"
    assert _run(f"import sys, steward; print([m for m in {heavy} if m in sys.modules])") == "[]"
    assert _run(f"import sys, steward.models; print([m for m in {heavy} if m in sys.modules])") == "[]"


def test_a_missing_model_library_names_the_extra(tmp_path):
    path = tmp_path / "model.txt"
    path.write_text("tree\n")
    # A None entry in sys.modules makes `import lightgbm` fail as if it were not installed.
    code = ("import sys; sys.modules['lightgbm'] = None\n"
            "from steward.models import load_model\n"
            "from steward.errors import MissingExtraError\n"
            f"try:\n    load_model({str(path)!r})\n"
            "except MissingExtraError as exc:\n    print(type(exc).__name__, exc)")
    out = _run(code)
    assert out.startswith(MissingExtraError.__name__) and "pip install 'steward[models]'" in out
    assert issubclass(MissingExtraError, StewardError)
