"""Proxy detection: which features stand in for a protected attribute.

Each feature alone: how well it separates the groups (AUC, one group against the rest, the best
group; for a category feature its out-of-fold group shares are the score), Cramér's V of its
association with the attribute (numbers cut into quantile bins; bias-corrected, Bergsma 2013, so that
a category of many small levels is not an association by chance) and the mutual information in bits.

An out-of-fold share is anti-correlated with the row's own membership (the row is left out of its own
category's share), so an unrelated category scores an AUC *below* 0.5 — and reading that as a
separation in the other direction would call it a proxy. A category's AUC is therefore taken in the
direction of the shares (at least 0.5); a number's, in whichever direction separates better.
All features together: a cross-validated adversary model predicting the attribute (AUC). A feature
above the policy's thresholds is a proxy: the report says which and how strong.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from steward._html import HtmlView
from steward.errors import DataValidationError

__all__ = ["ProxyReport", "proxy_detection"]


@dataclass
class ProxyReport(HtmlView):
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

    page_title = "Proxies of protected attributes"
    page_kind = "probe"

    def html(self, heading: int = 2) -> str:
        """Page body: the verdict, each feature's strength as a proxy, and all features together."""
        from steward.debug._pages import proxies_html

        return proxies_html(self, heading)


def _is_number(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype) \
        and not isinstance(s.dtype, pd.CategoricalDtype)


def _binned(s: pd.Series, bins: int = 10) -> np.ndarray:
    if _is_number(s) and s.nunique() > bins:
        return pd.qcut(s, bins, labels=False, duplicates="drop").fillna(-1).to_numpy()
    return pd.factorize(s.astype(object).where(s.notna(), "(missing)"))[0]


def _cramers_v(table: np.ndarray) -> float:
    """Bias-corrected Cramér's V (Bergsma, 2013): 0 for independent columns however many levels they have."""
    from scipy.stats import chi2_contingency

    n = float(table.sum())
    r, k = table.shape
    if min(r, k) < 2 or n < 2:
        return 0.0
    phi2 = chi2_contingency(table, correction=False)[0] / n
    phi2 = max(0.0, phi2 - (k - 1) * (r - 1) / (n - 1))
    rc, kc = r - (r - 1) ** 2 / (n - 1), k - (k - 1) ** 2 / (n - 1)
    d = min(rc - 1, kc - 1)
    return float(np.sqrt(phi2 / d)) if d > 0 else 0.0


