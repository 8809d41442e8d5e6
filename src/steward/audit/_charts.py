"""Charts for the report as inline SVG (matplotlib, no JavaScript, nothing fetched)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from steward._svg import to_svg

__all__ = ["attribute_chart"]

_RED, _GREY, _BLUE, _ORANGE = "#c0392b", "#7f8c8d", "#2c6fbb", "#e67e22"


_svg = to_svg


def _errors(values: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    lower = np.where(np.isfinite(lo), values - lo, 0.0)
    upper = np.where(np.isfinite(hi), hi - values, 0.0)
    return np.vstack([np.maximum(lower, 0), np.maximum(upper, 0)])


def attribute_chart(rows: pd.DataFrame, favourable: int) -> str:
    """Three panels for one attribute: favourable rate, adverse impact ratio, harmful error rates."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{g} (ref)" if r else str(g) for g, r in zip(rows["group"], rows["is_reference"])]
    y = np.arange(len(rows))[::-1]
    height = 0.9 + 0.38 * len(rows)
    fig, axes = plt.subplots(1, 3, figsize=(12, height), sharey=True)
    small = rows["too_small_to_judge"].to_numpy()

    fav = rows["favourable_rate"].to_numpy(dtype=float)
    ax = axes[0]
    ax.barh(y, np.nan_to_num(fav), color=np.where(small, "#d5d8dc", _BLUE),
            xerr=_errors(fav, rows["favourable_rate_ci_low"].to_numpy(float), rows["favourable_rate_ci_high"].to_numpy(float)),
            capsize=3, ecolor="#333")
    ref = fav[rows["is_reference"].to_numpy()][0]
    ax.axvline(ref, color=_GREY, ls="--", lw=1)
    ax.set_xlim(0, 1)
    ax.set_title(f"Favourable decision ({favourable}) rate", fontsize=10)
    ax.set_yticks(y, labels)

    air = rows["adverse_impact_ratio"].to_numpy(dtype=float)
    ax = axes[1]
    colors = np.where(small, "#d5d8dc", np.where(air < 0.8, _RED, _BLUE))
    ax.barh(y, np.nan_to_num(air), color=colors,
            xerr=_errors(air, rows["adverse_impact_ratio_ci_low"].to_numpy(float), rows["adverse_impact_ratio_ci_high"].to_numpy(float)),
            capsize=3, ecolor="#333")
    ax.axvline(0.8, color=_RED, ls="--", lw=1)
    ax.axvline(1.0, color=_GREY, lw=0.8)
    top = np.nanmax(np.concatenate([[1.3], rows["adverse_impact_ratio_ci_high"].to_numpy(float)]))
    ax.set_xlim(0, min(top * 1.05, 5))
    ax.set_title("Adverse impact ratio (red line: 0.8)", fontsize=10)

    ax = axes[2]
    fpr = rows["false_positive_rate"].to_numpy(dtype=float)
    fnr = rows["false_negative_rate"].to_numpy(dtype=float)
    ax.barh(y + 0.2, np.nan_to_num(fpr), height=0.4, color=_ORANGE, label="false positive rate",
            xerr=_errors(fpr, rows["false_positive_rate_ci_low"].to_numpy(float), rows["false_positive_rate_ci_high"].to_numpy(float)),
            capsize=2, ecolor="#333")
    ax.barh(y - 0.2, np.nan_to_num(fnr), height=0.4, color=_GREY, label="false negative rate",
            xerr=_errors(fnr, rows["false_negative_rate_ci_low"].to_numpy(float), rows["false_negative_rate_ci_high"].to_numpy(float)),
            capsize=2, ecolor="#333")
    ax.set_xlim(0, 1)
    ax.set_title("Error rates", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    for a in axes:
        a.tick_params(labelsize=9)
        a.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return _svg(fig)
