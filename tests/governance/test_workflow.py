"""Workflow rules, on SQLite and PostgreSQL: approval needs a passing audit under the current policy
and every sign-off the tier requires; rejections need comments; new audits and versions reset approval."""

import pytest

import steward
from steward.errors import ConflictError, NotFoundError, WorkflowError
from steward.governance import Registry
from tests.governance.conftest import RISK, compas_audit


# Who signs off in each role: a sign-off is made by an enabled principal holding the role.
SIGNER = {"validator": "Val", "executive": "Eve"}


def people(reg):
    """The principals these tests act as, as API keys make them: the developer who registers and
    uploads, and a signer in each role (none of whom registered anything)."""
    for name, roles in (("dev", ["developer"]), ("Val", ["validator"]), ("Eve", ["executive"]), ("Rev", ["reviewer"])):
        reg.create_key(name, roles, actor="admin")


@pytest.fixture
def reg(db_url, lenient_policy):
    r = Registry(db_url, policy=lenient_policy)
    people(r)
    yield r
    r.close()


def ready(reg, audit, name="compas", version="1"):
    reg.register_model(name, actor="dev", purpose="pretrial risk", domain="criminal_justice", owner="Team A",
                       accountable_executive="Exec B")
    reg.register_version(name, version, actor="dev", artifact_uri="s3://models/compas-1", artifact_sha256="a" * 64)
    reg.assess_risk(name, RISK, actor="dev")
    return reg.record_audit(name, version, audit, actor="dev")


def test_full_path_to_approval(reg, passing_audit):
    run = ready(reg, passing_audit)
    assert run["passed"] is True and run["tier"] == "high"
    with pytest.raises(WorkflowError) as e:
        reg.approve("compas", "1", actor="dev")
    assert "no validator has signed off the latest audit" in str(e.value)
    assert "no executive has signed off the latest audit" in str(e.value)
    reg.sign_off("compas", "1", role="validator", person="Val", decision="approve", actor="Val")
    with pytest.raises(WorkflowError, match="no executive has signed off") as e:
        reg.approve("compas", "1", actor="dev")
    assert "validator" not in str(e.value)
    reg.sign_off("compas", "1", role="executive", person="Eve", decision="approve", comment="ok", actor="Eve")
    v = reg.approve("compas", "1", actor="dev")
    assert v["status"] == "approved" and v["approved_by"] == "dev"
    assert reg.model("compas")["status"] == "approved"
    with pytest.raises(WorkflowError, match="already approved"):
        reg.approve("compas", "1", actor="dev")


def test_failing_audit_blocks_approval_even_with_sign_offs(db_url, lenient_policy, tmp_path):
    # The same sign-off roles, but a threshold COMPAS does not meet (AIR 0.63 < 0.9).
    strict = tmp_path / "strict.yaml"
    strict.write_text(lenient_policy.text.replace("{min: 0.5}\n    sign_off: [validator, executive]",
                                                  "{min: 0.9}\n    sign_off: [validator, executive]"))
    reg = Registry(db_url, policy=strict)
    try:
        people(reg)
        failing = compas_audit(strict)
        assert failing.passed is False
        n_fail = sum(f.check == "adverse_impact_ratio" and f.status == "fail" for f in failing.findings)
        assert n_fail > 0
        ready(reg, failing)
        for role, who in SIGNER.items():
            reg.sign_off("compas", "1", role=role, person=who, decision="approve", actor=who)
        with pytest.raises(WorkflowError, match=rf"check adverse_impact_ratio fails in the latest audit \(#1\) "
                                                rf"\({n_fail} failing finding\(s\)\); fix the model or an executive accepts it"):
            reg.approve("compas", "1", actor="dev")
    finally:
        reg.close()


def test_audit_under_another_policy_is_refused(reg, db_url, failing_audit):
    # A report held to a policy the registry has never known is not even recorded...
    with pytest.raises(steward.StewardError, match=r"held to a policy \(SHA-256 \w+\.\.\.\) this registry does not know"):
        ready(reg, failing_audit)
    assert reg.version("compas", "1")["audits"] == []
    # ...one held to a policy it knows (the default was its current policy once) is recorded, re-derived
    # under that policy, but cannot be approved under the current one.
    Registry(db_url).close()
    reg.record_audit("compas", "1", failing_audit, actor="dev")
    reg.sign_off("compas", "1", role="validator", person="Val", decision="approve", actor="Val")
    reg.sign_off("compas", "1", role="executive", person="Eve", decision="approve", actor="Eve")
    with pytest.raises(WorkflowError, match="was held to Steward default policy version 2026.11, not the current policy"):
        reg.approve("compas", "1", actor="dev")


