"""Pictures of explanations as inline SVG, written directly (see :mod:`steward._svgplot`): importance bars,
effect curves, the surrogate tree."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from steward._svgplot import Bars, Line, LinePanel, Panel, bar_chart, line_chart

if TYPE_CHECKING:
    from steward.explain._global import EffectCurves

__all__ = ["importance_chart", "effect_chart", "tree_chart"]

_BLUE, _GREY, _RED = "#2c6fbb", "#95a5a6", "#c0392b"
_GROUP_COLOURS = ["#c0392b", "#27ae60", "#8e44ad", "#e67e22", "#16a085", "#7f8c8d"]


def importance_chart(importance: pd.Series, title: str, xlabel: str, top: int = 20) -> str:
    """Horizontal bars of the ``top`` largest values, largest on top."""
    imp = importance.head(top)
    if imp.empty:
        return ""
    panel = Panel([Bars(imp.to_numpy(dtype=float), _BLUE)], title=title, xlabel=xlabel)
    return bar_chart([str(i) for i in imp.index], [panel], width=800)


def effect_chart(curves: "EffectCurves", max_ice: int = 50) -> str:
    """Partial dependence (bold) over grey ICE curves, or ALE; one line per group when grouped."""
    t = curves.curves
    groups = list(dict.fromkeys(t["group"])) if not t.empty else []
    labels = [str(v) for v in t.loc[t["group"] == "all", "value"]] if groups else []
    x_of = (lambda vals: np.asarray(vals, dtype=float)) if curves.numeric else \
        (lambda vals: np.array([labels.index(str(v)) if str(v) in labels else np.nan for v in vals]))
    lines = []
    if curves.ice is not None and len(labels):
        xs = x_of(t.loc[t["group"] == "all", "value"])
        lines += [Line(xs, row, colour=_GREY, width=0.5, opacity=0.5) for row in curves.ice[:max_ice]]
    for i, g in enumerate(groups):
        part = t[t["group"] == g]
        colour = _BLUE if g == "all" else _GROUP_COLOURS[(i - 1) % len(_GROUP_COLOURS)]
        lines.append(Line(x_of(part["value"]), part["effect"].to_numpy(dtype=float), colour=colour,
                          width=2 if g == "all" else 1.3, markers=not curves.numeric,
                          label=str(g) if len(groups) > 1 else None))
    what = "partial dependence (mean score)" if curves.kind == "partial_dependence" else "ALE (change in score)"
    title = (f"{'Partial dependence and ICE' if curves.kind == 'partial_dependence' else 'Accumulated local effects'}"
             f" of {curves.feature}")
    panel = LinePanel(lines, title=title, xlabel=str(curves.feature), ylabel=what,
                      categories=None if curves.numeric else labels)
    return line_chart([panel], panel_width=600, height=290)


def tree_chart(tree: Any, feature_names: list[str], title: str) -> str:
    """A fitted scikit-learn decision tree as boxes and edges: each split's rule, each node's rows and
    value, the fill darker for a higher value (a true rule goes left, as in ``sklearn.tree.plot_tree``)."""
    from steward._svgplot import esc, svg_document

    t = tree.tree_
    left, right = t.children_left, t.children_right
    value = t.value[:, 0, -1] if t.value.shape[2] > 1 else t.value[:, 0, 0]
    lo, hi = float(value.min()), float(value.max())
    box_w, box_h, gap_x, gap_y, top = 200, 54, 14, 40, 40
    depth: dict[int, int] = {0: 0}
    order: list[int] = []  # leaves left to right
    stack = [0]
    while stack:
        node = stack.pop()
        if left[node] == -1:
            order.append(node)
            continue
        for child in (right[node], left[node]):
            depth[child] = depth[node] + 1
            stack.append(child)
    x: dict[int, float] = {leaf: i * (box_w + gap_x) for i, leaf in enumerate(order)}
    for node in sorted(depth, key=lambda n: -depth[n]):  # parents centred over their children
        if left[node] != -1:
            x[node] = (x[left[node]] + x[right[node]]) / 2
    width = len(order) * (box_w + gap_x) + gap_x
    height = top + (max(depth.values()) + 1) * (box_h + gap_y)
    parts = [f'<text x="{width / 2:.0f}" y="18" text-anchor="middle" font-size="12">{esc(title)}</text>']

    def corner(node: int) -> tuple[float, float]:
        return gap_x + x[node], top + depth[node] * (box_h + gap_y)

    for node in depth:
        if left[node] != -1:
            px, py = corner(node)
            for child, said in ((left[node], "True"), (right[node], "False")):
                cx, cy = corner(child)
                parts.append(f'<line x1="{px + box_w / 2:.1f}" y1="{py + box_h}" x2="{cx + box_w / 2:.1f}" y2="{cy}" '
                             f'stroke="#888"/>')
                if node == 0:
                    parts.append(f'<text x="{(px + cx) / 2 + box_w / 2:.1f}" y="{(py + box_h + cy) / 2 + 4:.1f}" '
                                 f'text-anchor="middle" font-size="10" fill="#555">{said}</text>')
    for node in depth:
        bx, by = corner(node)
        share = 0.0 if hi <= lo else (value[node] - lo) / (hi - lo)
        fill = _blend("#ffffff", _BLUE, 0.12 + 0.6 * share)
        lines = [] if left[node] == -1 else [f"{feature_names[t.feature[node]]} <= {t.threshold[node]:.3f}"]
        lines += [f"samples = {int(t.n_node_samples[node]):,}", f"value = {value[node]:.3f}"]
        parts.append(f'<rect x="{bx:.1f}" y="{by}" width="{box_w}" height="{box_h}" rx="6" fill="{fill}" '
                     f'stroke="#666"/>')
        for i, line in enumerate(lines):
            shown = line if len(line) <= 32 else line[:31] + "…"
            parts.append(f'<text x="{bx + box_w / 2:.1f}" y="{by + 16 + 14 * i + (7 if len(lines) == 2 else 0)}" '
                         f'text-anchor="middle" font-size="10"><title>{esc(line)}</title>{esc(shown)}</text>')
    return svg_document(width, height, title, "".join(parts))


def _blend(a: str, b: str, share: float) -> str:
    """The colour ``share`` of the way from ``a`` to ``b`` (hex)."""
    ca, cb = (tuple(int(c[i:i + 2], 16) for i in (1, 3, 5)) for c in (a, b))
    return "#" + "".join(f"{round(x + (y - x) * share):02x}" for x, y in zip(ca, cb))
