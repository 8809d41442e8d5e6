"""The HTML report: one file, readable by a non-specialist first, that works with the network off."""

from __future__ import annotations

from typing import TYPE_CHECKING

import jinja2
import numpy as np

from steward.audit._charts import attribute_chart
from steward.audit._summary import format_p, pct

if TYPE_CHECKING:
    from steward.audit._result import AuditResult

__all__ = ["render_html"]

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("steward.audit", "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.StrictUndefined,
)


def _num(x: float, digits: int = 3) -> str:
    return "undefined" if x is None or not np.isfinite(x) else f"{x:.{digits}f}"


def _interval(lo: float, hi: float, digits: int = 2, as_pct: bool = False) -> str:
    if lo is None or hi is None or not (np.isfinite(lo) and np.isfinite(hi)):
        return ""
    if as_pct:
        return f"{100 * lo:.1f}–{100 * hi:.1f}%"
    return f"{lo:.{digits}f}–{hi:.{digits}f}"


def render_html(result: "AuditResult") -> str:
    from steward import __version__
    from steward.audit._result import METHODS

    g = result.groups
    sections = []
    for attribute in dict.fromkeys(g["attribute"]):
        rows = g[g["attribute"] == attribute]
        sections.append({
            "attribute": attribute,
            "reference": rows["reference"].iloc[0],
            "chart": attribute_chart(rows, result.roles.favourable),
            "rows": rows.to_dict(orient="records"),
        })
    statements = result.statements()
    template = _ENV.get_template("report.html")
    return template.render(
        result=result,
        version=__version__,
        statements=statements,
        disadvantaged=[s for s in statements if s.severity == 2],
        sections=sections,
        roles=result.roles.to_dict(),
        source=result.source,
        settings=result.settings,
        references=result.references,
        notes=result.notes,
        methods=METHODS,
        pct=pct,
        num=_num,
        interval=_interval,
        format_p=format_p,
        undefined_reason=lambda row, metric: row["undefined"].get(metric, ""),
    )
