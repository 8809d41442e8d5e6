"""Evidence that holds: the registry re-derives every verdict from the report's own cells, missing
checks are not evidenced and block approval, executives' acceptances are owned and expire, and
sign-offs come from distinct principals who did not build the version. On SQLite and PostgreSQL."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone

import pytest

from steward.errors import PermissionDenied, StewardError, WorkflowError
from steward.governance import Registry
from steward.governance._evidence import EvidenceError, _client_findings, rederive
from tests.governance.conftest import RISK, compas_audit

# The lenient policy's high tier plus a check COMPAS cannot evidence without a model, and
# separation of duties.
GUARDED = """\
policy: {name: Guarded test policy, version: "1"}
domains: [criminal_justice, credit, other]
tiers:
  high:
    description: Loose thresholds, one model check, distinct signers
    assign_when:
      - domain: [criminal_justice, credit]
    checks:
      adverse_impact_ratio: {min: 0.5}
      flip_test: {max_share: 0.0}
    sign_off: [validator, executive]
    distinct_signers: true
  low:
    description: The rest
    checks:
      adverse_impact_ratio: {min: 0.5, severity: warn}
    sign_off: [validator]
"""


@pytest.fixture(scope="module")
def guarded_policy(tmp_path_factory):
    import steward

    path = tmp_path_factory.mktemp("guarded") / "guarded.yaml"
    path.write_text(GUARDED)
    return steward.load_policy(path)


@pytest.fixture(scope="module")
def guarded_audit(guarded_policy):
    return compas_audit(guarded_policy)


def people(reg):
    """Principals in each role (and one holding two), as keys would make them."""
    for name, roles in (("Dev", ["developer"]), ("Val", ["validator"]), ("Eve", ["executive"]),
                        ("Both", ["validator", "executive"]), ("Dev2", ["developer", "validator"])):
        reg.create_key(name, roles, actor="admin")


def ready(reg, result, actor="Dev"):
    reg.register_model("compas", actor=actor, domain="criminal_justice", owner="Team A")
    reg.register_version("compas", "1", actor=actor, environment={})
    reg.assess_risk("compas", RISK, actor=actor)
    return reg.record_audit("compas", "1", result, actor=actor)


@pytest.fixture
def guarded(db_url, guarded_policy):
    reg = Registry(db_url, policy=guarded_policy, trail_key="k" * 40)
    people(reg)
    yield reg
    reg.close()


def test_missing_required_check_is_not_evidenced_and_blocks(guarded, guarded_audit):
    assert guarded_audit.passed is False  # the gate: flip_test did not run
    flip = [f for f in guarded_audit.findings if f.check == "flip_test"]
    assert [f.status for f in flip] == ["not_evidenced"] and "--model" in flip[0].needs
    run = ready(guarded, guarded_audit)
    assert run["passed"] is False and run["n_not_evidenced"] == 1 and run["n_fail"] == 0
    guarded.sign_off("compas", "1", role="validator", decision="approve", actor="Val")
    guarded.sign_off("compas", "1", role="executive", decision="approve", actor="Eve")
    with pytest.raises(WorkflowError, match=r"check flip_test is not evidenced .* would run with: .*--model"):
        guarded.approve("compas", "1", actor="Dev")


def test_acceptance_makes_it_approvable_and_lapses_into_an_incident(guarded, guarded_audit):
    ready(guarded, guarded_audit)
    with pytest.raises(PermissionDenied, match="executive"):
        guarded.accept("compas", "1", check="flip_test", reason="no model yet", until="2099-01-01", actor="Val")
    with pytest.raises(WorkflowError, match="neither fails nor lacks evidence"):
        guarded.accept("compas", "1", check="adverse_impact_ratio", reason="x", until=_days(30), actor="Eve")
    with pytest.raises(StewardError, match="at most a year"):
        guarded.accept("compas", "1", check="flip_test", reason="x", until=_days(800), actor="Eve")
    with pytest.raises(StewardError, match="needs a reason"):
        guarded.accept("compas", "1", check="flip_test", reason=" ", until=_days(30), actor="Eve")
    a = guarded.accept("compas", "1", check="flip_test", reason="the vendor model is scored elsewhere",
                       until=_days(30), actor="Eve")
    assert a["accepted_by"] == "Eve" and a["status"] == "active"
    guarded.sign_off("compas", "1", role="validator", decision="approve", actor="Val")
    guarded.sign_off("compas", "1", role="executive", decision="approve", actor="Eve")
    assert guarded.approve("compas", "1", actor="Dev")["status"] == "approved"
    shown = guarded.version("compas", "1")["acceptances"]
    assert shown[0]["check"] == "flip_test" and shown[0]["reason"].startswith("the vendor")
    trail = [e["action"] for e in guarded.trail()]
    assert "finding.accept" in trail
    # Past its date the acceptance lapses: approval revoked, an incident opened, all in the trail.
    lapsed = guarded.lapse_acceptances(at=datetime.now(timezone.utc) + timedelta(days=31))
    assert lapsed == [a["id"]]
    v = guarded.version("compas", "1")
    assert v["status"] == "registered" and v["acceptances"][0]["status"] == "lapsed"
    incidents = guarded.incidents(model="compas")
    assert len(incidents) == 1 and "lapsed" in incidents[0]["title"] and incidents[0]["severity"] == "high"
    with pytest.raises(WorkflowError, match="flip_test is not evidenced"):
        guarded.approve("compas", "1", actor="Dev")
    assert guarded.lapse_acceptances(at=datetime.now(timezone.utc) + timedelta(days=40)) == []  # once only
    assert guarded.verify_trail().ok


def _days(n: int) -> str:
    return (datetime.now(timezone.utc) + timedelta(days=n)).date().isoformat()


def test_separation_of_duties(guarded, guarded_audit):
    ready(guarded, guarded_audit, actor="Dev2")  # Dev2 (developer and validator) registers and uploads
    guarded.accept("compas", "1", check="flip_test", reason="scored elsewhere", until=_days(10), actor="Eve")
    with pytest.raises(WorkflowError, match="Dev2 registered 1 and cannot also sign it off"):
        guarded.sign_off("compas", "1", role="validator", decision="approve", actor="Dev2")
    guarded.sign_off("compas", "1", role="executive", decision="approve", actor="Both")
    with pytest.raises(WorkflowError, match="Both already signed off audit #1 as executive"):
        guarded.sign_off("compas", "1", role="validator", decision="approve", actor="Both")
    with pytest.raises(PermissionDenied, match="not a principal"):
        guarded.sign_off("compas", "1", role="validator", decision="approve", actor="Mallory")
    with pytest.raises(PermissionDenied, match="not in the name of"):
        guarded.sign_off("compas", "1", role="validator", decision="approve", actor="Val", person="Vera Somebody")
    with pytest.raises(PermissionDenied, match="their roles are"):
        guarded.sign_off("compas", "1", role="validator", decision="approve", actor="Eve")
    guarded.sign_off("compas", "1", role="validator", decision="approve", actor="Val")
    assert guarded.approve("compas", "1", actor="Dev2")["status"] == "approved"


# --- re-derivation ----------------------------------------------------------------------

def test_registry_recomputes_and_marks_who_derived_each_finding(guarded, guarded_audit):
    ready(guarded, guarded_audit)
    run = guarded.audit_run(guarded.version("compas", "1")["audits"][0]["id"])
    by = {f["check"]: f["derived_by"] for f in run["findings"]}
    assert by == {"adverse_impact_ratio": "registry", "flip_test": "registry"}
    mine = {f["id"]: f for f in run["findings"]}
    theirs = {f.id: f for f in guarded_audit.findings}
    assert mine.keys() == theirs.keys()
    for fid, f in mine.items():  # the registry's values equal the client's, recomputed from the cells
        assert f["status"] == theirs[fid].status
        assert f["value"] == pytest.approx(theirs[fid].value, rel=1e-12) if f["value"] is not None else True


@pytest.mark.parametrize("tamper, message", [
    (lambda r: r.update(findings=[], passed=True), "is missing from the report"),
    (lambda r: _set_value(r, 0.99), "is not what the report's own cells give"),
    (lambda r: _set_status(r, "fail", "pass"), "says fail but the report's own cells give pass"),
    (lambda r: r["cells"][0].update(rows=-3), "rows is -3"),
    (lambda r: r["cells"][0].update(n=r["cells"][0]["n"] + 1), "n and n_sq must equal rows"),
    (lambda r: r["source"].update(rows=r["source"]["rows"] + 1), "do not add up"),
    (lambda r: r.pop("cells"), "cells is missing"),
    (lambda r: r["groups"][1].update(favourable_rate=0.9), "favourable_rate is 0.9 but the report's own cells"),
    (lambda r: r["findings"].append(dict(_air(r), id="adverse_impact_ratio[x=y]")), "not one the report's own cells give"),
    (lambda r: r["findings"].append(dict(_air(r), id="flip_test[x]")), "does not name its check"),
])
def test_tampered_reports_are_refused_and_nothing_is_stored(guarded_policy, tamper, message):
    import json

    result = compas_audit(guarded_policy)
    report = json.loads(result.to_json())
    tamper(report)
    with pytest.raises(EvidenceError, match=message):
        rederive(report, guarded_policy, "high")


def _air(report):
    return next(f for f in report["findings"] if f["check"] == "adverse_impact_ratio")


def _set_value(report, value):
    f = next(f for f in report["findings"] if f["check"] == "adverse_impact_ratio" and f["value"] is not None)
    f["value"] = value


def _set_status(report, new, old):
    f = next(f for f in report["findings"] if f["status"] == old)
    f["status"] = new
    report["passed"] = not any(x["status"] in ("fail", "not_evidenced") for x in report["findings"])


def test_model_findings_must_follow_from_the_reports_analyses(guarded_policy):
    params = guarded_policy.tier("high").checks["flip_test"]
    analyses = {"flip_test": {"pairs": [{"any_flip": 0.2, "any_flip_ci_low": 0.0, "rows": 100}]}}
    honest = dict(id="flip_test[race=B]", check="flip_test", status="fail", severity="fail", value=0.2,
                  metric="flip_share", threshold={"max": 0.0}, message="20% flip")
    assert _client_findings("flip_test", params, [honest], analyses)[0].status == "fail"
    attacks = [
        (dict(honest, status="pass"), "says pass but its value 0.2 breaches the policy's max_share 0"),
        (dict(honest, status="pass", threshold={"max": 1.0}), "breaches the policy's max_share 0"),  # client's threshold ignored
        (dict(honest, status="pass", value=0.0), "is not the any_flip of the report's 'flip_test' analysis"),  # a CI bound
        (dict(honest, status="pass", value=None), "says pass without a value|value 0.0"),
        (dict(honest, status="insufficient_data", value=None), "never gives"),
        (dict(honest, status="warn"), "never gives"),
        (dict(honest, severity="warn"), "is not the policy's 'fail'"),
        (dict(honest, value="0.2"), "not a finite number"),
    ]
    for claim, message in attacks:
        with pytest.raises(EvidenceError, match=message):
            _client_findings("flip_test", params, [claim], analyses)
    with pytest.raises(EvidenceError, match="no 'flip_test' analysis"):
        _client_findings("flip_test", params, [dict(honest, status="pass", value=None)], {})
    # A model that reads no protected attribute: nothing to flip, a pass of zero is what the check says.
    none = dict(honest, status="pass", value=0.0)
    assert _client_findings("flip_test", params, [none], {"flip_test": {"confidence": 0.95}})[0].status == "pass"


def test_client_model_findings_that_judge_nothing_are_not_evidenced(guarded_policy, guarded_audit):
    import json

    report = json.loads(guarded_audit.to_json())
    report["findings"] = [f for f in report["findings"] if f["check"] != "flip_test"] + [
        dict(id="flip_test[race=B]", check="flip_test", status="not_applicable", severity="fail", value=None,
             message="skipped")]
    verdict = rederive(report, guarded_policy, "high")
    flip = [f for f in verdict.findings if f["check"] == "flip_test"]
    assert [f["status"] for f in flip] == ["not_evidenced"] and verdict.passed is False


@pytest.mark.parametrize("tamper, message", [
    (lambda r: r["findings"][0].update(threshold=[1]), "threshold"),
    (lambda r: r["findings"][0].update(value="x"), "value"),
    (lambda r: r["findings"][0].update(check=["x"]), "check"),
    (lambda r: r.update(settings="x"), "settings"),
    (lambda r: r.update(model="x"), "model"),
])
def test_malformed_reports_are_bad_input_not_internal_errors(guarded_policy, tamper, message):
    import json

    from steward.governance._reports import check_report

    report = json.loads(compas_audit(guarded_policy).to_json())
    tamper(report)
    with pytest.raises(StewardError, match=message):
        check_report(report)


def test_report_held_to_another_tier_or_an_unknown_policy_is_refused(guarded, guarded_policy, lenient_policy):
    ready(guarded, compas_audit(guarded_policy))
    with pytest.raises(StewardError, match="recorded risk tier is 'high'"):
        guarded.record_audit("compas", "1", compas_audit(guarded_policy, tier="low"), actor="Dev")
    with pytest.raises(StewardError, match="a policy .* this registry does not know"):
        guarded.record_audit("compas", "1", compas_audit(lenient_policy), actor="Dev")
    assert len(guarded.version("compas", "1")["audits"]) == 1


# --- over HTTP: the forged-report attack ---------------------------------------------------

def test_forged_report_over_http_is_refused_and_cannot_be_approved(guarded, guarded_audit):
    from fastapi.testclient import TestClient

    from steward.web import create_app

    keys = {n: guarded.create_key(n + "-http", r, actor="admin")["key"]
            for n, r in (("dev", ["developer"]), ("val", ["validator"]), ("exe", ["executive"]))}
    h = {n: {"Authorization": f"Bearer {k}"} for n, k in keys.items()}
    with TestClient(create_app(guarded)) as c:
        assert c.post("/api/models", json={"name": "forged", "domain": "criminal_justice"}, headers=h["dev"]).status_code == 201
        assert c.post("/api/models/forged/versions", json={"version": "1"}, headers=h["dev"]).status_code == 201
        assert c.post("/api/models/forged/risk", json={"answers": RISK}, headers=h["dev"]).status_code == 201
        forged = copy.deepcopy(guarded_audit.to_dict())
        forged.update(findings=[], passed=True)
        r = c.post("/api/models/forged/versions/1/audits", headers=h["dev"],
                   json={"report": forged, "report_html": "<p>all good</p>", "model_card": "# fine"})
        assert r.status_code == 400 and r.json()["ok"] is False
        assert "is missing from the report" in r.json()["error"]
        assert c.get("/api/models/forged/versions/1", headers=h["dev"]).json()["audits"] == []
        for who, role in (("val", "validator"), ("exe", "executive")):
            r = c.post("/api/models/forged/versions/1/signoffs", json={"role": role, "decision": "approve"}, headers=h[who])
            assert r.status_code == 409 and "has no audit yet" in r.json()["error"]
        r = c.post("/api/models/forged/versions/1/approve", headers=h["dev"])
        assert r.status_code == 409 and "no audit is recorded" in r.json()["error"]


def test_report_without_the_intersections_the_tier_judges_is_refused(guarded_policy):
    import json

    import steward
    from tests.governance.conftest import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", steward.StewardWarning)
        result = steward.audit(steward.datasets.load_compas(), label="two_year_recid", score="decile_score",
                               threshold=5, favourable=0, protected={"race": "Caucasian", "sex": "Male"},
                               policy=guarded_policy, tier="high", intersections=False)
    with pytest.raises(EvidenceError, match="leaves out the intersection"):
        rederive(json.loads(result.to_json()), guarded_policy, "high")


def test_report_of_another_model_than_the_registered_artifact_is_refused(guarded, guarded_audit):
    import dataclasses

    guarded.register_model("m", actor="Dev", domain="criminal_justice")
    guarded.register_version("m", "1", actor="Dev", artifact_sha256="a" * 64, environment={})
    guarded.assess_risk("m", RISK, actor="Dev")
    other = dataclasses.replace(guarded_audit, model={"kind": "lightgbm", "sha256": "b" * 64})
    with pytest.raises(StewardError, match="was registered with artifact aaaaaaaaaaaa"):
        guarded.record_audit("m", "1", other, actor="Dev")


def test_an_acceptance_covers_the_audit_it_was_given_on(guarded, guarded_policy, guarded_audit):
    ready(guarded, guarded_audit)
    guarded.accept("compas", "1", check="flip_test", reason="scored elsewhere", until=_days(30), actor="Eve")
    guarded.record_audit("compas", "1", compas_audit(guarded_policy), actor="Dev")  # a new audit
    for who, role in (("Val", "validator"), ("Eve", "executive")):
        guarded.sign_off("compas", "1", role=role, decision="approve", actor=who)
    with pytest.raises(WorkflowError, match="flip_test is not evidenced"):
        guarded.approve("compas", "1", actor="Dev")


def test_the_builder_cannot_accept_their_own_findings(guarded, guarded_audit):
    guarded.create_key("DevExec", ["developer", "executive"], actor="admin")
    ready(guarded, guarded_audit, actor="DevExec")
    with pytest.raises(WorkflowError, match="DevExec registered the version and cannot also accept"):
        guarded.accept("compas", "1", check="flip_test", reason="mine", until=_days(30), actor="DevExec")


def test_two_acceptances_one_lapses(guarded, guarded_audit):
    ready(guarded, guarded_audit)
    first = guarded.accept("compas", "1", check="flip_test", reason="short", until=_days(5), actor="Eve")
    guarded.accept("compas", "1", check="flip_test", reason="renewed", until=_days(60), actor="Eve")
    for who, role in (("Val", "validator"), ("Eve", "executive")):
        guarded.sign_off("compas", "1", role=role, decision="approve", actor=who)
    guarded.approve("compas", "1", actor="Dev")
    assert guarded.lapse_acceptances(at=datetime.now(timezone.utc) + timedelta(days=10)) == [first["id"]]
    assert guarded.version("compas", "1")["status"] == "approved" and guarded.incidents(model="compas") == []


def test_a_lower_tier_needs_an_independent_validator_or_executive(guarded, guarded_audit):
    ready(guarded, guarded_audit)
    lower = dict(RISK, domain="other", people_affected=10, decisions_per_day=1, wrong_decision_cost="low")
    with pytest.raises(PermissionDenied, match="lower compas's risk tier from 'high' to 'low'"):
        guarded.assess_risk("compas", lower, actor="Dev")
    assert guarded.assess_risk("compas", lower, actor="Val")["tier"] == "low"
    assert guarded.assess_risk("compas", RISK, actor="Dev")["tier"] == "high"  # raising it needs no one


def test_a_later_audit_may_not_drop_what_an_earlier_one_judged(guarded, guarded_policy, guarded_audit):
    import warnings

    import steward

    ready(guarded, guarded_audit)
    for protected, message in (({"race": "Caucasian"}, "leaves out the protected attribute 'sex'"),
                               ({"race": "African-American", "sex": "Male"}, "used the reference group 'Caucasian'")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", steward.StewardWarning)
            easier = steward.audit(steward.datasets.load_compas(), label="two_year_recid", score="decile_score",
                                   threshold=5, favourable=0, protected=protected, policy=guarded_policy, tier="high")
        with pytest.raises(StewardError, match=message):
            guarded.record_audit("compas", "1", easier, actor="Dev")
    assert len(guarded.version("compas", "1")["audits"]) == 1


def test_a_reproduction_is_a_new_run(guarded, guarded_audit):
    import json

    run = ready(guarded, guarded_audit)
    stored = json.loads(guarded.audit_run(run["id"])["report_json"])
    with pytest.raises(StewardError, match="before audit #1 was recorded"):
        guarded.record_reproduction("compas", "1", report=dict(stored, created="2020-01-01T00:00:00+00:00"), actor="Val")


def test_privacy_findings_must_follow_from_the_reports_probes():
    """A membership, re-identification or extraction finding is judged by the registry's own thresholds on the
    report's probe values; a PII finding must name a column the report's own scan found, and breach exactly when
    that column is a recorded feature."""
    from steward.audit.policy import load_policy

    tier = load_policy().tier("high")  # the shipped policy's thresholds
    mp = tier.checks["membership_inference"]
    ctx = {"min_group_size": 30, "throttle": {"rate": 50, "burst": 200}}
    analyses = {"membership_inference": {
        "min_group_size": 30,
        "attacks": [{"attack": "baseline", "advantage": 0.0}, {"attack": "loss_ratio", "advantage": 0.25},
                    {"attack": "rule_based", "advantage": 0.12}],
        "groups": [{"attribute": "sex", "group": "F", "attack": "loss_ratio", "advantage": 0.31, "members": 400,
                    "non_members": 380},
                   {"attribute": "race", "group": "Other", "attack": "loss_ratio", "advantage": 0.5, "members": 12,
                    "non_members": 9}]}}
    honest = dict(id="membership_inference", check="membership_inference", status="fail", severity="fail",
                  value=0.25, metric="membership_advantage", message="leaks")
    assert _client_findings("membership_inference", mp, [honest], analyses, ctx)[0].status == "fail"
    group = dict(honest, id="membership_inference[sex=F]", attribute="sex", group="F", value=0.31)
    small = dict(honest, id="membership_inference[race=Other]", status="insufficient_data", value=None,
                 attribute="race", group="Other")
    assert [f.status for f in _client_findings("membership_inference", mp, [group, small], analyses, ctx)] == \
        ["fail", "insufficient_data"]
    for claim, message in [(dict(honest, status="pass"), "breaches the policy's max_advantage 0.1"),
                           (dict(honest, value=0.0, status="pass"), "not the strongest attack's advantage"),
                           (dict(honest, value=0.12, status="fail"), "not the strongest attack's advantage"),
                           (dict(group, status="insufficient_data", value=None), "enough to judge"),
                           (dict(group, value=0.5), "not the loss_ratio attack's advantage on sex=F"),
                           (dict(honest, status="pass", value=None), "its value None is not")]:
        with pytest.raises(EvidenceError, match=message):
            _client_findings("membership_inference", mp, [claim], analyses, ctx)
    with pytest.raises(EvidenceError, match="tier's 30"):  # a larger minimum would call judged groups too small
        _client_findings("membership_inference", mp, [small], {"membership_inference": dict(
            analyses["membership_inference"], min_group_size=1000)}, ctx)
    from steward.governance._evidence_privacy import complete

    with pytest.raises(EvidenceError, match="sex=F, but no finding judges it"):  # a judged group left out
        complete("membership_inference", [honest, small], analyses["membership_inference"])
    with pytest.raises(EvidenceError, match="lack the overall one"):
        complete("membership_inference", [group, small], analyses["membership_inference"])
    complete("membership_inference", [honest, group, small], analyses["membership_inference"])

    pp = tier.checks["pii_in_features"]
    scan = {"min_share": pp.min_share, "findings": [
        {"column": "email", "kind": "email", "share": 0.97, "identifier": True},
        {"column": "notes", "kind": "phone", "share": 0.02, "identifier": False}]}
    feature = dict(id="pii_in_features[email]", check="pii_in_features", status="fail", severity="fail", value=0.97,
                   metric="identifier_share", group="email", message="e-mail is a feature")
    ok = {"pii": scan, "pii_features": ["email", "age"]}
    assert _client_findings("pii_in_features", pp, [feature], ok)[0].status == "fail"
    elsewhere = dict(feature, status="warn", severity="warn")
    assert _client_findings("pii_in_features", pp, [elsewhere], {"pii": scan, "pii_features": ["age"]})[0].status == "warn"
    for claim, where, message in [
        (dict(feature, status="pass", value=None, group=None), ok, "found identifiers in email"),
        (elsewhere, ok, "says warn but column 'email' is a feature"),
        (dict(feature, group="notes", value=0.02), ok, "not an identifier column"),
        (dict(feature, value=0.5), ok, "not the share"),
        (feature, {"pii": dict(scan, min_share=0.9), "pii_features": ["email"]}, "min_share 0.9"),
    ]:
        with pytest.raises(EvidenceError, match=message):
            _client_findings("pii_in_features", pp, [claim], where)
    clean = dict(feature, status="pass", value=None, group=None)
    assert _client_findings("pii_in_features", pp, [clean], {"pii": dict(scan, findings=scan["findings"][1:])})

    ap = tier.checks["attribute_inference"]
    attr = {"attribute_inference": {"attributes": [{"attribute": "sex", "advantage": 0.12},
                                                   {"attribute": "race", "advantage": 0.01}]}}
    sex = dict(id="attribute_inference[sex]", check="attribute_inference", status="warn", severity="warn", value=0.12,
               metric="attribute_advantage", attribute="sex", message="the output reveals sex")
    race = dict(sex, id="attribute_inference[race]", status="pass", value=0.01, attribute="race")
    assert [f.status for f in _client_findings("attribute_inference", ap, [sex, race], attr, ctx)] == ["warn", "pass"]
    with pytest.raises(EvidenceError, match="not the advantage the analysis found for sex"):  # race's value for sex
        _client_findings("attribute_inference", ap, [dict(sex, value=0.01, status="pass")], attr, ctx)
    with pytest.raises(EvidenceError, match="attacked sex, but no finding judges it"):
        complete("attribute_inference", [race], attr["attribute_inference"])
    complete("attribute_inference", [sex, race], attr["attribute_inference"])

    ep = tier.checks["extraction_resistance"]
    copied = dict(id="extraction_resistance", check="extraction_resistance", status="warn", severity="warn",
                  value=(1000 - 200) / 50 / 3600, metric="hours_to_copy", message="16 s")
    probe = {"time_needed_hours": (1000 - 200) / 50 / 3600, "queries_needed": 1000, "agreement_target": 0.95,
             "rate": 50.0, "burst": 200.0, "summary": [{"budget": 100}, {"budget": 1000}, {"budget": 10000}]}
    ext = {"extraction": probe}
    assert _client_findings("extraction_resistance", ep, [copied], ext, ctx)[0].status == "warn"
    for claim, where, message in [
        (dict(copied, status="pass"), ext, "breaches the policy's min_hours 24"),
        (dict(copied, status="pass", value=None), ext, "copied the model with 1000 queries"),
        (dict(copied, value=1.0), {"extraction": dict(probe, time_needed_hours=1.0)}, "take 0.00444444 h"),
        (copied, {"extraction": dict(probe, agreement_target=0.5)}, "not the policy's 0.95"),
        (copied, {"extraction": dict(probe, summary=[{"budget": 100}, {"budget": 1000}])}, "not the policy's"),
        (copied, {"extraction": dict(probe, rate=0.001)}, "not the tier's 50"),
    ]:
        with pytest.raises(EvidenceError, match=message):
            _client_findings("extraction_resistance", ep, [claim], where, ctx)

    rp = tier.checks["reidentification"]
    risky = dict(id="reidentification", check="reidentification", status="warn", severity="warn", value=0.4,
                 metric="share_below_k", message="40% below k")
    reid = {"k": 5, "quasi_identifiers": ["age", "sex"], "rows": 1000, "records_below_k": 400, "share_below_k": 0.4}
    assert _client_findings("reidentification", rp, [risky], {"reidentification": reid}, ctx)[0].status == "warn"
    for where, message in [(dict(reid, k=2), "k = 2, not the policy's 5"),
                           (dict(reid, share_below_k=0.4, records_below_k=10), "records below k over its rows"),
                           (dict(reid, quasi_identifiers=[]), "names no quasi-identifiers")]:
        with pytest.raises(EvidenceError, match=message):
            _client_findings("reidentification", rp, [risky], {"reidentification": where}, ctx)


def test_which_columns_are_features_comes_from_the_reports_roles():
    """A client that leaves a column of e-mail addresses out of the PII analysis's feature list, to turn the
    breach into a warning, is refused: the registry reads the features from the report's roles."""
    import json
    import warnings

    import numpy as np
    import pandas as pd

    import steward
    from steward.audit.policy import load_policy

    rng = np.random.default_rng(0)
    n = 400
    df = pd.DataFrame({"g": rng.choice(["a", "b"], n), "y": rng.integers(0, 2, n), "d": rng.integers(0, 2, n),
                       "email": [f"person{i}@example.org" for i in range(n)], "x": rng.normal(size=n)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = steward.audit(df, label="y", prediction="d", protected={"g": "a"}, features=["email", "x"],
                               policy="default", tier="low")
    report = json.loads(result.to_json())
    f = next(f for f in report["findings"] if f["check"] == "pii_in_features")
    assert f["status"] == "fail" and f["group"] == "email"
    assert rederive(report, load_policy(), "low").findings  # the honest report holds up
    f.update(status="warn", severity="warn")
    report["analyses"]["pii_features"] = ["x"]
    with pytest.raises(EvidenceError, match="says warn but column 'email' is a feature"):
        rederive(report, load_policy(), "low")
