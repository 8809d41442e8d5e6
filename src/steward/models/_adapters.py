"""One interface over the models Steward scores data with: scikit-learn, LightGBM, XGBoost, ONNX, callables.

The model libraries are imported only when a model of theirs is wrapped or loaded, so that
``import steward.models`` needs nothing beyond numpy and pandas.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from steward.data._values import check_feature_values, row_name
from steward.errors import DataValidationError, MissingExtraError, RoleError, StewardError

__all__ = ["ArtifactInfo", "KINDS", "Model", "wrap_model"]

KINDS = ("scikit-learn", "lightgbm", "xgboost", "onnx", "callable")
_ONNX_DTYPES = {"tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(int64)": np.int64,
                "tensor(int32)": np.int32, "tensor(bool)": np.bool_, "tensor(string)": object}


@dataclass(frozen=True)
class ArtifactInfo:
    """The model file a :class:`Model` was loaded from, as recorded in every report that used it.

    Attributes
    ----------
    path : str
        The file's path as given to :func:`~steward.models.load_model`.
    format : str
        ``"skops"``, ``"lightgbm-text"``, ``"xgboost-json"``, ``"xgboost-ubj"``, ``"onnx"``,
        ``"pickle"`` or ``"joblib"``.
    sha256 : str
        Hex SHA-256 of the file's bytes, taken before the file was loaded.
    size : int
        The file's size in bytes.
    """

    path: str
    format: str
    sha256: str
    size: int

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-safe dict."""
        return asdict(self)


