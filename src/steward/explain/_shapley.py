"""Shapley values of a model's output, by the fastest exact method the model allows.

* LightGBM and XGBoost: exact path-dependent TreeSHAP through the library's own contribution output
  (``pred_contrib`` / ``pred_contribs``), in the model's raw space (log-odds for a classifier); for
  LightGBM models of numeric splits at most 8 deep, from 2,000 rows on, the same values from
  per-leaf tables computed once per model (:mod:`steward.explain._fasttree`), on every core.
* scikit-learn trees and forests: ``shap.TreeExplainer`` (exact, path-dependent), its single-threaded
  C++ run on row blocks in forked worker processes so every core is used; values are bit-identical.
* scikit-learn linear models: ``shap.LinearExplainer`` (exact, interventional over a background).
* anything else (pipelines, ONNX, functions): ``shap``'s permutation estimator over a background
  sample with a budget of model evaluations (exact for additive models, an estimate otherwise).

Every result says its *space*: ``"log_odds"`` (a classifier's margin), ``"probability"`` or ``"raw"``
(a regressor's prediction). Values asked for in the other space of a classifier are rescaled per
row, ``phi * (g(f(x)) - g(base)) / (f(x) - base)`` with ``g`` the link, which keeps their signs,
ranks and additivity; the result's ``method`` says when that happened.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from steward.errors import DataValidationError, MissingExtraError, RoleError

__all__ = ["ShapleyValues", "has_exact_method", "shapley_values", "SPACES"]

SPACES = ("auto", "log_odds", "probability", "raw")
# From this many rows "auto" explains a LightGBM model with precomputed tables (building them costs
# about as much as explaining a few thousand rows the usual way).
PRECOMPUTE_ROWS = 2000
_EPS = 1e-12


@dataclass
class ShapleyValues:
    """Per-row, per-feature Shapley values: ``base_value + values.sum(axis=1) == output``.

    Attributes
    ----------
    values : numpy.ndarray
        ``(rows, features)`` contributions, in ``space``.
    base_value : float
        The reference output the contributions are measured from (the model's average output over
        its training data for TreeSHAP; over the background sample otherwise).
    output : numpy.ndarray
        The model's output per row, in ``space``.
    features : list of str
    data : pandas.DataFrame
        The explained rows' feature values.
    space : str
        ``"log_odds"``, ``"probability"`` or ``"raw"``.
    method : str
        How the values were computed, in words.
    exact : bool
        Whether the values are exact Shapley values of the model (False for sampling estimates).
    """

    values: np.ndarray
    base_value: float
    output: np.ndarray
    features: list[str]
    data: pd.DataFrame
    space: str
    method: str
    exact: bool
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def additivity_error(self) -> float:
        """Largest ``|base + sum(values) - output|`` over the rows (0 up to rounding for exact methods)."""
        if not len(self.output):
            return 0.0
        return float(np.max(np.abs(self.base_value + self.values.sum(axis=1) - self.output)))

    def importance(self) -> pd.Series:
        """Mean absolute value per feature, largest first."""
        imp = pd.Series(np.abs(self.values).mean(axis=0) if len(self.values) else 0.0, index=self.features)
        return imp.sort_values(ascending=False, kind="stable")

    def to_frame(self) -> pd.DataFrame:
        """One row per explained row, one column per feature (its contribution), plus base and output."""
        out = pd.DataFrame(self.values, columns=self.features, index=self.data.index)
        out.insert(0, "base_value", self.base_value)
        out["output"] = self.output
        return out

    def to_dict(self, max_rows: int = 100) -> dict[str, Any]:
        """JSON-safe summary: method, space, base, importance and the first ``max_rows`` rows."""
        return {"method": self.method, "space": self.space, "exact": self.exact, "base_value": self.base_value,
                "rows": len(self.values), "additivity_error": self.additivity_error,
                "importance": {k: float(v) for k, v in self.importance().items()},
                "values": np.round(self.values[:max_rows], 10).tolist(), "features": list(self.features),
                **self.meta}

    def _repr_html_(self) -> str:
        imp = self.importance().to_frame("mean |value|")
        return (f"<p>Shapley values of {len(self.values):,} rows in {self.space} space ({self.method}); "
                f"base {self.base_value:.4g}</p>" + imp.to_html(float_format=lambda v: f"{v:.4g}"))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-9, 1 - 1e-9)
    return np.log(p / (1 - p))


def _rescale(sv: ShapleyValues, to: str) -> ShapleyValues:
    """The same attribution in the other link space of a classifier (see the module docstring)."""
    link = _sigmoid if to == "probability" else _logit
    new_out, new_base = link(sv.output), float(link(np.array([sv.base_value]))[0])
    delta = sv.output - sv.base_value
    small = np.abs(delta) < _EPS
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(small, 0.0, (new_out - new_base) / np.where(small, 1.0, delta))
    if small.any():  # no change to spread: the link's slope at the point
        f = sv.output[small]
        ratio[small] = _sigmoid(f) * (1 - _sigmoid(f)) if to == "probability" else 1 / np.clip(f * (1 - f), 1e-9, None)
    return ShapleyValues(sv.values * ratio[:, None], new_base, new_out, sv.features, sv.data, to,
                         f"{sv.method}; rescaled from {sv.space} to {to} per row", sv.exact, dict(sv.meta))


# -- tree models -------------------------------------------------------------------------------------


def _precomputed(model: Any, X: pd.DataFrame, forced: bool) -> ShapleyValues | None:
    """Precomputed TreeSHAP (see :mod:`steward.explain._fasttree`) when the LightGBM model allows it."""
    from steward.explain._fasttree import MAX_DEPTH, precompute

    numeric = all(pd.api.types.is_numeric_dtype(X[c].dtype) and not isinstance(X[c].dtype, pd.CategoricalDtype)
                  for c in X.columns)
    tables = getattr(model, "_treeshap_tables", False)
    if tables is False and numeric:
        tables = precompute(model.booster)
        model._treeshap_tables = tables  # once per model: the tables depend only on the trees
    if not numeric or tables is None:
        if forced:
            raise RoleError(f"precomputed TreeSHAP needs a LightGBM model of numeric splits at most {MAX_DEPTH} deep "
                            f"and numeric inputs; use method='tree'")
        return None
    values = tables.values(X.to_numpy(dtype=np.float64))
    output = values.sum(axis=1) + tables.bias
    space = "log_odds" if model.task == "classification" else "raw"
    return ShapleyValues(values, tables.bias, output, list(X.columns), X, space,
                         "exact TreeSHAP, path-dependent (precomputed per leaf, FastTreeSHAP v2 style; equals "
                         "LightGBM pred_contrib)", True)


def _native_tree(model: Any, X: pd.DataFrame) -> ShapleyValues:
    inputs = model.prepare(X)
    if model.kind == "lightgbm":
        contrib = np.asarray(model.booster.predict(inputs, pred_contrib=True), dtype=np.float64)
        how = "exact TreeSHAP, path-dependent (LightGBM pred_contrib)"
    else:
        contrib = np.asarray(model.booster.predict(inputs, pred_contribs=True), dtype=np.float64)
        how = "exact TreeSHAP, path-dependent (XGBoost pred_contribs)"
    values, bias = contrib[:, :-1], contrib[:, -1]
    output = values.sum(axis=1) + bias
    space = "log_odds" if model.task == "classification" else "raw"
    return ShapleyValues(values, float(bias[0]) if len(bias) else 0.0, output, list(X.columns), X, space, how, True)


_FORK_STATE: dict[str, Any] = {}


def _fork_block(bounds: tuple[int, int]) -> np.ndarray:
    a, b = bounds
    return np.asarray(_FORK_STATE["explainer"].shap_values(_FORK_STATE["rows"][a:b], check_additivity=False))


def cpu_count() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _blocks_in_parallel(explainer: Any, rows: np.ndarray, n_jobs: int) -> np.ndarray:
    """``explainer.shap_values(rows)`` with the rows split over ``n_jobs`` forked processes.

    shap's C++ TreeSHAP holds the GIL, so threads would not help; forked workers share the
    explainer's memory without pickling it, and the blocks' results are concatenated in order.
    """
    fork = "fork" in mp.get_all_start_methods()
    if n_jobs <= 1 or len(rows) < 4 * n_jobs or not fork:
        return np.asarray(explainer.shap_values(rows, check_additivity=False))
    edges = np.linspace(0, len(rows), 4 * n_jobs + 1).astype(int)
    _FORK_STATE.update(explainer=explainer, rows=rows)
    try:
        with mp.get_context("fork").Pool(n_jobs) as pool:
            parts = pool.map(_fork_block, list(zip(edges[:-1], edges[1:])), chunksize=1)
    finally:
        _FORK_STATE.clear()
    return np.concatenate(parts, axis=0)


_PROBABILITY_TREES = ("RandomForestClassifier", "ExtraTreesClassifier", "DecisionTreeClassifier")


def _sklearn_tree(model: Any, X: pd.DataFrame, n_jobs: int) -> ShapleyValues | None:
    shap = _shap()
    try:
        explainer = shap.TreeExplainer(model.obj)
    except Exception:  # noqa: BLE001 - not a tree model shap knows: the caller falls back
        return None
    try:
        rows = X.to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataValidationError(f"the scikit-learn tree model needs numeric inputs: {exc}") from None
    values = _blocks_in_parallel(explainer, rows, n_jobs)
    base = np.asarray(explainer.expected_value, dtype=np.float64).reshape(-1)
    if values.ndim == 3:  # (rows, features, classes): class 1 for a binary classifier
        values, base = values[:, :, -1], base[-1:]
    base_value = float(base[-1])
    name = type(model.obj).__name__
    if model.task == "classification":
        space = "probability" if name in _PROBABILITY_TREES else "log_odds"
    else:
        space = "raw"
    how = f"exact TreeSHAP, path-dependent (shap.TreeExplainer on {name}, {max(1, n_jobs)} process(es))"
    return ShapleyValues(values, base_value, values.sum(axis=1) + base_value, list(X.columns), X, space, how, True)


# -- linear and model-agnostic ----------------------------------------------------------------------


def _shap() -> Any:
    try:
        import shap
    except ImportError as exc:
        raise MissingExtraError("explanations of this model need shap: pip install 'steward[explain]'") from exc
    return shap


# Rows of the background sampled from the explained rows when no background is given.
DEFAULT_BACKGROUND_ROWS = 100


def _background(X: pd.DataFrame, background: pd.DataFrame | None, size: int | None,
                seed: int) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The background rows and what the result records about them.

    A background the caller gives is used whole unless ``size`` caps it explicitly; without one, a
    sample of the explained rows (``size`` or 100 of them). Whenever rows are left out, the result says so.
    """
    given = background is not None
    source = background if given else X
    cap = size if size is not None or given else DEFAULT_BACKGROUND_ROWS
    sampled = cap is not None and len(source) > cap
    bg = source.sample(cap, random_state=seed) if sampled else source
    meta = {"background_rows": len(bg), "background_source": "given" if given else "explained rows",
            "background_sampled_from": len(source) if sampled else None}
    return bg, meta


