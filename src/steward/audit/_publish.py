"""An audit as it may be published: the group table's small cells suppressed, nothing row-level kept.

A group with fewer rows than ``min_cell`` could point at a handful of people (a rate of 0% among 3 people of one
race in one town says what happened to each of them). The published copy blanks every figure of such a group
(its rows, rates, intervals, tests) and of the findings about it, and leaves out what only the full report
needs: the cell table (the registry re-derives verdicts from it; the registry keeps the full report), the model
analyses (their examples are people's rows) and the audit's notes (they may name a small group's size).

Statistical agencies call that primary suppression. A blanked group could still be worked back from what is
shown: the groups of an attribute add up to every row, and an intersection's cells add up to the groups they
split. So a group is also suppressed when it is the only hidden member of such a sum (complementary
suppression: the smallest other member goes too, until no sum has exactly one hidden member), and a group
compared with a hidden reference group keeps its own rates but loses every comparison (a ratio and the group's
own rate give the reference's)."""

from __future__ import annotations

import copy
import re
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from steward.errors import DataValidationError

if TYPE_CHECKING:
    from steward.audit._result import AuditResult

__all__ = ["for_publication", "KEPT"]

# comparisons with the reference group (ratios, differences, marginal effects, tests, standardised differences)
_COMPARISON = re.compile(r"(ratio|difference|marginal_effect|p_value|smd)")

# the group table's columns a suppressed row keeps as they are: who it is, not what happened to them
KEPT = ("attribute", "group", "reference", "is_reference", "undefined", "too_small_to_judge", "below_four_fifths")


def for_publication(result: "AuditResult", min_cell: int) -> "AuditResult":
    """A copy of ``result`` fit to publish: groups with fewer than ``min_cell`` rows suppressed (see the module)."""
    from steward.audit._findings import Finding
    from steward.engine._cells import CellTable

    if isinstance(min_cell, bool) or not isinstance(min_cell, (int, np.integer)) or min_cell < 2:
        raise DataValidationError(f"min_cell must be a whole number of at least 2, got {min_cell!r}")
    g = result.groups.copy()
    small = _complementary(g, g["rows"].to_numpy() < min_cell)
    for col in g.columns:  # every figure; the texts (names, the tests' names) say nothing about the people
        if col in KEPT or g[col].dtype.kind not in "iuf":
            continue
        g[col] = g[col].astype(float)
        g.loc[small, col] = np.nan
    hidden_refs = {(a, str(x)) for a, x, s_ in zip(g["attribute"], g["group"], small) if s_}
    versus_hidden = np.array([(a, str(r)) in hidden_refs and not s_
                              for a, r, s_ in zip(g["attribute"], g["reference"], small)])
    for col in g.columns:  # a comparison with a hidden reference gives the reference's figures away
        if _COMPARISON.search(col) and g[col].dtype.kind in "iuf":
            g.loc[versus_hidden, col] = np.nan
    g.loc[versus_hidden, "below_four_fifths"] = False
    g.loc[small, "too_small_to_judge"] = True
    g.loc[small, "below_four_fifths"] = False
    g["undefined"] = [dict(u, suppressed="suppressed for publication") if s else u for u, s in zip(g["undefined"], small)]
    g["suppressed"] = small
    hidden = hidden_refs
    findings = None
    if result.findings is not None:
        findings = []
        for f in result.findings:
            if f.attribute is not None and ((f.attribute, str(f.group)) in hidden
                                            or (f.attribute, str(f.reference)) in hidden):
                f = Finding(check=f.check, status=f.status, severity=f.severity, attribute=f.attribute, group=f.group,
                            reference=f.reference, metric=f.metric, threshold=dict(f.threshold), source=f.source,
                            message=f"{f.attribute}={f.group}: its figures are suppressed for publication (it, or "
                                    f"the group it is compared with, is too small to show, or could be worked back "
                                    f"from the groups shown).")
            findings.append(f)
    out = copy.copy(result)
    out.groups = g
    out.findings = findings
    out.cells = CellTable(result.cells.attributes, result.cells.frame.iloc[0:0].copy(), result.cells.has_score)
    out.analyses = {}
    out.settings = dict(result.settings, published_min_cell=int(min_cell))
    out.notes = [f"Published copy: {int(small.sum())} group(s) suppressed (fewer than {min_cell} rows, or one that "
                 f"would let a suppressed group be worked back); comparisons with a suppressed reference group are "
                 f"left out, and so are the cell table, the model analyses and the audit's notes (the full report "
                 f"is kept by its owner and the registry)."]
    return out



def _complementary(g: pd.DataFrame, hidden: np.ndarray) -> np.ndarray:
    """``hidden`` grown until no sum of shown figures leaves exactly one hidden member: the groups of an
    attribute (their sum is every row, which the report shows), and the cells of an intersection that split one
    group of a coarser attribute shown in the table (their sum is that group). The smallest shown member of a
    sum with one hidden member is hidden too."""
    hidden = hidden.copy()
    index = {(a, str(x)): i for i, (a, x) in enumerate(zip(g["attribute"], g["group"]))}
    rows = g["rows"].to_numpy()
    sums: list[list[int]] = []  # each: the rows of the table that add up to something shown (or to all rows)
    for attr in dict.fromkeys(g["attribute"]):
        members = [i for i, a in enumerate(g["attribute"]) if a == attr]
        sums.append(members)  # every row of the data, split by this attribute or intersection
        parts = str(attr).split("*")
        if len(parts) < 2:
            continue
        for k in range(len(parts)):  # leave part k out: the cells sharing the other parts' values add up to them
            coarser = "*".join(p for j, p in enumerate(parts) if j != k)
            split: dict[str, list[int]] = {}
            for i in members:
                values = str(g["group"].iloc[i]).split("*")
                if len(values) != len(parts):
                    continue
                split.setdefault("*".join(v for j, v in enumerate(values) if j != k), []).append(i)
            for key, cells in split.items():
                parent = index.get((coarser, key))
                if parent is not None:
                    sums.append([parent, *cells])
    changed = True
    while changed:
        changed = False
        for members in sums:
            shown = [i for i in members if not hidden[i]]
            if len(members) - len(shown) == 1 and shown:
                hidden[min(shown, key=lambda i: rows[i])] = True
                changed = True
    return hidden
