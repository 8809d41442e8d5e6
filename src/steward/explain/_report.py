"""Everything ``steward explain`` and the audit report show about a model, in one result: reason codes,
Shapley importance, permutation importance, effect curves, the surrogate tree, a declared
monotonicity's check and the explanations' quality."""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from steward._html import HtmlView
from steward.errors import DataValidationError

__all__ = ["ModelExplanation", "explain_model"]


@dataclass
class ModelExplanation(HtmlView):
    """The explanations of one model on one data set (each part None when it was not asked for)."""

    shapley: Any
    reasons: Any = None
    permutation: Any = None
    effects: list[Any] = field(default_factory=list)
    surrogate: Any = None
    monotonicity: Any = None
    quality: Any = None
    model: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        sv = self.shapley
        return {
            "model": self.model,
            "shapley": {"method": sv.method, "space": sv.space, "exact": sv.exact, "base_value": sv.base_value,
                        "rows": len(sv.values), "additivity_error": sv.additivity_error,
                        "importance": {k: float(v) for k, v in sv.importance().items()}},
            "reasons": None if self.reasons is None else self.reasons.to_dict(max_rows=20),
            "permutation_importance": None if self.permutation is None else self.permutation.to_dict(),
            "effects": [e.to_dict() for e in self.effects],
            "surrogate": None if self.surrogate is None else self.surrogate.to_dict(),
            "monotonicity": None if self.monotonicity is None else self.monotonicity.to_dict(),
            "quality": None if self.quality is None else self.quality.to_dict(),
        }

    page_title = "Explanations of the model"
    page_kind = "explanations"

    def html(self, heading: int = 2) -> str:
        """Page body: pictures first, then the figures behind them (``heading``: level of the section titles)."""
        from steward._html import count, number, pct, table
        from steward.explain._charts import importance_chart

        sv = self.shapley
        esc = html.escape
        h = f"h{heading}"
        additivity = "below 0.001" if sv.additivity_error < 1e-3 else number(sv.additivity_error)
        parts = [f"<{h}>Feature importance</{h}><p>Mean absolute Shapley value in {esc(sv.space.replace('_', '-'))} "
                 f"space over {count(len(sv.values))} rows ({esc(sv.method)}); the contributions add up to each "
                 f"score with an error {additivity}.</p>",
                 importance_chart(sv.importance(), "Mean |Shapley value|", f"mean |contribution| ({sv.space})")]
        if self.permutation is not None:
            p = self.permutation
            metric = p.metric.upper() if p.metric == "auc" else p.metric
            parts += [f"<p>Permutation importance: the drop in {esc(metric)} (from {number(p.baseline)}) when a "
                      f"feature's values are shuffled, mean of {p.n_repeats} shuffles.</p>",
                      importance_chart(p.table.set_index("feature")["importance"], "Permutation importance",
                                       f"drop in {p.metric}")]
        if self.reasons is not None:
            r = self.reasons
            cited = r.cited
            adverse = r.rows[r.rows["adverse"].astype(bool)]
            side = "&ge;" if r.adverse == "high" else "&lt;"
            parts += [f"<{h}>Reason codes</{h}><p>{count(len(adverse))} adverse decisions of {count(len(r.rows))} "
                      f"rows (score {side} {number(r.threshold, trim=True)}); up to "
                      f"{r.k} reasons each, measured from {esc(r.reference)}. Never cited: "
                      f"{esc(', '.join(r.excluded) or 'none')}.</p>"]
            if len(cited):
                parts.append(importance_chart(cited.astype(float), "How often each feature is cited",
                                              "reason slots citing it"))
            texts = [f"reason_{i}" for i in range(1, r.k + 1) if f"reason_{i}" in adverse.columns]
            if len(adverse):
                sample = adverse[["score", *texts]].rename_axis("row").reset_index()
                parts.append(table(sample, limit=5, detail_rows=200, summary="the first adverse decisions"))
        if self.effects:
            parts.append(f"<{h}>Effects of single features</{h}>")
            parts.append('<div class="charts">' + "".join(f'<div class="chart">{e.chart()}</div>'
                                                          for e in self.effects) + "</div>")
        if self.surrogate is not None:
            s = self.surrogate
            parts += [f"<{h}>Surrogate tree</{h}><p>A depth-{s.max_depth} tree fitted to the model's scores; on "
                      f"{count(s.test_rows)} held-out rows it explains R² = {number(s.r2)} of their variance"
                      + ("" if s.agreement is None else f" and makes the same decision on {pct(s.agreement)}")
                      + (". Its rules describe the model only roughly." if s.r2 < 0.7 else ".") + "</p>",
                      s.chart(), f"<details><summary>The tree's rules</summary><pre>{esc(s.rules)}</pre></details>"]
        if self.monotonicity is not None:
            m = self.monotonicity
            parts += [f"<{h}>Declared monotonicity</{h}>",
                      f'<div class="verdict {"ok" if m.holds else "bad"}">{"Holds" if m.holds else "Violated"} on a '
                      f"grid of {m.grid_points} points per feature.</div>",
                      table(m.table, limit=12)]
        if self.quality is not None:
            q = self.quality
            n = q.noise
            text = (f"The top reason is unchanged for {pct(n['top1_agreement'])} of rows under input noise of "
                    f"{n['scale']:g} standard deviations (top-{q.k} overlap {number(n['topk_jaccard'])})")
            if q.retrain:
                text += (f"; after retraining on bootstrap samples, for {pct(q.retrain['top1_agreement'])} "
                         f"(importance rank correlation {number(q.retrain['importance_rank_correlation'])})")
            parts += [f"<{h}>Explanation quality</{h}><p>{esc(text)}. {' '.join(map(esc, q.notes))}</p>"]
        return "\n".join(f'<div class="chart">{x}</div>' if x.startswith("<svg") else x for x in parts if x)


