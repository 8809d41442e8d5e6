"""Practice adoption measured from evidence equals a hand count, on SQLite and PostgreSQL.

Four models in two teams, each with evidence chosen so that which practices it shows is known by hand
(see :func:`world`); the organisation's adopted/applicable counts per practice, the per-team counts, a team's
own report and the trend (a point before any evidence existed) are checked against literal numbers."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.governance._standards_setup import (
    CI, RISK_LOW, approve, audit, build_kit, deploy, file_monitor, model, next_second, no_oversight, open_registry,
    when,
)

pytest.importorskip("lightgbm")


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    return build_kit(tmp_path_factory.mktemp("adoption"))


@pytest.fixture
def reg(db_url, kit):
    r = open_registry(db_url, kit.v1)
    yield r
    r.close()


def world(reg, kit):
    """Lending (members dev, Val): lend-a, lend-b. Claims (member dev2): claims-c, claims-d.

    practice                 lend-a        lend-b           claims-c              claims-d (low tier)
    bias tested in CI        yes (CI+gate) no (not in CI)   no (CI, no gate)      yes (CI+gate)
    independent validation   yes (Vic)     no (Val: team)   yes (Val: not Claims) no (no sign-off)
    explanations             no            no               no                    no
    privacy probes           yes (PII ran) no (n/a)         yes (PII ran)         no (not in tier)
    fairness monitoring      no            yes (monitor)    no                    - (not deployed/watched)
    human oversight          yes (band)    - (not deployed) no (routes nothing)   -
    incident response        yes (contained) -              no (still open)       -
    model card complete      yes           no (no card)     no (owner missing)    no (not in tier)
    Returns the time the models were registered (before any evidence)."""
    reg.create_team("Lending", contact="lending@example.org", actor="admin")
    reg.create_team("Claims", contact="#claims-ml", actor="admin")
    reg.add_team_member("Lending", "dev", actor="admin")
    reg.add_team_member("Lending", "Val", actor="admin")
    reg.add_team_member("Claims", "dev2", actor="admin")
    model(reg, kit, "lend-a", team="Lending")
    model(reg, kit, "lend-b", team="Lending")
    model(reg, kit, "claims-c", team="Claims", by="dev2")
    model(reg, kit, "claims-d", team="Claims", risk=RISK_LOW, by="dev2")
    registered = when(reg.model("claims-d")["created_at"])
    next_second()
    # lend-a: audited from CI with the gate, card complete, PII probe; an outside validator; deployed with a
    # review band; an incident contained
    audit(reg, kit, "lend-a", report="carded", context=CI)
    approve(reg, "lend-a", validator="Vic")
    deploy(reg, kit, "lend-a-live", "lend-a:1", review={"band": 0.1})
    inc = reg.open_incident("lend-a", title="Complaint about a decline", severity="medium", actor="Olga")
    reg.update_incident(inc["id"], status="contained", note="decision reviewed by a person", actor="Olga")
    # lend-b: audited on a laptop (the gate ran, but not in CI); its own team's validator; a monitor judging
    # fairness on the model's log
    audit(reg, kit, "lend-b", context=dict(CI, ci=None))
    approve(reg, "lend-b", validator="Val")
    file_monitor(reg, kit, "lend-b-log", "lend-b")
    # claims-c: from CI but without the gate; a card without the owner; a validator from another team; a
    # deployment that routes nothing to a person (benchmark disagreement would, but it has no benchmark); an
    # incident nobody responded to
    audit(reg, kit, "claims-c", report="half_card", context=dict(CI, gate=False), by="dev2")
    approve(reg, "claims-c", validator="Val", by="dev2")
    deploy(reg, kit, "claims-c-live", "claims-c:1", **no_oversight())
    reg.open_incident("claims-c", title="Slow answers", severity="low", actor="Olga")
    # claims-d: low tier, audited from CI with the gate; approved without sign-off (the tier asks none)
    audit(reg, kit, "claims-d", report="low", context=CI, by="dev2")
    reg.approve("claims-d", "1", actor="dev2")
    return registered


def counts(practices):
    return {p["practice"]: (p["adopted"], p["applicable"]) for p in practices}


def test_adoption_equals_the_hand_count(reg, kit):
    registered = world(reg, kit)
    report = reg.standards()
    assert counts(report["adoption"]["practices"]) == {
        "bias_tested_in_ci": (2, 4),        # lend-a, claims-d
        "independent_validation": (2, 4),   # lend-a (Vic), claims-c (Val is not in Claims)
        "explanations": (0, 4),             # no audit checked reason codes
        "privacy_probes": (2, 4),           # lend-a, claims-c (PII scan ran)
        "fairness_monitoring": (1, 3),      # lend-b, of lend-a, lend-b (watched), claims-c
        "human_oversight": (1, 2),          # lend-a, of the deployed lend-a and claims-c
        "incident_response": (1, 2),        # lend-a
        "model_card_complete": (1, 4),      # lend-a
    }
    rates = {p["practice"]: p["rate"] for p in report["adoption"]["practices"]}
    assert rates["fairness_monitoring"] == pytest.approx(1 / 3) and rates["explanations"] == 0.0
    # per model, with the evidence named
    practices = {m["model"]: {p["practice"]: p for p in m["practices"]} for m in report["models"]}
    a = practices["lend-a"]
    assert a["bias_tested_in_ci"]["evidence"].startswith("audit #1 recorded by dev from github-actions run "
                                                         "acme/lending/4711 with `steward audit data.csv --register`")
    assert a["independent_validation"]["evidence"].startswith("validator Vic (not in Lending) approved lend-a:1 on ")
    assert a["privacy_probes"]["evidence"] == "audit #1 ran pii_in_features"
    assert a["human_oversight"]["evidence"].startswith("deployment lend-a-live sends to a person: scores within 0.1 "
                                                       "of the threshold")
    assert a["incident_response"]["evidence"].startswith("incident #1 (medium) was contained on ")
    assert a["model_card_complete"]["evidence"] == "audit #1 of 1: model card complete"
    assert not practices["lend-b"]["privacy_probes"]["adopted"]  # the optional probe did not run
    assert practices["lend-b"]["fairness_monitoring"]["evidence"].startswith("monitor lend-b-log judged group fairness in window")
    c = practices["claims-c"]
    assert not c["human_oversight"]["adopted"] and not c["model_card_complete"]["adopted"]
    assert not c["bias_tested_in_ci"]["adopted"] and c["independent_validation"]["adopted"]
    d = practices["claims-d"]
    assert [p for p, x in d.items() if x["applies"]] == ["bias_tested_in_ci", "independent_validation", "explanations",
                                                         "privacy_probes", "model_card_complete"]
    # per team: Lending 7 of 14 (lend-a 6 of 8, lend-b 1 of 6), Claims 3 of 13 (claims-c 2 of 8, claims-d 1 of 5)
    assert [(t["team"], t["practices_adopted"], t["practices_applicable"]) for t in report["teams"]] == [
        ("Claims", 3, 13), ("Lending", 7, 14)]
    lending = reg.standards(team="Lending")
    assert counts(lending["adoption"]["practices"]) == {
        "bias_tested_in_ci": (1, 2), "independent_validation": (1, 2), "explanations": (0, 2),
        "privacy_probes": (1, 2), "fairness_monitoring": (1, 2), "human_oversight": (1, 1),
        "incident_response": (1, 1), "model_card_complete": (1, 2)}

    # the trend: 30 days after registration, and at registration, before any evidence existed
    later = reg.standards(at=registered + timedelta(days=30), trend_points=2)
    assert counts(later["adoption"]["practices"]) == counts(report["adoption"]["practices"])
    first, last = later["adoption"]["trend"]
    assert when(first["at"]) == registered and first["models"] == last["models"] == 4
    assert first["rates"] == {"bias_tested_in_ci": 0.0, "independent_validation": 0.0, "explanations": 0.0,
                              "privacy_probes": 0.0, "fairness_monitoring": None, "human_oversight": None,
                              "incident_response": None, "model_card_complete": 0.0}
    assert last["rates"] == {p["practice"]: p["rate"] for p in later["adoption"]["practices"]}
    assert last["rates"]["bias_tested_in_ci"] == 0.5 and last["rates"]["human_oversight"] == 0.5


def test_the_ci_context_is_kept_with_the_audit(reg, kit):
    model(reg, kit, "gated")
    run = audit(reg, kit, "gated", context=CI)
    assert run["context"] == CI
    assert reg.version("gated", "1")["audits"][0]["context"] == CI
