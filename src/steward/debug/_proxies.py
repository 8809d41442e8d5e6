"""Proxy detection: which features stand in for a protected attribute.

Each feature alone: how well it separates the groups (AUC, one group against the rest, the best
group; for a category feature its out-of-fold group shares are the score), Cramér's V of its
association with the attribute (numbers cut into quantile bins) and the mutual information in bits.
All features together: a cross-validated adversary model predicting the attribute (AUC). A feature
above the policy's thresholds is a proxy: the report says which and how strong.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from steward.errors import DataValidationError

__all__ = ["ProxyReport", "proxy_detection"]


@dataclass
class ProxyReport:
    """``table``: one row per (feature, attribute) with ``auc``, ``cramers_v``, ``mutual_information``
    (bits) and ``proxy`` (above a threshold); ``adversary``: per attribute, the cross-validated AUC of
    a model predicting it from all the features."""

    table: pd.DataFrame
    adversary: pd.DataFrame
    max_auc: float
    max_cramers_v: float

    def proxies(self) -> pd.DataFrame:
        return self.table[self.table["proxy"]]

    def to_frame(self) -> pd.DataFrame:
        return self.table

    def to_dict(self) -> dict[str, Any]:
        from steward.debug._benchmark import json_rows

        return {"max_auc": self.max_auc, "max_cramers_v": self.max_cramers_v,
                "features": json_rows(self.table, limit=len(self.table)),
                "adversary": json_rows(self.adversary, limit=len(self.adversary))}

    def _repr_html_(self) -> str:
        return "<p>Proxy detection</p>" + self.table.to_html(index=False)


def _is_number(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype) \
        and not isinstance(s.dtype, pd.CategoricalDtype)


def _binned(s: pd.Series, bins: int = 10) -> np.ndarray:
    if _is_number(s) and s.nunique() > bins:
        return pd.qcut(s, bins, labels=False, duplicates="drop").fillna(-1).to_numpy()
    return pd.factorize(s.astype(object).where(s.notna(), "(missing)"))[0]


def _oof_shares(codes: np.ndarray, target: np.ndarray, folds: int, rng: np.random.Generator) -> np.ndarray:
    """Each row's category's share of ``target`` among the other folds' rows (no row sees itself)."""
    fold = rng.integers(0, folds, len(codes))
    out = np.empty(len(codes))
    prior = target.mean()
    for f in range(folds):
        inside = fold == f
        n = np.bincount(codes[~inside], minlength=codes.max() + 1)
        hits = np.bincount(codes[~inside], weights=target[~inside], minlength=codes.max() + 1)
        share = (hits + prior) / (n + 1.0)  # one pseudo-row at the prior for unseen categories
        out[inside] = share[codes[inside]]
    return out


def proxy_detection(
    data: pd.DataFrame,
    protected: Sequence[str],
    features: Sequence[str],
    *,
    max_auc: float = 0.75,
    max_cramers_v: float = 0.30,
    adversary: bool = True,
    folds: int = 5,
    min_group_size: int = 30,
    random_state: int = 0,
) -> ProxyReport:
    """How strongly each feature (and all together) predicts each protected attribute.

    A feature is a proxy when its AUC reaches ``max_auc`` or its Cramér's V reaches ``max_cramers_v``.
    Groups with fewer than ``min_group_size`` rows are not used for the AUC (a handful of rows is
    separated by chance).
    """
    from scipy.stats.contingency import association
    from sklearn.metrics import mutual_info_score, roc_auc_score

    attrs = list(protected)
    missing = [c for c in [*attrs, *features] if c not in data.columns]
    if missing:
        raise DataValidationError(f"column(s) {', '.join(map(repr, missing))} not in the data; the columns are: "
                                  f"{', '.join(map(str, data.columns))}")
    feats = [f for f in features if f not in attrs]
    if not feats:
        raise DataValidationError("give at least one feature that is not a protected attribute")
    rng = np.random.default_rng(random_state)
    rows = []
    for attr in attrs:
        a = data[attr].astype(object)
        ok = a.notna().to_numpy()
        a_codes, levels = pd.factorize(a[ok])
        for f in feats:
            s = data.loc[ok, f]
            binned = _binned(s)
            table = pd.crosstab(binned, a_codes).to_numpy()
            v = float(association(table, method="cramer")) if min(table.shape) > 1 else 0.0
            mi = float(mutual_info_score(a_codes, binned) / np.log(2))
            best, best_group = 0.5, None
            for gi, level in enumerate(levels):
                y = (a_codes == gi).astype(float)
                if y.min() == y.max() or min(y.sum(), len(y) - y.sum()) < min_group_size:
                    continue
                if _is_number(s):
                    x = s.to_numpy(dtype=float)
                    x = np.where(np.isnan(x), np.nanmedian(x), x)
                else:
                    x = _oof_shares(binned, y, folds, rng)
                auc = float(roc_auc_score(y, x))
                auc = max(auc, 1 - auc)
                if auc > best:
                    best, best_group = auc, level
            rows.append({"feature": f, "attribute": attr, "auc": best, "best_separated_group": best_group,
                         "cramers_v": v, "mutual_information": mi,
                         "proxy": bool(best >= max_auc or v >= max_cramers_v)})
    table = pd.DataFrame(rows).sort_values(["attribute", "auc"], ascending=[True, False], kind="stable")
    adv = []
    if adversary:
        for attr in attrs:
            adv.append({"attribute": attr, **_adversary(data, attr, feats, folds, random_state)})
    return ProxyReport(table.reset_index(drop=True), pd.DataFrame(adv), max_auc, max_cramers_v)


def _adversary(data: pd.DataFrame, attr: str, feats: list[str], folds: int, seed: int) -> dict[str, Any]:
    """Cross-validated AUC of a gradient-boosted model predicting ``attr`` from all of ``feats``."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    ok = data[attr].notna().to_numpy()
    y, levels = pd.factorize(data.loc[ok, attr].astype(object))
    counts = np.bincount(y)
    if len(levels) < 2 or counts.min() < folds:
        return {"auc": float("nan"), "note": "too few rows in some group to cross-validate"}
    X = data.loc[ok, feats].copy()
    cats = [c for c in feats if not _is_number(X[c])]
    for c in cats:
        text = X[c].astype(object).where(X[c].notna(), "(missing)")
        # the booster takes at most 255 categories; a code of more (a zip code) goes in as a number
        X[c] = pd.Categorical(text) if text.nunique() <= 250 else pd.factorize(text)[0].astype(float)
    model = HistGradientBoostingClassifier(max_iter=100, categorical_features="from_dtype", random_state=seed)
    proba = cross_val_predict(model, X, y, cv=StratifiedKFold(folds, shuffle=True, random_state=seed),
                              method="predict_proba")
    auc = roc_auc_score(y, proba[:, 1]) if len(levels) == 2 else roc_auc_score(y, proba, multi_class="ovr",
                                                                              average="weighted")
    return {"auc": float(auc), "rows": int(ok.sum()), "groups": len(levels), "note": ""}
