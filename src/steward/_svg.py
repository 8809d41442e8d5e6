"""Matplotlib figures as inline SVG, for reports and pages that must render offline.

Shared by every capability that draws (audit, slices, debug, explain), so it sits below them all.
"""

from __future__ import annotations

import io
from typing import Any

__all__ = ["pyplot", "to_svg"]


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the non-interactive Agg backend (no screen on servers)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def to_svg(fig: Any) -> str:
    """The figure as an ``<svg>`` element (no XML prolog), and the figure closed."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    pyplot().close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]
