"""Pictures of the probes (inline SVG): flip shares and flagged shares per group, proxy strength per
feature, the steepest sensitivity curves, the features adversarial flips use most."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from steward._svg import pyplot, to_svg

__all__ = ["bars", "flip_chart", "situation_chart", "proxy_chart", "sensitivity_chart", "adversarial_chart"]

_RED, _GREY, _BLUE = "#c0392b", "#7f8c8d", "#2c6fbb"


def bars(labels: list[str], values: np.ndarray, *, title: str, xlabel: str, limit: float | None = None,
         lo: np.ndarray | None = None, hi: np.ndarray | None = None, xmax: float | None = None) -> str:
    """Horizontal bars (first label on top), red beyond ``limit``, with optional interval whiskers."""
    if not len(labels):
        return ""
    plt = pyplot()
    v = np.asarray(values, dtype=float)
    y = np.arange(len(v))[::-1]
    colours = [_RED if limit is not None and x > limit else _BLUE for x in v]
    fig, ax = plt.subplots(figsize=(8, 0.8 + 0.32 * len(v)))
    xerr = None
    if lo is not None and hi is not None:
        xerr = np.vstack([np.clip(v - np.asarray(lo, float), 0, None), np.clip(np.asarray(hi, float) - v, 0, None)])
        xerr = np.nan_to_num(xerr)
    ax.barh(y, np.nan_to_num(v), color=colours, xerr=xerr, ecolor=_GREY, capsize=2)
    if limit is not None:
        ax.axvline(limit, color=_GREY, ls="--", lw=1, label=f"policy limit {limit:g}")
        ax.legend(fontsize=7, loc="lower right")
    ax.set_yticks(y, [s if len(s) <= 50 else s[:47] + "..." for s in labels], fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=10)
    if xmax is not None:
        ax.set_xlim(0, xmax)
    return to_svg(fig)


def flip_chart(rep: Any, limit: float | None = None) -> str:
    g = rep.groups
    if g.empty:
        return ""
    return bars([f"{a}={v}" for a, v in zip(g["attribute"], g["group"])], g["any_flip"].to_numpy(),
                lo=g["any_flip_ci_low"].to_numpy(), hi=g["any_flip_ci_high"].to_numpy(), limit=limit,
                title="Decisions that change when only the protected attribute changes",
                xlabel="share of the group (95% Wilson interval)")


def situation_chart(reports: list[Any], limit: float | None = None) -> str:
    frames = [r.table.assign(label=[f"{r.attribute}={g} vs {r.reference}" for g in r.table["group"]])
              for r in reports if len(r.table)]
    if not frames:
        return ""
    t = pd.concat(frames, ignore_index=True)
    return bars(list(t["label"]), t["share_flagged"].to_numpy(), lo=t["share_ci_low"].to_numpy(),
                hi=t["share_ci_high"].to_numpy(), limit=limit,
                title="Unfavourable decisions where similar reference-group people fared better",
                xlabel="share of the group's unfavourable decisions flagged")


def proxy_chart(rep: Any, top: int = 15) -> str:
    t = rep.table.sort_values("auc", ascending=False).head(top)
    return bars([f"{f} → {a}" for f, a in zip(t["feature"], t["attribute"])], t["auc"].to_numpy() - 0.5,
                limit=rep.max_auc - 0.5, title="How well each feature alone predicts a protected attribute",
                xlabel="AUC − 0.5 (0: no better than chance; 0.5: perfect)", xmax=0.5)


def sensitivity_chart(rep: Any, top: int = 4) -> str:
    s = rep.summary[rep.summary["group"] == "all"].head(top)
    if s.empty:
        return ""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(s), figsize=(3.2 * len(s), 2.8), squeeze=False)
    for ax, feat in zip(axes[0], s["feature"]):
        c = rep.curves[rep.curves["feature"] == feat]
        # the curves of all features share one column, so numbers may arrive as objects
        numeric = bool(pd.to_numeric(c["value"], errors="coerce").notna().all()) and not c["value"].map(
            lambda v: isinstance(v, str)).any()
        for g, part in c.groupby("group", sort=False):
            x = pd.to_numeric(part["value"]).to_numpy(float) if numeric else np.arange(len(part))
            ax.plot(x, part["mean_score"], "-" if numeric else "-o", ms=3, lw=2 if g == "all" else 1, label=g)
        if not numeric:
            ax.set_xticks(np.arange(len(c[c["group"] == "all"])), [str(v) for v in c[c["group"] == "all"]["value"]],
                          rotation=60, fontsize=6)
        ax.set_title(str(feat), fontsize=9)
        ax.tick_params(labelsize=7)
    axes[0][0].set_ylabel("mean score", fontsize=8)
    axes[0][-1].legend(fontsize=6)
    return to_svg(fig)


def adversarial_chart(rep: Any) -> str:
    f = rep.features
    if f.empty:
        return ""
    return bars(list(f["feature"]), f["share_of_flips"].to_numpy(), title="Features the cheapest flips change",
                xlabel="share of the flips found within the budget", xmax=1.0)
