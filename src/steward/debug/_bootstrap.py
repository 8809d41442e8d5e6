"""Quality metrics of binary scores with paired bootstrap intervals, computed on resample weights.

Every resample is a vector of counts (how often each row was drawn), so one sort of the scores
serves every resample's AUC, and two models are compared on the very same resamples (paired).
"""

from __future__ import annotations

import numpy as np

__all__ = ["QUALITY_METRICS", "LOWER_IS_BETTER", "resample_weights", "weighted_metrics", "point_metrics"]

QUALITY_METRICS = ("auc", "accuracy", "log_loss", "brier")
LOWER_IS_BETTER = {"log_loss", "brier"}
_EPS = 1e-15


def resample_weights(n: int, draws: int, rng: np.random.Generator) -> np.ndarray:
    """``draws`` bootstrap resamples of ``n`` rows as counts, shape (draws, n)."""
    out = np.empty((draws, n), dtype=np.float64)
    for b in range(draws):
        out[b] = np.bincount(rng.integers(0, n, n), minlength=n)
    return out


def _auc(y: np.ndarray, s: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted Mann-Whitney AUC (ties count one half) for each row of weights ``w`` (k, n)."""
    order = np.argsort(s, kind="mergesort")
    s, y, w = s[order], y[order], w[:, order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    pos = np.add.reduceat(w * y, starts, axis=1)
    neg = np.add.reduceat(w * (1 - y), starts, axis=1)
    below = np.cumsum(neg, axis=1) - neg
    den = pos.sum(axis=1) * neg.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (pos * (below + 0.5 * neg)).sum(axis=1) / den, np.nan)


def weighted_metrics(y: np.ndarray, score: np.ndarray, decision: np.ndarray, w: np.ndarray) -> dict[str, np.ndarray]:
    """AUC, accuracy, log loss and Brier score under each row of weights ``w`` (k, n)."""
    p = np.clip(score, _EPS, 1 - _EPS)
    total = w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "auc": _auc(y, score, w),
            "accuracy": (w @ (decision == y).astype(float)) / total,
            "log_loss": (w @ -(y * np.log(p) + (1 - y) * np.log(1 - p))) / total,
            "brier": (w @ (score - y) ** 2) / total,
        }


def point_metrics(y: np.ndarray, score: np.ndarray, decision: np.ndarray) -> dict[str, float]:
    out = weighted_metrics(y, score, decision, np.ones((1, len(y))))
    return {k: float(v[0]) for k, v in out.items()}
