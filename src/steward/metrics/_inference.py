"""Confidence intervals and significance tests, vectorised over groups.

Methods (each checked against SciPy or statsmodels in the tests):

* rates: Wilson score interval;
* difference of two rates: Newcombe's hybrid score interval (his method 10), built from the two
  Wilson intervals;
* ratio of two rates: Katz's log interval, ``exp(log(r) ± z·sqrt(1/x1 − 1/n1 + 1/x2 − 1/n2))``;
  when either count is zero, 0.5 is added to every cell of the 2×2 table for the interval only;
* two rates compared: Fisher's exact test (two-sided) when any expected cell count is below 5,
  otherwise the pooled two-proportion z test;
* two means compared: Welch's t test, with the Welch–Satterthwaite degrees of freedom.

With sample weights, counts are replaced by Kish's effective sample size ``(Σw)² / Σw²``, so a
rate keeps its weighted value while its uncertainty reflects how many rows really carry it.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy import special
from scipy import stats as st

__all__ = [
    "wilson_interval",
    "newcombe_difference_interval",
    "katz_ratio_interval",
    "two_proportion_test",
    "welch_test",
    "z_value",
]


@functools.lru_cache(maxsize=16)
def z_value(confidence: float) -> float:
    return float(special.ndtri(0.5 + confidence / 2.0))


def _arr(x: object) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def wilson_interval(successes: object, trials: object, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for ``successes / trials``; NaN where ``trials`` is 0."""
    x, n = _arr(successes), _arr(trials)
    z = z_value(confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / n
        z2n = z * z / n
        centre = (p + z2n / 2.0) / (1.0 + z2n)
        half = z * np.sqrt(np.maximum(p * (1.0 - p), 0.0) / n + z2n / (4.0 * n)) / (1.0 + z2n)
    lo, hi = np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)
    bad = ~(n > 0)
    lo[bad] = np.nan
    hi[bad] = np.nan
    return lo, hi


def newcombe_difference_interval(
    x1: object, n1: object, x2: object, n2: object, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Interval for ``x1/n1 − x2/n2`` (Newcombe 1998, method 10)."""
    x1, n1, x2, n2 = map(_arr, (x1, n1, x2, n2))
    with np.errstate(divide="ignore", invalid="ignore"):
        p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson_interval(x1, n1, confidence)
    l2, u2 = wilson_interval(x2, n2, confidence)
    d = p1 - p2
    lo = d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    hi = d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return lo, hi


def katz_ratio_interval(
    x1: object, n1: object, x2: object, n2: object, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Interval for ``(x1/n1) / (x2/n2)`` on the log scale (Katz et al. 1978)."""
    x1, n1, x2, n2 = map(_arr, (x1, n1, x2, n2))
    zero = (x1 == 0) | (x2 == 0)
    # Haldane–Anscombe: half a count in every cell of the 2x2 table when a count is zero.
    x1c, x2c = np.where(zero, x1 + 0.5, x1), np.where(zero, x2 + 0.5, x2)
    n1c, n2c = np.where(zero, n1 + 1.0, n1), np.where(zero, n2 + 1.0, n2)
    z = z_value(confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_r = np.log((x1c / n1c) / (x2c / n2c))
        se = np.sqrt(1.0 / x1c - 1.0 / n1c + 1.0 / x2c - 1.0 / n2c)
        lo, hi = np.exp(log_r - z * se), np.exp(log_r + z * se)
    bad = ~((n1 > 0) & (n2 > 0))
    lo[bad] = np.nan
    hi[bad] = np.nan
    return lo, hi


def two_proportion_test(
    x1: object, n1: object, x2: object, n2: object
) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided p-values for equal proportions, and the method used per pair ("fisher" or "z")."""
    x1, n1, x2, n2 = map(_arr, (x1, n1, x2, n2))
    p_values = np.full(x1.shape, np.nan)
    methods = np.full(x1.shape, "", dtype=object)
    total = n1 + n2
    with np.errstate(divide="ignore", invalid="ignore"):
        col1 = x1 + x2
        expected = np.minimum.reduce([
            n1 * col1 / total, n1 * (total - col1) / total,
            n2 * col1 / total, n2 * (total - col1) / total,
        ])
        pooled = col1 / total
        se = np.sqrt(pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2))
        z = (x1 / n1 - x2 / n2) / se
    valid = (n1 > 0) & (n2 > 0)
    small = valid & ~(expected >= 5.0)
    large = valid & ~small
    z_p = 2.0 * special.ndtr(-np.abs(z))
    # Identical all-0 or all-1 outcomes: no evidence of a difference.
    z_p = np.where(se > 0, z_p, 1.0)
    p_values[large] = z_p[large]
    methods[large] = "z"
    for i in np.flatnonzero(small):
        a, b = round(x1[i]), round(x2[i])
        table = [[a, round(n1[i]) - a], [b, round(n2[i]) - b]]
        p_values[i] = st.fisher_exact(table, alternative="two-sided").pvalue
        methods[i] = "fisher"
    return p_values, methods


def welch_test(
    mean1: object, var1: object, n1: object, mean2: object, var2: object, n2: object,
    confidence: float = 0.95,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Welch's t test of ``mean1 − mean2``: two-sided p-value and the interval of the difference."""
    m1, v1, n1, m2, v2, n2 = map(_arr, (mean1, var1, n1, mean2, var2, n2))
    with np.errstate(divide="ignore", invalid="ignore"):
        a, b = v1 / n1, v2 / n2
        se = np.sqrt(a + b)
        df = (a + b) ** 2 / (a * a / (n1 - 1.0) + b * b / (n2 - 1.0))
        t = (m1 - m2) / se
        # Student's t through the special functions: the same values as scipy.stats.t without
        # its per-call overhead, which dominates an audit of a few thousand rows.
        p = 2.0 * special.stdtr(df, -np.abs(t))
        crit = special.stdtrit(df, 0.5 + confidence / 2.0)
    diff = m1 - m2
    lo, hi = diff - crit * se, diff + crit * se
    valid = (n1 >= 2) & (n2 >= 2)
    # Both groups constant: the difference is exact.
    exact = valid & (se == 0)
    p = np.where(exact, np.where(diff == 0, 1.0, 0.0), p)
    lo, hi = np.where(exact, diff, lo), np.where(exact, diff, hi)
    for arr in (p, lo, hi):
        arr[~valid] = np.nan
    return p, lo, hi
