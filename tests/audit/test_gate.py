"""The gate: checks and findings, end to end through the API and the CLI on COMPAS."""

import json
import re
import textwrap

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import steward
from steward.audit.checks import CHECKS, CheckParams, register
from steward.cli import cli
from tests.conftest import quiet_audit

COMPAS = dict(label="two_year_recid", score="decile_score", threshold=5, favourable=0,
              protected={"race": "Caucasian", "sex": "Male"})
WORDING = {"wording": {"people": "defendants", "favourable": "rated low risk", "unfavourable": "rated high risk",
                       "label_negative": "who did not reoffend", "label_positive": "who reoffended"}}

LOOSE = """\
policy: {name: Loose, version: "0.1"}
domains: [criminal_justice, other]
tiers:
  lenient:
    description: Thresholds far looser than any standard, to show the gate can pass.
    checks:
      adverse_impact_ratio: {min: 0.5}
      false_positive_rate_ratio: {max: 2.5}
      false_negative_rate_ratio: {max: 2.5, harmful_only: false}
      standardized_mean_difference: {max_abs: 0.9}
"""

CLI_ARGS = ["--label", "two_year_recid", "--score", "decile_score", "--threshold", "5", "--favourable", "0",
            "--protected", "race=Caucasian", "--protected", "sex=Male"]


@pytest.fixture(scope="module")
def high(compas):
    return quiet_audit(compas, **COMPAS, policy="default", tier="high", card_info=WORDING)


def by_id(result):
    return {f.id: f for f in result.findings}


def test_default_high_tier_fails_compas_on_air_and_fpr(high, compas):
    f = by_id(high)
    air = f["adverse_impact_ratio[race=African-American vs Caucasian]"]
    fpr = f["false_positive_rate_ratio[race=African-American vs Caucasian]"]
    assert air.status == "fail" and fpr.status == "fail" and high.passed is False
    # Independent reference: the ratio and rates computed directly from the rows with pandas.
    low = compas["decile_score"] < 5
    fav = low.groupby(compas["race"]).mean()
    assert air.value == pytest.approx(fav["African-American"] / fav["Caucasian"], abs=1e-12)
    neg = compas[compas["two_year_recid"] == 0]
    fp = (neg["decile_score"] >= 5).groupby(neg["race"]).mean()
    assert fpr.value == pytest.approx(fp["African-American"] / fp["Caucasian"], abs=1e-12)
    assert air.threshold == {"min": 0.8, "max": None} and fpr.threshold["max"] == 1.25
    assert air.significant is True and air.p_value < 1e-50
    assert air.ci[0] < air.value < air.ci[1]
    # The sentence the issue asks for, with the card's wording.
    assert air.message.startswith("African-American defendants were rated low risk at 0.63 times the rate of "
                                  "Caucasian defendants")
    assert "the policy requires at least 0.80" in air.message
    assert fpr.message.startswith("African-American defendants who did not reoffend were rated high risk 1.91 times "
                                  "as often as Caucasian defendants (44.8% against 23.5%")


def test_smd_finding_against_pandas(high, compas):
    smd = by_id(high)["standardized_mean_difference[race=African-American vs Caucasian]"]
    mean = compas.groupby("race")["decile_score"].mean()
    expected = (mean["African-American"] - mean["Caucasian"]) / compas["decile_score"].std(ddof=1)
    assert smd.value == pytest.approx(expected, abs=1e-12)
    assert (f"({mean['African-American']:.2f} against {mean['Caucasian']:.2f};" in smd.message
            and f"is {expected:.2f} standard deviations higher" in smd.message)


