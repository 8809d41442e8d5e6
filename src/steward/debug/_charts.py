"""Charts for the model-debugging sections (inline SVG, nothing fetched)."""

from __future__ import annotations

import numpy as np

__all__ = ["comparison_chart", "churn_chart", "residual_chart"]

_RED, _GREY, _BLUE = "#c0392b", "#7f8c8d", "#2c6fbb"


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def comparison_chart(cmp) -> str:
    """Difference model - reference per metric and scope, with its interval; green when better."""
    from steward._svg import to_svg as _svg
    from steward.debug._bootstrap import LOWER_IS_BETTER, QUALITY_METRICS

    plt = _plt()
    m = cmp.metrics
    scopes = list(dict.fromkeys(m["scope"]))
    fig, axes = plt.subplots(1, len(QUALITY_METRICS), figsize=(12, 0.9 + 0.38 * len(scopes)), sharey=True)
    y = np.arange(len(scopes))[::-1]
    for ax, metric in zip(axes, QUALITY_METRICS):
        rows = m[m["metric"] == metric].set_index("scope").loc[scopes]
        d = rows["difference"].to_numpy(float)
        lo, hi = rows["difference_ci_low"].to_numpy(float), rows["difference_ci_high"].to_numpy(float)
        err = np.vstack([np.nan_to_num(np.maximum(d - lo, 0)), np.nan_to_num(np.maximum(hi - d, 0))])
        ax.barh(y, np.nan_to_num(d), color=np.where(rows["better"], "#27ae60", _RED), xerr=err, capsize=3, ecolor="#333")
        ax.axvline(0, color=_GREY, lw=1)
        ax.set_title(f"{metric} (model - {cmp.reference_kind})\n{'lower' if metric in LOWER_IS_BETTER else 'higher'} is better",
                     fontsize=9)
        ax.set_yticks(y, scopes, fontsize=8)
    return _svg(fig)


def churn_chart(report) -> str:
    from steward._svg import to_svg as _svg

    plt = _plt()
    t = report.table
    y = np.arange(len(t))[::-1]
    fig, ax = plt.subplots(figsize=(8, 0.9 + 0.35 * len(t)))
    ax.barh(y, t["churn"], color=np.where(t["too_small_to_judge"], "#d5d8dc", _BLUE),
            xerr=np.vstack([t["churn"] - t["churn_ci_low"], t["churn_ci_high"] - t["churn"]]), capsize=3, ecolor="#333")
    ax.set_yticks(y, t["scope"], fontsize=8)
    ax.set_xlabel("share of decisions that flip between the versions")
    return _svg(fig)


def residual_chart(report) -> str:
    """Cumulative share of the loss against the share of rows, worst rows first (a Lorenz-type curve)."""
    from steward._svg import to_svg as _svg

    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 3.6))
    shares = report.worst_share
    xs = [0, 0.01, 0.05, 0.10, 1.0]
    ys = [0, shares["top_1pct"], shares["top_5pct"], shares["top_10pct"], 1.0]
    ax.plot(xs, ys, marker="o", color=_RED, label="this model")
    ax.plot([0, 1], [0, 1], ls="--", color=_GREY, label="loss spread evenly")
    ax.set_xlabel("share of rows (worst first)")
    ax.set_ylabel(f"share of total {report.loss}")
    ax.legend(fontsize=8)
    return _svg(fig)
