"""report.json (schema steward.audit/1) and the self-contained HTML report."""

import hashlib
import json
import re

import pytest

import steward
from tests.conftest import quiet_audit

REQUIRED = ["attribute", "group", "reference", "n", "selection_rate", "adverse_impact_ratio", "false_positive_rate",
            "false_negative_rate", "true_positive_rate", "precision", "accuracy", "smd"]


@pytest.fixture(scope="module")
def compas_result():
    return quiet_audit(steward.datasets.path("compas"), label="two_year_recid", score="decile_score", threshold=5,
                       favourable=0, protected={"race": "Caucasian", "sex": "Male"})


def test_json_has_the_versioned_schema_and_required_fields(compas_result, tmp_path):
    paths = compas_result.save(tmp_path)
    doc = json.loads(paths["json"].read_text())
    assert doc["schema"] == "steward.audit/1"
    src = doc["source"]
    assert src["rows"] == 7214 and src["kind"] == "csv"
    assert src["sha256"] == hashlib.sha256(steward.datasets.path("compas").read_bytes()).hexdigest()
    assert doc["roles"]["label"] == "two_year_recid" and doc["roles"]["favourable"] == 0
    assert doc["roles"]["decision"] == "1 when decile_score >= 5"
    attributes = {g["attribute"] for g in doc["groups"]}
    assert attributes == {"race", "sex", "race*sex"}
    for g in doc["groups"]:
        for key in REQUIRED:
            assert key in g, key
        for metric in ("selection_rate", "adverse_impact_ratio", "false_positive_rate", "smd"):
            assert f"{metric}_ci" in g
        for test in ("adverse_impact_ratio_p_value", "fpr_p_value", "fnr_p_value", "smd_p_value"):
            assert test in g
    aa = next(g for g in doc["groups"] if g["attribute"] == "race" and g["group"] == "African-American")
    assert aa["adverse_impact_ratio"] == pytest.approx(0.6316, abs=1e-4)
    assert aa["adverse_impact_ratio_ci"][0] < aa["adverse_impact_ratio"] < aa["adverse_impact_ratio_ci"][1]
    assert aa["adverse_impact_ratio_p_value"] < 1e-10 and aa["favourable_rate_test"] == "z"
    inter = next(g for g in doc["groups"] if g["attribute"] == "race*sex" and g["is_reference"])
    assert inter["group"] == "Caucasian*Male"
    small = next(g for g in doc["groups"] if g["group"] == "Native American")
    assert small["too_small_to_judge"] is True
    assert any("too small to judge" in n for n in doc["notes"])
    assert doc["summary"][0]["severity"] == 2


def test_json_is_strict(compas_result):
    # allow_nan=False in to_json: an undefined number is null, never NaN.
    text = compas_result.to_json()
    assert "NaN" not in text and "Infinity" not in text
    json.loads(text)


def test_html_is_self_contained_and_leads_with_the_findings(compas_result, tmp_path):
    html = compas_result.save(tmp_path)["html"].read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html), "report must not load anything"
    assert "<script" not in html
    assert html.count("<svg") == 3  # one chart per attribute: race, sex, race*sex
    verdict, findings, first_table = html.index('id="verdict"'), html.index("What we found"), html.index("<table")
    assert verdict < findings < first_table
    assert "0.63 times the rate of Caucasian" in html
    assert "too small to judge" in html


def test_notebook_view(compas_result):
    view = compas_result._repr_html_()
    assert "African-American" in view and "<table" in view
    assert repr(compas_result).startswith("AuditResult(rows=7214")