def _linear(model: Any, X: pd.DataFrame, bg: pd.DataFrame) -> ShapleyValues | None:
    obj = model.obj
    if model.kind != "scikit-learn" or not hasattr(obj, "coef_") or np.ndim(obj.coef_) > 1 and obj.coef_.shape[0] > 1:
        return None
    shap = _shap()
    try:
        # an explicit masker: given a bare array, shap would sub-sample it to 100 rows
        rows = bg.to_numpy(dtype=np.float64)
        explainer = shap.LinearExplainer(obj, shap.maskers.Independent(rows, max_samples=len(rows)))
        values = np.asarray(explainer.shap_values(X.to_numpy(dtype=np.float64)), dtype=np.float64)
    except Exception:  # noqa: BLE001 - not a plain linear model on numbers: fall back
        return None
    base = float(np.asarray(explainer.expected_value).reshape(-1)[-1])
    space = "log_odds" if model.task == "classification" else "raw"
    return ShapleyValues(values, base, values.sum(axis=1) + base, list(X.columns), X, space,
                         f"exact interventional Shapley values (shap.LinearExplainer, {len(bg)} background rows)",
                         True)


def _additive_ebm(model: Any, X: pd.DataFrame, bg: pd.DataFrame) -> ShapleyValues | None:
    """An EBM of one-feature terms only: each term's value minus its background mean is exactly that
    feature's interventional Shapley value (in log-odds), with no sampling."""
    obj = model.obj
    terms = getattr(obj, "term_features_", None)
    if terms is None or not hasattr(obj, "eval_terms") or any(len(t) != 1 for t in terms):
        return None
    cols = list(getattr(obj, "feature_names_in_", X.columns))
    if cols != list(X.columns):
        return None
    own = np.asarray(obj.eval_terms(X), dtype=np.float64)
    ref = np.asarray(obj.eval_terms(bg), dtype=np.float64).mean(axis=0)
    values = np.zeros((len(X), len(cols)))
    for t, (f,) in enumerate(terms):
        values[:, f] += own[:, t] - ref[t]
    base = float(np.asarray(obj.intercept_).reshape(-1)[0] + ref.sum())
    space = "log_odds" if model.task == "classification" else "raw"
    return ShapleyValues(values, base, values.sum(axis=1) + base, cols, X, space,
                         f"exact interventional Shapley values of an additive EBM (its term scores, {len(bg)} "
                         f"background rows)", True)


