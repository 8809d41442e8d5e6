"""Fix the data: reweighing (Kamiran and Calders, 2012) and disparate impact removal (Feldman et al.,
2015), both usable inside a scikit-learn Pipeline.

The protected column is named in the constructor and read from ``X`` (then dropped before the
estimator sees it, unless ``keep_sensitive=True``), because a Pipeline passes only ``X`` and ``y``
from step to step. Neither uses the protected attribute at decision time: the reweighed model is an
ordinary model, and the repair of new rows needs the attribute only when the transformer is applied
to them (say so to the reviewer when it is part of a deployed pipeline).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from steward.errors import DataValidationError

__all__ = ["reweighing_weights", "ReweighingClassifier", "DisparateImpactRemover"]


def reweighing_weights(groups: Any, y: Any, sample_weight: Any = None) -> np.ndarray:
    """Kamiran-Calders weights ``w(g, y) = P(g) P(y) / P(g, y)``: under them the label is independent
    of the group (every group has the overall positive rate). Rows of an empty cell do not occur.

    With ``sample_weight`` the probabilities are weighted shares, as in AIF360's ``Reweighing``:
    ``w(g, y) = W(g) W(y) / (W W(g, y))`` with ``W(·)`` the sum of sample weights over those rows.
    The result is the reweighing factor only: a row's final weight is ``sample_weight * w``, and
    under it every group has the overall weighted positive rate.
    """
    g = pd.Series(np.asarray(groups, dtype=object)).astype(str).to_numpy()
    y = np.asarray(y)
    if len(g) != len(y):
        raise DataValidationError(f"groups has {len(g)} values and y {len(y)}; give one of each per row")
    if sample_weight is None:
        sw = np.ones(len(y))
    else:
        sw = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
        if len(sw) != len(y):
            raise DataValidationError(f"sample_weight has {len(sw)} values and y {len(y)}; give one per row")
        if not np.all(np.isfinite(sw)) or np.any(sw < 0):
            raise DataValidationError("sample_weight must be finite and non-negative")
    if not len(y):
        return np.empty(0)
    gi, gl = pd.factorize(g)
    yi, yl = pd.factorize(y)
    joint = np.zeros((len(gl), len(yl)))
    np.add.at(joint, (gi, yi), sw)
    total = joint.sum()
    if not total > 0:
        raise DataValidationError("sample_weight sums to 0: there is nothing to reweigh")
    wg, wy = joint.sum(axis=1), joint.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        # a (group, label) cell whose rows all weigh 0 keeps factor 1: those rows weigh nothing anyway
        return np.where(joint[gi, yi] > 0, (wg[gi] * wy[yi]) / (total * joint[gi, yi]), 1.0)


def _sensitive(X: pd.DataFrame, column: str, where: str) -> pd.Series:
    if not isinstance(X, pd.DataFrame):
        raise DataValidationError(f"{where} needs a DataFrame holding the protected column {column!r}")
    if column not in X.columns:
        raise DataValidationError(f"{where}: protected column {column!r} is not in X; the columns are: "
                                  f"{', '.join(map(str, X.columns))}")
    return X[column].astype(object).where(X[column].notna(), "(missing)").astype(str)


class ReweighingClassifier:
    """Fit ``estimator`` with Kamiran-Calders weights for the groups of ``sensitive`` (a column of X).

    A scikit-learn meta-estimator: ``fit(X, y, sample_weight=None)`` computes the weights (from the
    weighted counts when ``sample_weight`` is given) and fits a clone of ``estimator`` on ``X`` without the protected column (unless
    ``keep_sensitive``); ``predict`` and ``predict_proba`` drop it the same way.
    """

    def __init__(self, estimator: Any, sensitive: str, keep_sensitive: bool = False) -> None:
        self.estimator = estimator
        self.sensitive = sensitive
        self.keep_sensitive = keep_sensitive

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"estimator": self.estimator, "sensitive": self.sensitive, "keep_sensitive": self.keep_sensitive}

    def set_params(self, **params: Any) -> "ReweighingClassifier":
        for k, v in params.items():
            setattr(self, k, v)
        return self

    def _features(self, X: pd.DataFrame) -> pd.DataFrame:
        return X if self.keep_sensitive else X.drop(columns=[self.sensitive])

    def fit(self, X: pd.DataFrame, y: Any, sample_weight: Any = None) -> "ReweighingClassifier":
        from sklearn.base import clone

        groups = _sensitive(X, self.sensitive, "ReweighingClassifier.fit")
        # factors from the weighted counts, so the weighted positive rates come out equal
        w = reweighing_weights(groups, y, sample_weight)
        if sample_weight is not None:
            w = w * np.asarray(sample_weight, dtype=float).reshape(-1)
        self.weights_ = w
        self.estimator_ = clone(self.estimator).fit(self._features(X), y, sample_weight=w)
        self.classes_ = getattr(self.estimator_, "classes_", None)
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.estimator_.predict(self._features(X))

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.estimator_.predict_proba(self._features(X))


class DisparateImpactRemover:
    """Repair numeric features so their distributions no longer tell the groups apart (Feldman et al.).

    For each numeric feature, each value is moved toward the value at the same within-group quantile
    of the *median distribution* (at each quantile, the median over groups of the groups' quantiles):
    ``repaired = (1 - repair_level) * x + repair_level * median_quantile(rank of x in its group)``.
    At ``repair_level=1`` every group's distribution of the feature is the same (ranks within each
    group are kept); at 0 nothing changes. Text columns pass through unchanged.

    Parameters
    ----------
    sensitive : str
        The protected column of X.
    repair_level : float in [0, 1]
    features : list of str, optional
        The numeric columns to repair (default: every numeric column but the protected one).
    keep_sensitive : bool
        Keep the protected column in the output (default: drop it).

    ``fit`` keeps each group's sorted values, so new rows are repaired against the training data's
    distributions (a row's rank is its mid-rank among its group's training values).
    """

    def __init__(self, sensitive: str, repair_level: float = 1.0, features: list[str] | None = None,
                 keep_sensitive: bool = False) -> None:
        self.sensitive = sensitive
        self.repair_level = repair_level
        self.features = features
        self.keep_sensitive = keep_sensitive

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("sensitive", "repair_level", "features", "keep_sensitive")}

    def set_params(self, **params: Any) -> "DisparateImpactRemover":
        for k, v in params.items():
            setattr(self, k, v)
        return self

    def fit(self, X: pd.DataFrame, y: Any = None) -> "DisparateImpactRemover":
        if not 0.0 <= float(self.repair_level) <= 1.0:
            raise DataValidationError(f"repair_level must be between 0 and 1, got {self.repair_level}")
        groups = _sensitive(X, self.sensitive, "DisparateImpactRemover.fit")
        feats = self.features if self.features is not None else [
            c for c in X.columns if c != self.sensitive and pd.api.types.is_numeric_dtype(X[c].dtype)
            and not pd.api.types.is_bool_dtype(X[c].dtype)]
        bad = [f for f in feats if f not in X.columns or not pd.api.types.is_numeric_dtype(X[f].dtype)]
        if bad:
            raise DataValidationError(f"DisparateImpactRemover: {', '.join(map(repr, bad))} are not numeric columns "
                                      f"of X; it repairs numbers only")
        self.features_ = list(feats)
        self.groups_ = sorted(groups.unique())
        # each group's sorted values: a new row's rank in its group, and any group's quantile at a rank
        self.sorted_ = {f: {g: np.sort(X.loc[(groups == g).to_numpy(), f].dropna().to_numpy(dtype=float))
                            for g in self.groups_} for f in self.features_}
        for f in self.features_:
            self.sorted_[f] = {g: v for g, v in self.sorted_[f].items() if len(v)}
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """Repair rows by their mid-rank among their group's training values (ties share a level)."""
        return self._repair(X, ordinal=False)

    def _repair(self, X: pd.DataFrame, ordinal: bool) -> pd.DataFrame:
        groups = _sensitive(X, self.sensitive, "DisparateImpactRemover.transform")
        unseen = sorted(set(groups.unique()) - set(self.groups_))
        if unseen:
            raise DataValidationError(f"DisparateImpactRemover: group(s) {', '.join(unseen)} of {self.sensitive!r} were "
                                      f"not seen by fit; refit on data holding every group")
        out = X.copy()
        lam = float(self.repair_level)
        for f in self.features_:
            x = X[f].to_numpy(dtype=float)
            new = x.copy()
            by_group = self.sorted_[f]
            for g, values in by_group.items():
                sel = (groups == g).to_numpy() & ~np.isnan(x)
                if not sel.any():
                    continue
                if ordinal:  # the training rows themselves: rank i of n is level i / (n - 1), ties in row order
                    level = np.empty(int(sel.sum()))
                    level[np.argsort(x[sel], kind="stable")] = np.arange(sel.sum()) / max(sel.sum() - 1, 1)
                else:
                    below = np.searchsorted(values, x[sel], side="left")
                    upto = np.searchsorted(values, x[sel], side="right")
                    level = np.clip(((below + upto) / 2 - 0.5) / max(len(values) - 1, 1), 0, 1)
                target = np.median(np.vstack([np.quantile(v, level) for v in by_group.values()]), axis=0)
                new[sel] = (1 - lam) * x[sel] + lam * target
            out[f] = new
        return out if self.keep_sensitive else out.drop(columns=[self.sensitive])

    def fit_transform(self, X: pd.DataFrame, y: Any = None) -> pd.DataFrame:
        """Fit, then repair the same rows by their ordinal rank in their group (exact repair: at level 1,
        groups of equal size get the same values, rank by rank)."""
        return self.fit(X, y)._repair(X, ordinal=True)
