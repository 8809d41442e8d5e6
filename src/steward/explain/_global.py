"""Global views of a model: permutation importance, partial dependence with ICE curves, and
accumulated local effects (ALE), optionally per protected group.

All work through :class:`steward.models.Model` ``score`` (the probability for a classifier), so they
apply to any model Steward can score. Grids: the distinct values of a number with few of them, else
quantiles of the data; for a text or category feature its levels, the most frequent ``2 * grid_points``
of them when it has more.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from steward.errors import DataValidationError

__all__ = ["FeatureImportance", "permutation_importance", "EffectCurves", "partial_dependence",
           "accumulated_local_effects"]


@dataclass
class FeatureImportance:
    """Importance per feature: the mean drop of ``metric`` when the feature's values are shuffled."""

    table: pd.DataFrame  # feature, importance, std
    metric: str
    baseline: float
    n_repeats: int

    def to_frame(self) -> pd.DataFrame:
        return self.table

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "baseline": self.baseline, "n_repeats": self.n_repeats,
                "features": self.table.to_dict(orient="records")}

    def _repr_html_(self) -> str:
        from steward._html import fragment, number, table

        return fragment(f"<p>Permutation importance: the drop in {self.metric} (from {number(self.baseline)}) when a "
                        f"feature's values are shuffled, mean of {self.n_repeats} shuffles.</p>"
                        + table(self.table, limit=15, formats={"importance": "number", "std": "number"}))


_METRICS = ("auc", "log_loss", "brier", "accuracy", "r2")


def _metric(name: str, y: np.ndarray, s: np.ndarray, threshold: float) -> float:
    from sklearn import metrics as skm

    if name == "auc":
        return float(skm.roc_auc_score(y, s))
    if name == "log_loss":
        return -float(skm.log_loss(y, np.clip(s, 1e-15, 1 - 1e-15), labels=[0, 1]))
    if name == "brier":
        return -float(np.mean((s - y) ** 2))
    if name == "accuracy":
        return float(np.mean((s >= threshold) == y))
    return float(skm.r2_score(y, s))


def permutation_importance(model: Any, X: pd.DataFrame, y: Any, *, metric: str = "auc", n_repeats: int = 5,
                           threshold: float = 0.5, random_state: int = 0) -> FeatureImportance:
    """Permutation importance: the mean drop of the model's ``metric`` when a feature's values are shuffled.

    ``metric`` is one of auc, log_loss, brier, accuracy (classifiers) or r2 (regressors); losses are
    negated so a larger drop always means a more important feature. The shuffles are scikit-learn's
    (``sklearn.inspection.permutation_importance`` with the same ``random_state`` gives the same figures),
    but the ``n_repeats`` shuffled copies of a feature are scored in one call of the model.
    """
    from sklearn.utils import check_random_state

    from steward.models import wrap_model

    if metric not in _METRICS:
        raise DataValidationError(f"metric must be one of {', '.join(_METRICS)}, got {metric!r}")
    model = wrap_model(model)
    frame = model.inputs(X)
    y = np.asarray(y, dtype=float)
    if len(y) != len(frame):
        raise DataValidationError(f"y has {len(y)} values for {len(frame)} rows")
    n = len(frame)
    baseline = _metric(metric, y, model.score(frame), threshold)
    # scikit-learn draws one seed, then each feature shuffles with a fresh RandomState of it, each repeat
    # shuffling the previous repeat's order again
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max + 1)

    def shuffled(column: str) -> pd.DataFrame:
        rng = check_random_state(seed)
        order = np.arange(n)
        values, out = frame[column].to_numpy(), []
        for _ in range(n_repeats):
            rng.shuffle(order)
            values = values[order]
            out.append(values)
        stacked = pd.concat([frame] * n_repeats, ignore_index=True)
        stacked[column] = pd.Series(np.concatenate(out), dtype=frame[column].dtype)
        return stacked

    # a model call costs a fixed overhead besides its rows: score several features' shuffles together
    per_call = max(1, 200_000 // max(n * n_repeats, 1))
    columns = list(frame.columns)
    drops = np.empty((len(columns), n_repeats))
    for start in range(0, len(columns), per_call):
        chunk = columns[start:start + per_call]
        scores = model.score(pd.concat([shuffled(c) for c in chunk], ignore_index=True))
        for j, s in enumerate(scores.reshape(len(chunk), n_repeats, n)):
            drops[start + j] = [baseline - _metric(metric, y, r, threshold) for r in s]
    table = pd.DataFrame({"feature": list(frame.columns), "importance": drops.mean(axis=1),
                          "std": drops.std(axis=1)}).sort_values("importance", ascending=False, kind="stable")
    return FeatureImportance(table.reset_index(drop=True), metric, baseline, n_repeats)


@dataclass
class EffectCurves:
    """Effect of one feature on the score: partial dependence (with ICE curves) or ALE.

    ``curves`` has one row per (group, grid point): ``group`` ("all" or a group's value), ``value``,
    ``effect`` and ``rows`` (rows the point stands on). ``ice`` (partial dependence only) is the
    ``(sampled rows, grid)`` matrix of individual curves for the "all" group.
    """

    feature: str
    kind: str  # "partial_dependence" or "ale"
    curves: pd.DataFrame
    numeric: bool
    ice: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        return self.curves

    def to_dict(self) -> dict[str, Any]:
        rows = self.curves.assign(value=self.curves["value"].map(lambda v: v.item() if hasattr(v, "item") else v))
        return {"feature": self.feature, "kind": self.kind, "numeric": self.numeric,
                "curves": rows.to_dict(orient="records"), **self.meta}

    def chart(self) -> str:
        from steward.explain._charts import effect_chart

        return effect_chart(self)

    def _repr_html_(self) -> str:
        return self.chart()


def _is_numeric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype) \
        and not isinstance(s.dtype, pd.CategoricalDtype)


