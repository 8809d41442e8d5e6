"""The page of a model-extraction probe: the verdict, agreement against the query budget, what was done,
then the figures per budget and every fit."""

from __future__ import annotations

from typing import Any

import numpy as np

from steward._html import count, pct, table
from steward._svgplot import PALETTE, Line, LinePanel, line_chart
from steward.debug._pages import _chart, _p, _section, _verdict
from steward.privacy._extraction import _SURROGATE_TEXT

__all__ = ["budget_label", "extraction_chart", "extraction_html"]

_GREY = "#7f8c8d"


def budget_label(b: int) -> str:
    """A budget as a short tick: 100, 1k, 10k, 2.5k, 1M."""
    for size, suffix in ((1_000_000, "M"), (1_000, "k")):
        if b >= size:
            return f"{b / size:g}{suffix}"
    return str(b)


def extraction_chart(rep: Any) -> str:
    """Mean agreement of each surrogate at each budget (the budgets as evenly spaced categories, which
    is a log scale for budgets growing tenfold), with the target and the majority baseline as references."""
    curve = rep.curve()
    if curve.empty:
        return ""
    x = np.arange(len(curve))
    lines = [Line(x, curve[s].to_numpy(float), colour=PALETTE[i % len(PALETTE)], markers=True, label=str(s))
             for i, s in enumerate(curve.columns)]
    ends = np.array([-0.5, len(curve) - 0.5])
    lines.append(Line(ends, [rep.agreement_target] * 2, colour="#c0392b", width=1, dashed=True,
                      label=f"target {100 * rep.agreement_target:g}%"))
    lines.append(Line(ends, [rep.baseline_agreement] * 2, colour=_GREY, width=1, dashed=True,
                      label="always the majority decision"))
    low = min(float(np.nanmin(curve.to_numpy(float))), rep.baseline_agreement, rep.agreement_target)
    panel = LinePanel(lines, title="Agreement of the copy with the model's decisions",
                      xlabel="queries (budget)", ylabel="agreement on held-out rows",
                      categories=[budget_label(int(b)) for b in curve.index], percent_y=True,
                      ylim=(max(0.0, low - 0.02), 1.0))
    summary = "; ".join(f"{budget_label(int(r.budget))} queries: {100 * r.agreement:.1f}% ({r.best_surrogate})"
                        for r in rep.summary.itertuples())
    return line_chart([panel], panel_width=560, height=300, summary=summary)


def extraction_html(rep: Any, heading: int = 2) -> str:
    who = ("an attacker who knows only the published distribution of each feature (queries drawn from the "
           "training profile, each feature on its own)" if rep.source == "profile" else
           "an attacker who holds real rows of the population (queries drawn from the data given)")
    reads = "scores" if rep.answers == "scores" else "decisions (0/1) only"
    throttle = ""
    if rep.rate is not None:
        throttle = (f" At the throttle of {rep.rate:g} queries per second per key"
                    + (f" (bursts of {rep.burst:g})" if rep.burst else "")
                    + ", the time column is how long one key needs to send a budget's queries.")
    kind = "warn" if rep.queries_needed is not None else "ok"
    parts = [_verdict(kind, rep.verdict()), _chart(extraction_chart(rep)), _p(
        f"Played {who}, reading the model's {reads}, {rep.repeats} time{'s' if rep.repeats != 1 else ''} at each "
        f"budget; at each, the attacker fitted {'; '.join(_SURROGATE_TEXT[s] for s in rep.surrogates)} to the "
        f"answers. Agreement is the share "
        f"of {count(rep.holdout_rows)} real held-out rows on which the copy makes the model's decision (score at "
        f"least {rep.threshold:g}); always answering the majority decision agrees on "
        f"{pct(rep.baseline_agreement)}. A copy counts from {pct(rep.agreement_target, 0)} agreement.{throttle}")]
    parts += [_p(note) for note in rep.notes]
    summary = rep.summary.drop(columns=["reached"])
    fits = rep.table
    if rep.answers != "scores":  # no score figures when the attacker sees decisions only
        summary = summary.drop(columns=["score_correlation", "mean_abs_score_gap"])
        fits = fits.drop(columns=["score_correlation", "mean_abs_score_gap"])
    parts.append(_section(heading, "The best copy at each budget", table(
        summary, formats={"budget": "count", "agreement": "pct", "agreement_lowest": "pct", "agreement_highest": "pct"},
        labels={"time_seconds": "time for one key (s)", "agreement": "agreement (mean over repeats)",
                "agreement_lowest": "lowest repeat", "agreement_highest": "highest repeat"},
        limit=len(summary))))
    parts.append(_section(heading, "Every copy", table(
        fits, formats={"budget": "count", "agreement": "pct", "positive_share": "pct", "repeat": "count"},
        limit=len(rep.surrogates) * len(summary), order="agreement",
        summary="the copies that agree with the model most")))
    return "\n".join(parts)