def require(module: str) -> Any:
    """Import an optional model library, or raise :class:`MissingExtraError` naming the extra that adds it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(f"{module} is needed for this model: pip install 'steward[models]'") from exc


def one_line(exc: BaseException) -> str:
    """The first line of an exception's message (libraries' messages can run to pages)."""
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


def _text_columns(X: pd.DataFrame) -> list[str]:
    return [c for c in X.columns if not isinstance(X[c].dtype, pd.CategoricalDtype)
            and (X[c].dtype == object or pd.api.types.is_string_dtype(X[c].dtype))]


def _hint(frame: pd.DataFrame) -> str:
    """What to check when a model fails on data: the columns with missing values first (many models take none)."""
    missing = [str(c) for c in frame.columns if frame[c].isna().any()]
    if missing:
        return (f"column(s) {', '.join(map(repr, missing[:5]))} have missing values, which this model may not "
                f"take: fill or drop those rows")
    return "check that the columns hold the kinds of values the model was trained on"


def _text_refused(X: pd.DataFrame, text: list[str], kind: str, why: str) -> DataValidationError:
    """A column of text given to a model that reads it as numbers: name the column and a value that is text."""
    c = text[0]
    s = X[c]
    pos = next((i for i, v in enumerate(s) if isinstance(v, str) and pd.isna(pd.to_numeric(v, errors="coerce"))), 0)
    return DataValidationError(
        f"column {c!r} holds text ({s.iat[pos]!r} in {row_name(X.index, pos)}) but the {kind} model reads it as "
        f"numbers ({why}); give it the numbers (or codes) it was trained on"
        + (f"; also text: {', '.join(map(repr, text[1:4]))}" if len(text) > 1 else ""))


def _fingerprint(frame: pd.DataFrame) -> tuple | None:
    """What identifies a model input: its columns, their types, and a digest of every row's hash (None when a
    value cannot be hashed; such inputs are always scored)."""
    try:
        rows = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    except TypeError:  # e.g. lists or dicts in a cell
        return None
    return (tuple(map(str, frame.columns)), tuple(map(str, frame.dtypes)), len(frame),
            hashlib.blake2b(rows.tobytes(), digest_size=16).digest())


def _resolve_features(given: Sequence[str] | None, native: Sequence[str] | None) -> tuple[Any, Any]:
    """(data columns to read, in order; names to give them for the model, or None)."""
    native = None if native is None else tuple(map(str, native))
    if given is None:
        return native, None
    given = tuple(given)
    if native is None or given == native:
        return given, None
    if set(native) <= set(given):  # the model names its inputs: its order decides, never the caller's
        return native, None
    moved = [f for i, f in enumerate(given) if f in native and native.index(f) != i]
    if len(given) != len(native) or moved:
        raise RoleError(f"features={list(given)} do not match the model's {len(native)} inputs {list(native)}: "
                        f"give the data columns that feed those inputs, in the model's order")
    return given, native  # other names for the same inputs: matched by position


class Model:
    """A model Steward can score data with; made by :func:`wrap_model` or :func:`~steward.models.load_model`.

    Attributes
    ----------
    kind : str
        One of ``"scikit-learn"``, ``"lightgbm"``, ``"xgboost"``, ``"onnx"``, ``"callable"``.
    task : str
        ``"classification"`` (binary) or ``"regression"``.
    features : tuple of str or None
        The data columns the model reads, in its order, when known; scoring selects them.
    artifact : ArtifactInfo or None
        The file the model was loaded from; None for a wrapped object.
    obj : object
        The underlying model object.
    """

    def __init__(self, obj: Any, kind: str, task: str, scorer: Callable[[pd.DataFrame], Any], *,
                 features: Sequence[str] | None = None, native: Sequence[str] | None = None,
                 n_features: int | None = None, artifact: ArtifactInfo | None = None) -> None:
        self.obj, self.kind, self.task, self.artifact = obj, kind, task, artifact
        self.features, self._rename = _resolve_features(features, native)
        self._n_features = n_features
        self._scorer = scorer
        # LightGBM and XGBoost: the native booster and what turns selected columns into its input
        # (explanations call the booster's own TreeSHAP on it)
        self.booster: Any = None
        self.prepare: Callable[[pd.DataFrame], Any] | None = None
        self._memo: dict[tuple, np.ndarray] | None = None  # scores by input content, inside remember_scores()

    def _inputs(self, X: Any) -> pd.DataFrame:
        frame = self._select(X)
        # inf and 1e300 would be scored as garbage (or crash a float32 model), text among numbers as a category;
        # a function given the whole frame reads what it reads, so only its named inputs are checked
        if self.features is not None or self.kind != "callable":
            check_feature_values(frame)
        return frame

    def _select(self, X: Any) -> pd.DataFrame:
        if not isinstance(X, pd.DataFrame):
            X = pd.DataFrame(X, columns=list(self.features) if self.features else None)
        if self.features is None:
            if self._n_features is not None and X.shape[1] != self._n_features:
                raise DataValidationError(
                    f"the model takes {self._n_features} unnamed input columns but the data has {X.shape[1]} "
                    f"({', '.join(map(str, X.columns))}); pass features=[...] (CLI --features a,b,c) in the model's order")
            return X
        found, missing = [], []
        for f in self.features:
            # ONNX converters replace characters like '-' in input names ('education-num' -> 'education_num')
            alike = [f] if f in X.columns else [c for c in X.columns if re.sub(r"\W", "_", str(c)) == f]
            if len(alike) == 1:
                found.append(alike[0])
            else:
                missing.append(f)
        if missing:
            raise DataValidationError(
                f"the model needs column(s) {', '.join(map(repr, missing))}, which the data lacks; the data has: "
                f"{', '.join(map(str, X.columns))}. Rename the columns, or pass features=[...] naming the data's "
                f"columns for the model's inputs, in order")
        return X[found].set_axis(list(self._rename or self.features), axis=1)

    def inputs(self, X: Any) -> pd.DataFrame:
        """The model's input columns of ``X``, selected (and renamed) as the model reads them."""
        return self._inputs(X)

    def score(self, X: pd.DataFrame) -> np.ndarray:
        """Score rows: the probability of class 1 for a classifier, the prediction for a regressor.

        Parameters
        ----------
        X : pandas.DataFrame
            The rows; the model's ``features`` are selected from its columns (others are ignored).

        Returns
        -------
        numpy.ndarray
            float64, shape ``(len(X),)``.
        """
        frame = self._inputs(X)
        key = None if self._memo is None else _fingerprint(frame)
        if key is not None and key in self._memo:
            return self._memo[key].copy()
        try:
            out = self._scorer(frame)
        except StewardError:
            raise
        except Exception as exc:
            if self.kind == "callable":  # the caller's own code: its error is theirs to read
                raise
            raise DataValidationError(f"the {self.kind} model could not score the data: {one_line(exc)}; "
                                      f"{_hint(frame)}") from exc
        out = np.asarray(out, dtype=np.float64)
        if out.ndim == 2 and out.shape[1] > 2:
            raise RoleError(f"the model gives {out.shape[1]} class probabilities; Steward scores binary classifiers "
                            f"and regressors only")
        if out.ndim == 2:
            out = out[:, -1]
        if out.shape != (len(frame),):
            raise DataValidationError(f"the model returned {out.size} scores for {len(frame)} rows; it must "
                                      f"give one number per row")
        if key is not None:
            self._memo[key] = out.copy()
        return out

    @contextmanager
    def remember_scores(self) -> Iterator["Model"]:
        """Inside the block, score each distinct input once: rows of the same content (the model's input
        columns, their names, types and values) get the scores they got the first time.

        An audit scores the same rows for several analyses (the decisions, the benchmark comparison, the
        flip test, ...); this shares the scores among them. The model must not change inside the block.
        Blocks nest; the scores are forgotten when the outermost one ends.

        Examples
        --------
        >>> with model.remember_scores():  # doctest: +SKIP
        ...     a = model.score(frame)
        ...     b = model.score(frame.copy())  # not scored again
        """
        outermost = self._memo is None
        if outermost:
            self._memo = {}
        try:
            yield self
        finally:
            if outermost:
                self._memo = None

    def predict(self, X: pd.DataFrame, threshold: float = 0.5) -> np.ndarray:
        """The 0/1 decisions ``score(X) >= threshold`` of a classifier (int array)."""
        if self.task != "classification":
            raise RoleError(f"a {self.task} model has no 0/1 decision; compare its scores instead")
        return (self.score(X) >= threshold).astype(int)

    def describe(self) -> dict[str, Any]:
        """What the model is, as a JSON-safe dict: kind, task, class name, features, artifact."""
        return {"kind": self.kind, "task": self.task, "class_name": type(self.obj).__name__,
                "features": list(self.features) if self.features else None,
                "artifact": None if self.artifact is None else self.artifact.to_dict()}

    def __repr__(self) -> str:
        where = f", file={self.artifact.path!r}" if self.artifact else ""
        return f"Model(kind={self.kind!r}, task={self.task!r}, class={type(self.obj).__name__}{where})"