def test_rejection_needs_a_comment_and_blocks(reg, passing_audit):
    ready(reg, passing_audit)
    with pytest.raises(WorkflowError, match="a rejection needs a comment"):
        reg.sign_off("compas", "1", role="validator", person="Val", decision="reject", comment="  ", actor="Val")
    reg.sign_off("compas", "1", role="validator", person="Val", decision="reject", comment="FPR gap too large", actor="Val")
    reg.sign_off("compas", "1", role="executive", person="Eve", decision="approve", actor="Eve")
    with pytest.raises(WorkflowError, match="the validator Val rejected it: FPR gap too large"):
        reg.approve("compas", "1", actor="dev")
    # A later approval by the same role supersedes the rejection.
    reg.sign_off("compas", "1", role="validator", person="Val", decision="approve", actor="Val")
    assert reg.approve("compas", "1", actor="dev")["status"] == "approved"


def test_sign_off_rules(reg, passing_audit):
    reg.register_model("m", actor="dev", domain="credit")
    reg.register_version("m", "1", actor="dev")
    with pytest.raises(WorkflowError, match="no risk assessment yet"):
        reg.sign_off("m", "1", role="validator", person="Val", decision="approve", actor="Val")
    reg.assess_risk("m", dict(RISK, domain="credit"), actor="dev")
    with pytest.raises(WorkflowError, match="has no audit yet"):
        reg.sign_off("m", "1", role="validator", person="Val", decision="approve", actor="Val")
    reg.record_audit("m", "1", passing_audit, actor="dev")
    with pytest.raises(WorkflowError, match="asks sign-off from validator, executive; 'reviewer' is not one of them"):
        reg.sign_off("m", "1", role="reviewer", person="Rev", decision="approve", actor="Rev")
    with pytest.raises(steward.StewardError, match="decision must be 'approve' or 'reject'"):
        reg.sign_off("m", "1", role="validator", person="Val", decision="ok", actor="Val")


def test_new_audit_resets_approval_and_sign_offs(reg, passing_audit):
    ready(reg, passing_audit)
    for role, who in SIGNER.items():
        reg.sign_off("compas", "1", role=role, person=who, decision="approve", actor=who)
    reg.approve("compas", "1", actor="dev")
    run = reg.record_audit("compas", "1", passing_audit, actor="dev")
    v = reg.version("compas", "1")
    assert v["status"] == "registered" and v["approved_at"] is None
    assert [x["current"] for x in v["sign_offs"]] == [False, False]  # they were on the earlier audit
    with pytest.raises(WorkflowError, match="no validator has signed off the latest audit"):
        reg.approve("compas", "1", actor="dev")
    trail = reg.trail(subject="version:compas:1")
    assert trail[0]["action"] == "audit.record" and '"approval_reset":true' in trail[0]["payload"]
    assert run["id"] == 2


def test_new_version_supersedes_and_only_newest_can_be_approved(reg, passing_audit):
    ready(reg, passing_audit)
    for role, who in SIGNER.items():
        reg.sign_off("compas", "1", role=role, person=who, decision="approve", actor=who)
    reg.approve("compas", "1", actor="dev")
    reg.register_version("compas", "2", actor="dev")
    assert reg.version("compas", "1")["status"] == "superseded"
    assert reg.model("compas")["status"] == "in_development"
    with pytest.raises(WorkflowError, match="1 is not the newest version \\(2\\)"):
        reg.approve("compas", "1", actor="dev")


def test_rejection_after_approval_revokes_it(reg, passing_audit):
    ready(reg, passing_audit)
    for role, who in SIGNER.items():
        reg.sign_off("compas", "1", role=role, person=who, decision="approve", actor=who)
    reg.approve("compas", "1", actor="dev")
    reg.sign_off("compas", "1", role="executive", person="Eve", decision="reject", comment="complaints", actor="Eve")
    assert reg.version("compas", "1")["status"] == "registered"


