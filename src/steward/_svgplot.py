"""Bar and line charts written straight as SVG elements, for reports and pages that must render offline.

A report holds about twenty charts. Laid out and rendered by matplotlib each costs a tenth to a third of a
second (most of it measuring and placing tick labels); written as a few hundred SVG elements, a few
milliseconds. The charts are simple (horizontal bars with intervals, reference lines, lines over a grid),
so their layout is simple arithmetic: a fixed row height, label widths estimated from the text's length.

Every text (group, feature and slice names come from the data) is escaped; each bar's tooltip
(``<title>``) gives its figures, and each chart has a text summary for screen readers.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["PALETTE", "Bars", "Line", "LinePanel", "Panel", "bar_chart", "esc", "line_chart", "nice_ticks",
           "svg_document", "tick_label"]

# matplotlib's default colours ("tab10"), so lines keep the colours they had
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf"]

FONT = "font-family:DejaVu Sans,Helvetica,Arial,sans-serif"
_CHAR = 6.6  # width of a letter at 11px, about
_ROW = 26  # pixels per label row of bars
_TITLE, _AXIS = 36, 42  # the band above the plot (title) and below it (ticks and the axis label)


def esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _text_width(text: str, size: float = 11) -> float:
    return len(text) * _CHAR * size / 11


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """About ``count`` round tick values spanning ``[lo, hi]``."""
    if not (np.isfinite(lo) and np.isfinite(hi)) or hi <= lo:
        return [lo] if np.isfinite(lo) else [0.0]
    raw = (hi - lo) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = min((m * power for m in (1, 2, 2.5, 5, 10)), key=lambda st: abs((hi - lo) / st - count))
    first = math.ceil(lo / step - 1e-9) * step
    return [round(first + i * step, 12) for i in range(int(math.floor((hi - first) / step + 1e-9)) + 1)]


def tick_label(value: float, percent: bool = False, step: float = 0.1) -> str:
    """A tick's text: percentages of shares, thousands as ``12k``, otherwise with as many decimals as
    the ticks' ``step`` needs (0.25 steps: two)."""
    scale = 100.0 if percent else 1.0
    size = abs(step * scale) or 1.0
    digits = max(0, -math.floor(math.log10(size)))
    if round(size, digits) != round(size, digits + 3):
        digits += 1
    if percent:
        return f"{100 * value:.{min(digits, 4)}f}%"
    if abs(value) >= 10_000 and size >= 1000:
        return f"{value / 1000:,.0f}k"
    return f"{value:.{min(digits, 6)}f}"


def _step(ticks: list[float]) -> float:
    return ticks[1] - ticks[0] if len(ticks) > 1 else 1.0


def _figure(value: float, percent: bool) -> str:
    if value is None or not np.isfinite(value):
        return "undefined"
    return f"{100 * value:.1f}%" if percent else f"{value:.4g}"


@dataclass
class Bars:
    """One series of horizontal bars, a bar per label: values with optional interval ends, colours
    (one or one per bar) and its name in the legend."""

    values: Sequence[float]
    colours: Any = "#2c6fbb"
    lo: Sequence[float] | None = None
    hi: Sequence[float] | None = None
    label: str | None = None
    notes: Sequence[str] | None = None  # text after each bar ("1,234 rows")


@dataclass
class Panel:
    """One panel of a bar chart: its series share the rows; reference lines at given values."""

    series: list[Bars]
    title: str = ""
    xlabel: str = ""
    percent: bool = False
    xmin: float | None = None
    xmax: float | None = None
    lines: list[tuple[float, str, bool, str | None]] = field(default_factory=list)  # value, colour, dashed, legend


def _legend(entries: list[tuple[str, str, str]], x: float, y: float) -> str:
    """Legend entries (label, colour, kind: "bar", "line" or "dashed"), one under another."""
    out = []
    for i, (label, colour, kind) in enumerate(entries):
        yy = y + 18 * i
        dash = ' stroke-dasharray="4 3"' if kind == "dashed" else ""
        mark = (f'<rect x="{x}" y="{yy}" width="12" height="10" fill="{colour}"/>' if kind == "bar" else
                f'<line x1="{x}" y1="{yy + 5}" x2="{x + 14}" y2="{yy + 5}" stroke="{colour}" stroke-width="2"{dash}/>')
        out.append(f'{mark}<text x="{x + 19}" y="{yy + 9}" font-size="11">{esc(label)}</text>')
    return "".join(out)


