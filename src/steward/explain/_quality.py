"""How far explanations can be trusted: fidelity (do they reproduce the model?) and consistency (do
the top reasons survive small input noise, and retraining the model on bootstrap samples?).

An explanation that changes with every retrain is not one to send to a person, so these figures go
into the report next to the explanations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from steward.errors import DataValidationError
from steward.explain._reasons import ReasonMap
from steward.explain._shapley import ShapleyValues, shapley_values

__all__ = ["ExplanationQuality", "explanation_quality"]


@dataclass
class ExplanationQuality:
    """Fidelity and consistency of a model's Shapley explanations.

    Attributes
    ----------
    additivity_error : float
        Largest ``|base + sum(values) - output|``: 0 up to rounding for exact methods.
    exact : bool
    noise : dict
        ``top1_agreement`` (share of rows whose top reason is unchanged), ``topk_jaccard`` (mean
        overlap of the top-k sets), over ``repeats`` draws of Gaussian noise of ``scale`` standard
        deviations on the numeric features.
    retrain : dict or None
        The same figures for models refitted on bootstrap samples of the training data, plus
        ``importance_rank_correlation`` (Spearman, global mean |value| ranking); None with the reason
        when the model cannot be refitted.
    """

    additivity_error: float
    exact: bool
    method: str
    k: int
    rows: int
    noise: dict[str, Any]
    retrain: dict[str, Any] | None
    notes: list[str] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        """The figures as rows of (kind, measure, value)."""
        rows = [("fidelity", "additivity_error", self.additivity_error)]
        rows += [("noise", k, v) for k, v in self.noise.items()]
        rows += [("retrain", k, v) for k, v in (self.retrain or {}).items()]
        return pd.DataFrame(rows, columns=["kind", "measure", "value"])

    def to_dict(self) -> dict[str, Any]:
        return {"additivity_error": self.additivity_error, "exact": self.exact, "method": self.method, "k": self.k,
                "rows": self.rows, "noise": self.noise, "retrain": self.retrain, "notes": self.notes}

    def _repr_html_(self) -> str:
        import html

        from steward._html import fragment, table

        notes = "".join(f"<p>{html.escape(n)}</p>" for n in self.notes)
        return fragment(table(self.to_frame(), limit=20, formats={"value": "number"}) + notes)


def _top_sets(sv: ShapleyValues, k: int, reasons: ReasonMap | None) -> np.ndarray:
    """``(rows, k)`` feature indices of each row's top k (reasons toward adverse, else by |value|)."""
    if reasons is None:
        strength = np.abs(sv.values)
    else:
        sign = 1.0 if reasons.adverse == "high" else -1.0
        ok = np.array([f in reasons.reasons and f not in reasons.never_cite for f in sv.features])
        strength = np.where(ok[None, :], sign * sv.values, -np.inf)
    k = min(k, strength.shape[1])
    return np.argsort(-strength, axis=1, kind="stable")[:, :k]


