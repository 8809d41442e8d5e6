"""Plain-language statements of what an audit found, for people who are not statisticians."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Statement", "statements", "format_p", "pct"]


@dataclass(frozen=True)
class Statement:
    """One sentence about one group, with how serious it is (for ordering and colour)."""

    attribute: str
    group: str
    kind: str  # "adverse_impact", "harmful_error", "small_group"
    severity: int  # 2 = disadvantaged beyond the benchmark, 1 = notable, 0 = informational
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"attribute": self.attribute, "group": self.group, "kind": self.kind,
                "severity": self.severity, "text": self.text}


def pct(x: float) -> str:
    return "undefined" if x is None or not np.isfinite(x) else f"{100 * x:.1f}%"


def format_p(p: float) -> str:
    if p is None or not np.isfinite(p):
        return "no test"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _sure(p: float, too_small: bool) -> str:
    if too_small:
        return "the group is too small to judge"
    if p is None or not np.isfinite(p):
        return "no test was possible"
    return "unlikely to be chance" if p < 0.05 else "could well be chance"


def statements(groups: pd.DataFrame, favourable: int, confidence: float) -> list[Statement]:
    """Sentences for the groups that fare worse than their reference, worst first."""
    out: list[Statement] = []
    level = f"{round(confidence * 100)}%"
    harmful, harm_name = (("fpr", "false_positive_rate") if favourable == 0 else ("fnr", "false_negative_rate"))
    harm_words = ("received decision 1 although their label was 0" if favourable == 0
                  else "received decision 0 although their label was 1")
    for r in groups[~groups["is_reference"]].itertuples(index=False):
        air = r.adverse_impact_ratio
        if np.isfinite(air) and air < 1.0:
            severity = 2 if air < 0.8 else (1 if r.favourable_rate_p_value < 0.05 else 0)
            bench = "below the four-fifths benchmark (0.80)" if air < 0.8 else "within the four-fifths benchmark"
            text = (
                f"{r.attribute} = {r.group} received the favourable decision ({favourable}) at "
                f"{air:.2f} times the rate of {r.reference} ({pct(r.favourable_rate)} against "
                f"{pct(r.favourable_rate - r.marginal_effect)}; {level} interval of the ratio "
                f"{r.adverse_impact_ratio_ci_low:.2f} to {r.adverse_impact_ratio_ci_high:.2f}). "
                f"This is {bench} and {_sure(r.favourable_rate_p_value, r.too_small_to_judge)} "
                f"({format_p(r.favourable_rate_p_value)}, {r.rows:,} rows)."
            )
            if r.too_small_to_judge:
                severity = min(severity, 1)
            out.append(Statement(r.attribute, r.group, "adverse_impact", severity, text))
        ratio = getattr(r, f"{harmful}_ratio")
        p = getattr(r, f"{harmful}_p_value")
        if np.isfinite(ratio) and ratio > 1.25 and np.isfinite(p) and p < 0.05:
            rate = getattr(r, harm_name)
            ref_rate = rate - getattr(r, f"{harmful}_difference")
            text = (
                f"Among {r.attribute} = {r.group}, {pct(rate)} {harm_words}, against {pct(ref_rate)} "
                f"for {r.reference}: {ratio:.2f} times as often ({format_p(p)}"
                + ("; too small to judge" if r.too_small_to_judge else "") + ")."
            )
            out.append(Statement(r.attribute, r.group, "harmful_error", 1 if r.too_small_to_judge else 2, text))
    return sorted(out, key=lambda s: (-s.severity, s.attribute, s.group))
