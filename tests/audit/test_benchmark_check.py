"""The benchmark check judges the paired bootstrap interval of model − benchmark: a shortfall within
noise is not a failure, a shortfall beyond it is. The interval is checked against a paired bootstrap
computed here with scikit-learn's AUC."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from steward.audit.checks import CheckContext, get_check
from steward.debug import compare_models
from steward.models import wrap_model


def _sig(t: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-t))


@pytest.fixture(scope="module")
def scores() -> pd.DataFrame:
    rng = np.random.default_rng(2)
    n = 2000
    z = rng.normal(size=n)
    y = (rng.random(n) < _sig(1.5 * z)).astype(int)
    base = z + rng.normal(0, 1.0, n)
    close = _sig(base + rng.normal(0, 0.2, n))  # the same kind of score as the benchmark: any difference is noise
    bench = _sig(base + rng.normal(0, 0.2, n))
    worse = _sig(base + rng.normal(0, 2.0, n))  # much noisier: clearly worse
    return pd.DataFrame({"y": y, "bench": bench, "close": close, "worse": worse})


def _compare(df: pd.DataFrame, column: str):
    model = wrap_model(lambda d: d[column].to_numpy(), features=[column])
    bench = wrap_model(lambda d: d["bench"].to_numpy(), features=["bench"])
    return compare_models(model, bench, df, label="y", draws=500)


def _paired_bootstrap(df: pd.DataFrame, column: str, draws: int = 1000) -> tuple[float, float]:
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(12345)
    y, a, b = df["y"].to_numpy(), df[column].to_numpy(), df["bench"].to_numpy()
    d = []
    for _ in range(draws):
        i = rng.integers(0, len(y), len(y))
        d.append(roc_auc_score(y[i], a[i]) - roc_auc_score(y[i], b[i]))
    lo, hi = np.quantile(d, [0.025, 0.975])
    return float(lo), float(hi)


def _judge(cmp, **params):
    check = get_check("benchmark")
    ctx = CheckContext(result=None, tier=None, analyses={"benchmark": cmp})
    return check.run(ctx, check.params(**params))[0]


def test_a_shortfall_within_noise_is_not_a_failure(scores):
    from sklearn.metrics import roc_auc_score

    cmp = _compare(scores, "close")
    row = cmp.overall("auc")
    y = scores["y"]
    assert row["difference"] == pytest.approx(roc_auc_score(y, scores["close"]) - roc_auc_score(y, scores["bench"]),
                                              abs=1e-12)
    # the premise: the model is a little worse, and the paired interval spans zero (also by hand)
    assert -0.006 < row["difference"] < 0
    assert row["difference_ci_low"] < 0 < row["difference_ci_high"]
    lo, hi = _paired_bootstrap(scores, "close")
    assert lo < 0 < hi

    found = _judge(cmp, metric="auc", margin=0.0)
    assert found.status == "pass" and "within noise" in found.message
    # stricter: the model must be shown to beat the benchmark
    strict = _judge(cmp, metric="auc", margin=0.0, use_interval=True)
    assert strict.status == "fail" and "use_interval" in strict.message


def test_a_clearly_worse_model_fails(scores):
    cmp = _compare(scores, "worse")
    row = cmp.overall("auc")
    assert row["difference_ci_high"] < 0
    lo, hi = _paired_bootstrap(scores, "worse")
    assert hi < 0
    for strict in (False, True):
        found = _judge(cmp, metric="auc", margin=0.0, use_interval=strict)
        assert found.status == "fail" and "beyond noise" in found.message
    assert _judge(cmp, metric="log_loss", margin=0.0).status == "fail"
    assert _judge(cmp, metric="auc", margin=0.0, severity="warn").status == "warn"


def test_a_model_clearly_better_passes_and_a_margin_beyond_its_interval_fails(scores):
    # the benchmark against the noisy model: clearly better
    model = wrap_model(lambda d: d["bench"].to_numpy(), features=["bench"])
    worse = wrap_model(lambda d: d["worse"].to_numpy(), features=["worse"])
    cmp = compare_models(model, worse, scores, label="y", draws=500)
    row = cmp.overall("auc")
    assert row["difference_ci_low"] > 0
    assert _judge(cmp, metric="auc", margin=0.0).status == "pass"
    assert _judge(cmp, metric="auc", margin=0.0, use_interval=True).status == "pass"
    # a margin above the whole interval: the model does not beat the benchmark by that much
    above = float(row["difference_ci_high"]) + 0.01
    found = _judge(cmp, metric="auc", margin=round(above, 3))
    assert found.status == "fail" and "beyond noise" in found.message
    # a margin inside the interval: within noise of it
    inside = float(row["difference"])
    assert _judge(cmp, metric="auc", margin=inside).status == "pass"
    assert _judge(cmp, metric="auc", margin=inside, use_interval=True).status == "fail"