def explain_model(
    model: Any,
    data: pd.DataFrame,
    *,
    reasons: Any = None,
    k: int = 4,
    threshold: float = 0.5,
    adverse: str | None = None,
    never_cite: Sequence[str] = (),
    all_rows: bool = False,
    label: np.ndarray | None = None,
    effect_features: Sequence[str] | None = None,
    by: str | None = None,
    surrogate_depth: int = 3,
    monotone: Any = None,
    quality: bool = True,
    quality_rows: int = 500,
    train: pd.DataFrame | None = None,
    y_train: Any = None,
    on_progress: Callable[[str, float], None] | None = None,
    **shapley_options: Any,
) -> ModelExplanation:
    """Run every explanation the inputs allow (see :class:`ModelExplanation`).

    ``effect_features`` defaults to the three most important features; ``label`` (0/1 per row) adds
    permutation importance; ``monotone`` (declared directions) adds the monotonicity check;
    ``train``/``y_train`` let the quality check retrain the model.
    """
    from steward.explain._global import effects as effect_curves
    from steward.explain._global import permutation_importance
    from steward.explain._glassbox import check_monotonicity
    from steward.explain._quality import explanation_quality
    from steward.explain._reasons import ReasonMap, reason_codes
    from steward.explain._shapley import shapley_values
    from steward.explain._surrogate import surrogate_tree
    from steward.models import wrap_model

    def step(name: str, frac: float) -> None:
        if on_progress is not None:
            on_progress(name, frac)

    model = wrap_model(model)
    step("Shapley values", 0.0)
    sv = shapley_values(model, data, **shapley_options)
    out = ModelExplanation(shapley=sv, model=model.describe())
    rmap = None
    if reasons is not None:
        step("reason codes", 0.3)
        rmap = reasons if isinstance(reasons, ReasonMap) else ReasonMap.load(reasons, never_cite=never_cite)
        out.reasons = reason_codes(model, data, reasons=rmap, k=k, threshold=threshold, adverse=adverse,
                                   never_cite=never_cite if isinstance(reasons, ReasonMap) else (),
                                   all_rows=all_rows, shapley=sv)
    if label is not None:
        step("permutation importance", 0.4)
        out.permutation = permutation_importance(model, data, label, metric="auc" if model.task == "classification"
                                                 else "r2", threshold=threshold)
    features = list(effect_features) if effect_features else list(sv.importance().index[:3])
    unknown = [f for f in features if f not in sv.features]
    if unknown:
        raise DataValidationError(f"effect feature(s) {', '.join(map(repr, unknown))} are not model inputs; the "
                                  f"inputs are: {', '.join(sv.features)}")
    step("effect curves", 0.5)
    out.effects = effect_curves(model, data, features, by=by)
    if len(data) >= 100:
        step("surrogate tree", 0.7)
        out.surrogate = surrogate_tree(model, data, max_depth=surrogate_depth, threshold=threshold)
    if monotone is not None:
        step("monotonicity", 0.8)
        out.monotonicity = check_monotonicity(model, data, monotone)
    if quality:
        step("explanation quality", 0.9)
        out.quality = explanation_quality(model, data, k=k, reasons=rmap, train=train, y_train=y_train,
                                          sample=quality_rows, **shapley_options)
    step("done", 1.0)
    return out
