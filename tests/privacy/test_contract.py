"""Every privacy result keeps the contract of Steward's results: to_frame() (pandas), to_dict() (strict JSON: no
NaN), _repr_html_() (a notebook view) and to_html() (a whole offline page with its chart)."""

from __future__ import annotations

import json
import warnings

import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from steward import privacy
from steward.datasets import load_german
from steward.models import wrap_model
from steward.serving._profile import build_profile

NUMBERS = ["duration_months", "credit_amount", "age_years"]


@pytest.fixture(scope="module")
def results():
    g = load_german()
    g["y"] = (g["class"] == 1).astype(int)
    train, test = g.iloc[:600].reset_index(drop=True), g.iloc[600:].reset_index(drop=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = wrap_model(HistGradientBoostingClassifier(max_iter=30, random_state=0).fit(train[NUMBERS], train["y"]),
                           features=NUMBERS)
        return [
            privacy.membership_inference(model, train, test, label="y", protected=["foreign_worker"]),
            privacy.attribute_inference(model, test, attributes=["foreign_worker"]),
            privacy.extraction_probe(model, profile=build_profile(train, NUMBERS), holdout=test, budgets=(100, 1000),
                                     repeats=1, rate=10.0),
            privacy.scan_pii(g.assign(contact=[f"applicant{i}@example.org" for i in range(len(g))])),
            privacy.reidentification_risk(g, ["age_years", "personal_status_sex", "foreign_worker"],
                                          sensitive=["purpose"]),
            privacy.private_training(train, test, label="y", features=NUMBERS, protected=["foreign_worker"],
                                     epsilons=(1.0, 8.0), ebm_options={"outer_bags": 2}, design_control=False),
        ]


def test_every_privacy_result_keeps_the_contract(results):
    for r in results:
        name = type(r).__name__
        assert isinstance(r.to_frame(), pd.DataFrame), name
        json.dumps(r.to_dict(), allow_nan=False)
        assert len(r._repr_html_()) > 100, name
        page = r.to_html()
        assert "<svg" in page and "http://" not in page.replace("http://www.w3.org", ""), name
