"""Situation testing (Luong, Ruggieri and Turini, KDD 2011): is a person treated worse than the people
most like them in the reference group?

For each row of a protected group, its k nearest neighbours on the non-protected features are found
among the reference group and among its own group. When the share of favourable decisions among
the reference neighbours exceeds the share among its own-group neighbours by at least ``t``, and the
person's own decision was unfavourable, the row is flagged: similar people of the reference group
fared better. Distances are Euclidean over standardised numbers and one-hot categories.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from steward._html import HtmlView
from steward.errors import DataValidationError, RoleError
from steward.metrics import wilson_interval

__all__ = ["SituationReport", "SituationTests", "situation_testing", "neighbour_space"]


@dataclass
class SituationReport(HtmlView):
    """Per group: rows, unfavourable decisions, rows flagged, the share of unfavourable decisions
    flagged (with a Wilson interval) and the mean gap; a sample of flagged rows."""

    table: pd.DataFrame
    flagged: pd.DataFrame
    attribute: str
    reference: str
    k: int
    t: float
    features: list[str]

    @property
    def share_flagged(self) -> float:
        """Flagged rows over the unfavourable decisions of all protected groups."""
        adverse = self.table["unfavourable"].sum()
        return float(self.table["flagged"].sum() / adverse) if adverse else 0.0

    def to_frame(self) -> pd.DataFrame:
        return self.table

    def to_dict(self) -> dict[str, Any]:
        from steward.debug._benchmark import json_rows

        return {"attribute": self.attribute, "reference": self.reference, "k": self.k, "t": self.t,
                "features": self.features, "share_flagged": self.share_flagged,
                "method": "Luong, Ruggieri and Turini (2011): k nearest neighbours on standardised non-protected "
                          "features in the reference group and in the row's own group",
                "groups": json_rows(self.table, limit=len(self.table)), "flagged": json_rows(self.flagged)}

    page_title = "Situation testing"
    page_kind = "probe"

    def html(self, heading: int = 2, limit: float | None = None) -> str:
        """Page body: flagged shares per group (red beyond ``limit``) and a sample of flagged people."""
        from steward.debug._pages import situation_html

        return situation_html([self], heading, limit)


@dataclass
class SituationTests(HtmlView):
    """Situation tests of several protected attributes (one report each)."""

    reports: list[SituationReport]

    def __bool__(self) -> bool:
        return bool(self.reports)

    def to_dict(self) -> dict[str, Any]:
        return {"attributes": [r.to_dict() for r in self.reports]}

    page_title = "Situation testing"
    page_kind = "probe"

    def html(self, heading: int = 2, limit: float | None = None) -> str:
        """Page body: one chart of every attribute's flagged shares, then a section per attribute."""
        from steward.debug._pages import situation_html

        return situation_html(self.reports, heading, limit)


def neighbour_space(data: pd.DataFrame, features: Sequence[str]) -> np.ndarray:
    """Rows as points: numbers standardised (median for missing), categories one-hot (0/1)."""
    parts = []
    for f in features:
        s = data[f]
        if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype) \
                and not isinstance(s.dtype, pd.CategoricalDtype):
            x = s.to_numpy(dtype=float)
            x = np.where(np.isnan(x), np.nanmedian(x) if np.isfinite(x).any() else 0.0, x)
            sd = x.std()
            parts.append(((x - x.mean()) / (sd if sd > 0 else 1.0))[:, None])
        else:
            codes, _ = pd.factorize(s.astype(object).where(s.notna(), "(missing)"))
            parts.append(np.eye(codes.max() + 1, dtype=float)[codes])
    if not parts:
        raise RoleError("situation testing needs at least one non-protected feature to measure similarity")
    return np.hstack(parts)