def _agreement(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    top1 = float(np.mean(a[:, 0] == b[:, 0])) if len(a) else float("nan")
    inter = np.array([len(set(x) & set(y)) / len(set(x) | set(y)) for x, y in zip(a.tolist(), b.tolist())])
    return top1, float(inter.mean()) if len(inter) else float("nan")


def _noisy(frame: pd.DataFrame, scale: float, rng: np.random.Generator) -> pd.DataFrame:
    out = frame.copy()
    for c in frame.columns:
        s = frame[c]
        if not pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
            continue
        sd = float(np.nanstd(s.to_numpy(dtype=float)))
        moved = s.to_numpy(dtype=float) + rng.normal(0.0, scale * sd, len(s))
        out[c] = np.round(moved).astype(s.dtype) if pd.api.types.is_integer_dtype(s.dtype) else moved
    return out


def _refit(model: Any, train: pd.DataFrame, y: np.ndarray, rng: np.random.Generator) -> Any:
    from sklearn.base import clone

    idx = rng.integers(0, len(train), len(train))
    Xb = train.iloc[idx]
    if model.kind in ("lightgbm", "xgboost"):
        text = [c for c in Xb.columns if Xb[c].dtype == object or pd.api.types.is_string_dtype(Xb[c].dtype)]
        Xb = Xb.astype({c: "category" for c in text})
    return clone(model.obj).fit(Xb, y[idx])


def quality_rows(n: int, sample: int = 500, random_state: int = 0) -> np.ndarray:
    """Positions of the rows :func:`explanation_quality` explains among ``n`` (all when ``n <= sample``)."""
    if n <= sample:
        return np.arange(n)
    return np.sort(np.random.default_rng(random_state).choice(n, sample, replace=False))


def _known(shapley: ShapleyValues | None, rows: pd.DataFrame) -> ShapleyValues | None:
    """The rows' Shapley values taken from ``shapley`` (matched by index), when it holds every one of them."""
    if shapley is None or not shapley.data.index.is_unique:
        return None
    pos = shapley.data.index.get_indexer(rows.index)
    if (pos < 0).any() or list(shapley.features) != list(rows.columns):
        return None
    return ShapleyValues(shapley.values[pos], shapley.base_value, shapley.output[pos], list(shapley.features),
                         shapley.data.iloc[pos], shapley.space, shapley.method, shapley.exact, dict(shapley.meta))


def explanation_quality(model: Any, X: pd.DataFrame, *, k: int = 4, reasons: ReasonMap | None = None,
                        noise: float = 0.05, repeats: int = 5, train: pd.DataFrame | None = None,
                        y_train: Any = None, bootstraps: int = 5, sample: int = 500,
                        random_state: int = 0, shapley: ShapleyValues | None = None,
                        **shapley_options: Any) -> ExplanationQuality:
    """Fidelity and consistency of the Shapley explanations of ``model`` on (a sample of) ``X``.

    Parameters
    ----------
    k : int
        Size of the top-reason set compared.
    reasons : ReasonMap, optional
        Compare the reason codes' top k (citable features pushing toward adverse) instead of the
        top k by absolute value.
    noise : float
        Standard deviation of the input noise, in each numeric feature's standard deviations.
    train, y_train : optional
        Training rows and labels: the model (a scikit-learn-compatible estimator) is refitted on
        ``bootstraps`` bootstrap samples and the explanations compared.
    sample : int
        Rows of ``X`` explained (a random sample when ``X`` is larger; see :func:`quality_rows`).
    shapley : ShapleyValues, optional
        Shapley values already computed for rows of ``X`` (matched by index): when they cover the
        sampled rows, those rows are not explained again.
    """
    from steward.models import wrap_model

    if noise < 0 or repeats < 1 or bootstraps < 0:
        raise DataValidationError("noise must be >= 0, repeats >= 1 and bootstraps >= 0")
    model = wrap_model(model)
    rng = np.random.default_rng(random_state)
    rows = X if len(X) <= sample else X.iloc[np.sort(rng.choice(len(X), sample, replace=False))]
    frame = model.inputs(rows)
    base = _known(shapley, frame) or shapley_values(model, frame, **shapley_options)
    top = _top_sets(base, k, reasons)
    notes = []
    t1, jac = [], []
    for _ in range(repeats):
        other = _top_sets(shapley_values(model, _noisy(frame, noise, rng), **shapley_options), k, reasons)
        a, b = _agreement(top, other)
        t1.append(a)
        jac.append(b)
    noise_fig = {"scale": noise, "repeats": repeats, "top1_agreement": float(np.mean(t1)),
                 "topk_jaccard": float(np.mean(jac))}
    retrain = None
    if train is not None and bootstraps:
        if y_train is None or len(y_train) != len(train):
            raise DataValidationError("y_train must give one label per training row")
        if not (hasattr(model.obj, "get_params") and hasattr(model.obj, "fit")):
            notes.append(f"retraining was skipped: the {type(model.obj).__name__} cannot be refitted (give a "
                         f"scikit-learn-compatible estimator)")
        else:
            y_arr = np.asarray(y_train).astype(int)
            tr = model.inputs(train)
            t1, jac, rho = [], [], []
            from scipy.stats import spearmanr

            for _ in range(bootstraps):
                other_model = wrap_model(_refit(model, tr, y_arr, rng), features=list(frame.columns))
                sv = shapley_values(other_model, frame, **shapley_options)
                a, b = _agreement(top, _top_sets(sv, k, reasons))
                t1.append(a)
                jac.append(b)
                rho.append(float(spearmanr(np.abs(base.values).mean(0), np.abs(sv.values).mean(0)).statistic))
            retrain = {"bootstraps": bootstraps, "top1_agreement": float(np.mean(t1)),
                       "topk_jaccard": float(np.mean(jac)), "importance_rank_correlation": float(np.nanmean(rho))}
    return ExplanationQuality(base.additivity_error, base.exact, base.method, k, len(frame), noise_fig, retrain, notes)
