"""Policy files: the shipped default, tier assignment, and every validation error with its line and key."""

import textwrap

import pytest
from click.testing import CliRunner

import steward
from steward.audit.policy import load_policy
from steward.cli import cli

GOOD = """\
policy:
  name: Test policy
  version: 1
domains: [credit, marketing, other]
tiers:
  high:
    description: Credit decisions
    assign_when:
      - domain: [credit]
    checks:
      adverse_impact_ratio:
        min: 0.8
  low:
    description: The rest
    extends: high
    checks:
      adverse_impact_ratio:
        min: 0.7
        severity: warn
"""


def write(tmp_path, text, name="policy.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def problem(tmp_path, text):
    path = write(tmp_path, text)
    with pytest.raises(steward.PolicyError) as info:
        load_policy(path)
    return str(info.value), path


def test_default_policy_is_valid_and_cites_its_thresholds():
    policy = steward.Policy.default()
    assert list(policy.tiers) == ["high", "medium", "low"]
    high = policy.tier("high")
    assert high.checks["adverse_impact_ratio"].min == 0.8
    assert "1607.4(D)" in high.checks["adverse_impact_ratio"].source
    assert high.checks["false_positive_rate_ratio"].max == 1.25
    assert high.sign_off == ("validator", "executive")
    assert high.require_significance is True and high.min_group_size == 30
    # Every threshold of the high tier says where it comes from.
    assert all(p.source for p in high.checks.values())
    # medium inherits settings from high, low from medium, each overriding what it names.
    assert policy.tier("low").checks["adverse_impact_ratio"].severity == "warn"
    assert policy.tier("medium").checks["adverse_impact_ratio"].severity == "fail"
    assert policy.tier("low").sign_off == ()
    assert len(policy.sha256) == 64 and policy.version == "2026.11"


@pytest.mark.parametrize("answers, tier", [
    (dict(domain="criminal_justice", people_affected=500, decisions_per_day=5, human_review=True, wrong_decision_cost="low"), "high"),
    (dict(domain="marketing", people_affected=200_000, decisions_per_day=5, human_review=True, wrong_decision_cost="low"), "high"),
    (dict(domain="marketing", people_affected=10, decisions_per_day=20_000, human_review=False, wrong_decision_cost="low"), "high"),
    (dict(domain="marketing", people_affected=10, decisions_per_day=20_000, human_review=True, wrong_decision_cost="low"), "low"),
    (dict(domain="marketing", people_affected=10, decisions_per_day=5, human_review=True, wrong_decision_cost="medium"), "medium"),
    (dict(domain="operations", people_affected=5_000, decisions_per_day=5, human_review=True, wrong_decision_cost="low"), "medium"),
    (dict(domain="other", people_affected=10, decisions_per_day=5, human_review=True, wrong_decision_cost="low"), "low"),
])
def test_tier_assignment_from_risk_answers(answers, tier):
    chosen, reason = steward.Policy.default().assign_tier(answers)
    assert chosen.name == tier
    assert f"tier {tier!r}" in reason


def test_risk_answers_are_validated():
    policy = steward.Policy.default()
    with pytest.raises(steward.PolicyError, match="domain 'banking' is not one the policy knows"):
        policy.assign_tier(dict(domain="banking", people_affected=1, decisions_per_day=1, human_review=True,
                                wrong_decision_cost="low"))
    with pytest.raises(steward.PolicyError, match="people_affected"):
        policy.assign_tier(dict(domain="credit", people_affected=-1, decisions_per_day=1, human_review=True,
                                wrong_decision_cost="low"))


def test_a_good_policy_loads(tmp_path):
    policy = load_policy(write(tmp_path, GOOD))
    assert policy.version == "1"  # a YAML number, kept as a label
    assert policy.tier("low").checks["adverse_impact_ratio"].min == 0.7
    assert policy.tier("low").conditions == ()


def test_unknown_check_names_line_and_key(tmp_path):
    msg, path = problem(tmp_path, GOOD.replace("      adverse_impact_ratio:\n        min: 0.8",
                                               "      adverse_impact_ration:\n        min: 0.8"))
    assert msg.startswith(f"{path}:11: tiers.high.checks.adverse_impact_ration: unknown check")
    assert "did you mean 'adverse_impact_ratio'?" in msg


def test_bad_threshold_type_names_line_and_key(tmp_path):
    msg, path = problem(tmp_path, GOOD.replace("min: 0.8", "min: eighty"))
    assert msg.startswith(f"{path}:12: tiers.high.checks.adverse_impact_ratio.min: ")
    assert "valid number" in msg and "'eighty'" in msg


def test_out_of_range_threshold(tmp_path):
    msg, path = problem(tmp_path, GOOD.replace("min: 0.7", "min: -1"))
    assert msg.startswith(f"{path}:18: tiers.low.checks.adverse_impact_ratio.min: ")
    assert "greater than 0" in msg


def test_bad_severity(tmp_path):
    msg, path = problem(tmp_path, GOOD.replace("severity: warn", "severity: block"))
    assert msg.startswith(f"{path}:19: tiers.low.checks.adverse_impact_ratio.severity: ")
    assert "'fail' or 'warn'" in msg


def test_unknown_key_suggests_the_right_one(tmp_path):
    msg, path = problem(tmp_path, GOOD.replace("min: 0.8", "minimum: 0.8"))
    assert msg.startswith(f"{path}:12: tiers.high.checks.adverse_impact_ratio.minimum: unknown key")
    msg, path = problem(tmp_path, GOOD.replace("    assign_when:", "    assign_wen:"))
    assert f"{path}:8: tiers.high.assign_wen: unknown key; did you mean 'assign_when'?" in msg


def test_extends_a_missing_tier(tmp_path):
    msg, path = problem(tmp_path, GOOD.replace("extends: high", "extends: medium"))
    assert msg.startswith(f"{path}:15: tiers.low.extends: extends tier 'medium', which is not defined")
    assert "the tiers are: high, low" in msg


def test_missing_tiers(tmp_path):
    msg, path = problem(tmp_path, "policy: {name: P, version: 1}\ndomains: [credit]\ntiers: {}\n")
    assert msg == f"{path}:3: tiers: the policy defines no tiers; define at least one (low, medium, high, ...)"
    msg, path = problem(tmp_path, "policy: {name: P, version: 1}\ndomains: [credit]\n")
    assert msg == f"{path}:1: tiers: this key is required but missing"
    msg, path = problem(tmp_path, "policy: {name: P, version: 1}\ndomains: [credit]\ntiers:\n  high:\n")
    assert msg.startswith(f"{path}:4: tiers.high: the tier is empty")


def test_unknown_tier_at_audit_time(compas):
    with pytest.raises(steward.PolicyError, match="tier 'hihg' is not defined .* did you mean 'high'\\? its tiers are: high, medium, low"):
        steward.audit(compas, label="two_year_recid", prediction="is_recid", protected=["race"], policy="default", tier="hihg")


def test_missing_tier_choice_at_audit_time(compas):
    with pytest.raises(steward.PolicyError, match="say which risk tier"):
        steward.audit(compas, label="two_year_recid", prediction="is_recid", protected=["race"], policy="default")


def test_other_structural_problems(tmp_path):
    msg, path = problem(tmp_path, GOOD.replace("      - domain: [credit]", "      - domain: [credits]"))
    assert msg.startswith(f"{path}:9: tiers.high.assign_when[0].domain: domain 'credits' is not in the policy's domains")
    msg, path = problem(tmp_path, GOOD.replace("    extends: high\n", "    extends: high\n    assign_when:\n      - human_review: true\n"))
    assert "every tier has assign_when" in msg
    msg, path = problem(tmp_path, GOOD.replace("  high:\n    description: Credit decisions\n",
                                               "  high:\n    description: Credit decisions\n    extends: low\n"))
    assert "tiers extend each other in a circle" in msg
    msg, path = problem(tmp_path, GOOD.replace("        min: 0.8\n", "        min: 0.8\n        min: 0.9\n"))
    assert msg.startswith(f"{path}:13: tiers.high.checks.adverse_impact_ratio.min: the key is written twice (first on line 12)")
    msg, path = problem(tmp_path, GOOD.replace("    checks:\n      adverse_impact_ratio:\n        min: 0.8",
                                               "    checks:\n      model_card:\n        required: [model.ownr]"))
    assert msg.startswith(f"{path}:12: tiers.high.checks.model_card.required: ")
    assert "'model.ownr' is not a model-card field; did you mean 'model.owner'?" in msg
    msg, path = problem(tmp_path, GOOD.replace("    checks:\n      adverse_impact_ratio:\n        min: 0.8",
                                               "    checks:\n      false_positive_rate_ratio:\n        severity: fail"))
    assert msg.startswith(f"{path}:11: tiers.high.checks.false_positive_rate_ratio: ")
    assert "give min, max or both" in msg


def test_yaml_syntax_and_file_errors(tmp_path):
    msg, path = problem(tmp_path, "policy:\n  name: [unclosed\n")
    assert msg.startswith(f"{path}:3: not valid YAML")
    with pytest.raises(steward.PolicyError, match="does not exist"):
        load_policy(tmp_path / "nope.yaml")
    msg, path = problem(tmp_path, "- a\n- b\n")
    assert "must be a mapping" in msg
    msg, path = problem(tmp_path, "")
    assert "empty" in msg


def test_several_problems_are_reported_together(tmp_path):
    msg, path = problem(tmp_path, GOOD.replace("min: 0.8", "min: eighty").replace("severity: warn", "severity: block"))
    lines = msg.splitlines()
    assert lines[0] == f"{path} is not a valid policy (2 problems):"
    assert lines[1].startswith(f"{path}:12:") and lines[2].startswith(f"{path}:19:")


def test_policy_check_command(tmp_path):
    ok = CliRunner().invoke(cli, ["policy", "check", str(write(tmp_path, GOOD))])
    assert ok.exit_code == 0, ok.output
    assert "valid" in ok.output and "tier high" in ok.output and "adverse_impact_ratio" in ok.output
    default = CliRunner().invoke(cli, ["policy", "check", "default"])
    assert default.exit_code == 0 and "validator, executive" in default.output
    bad = CliRunner().invoke(cli, ["policy", "check", str(write(tmp_path, GOOD.replace("min: 0.8", "min: eighty"), "bad.yaml"))])
    assert bad.exit_code == 2
    assert "bad.yaml:12: tiers.high.checks.adverse_impact_ratio.min:" in " ".join(bad.output.split())
    assert "Traceback" not in bad.output


def test_every_kind_of_problem_is_reported_at_once(tmp_path):
    """A structural mistake (an unknown key) no longer hides the tiers' problems (an unknown check, a missing
    parent tier, a bad threshold): all of them, in file order, in one run of `steward policy check`."""
    text = (GOOD.replace("  version: 1\n", "  version: 1\n  colour: red\n")
            .replace("    assign_when:", "    assign_wen:")
            .replace("      adverse_impact_ratio:\n        min: 0.8", "      adverse_impact_rato:\n        min: 0.8")
            .replace("extends: high", "extends: medium").replace("min: 0.7", "min: seventy"))
    msg, path = problem(tmp_path, text)
    lines = msg.splitlines()
    assert lines[0] == f"{path} is not a valid policy (5 problems):"
    kinds = [line.split(": ", 2)[1:] for line in lines[1:]]
    assert [k[0] for k in kinds] == ["policy.colour", "tiers.high.assign_wen", "tiers.high.checks.adverse_impact_rato",
                                     "tiers.low.extends", "tiers.low.checks.adverse_impact_ratio.min"]
    assert "did you mean 'adverse_impact_ratio'?" in kinds[2][1] and "'medium', which is not defined" in kinds[3][1]
    r = CliRunner().invoke(cli, ["policy", "check", str(path)])
    assert r.exit_code == 2 and "Traceback" not in r.output
    err = [line for line in r.stderr.splitlines() if line.strip()]
    assert err[0].startswith("error: ") and len(err) == 6 and err[5].strip().startswith(f"{path}:")