def situation_testing(
    data: pd.DataFrame,
    decision: Any,
    *,
    attribute: str,
    reference: Any,
    features: Sequence[str],
    k: int = 10,
    t: float = 0.3,
    favourable: int = 1,
    confidence: float = 0.95,
    sample: int = 20,
    n_jobs: int | None = None,
    on_progress: Callable[[str, float], None] | None = None,
) -> SituationReport:
    """Flag people of protected groups treated worse than their nearest neighbours in the reference group.

    Parameters
    ----------
    data : pandas.DataFrame
    decision : array of 0/1
        The decisions, one per row.
    attribute, reference
        The protected column and its reference group.
    features : list of str
        The columns similarity is measured on (protected columns are removed from them).
    k : int
        Neighbours in each of the two groups.
    t : float
        Smallest gap (reference neighbours' favourable share minus own-group neighbours') that flags.
    """
    from sklearn.neighbors import NearestNeighbors

    if attribute not in data.columns:
        raise DataValidationError(f"protected column {attribute!r} is not in the data")
    d = np.asarray(decision)
    if d.shape != (len(data),):
        raise DataValidationError(f"decision has {d.size} values for {len(data)} rows")
    if not 0 < t <= 1 or k < 1:
        raise DataValidationError(f"t must be in (0, 1] and k at least 1; got t={t}, k={k}")
    feats = [f for f in features if f != attribute]
    unknown = [f for f in feats if f not in data.columns]
    if unknown:
        raise DataValidationError(f"feature column(s) {', '.join(map(repr, unknown))} are not in the data")
    good = (d == favourable)
    # groups are compared by their text, as the audit names them
    g = data[attribute].astype(object).where(data[attribute].isna(), data[attribute].astype(str))
    reference = str(reference)
    ref_mask = (g == reference).to_numpy()
    if ref_mask.sum() < k:
        sizes = ", ".join(f"{v} ({n:,} rows)" for v, n in g.value_counts().items())
        raise DataValidationError(f"the reference group {attribute}={reference!r} has {int(ref_mask.sum())} rows; "
                                  f"situation testing needs at least k={k}; the groups are: {sizes or 'none'}")
    if g.nunique() < 2:
        raise DataValidationError(f"protected attribute {attribute!r} has a single group ({reference!r}) in the data, "
                                  f"so there is no one to compare; give data that holds at least two groups")
    from steward.data import check_feature_values

    check_feature_values(data, feats, what="feature")
    space = neighbour_space(data, feats)
    ref_idx = np.flatnonzero(ref_mask)
    ref_nn = NearestNeighbors(n_neighbors=k, n_jobs=n_jobs).fit(space[ref_idx])
    rows, flagged_rows = [], []
    levels = [v for v in pd.unique(g.dropna()) if v != reference]
    for i, level in enumerate(levels):
        if on_progress:
            on_progress(f"{attribute}={level}", i / max(len(levels), 1))
        idx = np.flatnonzero((g == level).to_numpy())
        if len(idx) <= k:
            rows.append({"group": str(level), "rows": len(idx), "unfavourable": int((~good[idx]).sum()), "flagged": 0,
                         "share_flagged": float("nan"), "share_ci_low": float("nan"), "share_ci_high": float("nan"),
                         "mean_gap": float("nan"), "too_small_to_judge": True})
            continue
        _, near_ref = ref_nn.kneighbors(space[idx])
        own = NearestNeighbors(n_neighbors=k + 1, n_jobs=n_jobs).fit(space[idx])
        _, near_own = own.kneighbors(space[idx])
        # drop each row itself from its own neighbours (not always first when rows are identical)
        self_pos = near_own == np.arange(len(idx))[:, None]
        drop = np.where(self_pos.any(axis=1), self_pos.argmax(axis=1), k)
        keep = np.ones_like(near_own, dtype=bool)
        keep[np.arange(len(idx)), drop] = False
        near_own = near_own[keep].reshape(len(idx), k)
        p_ref = good[ref_idx[near_ref]].mean(axis=1)
        p_own = good[idx[near_own]].mean(axis=1)
        gap = p_ref - p_own
        hit = (~good[idx]) & (gap >= t)
        adverse = int((~good[idx]).sum())
        lo, hi = wilson_interval(np.array([hit.sum()]), np.array([adverse]), confidence)
        rows.append({"group": str(level), "rows": len(idx), "unfavourable": adverse, "flagged": int(hit.sum()),
                     "share_flagged": hit.sum() / adverse if adverse else 0.0, "share_ci_low": float(lo[0]),
                     "share_ci_high": float(hi[0]), "mean_gap": float(gap[~good[idx]].mean()) if adverse else 0.0,
                     "too_small_to_judge": False})
        for j in np.flatnonzero(hit)[:sample]:
            flagged_rows.append({"row": data.index[idx[j]], "group": str(level), "reference_favourable": p_ref[j],
                                 "own_group_favourable": p_own[j], "gap": gap[j]})
    if on_progress:
        on_progress("done", 1.0)
    return SituationReport(pd.DataFrame(rows), pd.DataFrame(flagged_rows), attribute, str(reference), k, t, feats)