def svg_document(width: float, height: float, summary: str, body: str) -> str:
    """An ``<svg>`` element of the given size around ``body``, titled ``summary`` (for screen readers)."""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" style="{FONT}"><title>{esc(summary)}</title>'
            f"{body}</svg>")


def _title(text: str, x: float, y: float = 16, size: int = 12) -> str:
    lines = str(text).split("\n")
    return "".join(f'<text x="{x:.1f}" y="{y + 14 * i:.1f}" text-anchor="middle" font-size="{size}">{esc(t)}</text>'
                   for i, t in enumerate(lines))


def bar_chart(labels: Sequence[str], panels: Sequence[Panel], *, width: float = 800, max_label: int = 50,
              summary: str = "") -> str:
    """Horizontal bars, first label on top, in one or more panels side by side sharing the labels."""
    if not len(labels):
        return ""
    n = len(labels)
    # a label may be written on two lines ("\n" between them): each line is measured and cut on its own
    split = [str(s).split("\n") for s in labels]
    label_w = min(max(_text_width(line) for lines in split for line in lines) + 14, 0.4 * width)
    # letters that fit (the epsilon: the longest label, which set the width, must fit exactly); a longer label
    # is cut (tooltip: whole)
    fit = min(max_label, int((label_w - 14) / _CHAR + 1e-9))
    shown = [[s if len(s) <= fit else s[: fit - 1] + "…" for s in lines] for lines in split]
    labels = [" ".join(lines) for lines in split]
    legend: list[tuple[str, str, str]] = []
    for p in panels:
        legend += [(s.label, s.colours if isinstance(s.colours, str) else s.colours[0], "bar")
                   for s in p.series if s.label]
        legend += [(text, colour, "dashed" if dashed else "line") for _, colour, dashed, text in p.lines if text]
    legend_w = max((_text_width(t) + 30 for t, _, _ in legend), default=0)
    gap = 40  # between panels: room for the last tick label of one and the first of the next
    plot_w = (width - label_w - legend_w - gap * (len(panels) - 1) - 10) / len(panels)
    titles = max((str(p.title).count("\n") + 1 for p in panels), default=1)
    top = _TITLE + 14 * (titles - 1)
    row = _ROW + 13 * (max(map(len, shown)) - 1)  # a row grows to hold a label of several lines
    bottom = top + n * row
    height = bottom + _AXIS
    parts = [f'<text x="{label_w - 8:.1f}" y="{top + row * (i + 0.5) + 4 + 13 * (j - (len(shown[i]) - 1) / 2):.1f}" '
             f'text-anchor="end" font-size="11"><title>{esc(labels[i])}</title>{esc(line)}</text>'
             for i in range(n) for j, line in enumerate(shown[i])]
    for k, p in enumerate(panels):
        left = label_w + k * (plot_w + gap)
        values = [np.asarray(s.values, dtype=float) for s in p.series]
        ends = values + [np.asarray(s.hi, dtype=float) for s in p.series if s.hi is not None] + \
            [np.asarray(s.lo, dtype=float) for s in p.series if s.lo is not None]
        finite = np.concatenate([e[np.isfinite(e)] for e in ends] + [np.array([v for v, *_ in p.lines])])
        lo = p.xmin if p.xmin is not None else min(0.0, float(finite.min()) if finite.size else 0.0)
        hi = p.xmax if p.xmax is not None else max(float(finite.max()) * 1.05 if finite.size else 1.0, lo + 1e-9)
        if hi <= lo:
            hi = lo + 1.0
        # as many ticks as their labels have room for (a narrow panel of four gets three, not five)
        ticks = [t for t in nice_ticks(lo, hi, max(2, min(5, int(plot_w // 48)))) if lo - 1e-12 <= t <= hi + 1e-12]
        step = ticks[1] - ticks[0] if len(ticks) > 1 else (hi - lo)

        def x(v: float, left: float = left, lo: float = lo, hi: float = hi) -> float:
            return left + plot_w * (min(max(v, lo), hi) - lo) / (hi - lo)

        parts.append(_title(p.title, left + plot_w / 2))
        for t in ticks:
            parts.append(f'<line x1="{x(t):.1f}" y1="{top}" x2="{x(t):.1f}" y2="{bottom}" stroke="#e5e7e9"/>'
                         f'<text x="{x(t):.1f}" y="{bottom + 14}" text-anchor="middle" font-size="10" fill="#555">'
                         f'{tick_label(t, p.percent, step)}</text>')
        parts.append(f'<line x1="{left:.1f}" y1="{bottom}" x2="{left + plot_w:.1f}" y2="{bottom}" stroke="#999"/>')
        if p.xlabel:
            parts.append(f'<text x="{left + plot_w / 2:.1f}" y="{bottom + 32}" text-anchor="middle" font-size="11">'
                         f'{esc(p.xlabel)}</text>')
        band = (_ROW - 8) / max(len(p.series), 1)
        zero = x(max(lo, 0.0)) if lo <= 0 <= hi else x(lo)
        for j, (s, v) in enumerate(zip(p.series, values)):
            colours = [s.colours] * n if isinstance(s.colours, str) else list(s.colours)
            los = None if s.lo is None else np.asarray(s.lo, dtype=float)
            his = None if s.hi is None else np.asarray(s.hi, dtype=float)
            for i in range(n):
                y = top + row * i + (row - _ROW) / 2 + 4 + band * j
                val = v[i] if np.isfinite(v[i]) else 0.0
                a, b = sorted((zero, x(val)))
                tip = f"{labels[i]}: {s.label + ' ' if s.label else ''}{_figure(v[i], p.percent)}"
                if los is not None and his is not None and np.isfinite(los[i]) and np.isfinite(his[i]):
                    tip += f" ({_figure(los[i], p.percent)} to {_figure(his[i], p.percent)})"
                parts.append(f'<rect x="{a:.1f}" y="{y:.1f}" width="{b - a:.1f}" height="{band - 1:.1f}" '
                             f'fill="{colours[i]}"><title>{esc(tip)}</title></rect>')
                if los is not None and his is not None and np.isfinite(los[i]) and np.isfinite(his[i]):
                    mid, cap = y + (band - 1) / 2, min(band / 2 - 1, 4)
                    l, r = x(los[i]), x(his[i])
                    parts.append(f'<path d="M{l:.1f} {mid:.1f}H{r:.1f}M{l:.1f} {mid - cap:.1f}V{mid + cap:.1f}'
                                 f'M{r:.1f} {mid - cap:.1f}V{mid + cap:.1f}" stroke="#333" fill="none"/>')
                if s.notes is not None and s.notes[i]:
                    parts.append(f'<text x="{b + 4:.1f}" y="{y + band / 2 + 3:.1f}" font-size="10" fill="#333">'
                                 f'{esc(s.notes[i])}</text>')
        for value, colour, dashed, _ in p.lines:
            if np.isfinite(value) and lo <= value <= hi:
                dash = ' stroke-dasharray="5 3"' if dashed else ""
                parts.append(f'<line x1="{x(value):.1f}" y1="{top - 4}" x2="{x(value):.1f}" y2="{bottom}" '
                             f'stroke="{colour}"{dash}/>')
    if legend:
        parts.append(_legend(legend, width - legend_w + 6, top))
    return svg_document(width, height, summary or "; ".join(map(str, labels)), "".join(parts))


@dataclass
class Line:
    """One line of a line chart: points (x may be category positions), its look and its legend name."""

    x: Sequence[float]
    y: Sequence[float]
    colour: str = "#2c6fbb"
    width: float = 2.0
    opacity: float = 1.0
    markers: bool = False
    dashed: bool = False
    label: str | None = None


@dataclass
class LinePanel:
    lines: list[Line]
    title: str = ""
    xlabel: str = ""
    ylabel: str = ""
    categories: list[str] | None = None  # x tick labels at positions 0, 1, ... (categorical x)
    percent_x: bool = False
    percent_y: bool = False
    xlim: tuple[float, float] | None = None
    ylim: tuple[float, float] | None = None


def line_chart(panels: Sequence[LinePanel], *, panel_width: float = 300, height: float = 260,
               summary: str = "") -> str:
    """Lines over one or more panels side by side; a legend on the right when lines are named."""
    if not panels:
        return ""
    legend = list(dict.fromkeys((ln.label, ln.colour, "dashed" if ln.dashed else "line")
                                for p in panels for ln in p.lines if ln.label))
    legend_w = max((_text_width(t) + 30 for t, _, _ in legend), default=0)
    rotate = any(p.categories and max(map(len, p.categories), default=0) > 3 for p in panels)
    cat_h = max((min(max(map(len, p.categories)), 24) * 5.5 for p in panels if p.categories), default=0)
    ylab_w, panel_w = 58, panel_width
    width = len(panels) * panel_w + legend_w + 10
    top, axis = 30, 40 + (cat_h if rotate else 0)
    plot_h = height - top - axis
    parts = []
    for k, p in enumerate(panels):
        left = k * panel_w + ylab_w
        w = panel_w - ylab_w - 12
        xs = np.concatenate([np.asarray(ln.x, dtype=float) for ln in p.lines]) if p.lines else np.zeros(1)
        ys = np.concatenate([np.asarray(ln.y, dtype=float) for ln in p.lines]) if p.lines else np.zeros(1)
        xs, ys = xs[np.isfinite(xs)], ys[np.isfinite(ys)]
        x0, x1 = p.xlim or ((float(xs.min()), float(xs.max())) if xs.size else (0.0, 1.0))
        y0, y1 = p.ylim or ((float(ys.min()), float(ys.max())) if ys.size else (0.0, 1.0))
        if p.categories:
            x0, x1 = -0.5, len(p.categories) - 0.5
        if x1 <= x0:
            x0, x1 = x0 - 0.5, x1 + 0.5
        if y1 <= y0:
            y0, y1 = y0 - 0.05 * (abs(y0) or 1), y1 + 0.05 * (abs(y1) or 1)
        pad = 0.05 * (y1 - y0)
        y0, y1 = (y0 - pad, y1 + pad) if p.ylim is None else (y0, y1)

        def px(v: float, left: float = left, w: float = w, x0: float = x0, x1: float = x1) -> float:
            return left + w * (v - x0) / (x1 - x0)

        def py(v: float, y0: float = y0, y1: float = y1) -> float:
            return top + plot_h * (1 - (v - y0) / (y1 - y0))

        parts.append(_title(p.title, left + w / 2, 16, 11))
        yticks = nice_ticks(y0, y1, 4)
        for t in yticks:
            if y0 <= t <= y1:
                parts.append(f'<line x1="{left}" y1="{py(t):.1f}" x2="{left + w:.1f}" y2="{py(t):.1f}" '
                             f'stroke="#e5e7e9"/>'
                             f'<text x="{left - 4}" y="{py(t) + 3:.1f}" text-anchor="end" font-size="9" fill="#555">'
                             f'{tick_label(t, p.percent_y, _step(yticks))}</text>')
        if p.categories:
            for i, c in enumerate(p.categories):
                c = c if len(c) <= 24 else c[:23] + "…"
                tx, ty = px(i), top + plot_h + 12
                anchor = (f' text-anchor="end" transform="rotate(-45 {tx:.1f} {ty:.1f})"' if rotate
                          else ' text-anchor="middle"')
                parts.append(f'<text x="{tx:.1f}" y="{ty:.1f}"{anchor} font-size="9" fill="#555">{esc(c)}</text>')
        else:
            xticks = nice_ticks(x0, x1, 4)
            for t in xticks:
                if x0 - 1e-12 <= t <= x1 + 1e-12:
                    parts.append(f'<text x="{px(t):.1f}" y="{top + plot_h + 13:.1f}" text-anchor="middle" '
                                 f'font-size="9" fill="#555">{tick_label(t, p.percent_x, _step(xticks))}</text>')
        parts.append(f'<rect x="{left}" y="{top}" width="{w:.1f}" height="{plot_h:.1f}" fill="none" stroke="#999"/>')
        if p.xlabel:
            parts.append(f'<text x="{left + w / 2:.1f}" y="{height - 6:.1f}" text-anchor="middle" font-size="10">'
                         f'{esc(p.xlabel)}</text>')
        if p.ylabel:
            cx, cy = k * panel_w + 12, top + plot_h / 2
            parts.append(f'<text x="{cx}" y="{cy:.1f}" text-anchor="middle" font-size="9" '
                         f'transform="rotate(-90 {cx} {cy:.1f})">{esc(p.ylabel)}</text>')
        for ln in p.lines:
            pts = [(px(a), py(b)) for a, b in zip(np.asarray(ln.x, dtype=float), np.asarray(ln.y, dtype=float))
                   if np.isfinite(a) and np.isfinite(b)]
            if not pts:
                continue
            d = " ".join(f"{a:.1f},{b:.1f}" for a, b in pts)
            style = f' stroke-opacity="{ln.opacity}"' if ln.opacity < 1 else ""
            style += ' stroke-dasharray="5 3"' if ln.dashed else ""
            parts.append(f'<polyline points="{d}" fill="none" stroke="{ln.colour}" stroke-width="{ln.width}"{style}/>')
            if ln.markers:
                parts += [f'<circle cx="{a:.1f}" cy="{b:.1f}" r="2.5" fill="{ln.colour}"/>' for a, b in pts]
    if legend:
        parts.append(_legend(legend, width - legend_w + 4, top))
    return svg_document(width, height, summary or "; ".join(p.title for p in panels), "".join(parts))
