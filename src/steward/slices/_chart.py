"""The slice chart: error rate inside each slice against the rest and the overall mean (inline SVG,
written directly by :mod:`steward._svgplot`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from steward.slices._find import SliceReport

__all__ = ["slice_chart"]


def slice_chart(report: "SliceReport") -> str:
    from steward._html import number, pct
    from steward._svgplot import Bars, Panel, bar_chart

    t = report.table
    if t.empty:
        return ""
    overall = pct(report.mean_error) if report.binary_errors else number(report.mean_error)
    inside, rest = t["error_rate"].to_numpy(float), t["rest_error_rate"].to_numpy(float)
    panel = Panel([Bars(inside, "#c0392b", label="inside the slice", notes=[f"{n:,} rows" for n in t["size"]]),
                   Bars(rest, "#7f8c8d", label="all other rows")],
                  xlabel="share of rows the model gets wrong" if report.binary_errors else "mean error per row",
                  percent=report.binary_errors, xmin=0,
                  xmax=max(float(np.nanmax(inside)) * 1.25, report.mean_error * 1.5),
                  lines=[(report.mean_error, "#2c6fbb", True, f"overall ({overall})")])
    # a long slice is written one predicate per line, so that it is not cut
    labels = [s if len(s) <= 44 else s.replace(" AND ", "\nAND ") for s in map(str, t["slice"])]
    return bar_chart(labels, [panel], width=900, max_label=70)
