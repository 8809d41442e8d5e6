"""The probes as policy checks inside an audit: a model reading race fails the flip test; one reading
a planted zip-code proxy is caught by proxy detection and situation testing; a fair one passes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import steward
from steward.models import wrap_model


@pytest.fixture(scope="module")
def town():
    rng = np.random.default_rng(11)
    n = 3000
    race = np.where(rng.random(n) < 0.6, "A", "B")
    home = np.where(race == "A", rng.random(n) < 0.9, rng.random(n) < 0.1)
    zipc = np.where(home, rng.integers(0, 10, n), rng.integers(10, 20, n))
    income = rng.normal(50, 10, n).round(1)
    debt = rng.normal(20, 5, n).round(1)
    y = (rng.random(n) < 1 / (1 + np.exp(-(income - 50) / 5))).astype(int)
    return pd.DataFrame({"race": race, "zip": zipc.astype(str), "income": income, "debt": debt, "repaid": y})


def _sig(z):
    return 1 / (1 + np.exp(-z))


def _audit(df, model, features):
    return steward.audit(df, label="repaid", protected={"race": "A"}, model=model, features=features,
                         policy="default", tier="high")


def _status(result, check):
    return {f.status for f in result.findings if f.check == check}


def test_a_model_reading_race_fails_the_flip_test(town):
    m = wrap_model(lambda d: _sig((d["income"] - 50) / 5 - 2.5 * (d["race"] == "B")).to_numpy(),
                   features=["income", "debt", "race"])
    r = _audit(town, m, ["income", "debt", "race"])
    assert "fail" in _status(r, "flip_test")
    assert r.analyses["flip_test"].overall["race"] > 0.2


def test_a_model_reading_a_zip_proxy_is_caught_by_proxies_and_situation_testing(town):
    m = wrap_model(lambda d: _sig((d["income"] - 50) / 5 - 2.5 * (d["zip"].astype(int) >= 10)).to_numpy(),
                   features=["income", "debt", "zip"])
    r = _audit(town, m, ["income", "debt", "zip"])
    assert _status(r, "flip_test") == {"pass"}  # race is not an input
    assert "warn" in _status(r, "proxies")
    proxy = [f for f in r.findings if f.check == "proxies" and f.status == "warn"]
    assert proxy[0].group == "zip"
    # situation testing over the features the decision should rest on
    from steward.debug import situation_testing

    st = situation_testing(town, m.predict(town), attribute="race", reference="A", features=["income", "debt"])
    assert st.share_flagged > 0.3


def test_a_fair_model_passes_all_three(town):
    m = wrap_model(lambda d: _sig((d["income"] - 50) / 5 - (d["debt"] - 20) / 5).to_numpy(),
                   features=["income", "debt"])
    r = _audit(town, m, ["income", "debt"])
    for check in ("flip_test", "proxies", "situation_testing"):
        assert _status(r, check) == {"pass"}, (check, [f.message for f in r.findings if f.check == check])
    doc = r.to_dict()
    assert {"flip_test", "situation_testing", "proxies", "sensitivity", "adversarial"} <= set(doc["analyses"])
    html = r.save(pytest.importorskip("pathlib").Path(__import__("tempfile").mkdtemp()))["html"].read_text()
    for title in ("Counterfactual flip test", "Situation testing", "Proxies of protected attributes",
                  "Sensitivity", "Adversarial search"):
        assert title in html


def test_a_model_of_immutable_inputs_on_one_label_value_still_audits(town):
    m = wrap_model(lambda d: _sig(2.5 * (d["race"] == "A") - 1.25).to_numpy(), features=["race"])
    one = town.assign(repaid=1)  # a single label value: no AUC to permute, no adversarial search possible
    r = steward.audit(one, label="repaid", protected={"race": "A"}, model=m, features=["race"], policy="default",
                      tier="high")
    assert "fail" in _status(r, "flip_test")
    assert _status(r, "adversarial_robustness") == {"not_applicable"}
    assert r.analyses["explanations"].permutation is None
