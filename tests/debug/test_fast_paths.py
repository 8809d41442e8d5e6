"""The faster paths give the figures of their references: the bootstrap's weighted AUC equals
scikit-learn's ``roc_auc_score`` with the resample's counts as sample weights, ties included; the proxy
adversary picks its learner by the data's size and still finds a planted proxy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from steward.debug import proxy_detection
from steward.debug._bootstrap import _auc, resample_weights
from steward.debug._proxies import SMALL_DATA


@pytest.mark.parametrize("n, ties", [(2000, False), (2000, True), (40, True)])
def test_weighted_auc_equals_scikit_learn_with_sample_weights(n, ties):
    rng = np.random.default_rng(n + ties)
    y = (rng.random(n) < 0.3).astype(int)
    s = rng.random(n) + 0.4 * y
    if ties:
        s = np.round(s * 8) / 8  # many scores shared by positives and negatives
    w = resample_weights(n, 20, rng)
    ours = _auc(y, s, w)
    for b in range(len(w)):
        assert ours[b] == pytest.approx(roc_auc_score(y, s, sample_weight=w[b]), abs=1e-12)


def test_weighted_auc_is_undefined_with_one_class():
    s = np.linspace(0, 1, 10)
    assert np.isnan(_auc(np.zeros(10, dtype=int), s, np.ones((2, 10)))).all()
    assert np.isnan(_auc(np.ones(10, dtype=int), s, np.ones((2, 10)))).all()


def _town(n: int, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    race = np.where(rng.random(n) < 0.6, "A", "B")
    zipc = np.where(race == "A", rng.integers(0, 10, n), rng.integers(8, 20, n))  # a strong proxy
    return pd.DataFrame({"race": race, "zip": zipc.astype(str), "income": rng.normal(50, 10, n)})


@pytest.mark.parametrize("n, learner, folds", [(600, "logistic regression", 5),
                                               (SMALL_DATA + 500, "gradient boosting", 3)])
def test_the_adversary_fits_the_data_size_and_finds_a_planted_proxy(n, learner, folds):
    rep = proxy_detection(_town(n), ["race"], ["zip", "income"])
    adv = rep.adversary.iloc[0]
    assert adv["model"].startswith(learner) and adv["folds"] == folds
    assert adv["auc"] > 0.85  # zip alone separates the groups well; together no worse
    assert rep.table.set_index("feature").loc["income", "auc"] < 0.6
