"""Intervals and tests against statsmodels and SciPy."""

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    proportions_ztest,
)

from steward.metrics import (
    katz_ratio_interval,
    newcombe_difference_interval,
    two_proportion_test,
    welch_test,
    wilson_interval,
)

CASES = [(0, 10), (1, 10), (5, 10), (10, 10), (37, 120), (412, 1000), (3, 3000)]
PAIRS = [(37, 120, 55, 130), (412, 1000, 301, 1000), (1, 40, 9, 41), (120, 400, 120, 400), (5, 60, 30, 70)]


@pytest.mark.parametrize("x,n", CASES)
@pytest.mark.parametrize("conf", [0.9, 0.95, 0.99])
def test_wilson_matches_statsmodels(x, n, conf):
    lo, hi = wilson_interval([x], [n], conf)
    ref = proportion_confint(x, n, alpha=1 - conf, method="wilson")
    assert lo[0] == pytest.approx(ref[0], abs=1e-12)
    assert hi[0] == pytest.approx(ref[1], abs=1e-12)


def test_wilson_empty_group_is_undefined():
    lo, hi = wilson_interval([0], [0])
    assert np.isnan(lo[0]) and np.isnan(hi[0])


@pytest.mark.parametrize("x1,n1,x2,n2", PAIRS)
def test_newcombe_matches_statsmodels(x1, n1, x2, n2):
    lo, hi = newcombe_difference_interval([x1], [n1], [x2], [n2])
    ref = confint_proportions_2indep(x1, n1, x2, n2, method="newcomb", compare="diff")
    assert (lo[0], hi[0]) == pytest.approx(ref, abs=1e-12)


@pytest.mark.parametrize("x1,n1,x2,n2", PAIRS)
def test_katz_matches_statsmodels_log_method(x1, n1, x2, n2):
    lo, hi = katz_ratio_interval([x1], [n1], [x2], [n2])
    ref = confint_proportions_2indep(x1, n1, x2, n2, method="log", compare="ratio")
    assert (lo[0], hi[0]) == pytest.approx(ref, rel=1e-10)


def test_katz_zero_count_uses_half_cell_correction():
    lo, hi = katz_ratio_interval([0], [20], [10], [20])
    # By hand: 0.5/21 over 10.5/21, se = sqrt(1/0.5 - 1/21 + 1/10.5 - 1/21).
    r = 0.5 / 10.5
    se = np.sqrt(1 / 0.5 - 1 / 21 + 1 / 10.5 - 1 / 21)
    assert lo[0] == pytest.approx(r * np.exp(-1.959963984540054 * se), rel=1e-12)
    assert hi[0] == pytest.approx(r * np.exp(1.959963984540054 * se), rel=1e-12)


@pytest.mark.parametrize("x1,n1,x2,n2", [(412, 1000, 301, 1000), (37, 120, 55, 130), (120, 400, 120, 400)])
def test_z_test_matches_statsmodels(x1, n1, x2, n2):
    p, method = two_proportion_test([x1], [n1], [x2], [n2])
    assert method[0] == "z"
    _, ref = proportions_ztest([x1, x2], [n1, n2])
    assert p[0] == pytest.approx(ref, abs=1e-12)


@pytest.mark.parametrize("x1,n1,x2,n2", [(1, 40, 9, 41), (0, 12, 5, 15), (2, 8, 7, 9)])
def test_fisher_used_for_small_counts(x1, n1, x2, n2):
    p, method = two_proportion_test([x1], [n1], [x2], [n2])
    assert method[0] == "fisher"
    ref = stats.fisher_exact([[x1, n1 - x1], [x2, n2 - x2]]).pvalue
    assert p[0] == pytest.approx(ref, abs=1e-12)


def test_welch_matches_scipy_on_raw_samples():
    rng = np.random.default_rng(3)
    a, b = rng.normal(1.0, 2.0, 57), rng.normal(0.4, 1.0, 140)
    p, lo, hi = welch_test([a.mean()], [a.var(ddof=1)], [a.size], [b.mean()], [b.var(ddof=1)], [b.size])
    ref = stats.ttest_ind(a, b, equal_var=False)
    assert p[0] == pytest.approx(ref.pvalue, rel=1e-10)
    ci = ref.confidence_interval(0.95)
    assert (lo[0], hi[0]) == pytest.approx((ci.low, ci.high), rel=1e-10)
