"""Residual analysis: where the model's losses concentrate (rows, feature values, slices)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from steward._html import HtmlView
from steward.errors import DataValidationError, RoleError

__all__ = ["LOSSES", "ResidualReport", "residual_analysis", "row_loss"]

LOSSES = ("log_loss", "brier", "absolute", "squared")
_EPS = 1e-15


def row_loss(y: np.ndarray, score: np.ndarray, loss: str = "log_loss") -> np.ndarray:
    """Per-row loss of scores against 0/1 labels (``log_loss``, ``brier``) or of any prediction
    against a number (``absolute``, ``squared``)."""
    y, s = np.asarray(y, dtype=float), np.asarray(score, dtype=float)
    if loss == "log_loss":
        p = np.clip(s, _EPS, 1 - _EPS)
        return -(y * np.log(p) + (1 - y) * np.log(1 - p))
    if loss in ("brier", "squared"):
        return (s - y) ** 2
    if loss == "absolute":
        return np.abs(s - y)
    raise RoleError(f"loss must be one of {', '.join(LOSSES)}, got {loss!r}")


@dataclass
class ResidualReport(HtmlView):
    """Largest residuals with their rows, residuals by feature value and by slice, and how much of
    the total loss the worst rows carry."""

    largest: pd.DataFrame
    by_feature: pd.DataFrame
    slices: Any  # SliceReport over the per-row loss
    loss: str
    total_loss: float
    mean_loss: float
    worst_share: dict[str, float]  # "top_1pct" -> share of the total loss carried by the worst 1% of rows
    rows: int

    def to_frame(self) -> pd.DataFrame:
        return self.by_feature.copy()

    def to_dict(self) -> dict[str, Any]:
        from steward.debug._benchmark import json_rows

        return {"loss": self.loss, "rows": self.rows, "total_loss": self.total_loss, "mean_loss": self.mean_loss,
                "worst_share": self.worst_share, "largest": json_rows(self.largest),
                "by_feature": json_rows(self.by_feature, limit=len(self.by_feature)),
                "slices": None if self.slices is None else self.slices.to_dict()}

    page_title = "Residuals"
    page_kind = "model debugging"

    def html(self, heading: int = 2) -> str:
        """Page body: how concentrated the loss is, the feature values and slices with the most, the worst rows."""
        from steward.debug._pages import residuals_html

        return residuals_html(self, heading)

    def chart(self) -> str:
        from steward.debug._charts import residual_chart

        return residual_chart(self)


def residual_analysis(
    data: pd.DataFrame,
    y: Any,
    score: Any,
    *,
    features: Sequence[str],
    loss: str = "log_loss",
    top: int = 20,
    bins: int = 10,
    slices: bool = True,
    min_support: int = 32,
) -> ResidualReport:
    """Where a model's losses are: the ``top`` largest with their rows, mean residual and loss by
    each feature's value (numbers in quantile bins), SliceLine's top slices of the loss, and the
    share of the total loss carried by the worst 1%, 5% and 10% of rows.

    The residual is ``label - score`` (positive: the model under-predicted)."""
    from steward.slices import encode_features, find_slices

    y, s = np.asarray(y, dtype=float), np.asarray(score, dtype=float)
    if y.shape != s.shape or len(y) != len(data):
        raise DataValidationError(f"label ({y.shape}), score ({s.shape}) and data ({len(data)} rows) must align")
    per_row = row_loss(y, s, loss)
    resid = y - s
    total = float(per_row.sum())
    order = np.argsort(-per_row, kind="stable")
    largest = data.iloc[order[:top]].assign(label=y[order[:top]], score=s[order[:top]],
                                           residual=resid[order[:top]], loss=per_row[order[:top]])
    share = {}
    for name, frac in (("top_1pct", 0.01), ("top_5pct", 0.05), ("top_10pct", 0.10)):
        m = max(1, int(np.ceil(frac * len(y))))
        share[name] = float(per_row[order[:m]].sum() / total) if total > 0 else 0.0
    enc = encode_features(data, list(features), bins=bins)
    parts = []
    for fc, codes in zip(enc.features, enc.codes):
        cnt = np.bincount(codes, minlength=len(fc.levels))
        with np.errstate(invalid="ignore", divide="ignore"):
            parts.append(pd.DataFrame({
                "feature": fc.name, "value": fc.levels, "rows": cnt,
                "mean_residual": np.bincount(codes, weights=resid, minlength=len(fc.levels)) / cnt,
                "mean_loss": np.bincount(codes, weights=per_row, minlength=len(fc.levels)) / cnt,
                "loss_share": np.bincount(codes, weights=per_row, minlength=len(fc.levels)) / total if total else 0.0,
            }))
    by_feature = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    found = find_slices(data, per_row, features=list(features), k=10, max_level=2, bins=bins,
                        min_support=min_support) if slices and total > 0 else None
    return ResidualReport(largest=largest, by_feature=by_feature, slices=found, loss=loss, total_loss=total,
                          mean_loss=total / len(y) if len(y) else float("nan"), worst_share=share, rows=len(y))
