"""Pictures of the probes (inline SVG, written directly by :mod:`steward._svgplot`): flip shares and
flagged shares per group, proxy strength per feature, the steepest sensitivity curves, the features
adversarial flips use most."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from steward._svgplot import PALETTE, Bars, Line, LinePanel, Panel, bar_chart, line_chart

__all__ = ["bars", "flip_chart", "situation_chart", "proxy_chart", "sensitivity_chart", "adversarial_chart"]

_RED, _GREY, _BLUE = "#c0392b", "#7f8c8d", "#2c6fbb"


def bars(labels: list[str], values: np.ndarray, *, title: str, xlabel: str, limit: float | None = None,
         lo: np.ndarray | None = None, hi: np.ndarray | None = None, xmax: float | None = None,
         percent: bool = False) -> str:
    """Horizontal bars (first label on top), red beyond ``limit``, with optional interval whiskers;
    ``percent``: the values are shares, labelled as percentages."""
    if not len(labels):
        return ""
    v = np.asarray(values, dtype=float)
    colours = [_RED if limit is not None and x > limit else _BLUE for x in v]
    lines = []
    if limit is not None:
        shown = f"{100 * limit:g}%" if percent else f"{limit:g}"
        lines.append((limit, _GREY, True, f"policy limit {shown}"))
    panel = Panel([Bars(v, colours, lo, hi)], title=title, xlabel=xlabel, percent=percent, xmin=0, xmax=xmax,
                  lines=lines)
    return bar_chart([str(s) for s in labels], [panel], width=800, max_label=50)


def flip_chart(rep: Any, limit: float | None = None) -> str:
    g = rep.groups
    if g.empty:
        return ""
    return bars([f"{a}={v}" for a, v in zip(g["attribute"], g["group"])], g["any_flip"].to_numpy(),
                lo=g["any_flip_ci_low"].to_numpy(), hi=g["any_flip_ci_high"].to_numpy(), limit=limit,
                title="Decisions that change when only the protected attribute changes",
                xlabel="share of the group (95% Wilson interval)", percent=True)


def situation_chart(reports: list[Any], limit: float | None = None) -> str:
    frames = [r.table.assign(label=[f"{r.attribute}={g} vs {r.reference}" for g in r.table["group"]])
              for r in reports if len(r.table)]
    if not frames:
        return ""
    t = pd.concat(frames, ignore_index=True)
    return bars(list(t["label"]), t["share_flagged"].to_numpy(), lo=t["share_ci_low"].to_numpy(),
                hi=t["share_ci_high"].to_numpy(), limit=limit,
                title="Unfavourable decisions where similar reference-group people fared better",
                xlabel="share of the group's unfavourable decisions flagged", percent=True)


def proxy_chart(rep: Any, top: int = 15) -> str:
    t = rep.table.sort_values("auc", ascending=False).head(top)
    return bars([f"{f} → {a}" for f, a in zip(t["feature"], t["attribute"])], t["auc"].to_numpy() - 0.5,
                limit=rep.max_auc - 0.5, title="How well each feature alone predicts a protected attribute",
                xlabel="AUC − 0.5 (0: no better than chance; 0.5: perfect)", xmax=0.5)


def sensitivity_chart(rep: Any, top: int = 4) -> str:
    s = rep.summary[rep.summary["group"] == "all"].head(top)
    if s.empty:
        return ""
    panels = []
    for k, feat in enumerate(s["feature"]):
        c = rep.curves[rep.curves["feature"] == feat]
        # the curves of all features share one column, so numbers may arrive as objects
        numeric = bool(pd.to_numeric(c["value"], errors="coerce").notna().all()) and not c["value"].map(
            lambda v: isinstance(v, str)).any()
        lines = []
        for i, (g, part) in enumerate(c.groupby("group", sort=False)):
            x = pd.to_numeric(part["value"]).to_numpy(float) if numeric else np.arange(len(part))
            lines.append(Line(x, part["mean_score"].to_numpy(float), colour=PALETTE[i % len(PALETTE)],
                              width=2 if g == "all" else 1, markers=not numeric, label=str(g)))
        cats = None if numeric else [str(v) for v in c[c["group"] == "all"]["value"]]
        panels.append(LinePanel(lines, title=str(feat), ylabel="mean score" if k == 0 else "", categories=cats))
    return line_chart(panels, panel_width=250, height=240)


def adversarial_chart(rep: Any) -> str:
    f = rep.features
    if f.empty:
        return ""
    return bars(list(f["feature"]), f["share_of_flips"].to_numpy(), title="Features the cheapest flips change",
                xlabel="share of the flips found within the budget", xmax=1.0, percent=True)
