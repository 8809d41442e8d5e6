"""Pictures of explanations as inline SVG: importance bars, effect curves, the surrogate tree."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from steward._svg import pyplot, to_svg

if TYPE_CHECKING:
    from steward.explain._global import EffectCurves

__all__ = ["importance_chart", "effect_chart", "tree_chart"]

_BLUE, _GREY, _RED = "#2c6fbb", "#95a5a6", "#c0392b"
_GROUP_COLOURS = ["#c0392b", "#27ae60", "#8e44ad", "#e67e22", "#16a085", "#7f8c8d"]


def importance_chart(importance: pd.Series, title: str, xlabel: str, top: int = 20) -> str:
    """Horizontal bars of the ``top`` largest values, largest on top."""
    plt = pyplot()
    imp = importance.head(top)[::-1]
    fig, ax = plt.subplots(figsize=(8, 0.8 + 0.3 * len(imp)))
    ax.barh(np.arange(len(imp)), imp.to_numpy(dtype=float), color=_BLUE)
    ax.set_yticks(np.arange(len(imp)), [str(i) for i in imp.index], fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=10)
    return to_svg(fig)


def effect_chart(curves: "EffectCurves", max_ice: int = 50) -> str:
    """Partial dependence (bold) over grey ICE curves, or ALE; one line per group when grouped."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.6))
    t = curves.curves
    groups = list(dict.fromkeys(t["group"])) if not t.empty else []
    labels = [str(v) for v in t.loc[t["group"] == "all", "value"]] if groups else []
    x_of = (lambda vals: np.asarray(vals, dtype=float)) if curves.numeric else \
        (lambda vals: np.array([labels.index(str(v)) if str(v) in labels else np.nan for v in vals]))
    if curves.ice is not None and len(labels):
        xs = x_of(t.loc[t["group"] == "all", "value"])
        for row in curves.ice[:max_ice]:
            ax.plot(xs, row, color=_GREY, lw=0.5, alpha=0.5)
    for i, g in enumerate(groups):
        part = t[t["group"] == g]
        colour = _BLUE if g == "all" else _GROUP_COLOURS[(i - 1) % len(_GROUP_COLOURS)]
        style = "-o" if not curves.numeric else "-"
        ax.plot(x_of(part["value"]), part["effect"], style, color=colour, lw=2 if g == "all" else 1.3,
                ms=3, label=g if len(groups) > 1 else None)
    if not curves.numeric:
        ax.set_xticks(np.arange(len(labels)), labels, rotation=45, ha="right", fontsize=8)
    ax.set_xlabel(curves.feature)
    what = "partial dependence (mean score)" if curves.kind == "partial_dependence" else "ALE (change in score)"
    ax.set_ylabel(what, fontsize=8)
    ax.set_title(f"{'Partial dependence and ICE' if curves.kind == 'partial_dependence' else 'Accumulated local effects'}"
                 f" of {curves.feature}", fontsize=10)
    if len(groups) > 1:
        ax.legend(fontsize=7)
    return to_svg(fig)


def tree_chart(tree: Any, feature_names: list[str], title: str) -> str:
    """A fitted scikit-learn decision tree, drawn by ``sklearn.tree.plot_tree``."""
    from sklearn.tree import plot_tree

    plt = pyplot()
    depth = tree.get_depth()
    fig, ax = plt.subplots(figsize=(min(4 + 3 * 2 ** max(depth - 1, 0), 24), 1.8 + 1.6 * depth))
    plot_tree(tree, feature_names=feature_names, filled=True, impurity=False, rounded=True, precision=3,
              fontsize=7, ax=ax)
    ax.set_title(title, fontsize=10)
    return to_svg(fig)
