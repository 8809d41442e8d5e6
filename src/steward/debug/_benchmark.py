"""Transparent benchmark models, and how a model compares with one (or with its previous version).

The question a validator asks: does the complex model beat a simple, trusted one, and where does
it go wrong that the simple one does not? The benchmark is trained on the training data the user
gives; both are compared on the same evaluation rows with paired bootstrap intervals.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from steward._html import HtmlView
from steward.debug._bootstrap import LOWER_IS_BETTER, QUALITY_METRICS, point_metrics, resample_weights, weighted_metrics
from steward.errors import DataValidationError, MissingExtraError, RoleError

__all__ = ["BENCHMARKS", "BenchmarkModel", "ModelComparison", "compare_models", "train_benchmark"]

BENCHMARKS = ("logistic", "tree", "ebm", "monotone_lightgbm")


def _split_columns(X: pd.DataFrame) -> tuple[list[str], list[str]]:
    numeric = [c for c in X.columns if pd.api.types.is_numeric_dtype(X[c]) and not pd.api.types.is_bool_dtype(X[c])]
    return numeric, [c for c in X.columns if c not in numeric]


class BenchmarkModel:
    """A transparent binary classifier to hold a model against.

    ``kind="logistic"`` (default): L2-regularised logistic regression on one-hot categories and
    one-hot quantile bins of numbers (``bins`` per number), so each coefficient reads as "this
    value adds so much to the log-odds". ``"tree"``: a decision tree of depth ``max_depth`` on the
    same encoding. ``"ebm"``: an Explainable Boosting Machine (needs ``interpret``).
    ``"monotone_lightgbm"``: LightGBM constrained to be monotone in the features ``constraints``
    declares (``{"income": "increasing"}`` or a YAML file; see :func:`steward.explain.load_constraints`).
    Missing values are a category of their own (numbers: imputed by the median, with a flag).

    Follows the scikit-learn estimator contract: ``fit(X, y)`` returns self; ``predict_proba``.
    """

    def __init__(self, kind: str = "logistic", *, bins: int = 10, C: float = 1.0, max_depth: int = 4,
                 random_state: int | None = 0, constraints: Any = None) -> None:
        self.kind = kind
        self.constraints = constraints
        self.bins = bins
        self.C = C
        self.max_depth = max_depth
        self.random_state = random_state

    def fit(self, X: pd.DataFrame, y: Any) -> "BenchmarkModel":
        if self.kind not in BENCHMARKS:
            raise RoleError(f"benchmark kind must be one of {', '.join(BENCHMARKS)}, got {self.kind!r}")
        try:
            from sklearn.compose import ColumnTransformer
            from sklearn.impute import SimpleImputer
            from sklearn.linear_model import LogisticRegression
            from sklearn.pipeline import make_pipeline
            from sklearn.preprocessing import KBinsDiscretizer, OneHotEncoder
            from sklearn.tree import DecisionTreeClassifier
        except ImportError as exc:  # pragma: no cover - depends on the installation
            raise MissingExtraError("benchmark models need scikit-learn: pip install 'steward[models]'") from exc
        X = pd.DataFrame(X)
        y = np.asarray(y).astype(int)
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        numeric, categorical = _split_columns(X)
        if self.kind in ("ebm", "monotone_lightgbm"):
            from steward.explain import train_ebm, train_monotone_lightgbm

            if self.kind == "ebm":
                self.model_ = train_ebm(X, y, constraints=self.constraints, random_state=self.random_state or 0)
            else:
                if not self.constraints:
                    raise RoleError("a monotone_lightgbm benchmark needs constraints, e.g. {'income': 'increasing'}")
                self.model_ = train_monotone_lightgbm(X, y, constraints=self.constraints,
                                                      random_state=self.random_state or 0)
            self.classes_ = self.model_.classes_
            return self
        parts = []
        if numeric:
            # numbers with fewer distinct values than bins would give empty bins: one-hot them instead
            few = [c for c in numeric if X[c].nunique() <= self.bins]
            many = [c for c in numeric if c not in few]
            if many:
                parts.append(("binned", make_pipeline(
                    SimpleImputer(strategy="median", add_indicator=True),
                    KBinsDiscretizer(n_bins=self.bins, encode="onehot", strategy="quantile",
                                     **({"quantile_method": "averaged_inverted_cdf"} if _has_quantile_method() else {}))),
                    many))
            categorical = categorical + few
        if categorical:
            parts.append(("onehot", make_pipeline(
                SimpleImputer(strategy="constant", fill_value="(missing)"),
                OneHotEncoder(handle_unknown="ignore")), categorical))
        encode = ColumnTransformer(parts)
        if self.kind == "logistic":
            head = LogisticRegression(C=self.C, max_iter=2000)
        else:
            head = DecisionTreeClassifier(max_depth=self.max_depth, min_samples_leaf=20, random_state=self.random_state)
        Xc = X.copy()
        for c in categorical:
            Xc[c] = Xc[c].astype(object).where(Xc[c].notna(), np.nan).astype(str).where(Xc[c].notna(), np.nan)
        import warnings

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*[Bb]ins whose width are too small.*")
            self.model_ = make_pipeline(encode, head).fit(Xc, y)
        self._categorical = categorical
        self.classes_ = self.model_.classes_
        return self

    def _prepare(self, X: pd.DataFrame) -> pd.DataFrame:
        X = pd.DataFrame(X)[list(self.feature_names_in_)].copy()
        for c in getattr(self, "_categorical", []):
            X[c] = X[c].astype(object).where(X[c].notna(), np.nan).astype(str).where(X[c].notna(), np.nan)
        return X

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        X = pd.DataFrame(X)
        if self.kind == "ebm":
            return self.model_.predict_proba(X[list(self.feature_names_in_)])
        if self.kind == "monotone_lightgbm":
            from steward.models import wrap_model

            p = wrap_model(self.model_).score(X[list(self.feature_names_in_)])  # re-codes text by category name
            return np.column_stack([1 - p, p])
        return self.model_.predict_proba(self._prepare(X))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def describe(self) -> str:
        return {"logistic": f"L2-regularised logistic regression (C={self.C}) on one-hot categories and "
                            f"{self.bins} quantile bins per number",
                "tree": f"decision tree of depth {self.max_depth} on one-hot categories and {self.bins} quantile bins",
                "ebm": "Explainable Boosting Machine (interpret)",
                "monotone_lightgbm": f"LightGBM constrained to be monotone in {self.constraints}"}[self.kind]


def _has_quantile_method() -> bool:
    import inspect

    from sklearn.preprocessing import KBinsDiscretizer

    return "quantile_method" in inspect.signature(KBinsDiscretizer).parameters


def train_benchmark(data: pd.DataFrame, *, label: str, features: Sequence[str], kind: str = "logistic",
                    positive_label: Any = None, **kwargs: Any):
    """Train a :class:`BenchmarkModel` on ``data[features]`` and wrap it as a Steward model."""
    from steward.models import wrap_model

    from steward.data import check_feature_values, check_training_label

    y = _binary_label(data, label, positive_label)
    missing = [f for f in features if f not in data.columns]
    if missing:
        raise DataValidationError(f"training data lacks feature column(s) {', '.join(map(repr, missing))}")
    check_training_label(y, column=label, what="the training data")
    check_feature_values(data, list(features), what="training data column")
    model = BenchmarkModel(kind, **kwargs).fit(data[list(features)], y)
    return wrap_model(model, features=list(features))


def _binary_label(data: pd.DataFrame, label: str, positive_label: Any = None) -> np.ndarray:
    from steward.data import binary_mapping

    if label not in data.columns:
        raise DataValidationError(f"label column {label!r} is not in the data")
    col = data[label]
    if col.isna().any():
        raise DataValidationError(f"label column {label!r} has {int(col.isna().sum())} missing value(s)")
    mapping = binary_mapping(col.unique().tolist(), column=label, role="label", positive=positive_label)
    return col.map(lambda v: mapping[v]).to_numpy(dtype=int)


def _finite(x: Any) -> float | None:
    return float(x) if x is not None and math.isfinite(float(x)) else None


@dataclass
class ModelComparison(HtmlView):
    """A model against a reference model (a benchmark or its previous version) on the same rows.

    ``metrics`` has one row per (scope, metric): scope ``all`` or ``attribute=group``; the model's
    and the reference's value, the difference (model - reference) with a paired bootstrap interval,
    and ``better`` (whether the model is better: higher AUC/accuracy, lower log loss/Brier; None when the
    scope is too small to judge or the metric is undefined there).
    """

    metrics: pd.DataFrame
    disagreements: dict[str, int]
    model_only_wrong: pd.DataFrame  # example rows where the model is wrong and the reference right
    slices: Any  # SliceReport over "model wrong, reference right", or None
    reference_name: str
    reference_kind: str
    settings: dict[str, Any]
    rows: int
    model_info: dict[str, Any] = field(default_factory=dict)

    def overall(self, metric: str = "auc") -> pd.Series:
        m = self.metrics
        return m[(m["scope"] == "all") & (m["metric"] == metric)].iloc[0]

    def to_frame(self) -> pd.DataFrame:
        return self.metrics.copy()

    def to_dict(self) -> dict[str, Any]:
        rows = []
        for rec in self.metrics.to_dict(orient="records"):
            rows.append({k: (_finite(v) if isinstance(v, float) else v) for k, v in rec.items()})
        return {
            "reference": self.reference_name, "reference_kind": self.reference_kind, "rows": self.rows,
            "settings": self.settings, "metrics": rows, "disagreements": self.disagreements,
            "model_only_wrong_examples": json_rows(self.model_only_wrong),
            "slices_model_only_wrong": None if self.slices is None else self.slices.to_dict(),
            "method": "paired percentile bootstrap: both models scored on the same resamples of the rows",
        }

    page_kind = "model debugging"

    @property
    def page_title(self) -> str:
        return f"Model against the {self.reference_name}"

    def html(self, heading: int = 2) -> str:
        """Page body: the differences with their intervals, where only the model is wrong, examples."""
        from steward.debug._pages import comparison_html

        return comparison_html(self, heading)

    def chart(self) -> str:
        from steward.debug._charts import comparison_chart

        return comparison_chart(self)


def json_rows(frame: pd.DataFrame, limit: int = 20) -> list[dict[str, Any]]:
    import json

    return json.loads(frame.head(limit).to_json(orient="records", default_handler=str))


def compare_models(
    model: Any,
    reference: Any,
    data: pd.DataFrame,
    *,
    label: str,
    positive_label: Any = None,
    protected: Sequence[str] = (),
    threshold: float = 0.5,
    reference_name: str = "benchmark",
    reference_kind: str = "benchmark",
    draws: int = 500,
    confidence: float = 0.95,
    slice_features: Sequence[str] | None = None,
    min_group_size: int = 30,
    random_state: int = 0,
    on_progress: Callable[[str, float], None] | None = None,
) -> ModelComparison:
    """Compare ``model`` with ``reference`` (both Steward models or anything :func:`wrap_model`
    takes) on the rows of ``data``: AUC, accuracy, log loss and Brier score with paired bootstrap
    intervals, overall and per protected group; rows and slices where the model is wrong and the
    reference right."""
    from steward.models import wrap_model
    from steward.slices import find_slices

    model, reference = wrap_model(model), wrap_model(reference)
    if not 0 < confidence < 1:
        raise RoleError(f"confidence must be between 0 and 1, got {confidence!r}")
    if draws < 50:
        raise RoleError(f"draws must be at least 50 for a percentile interval, got {draws}")
    y = _binary_label(data, label, positive_label)
    if len(y) < max(min_group_size, 1) or len(np.unique(y)) < 2:
        raise DataValidationError(
            f"the evaluation data has {len(y):,} rows with {int(y.sum()):,} of label 1 in {label!r}; comparing two "
            f"models needs at least {max(min_group_size, 1)} rows and both outcomes: give more rows")
    s_m, s_r = model.score(data), reference.score(data)
    d_m, d_r = (s_m >= threshold).astype(int), (s_r >= threshold).astype(int)
    for name, s in (("model", s_m), ("reference", s_r)):
        if not ((s >= 0) & (s <= 1)).all():
            raise DataValidationError(f"the {name}'s scores are not probabilities in [0, 1]; compare classifiers "
                                      "that output the probability of the positive class")
    rng = np.random.default_rng(random_state)
    n = len(y)
    alpha = (1 - confidence) / 2
    scopes: list[tuple[str, np.ndarray]] = [("all", np.ones(n, dtype=bool))]
    for attr in protected:
        if attr not in data.columns:
            raise DataValidationError(f"protected attribute {attr!r} is not in the data")
        for g in sorted(data[attr].dropna().unique(), key=str):
            scopes.append((f"{attr}={g}", (data[attr] == g).to_numpy()))
    rows = []
    chunk = 100
    for i, (scope, mask) in enumerate(scopes):
        yy, a, b, da, db = y[mask], s_m[mask], s_r[mask], d_m[mask], d_r[mask]
        pm, pr = point_metrics(yy, a, da), point_metrics(yy, b, db)
        diffs: dict[str, list[np.ndarray]] = {m: [] for m in QUALITY_METRICS}
        small = mask.sum() < min_group_size
        if not small:
            for start in range(0, draws, chunk):
                w = resample_weights(int(mask.sum()), min(chunk, draws - start), rng)
                wm, wr = weighted_metrics(yy, a, da, w), weighted_metrics(yy, b, db, w)
                for m in QUALITY_METRICS:
                    diffs[m].append(wm[m] - wr[m])
        for m in QUALITY_METRICS:
            d = np.concatenate(diffs[m]) if diffs[m] else np.array([np.nan])
            d = d[np.isfinite(d)]
            lo, hi = (np.quantile(d, [alpha, 1 - alpha]) if len(d) else (np.nan, np.nan))
            diff = pm[m] - pr[m]
            rows.append({"scope": scope, "rows": int(mask.sum()), "metric": m, "model": pm[m], "reference": pr[m],
                         "difference": diff, "difference_ci_low": float(lo), "difference_ci_high": float(hi),
                         "better": None if small or not np.isfinite(diff) else
                         bool(diff < 0 if m in LOWER_IS_BETTER else diff > 0),
                         "too_small_to_judge": bool(small)})
        if on_progress:
            on_progress("bootstrap", (i + 1) / len(scopes))
    m_wrong, r_wrong = d_m != y, d_r != y
    only = m_wrong & ~r_wrong
    disagreements = {"rows": n, "model_wrong_reference_right": int(only.sum()),
                     "reference_wrong_model_right": int((r_wrong & ~m_wrong).sum()),
                     "both_wrong": int((m_wrong & r_wrong).sum()), "decisions_differ": int((d_m != d_r).sum())}
    order = np.argsort(-np.abs(s_m[only] - s_r[only]), kind="stable")
    examples = data[only].iloc[order].assign(label=y[only][order], model_score=s_m[only][order],
                                              reference_score=s_r[only][order])
    feats = list(slice_features) if slice_features is not None else list(model.features or [])
    feats = [f for f in feats if f in data.columns]
    slices = None
    if feats and only.any():
        slices = find_slices(data, only.astype(float), features=feats, k=10, max_level=2,
                             min_support=max(min_group_size, 1))
    return ModelComparison(
        metrics=pd.DataFrame(rows), disagreements=disagreements, model_only_wrong=examples, slices=slices,
        reference_name=reference_name, reference_kind=reference_kind,
        settings={"threshold": threshold, "draws": draws, "confidence": confidence, "random_state": random_state,
                  "protected": list(protected)},
        rows=n, model_info=model.describe(),
    )
