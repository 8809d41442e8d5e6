"""The result of an audit: a table for analysts, JSON for machines, HTML for people."""

from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from steward.audit._findings import BLOCKING, Finding, worst_first
from steward.audit._summary import Statement, statements
from steward.audit.card import CardInfo
from steward.data import Roles
from steward.engine import CellTable

__all__ = ["AuditResult", "SCHEMA"]

SCHEMA = "steward.audit/1"

# The columns of report.json's group rows, in order; intervals and p-values are added per metric.
_JSON_METRICS = (
    "share", "selection_rate", "favourable_rate", "base_rate", "true_positive_rate", "false_positive_rate",
    "true_negative_rate", "false_negative_rate", "precision", "negative_predictive_value", "accuracy",
    "mean_score", "score_sd", "adverse_impact_ratio", "marginal_effect", "smd",
    "fpr_ratio", "fpr_difference", "fnr_ratio", "fnr_difference", "tpr_ratio", "tpr_difference",
)
_TESTS = {"favourable_rate": "favourable_rate", "smd": "smd", "fpr": "fpr", "fnr": "fnr", "tpr": "tpr"}


def _clean(v: Any) -> Any:
    if isinstance(v, (np.floating, float)):
        return None if not math.isfinite(float(v)) else float(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return v


@dataclass
class AuditResult:
    """Group metrics of one audit, with where the data came from and how it was read.

    ``groups`` has one row per (attribute, group): rates with ``*_ci_low``/``*_ci_high``
    intervals, comparisons with the reference group, ``*_p_value`` and ``*_test`` columns, the
    ``too_small_to_judge`` flag, and ``undefined`` (metric → reason) for values that cannot be
    computed.
    """

    groups: pd.DataFrame
    cells: CellTable
    roles: Roles
    source: dict[str, Any]
    settings: dict[str, Any]
    references: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)
    created: str = ""
    findings: list[Finding] | None = None
    policy: dict[str, Any] | None = None
    card: CardInfo | None = None
    # Analyses run with the model or its errors (slices, benchmark, residuals, churn): result objects
    # with to_dict(), to_frame() and chart(); and what the model was (kind, features, artifact SHA-256).
    analyses: dict[str, Any] = field(default_factory=dict)
    model: dict[str, Any] | None = None

    @property
    def passed(self) -> bool | None:
        """True when no finding fails the policy or lacks evidence; None when the audit was not held to a policy."""
        if self.findings is None:
            return None
        return not any(f.status in BLOCKING for f in self.findings)

    def findings_frame(self) -> pd.DataFrame:
        """The findings, worst first, one row each (empty without a policy)."""
        rows = [f.to_dict() for f in worst_first(self.findings or [])]
        return pd.DataFrame(rows, columns=list(Finding("x", "pass", "fail", "").to_dict()))

    def to_frame(self) -> pd.DataFrame:
        """The group table (a copy)."""
        return self.groups.copy()

    def statements(self) -> list[Statement]:
        """Plain-language sentences about disadvantaged groups, worst first."""
        return statements(self.groups, self.roles.favourable, self.settings["confidence"])

    def group_rows(self) -> list[dict[str, Any]]:
        rows = []
        for rec in self.groups.to_dict(orient="records"):
            row: dict[str, Any] = {
                "attribute": rec["attribute"], "group": rec["group"], "reference": rec["reference"],
                "is_reference": bool(rec["is_reference"]),
                "rows": None if rec["rows"] != rec["rows"] else int(rec["rows"]), "n": _clean(rec["n"]),
                "n_effective": _clean(rec["n_effective"]),
                "too_small_to_judge": bool(rec["too_small_to_judge"]),
                "below_four_fifths": bool(rec["below_four_fifths"]),
            }
            for m in _JSON_METRICS:
                row[m] = _clean(rec[m])
                if m + "_ci_low" in rec:
                    lo, hi = _clean(rec[m + "_ci_low"]), _clean(rec[m + "_ci_high"])
                    row[m + "_ci"] = None if lo is None or hi is None else [lo, hi]
            for name, prefix in _TESTS.items():
                row[f"{name}_p_value"] = _clean(rec[f"{prefix}_p_value"])
                row[f"{name}_test"] = rec[f"{prefix}_test"] or None
            # The AIR and marginal effect are tested by the favourable-rate comparison.
            row["adverse_impact_ratio_p_value"] = row["favourable_rate_p_value"]
            row["undefined"] = dict(rec["undefined"])
            if "suppressed" in rec:
                row["suppressed"] = bool(rec["suppressed"])
            rows.append(row)
        return rows

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe report (``schema: steward.audit/1``); undefined numbers are ``null``."""
        from steward import __version__

        return {
            "schema": SCHEMA,
            "steward_version": __version__,
            "created": self.created,
            "source": {k: _clean(v) for k, v in self.source.items()},
            "roles": self.roles.to_dict(),
            "settings": dict(self.settings),
            "methods": METHODS,
            "references": self.references,
            "notes": list(self.notes),
            "summary": [s.to_dict() for s in self.statements()],
            "passed": self.passed,
            "policy": self.policy,
            "findings": [f.to_dict() for f in worst_first(self.findings or [])],
            "card_info": None if self.card is None else self.card.model_dump(mode="json", exclude_none=True),
            "model": self.model,
            "analyses": {name: a.to_dict() if hasattr(a, "to_dict") else a for name, a in self.analyses.items()},
            "groups": self.group_rows(),
            "cells": json.loads(self.cells.frame.to_json(orient="records")),
        }

    def for_publication(self, min_cell: int = 10) -> "AuditResult":
        """A copy fit to publish: groups with fewer than ``min_cell`` rows suppressed, no cells or analyses
        (see :mod:`steward.audit._publish`)."""
        from steward.audit._publish import for_publication

        return for_publication(self, min_cell)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def to_html(self) -> str:
        """The full report as one self-contained HTML page (charts inline, no network).

        The page is drawn once per result: writing the report and recording it in the registry share it
        (its charts are most of the cost). A result whose fields are replaced is drawn again.
        """
        from steward.audit._report import render_html

        key = tuple(id(getattr(self, f.name)) for f in fields(self)) + (len(self.findings or ()),)
        drawn = self.__dict__.get("_drawn")
        if drawn is None or drawn[0] != key:
            drawn = self.__dict__["_drawn"] = (key, render_html(self))
        return drawn[1]

    def to_junit(self) -> str:
        """JUnit XML, one test case per finding, so any CI system shows the policy's verdict."""
        from steward.audit._junit import render_junit

        return render_junit(self)

    def model_card(self) -> str:
        """The model card in Markdown (Mitchell et al., 2019), filled from the audit and the card info."""
        from steward.audit.card import render_model_card

        return render_model_card(self)

    def save(self, out_dir: str | Path, *, junit: str | Path | None = None) -> dict[str, Path]:
        """Write ``report.json``, ``report.html`` and ``model_card.md`` into ``out_dir`` (created if
        needed), and JUnit XML to ``junit`` when given."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = {"json": out / "report.json", "html": out / "report.html", "model_card": out / "model_card.md"}
        _write_atomic(paths["json"], self.to_json())
        _write_atomic(paths["html"], self.to_html())
        _write_atomic(paths["model_card"], self.model_card())
        if junit is not None:
            paths["junit"] = Path(junit)
            paths["junit"].parent.mkdir(parents=True, exist_ok=True)
            _write_atomic(paths["junit"], self.to_junit())
        return paths

    def _repr_html_(self) -> str:
        if self.findings is not None:
            bad = [f for f in worst_first(self.findings) if f.status in ("fail", "not_evidenced", "warn")]
            verdict = (f"<p><b>{'PASSED' if self.passed else 'FAILED'}</b> policy {html.escape(self.policy['name'])}, "
                       f"tier {html.escape(self.policy['tier'])}: {sum(f.status == 'fail' for f in bad)} failing, "
                       f"{sum(f.status == 'not_evidenced' for f in bad)} not evidenced, "
                       f"{sum(f.status == 'warn' for f in bad)} warning(s)</p>")
            items = "".join(f"<li><b>{f.status}</b> {html.escape(f.message)}</li>" for f in bad[:8])
            items = verdict + (f"<ul>{items}</ul>" if items else "")
        else:
            items = "".join(f"<li>{html.escape(s.text)}</li>" for s in self.statements()[:8]) or "<li>No group fares worse than its reference.</li>"
            items = f"<ul>{items}</ul>"
        cols = ["attribute", "group", "rows", "favourable_rate", "adverse_impact_ratio",
                "false_positive_rate", "false_negative_rate", "smd", "too_small_to_judge"]
        table = self.groups[cols].to_html(index=False, float_format=lambda x: f"{x:.3f}", na_rep="undefined")
        return f"<div><b>Steward audit</b> of {self.source.get('rows', 0):,} rows{items}{table}</div>"

    def __repr__(self) -> str:
        verdict = "" if self.passed is None else f", passed={self.passed}, findings={len(self.findings or [])}"
        return (f"AuditResult(rows={self.source.get('rows')}, attributes={list(self.roles.attributes)}, "
                f"groups={len(self.groups)}{verdict})")


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


METHODS = {
    "rates": "Wilson score interval",
    "ratios": "Katz log interval; 0.5 added to every cell when a count is zero",
    "differences": "Newcombe hybrid score interval (method 10)",
    "rate_tests": "Fisher's exact test when an expected cell count is below 5, else the pooled two-proportion z test; two-sided",
    "smd": "(mean score of group - mean score of reference) / standard deviation of the score over all rows (ddof=1)",
    "smd_test": "Welch's t test; interval = Welch interval of the mean difference / the same standard deviation",
    "weights": "counts replaced by Kish's effective sample size (sum w)^2 / sum w^2 for intervals and tests",
    "adverse_impact_ratio": "favourable rate of group / favourable rate of reference; below 0.8 fails the four-fifths rule (29 CFR 1607.4(D))",
}
