"""Every analysis result of issues 6-8 keeps the contract: to_frame() (pandas), to_dict() (JSON-safe) and
_repr_html_() (a notebook view)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from steward.datasets import load_german, path

lgb = pytest.importorskip("lightgbm")
pytest.importorskip("shap")


@pytest.fixture(scope="module")
def results():
    from steward import debug, explain, remediate

    g = load_german()
    X, y = g.drop(columns="class"), (g["class"] == 2).astype(int).to_numpy()
    model = explain.train_monotone_lightgbm(X, y, constraints={"duration_months": "increasing"}, n_estimators=30)
    m = explain.shapley_values(model, X)
    scen = [{"name": "longer", "change": {"duration_months": {"add": 6}}, "where": {}}]
    return [
        m,
        explain.reason_codes(model, X, reasons=path("german-reasons"), shapley=m),
        explain.permutation_importance(model, X, y, n_repeats=2),
        explain.partial_dependence(model, X, "duration_months"),
        explain.surrogate_tree(model, X),
        explain.check_monotonicity(model, X, {"duration_months": 1}),
        explain.explanation_quality(model, X, repeats=1, sample=100),
        debug.flip_test(model, X, ["foreign_worker"]),
        debug.situation_testing(X, (model.predict_proba(X.astype({c: "category" for c in X if X[c].dtype != "int64"}))
                                    [:, 1] < 0.5).astype(int), attribute="foreign_worker", reference="A201",
                                features=["duration_months", "credit_amount"]),
        debug.proxy_detection(X, ["foreign_worker"], ["duration_months", "purpose"]),
        debug.sensitivity_analysis(model, X, ["duration_months"], sample=100),
        debug.stress_test(model, X, scen),
        debug.adversarial_search(model, X, protected=["foreign_worker"], sample=20, time_budget=5),
        remediate.select_model(g, label="class", positive_label=2, features=["duration_months", "credit_amount"],
                               protected="foreign_worker", candidates=remediate.default_candidates(2), folds=2,
                               n_jobs=1),
    ]


def test_every_result_keeps_the_contract(results):
    for r in results:
        name = type(r).__name__
        assert isinstance(r.to_frame(), pd.DataFrame), name
        json.dumps(r.to_dict(), default=str, allow_nan=True)
        html = r._repr_html_()
        assert isinstance(html, str) and len(html) > 20, name
    assert np.isfinite(results[0].values).all()