def _lightgbm(booster: Any, obj: Any, features: Sequence[str] | None) -> Model:
    if booster.num_model_per_iteration() > 1:
        raise RoleError("the LightGBM model is a multiclass model; Steward scores binary classifiers and regressors")
    objective = str(booster.params.get("objective") or booster.dump_model(num_iteration=1).get("objective", ""))
    task = "classification" if objective.startswith(("binary", "cross_entropy", "xentropy")) else "regression"

    def prepare(X: pd.DataFrame) -> pd.DataFrame:
        text = _text_columns(X)
        if text and not booster.pandas_categorical:
            raise _text_refused(X, text, "LightGBM", "it was not trained on pandas categories")
        # Booster.predict maps pandas categories to the codes of the categories stored in the model
        return X.astype({c: "category" for c in text})

    model = Model(obj, "lightgbm", task, lambda X: booster.predict(prepare(X)), features=features,
                  native=booster.feature_name())
    model.booster, model.prepare = booster, prepare
    return model


def _xgboost(booster: Any, obj: Any, features: Sequence[str] | None) -> Model:
    import xgboost as xgb

    objective = json.loads(booster.save_config())["learner"]["objective"]["name"]
    if objective.startswith("multi:"):
        raise RoleError("the XGBoost model is a multiclass model; Steward scores binary classifiers and regressors")
    if objective == "binary:logitraw":
        raise RoleError("the XGBoost model outputs raw margins (binary:logitraw); train it with binary:logistic")
    task = "classification" if objective.startswith("binary:") else "regression"
    # Since XGBoost 3.1 a model trained on pandas categories stores them and re-codes new data by name.
    recodes = hasattr(booster, "get_categories") and not booster.get_categories().empty()

    def prepare(X: pd.DataFrame) -> Any:
        text = _text_columns(X)
        if text and not recodes:
            raise _text_refused(X, text, "XGBoost", "it stores no training categories: trained on codes, or saved "
                                                    "by XGBoost < 3.1")
        return xgb.DMatrix(X.astype({c: "category" for c in text}), enable_categorical=True)

    model = Model(obj, "xgboost", task, lambda X: booster.predict(prepare(X)), features=features,
                  native=booster.feature_names, n_features=booster.num_features())
    model.booster, model.prepare = booster, prepare
    return model


