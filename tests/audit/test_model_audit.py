"""An audit with a model: each distinct input is scored once whichever analyses need it, every input is read
and checked before any heavy work (so a bad file fails at once, naming itself), each stage is reported as it
runs, and the model's inputs and the probes' are given grouped (ModelInputs, ProbeInputs)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import steward
from steward import ModelInputs, ProbeInputs
from steward.errors import DataValidationError, PolicyError, RoleError
from steward.models import wrap_model

FEATURES = ["income", "debt", "zip"]
REASONS = {"reasons": {"income": "Income is low", "debt": "Debt is high", "zip": "Area of residence"}}


@pytest.fixture(scope="module")
def town() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    n = 1200
    race = np.where(rng.random(n) < 0.6, "A", "B")
    zipc = np.where(race == "A", rng.integers(0, 10, n), rng.integers(5, 15, n))
    income = rng.normal(50, 10, n).round(1)
    debt = rng.normal(20, 5, n).round(1)
    y = (rng.random(n) < 1 / (1 + np.exp(-(income - 50) / 5))).astype(int)
    return pd.DataFrame({"race": race, "zip": zipc.astype(str), "income": income, "debt": debt, "repaid": y})


def _key(frame: pd.DataFrame) -> tuple:
    return (len(frame), tuple(frame.columns), int(pd.util.hash_pandas_object(frame, index=False).sum()))


class Counting:
    """A model as a function of a DataFrame that records what it was asked to score."""

    def __init__(self, slope: float = 5.0) -> None:
        self.calls: list[tuple] = []
        self.slope = slope

    def __call__(self, d: pd.DataFrame) -> np.ndarray:
        self.calls.append(_key(d))
        z = (d["income"].to_numpy(float) - 50) / self.slope - (d["debt"].to_numpy(float) - 20) / 10
        return 1 / (1 + np.exp(-z))


def _audit(df, model, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return steward.audit(df, label="repaid", protected={"race": "A"}, features=FEATURES, model=model,
                             policy="default", tier="high", **kw)


def test_each_distinct_input_is_scored_once_in_a_full_audit(town):
    pytest.importorskip("shap")  # a function of a DataFrame is explained by the sampling estimator
    new, old = Counting(), Counting(slope=6.0)
    probes = ProbeInputs(reasons=REASONS, monotone={"income": "increasing"},
                         scenarios=[{"name": "income -20%", "change": {"income": {"multiply": 0.8}}}])
    r = _audit(town, ModelInputs(wrap_model(new, features=FEATURES), previous=wrap_model(old, features=FEATURES),
                                 train=town), probes=probes)
    # the decisions, the benchmark comparison, the flip test, the stress test and churn all need the
    # audited rows' scores: each model scored them once
    assert {"benchmark", "flip_test", "stress", "churn", "explanations"} <= set(r.analyses)
    audited = _key(town[FEATURES])
    assert new.calls.count(audited) == 1 and old.calls.count(audited) == 1
    for calls in (new.calls, old.calls):
        assert len(calls) == len(set(calls)), "an input was scored twice"
    assert len(new.calls) > 10  # the explanations and probes did score their own inputs


def test_remember_scores_scores_the_same_content_once_and_forgets_after():
    m = Counting()
    model = wrap_model(m, features=["income", "debt"])
    df = pd.DataFrame({"income": [40.0, 60.0], "debt": [20.0, 25.0], "other": [1, 2]})
    with model.remember_scores():
        a = model.score(df)
        b = model.score(df.copy().assign(other=[9, 9]))  # other columns are not the model's input
        with model.remember_scores():  # nested: still remembered
            model.score(df)
        a[0] = -1.0  # the caller's copy, not the remembered one
        c = model.score(df.iloc[::-1])  # other content: scored
        d = model.score(df)
    assert len(m.calls) == 2 and b[0] == d[0] != -1.0 and c[0] == d[1]
    model.score(df)
    assert len(m.calls) == 3  # outside the block every call scores


def _bad(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("case", ["reasons yaml", "reasons cite race", "reasons miss a feature", "monotone unknown",
                                  "monotone text", "scenario column", "train missing", "train lacks a feature",
                                  "previous missing", "feature missing"])
def test_every_input_is_checked_before_the_model_scores_anything(town, tmp_path, case):
    m = Counting()
    model = wrap_model(m, features=FEATURES)
    named = None
    kw: dict = {}
    if case == "reasons yaml":
        named = _bad(tmp_path, "reasons.yaml", "reasons: [unclosed")
        kw["probes"] = ProbeInputs(reasons=named)
    elif case == "reasons cite race":
        named = _bad(tmp_path, "reasons.yaml", "reasons:\n  race: Your race\n  income: Income is low\n")
        kw["probes"] = ProbeInputs(reasons=named)
    elif case == "reasons miss a feature":
        named = _bad(tmp_path, "reasons.yaml", "reasons:\n  income: Income is low\n")
        kw["probes"] = ProbeInputs(reasons=named)
    elif case == "monotone unknown":
        named = _bad(tmp_path, "monotone.yaml", "savings: increasing\n")
        kw["probes"] = ProbeInputs(monotone=named)
    elif case == "monotone text":
        named = _bad(tmp_path, "monotone.yaml", "zip: increasing\n")
        kw["probes"] = ProbeInputs(monotone=named)
    elif case == "scenario column":
        named = _bad(tmp_path, "scenarios.yaml", "scenarios:\n  - name: rent\n    change: {rent: {add: 100}}\n")
        kw["probes"] = ProbeInputs(scenarios=named)
    elif case == "train missing":
        named = tmp_path / "train.csv"
        kw["train"] = named
    elif case == "train lacks a feature":
        named = tmp_path / "train.csv"
        town.drop(columns="debt").to_csv(named, index=False)
        kw["train"] = named
    elif case == "previous missing":
        named = tmp_path / "previous.txt"
        kw["previous"] = named
    with pytest.raises((DataValidationError, PolicyError, RoleError, steward.StewardError)) as exc:
        if case == "feature missing":
            steward.audit(town, label="repaid", protected={"race": "A"}, features=[*FEATURES, "savings"], model=model)
        else:
            _audit(town, model, **kw)
    text = str(exc.value)
    assert (named is None and "'savings'" in text) or str(named) in text or named.name in text, text
    assert m.calls == [], "the model scored rows before the inputs were checked"


def test_a_bad_reasons_file_fails_at_once_in_the_cli(town, tmp_path, monkeypatch):
    lgb = pytest.importorskip("lightgbm")
    from steward.models._adapters import Model

    data = tmp_path / "town.csv"
    town.to_csv(data, index=False)
    booster = lgb.LGBMClassifier(n_estimators=5, verbose=-1).fit(town[["income", "debt"]], town["repaid"]).booster_
    booster.save_model(str(tmp_path / "model.txt"))
    reasons = _bad(tmp_path, "reasons.yaml", "reasons:\n  income: [not, a, text]\n")
    scored = []
    original = Model.score
    monkeypatch.setattr(Model, "score", lambda self, X: scored.append(len(X)) or original(self, X))
    from steward.cli import cli

    res = CliRunner().invoke(cli, [
        "audit", str(data), "--label", "repaid", "--protected", "race=A", "--model", str(tmp_path / "model.txt"),
        "--features", "income,debt", "--policy", "default", "--tier", "high", "--reasons", str(reasons),
        "--out", str(tmp_path / "out")])
    assert res.exit_code == 2, res.output
    assert str(reasons) in " ".join(res.output.split()) and "Traceback" not in res.output
    assert scored == [] and not (tmp_path / "out").exists()


def test_every_stage_is_reported_as_it_starts_and_ends(town):
    seen: dict[str, list[float]] = {}
    model = wrap_model(Counting(), features=["income", "debt"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        steward.audit(town, label="repaid", protected={"race": "A"}, features=["income", "debt", "zip"],
                      model=ModelInputs(model, train=town), policy="default", tier="high",
                      probes=ProbeInputs(scenarios=[{"name": "x", "change": {"income": {"add": -5}}}]),
                      on_progress=lambda stage, frac: seen.setdefault(stage, []).append(frac))
    for stage in ("scoring the data with the model", "group statistics", "slices", "residuals",
                  "benchmark: training", "benchmark: comparison", "explanations", "situation testing (race)",
                  "proxies", "flip test", "sensitivity", "stress scenarios", "adversarial search", "policy checks"):
        assert seen.get(stage, [None])[0] == 0.0 and seen[stage][-1] == 1.0, (stage, seen.get(stage))
    assert any(s.startswith("checking the inputs") for s in seen)
    assert all(0.0 <= f <= 1.0 for fracs in seen.values() for f in fracs)


def test_model_inputs_and_the_shortcuts_give_the_same_audit(town):
    m = wrap_model(Counting(), features=["income", "debt"])
    kw = dict(label="repaid", protected={"race": "A"}, features=["income", "debt"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        grouped = steward.audit(town, model=ModelInputs(m, train=town), **kw)
        shortcut = steward.audit(town, model=m, train=town, **kw)
    assert grouped.analyses["benchmark"].metrics.equals(shortcut.analyses["benchmark"].metrics)
    with pytest.raises(RoleError, match="train is given twice"):
        steward.audit(town, model=ModelInputs(m, train=town), train=town, **kw)
    with pytest.raises(RoleError, match="need a model"):
        steward.audit(town, prediction="repaid", probes=ProbeInputs(monotone={"income": "increasing"}), **kw)
    with pytest.raises(RoleError, match="benchmark must be one of"):
        steward.audit(town, model=ModelInputs(m, train=town, benchmark="forest"), **kw)
