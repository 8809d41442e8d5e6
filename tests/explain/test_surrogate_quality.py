"""Surrogate trees and explanation quality."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from steward.datasets import path
from steward.errors import DataValidationError
from steward.explain import ReasonMap, explanation_quality, surrogate_tree
from steward.models import wrap_model


def test_surrogate_fidelity_is_r2_on_held_out_rows(german, german_lgbm):
    from sklearn.metrics import r2_score
    from sklearn.model_selection import train_test_split

    X, _ = german
    s = surrogate_tree(german_lgbm, X, max_depth=3, test_size=0.3, random_state=4)
    score = wrap_model(german_lgbm).score(X)
    _, test = train_test_split(np.arange(len(X)), test_size=0.3, random_state=4)
    enc = pd.get_dummies(X.astype({c: object for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])}),
                         columns=[c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])], prefix_sep="=",
                         dtype=float)[s.columns]
    pred = s.tree.predict(enc.iloc[test])
    assert s.r2 == pytest.approx(r2_score(score[test], pred), abs=1e-12)
    assert s.agreement == pytest.approx(np.mean((pred >= 0.5) == (score[test] >= 0.5)))
    assert s.tree.get_depth() <= 3 and "checking_status=" in s.rules and s.test_rows == 300
    assert s.chart().startswith("<svg")


def test_a_tree_model_is_reproduced_by_its_surrogate(german):
    from sklearn.tree import DecisionTreeRegressor

    X, y = german
    num = X.select_dtypes("number")
    small = DecisionTreeRegressor(max_depth=2, random_state=0).fit(num, y)
    s = surrogate_tree(small, num, max_depth=2, min_samples_leaf=1)
    assert s.r2 == pytest.approx(1.0, abs=1e-9)


def test_surrogate_arguments():
    X = pd.DataFrame({"x": np.arange(20.0)})
    model = wrap_model(lambda d: d["x"].to_numpy() / 20, features=["x"])
    with pytest.raises(DataValidationError, match="more rows"):
        surrogate_tree(model, X)
    with pytest.raises(DataValidationError, match="max_depth"):
        surrogate_tree(model, X, max_depth=12)


def test_quality_of_exact_explanations(german, german_lgbm):
    X, y = german
    reasons = ReasonMap.load(path("german-reasons"))
    still = explanation_quality(german_lgbm, X, reasons=reasons, noise=0.0, repeats=1)
    assert still.exact and still.additivity_error < 1e-9
    assert still.noise["top1_agreement"] == 1.0 and still.noise["topk_jaccard"] == 1.0
    q = explanation_quality(german_lgbm, X, reasons=reasons, noise=0.1, repeats=2, train=X, y_train=y,
                            bootstraps=2, sample=300)
    assert 0 < q.noise["top1_agreement"] < 1 and 0 <= q.retrain["top1_agreement"] <= 1
    assert -1 <= q.retrain["importance_rank_correlation"] <= 1 and q.rows == 300


def test_a_booster_cannot_be_retrained_and_says_so(german, german_lgbm):
    X, y = german
    q = explanation_quality(german_lgbm.booster_, X.astype({c: "category" for c in X.columns
                                                           if not pd.api.types.is_numeric_dtype(X[c])}),
                            train=X, y_train=y, bootstraps=1, repeats=1, sample=100)
    assert q.retrain is None and "cannot be refitted" in q.notes[0]


def test_quality_reuses_given_shapley_values_of_its_rows_and_gives_the_same_figures(german, german_lgbm, monkeypatch):
    from steward.explain import _quality, shapley_values
    from steward.explain._quality import quality_rows

    X, _ = german
    rows = quality_rows(len(X), sample=300)
    assert len(rows) == 300 and np.array_equal(rows, np.sort(rows))
    given = shapley_values(german_lgbm, X.iloc[np.union1d(rows, np.arange(0, 1000, 7))])  # a superset of them
    fresh = explanation_quality(german_lgbm, X, sample=300, repeats=2)
    calls = []
    real = _quality.shapley_values
    monkeypatch.setattr(_quality, "shapley_values", lambda m, f, **kw: calls.append(len(f)) or real(m, f, **kw))
    reused = explanation_quality(german_lgbm, X, sample=300, repeats=2, shapley=given)
    assert reused.noise == fresh.noise and reused.additivity_error == fresh.additivity_error
    assert calls == [300, 300]  # only the two noisy copies were explained; the rows themselves were given
    partial = shapley_values(german_lgbm, X.iloc[:100])  # does not cover the sample: computed as usual
    calls.clear()
    assert explanation_quality(german_lgbm, X, sample=300, repeats=2, shapley=partial).noise == fresh.noise
    assert calls == [300, 300, 300]