def test_statuses_of_the_other_findings(high):
    f = by_id(high)
    # Too small to judge: 18 Native American defendants.
    assert f["adverse_impact_ratio[race=Native American vs Caucasian]"].status == "insufficient_data"
    assert f["group_size[race=Native American]"].status == "warn"
    # Groups that are not disadvantaged pass.
    assert f["adverse_impact_ratio[race=Hispanic vs Caucasian]"].status == "pass"
    assert f["adverse_impact_ratio[sex=Female vs Male]"].status == "pass"
    # With favourable decision 0, a false negative benefits the person: not judged under harmful_only.
    fnr = [x for x in high.findings if x.check == "false_negative_rate_ratio"]
    assert [x.status for x in fnr] == ["not_applicable"]
    # The SMD is a warning in the default high tier.
    assert f["standardized_mean_difference[race=African-American vs Caucasian]"].status == "warn"
    # No card info beyond the wording: every required card field fails.
    card = [x for x in high.findings if x.check == "model_card"]
    assert card and all(x.status == "fail" for x in card)


def test_json_report_gains_findings_and_passed(high, compas, tmp_path):
    doc = json.loads(high.to_json())
    assert doc["passed"] is False
    assert doc["policy"]["name"] == "Steward default policy" and doc["policy"]["tier"] == "high"
    assert len(doc["policy"]["sha256"]) == 64 and doc["policy"]["tier_rules"]["sign_off"] == ["validator", "executive"]
    statuses = [x["status"] for x in doc["findings"]]
    order = ["fail", "not_evidenced", "warn", "insufficient_data", "not_applicable", "pass"]
    assert statuses == sorted(statuses, key=order.index)  # worst first
    assert {"id", "check", "status", "value", "ci", "p_value", "threshold", "message"} <= set(doc["findings"][0])
    plain = json.loads(quiet_audit(compas, **COMPAS).to_json())
    assert plain["passed"] is None and plain["findings"] == [] and plain["policy"] is None


def test_findings_frame(high):
    frame = high.findings_frame()
    assert len(frame) == len(high.findings)
    assert frame["status"].iloc[0] == "fail"


def test_significance_requirement_turns_a_chance_breach_into_a_warning(tmp_path):
    # Group B is favoured at 0.70 of A's rate, but with 40 rows the difference could be chance.
    rng = np.random.default_rng(3)
    n_a, n_b = 60, 40
    df = pd.DataFrame({
        "g": ["A"] * n_a + ["B"] * n_b,
        "d": [1] * 30 + [0] * 30 + [1] * 14 + [0] * 26,
        "y": rng.integers(0, 2, n_a + n_b),
    })
    text = textwrap.dedent("""\
        policy: {name: P, version: 1}
        domains: [other]
        tiers:
          strict:
            description: needs significance
            require_significance: true
            checks: {adverse_impact_ratio: {min: 0.8}}
          blunt:
            description: does not
            extends: strict
            require_significance: false
        """)
    path = tmp_path / "p.yaml"
    path.write_text(text)
    strict = quiet_audit(df, label="y", prediction="d", protected={"g": "A"}, policy=path, tier="strict")
    blunt = quiet_audit(df, label="y", prediction="d", protected={"g": "A"}, policy=path, tier="blunt")
    (s,), (b,) = strict.findings, blunt.findings
    assert s.value == pytest.approx((14 / 40) / (30 / 60))
    assert s.p_value > 0.05 and s.significant is False
    assert s.status == "warn" and "could be chance" in s.message and strict.passed is True
    assert b.status == "fail" and blunt.passed is False


def test_tier_chosen_by_the_card_risk_answers(compas):
    card = {"risk": {"domain": "criminal_justice", "people_affected": 7000, "decisions_per_day": 30,
                     "human_review": True, "wrong_decision_cost": "high"}}
    r = quiet_audit(compas, **COMPAS, policy="default", card_info=card)
    assert r.policy["tier"] == "high" and "criminal_justice" in r.policy["tier_reason"]


