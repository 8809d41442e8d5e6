"""`steward remediate` and `steward select` end to end on Adult."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from steward.cli import cli
from steward.datasets import load_adult

pytest.importorskip("fairlearn")
FEATURES = "age,workclass,education-num,marital-status,occupation,relationship,capital-gain,capital-loss,hours-per-week"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("rem")
    load_adult("train", dropna=True).sample(4000, random_state=0).to_csv(d / "train.csv", index=False)
    load_adult("test", dropna=True).sample(2000, random_state=0).to_csv(d / "test.csv", index=False)
    return d


def _run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_remediate_writes_before_and_after(files):
    out = files / "thr"
    r = _run("remediate", "thresholds", files / "train.csv", "--test", files / "test.csv", "--label", "income",
             "--positive-label", ">50K", "--features", FEATURES, "--protected", "sex=Male", "--out", out)
    assert r.exit_code in (0, 1), r.output  # 1: the remediated model still fails the default policy
    text = " ".join(r.output.split())
    assert "uses the protected attribute at decision time" in text and "Policy before: FAILS" in text
    doc = json.loads((out / "remediation.json").read_text())
    assert doc["remediation"]["uses_protected_at_decision"] is True
    female = [g for g in doc["groups"] if g["group"] == "Female"][0]
    assert female["adverse_impact_ratio_after"] > female["adverse_impact_ratio_before"]
    assert (out / "remediation.html").read_text().count("<svg") >= 1


def test_select_writes_the_chart(files):
    out = files / "sel"
    r = _run("select", files / "train.csv", "--label", "income", "--positive-label", ">50K", "--features", FEATURES,
             "--protected", "sex=Male", "--candidates", "4", "--folds", "3", "--out", out)
    assert r.exit_code == 0, r.output
    doc = json.loads((out / "selection.json").read_text())
    assert len(doc["candidates"]) == 4 and "<svg" in (out / "selection.html").read_text()


@pytest.mark.parametrize("args, says", [
    (["remediate", "reweighing", "TRAIN", "--test", "TEST", "--label", "income", "--features", "age"],
     "name the protected attribute"),
    (["remediate", "reweighing", "TRAIN", "--test", "TEST", "--label", "income", "--positive-label", ">50K",
      "--features", "age,wage", "--protected", "sex=Male"], "'wage'"),
    (["select", "TRAIN", "--label", "income", "--positive-label", ">50K", "--features", "age,sex",
      "--protected", "sex=Male"], "allow_protected"),
])
def test_bad_input_exits_2(files, args, says):
    args = [files / "train.csv" if a == "TRAIN" else files / "test.csv" if a == "TEST" else a for a in args]
    r = _run(*args, "--out", files / "bad")
    assert r.exit_code == 2, r.output
    assert says in " ".join(r.output.split())