def _one_hot(X: pd.DataFrame) -> Any:
    """Sparse one-hot columns of each feature's levels (numbers: their quantile bins; missing: a level)."""
    import scipy.sparse as sp

    blocks = []
    for c in X.columns:
        codes = _binned(X[c])
        codes = codes - codes.min()
        blocks.append(sp.csr_matrix((np.ones(len(codes)), (np.arange(len(codes)), codes)),
                                    shape=(len(codes), int(codes.max()) + 1)))
    return sp.hstack(blocks).tocsr()


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
    separated by chance); when no group is large enough the AUC is undefined (NaN). Missing values of
    a feature are a level of their own (numbers: the median, for the AUC).

    Raises
    ------
    DataValidationError
        A column is missing, a protected attribute has a single group, or a feature holds infinite
        values or numbers mixed with text.
    """
    from sklearn.metrics import mutual_info_score, roc_auc_score

    from steward.data import check_feature_values

    attrs = list(protected)
    missing = [c for c in [*attrs, *features] if c not in data.columns]
    if missing:
        raise DataValidationError(f"column(s) {', '.join(map(repr, missing))} not in the data; the columns are: "
                                  f"{', '.join(map(str, data.columns))}")
    feats = [f for f in features if f not in attrs]
    if not feats:
        raise DataValidationError("give at least one feature that is not a protected attribute")
    check_feature_values(data, feats, what="feature")
    rng = np.random.default_rng(random_state)
    rows = []
    for attr in attrs:
        a = data[attr].astype(object)
        ok = a.notna().to_numpy()
        a_codes, levels = pd.factorize(a[ok])
        if len(levels) < 2:
            found = f"a single group ({levels[0]!r})" if len(levels) else "no values"
            raise DataValidationError(f"protected attribute {attr!r} has {found} in the data, so no feature can "
                                      f"stand in for it; give data that holds at least two groups")
        for f in feats:
            s = data.loc[ok, f]
            binned = _binned(s)
            v = _cramers_v(pd.crosstab(binned, a_codes).to_numpy())
            mi = float(mutual_info_score(a_codes, binned) / np.log(2))
            best, best_group = float("nan"), None
            for gi, level in enumerate(levels):
                y = (a_codes == gi).astype(float)
                if y.min() == y.max() or min(y.sum(), len(y) - y.sum()) < min_group_size:
                    continue
                if _is_number(s):
                    x = s.to_numpy(dtype=float)
                    x = np.where(np.isnan(x), np.nanmedian(x) if (~np.isnan(x)).any() else 0.0, x)
                    auc = float(roc_auc_score(y, x))
                    auc = max(auc, 1 - auc)  # a number separates in either direction
                else:
                    auc = max(float(roc_auc_score(y, _oof_shares(binned, y, folds, rng))), 0.5)
                if not auc <= best:  # the first defined AUC, then any higher one
                    best, best_group = auc, level
            rows.append({"feature": f, "attribute": attr, "auc": best, "best_separated_group": best_group,
                         "cramers_v": v, "mutual_information": mi,
                         "proxy": bool(best >= max_auc or v >= max_cramers_v)})  # NaN >= x is False
    table = pd.DataFrame(rows).sort_values(["attribute", "auc"], ascending=[True, False], kind="stable")
    adv = []
    if adversary:
        for attr in attrs:
            adv.append({"attribute": attr, **_adversary(data, attr, feats, folds, random_state)})
    return ProxyReport(table.reset_index(drop=True), pd.DataFrame(adv), max_auc, max_cramers_v)


# The adversary's learner fits the data's size. Below SMALL_DATA rows: an L2-regularised logistic regression on
# one-hot categories and quantile bins of numbers (the bins of the per-feature figures), over ``folds`` folds:
# 100 boosting rounds on a few hundred rows fit noise, so their out-of-fold AUC is noisier, and they cost
# seconds (in fixed per-round overhead) where the regression costs milliseconds. From SMALL_DATA rows: gradient
# boosting, which finds the interactions an additive model misses, kept small (50 rounds of at most 15 leaves,
# learning rate 0.2) over 3 folds, each fit on two thirds of the rows: on Adult its AUCs are within 0.01 of
# 100 default rounds over 5 folds, for a third of the work. Either learner answers the check's question, how
# well all the features together predict the attribute out of sample, as an AUC on the same scale.
SMALL_DATA = 5_000


def _adversary(data: pd.DataFrame, attr: str, feats: list[str], folds: int, seed: int) -> dict[str, Any]:
    """Cross-validated AUC of a model predicting ``attr`` from all of ``feats`` (see ``SMALL_DATA``)."""
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    ok = data[attr].notna().to_numpy()
    y, levels = pd.factorize(data.loc[ok, attr].astype(object))
    counts = np.bincount(y)
    small = int(ok.sum()) < SMALL_DATA
    folds = folds if small else min(folds, 3)
    if len(levels) < 2 or counts.min() < folds:
        return {"auc": float("nan"), "note": "too few rows in some group to cross-validate"}
    X = data.loc[ok, feats]
    if small:
        from sklearn.linear_model import LogisticRegression

        X = _one_hot(X)
        learner = "logistic regression on one-hot categories and binned numbers"
        make = lambda: LogisticRegression(C=1.0, max_iter=2000)  # noqa: E731
    else:
        from sklearn.ensemble import HistGradientBoostingClassifier

        X = X.copy()
        for c in [c for c in feats if not _is_number(X[c])]:
            text = X[c].astype(object).where(X[c].notna(), "(missing)")
            # the booster takes at most 255 categories; a code of more (a zip code) goes in as a number
            X[c] = pd.Categorical(text) if text.nunique() <= 250 else pd.factorize(text)[0].astype(float)
        learner = "gradient boosting (50 rounds, 15 leaves)"
        make = lambda: HistGradientBoostingClassifier(  # noqa: E731
            max_iter=50, max_leaf_nodes=15, learning_rate=0.2, categorical_features="from_dtype", random_state=seed)
    from threadpoolctl import threadpool_limits

    proba = np.zeros((len(y), len(levels)))
    # one thread: the booster's OpenMP threads spin while they wait, and on a shared machine (a CI runner) a busy
    # neighbour turns its second of work into tens (87eb8c0 spent 44 of 63 s here on 400 rows)
    with threadpool_limits(limits=1, user_api="openmp"):
        for fit_rows, held_out in StratifiedKFold(folds, shuffle=True, random_state=seed).split(np.zeros(len(y)), y):
            part = (lambda rows: X[rows]) if small else (lambda rows: X.iloc[rows])
            model = make().fit(part(fit_rows), y[fit_rows])
            proba[np.ix_(held_out, model.classes_.astype(int))] = model.predict_proba(part(held_out))
    auc = roc_auc_score(y, proba[:, 1]) if len(levels) == 2 else roc_auc_score(y, proba, multi_class="ovr",
                                                                              average="weighted")
    return {"auc": float(auc), "rows": int(ok.sum()), "groups": len(levels), "folds": folds, "model": learner,
            "note": ""}
