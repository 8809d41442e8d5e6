"""Matplotlib figures as inline SVG, for reports and pages that must render offline.

Shared by every capability that draws (audit, slices, debug, explain), so it sits below them all.
"""

from __future__ import annotations

import io
from typing import Any

__all__ = ["legend_outside", "literal_text", "pyplot", "to_svg"]


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the non-interactive Agg backend (no screen on servers)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def legend_outside(ax: Any, **kwargs: Any) -> None:
    """The legend to the right of the axes, outside the plotting area, so that it never hides a bar."""
    opts = {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0), "borderaxespad": 0.0, "fontsize": 8,
            "frameon": False}
    ax.legend(**{**opts, **kwargs})  # a caller may override any of these (fontsize=7, say)


def literal_text(fig: Any) -> None:
    """Draw every text of ``fig`` as written: matplotlib reads ``$...$`` as mathematics, and a group or
    feature named ``$5k_$10k`` would fail to draw. Call it before anything lays the figure out
    (``tight_layout``); :func:`to_svg` calls it too."""
    from matplotlib.text import Text

    for t in fig.findobj(Text):
        t.set_parse_math(False)


def to_svg(fig: Any) -> str:
    """The figure as an ``<svg>`` element (no XML prolog), and the figure closed.

    Every text is drawn literally: names of groups, features and files come from the data, and a
    ``$`` in one must not be read as mathematics (Steward's charts use none).
    """
    import matplotlib

    literal_text(fig)
    buf = io.StringIO()
    try:
        with matplotlib.rc_context({"text.parse_math": False}):  # ticks made while drawing, too
            fig.savefig(buf, format="svg", bbox_inches="tight")
    finally:
        pyplot().close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]
