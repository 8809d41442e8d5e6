"""Benchmark comparison, residuals and churn on Adult with real trained models, checked against
scikit-learn's metrics and hand counts; then the same through the audit, its checks and the CLI."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import steward
from steward.datasets import load_adult
from steward.errors import RoleError
from steward.debug import BenchmarkModel, compare_models, prediction_churn, residual_analysis, train_benchmark

FEATURES = ["age", "workclass", "education-num", "marital-status", "occupation", "relationship", "race", "sex",
            "capital-gain", "capital-loss", "hours-per-week"]


def _cats(df):
    X = df[FEATURES].copy()
    for c in X.select_dtypes(include=["object", "string"]):
        X[c] = X[c].astype("category")
    return X


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    import lightgbm as lgb

    train, test = load_adult(dropna=True), load_adult("test", dropna=True)
    y = (train["income"] == ">50K").astype(int)
    new = lgb.LGBMClassifier(n_estimators=150, verbose=-1, random_state=0).fit(_cats(train), y)
    old = lgb.LGBMClassifier(n_estimators=40, num_leaves=8, verbose=-1, random_state=1).fit(_cats(train), y)
    d = tmp_path_factory.mktemp("adult")
    new.booster_.save_model(str(d / "v2.txt"))
    old.booster_.save_model(str(d / "v1.txt"))
    train.to_csv(d / "train.csv", index=False)
    test.to_csv(d / "test.csv", index=False)
    return {"train": train, "test": test, "new": new, "old": old, "dir": d}


def test_benchmark_comparison_matches_scikit_learn_metrics(trained):
    from sklearn.metrics import accuracy_score, brier_score_loss, log_loss, roc_auc_score

    test = trained["test"]
    bench = train_benchmark(trained["train"], label="income", positive_label=">50K", features=FEATURES)
    cmp = compare_models(trained["new"], bench, test, label="income", positive_label=">50K", protected=["sex"],
                         draws=200, slice_features=FEATURES)
    y = (test["income"] == ">50K").astype(int).to_numpy()
    p_m = trained["new"].predict_proba(_cats(test))[:, 1]
    p_b = bench.score(test)
    for metric, fn, a, b in [("auc", roc_auc_score, p_m, p_b), ("log_loss", log_loss, p_m, p_b),
                             ("brier", brier_score_loss, p_m, p_b),
                             ("accuracy", accuracy_score, (p_m >= .5).astype(int), (p_b >= .5).astype(int))]:
        row = cmp.overall(metric)
        assert row["model"] == pytest.approx(fn(y, a), abs=1e-9)
        assert row["reference"] == pytest.approx(fn(y, b), abs=1e-9)
        assert row["difference_ci_low"] <= row["difference"] <= row["difference_ci_high"]
    # gradient boosting beats a binned logistic regression on Adult, clearly
    assert cmp.overall("auc")["difference_ci_low"] > 0.01
    female = cmp.metrics[(cmp.metrics.scope == "sex=Female") & (cmp.metrics.metric == "auc")].iloc[0]
    mask = (test["sex"] == "Female").to_numpy()
    assert female["model"] == pytest.approx(roc_auc_score(y[mask], p_m[mask]))
    only = ((p_m >= .5) != y) & ((p_b >= .5) == y)
    assert cmp.disagreements["model_wrong_reference_right"] == int(only.sum())
    assert len(cmp.model_only_wrong) == int(only.sum())
    assert cmp.slices is not None and len(cmp.slices) > 0
    json.dumps(cmp.to_dict(), allow_nan=False)


def test_benchmark_kinds_train_and_are_transparent(trained):
    train = trained["train"].sample(4000, random_state=0)
    y = (train["income"] == ">50K").astype(int)
    for kind in ("logistic", "tree"):
        m = BenchmarkModel(kind).fit(train[FEATURES], y)
        p = m.predict_proba(train[FEATURES])[:, 1]
        assert p.shape == (len(train),) and 0 <= p.min() and p.max() <= 1
    with pytest.raises(steward.StewardError, match="benchmark kind must be one of"):
        BenchmarkModel("forest").fit(train[FEATURES], y)


def test_churn_between_two_versions_counts_flips_per_group(trained):
    test = trained["test"]
    new = trained["new"].predict(_cats(test))
    old = trained["old"].predict(_cats(test))
    rep = prediction_churn(new, old, data=test, protected=["sex", "race"])
    assert rep.overall == pytest.approx(np.mean(new != old))
    assert 0 < rep.overall < 0.2
    for sex in ("Female", "Male"):
        row = rep.table.set_index("scope").loc[f"sex={sex}"]
        mask = (test["sex"] == sex).to_numpy()
        assert row["flipped"] == int((new != old)[mask].sum())
        assert row["lost_favourable"] == int(((old == 1) & (new == 0))[mask].sum())
        assert row["churn_ci_low"] <= row["churn"] <= row["churn_ci_high"]
    assert prediction_churn([1, 0, 1, 1], [1, 1, 1, 0]).overall == 0.5
    with pytest.raises(steward.StewardError, match="0/1 decisions"):
        prediction_churn([2, 0], [1, 0])


def test_residuals_find_where_the_loss_is(trained):
    test = trained["test"]
    y = (test["income"] == ">50K").astype(int).to_numpy()
    p = trained["new"].predict_proba(_cats(test))[:, 1]
    rep = residual_analysis(test, y, p, features=FEATURES)
    loss = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert rep.total_loss == pytest.approx(loss.sum())
    worst = np.sort(loss)[::-1]
    assert rep.worst_share["top_1pct"] == pytest.approx(worst[: int(np.ceil(0.01 * len(y)))].sum() / loss.sum())
    assert rep.largest["loss"].iloc[0] == pytest.approx(worst[0])
    sex = rep.by_feature[rep.by_feature.feature == "sex"].set_index("value")
    assert sex.loc["Female", "mean_loss"] == pytest.approx(loss[(test["sex"] == "Female").to_numpy()].mean())
    assert rep.slices is not None and len(rep.slices) > 0


def test_audit_with_model_train_and_previous_runs_every_check(trained):
    d = trained["dir"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = steward.audit(d / "test.csv", label="income", positive_label=">50K", protected={"sex": "Male"},
                          features=FEATURES, model=d / "v2.txt", train=d / "train.csv", previous=d / "v1.txt",
                          policy="default", tier="high")
    assert set(r.analyses) == {"slices", "residuals", "benchmark", "churn", "explanations", "flip_test",
                               "situation_testing", "proxies", "sensitivity", "adversarial", "pii", "pii_features",
                               "reidentification", "membership_inference", "attribute_inference", "extraction"}
    assert all(r.analyses[k] is not None for k in r.analyses)  # every privacy probe ran (none was skipped)
    checks = {f.check: f for f in r.findings}
    assert checks["benchmark"].status == "pass"
    assert {f.status for f in r.findings if f.check == "slices"} <= {"fail", "pass"}
    assert r.model["artifact"]["sha256"] == __import__("hashlib").sha256((d / "v2.txt").read_bytes()).hexdigest()
    report = r.to_dict()
    assert report["model"]["previous"]["artifact"]["format"] == "lightgbm-text"
    assert {"slices", "benchmark", "residuals", "churn"} <= set(report["analyses"])
    html = r.to_html()
    for section in ('id="slices"', 'id="benchmark"', 'id="residuals"', 'id="churn"', "<svg"):
        assert section in html
    json.dumps(report, allow_nan=False)


def test_a_strict_benchmark_margin_fails_the_gate(trained, tmp_path):
    d = trained["dir"]
    policy = steward.load_policy("default")
    text = (tmp_path / "p.yaml")
    import yaml

    from importlib import resources

    raw = yaml.safe_load((resources.files("steward.audit.policy") / "default.yaml").read_text())
    raw["tiers"]["high"]["checks"]["benchmark"]["margin"] = 0.2  # no model beats logistic regression by 0.2 AUC
    text.write_text(yaml.safe_dump(raw))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = steward.audit(d / "test.csv", label="income", positive_label=">50K", protected={"sex": "Male"},
                          features=FEATURES, model=d / "v2.txt", train=d / "train.csv", policy=text, tier="high")
    bench = [f for f in r.findings if f.check == "benchmark"][0]
    assert bench.status == "fail" and "0.2" in bench.message and not r.passed
    assert policy.tier("high").checks["benchmark"].margin == 0.0


def test_cli_slices_compare_and_audit_with_a_model(trained, tmp_path):
    from steward.cli import cli

    d = trained["dir"]
    runner = CliRunner()
    feats = ",".join(FEATURES)
    res = runner.invoke(cli, ["slices", str(d / "test.csv"), "--label", "income", "--positive-label", ">50K",
                              "--model", str(d / "v2.txt"), "--features", feats, "--max-level", "2",
                              "--out", str(tmp_path / "s")])
    assert res.exit_code == 0, res.output
    out = json.loads((tmp_path / "s" / "slices.json").read_text())
    assert out["slices"] and out["model"]["artifact"]["format"] == "lightgbm-text"
    assert (tmp_path / "s" / "slices.csv").exists() and "<svg" in (tmp_path / "s" / "slices.html").read_text()
    res = runner.invoke(cli, ["compare", str(d / "test.csv"), "--label", "income", "--positive-label", ">50K",
                              "--model", str(d / "v2.txt"), "--features", feats, "--previous", str(d / "v1.txt"),
                              "--protected", "sex", "--draws", "100", "--out", str(tmp_path / "c")])
    assert res.exit_code == 0, res.output
    cmp = json.loads((tmp_path / "c" / "compare.json").read_text())
    assert cmp["reference_kind"] == "previous" and 0 < cmp["churn"]["groups"][0]["churn"] < 0.2
    res = runner.invoke(cli, ["audit", str(d / "test.csv"), "--label", "income", "--positive-label", ">50K",
                              "--protected", "sex=Male", "--model", str(d / "v2.txt"), "--features", feats,
                              "--policy", "default", "--tier", "high", "--out", str(tmp_path / "a")])
    assert res.exit_code == 1, res.output  # the slices check fails: married men are misclassified far more often
    report = json.loads((tmp_path / "a" / "report.json").read_text())
    assert any(f["check"] == "slices" and f["status"] == "fail" for f in report["findings"])
    # user mistakes: exit 2 and one line
    (d / "v1.pkl").write_bytes((d / "v1.txt").read_bytes())
    for args, words in [(["--model", str(d / "v1.pkl"), "--features", feats], "--trust-pickle"),
                        (["--model", str(d / "v2.txt"), "--features", "age,nope"], "--features age,nope do not match"),
                        (["--model", str(d / "v2.txt"), "--model-sha256", "0" * 64, "--features", feats], "not the expected"),
                        (["--model", str(d / "v2.txt"), "--prediction", "income", "--features", feats], "not both"),
                        (["--model", str(d / "v2.txt")], "--features")]:
        res = runner.invoke(cli, ["audit", str(d / "test.csv"), "--label", "income", "--positive-label", ">50K",
                                  "--protected", "sex", *args])
        assert res.exit_code == 2 and words in res.output and "Traceback" not in res.output, (args, res.output)


def test_interpretable_builders_serve_as_benchmarks():
    pytest.importorskip("interpret")
    from steward.datasets import load_german
    from steward.debug import compare_models, train_benchmark

    g = load_german()
    feats = [c for c in g.columns if c != "class"]
    mono = train_benchmark(g, label="class", positive_label=2, features=feats, kind="monotone_lightgbm",
                           constraints={"duration_months": "increasing"})
    ebm = train_benchmark(g, label="class", positive_label=2, features=feats, kind="ebm")
    cmp = compare_models(mono, ebm, g, label="class", positive_label=2, draws=50)
    auc = cmp.overall("auc")
    assert 0.7 < auc["model"] <= 1 and 0.7 < auc["reference"] <= 1
    from steward.explain import check_monotonicity

    assert check_monotonicity(mono, g, {"duration_months": 1}).holds
    with pytest.raises(RoleError, match="needs constraints"):
        train_benchmark(g, label="class", positive_label=2, features=feats, kind="monotone_lightgbm")
