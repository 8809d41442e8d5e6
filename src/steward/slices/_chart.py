"""The slice chart: error rate inside each slice against the rest and the overall mean (inline SVG)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from steward.slices._find import SliceReport

__all__ = ["slice_chart"]


def slice_chart(report: "SliceReport") -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from steward._svg import to_svg as _svg

    t = report.table
    if t.empty:
        return ""
    labels = [s if len(s) <= 70 else s[:67] + "..." for s in t["slice"]]
    y = np.arange(len(t))[::-1]
    fig, ax = plt.subplots(figsize=(10, 0.9 + 0.42 * len(t)))
    ax.barh(y + 0.2, t["error_rate"], height=0.4, color="#c0392b", label="inside the slice")
    ax.barh(y - 0.2, t["rest_error_rate"], height=0.4, color="#7f8c8d", label="all other rows")
    ax.axvline(report.mean_error, color="#2c6fbb", ls="--", lw=1, label=f"overall ({report.mean_error:.3f})")
    for yi, (rate, size) in zip(y, zip(t["error_rate"], t["size"])):
        ax.text(rate, yi + 0.2, f"  {size:,} rows", va="center", fontsize=8)
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xlabel("mean error (share misclassified for 0/1 errors)")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_xlim(0, max(float(t["error_rate"].max()) * 1.25, report.mean_error * 1.5))
    return _svg(fig)