def _onnx(sess: Any, features: Sequence[str] | None) -> Model:
    inputs, outputs = sess.get_inputs(), sess.get_outputs()
    odd = [f"{i.name}: {i.type}" for i in inputs if i.type not in _ONNX_DTYPES]
    if odd:
        raise RoleError(f"the ONNX model has inputs of types Steward cannot feed from a table: {', '.join(odd)}")
    prob = next((o for o in outputs if o.type.startswith("seq(map") or "prob" in o.name.lower()), None)
    out = prob or outputs[0]
    per_column = len(inputs) > 1
    shape = inputs[0].shape
    width = shape[1] if not per_column and len(shape) == 2 and isinstance(shape[1], int) else None

    def scorer(X: pd.DataFrame) -> Any:
        if per_column:
            feed = {i.name: X[i.name].to_numpy(dtype=_ONNX_DTYPES[i.type]).reshape(-1, 1) for i in inputs}
        else:
            feed = {inputs[0].name: X.to_numpy(dtype=_ONNX_DTYPES[inputs[0].type])}
        res = sess.run([out.name], feed)[0]
        if isinstance(res, list):  # skl2onnx's ZipMap: one {class: probability} dict per row
            keys = list(res[0]) if res else [0, 1]
            if len(keys) != 2:
                raise RoleError(f"the ONNX model has {len(keys)} classes; Steward scores binary classifiers only")
            key = 1 if 1 in keys else sorted(keys)[1]  # scikit-learn's class 1 is the larger label
            return np.array([r[key] for r in res], dtype=np.float64)
        return res

    task = "classification" if prob is not None else "regression"
    return Model(sess, "onnx", task, scorer, features=features,
                 native=[i.name for i in inputs] if per_column else None, n_features=width)