def _grid(s: pd.Series, points: int) -> tuple[np.ndarray, bool]:
    s = s.dropna()
    if s.empty:
        raise DataValidationError(f"feature {s.name!r} has no values to vary")
    if not _is_numeric(s):
        counts = s.astype(object).value_counts()
        return counts.index.to_numpy(dtype=object)[:max(points, 2) * 2], False
    uniq = np.unique(s.to_numpy(dtype=float))
    if len(uniq) <= points:
        return uniq, True
    return np.unique(np.quantile(s.to_numpy(dtype=float), np.linspace(0, 1, points), method="nearest")), True


def _check_feature(frame: pd.DataFrame, feature: str) -> None:
    if feature not in frame.columns:
        raise DataValidationError(f"feature {feature!r} is not a model input; the inputs are: "
                                  f"{', '.join(map(str, frame.columns))}")


def _groups(X: pd.DataFrame, by: str | None) -> list[tuple[str, np.ndarray]]:
    out = [("all", np.ones(len(X), dtype=bool))]
    if by is None:
        return out
    if by not in X.columns:
        raise DataValidationError(f"group column {by!r} is not in the data; the columns are: "
                                  f"{', '.join(map(str, X.columns))}")
    for value in X[by].dropna().unique():
        out.append((str(value), (X[by] == value).to_numpy()))
    return out


def _stacked(frame: pd.DataFrame, feature: str, grid: np.ndarray) -> pd.DataFrame:
    """Each row repeated once per grid value, with ``feature`` set to it (rows outer, grid inner)."""
    n = len(frame)
    stacked = frame.loc[frame.index.repeat(len(grid))].reset_index(drop=True)
    values = np.tile(grid, n)
    col = frame[feature]
    if isinstance(col.dtype, pd.CategoricalDtype):
        stacked[feature] = pd.Categorical(values, categories=col.cat.categories)
    elif _is_numeric(col):
        whole = pd.api.types.is_integer_dtype(col.dtype) and np.all(np.mod(values.astype(float), 1) == 0)
        stacked[feature] = values.astype(col.dtype if whole else float)
    else:
        stacked[feature] = values
    return stacked


def _ice(model: Any, frame: pd.DataFrame, feature: str, grid: np.ndarray) -> np.ndarray:
    """``(rows, grid)`` scores with the feature set to each grid value (one model call)."""
    return model.score(_stacked(frame, feature, grid)).reshape(len(frame), len(grid))


def _ice_many(model: Any, frame: pd.DataFrame, grids: Sequence[tuple[str, np.ndarray]]) -> list[np.ndarray]:
    """:func:`_ice` of several features in one model call (a call costs a fixed overhead besides its rows)."""
    stacks = [_stacked(frame, f, np.asarray(grid)) for f, grid in grids]
    if not stacks:
        return []
    scores = model.score(pd.concat(stacks, ignore_index=True))
    out, start = [], 0
    for (_, grid), stack in zip(grids, stacks):
        out.append(scores[start:start + len(stack)].reshape(len(frame), len(grid)))
        start += len(stack)
    return out


