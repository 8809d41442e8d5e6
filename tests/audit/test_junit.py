"""JUnit XML: valid against the JUnit schema, one test case per finding."""

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema
from click.testing import CliRunner

import steward
from steward.cli import cli
from tests.conftest import quiet_audit

SCHEMA = xmlschema.XMLSchema(Path(__file__).with_name("junit-10.xsd"))


@pytest.fixture(scope="module")
def result(compas):
    return quiet_audit(compas, label="two_year_recid", score="decile_score", threshold=5, favourable=0,
                       protected={"race": "Caucasian", "sex": "Male"}, policy="default", tier="high")


def test_junit_is_valid_and_has_one_case_per_finding(result):
    xml = result.to_junit()
    SCHEMA.validate(xml)  # raises with the reason when invalid
    root = ET.fromstring(xml)
    cases = root.findall("./testsuite/testcase")
    assert len(cases) == len(result.findings)
    assert int(root.get("tests")) == len(result.findings)
    fails = [f for f in result.findings if f.status in ("fail", "not_evidenced")]
    assert int(root.get("failures")) == len(fails) == len(root.findall("./testsuite/testcase/failure"))
    skipped = [f for f in result.findings if f.status in ("insufficient_data", "not_applicable")]
    assert len(root.findall("./testsuite/testcase/skipped")) == len(skipped)
    names = {(c.get("classname"), c.get("name")) for c in cases}
    assert ("steward.adverse_impact_ratio", "race=African-American vs Caucasian") in names
    for suite in root.findall("testsuite"):
        props = {p.get("name"): p.get("value") for p in suite.findall("./properties/property")}
        assert props["tier"] == "high" and props["policy"] == "Steward default policy"


def test_schema_rejects_a_broken_document():
    # The schema is strict enough to catch a real mistake (a test case without a name).
    with pytest.raises(xmlschema.XMLSchemaValidationError):
        SCHEMA.validate('<testsuites><testsuite name="x" tests="1" failures="0" errors="0"><testcase/></testsuite></testsuites>')


def test_junit_of_a_passing_audit_and_through_the_cli(tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text("policy: {name: P, version: 1}\ndomains: [other]\ntiers:\n  t:\n    description: x\n"
                      "    checks: {adverse_impact_ratio: {min: 0.5}}\n")
    out = tmp_path / "ci" / "steward.xml"
    r = CliRunner().invoke(cli, [
        "audit", str(steward.datasets.path("compas")), "--label", "two_year_recid", "--score", "decile_score",
        "--threshold", "5", "--favourable", "0", "--protected", "race=Caucasian", "--policy", str(policy),
        "--tier", "t", "--junit", str(out), "--out", str(tmp_path / "rep")])
    assert r.exit_code == 0, r.output
    SCHEMA.validate(str(out))
    root = ET.parse(out).getroot()
    assert root.get("failures") == "0" and len(root.findall(".//testcase")) == 5  # 5 non-reference races


def test_not_evidenced_is_a_failure_that_says_what_would_let_it_run(result):
    # COMPAS without a model under the high tier: the model checks did not run, which is not a pass.
    xml = result.to_junit()
    root = ET.fromstring(xml)
    missing = [c for c in root.findall("./testsuite/testcase") if c.find("failure[@type='not_evidenced']") is not None]
    assert missing, "the model checks of the high tier should be reported as not evidenced"
    by_name = {c.get("classname"): c.find("failure").get("message") for c in missing}
    assert "Would run with:" in by_name["steward.flip_test"] and "--model" in by_name["steward.flip_test"]