# The model-agnostic path enumerates every coalition (exact) when that scores at most this many rows.
ENUMERATE_ROWS = 2_000_000


def _enumerated(features: list[str], X: pd.DataFrame, bg: pd.DataFrame, to_array: Any, f: Any,
                space: str) -> ShapleyValues:
    """Exact interventional Shapley values: the value of a coalition S for row x is the mean output over
    the background rows b of (x on S, b elsewhere); all 2^F coalitions, every row at once."""
    from math import factorial

    F, n, B = len(features), len(X), len(bg)
    xs, bs = to_array(X), to_array(bg)
    rows_x = np.repeat(xs, B, axis=0)  # row i's copy for each background row
    rows_b = np.tile(bs, (n, 1))
    value = np.empty((1 << F, n))
    for mask in range(1 << F):
        take = np.array([(mask >> j) & 1 for j in range(F)], dtype=bool)
        mixed = np.where(take[None, :], rows_x, rows_b)
        value[mask] = np.asarray(f(mixed), dtype=np.float64).reshape(n, B).mean(axis=1)
    phi = np.zeros((n, F))
    weight = [factorial(m) * factorial(F - m - 1) / factorial(F) for m in range(F)]
    for mask in range(1 << F):
        size = bin(mask).count("1")
        for j in range(F):
            if not (mask >> j) & 1:
                phi[:, j] += weight[size] * (value[mask | (1 << j)] - value[mask])
    base = float(value[0].mean()) if n else 0.0
    return ShapleyValues(phi, base, phi.sum(axis=1) + base, features, X, space,
                         f"exact interventional Shapley values (all {1 << F} coalitions over {B} background rows)",
                         True)