def test_registration_errors(reg):
    reg.register_model("m", actor="dev")
    with pytest.raises(ConflictError, match="already registered"):
        reg.register_model("m", actor="dev")
    with pytest.raises(steward.StewardError, match="domain 'banking' is not one the policy knows"):
        reg.register_model("n", actor="dev", domain="banking")
    with pytest.raises(steward.StewardError, match="is not allowed"):
        reg.register_model("bad name!", actor="dev")
    reg.register_version("m", "1", actor="dev")
    with pytest.raises(ConflictError, match="versions are never overwritten"):
        reg.register_version("m", "1", actor="dev")
    with pytest.raises(steward.StewardError, match="artifact_sha256 must be 64 lowercase hex"):
        reg.register_version("m", "2", actor="dev", artifact_sha256="xyz")
    with pytest.raises(NotFoundError, match="no model named 'nope'"):
        reg.register_version("nope", "1", actor="dev")
    with pytest.raises(NotFoundError, match="has no version '9'; its versions are: 1"):
        reg.version("m", "9")
    # Nothing half-written: the failed calls left the registry as it was.
    assert [v["version"] for v in reg.model("m")["versions"]] == ["1"]
    assert reg.verify_trail().ok


def test_version_environment_is_captured(reg):
    reg.register_model("m", actor="dev")
    v = reg.register_version("m", "1", actor="dev", seeds={"numpy": 42}, code_revision="abc123")
    env = v["environment"]
    assert env["python"].count(".") == 2 and "numpy" in env["packages"] and "steward" in env["packages"]
    assert v["seeds"] == {"numpy": 42} and v["code_revision"] == "abc123"


def test_incident_lifecycle(reg):
    reg.register_model("m", actor="dev")
    inc = reg.open_incident("m", title="Complaint about declines", severity="high", actor="ops")
    assert inc["status"] == "open" and len(inc["checklist"]) == len(reg.policy.incident_checklist) == 0
    with pytest.raises(WorkflowError, match="can only move to contained, not resolved"):
        reg.update_incident(inc["id"], status="resolved", note="done", actor="ops")
    reg.update_incident(inc["id"], status="contained", note="kill switch tripped", actor="ops")
    with pytest.raises(WorkflowError, match="needs a note"):
        reg.update_incident(inc["id"], status="resolved", actor="ops")
    done = reg.update_incident(inc["id"], status="resolved", note="model rolled back", actor="ops")
    assert done["status"] == "resolved"
    assert [e["status_change"] for e in done["timeline"]] == ["open", "contained", "resolved"]
    with pytest.raises(WorkflowError, match="nothing \\(it is resolved\\)"):
        reg.update_incident(inc["id"], status="contained", note="again", actor="ops")
    with pytest.raises(steward.StewardError, match="severity must be one of"):
        reg.open_incident("m", title="x", severity="urgent", actor="ops")


def test_incident_checklist_comes_from_the_policy(db_url):
    reg = Registry(db_url)  # the default policy has a checklist
    try:
        reg.register_model("m", actor="dev")
        inc = reg.open_incident("m", title="t", severity="low", actor="ops")
        assert [c["item"] for c in inc["checklist"]] == list(reg.policy.incident_checklist)
        inc = reg.update_incident(inc["id"], done=[0, 2], actor="ops")
        assert [c["done"] for c in inc["checklist"]][:3] == [True, False, True]
        with pytest.raises(steward.StewardError, match="checklist item 99 does not exist"):
            reg.update_incident(inc["id"], done=[99], actor="ops")
    finally:
        reg.close()


def test_keys(reg):
    k = reg.create_key("ada", ["validator", "viewer"], actor="setup")
    who = reg.authenticate(k["key"])
    assert who["name"] == "ada" and who["roles"] == ["viewer", "validator"]
    with pytest.raises(steward.errors.AuthenticationError, match="unknown API key"):
        reg.authenticate(k["key"][:-1] + ("x" if k["key"][-1] != "x" else "y"))
    with pytest.raises(steward.errors.AuthenticationError, match="not a Steward API key"):
        reg.authenticate("hello")
    reg.revoke_key(k["key_id"], actor="setup")
    with pytest.raises(steward.errors.AuthenticationError, match="revoked"):
        reg.authenticate(k["key"])
    with pytest.raises(steward.StewardError, match="unknown role"):
        reg.create_key("bob", ["superuser"], actor="setup")
