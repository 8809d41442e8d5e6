"""Charts for the report as inline SVG, written directly (see :mod:`steward._svgplot`): no JavaScript,
nothing fetched, a few milliseconds each."""

from __future__ import annotations

import numpy as np
import pandas as pd

from steward._svgplot import Bars, Panel, bar_chart

__all__ = ["attribute_chart"]

_RED, _GREY, _BLUE, _ORANGE, _SMALL = "#c0392b", "#7f8c8d", "#2c6fbb", "#e67e22", "#d5d8dc"


def attribute_chart(rows: pd.DataFrame, favourable: int) -> str:
    """Three panels for one attribute: favourable rate, adverse impact ratio, harmful error rates."""
    def col(name: str) -> np.ndarray:
        return rows[name].to_numpy(dtype=float)

    labels = [f"{g} (ref)" if r else str(g) for g, r in zip(rows["group"], rows["is_reference"])]
    small = rows["too_small_to_judge"].to_numpy(dtype=bool)
    reference = rows["is_reference"].to_numpy(dtype=bool)
    rate, air = col("favourable_rate"), col("adverse_impact_ratio")
    air_top = float(min(np.nanmax(np.concatenate([[1.3], col("adverse_impact_ratio_ci_high")])) * 1.05, 5.0))
    panels = [
        Panel([Bars(rate, np.where(small, _SMALL, _BLUE).tolist(), col("favourable_rate_ci_low"),
                    col("favourable_rate_ci_high"))],
              title=f"Favourable decision ({favourable}) rate", percent=True, xmin=0, xmax=1,
              lines=[(float(rate[reference][0]) if reference.any() else float("nan"), _GREY, True, None)]),
        Panel([Bars(air, np.where(small, _SMALL, np.where(air < 0.8, _RED, _BLUE)).tolist(),
                    col("adverse_impact_ratio_ci_low"), col("adverse_impact_ratio_ci_high"))],
              title="Adverse impact ratio (red line: 0.8)", xmin=0, xmax=air_top,
              lines=[(0.8, _RED, True, None), (1.0, _GREY, False, None)]),
        Panel([Bars(col("false_positive_rate"), _ORANGE, col("false_positive_rate_ci_low"),
                    col("false_positive_rate_ci_high"), label="false positive rate"),
               Bars(col("false_negative_rate"), _GREY, col("false_negative_rate_ci_low"),
                    col("false_negative_rate_ci_high"), label="false negative rate")],
              title="Error rates", percent=True, xmin=0, xmax=1),
    ]
    summary = "; ".join(f"{t}{' (too small to judge)' if s else ''}: favourable rate "
                        + (f"{r:.1%}" if np.isfinite(r) else "not shown")
                        + (f", adverse impact ratio {a:.2f}" if np.isfinite(a) else "")
                        for t, s, r, a in zip(labels, small, rate, air))
    return bar_chart(labels, panels, width=1000, max_label=36, summary=summary)
