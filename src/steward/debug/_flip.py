"""Counterfactual flip test: change a person's protected attribute, keep everything else, re-score.

When the model reads a protected attribute (or a column that encodes it), every row is scored again
as a member of each other group. A decision that changes depends on the attribute itself: disparate
treatment, whatever the group averages say.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from steward._html import HtmlView
from steward.errors import DataValidationError, RoleError
from steward.metrics import wilson_interval

__all__ = ["FlipReport", "flip_test"]


@dataclass
class FlipReport(HtmlView):
    """Decisions that change when only the protected attribute changes.

    ``table``: one row per (attribute, from_group, to_group): ``rows`` of from_group, ``flipped``,
    ``share`` with a Wilson interval, ``to_favourable`` and ``to_unfavourable`` (the direction of
    the flips). ``groups``: per (attribute, group) the share of rows whose decision changes under
    any other group (``any_flip``). ``overall``: that share over all rows, per attribute.
    ``examples``: rows that flip, with both scores.
    """

    table: pd.DataFrame
    groups: pd.DataFrame
    overall: dict[str, float]
    examples: pd.DataFrame
    encodings: dict[str, str]
    skipped: dict[str, str]
    confidence: float

    def to_frame(self) -> pd.DataFrame:
        return self.table

    def to_dict(self) -> dict[str, Any]:
        from steward.debug._benchmark import json_rows

        return {"overall": self.overall, "encodings": self.encodings, "skipped": self.skipped,
                "confidence": self.confidence, "pairs": json_rows(self.table, limit=len(self.table)),
                "groups": json_rows(self.groups, limit=len(self.groups)), "examples": json_rows(self.examples)}

    page_title = "Counterfactual flip test"
    page_kind = "probe"

    def html(self, heading: int = 2, limit: float | None = None) -> str:
        """Page body: shares flipped per group (red beyond ``limit``), per pair of groups, examples."""
        from steward.debug._pages import flip_html

        return flip_html(self, heading, limit)


def flip_test(
    model: Any,
    data: pd.DataFrame,
    protected: Sequence[str] | Mapping[str, Any],
    *,
    encodings: Mapping[str, str] | None = None,
    threshold: float = 0.5,
    favourable: int = 1,
    confidence: float = 0.95,
    examples: int = 10,
) -> FlipReport:
    """Re-score every row as a member of each other group of each protected attribute.

    Parameters
    ----------
    model : Model or model object
    data : pandas.DataFrame
        The rows, with the protected attribute columns and the model's inputs.
    protected : list of str, or mapping of attribute to reference group (the reference is unused)
    encodings : mapping, optional
        ``{attribute: model input column}`` when the model reads the attribute through another
        column (a code, say); each group is then given the value its members most often have there.
    threshold, favourable
        Decision = ``score >= threshold``; ``favourable`` is the decision value good for the person.

    Returns
    -------
    FlipReport
        Attributes the model does not read are listed in ``skipped`` with the reason.
    """
    from steward.models import wrap_model

    model = wrap_model(model)
    attrs = list(protected)
    encodings = dict(encodings or {})
    missing = [a for a in attrs if a not in data.columns]
    if missing:
        raise DataValidationError(f"protected column(s) {', '.join(map(repr, missing))} not in the data; the columns "
                                  f"are: {', '.join(map(str, data.columns))}")
    inputs = list(model.features) if model.features is not None else list(data.columns)
    for attr, col in encodings.items():  # said before any scoring: a mistyped encoding is never ignored
        if attr not in attrs:
            raise DataValidationError(f"encodings name {attr!r}, which is not a protected attribute here "
                                      f"({', '.join(map(str, attrs)) or 'none'}); give ATTRIBUTE=COLUMN for one of them")
        if col not in data.columns:
            raise DataValidationError(f"encoding column {col!r} of {attr!r} is not in the data; the columns are: "
                                      f"{', '.join(map(str, data.columns))}")
        if col not in inputs:
            raise DataValidationError(f"encoding column {col!r} of {attr!r} is not an input of the model (it reads "
                                      f"{', '.join(map(str, inputs))}); name the column the model reads {attr} through")
    base_score = model.score(data)
    base = (base_score >= threshold).astype(int)
    pairs, groups, ex, overall, used, skipped = [], [], [], {}, {}, {}
    for attr in attrs:
        col = encodings.get(attr, attr)
        if col not in inputs:
            skipped[attr] = (f"the model does not read {col!r}" + ("" if attr in encodings else
                             f"; if it reads {attr} through another column, give encodings={{{attr!r}: column}}"))
            continue
        if col not in data.columns:
            raise DataValidationError(f"encoding column {col!r} of {attr!r} is not in the data")
        used[attr] = col
        g = data[attr]
        levels = [v for v in pd.unique(g.dropna())]
        codes = {v: data.loc[g == v, col].mode(dropna=True).iloc[0] for v in levels}
        any_flip = np.zeros(len(data), dtype=bool)
        for to in levels:
            others = (g != to).to_numpy() & g.notna().to_numpy()
            if not others.any():
                continue
            moved = data.loc[others].copy()
            moved[col] = pd.Series(codes[to], index=moved.index).astype(data[col].dtype)
            score = model.score(moved)
            new = (score >= threshold).astype(int)
            changed = new != base[others]
            any_flip[np.flatnonzero(others)[changed]] = True
            for frm in levels:
                if frm == to:
                    continue
                sel = (g[others] == frm).to_numpy()
                n, k = int(sel.sum()), int(changed[sel].sum())
                lo, hi = wilson_interval(np.array([k]), np.array([n]), confidence)
                pairs.append({"attribute": attr, "from_group": str(frm), "to_group": str(to), "rows": n,
                              "flipped": k, "share": k / n if n else float("nan"), "share_ci_low": float(lo[0]),
                              "share_ci_high": float(hi[0]),
                              "to_favourable": int((changed[sel] & (new[sel] == favourable)).sum()),
                              "to_unfavourable": int((changed[sel] & (new[sel] != favourable)).sum())})
            rows_moved = np.flatnonzero(others)  # position in data of each re-scored row
            for pos in np.flatnonzero(changed)[:examples]:
                i = rows_moved[pos]
                ex.append({"row": data.index[i], "attribute": attr, "group": str(g.iloc[i]), "as_group": str(to),
                           "score": float(base_score[i]), "score_as_group": float(score[pos])})
        for v in levels:
            sel = (g == v).to_numpy()
            n, k = int(sel.sum()), int(any_flip[sel].sum())
            lo, hi = wilson_interval(np.array([k]), np.array([n]), confidence)
            groups.append({"attribute": attr, "group": str(v), "rows": n, "flipped": k,
                           "any_flip": k / n if n else float("nan"), "any_flip_ci_low": float(lo[0]),
                           "any_flip_ci_high": float(hi[0])})
        overall[attr] = float(any_flip[g.notna().to_numpy()].mean()) if g.notna().any() else float("nan")
    if not used and not skipped:
        raise RoleError("give at least one protected attribute for the flip test")
    return FlipReport(pd.DataFrame(pairs), pd.DataFrame(groups), overall, pd.DataFrame(ex).head(examples * 3),
                      used, skipped, confidence)
