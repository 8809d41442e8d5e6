"""Model cards: generated with and without card info; card-info validation; steward init."""

import textwrap

import pytest
from click.testing import CliRunner

import steward
from steward.audit.card import CARD_FIELDS
from steward.cli import cli
from tests.conftest import quiet_audit

COMPAS = dict(label="two_year_recid", score="decile_score", threshold=5, favourable=0,
              protected={"race": "Caucasian", "sex": "Male"})
SECTIONS = ["Model details", "Intended use", "Factors", "Metrics", "Evaluation data", "Training data",
            "Quantitative analyses", "Policy verdict", "Ethical considerations", "Caveats and recommendations"]

CARD = textwrap.dedent("""\
    model:
      name: COMPAS recidivism risk scale
      version: 2
      owner: Northpointe (now Equivant)
      accountable_executive: Chief Product Officer
      contact: compliance@example.org
      date: 2013-01-01
    intended_use:
      primary_uses: Pretrial risk assessment in Broward County, Florida
      out_of_scope:
        - Sentencing decisions
        - Any use outside the population it was normed on
    training_data:
      description: Proprietary norm group; not disclosed by the vendor
    ethical_considerations: Scores feed decisions about liberty.
    caveats: Labels record re-arrest, not offending.
    wording:
      people: defendants
      favourable: rated low risk
    """)


def test_card_without_card_info(compas):
    r = quiet_audit(compas, **COMPAS)
    md = r.model_card()
    for s in SECTIONS:
        assert f"## {s}" in md
    assert md.startswith("# Model card: (model name not provided)")
    assert "No card-info file was given" in md
    assert "- **Owner:** *not provided*" in md and "- **Out-of-scope uses:** *not provided*" in md
    # What Steward derives is there: the data fingerprint, the groups, metrics with intervals.
    assert r.source["sha256"] in md
    assert "### Unitary results" in md and "### Intersectional results" in md
    assert "| African-American | 3,696 | 41.2% (39.6–42.8%) | 0.63 (0.60–0.66) |" in md
    assert "This audit was not held to a policy" in md


def test_card_with_card_info_and_policy(compas, tmp_path):
    info = tmp_path / "card.yaml"
    info.write_text(CARD)
    r = quiet_audit(compas, **COMPAS, policy="default", tier="high", card_info=info)
    md = r.model_card()
    assert md.startswith("# Model card: COMPAS recidivism risk scale")
    assert "- **Owner:** Northpointe (now Equivant)" in md
    assert "- **Version:** 2" in md and "- **Date:** 2013-01-01" in md  # YAML numbers and dates kept as text
    assert "  - Sentencing decisions" in md
    assert "FAILED: policy Steward default policy (version 2026.11), tier high" in md
    assert "African-American defendants were rated low risk at 0.63 times" in md
    # Every required field is given in CARD, so every model-card finding passes.
    card = {f.metric: f.status for f in r.findings if f.check == "model_card"}
    assert set(card.values()) == {"pass"} and len(card) == 9
    paths = r.save(tmp_path / "out")
    assert paths["model_card"].read_text() == md


def test_a_missing_required_field_is_a_finding(compas, tmp_path):
    info = tmp_path / "card.yaml"
    info.write_text(CARD.replace("  owner: Northpointe (now Equivant)\n", "  owner: '  '\n"))
    r = quiet_audit(compas, **COMPAS, policy="default", tier="high", card_info=info)
    owner = next(f for f in r.findings if f.check == "model_card" and f.metric == "model.owner")
    assert owner.status == "fail" and "who owns the model" in owner.message


def test_card_info_errors_name_line_and_key(tmp_path):
    info = tmp_path / "card.yaml"
    info.write_text(CARD.replace("  contact:", "  contakt:"))
    with pytest.raises(steward.PolicyError, match=r"card.yaml:6: model.contakt: unknown key; did you mean 'contact'\?"):
        steward.load_card_info(info)
    info.write_text(CARD + "risk:\n  domain: credit\n  people_affected: many\n")
    with pytest.raises(steward.PolicyError) as e:
        steward.load_card_info(info)
    assert "card.yaml:22: risk.people_affected: " in str(e.value) and "valid integer" in str(e.value)
    assert "card.yaml:20: risk.decisions_per_day: this key is required but missing" in str(e.value)


def test_every_required_field_is_a_card_field():
    policy = steward.Policy.default()
    for tier in policy.tiers.values():
        for name in tier.checks["model_card"].required:
            assert name in CARD_FIELDS


def test_init_writes_starter_files_and_refuses_to_overwrite(tmp_path):
    r = CliRunner().invoke(cli, ["init", str(tmp_path / "proj")])
    assert r.exit_code == 0, r.output
    policy, card = tmp_path / "proj" / "policy.yaml", tmp_path / "proj" / "model_card.yaml"
    assert steward.load_policy(policy).name == "Steward default policy"
    assert "# " in policy.read_text() and "# " in card.read_text()  # commented
    assert steward.load_card_info(card).model.owner is None
    card.write_text("model:\n  name: mine\n")
    again = CliRunner().invoke(cli, ["init", str(tmp_path / "proj")])
    assert again.exit_code == 2 and "already exist" in again.output
    assert card.read_text() == "model:\n  name: mine\n"  # nothing was overwritten
    # One file present: neither is written.
    (tmp_path / "two").mkdir()
    (tmp_path / "two" / "policy.yaml").write_text("x")
    partial = CliRunner().invoke(cli, ["init", str(tmp_path / "two")])
    assert partial.exit_code == 2 and not (tmp_path / "two" / "model_card.yaml").exists()


def test_starter_card_drives_the_gate(compas, tmp_path):
    CliRunner().invoke(cli, ["init", str(tmp_path)])
    r = quiet_audit(compas, **COMPAS, policy=tmp_path / "policy.yaml", tier="low", card_info=tmp_path / "model_card.yaml")
    card = [f for f in r.findings if f.check == "model_card"]
    assert {f.metric for f in card} == {"model.name", "model.owner"} and all(f.status == "warn" for f in card)
