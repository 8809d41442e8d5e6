"""Fairness-aware model selection (the traditional strategy in lending and insurance): train candidate
models with cross-validation, measure quality and discrimination for each, and pick the least
discriminatory one whose quality is within a stated tolerance of the best.

Protected attributes are never features unless the caller passes ``allow_protected=True``. Folds of
all candidates run in parallel (joblib processes, one core each for LightGBM) with progress shown.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from steward._html import HtmlView
from steward.errors import DataValidationError, RoleError

__all__ = ["ModelSelection", "select_model", "default_candidates", "group_fairness"]


def default_candidates(n: int = 20, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` LightGBM settings spread over trees, leaves, learning rate, regularisation and sampling."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        out.append({"n_estimators": int(rng.choice([50, 100, 200, 400])), "num_leaves": int(rng.choice([4, 8, 15, 31, 63])),
                    "learning_rate": float(rng.choice([0.02, 0.05, 0.1, 0.2])),
                    "min_child_samples": int(rng.choice([5, 20, 50, 200])),
                    "reg_lambda": float(rng.choice([0.0, 1.0, 10.0])),
                    "colsample_bytree": float(rng.choice([0.5, 0.8, 1.0]))})
    return out


def group_fairness(groups: np.ndarray, y: np.ndarray, decision: np.ndarray, reference: str,
                   favourable: int = 1) -> dict[str, float]:
    """Lowest adverse impact ratio (favourable rate of a group / the reference's) and the largest
    FPR and FNR ratios (group / reference, or its inverse when larger) over the groups."""
    fav = decision == favourable
    ref = groups == reference
    if not ref.any():
        raise DataValidationError(f"the reference group {reference!r} has no rows")
    out = {"air_min": np.inf, "fpr_ratio_max": 1.0, "fnr_ratio_max": 1.0}
    r_rate = fav[ref].mean()

    def rate(mask: np.ndarray, of: np.ndarray) -> float:
        m = mask & of
        return float(decision[m].mean()) if m.any() else np.nan

    r_fpr, r_fnr = rate(ref, y == 0), 1 - rate(ref, y == 1)
    for g in np.unique(groups):
        if g == reference:
            continue
        sel = groups == g
        air = fav[sel].mean() / r_rate if r_rate > 0 else np.nan
        out["air_min"] = float(np.nanmin([out["air_min"], air]))
        fpr, fnr = rate(sel, y == 0), 1 - rate(sel, y == 1)
        for key, a, b in (("fpr_ratio_max", fpr, r_fpr), ("fnr_ratio_max", fnr, r_fnr)):
            if a > 0 and b > 0:
                out[key] = float(max(out[key], a / b, b / a))
    if not np.isfinite(out["air_min"]):
        out["air_min"] = float("nan")
    return out


@dataclass
class ModelSelection(HtmlView):
    """Every candidate's cross-validated quality and discrimination, the Pareto front and the choice.

    ``table``: one row per candidate: its settings, ``auc`` and ``accuracy`` (mean over folds, with
    the folds' standard deviation of AUC), ``air_min``, ``fpr_ratio_max``, ``fnr_ratio_max`` (on the
    out-of-fold decisions), ``pareto`` (no other candidate is at least as good on both AUC and AIR
    and better on one) and ``chosen``. ``model``: the chosen candidate fitted on all the rows.
    """

    table: pd.DataFrame
    chosen: int
    most_accurate: int
    tolerance: float
    metric: str
    reference: str
    protected: str
    n_jobs: int
    seconds: float
    model: Any = None  # the chosen candidate fitted on all the rows (None when refit=False)
    features: list[str] | None = None

    def to_frame(self) -> pd.DataFrame:
        return self.table

    def to_dict(self) -> dict[str, Any]:
        from steward.debug._benchmark import json_rows

        return {"chosen": self.chosen, "most_accurate": self.most_accurate, "tolerance": self.tolerance,
                "metric": self.metric, "protected": self.protected, "reference": self.reference,
                "n_jobs": self.n_jobs, "seconds": self.seconds,
                "candidates": json_rows(self.table.drop(columns=["params"]).assign(
                    params=self.table["params"].map(str)), limit=len(self.table))}

    @property
    def _metric_name(self) -> str:
        return "AUC" if self.metric == "auc" else self.metric

    page_title = "Fairness-aware model selection"
    page_kind = "remediation"

    def html(self, heading: int = 2) -> str:
        """Page body: the choice, the chart, and the candidates (the Pareto front first, all folded below)."""
        import html as _html

        from steward._html import number, ratio, table

        t = self.table.copy()
        best, chosen = t.loc[self.most_accurate], t.loc[self.chosen]
        same = self.chosen == self.most_accurate
        text = (f"Chosen: candidate {self.chosen} ({self._metric_name} {number(chosen[self.metric])}, lowest adverse "
                f"impact ratio {ratio(chosen['air_min'])})"
                + (", which is also the most accurate." if same else
                   f" instead of the most accurate, candidate {self.most_accurate} ({self._metric_name} "
                   f"{number(best[self.metric])}, lowest adverse impact ratio {ratio(best['air_min'])})."))
        kind = "ok" if chosen["air_min"] >= 0.8 else "warn"
        parts = [f'<div class="verdict {kind}">{_html.escape(text)}</div>',
                 f"<p>{len(t)} candidate models were cross-validated; the least discriminatory one (highest lowest "
                 f"adverse impact ratio over the {_html.escape(str(self.protected))} groups, against "
                 f"{_html.escape(str(self.reference))}) whose {self._metric_name} is within {self.tolerance:g} of the "
                 f"best was chosen. Ratios are of the out-of-fold decisions.</p>",
                 f'<div class="chart">{self.chart()}</div>']
        t["settings"] = t["params"].map(lambda p: ", ".join(f"{k}={v}" for k, v in p.items())
                                        if isinstance(p, dict) else str(p))
        t = t.drop(columns=["params"]).sort_values(self.metric, ascending=False, kind="stable")
        lead = t[t["pareto"] | t["chosen"] | (t.index == self.most_accurate)]
        h = f"h{heading}"
        parts += [f"<{h}>Candidates</{h}>", table(lead, limit=len(lead), detail=t,
                                                   summary="the Pareto front, the chosen and the most accurate")]
        return "\n".join(parts)

    def chart(self) -> str:
        from steward._svg import legend_outside, pyplot, to_svg

        plt = pyplot()
        t = self.table
        fig, ax = plt.subplots(figsize=(7, 4.2))
        ax.scatter(t["air_min"], t[self.metric], color="#95a5a6", label="candidates")
        front = t[t["pareto"]].sort_values("air_min")
        ax.plot(front["air_min"], front[self.metric], "-o", color="#2c6fbb", label="Pareto front")
        best = t.loc[self.most_accurate]
        ax.axhline(best[self.metric] - self.tolerance, color="#7f8c8d", ls=":", lw=1,
                   label=f"tolerance: {self._metric_name} within {self.tolerance:g} of the best")
        ax.axvline(0.8, color="#c0392b", ls="--", lw=1, label="four-fifths rule (AIR 0.8)")
        c = t.loc[self.chosen]
        ax.scatter([best["air_min"]], [best[self.metric]], s=120, facecolors="none", edgecolors="#e67e22", lw=2,
                   label="most accurate")
        ax.scatter([c["air_min"]], [c[self.metric]], s=160, marker="*", color="#27ae60", label="chosen", zorder=5)
        ax.set_xlabel(f"lowest adverse impact ratio over {self.protected} groups (vs {self.reference})")
        ax.set_ylabel(f"cross-validated {self._metric_name}")
        ax.set_title("Quality against discrimination, per candidate model", fontsize=10)
        legend_outside(ax)
        return to_svg(fig)


def _cost(candidate: Any) -> float:
    """Rough relative cost of fitting a candidate (trees times leaves for LightGBM settings)."""
    if isinstance(candidate, dict):
        return float(candidate.get("n_estimators", 100)) * float(candidate.get("num_leaves", 31))
    return 0.0


def _fit_fold(make: Callable[[], Any], X: pd.DataFrame, y: np.ndarray, train: np.ndarray, test: np.ndarray,
              cand: int, fold: int) -> tuple[int, int, np.ndarray, np.ndarray]:
    model = make().fit(X.iloc[train], y[train])
    return cand, fold, test, model.predict_proba(X.iloc[test])[:, 1]


def select_model(
    data: pd.DataFrame,
    *,
    label: str,
    features: Sequence[str],
    protected: str,
    reference: Any = None,
    positive_label: Any = None,
    candidates: Sequence[Any] | None = None,
    folds: int = 5,
    tolerance: float = 0.01,
    metric: str = "auc",
    threshold: float = 0.5,
    favourable: int = 1,
    allow_protected: bool = False,
    refit: bool = True,
    n_jobs: int | None = None,
    random_state: int = 0,
    on_progress: Callable[[str, float], None] | None = None,
) -> ModelSelection:
    """Cross-validate candidates and choose the least discriminatory one within ``tolerance`` of the best.

    Parameters
    ----------
    candidates : list, optional
        LightGBM settings (dicts) or unfitted scikit-learn-compatible classifiers; default: 20
        LightGBM settings (:func:`default_candidates`).
    tolerance : float
        How much ``metric`` ("auc" or "accuracy") a candidate may lose against the most accurate one.
    favourable : int
        The decision value good for the person (AIR compares favourable rates).
    refit : bool
        Fit the chosen candidate on all of ``data`` (``ModelSelection.model``; save it with
        :func:`steward.models.save_model`).
    """
    import time

    from joblib import Parallel, delayed
    from sklearn.base import clone
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    from steward.data import check_feature_values, check_training_label
    from steward.engine._columns import binary_array
    from steward.explain._shapley import cpu_count

    t0 = time.perf_counter()
    if metric not in ("auc", "accuracy"):
        raise DataValidationError(f"metric must be auc or accuracy, got {metric!r}")
    feats = list(features)
    if protected in feats and not allow_protected:
        raise RoleError(f"{protected!r} is a protected attribute: it is not a feature unless allow_protected=True")
    missing = [c for c in [label, protected, *feats] if c not in data.columns]
    if missing:
        raise DataValidationError(f"column(s) {', '.join(map(repr, missing))} not in the data")
    y = binary_array(data[label], column=label, role="label", positive=positive_label).astype(int)
    check_training_label(y, column=label, min_per_class=max(folds, 10))
    check_feature_values(data, feats, what="feature")
    groups = data[protected].astype(str).to_numpy()
    sizes = pd.Series(groups).value_counts()
    if len(sizes) < 2:
        raise DataValidationError(f"protected attribute {protected!r} has a single group ({sizes.index[0]!r}) in the "
                                  f"data, so no candidate can be judged for discrimination; give data with two groups")
    if reference is None:
        reference = sizes.index[0]
    reference = str(reference)
    if reference not in sizes.index:
        raise DataValidationError(f"reference group {reference!r} of protected attribute {protected!r} does not occur "
                                  f"in the data; the groups are: {', '.join(map(str, sizes.index))}")
    X = data[feats]
    text = [c for c in feats if not pd.api.types.is_numeric_dtype(X[c].dtype)]
    X = X.astype({c: "category" for c in text})
    cands = list(candidates) if candidates is not None else default_candidates()
    if not cands:
        raise DataValidationError("give at least one candidate model")

    def maker(c: Any) -> Callable[[], Any]:
        if isinstance(c, dict):
            def make() -> Any:
                import lightgbm as lgb

                return lgb.LGBMClassifier(verbose=-1, n_jobs=1, random_state=random_state, **c)
            return make
        return lambda: clone(c)

    n_jobs = cpu_count() if n_jobs is None else max(1, int(n_jobs))
    splits = list(StratifiedKFold(folds, shuffle=True, random_state=random_state).split(X, y))
    tasks = [(i, f, tr, te) for i in range(len(cands)) for f, (tr, te) in enumerate(splits)]
    # the biggest fits first, so no core idles at the end waiting on one large candidate
    tasks.sort(key=lambda t: -_cost(cands[t[0]]))
    oof = np.zeros((len(cands), len(y)))
    aucs = np.zeros((len(cands), folds))
    done = 0
    runner = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
    for cand, fold, test, proba in runner(delayed(_fit_fold)(maker(cands[i]), X, y, tr, te, i, f)
                                          for i, f, tr, te in tasks):
        oof[cand, test] = proba
        aucs[cand, fold] = roc_auc_score(y[test], proba)
        done += 1
        if on_progress:
            on_progress(f"candidate {cand + 1} fold {fold + 1}", done / len(tasks))
    rows = []
    for i, c in enumerate(cands):
        decision = (oof[i] >= threshold).astype(int)
        fair = group_fairness(groups, y, decision, reference, favourable)
        rows.append({"candidate": i, "params": c if isinstance(c, dict) else repr(c), "auc": float(aucs[i].mean()),
                     "auc_std": float(aucs[i].std()), "accuracy": float((decision == y).mean()), **fair})
    t = pd.DataFrame(rows)
    q, a = t[metric].to_numpy(), t["air_min"].fillna(0).to_numpy()
    t["pareto"] = [not np.any((q >= q[i]) & (a >= a[i]) & ((q > q[i]) | (a > a[i]))) for i in range(len(t))]
    best = int(np.argmax(q))
    within = t[q >= q[best] - tolerance]
    chosen = int(within.sort_values(["air_min", metric], ascending=False).index[0])
    t["chosen"] = t.index == chosen
    fitted = maker(cands[chosen])().fit(X, y) if refit else None
    return ModelSelection(t, chosen, best, tolerance, metric, reference, protected, n_jobs,
                          round(time.perf_counter() - t0, 3), model=fitted, features=feats)