def test_policy_sets_group_size_and_confidence(compas, tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("policy: {name: P, version: 1}\ndomains: [other]\ntiers:\n  t:\n    description: x\n"
                    "    min_group_size: 40\n    confidence: 0.9\n    checks: {adverse_impact_ratio: {min: 0.8}}\n")
    r = quiet_audit(compas, **COMPAS, policy=path, tier="t")
    assert r.settings["min_group_size"] == 40 and r.settings["confidence"] == 0.9
    # 32 Asian defendants: judged under the default 30, too few under this tier's 40.
    assert by_id(r)["adverse_impact_ratio[race=Asian vs Caucasian]"].status == "insufficient_data"
    assert by_id(quiet_audit(compas, **COMPAS, policy="default", tier="high"))[
        "adverse_impact_ratio[race=Asian vs Caucasian]"].status == "pass"
    # Intervals at the tier's 90% are narrower than at 95%.
    f90 = by_id(r)["adverse_impact_ratio[race=African-American vs Caucasian]"]
    f95 = by_id(quiet_audit(compas, **COMPAS, policy="default", tier="high"))["adverse_impact_ratio[race=African-American vs Caucasian]"]
    assert f95.ci[0] < f90.ci[0] < f90.value < f90.ci[1] < f95.ci[1]
    with pytest.raises(steward.RoleError, match="confidence is 0.95 but the policy's tier 't' sets 0.9"):
        quiet_audit(compas, **COMPAS, policy=path, tier="t", confidence=0.95)


def test_evaluate_an_existing_result_recomputes_with_the_tier_settings(compas, tmp_path):
    plain = quiet_audit(compas, **COMPAS, confidence=0.8)
    with pytest.warns(steward.SmallGroupWarning):
        judged = steward.evaluate(plain, "default", tier="high")
    assert judged.settings["confidence"] == 0.95 and plain.findings is None
    direct = quiet_audit(compas, **COMPAS, policy="default", tier="high")
    assert [f.to_dict() for f in judged.findings] == [f.to_dict() for f in direct.findings]


def test_attribute_filter_and_missing_attribute(compas, tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("policy: {name: P, version: 1}\ndomains: [other]\ntiers:\n  t:\n    description: x\n"
                    "    checks:\n      adverse_impact_ratio: {min: 0.8, attributes: [sex, age_cat]}\n")
    r = quiet_audit(compas, **COMPAS, policy=path, tier="t")
    assert {f.attribute for f in r.findings} == {"sex", "age_cat"}
    missing = by_id(r)["adverse_impact_ratio[age_cat=*]"]
    assert missing.status == "not_applicable" and "no such attribute" in missing.message


def test_smd_without_a_score_does_not_apply(compas):
    r = quiet_audit(compas, label="two_year_recid", prediction="is_recid", favourable=0,
                    protected={"race": "Caucasian"}, policy="default", tier="high")
    smd = [f for f in r.findings if f.check == "standardized_mean_difference"]
    # The policy requires the check, so missing input is not a pass: not evidenced, with what would let it run.
    assert [f.status for f in smd] == ["not_evidenced"] and "no score column" in smd[0].message
    assert "--score" in smd[0].needs


def test_harmful_error_follows_the_favourable_decision(compas):
    # With favourable = 1 (decision 1 is good), a false positive benefits the person.
    r = quiet_audit(compas, label="two_year_recid", prediction="is_recid", favourable=1,
                    protected={"race": "Caucasian"}, policy="default", tier="high")
    assert [f.status for f in r.findings if f.check == "false_positive_rate_ratio"] == ["not_applicable"]
    assert any(f.check == "false_negative_rate_ratio" and f.status != "not_applicable" for f in r.findings)


def test_undefined_value_is_not_applicable_with_its_reason():
    # Group B has no rows with label 0, so its false positive rate (and the ratio) is undefined.
    df = pd.DataFrame({"g": ["A"] * 50 + ["B"] * 40, "y": [0, 1] * 25 + [1] * 40, "d": [1, 0] * 25 + [0, 1] * 20})
    r = quiet_audit(df, label="y", prediction="d", favourable=0, protected={"g": "A"}, policy="default", tier="high")
    f = by_id(r)["false_positive_rate_ratio[g=B vs A]"]
    # Every comparison undefined: the required check has no evidence.
    assert f.status == "not_evidenced" and "no rows with label 0" in f.message


def test_a_registered_check_is_usable_from_a_policy(compas, tmp_path):
    class MaxSelection(CheckParams):
        max_rate: float

    @register("test_overall_selection_rate", params=MaxSelection, summary="test only")
    def _run(ctx, params):
        c = ctx.result.cells.frame
        rate = float(c.loc[c["decision"] == 1, "n"].sum() / c["n"].sum())
        status = "pass" if rate <= params.max_rate else params.severity
        return [steward.Finding(check="test_overall_selection_rate", status=status, severity=params.severity,
                                metric="selection_rate", value=rate, message=f"selection rate {rate:.3f}")]

    try:
        with pytest.raises(ValueError, match="already registered"):
            register("test_overall_selection_rate", params=MaxSelection, summary="again")(_run)
        path = tmp_path / "p.yaml"
        path.write_text("policy: {name: P, version: 1}\ndomains: [other]\ntiers:\n  t:\n    description: x\n"
                        "    checks:\n      test_overall_selection_rate: {max_rate: 0.3}\n")
        r = quiet_audit(compas, **COMPAS, policy=path, tier="t")
        (f,) = r.findings
        assert f.value == pytest.approx((compas["decile_score"] >= 5).mean()) and f.status == "fail"
    finally:
        CHECKS.pop("test_overall_selection_rate")


def test_gate_through_the_cli(tmp_path):
    data = str(steward.datasets.path("compas"))
    failing = CliRunner().invoke(cli, ["audit", data, *CLI_ARGS, "--policy", "default", "--tier", "high",
                                       "--out", str(tmp_path / "a")])
    assert failing.exit_code == 1, failing.output
    text = " ".join(failing.output.split())
    assert "FAIL adverse_impact_ratio race=African-American vs Caucasian" in text
    assert "FAIL false_positive_rate_ratio race=African-American vs Caucasian" in text
    assert "FAILED policy 'Steward default policy'" in text
    doc = json.loads((tmp_path / "a" / "report.json").read_text())
    assert doc["passed"] is False

    loose = tmp_path / "loose.yaml"
    loose.write_text(LOOSE)
    passing = CliRunner().invoke(cli, ["audit", data, *CLI_ARGS, "--policy", str(loose), "--tier", "lenient",
                                       "--out", str(tmp_path / "b")])
    assert passing.exit_code == 0, passing.output
    assert "PASSED policy 'Loose'" in " ".join(passing.output.split())
    assert json.loads((tmp_path / "b" / "report.json").read_text())["passed"] is True


@pytest.mark.parametrize("extra, message", [
    (["--policy", "default", "--tier", "critical"], "tier 'critical' is not defined"),
    (["--policy", "default"], "say which risk tier"),
    (["--policy", "nope.yaml", "--tier", "high"], "policy file 'nope.yaml' does not exist"),
    (["--policy", "default", "--tier", "high", "--min-group-size", "10"], "--min-group-size is 10 but the policy's tier"),
])
def test_gate_input_errors_exit_2(tmp_path, extra, message):
    r = CliRunner().invoke(cli, ["audit", str(steward.datasets.path("compas")), *CLI_ARGS, *extra,
                                 "--out", str(tmp_path)])
    assert r.exit_code == 2, r.output
    assert message in " ".join(r.output.split())
    assert not (tmp_path / "report.json").exists()


def test_html_report_opens_with_the_verdict(high, tmp_path):
    html = high.to_html()
    assert html.index('id="policy-verdict"') < html.index("Findings, worst first") < html.index('class="attribute"')
    assert "FAILED" in html and "Steward default policy" in html
    first_fail = html.index('badge fail')
    assert first_fail < html.index('badge warn') < html.index('class="attribute"')
    assert 'id="model-card"' in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html), "report must not load anything"
