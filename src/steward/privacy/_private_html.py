"""The page of a :class:`~steward.privacy._private.PrivateTrainingReport`: the verdict (who pays most for
privacy), accuracy and adverse impact ratio per group against ε (the non-private model as ε = ∞ at the
right), what was done, then the tables."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from steward._html import pct, pp, table
from steward._svgplot import PALETTE, Line, LinePanel, line_chart

__all__ = ["private_chart", "private_html"]

_FORMATS = {"accuracy_change": "pp", "epsilon": lambda v: "∞" if v == math.inf else f"{v:g}"}


def _categories(rep: Any) -> list[str]:
    return [f"{e:g}" for e in rep.epsilons] + ["∞"]


def private_chart(rep: Any, metric: str = "accuracy", title: str = "accuracy", percent: bool = True) -> str:
    """One panel per protected attribute: ``metric`` of each group (a line each) at each ε, the non-private
    model last (ε = ∞); the overall figure dashed, for accuracy."""
    t = rep.table
    if t.empty:
        return ""
    order = [*rep.epsilons, math.inf]
    x = np.arange(len(order), dtype=float)
    panels = []
    for k, (attr, part) in enumerate(t.groupby("attribute", sort=False)):
        lines = []
        for i, (grp, rows) in enumerate(part.groupby("group", sort=False)):
            by = rows.set_index("epsilon")[metric]
            y = np.array([by.get(e, np.nan) for e in order], dtype=float)
            small = bool(rows["too_small_to_judge"].any())
            lines.append(Line(x, y, colour=PALETTE[i % len(PALETTE)], width=1 if small else 2, markers=True,
                              opacity=0.5 if small else 1.0, label=f"{attr}={grp}" + (" (few rows)" if small else "")))
        if metric == "accuracy":
            by = rep.overall.set_index("epsilon")["accuracy"]
            lines.append(Line(x, np.array([by.get(e, np.nan) for e in order], dtype=float), colour="#333333",
                              width=1.5, dashed=True, label="all rows"))
        panels.append(LinePanel(lines, title=str(attr), xlabel="privacy budget ε (∞: no privacy)",
                                categories=_categories(rep), ylabel=title if k == 0 else "", percent_y=percent))
    summary = f"{title} of each protected group at each privacy budget ε and without privacy"
    return line_chart(panels, panel_width=340, height=270, summary=summary)


def _verdict_text(rep: Any) -> str:
    worst = rep.largest_loss()
    smallest = min(rep.epsilons)
    base = rep.overall.iloc[0]
    at = rep.overall[rep.overall["epsilon"] == smallest].iloc[0]
    overall = (f"Overall accuracy is {pct(at['accuracy'])} at ε = {smallest:g} against {pct(base['accuracy'])} "
               f"without privacy ({pp(at['accuracy_change'])}).")
    if worst is None:
        return overall
    return (f"At the smallest budget, ε = {smallest:g}, the group losing the most accuracy is {worst['attribute']} = "
            f"{worst['group']}: {pct(worst['accuracy_non_private'])} without privacy, {pct(worst['accuracy'])} with "
            f"it ({pp(worst['accuracy_change'])}). " + overall)


def _design_text(rep: Any) -> str:
    d = rep.design
    if d is None:
        return ""
    smallest = rep.overall[rep.overall["epsilon"] == min(rep.epsilons)].iloc[0]
    noise = smallest["accuracy"] - d["accuracy"]
    return (f"DP-EBM with the same settings and negligible noise (ε = {d['epsilon']:,g}) reaches an accuracy of "
            f"{pct(d['accuracy'])} ({pp(d['accuracy_change'])} from the non-private model): that part of the price "
            f"comes with DP-EBM's settings (learning rate, rounds, private binning), not with privacy, and better "
            f"settings chosen on public data may recover it. The noise at ε = {min(rep.epsilons):g} changes "
            f"accuracy by a further {pp(noise)}.")


def _models(rep: Any) -> pd.DataFrame:
    """The per-model rows, with DP-EBM's settings at negligible noise (when trained) before the private ones."""
    if rep.design is None:
        return rep.overall
    row = {"model": f"DP-EBM settings, ε = {rep.design['epsilon']:,g} (negligible noise)", "private": False,
           **rep.design}
    return pd.concat([rep.overall.iloc[:1], pd.DataFrame([row]), rep.overall.iloc[1:]], ignore_index=True)


def private_html(rep: Any, heading: int = 2) -> str:
    from steward.debug._pages import _chart, _p, _section, _verdict

    refs = ", ".join(f"{a}: {g} ({rep.settings['reference_chosen'][a]})" for a, g in rep.settings["references"].items())
    bounds = ("every numeric range was given as public" if not rep.privacy["bounds_from_data"] else
              f"the ranges of {', '.join(rep.privacy['bounds_from_data'])} were read from the training data")
    parts = [_verdict("info", _verdict_text(rep)),
             _p(_design_text(rep)) if rep.design is not None else "",
             _chart(private_chart(rep)),
             _chart(private_chart(rep, "adverse_impact_ratio", "adverse impact ratio", percent=False)),
             _p(f"An Explainable Boosting Machine was trained without privacy and a differentially private one "
                f"(DP-EBM, interpret {rep.interpret_version}) at each ε of {', '.join(f'{e:g}' for e in rep.epsilons)} "
                f"with δ = {rep.delta:g}, on {rep.rows['train']:,} training rows and {len(rep.features)} features; "
                f"all were judged on the same {rep.rows['test']:,} test rows (decision: probability at least "
                f"{rep.settings['threshold']:g}). Reference groups: {refs}. Privacy settings: composition "
                f"{rep.privacy['composition']}, {pct(rep.privacy['bin_budget_frac'], 0)} of ε for binning; {bounds}. "
                f"Intervals ({pct(rep.settings['confidence'], 0)}) cover the test sample, not the privacy noise; "
                f"changes are paired over the same rows.")]
    parts += [_p(f"Note: {n}.") for n in rep.notes]
    parts.append(_section(heading, "Per model", table(
        _models(rep), ["model", "rows", "accuracy", "accuracy_change", "auc", "favourable_rate",
                       "noise_scale_boosting"], limit=len(rep.overall) + 1, formats=_FORMATS)))
    shown = rep.table[rep.table["private"]]
    parts.append(_section(heading, "Per group and privacy budget", table(
        shown, ["model", "attribute", "group", "rows", "accuracy", "accuracy_change", "favourable_rate",
                "adverse_impact_ratio", "true_positive_rate", "false_positive_rate", "too_small_to_judge"],
        limit=10, order="accuracy_change", ascending=True, formats=_FORMATS,
        summary="the groups and budgets with the largest loss of accuracy", detail=rep.table)))
    return "\n".join(p for p in parts if p)