def _agnostic(model: Any, X: pd.DataFrame, bg: pd.DataFrame, space: str, max_evals: int | None,
              seed: int) -> ShapleyValues:
    shap = _shap()
    features = list(X.columns)
    # shap's maskers work on number arrays: text columns travel as codes and are turned back here
    codes: dict[str, pd.Index] = {}
    both = pd.concat([X, bg], ignore_index=True)
    for c in features:
        if not pd.api.types.is_numeric_dtype(both[c].dtype) or isinstance(both[c].dtype, pd.CategoricalDtype):
            codes[c] = pd.Index(pd.unique(both[c].astype(object)))

    def to_array(frame: pd.DataFrame) -> np.ndarray:
        cols = [frame[c].map(lambda v, idx=codes[c]: idx.get_loc(v)).to_numpy(float) if c in codes
                else frame[c].to_numpy(float) for c in features]
        return np.column_stack(cols) if cols else np.empty((len(frame), 0))

    dtypes = X.dtypes

    def f(arr: np.ndarray) -> np.ndarray:
        frame = pd.DataFrame(arr, columns=features)
        for c in features:
            if c in codes:
                frame[c] = codes[c].take(frame[c].round().astype(int).to_numpy())
            else:
                frame[c] = frame[c].astype(dtypes[c]) if pd.api.types.is_integer_dtype(dtypes[c]) else frame[c]
        out = model.score(frame.astype({c: dtypes[c] for c in codes if isinstance(dtypes[c], pd.CategoricalDtype)}))
        return _logit(out) if space == "log_odds" else out

    if (2 ** len(features)) * len(X) * len(bg) <= ENUMERATE_ROWS:
        return _enumerated(features, X, bg, to_array, f, space)
    budget = max(max_evals or 500, 2 * len(features) + 1)  # shap's own default, at least one permutation
    masker = shap.maskers.Independent(to_array(bg), max_samples=len(bg))
    explainer = shap.explainers.Permutation(f, masker, seed=seed)
    res = explainer(to_array(X), max_evals=budget, silent=True)
    values = np.asarray(res.values, dtype=np.float64).reshape(len(X), len(features))
    base = float(np.asarray(res.base_values, dtype=np.float64).reshape(-1)[0]) if len(X) else 0.0
    return ShapleyValues(values, base, values.sum(axis=1) + base, features, X, space,
                         f"permutation sampling estimate (shap.PermutationExplainer, {budget} evaluations per row, "
                         f"{len(bg)} background rows)", False, {"max_evals": budget})


