"""`steward explain` and `steward audit --reasons/--monotone` end to end on German credit."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from click.testing import CliRunner

from steward.cli import cli
from steward.datasets import load_german, path

pytest.importorskip("lightgbm")
PROTECTED = {"personal_status_sex", "age_years", "foreign_worker"}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    from steward.explain import train_monotone_lightgbm

    d = tmp_path_factory.mktemp("explain")
    g = load_german()
    model = train_monotone_lightgbm(g.drop(columns="class"), (g["class"] == 2).astype(int),
                                    constraints={"duration_months": "increasing"}, n_estimators=60, num_leaves=8)
    model.booster_.save_model(d / "german.txt")
    g.to_csv(d / "german.csv", index=False)
    (d / "holds.yaml").write_text("duration_months: increasing\n")
    (d / "broken.yaml").write_text("credit_amount: decreasing\n")
    return d


def _run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_explain_writes_reason_codes_as_csv_and_a_report(files):
    out = files / "rep"
    r = _run("explain", files / "german.csv", "--model", files / "german.txt", "--reasons", path("german-reasons"),
             "--label", "class", "--positive-label", "2", "--by", "foreign_worker", "--monotone", files / "holds.yaml",
             "--report", out)
    assert r.exit_code == 0, r.output
    rows = pd.read_csv(out / "reasons.csv")
    assert len(rows) == 1000 and rows["adverse"].sum() > 100
    cited = pd.concat([rows[f"reason_{i}_feature"] for i in range(1, 5)]).dropna()
    assert len(cited) and not cited.isin(PROTECTED).any()
    doc = json.loads((out / "explain.json").read_text())
    assert doc["monotonicity"]["holds"] is True and doc["permutation_importance"]["metric"] == "auc"
    assert doc["surrogate"]["r2"] > 0 and {e["kind"] for e in doc["effects"]} == {"partial_dependence", "ale"}
    html = (out / "explain.html").read_text()
    assert html.count("<svg") >= 6
    assert not re.search(r"(src|href)=[\"']https?:", html)  # nothing fetched: namespaces only


def test_explain_json_output_and_a_violated_monotonicity_exits_1(files):
    out = files / "r.json"
    r = _run("explain", files / "german.csv", "--model", files / "german.txt", "--reasons", path("german-reasons"),
             "--monotone", files / "broken.yaml", "--out", out, "--report", files / "rep2", "-k", "2")
    assert r.exit_code == 1, r.output
    assert "Monotonicity violated: credit_amount" in " ".join(r.output.split())
    doc = json.loads(out.read_text())
    assert doc["k"] == 2 and len(doc["records"]) == 1000
    assert all(len(rec["reasons"]) <= 2 for rec in doc["records"])


@pytest.mark.parametrize("args, says", [
    (["--reasons", "missing.yaml"], "does not exist"),
    (["--out", "x.txt"], ".csv or .json"),
    (["--effects", "income"], "'income' are not model inputs"),
])
def test_explain_bad_input_exits_2_with_one_line(files, args, says):
    r = _run("explain", files / "german.csv", "--model", files / "german.txt", *args, "--report", files / "rep3")
    assert r.exit_code == 2, r.output
    assert says in " ".join(r.output.split()) and "Traceback" not in r.output


def test_reasons_citing_a_protected_attribute_are_refused(files):
    bad = files / "bad.yaml"
    bad.write_text("never_cite: [age_years]\nreasons:\n  age_years: Too young\n")
    r = _run("explain", files / "german.csv", "--model", files / "german.txt", "--reasons", bad, "--report",
             files / "rep4")
    assert r.exit_code == 2 and "never be cited" in " ".join(r.output.split())


def test_audit_with_reasons_and_monotone_gates_on_them(files):
    feats = ",".join(c for c in load_german().columns if c != "class")
    out = files / "audit"
    r = _run("audit", files / "german.csv", "--label", "class", "--positive-label", "2", "--model",
             files / "german.txt", "--features", feats, "--protected", "foreign_worker=A201", "--protected",
             "personal_status_sex=A93", "--favourable", "0", "--policy", "default", "--tier", "high",
             "--reasons", path("german-reasons"), "--monotone", files / "broken.yaml", "--out", out)
    assert r.exit_code == 1, r.output
    doc = json.loads((out / "report.json").read_text())
    by = {}
    for f in doc["findings"]:
        by.setdefault(f["check"], []).append(f["status"])
    assert by["monotonicity"] == ["fail"] and "pass" in by["reason_codes"]
    assert "warn" in by["reason_codes"]  # the model reads protected attributes
    assert by["explanation_stability"] in (["pass"], ["warn"])
    assert "explanations" in doc["analyses"] and doc["analyses"]["explanations"]["reasons"]["adverse"] == "high"
    assert "Explanations" in (out / "report.html").read_text()
