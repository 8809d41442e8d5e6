"""An audit as it may be published: the group table's small cells suppressed, nothing row-level kept.

A group with fewer rows than ``min_cell`` could point at a handful of people (a rate of 0% among 3 people of one
race in one town says what happened to each of them). The published copy blanks every figure of such a group
(its rows, rates, intervals, tests) and of the findings about it, and leaves out what only the full report
needs: the cell table (the registry re-derives verdicts from it; the registry keeps the full report), the model
analyses (their examples are people's rows) and the card's example rows. Statistical agencies call this primary
suppression; complementary suppression (a blanked cell worked back from totals) is not attempted, so the
published copy also drops the cells from which totals would be summed."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

import numpy as np

from steward.errors import DataValidationError

if TYPE_CHECKING:
    from steward.audit._result import AuditResult

__all__ = ["for_publication", "KEPT"]

# the group table's columns a suppressed row keeps as they are: who it is, not what happened to them
KEPT = ("attribute", "group", "reference", "is_reference", "undefined", "too_small_to_judge", "below_four_fifths")


def for_publication(result: "AuditResult", min_cell: int) -> "AuditResult":
    """A copy of ``result`` fit to publish: groups with fewer than ``min_cell`` rows suppressed (see the module)."""
    from steward.audit._findings import Finding
    from steward.engine._cells import CellTable

    if isinstance(min_cell, bool) or not isinstance(min_cell, (int, np.integer)) or min_cell < 2:
        raise DataValidationError(f"min_cell must be a whole number of at least 2, got {min_cell!r}")
    g = result.groups.copy()
    small = g["rows"].to_numpy() < min_cell
    for col in g.columns:  # every figure; the texts (names, the tests' names) say nothing about the people
        if col in KEPT or g[col].dtype.kind not in "iuf":
            continue
        g[col] = g[col].astype(float)
        g.loc[small, col] = np.nan
    g.loc[small, "too_small_to_judge"] = True
    g.loc[small, "below_four_fifths"] = False
    g["undefined"] = [dict(u, suppressed=f"fewer than {min_cell} rows: suppressed for publication") if s else u
                      for u, s in zip(g["undefined"], small)]
    g["suppressed"] = small
    hidden = {(a, str(x)) for a, x, s in zip(g["attribute"], g["group"], small) if s}
    findings = None
    if result.findings is not None:
        findings = []
        for f in result.findings:
            if f.attribute is not None and (f.attribute, str(f.group)) in hidden:
                f = Finding(check=f.check, status=f.status, severity=f.severity, attribute=f.attribute, group=f.group,
                            reference=f.reference, metric=f.metric, threshold=dict(f.threshold), source=f.source,
                            message=f"{f.attribute}={f.group}: fewer than {min_cell} rows; its figures are suppressed "
                                    f"for publication.")
            findings.append(f)
    out = copy.copy(result)
    out.groups = g
    out.findings = findings
    out.cells = CellTable(result.cells.attributes, result.cells.frame.iloc[0:0].copy(), result.cells.has_score)
    out.analyses = {}
    out.settings = dict(result.settings, published_min_cell=int(min_cell))
    out.notes = [*result.notes, f"Published copy: {int(small.sum())} group(s) with fewer than {min_cell} rows are "
                                f"suppressed; the cell table and the model analyses are left out (the full report is "
                                f"kept by its owner and the registry)."]
    return out