def has_exact_method(model: Any) -> bool:
    """Whether ``shapley_values(model, ...)`` will be exact and fast (tree, linear or additive EBM).

    Raises :class:`MissingExtraError` when the model needs ``shap`` and it is not installed.
    """
    from steward.models import wrap_model

    model = wrap_model(model)
    if model.kind in ("lightgbm", "xgboost"):
        return True
    obj = model.obj
    if model.kind == "scikit-learn" and hasattr(obj, "coef_"):
        return True
    if hasattr(obj, "term_features_") and all(len(t) == 1 for t in obj.term_features_):
        return True
    shap = _shap()
    if model.kind == "scikit-learn":
        try:
            shap.TreeExplainer(obj)
            return True
        except Exception:  # noqa: BLE001 - not a tree model shap knows
            return False
    return False


def shapley_values(
    model: Any,
    X: pd.DataFrame,
    *,
    space: str = "auto",
    background: pd.DataFrame | None = None,
    background_size: int | None = None,
    max_evals: int | None = None,
    n_jobs: int | None = None,
    method: str = "auto",
    random_state: int = 0,
) -> ShapleyValues:
    """Shapley values of ``model``'s output for each row of ``X``.

    Parameters
    ----------
    model : Model or model object
        Anything :func:`steward.models.wrap_model` accepts.
    X : pandas.DataFrame
        The rows to explain; the model's features are taken from it.
    space : {"auto", "log_odds", "probability", "raw"}
        The output the values add up to. ``"auto"`` keeps the method's own space (log-odds for
        LightGBM, XGBoost and gradient boosting classifiers, probability for forests and for the
        model-agnostic estimator, the prediction for regressors).
    background : DataFrame, optional
        Reference rows for the linear and model-agnostic methods, used whole unless
        ``background_size`` is given (default: a sample of ``X``).
    background_size : int, optional
        Cap on the background's rows: when given and the background is larger, a random sample of
        this many rows is used, and the result's ``method`` and ``meta`` say so. Without it, a given
        ``background`` is used whole (the cost of the model-agnostic estimator grows with its
        rows), and a background taken from ``X`` is a sample of 100 rows.
    max_evals : int, optional
        Model evaluations per row for the model-agnostic estimator (default 500, shap's own).
    n_jobs : int, optional
        Processes for scikit-learn trees (default: every core this process may use).
    method : {"auto", "tree", "precomputed", "linear", "sampling"}
        Force a method; ``"auto"`` picks the fastest exact one the model allows (precomputed
        TreeSHAP for a LightGBM model of numeric splits at most 8 deep from 2,000 rows on).
    random_state : int
        Seed of the background sample and the permutations.

    Returns
    -------
    ShapleyValues

    Examples
    --------
    >>> sv = shapley_values(model, frame)  # doctest: +SKIP
    >>> sv.space, sv.importance().head(3)  # doctest: +SKIP
    """
    from steward.models import wrap_model

    if space not in SPACES:
        raise DataValidationError(f"space must be one of {', '.join(SPACES)}, got {space!r}")
    if method not in ("auto", "tree", "precomputed", "linear", "sampling"):
        raise DataValidationError(f"method must be auto, tree, precomputed, linear or sampling, got {method!r}")
    if background_size is not None and (isinstance(background_size, bool) or not isinstance(background_size, int)
                                        or background_size < 1):
        raise DataValidationError(f"background_size must be a whole number of rows, at least 1, or None; "
                                  f"got {background_size!r}")
    model = wrap_model(model)
    if not isinstance(X, pd.DataFrame):
        raise DataValidationError("X must be a pandas DataFrame of the rows to explain")
    frame = model.inputs(X)
    if model.task != "classification" and space in ("log_odds", "probability"):
        raise RoleError(f"a {model.task} model has no {space} space; use space='raw' or 'auto'")
    n_jobs = cpu_count() if n_jobs is None else max(1, int(n_jobs))
    result = None
    if method == "precomputed" and model.kind != "lightgbm":
        raise RoleError("precomputed TreeSHAP is for LightGBM models; use method='tree'")
    if method == "precomputed" or (method == "auto" and model.kind == "lightgbm" and len(frame) >= PRECOMPUTE_ROWS):
        result = _precomputed(model, frame, forced=method == "precomputed")
    if result is None and method in ("auto", "tree"):
        if model.kind in ("lightgbm", "xgboost"):
            result = _native_tree(model, frame)
        elif model.kind == "scikit-learn":
            result = _sklearn_tree(model, frame, n_jobs)
        if result is None and method == "tree":
            raise RoleError(f"the {type(model.obj).__name__} is not a tree model TreeSHAP can explain; "
                            f"use method='auto' or 'sampling'")
    if result is None:
        bg = background if background is None else model.inputs(background)
        bg, bg_meta = _background(frame, bg, background_size, random_state)
        if method in ("auto", "linear"):
            result = _linear(model, frame, bg) or _additive_ebm(model, frame, bg)
            if result is None and method == "linear":
                raise RoleError(f"the {type(model.obj).__name__} is not a linear model on numeric inputs; "
                                f"use method='auto' or 'sampling'")
        if result is None:
            native = "probability" if model.task == "classification" else "raw"
            result = _agnostic(model, frame, bg, native if space == "auto" else space, max_evals, random_state)
        result.meta.update(bg_meta)
        if bg_meta["background_sampled_from"] is not None:
            result.method += (f"; background: {bg_meta['background_rows']:,} rows sampled at random from the "
                              f"{bg_meta['background_sampled_from']:,} {bg_meta['background_source']}")
    if space not in ("auto", result.space):
        if result.space == "raw" or space == "raw":
            raise RoleError(f"values in {result.space} space cannot be turned into {space} space")
        result = _rescale(result, space)
    return result
