"""The HTML report: one file, readable by a non-specialist first, that works with the network off."""

from __future__ import annotations

from typing import TYPE_CHECKING

import jinja2
import numpy as np

from steward._html import loader as html_loader
from steward._html import stylesheet
from steward.audit._charts import attribute_chart
from steward.audit._findings import worst_first
from steward.audit._report_models import analysis_sections
from steward.audit.card import card_sections
from steward.audit._summary import format_p, pct

if TYPE_CHECKING:
    from steward.audit._result import AuditResult

__all__ = ["render_html"]

# report.html extends the base every Steward page shares (header, stylesheet, footer)
_ENV = jinja2.Environment(
    loader=jinja2.ChoiceLoader([jinja2.PackageLoader("steward.audit", "templates"), html_loader()]),
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
    card_title, card = card_sections(result)
    template = _ENV.get_template("report.html")
    return template.render(
        result=result,
        version=__version__,
        stylesheet=stylesheet(),
        kind="",
        created=result.created,
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
        policy=result.policy,
        passed=result.passed,
        findings=worst_first(result.findings or []),
        threshold_text=_threshold_text,
        card_title=card_title,
        card_sections=card,
        has_card=result.card is not None,
        analyses=analysis_sections(result),
    )


def _threshold_text(threshold: dict) -> str:
    words = {"min": "at least", "max": "at most", "max_abs": "at most ±", "required": "required"}
    parts = []
    for k, v in threshold.items():
        if v is None:
            continue
        if v is True:
            parts.append(words.get(k, k))
        else:
            parts.append(f"{words.get(k, k)} {v:g}" if isinstance(v, (int, float)) else f"{words.get(k, k)} {v}")
    return ", ".join(parts).replace("± ", "±")
