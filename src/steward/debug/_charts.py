"""Charts for the model-debugging sections (inline SVG written directly by :mod:`steward._svgplot`,
nothing fetched)."""

from __future__ import annotations

import numpy as np

__all__ = ["comparison_chart", "churn_chart", "residual_chart"]

_RED, _GREY, _BLUE = "#c0392b", "#7f8c8d", "#2c6fbb"


def comparison_chart(cmp) -> str:
    """Difference model - reference per metric and scope, with its interval; green when better."""
    from steward._svgplot import Bars, Panel, bar_chart
    from steward.debug._bootstrap import LOWER_IS_BETTER, QUALITY_METRICS

    m = cmp.metrics
    scopes = list(dict.fromkeys(m["scope"]))
    panels = []
    for metric in QUALITY_METRICS:
        rows = m[m["metric"] == metric].set_index("scope").loc[scopes]
        colours = np.where(rows["better"].to_numpy(dtype=bool), "#27ae60", _RED).tolist()
        panels.append(Panel([Bars(rows["difference"].to_numpy(float), colours,
                                  rows["difference_ci_low"].to_numpy(float), rows["difference_ci_high"].to_numpy(float))],
                            title=f"{metric} (model - {cmp.reference_kind})\n"
                                  f"{'lower' if metric in LOWER_IS_BETTER else 'higher'} is better",
                            lines=[(0.0, _GREY, False, None)]))
    return bar_chart([str(s) for s in scopes], panels, width=1000)


def churn_chart(report) -> str:
    from steward._svgplot import Bars, Panel, bar_chart

    t = report.table
    panel = Panel([Bars(t["churn"].to_numpy(float), np.where(t["too_small_to_judge"], "#d5d8dc", _BLUE).tolist(),
                        t["churn_ci_low"].to_numpy(float), t["churn_ci_high"].to_numpy(float))],
                  xlabel="share of decisions that flip between the versions", percent=True, xmin=0)
    return bar_chart([str(s) for s in t["scope"]], [panel], width=800)


def residual_chart(report) -> str:
    """Cumulative share of the loss against the share of rows, worst rows first (a Lorenz-type curve)."""
    from steward._svgplot import Line, LinePanel, line_chart

    shares = report.worst_share
    xs = [0, 0.01, 0.05, 0.10, 1.0]
    ys = [0, shares["top_1pct"], shares["top_5pct"], shares["top_10pct"], 1.0]
    panel = LinePanel([Line(xs, ys, colour=_RED, markers=True, label="this model"),
                       Line([0, 1], [0, 1], colour=_GREY, width=1.5, dashed=True, label="loss spread evenly")],
                      xlabel="share of rows (worst first)",
                      ylabel=f"share of the total {report.loss.replace('_', ' ')}",
                      percent_x=True, percent_y=True, xlim=(0.0, 1.0), ylim=(0.0, 1.0))
    return line_chart([panel], panel_width=420, height=300)
