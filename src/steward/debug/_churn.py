"""Prediction churn: how many decisions flip between a model version and the previous one.

People notice when a decision they saw yesterday is gone; a new version that flips many decisions
in one group more than another moves harm even when its aggregate metrics look the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from steward._html import HtmlView
from steward.errors import DataValidationError, RoleError
from steward.metrics import wilson_interval

__all__ = ["ChurnReport", "prediction_churn"]


@dataclass
class ChurnReport(HtmlView):
    """Share of decisions that flip, overall and per protected group.

    ``table`` has one row per scope (``all``, then ``attribute=group``): ``rows``, ``flipped``,
    ``churn`` (flipped / rows) with a Wilson interval, and the flips in each direction:
    ``lost_favourable`` (favourable before, not now) and ``gained_favourable``.
    """

    table: pd.DataFrame
    favourable: int
    confidence: float
    examples: pd.DataFrame
    previous: dict[str, Any] | None = None  # what the previous version was (kind, artifact SHA-256)

    @property
    def overall(self) -> float:
        return float(self.table.iloc[0]["churn"])

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        from steward.debug._benchmark import json_rows

        return {"favourable": self.favourable, "confidence": self.confidence, "previous": self.previous,
                "method": "share of rows whose decision differs between the two versions; Wilson score interval",
                "groups": json_rows(self.table, limit=len(self.table)), "examples": json_rows(self.examples)}

    page_title = "Prediction churn against the previous version"
    page_kind = "model debugging"

    def html(self, heading: int = 2) -> str:
        """Page body: the share of decisions that flip, per group, and examples."""
        from steward.debug._pages import churn_html

        return churn_html(self, heading)

    def chart(self) -> str:
        from steward.debug._charts import churn_chart

        return churn_chart(self)


def prediction_churn(
    decisions: Any,
    previous: Any,
    *,
    data: pd.DataFrame | None = None,
    protected: Sequence[str] = (),
    favourable: int = 1,
    confidence: float = 0.95,
    min_group_size: int = 30,
) -> ChurnReport:
    """Compare two versions' 0/1 decisions on the same rows.

    Parameters
    ----------
    decisions, previous : array-like of 0/1
        The new and the previous version's decisions, row for row.
    data : DataFrame, optional
        The rows, for per-group churn (``protected`` columns) and examples.
    favourable : {1, 0}
        The decision value that is good for the person.

    Examples
    --------
    >>> prediction_churn([1, 0, 1, 1], [1, 1, 1, 0]).overall
    0.5
    """
    new, old = np.asarray(decisions), np.asarray(previous)
    if new.shape != old.shape or new.ndim != 1:
        raise DataValidationError(f"decisions ({new.shape}) and previous decisions ({old.shape}) must be one "
                                  "value per row of the same rows")
    for name, d in (("decisions", new), ("previous", old)):
        if not np.isin(d, (0, 1)).all():
            raise DataValidationError(f"{name} must be 0/1 decisions; found {sorted(set(np.unique(d)) - {0, 1})[:5]}")
    if favourable not in (0, 1):
        raise RoleError(f"favourable must be 0 or 1, got {favourable!r}")
    if protected and data is None:
        raise RoleError("per-group churn needs data= with the protected columns")
    if data is not None and len(data) != len(new):
        raise DataValidationError(f"data has {len(data)} rows but there are {len(new)} decisions")
    flip = new != old
    scopes: list[tuple[str, np.ndarray]] = [("all", np.ones(len(new), dtype=bool))]
    for attr in protected:
        if attr not in data.columns:  # type: ignore[union-attr]
            raise DataValidationError(f"protected attribute {attr!r} is not in the data")
        col = data[attr]  # type: ignore[index]
        for g in sorted(col.dropna().unique(), key=str):
            scopes.append((f"{attr}={g}", (col == g).to_numpy()))
    rows = []
    for scope, mask in scopes:
        n, k = int(mask.sum()), int(flip[mask].sum())
        lo, hi = (float(v[0]) for v in wilson_interval(np.array([k]), np.array([n]), confidence))
        rows.append({"scope": scope, "rows": n, "flipped": k, "churn": k / n if n else np.nan,
                     "churn_ci_low": float(lo), "churn_ci_high": float(hi),
                     "lost_favourable": int((mask & flip & (old == favourable)).sum()),
                     "gained_favourable": int((mask & flip & (new == favourable)).sum()),
                     "too_small_to_judge": n < min_group_size})
    examples = pd.DataFrame()
    if data is not None:
        examples = data[flip].head(20).assign(decision=new[flip][:20], previous_decision=old[flip][:20])
    return ChurnReport(pd.DataFrame(rows), favourable, confidence, examples)
