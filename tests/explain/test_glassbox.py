"""Interpretable models and the monotonicity check."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from steward.errors import DataValidationError
from steward.explain import check_monotonicity, load_constraints, train_ebm, train_monotone_lightgbm
from steward.models import wrap_model

DECLARED = {"credit_amount": "increasing", "duration_months": "increasing", "installment_rate": "increasing"}


@pytest.fixture(scope="module")
def monotone(german):
    X, y = german
    return train_monotone_lightgbm(X, y, constraints=DECLARED)


def test_monotone_lightgbm_is_monotone_on_a_fine_grid_for_every_row(german, monotone):
    X, _ = german
    model = wrap_model(monotone)
    for feat in DECLARED:
        grid = np.linspace(X[feat].min(), X[feat].max(), 60).round().astype(int)
        stacked = X.loc[X.index.repeat(len(grid))].reset_index(drop=True)
        stacked[feat] = np.tile(grid, len(X))
        scores = model.score(stacked).reshape(len(X), len(grid))
        assert np.all(np.diff(scores, axis=1) >= -1e-12), feat
    report = check_monotonicity(monotone, X, DECLARED)
    assert report.holds and (report.table["violating_rows"] == 0).all()


def test_an_unconstrained_model_violating_a_declaration_is_reported(german, german_lgbm):
    X, _ = german
    report = check_monotonicity(german_lgbm, X, {"credit_amount": "increasing", "age_years": "decreasing"})
    assert not report.holds
    bad = report.violations().set_index("feature")
    assert bad.loc["age_years", "violating_rows"] > 0 and bad.loc["age_years", "worst"] > 0
    # the example row really does move the wrong way along age
    row = X.loc[[bad.loc["age_years", "example"]]]
    ages = np.unique(np.quantile(X["age_years"], np.linspace(0, 1, 30)).round()).astype(int)
    moved = row.loc[row.index.repeat(len(ages))].assign(age_years=ages)
    assert np.any(np.diff(wrap_model(german_lgbm).score(moved)) > 1e-9)
    assert report.to_dict()["holds"] is False


def test_a_known_bump_is_measured():
    X = pd.DataFrame({"x": np.linspace(0, 3, 50)})
    model = wrap_model(lambda d: np.sin(d["x"].to_numpy()) / 2 + 0.5, features=["x"])
    report = check_monotonicity(model, X, {"x": "increasing"}, grid_points=50)
    rec = report.table.iloc[0]
    assert rec["violating_rows"] == 50  # every row's curve passes the peak at pi/2
    grid = np.quantile(X["x"], np.linspace(0, 1, 50))
    want = -np.diff(np.sin(grid) / 2).min()
    assert rec["worst"] == pytest.approx(want, rel=1e-9)


def test_ebm_is_a_sum_of_curves_and_honours_its_constraints(german):
    pytest.importorskip("interpret")
    X, y = german
    ebm = train_ebm(X, y, constraints={"duration_months": "increasing"}, max_rounds=300)
    assert len(ebm.term_features_) == X.shape[1]  # no interaction terms
    s = wrap_model(ebm).score(X)
    assert ((s > 0) & (s < 1)).all()
    assert check_monotonicity(ebm, X, {"duration_months": 1}).holds


def test_constraint_declarations():
    assert load_constraints({"a": "increasing", "b": "decreasing"}) == {"a": 1, "b": -1}
    assert load_constraints([{"a": "increasing"}, {"b": -1}]) == {"a": 1, "b": -1}
    assert load_constraints({"monotone": {"a": "+1"}}) == {"a": 1}
    with pytest.raises(DataValidationError, match="'a' must be increasing or decreasing"):
        load_constraints({"a": "up"})
    with pytest.raises(DataValidationError, match="not numeric"):
        train_monotone_lightgbm(pd.DataFrame({"t": ["x", "y"] * 20}), [0, 1] * 20, constraints={"t": 1})
    with pytest.raises(DataValidationError, match="'income'.*not in the data"):
        train_monotone_lightgbm(pd.DataFrame({"t": [1.0, 2.0] * 20}), [0, 1] * 20, constraints={"income": 1})


def test_constraints_from_yaml(tmp_path, german):
    f = tmp_path / "monotone.yaml"
    f.write_text("- credit_amount: increasing\n- duration_months: increasing\n")
    assert load_constraints(f) == {"credit_amount": 1, "duration_months": 1}
    X, y = german
    model = train_monotone_lightgbm(X, y, constraints=f, n_estimators=30)
    assert model.get_params()["monotone_constraints"][list(X.columns).index("credit_amount")] == 1
