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
    """Weighted Mann-Whitney AUC (ties count one half) for each row of weights ``w`` (k, n).

    In score order, a positive row earns the negatives' weight below its tie group plus half of its tie
    group's: the mean of the negatives' running total just before and at the end of its group. The
    running total is one cumulative sum over the negative columns, so each resample costs a few passes
    over its weights, whatever the ties.
    """
    order = np.argsort(s, kind="mergesort")
    s, y = s[order], y[order].astype(bool)
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    group = np.cumsum(np.r_[True, s[1:] != s[:-1]]) - 1  # each sorted row's tie group
    negatives_through = np.cumsum(~y)  # negatives up to and including each sorted row
    ends = np.r_[starts[1:], len(s)] - 1
    before = (negatives_through[starts] - (~y[starts]))[group[y]]  # negatives below each positive's group
    through = negatives_through[ends][group[y]]  # ... and up to the end of its group
    neg = np.zeros((w.shape[0], int((~y).sum()) + 1))
    np.cumsum(w[:, order[~y]], axis=1, out=neg[:, 1:])  # running total of the negatives' weight
    pos = w[:, order[y]]
    num = (pos * (neg[:, before] + neg[:, through])).sum(axis=1) * 0.5
    den = pos.sum(axis=1) * neg[:, -1]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan)


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
