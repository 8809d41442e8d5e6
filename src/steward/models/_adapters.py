"""One interface over the models Steward scores data with: scikit-learn, LightGBM, XGBoost, ONNX, callables."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from steward.errors import DataValidationError, MissingExtraError, RoleError

__all__ = ["ArtifactInfo", "Model", "KINDS", "wrap_model"]

KINDS = ("scikit-learn", "lightgbm", "xgboost", "onnx", "callable")


@dataclass(frozen=True)
class ArtifactInfo:
    """The file a model was loaded from: recorded in every report that used it."""

    path: str
    format: str
    sha256: str
    size: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _categorical(X: pd.DataFrame) -> pd.DataFrame:
    """Text columns as pandas categories (what LightGBM and XGBoost expect for categorical inputs)."""
    obj = [c for c in X.columns if X[c].dtype == object or pd.api.types.is_string_dtype(X[c])]
    if not obj:
        return X
    return X.assign(**{c: X[c].astype("category") for c in obj})


class Model:
    """A model Steward can score data with.

    ``score(X)`` gives the probability of class 1 for a binary classifier (the prediction for a
    regressor or a callable); ``predict(X, threshold)`` the 0/1 decision ``score >= threshold``.
    ``features`` are the columns the model reads, in its order, when known.
    """

    def __init__(self, obj: Any, kind: str, task: str, features: Sequence[str] | None,
                 scorer: Callable[[pd.DataFrame], np.ndarray], artifact: ArtifactInfo | None = None) -> None:
        self.obj = obj
        self.kind = kind
        self.task = task
        self.features = tuple(features) if features is not None else None
        self._scorer = scorer
        self.artifact = artifact

    def _inputs(self, X: Any) -> pd.DataFrame:
        if not isinstance(X, pd.DataFrame):
            X = pd.DataFrame(X, columns=list(self.features) if self.features else None)
        if self.features is None:
            return X
        missing = [f for f in self.features if f not in X.columns]
        if missing:
            raise DataValidationError(
                f"the model needs column(s) {', '.join(map(repr, missing))}, which the data lacks; the data has: "
                f"{', '.join(map(str, X.columns))}")
        return X[list(self.features)]

    def score(self, X: Any) -> np.ndarray:
        out = np.asarray(self._scorer(self._inputs(X)), dtype=np.float64)
        if out.ndim == 2 and out.shape[1] == 2:
            out = out[:, 1]
        return out.reshape(-1)

    def predict(self, X: Any, threshold: float = 0.5) -> np.ndarray:
        if self.task != "classification":
            raise RoleError(f"a {self.task} model has no 0/1 decision; compare its scores instead")
        return (self.score(X) >= threshold).astype(int)

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "task": self.task, "class_name": type(self.obj).__name__,
                "features": list(self.features) if self.features else None,
                "artifact": None if self.artifact is None else self.artifact.to_dict()}

    def __repr__(self) -> str:
        where = f", file={self.artifact.path!r}" if self.artifact else ""
        return f"Model(kind={self.kind!r}, task={self.task!r}, class={type(self.obj).__name__}{where})"


def _binary_check(classes: Any, what: str) -> None:
    if classes is not None and len(classes) != 2:
        raise RoleError(f"{what} has {len(classes)} classes; Steward scores binary classifiers (and regressors) only")


def _wrap_lightgbm_booster(obj: Any, features: Sequence[str] | None) -> Model:
    objective = str(obj.params.get("objective", "") or obj.dump_model().get("objective", ""))
    if objective.startswith(("multiclass", "softmax", "multiclassova")):
        raise RoleError("the LightGBM model is a multiclass model; Steward scores binary classifiers and regressors")
    task = "classification" if objective.startswith(("binary", "cross_entropy", "xentropy")) else "regression"
    return Model(obj, "lightgbm", task, features or obj.feature_name(),
                 lambda X: obj.predict(_categorical(X)))


def _wrap_xgboost_booster(obj: Any, features: Sequence[str] | None) -> Model:
    import json

    import xgboost as xgb

    cfg = json.loads(obj.save_config())
    objective = cfg["learner"]["objective"]["name"]
    if objective.startswith("multi:"):
        raise RoleError("the XGBoost model is a multiclass model; Steward scores binary classifiers and regressors")
    task = "classification" if objective.startswith("binary:") else "regression"
    if objective == "binary:logitraw":
        raise RoleError("the XGBoost model outputs raw margins (binary:logitraw); train it with binary:logistic")

    def scorer(X: pd.DataFrame) -> np.ndarray:
        return obj.predict(xgb.DMatrix(_categorical(X), enable_categorical=True))

    return Model(obj, "xgboost", task, features or obj.feature_names, scorer)


def _wrap_onnx(sess: Any, features: Sequence[str] | None) -> Model:
    inputs = sess.get_inputs()
    outputs = sess.get_outputs()
    prob = next((o for o in outputs if "prob" in o.name.lower()), None)
    out = prob or outputs[0]
    task = "classification" if prob is not None or any("label" in o.name.lower() for o in outputs) else "regression"
    per_column = len(inputs) > 1
    feats = features or ([i.name for i in inputs] if per_column else None)

    def dtype_of(type_str: str) -> Any:
        if "string" in type_str:
            return object
        if "double" in type_str:
            return np.float64
        if "int64" in type_str:
            return np.int64
        return np.float32

    def scorer(X: pd.DataFrame) -> np.ndarray:
        if per_column:
            feed = {i.name: X[i.name].to_numpy().astype(dtype_of(i.type)).reshape(-1, 1) for i in inputs}
        else:
            feed = {inputs[0].name: X.to_numpy().astype(dtype_of(inputs[0].type))}
        res = sess.run([out.name], feed)[0]
        if isinstance(res, list) and res and isinstance(res[0], dict):  # skl2onnx ZipMap: one dict per row
            key = 1 if 1 in res[0] else sorted(res[0])[-1]
            return np.array([r[key] for r in res], dtype=np.float64)
        res = np.asarray(res, dtype=np.float64)
        if res.ndim == 2 and res.shape[1] == 2:
            return res[:, 1]
        return res.reshape(-1)

    return Model(sess, "onnx", task, feats, scorer)


def wrap_model(obj: Any, *, features: Sequence[str] | None = None) -> Model:
    """Wrap a model object: a scikit-learn estimator or Pipeline, a LightGBM or XGBoost model (Booster
    or scikit-learn wrapper), an ``onnxruntime.InferenceSession``, or a callable ``f(DataFrame) -> scores``.
    A :class:`Model` is returned as is (with ``features`` set when given)."""
    if isinstance(obj, Model):
        if features is not None and obj.features is None:
            obj.features = tuple(features)
        return obj
    mod = type(obj).__module__.split(".")[0]
    name = type(obj).__name__
    if mod == "lightgbm":
        if name == "Booster":
            return _wrap_lightgbm_booster(obj, features)
        if hasattr(obj, "booster_") and hasattr(obj, "predict_proba"):
            _binary_check(getattr(obj, "classes_", None), "the LightGBM classifier")
            return Model(obj, "lightgbm", "classification", features or obj.booster_.feature_name(),
                         lambda X: obj.predict_proba(_categorical(X))[:, 1])
        if hasattr(obj, "booster_"):
            return Model(obj, "lightgbm", "regression", features or obj.booster_.feature_name(),
                         lambda X: obj.predict(_categorical(X)))
    if mod == "xgboost":
        if name == "Booster":
            return _wrap_xgboost_booster(obj, features)
        if hasattr(obj, "get_booster"):
            m = _wrap_xgboost_booster(obj.get_booster(), features)
            m.obj = obj
            return m
    if mod == "onnxruntime" and hasattr(obj, "get_inputs"):
        return _wrap_onnx(obj, features)
    if hasattr(obj, "predict_proba"):
        _binary_check(getattr(obj, "classes_", None), f"the classifier {name}")
        feats = features or (list(obj.feature_names_in_) if hasattr(obj, "feature_names_in_") else None)
        return Model(obj, "scikit-learn", "classification", feats, lambda X: obj.predict_proba(X)[:, 1])
    if hasattr(obj, "predict") and hasattr(obj, "fit"):
        feats = features or (list(obj.feature_names_in_) if hasattr(obj, "feature_names_in_") else None)
        return Model(obj, "scikit-learn", "regression", feats, lambda X: obj.predict(X))
    if callable(obj):
        return Model(obj, "callable", "classification", features, lambda X: obj(X))
    raise RoleError(f"cannot score with a {type(obj).__module__}.{name}: give a scikit-learn estimator or Pipeline, "
                    f"a LightGBM or XGBoost model, an onnxruntime InferenceSession, or a function of a DataFrame")


def require(module: str) -> Any:
    """Import an optional model library, or say which extra installs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(f"{module} is needed for this model: pip install 'steward[models]'") from exc