def partial_dependence(model: Any, X: pd.DataFrame, feature: str, *, grid_points: int = 20,
                       sample: int = 1000, by: str | None = None, random_state: int = 0) -> EffectCurves:
    """Partial dependence of the score on ``feature``, with ICE curves for a sample of rows.

    The partial dependence at a value is the mean score over the rows (at most ``sample`` of them)
    with ``feature`` set to that value; ``by`` adds one curve per value of that column (a protected
    attribute, say), each averaged over that group's rows.
    """
    from steward.models import wrap_model

    model = wrap_model(model)
    frame = model.inputs(X)
    _check_feature(frame, feature)
    grid, numeric = _grid(frame[feature], grid_points)
    rng = np.random.default_rng(random_state)
    rows = []
    ice_all = None
    for name, mask in _groups(X, by):
        idx = np.flatnonzero(mask)
        if len(idx) > sample:
            idx = np.sort(rng.choice(idx, sample, replace=False))
        if not len(idx):
            continue
        ice = _ice(model, frame.iloc[idx], feature, grid)
        if name == "all":
            ice_all = ice
        for v, e in zip(grid, ice.mean(axis=0)):
            rows.append({"group": name, "value": v, "effect": float(e), "rows": int(len(idx))})
    return EffectCurves(feature, "partial_dependence", pd.DataFrame(rows), numeric, ice_all,
                        {"grid_points": len(grid), "by": by})


def accumulated_local_effects(model: Any, X: pd.DataFrame, feature: str, *, bins: int = 20,
                              by: str | None = None) -> EffectCurves:
    """First-order ALE of a numeric feature (Apley and Zhu, 2020), centred to mean zero over the rows.

    The feature's range is cut at quantiles; within each interval the score's change from the lower
    to the upper edge is averaged over the rows that fall in it, and the averages are accumulated.
    Unlike partial dependence, ALE does not score impossible rows when features are correlated.
    """
    from steward.models import wrap_model

    model = wrap_model(model)
    frame = model.inputs(X)
    _check_feature(frame, feature)
    if not _is_numeric(frame[feature]):
        raise DataValidationError(f"ALE needs a numeric feature; {feature!r} is not numeric: use partial "
                                  f"dependence for it")
    rows = []
    for name, mask in _groups(X, by):
        sub = frame[mask]
        x = sub[feature].to_numpy(dtype=float)
        ok = ~np.isnan(x)
        sub, x = sub[ok], x[ok]
        if len(sub) < 2:
            continue
        edges = np.unique(np.quantile(x, np.linspace(0, 1, bins + 1), method="nearest"))
        if len(edges) < 2:
            continue
        # interval k holds (edges[k-1], edges[k]]; the lowest edge's rows go into the first interval
        k = np.clip(np.searchsorted(edges, x, side="left"), 1, len(edges) - 1)
        lo = sub.assign(**{feature: edges[k - 1]})
        hi = sub.assign(**{feature: edges[k]})
        if pd.api.types.is_integer_dtype(frame[feature].dtype) and np.all(np.mod(edges, 1) == 0):
            lo[feature] = lo[feature].astype(frame[feature].dtype)
            hi[feature] = hi[feature].astype(frame[feature].dtype)
        diff = model.score(hi) - model.score(lo)
        counts = np.bincount(k, minlength=len(edges))[1:]
        local = np.bincount(k, weights=diff, minlength=len(edges))[1:] / np.maximum(counts, 1)
        ale = np.concatenate([[0.0], np.cumsum(local)])  # at each edge
        # centre: the mean over the rows of the ALE at their own value (interval midpoints' average)
        mid = (ale[:-1] + ale[1:]) / 2
        ale = ale - np.sum(mid * counts) / counts.sum()
        edge_rows = np.concatenate([[counts[0]], counts])
        for v, e, r in zip(edges, ale, edge_rows):
            rows.append({"group": name, "value": float(v), "effect": float(e), "rows": int(r)})
    return EffectCurves(feature, "ale", pd.DataFrame(rows), True, None, {"bins": bins, "by": by})


def effects(model: Any, X: pd.DataFrame, features: Sequence[str], *, by: str | None = None,
            grid_points: int = 20, sample: int = 1000) -> list[EffectCurves]:
    """Partial dependence for each feature, and ALE for the numeric ones."""
    out = []
    for f in features:
        out.append(partial_dependence(model, X, f, grid_points=grid_points, sample=sample, by=by))
        if out[-1].numeric:
            out.append(accumulated_local_effects(model, X, f, bins=grid_points, by=by))
    return out