def _sklearn(obj: Any, features: Sequence[str] | None) -> Model:
    name = type(obj).__name__
    classifier = hasattr(obj, "predict_proba")
    if hasattr(obj, "get_params"):  # a scikit-learn estimator: it must be fitted; its tags tell a classifier
        base, exceptions, validation = (require(f"sklearn.{m}") for m in ("base", "exceptions", "utils.validation"))
        try:
            validation.check_is_fitted(obj)
        except exceptions.NotFittedError:
            raise RoleError(f"the {name} is not fitted: fit it before giving it to Steward") from None
        classifier = classifier or base.is_classifier(obj)
    classes = getattr(obj, "classes_", None)
    if classifier and classes is not None and len(classes) != 2:
        raise RoleError(f"the classifier {name} has {len(classes)} classes; Steward scores binary classifiers "
                        f"(and regressors) only")
    positive = classes[1] if classes is not None else 1
    # fitted on an array: give it an array, as scikit-learn warns about column names it never saw
    array = not hasattr(obj, "feature_names_in_") and hasattr(obj, "n_features_in_")

    def scorer(X: pd.DataFrame) -> Any:
        X = X.to_numpy() if array else X
        if not classifier:
            return obj.predict(X)
        if hasattr(obj, "predict_proba"):
            return obj.predict_proba(X)[:, 1]
        return (obj.predict(X) == positive).astype(float)  # no probabilities (LinearSVC...): the decision is the score

    return Model(obj, "scikit-learn", "classification" if classifier else "regression", scorer, features=features,
                 native=getattr(obj, "feature_names_in_", None), n_features=getattr(obj, "n_features_in_", None))


def wrap_model(obj: Any, features: Sequence[str] | None = None) -> Model:
    """Wrap a model object so Steward can score data with it.

    Parameters
    ----------
    obj : object
        A fitted scikit-learn estimator or Pipeline (anything with ``predict_proba`` or ``predict``),
        a LightGBM ``Booster``/``LGBMClassifier``/``LGBMRegressor``, an XGBoost ``Booster``/``XGBClassifier``/
        ``XGBRegressor``, an ``onnxruntime.InferenceSession``, or a callable ``f(DataFrame) -> scores``
        (taken as a classifier's probabilities). A :class:`Model` is returned as is.
    features : list of str, optional
        The data columns the model reads, in its order. When the model names its inputs, a list holding
        all those names only selects them (the model's order is kept); a list of other names, as long as
        the model's, maps the data's columns to its inputs by position.

    Returns
    -------
    Model

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from steward.models import wrap_model
    >>> m = wrap_model(lambda X: 1 / (1 + np.exp(-X["x"].to_numpy())), features=["x"])
    >>> m.predict(pd.DataFrame({"x": [-1.0, 2.0], "y": [0, 0]})).tolist()
    [0, 1]
    """
    if isinstance(obj, Model):
        if features is not None and obj.features is None:
            obj.features = tuple(features)
        return obj
    mods = {c.__module__.split(".")[0] for c in type(obj).__mro__}
    if "lightgbm" in mods:
        import lightgbm as lgb

        if isinstance(obj, lgb.Booster):
            return _lightgbm(obj, obj, features)
        if isinstance(obj, lgb.LGBMModel):
            if not getattr(obj, "fitted_", False):
                raise RoleError(f"the {type(obj).__name__} is not fitted: fit it before giving it to Steward")
            return _lightgbm(obj.booster_, obj, features)  # booster_.predict is predict_proba[:, 1] for binary
    if "xgboost" in mods:
        import xgboost as xgb

        if isinstance(obj, xgb.Booster):
            return _xgboost(obj, obj, features)
        if isinstance(obj, xgb.XGBModel):
            try:
                booster = obj.get_booster()
            except Exception:  # noqa: BLE001 - XGBoost raises its own NotFittedError
                raise RoleError(f"the {type(obj).__name__} is not fitted: fit it before giving it to Steward") from None
            return _xgboost(booster, obj, features)
    if "onnxruntime" in mods and hasattr(obj, "get_inputs"):
        return _onnx(obj, features)
    if hasattr(obj, "predict_proba") or (hasattr(obj, "predict") and hasattr(obj, "fit")):
        return _sklearn(obj, features)
    if callable(obj):
        return Model(obj, "callable", "classification", obj, features=features)
    raise RoleError(f"cannot score with a {type(obj).__module__}.{type(obj).__name__}: give a scikit-learn "
                    f"estimator or Pipeline, a LightGBM or XGBoost model, an onnxruntime InferenceSession, or a "
                    f"function of a DataFrame")
