"""Each standards rule on purpose-built registry states, on SQLite and PostgreSQL, with a fixed clock:
``standards(at=...)`` is called at times relative to the records' own times (read back from the registry),
and each verdict's status, severity, since and lapses_at are checked exactly. Also: the "falls short" list
is sorted by severity, then tier, then age; the report filters by team; an unknown team is an error."""

from __future__ import annotations

from datetime import timedelta

import pytest

from steward.errors import NotFoundError
from steward.governance import Registry
from steward.governance._tables import StoredPolicy
from tests.governance._standards_setup import (
    LOG_DAY, RISK_HIGH, RISK_LOW, approve, audit, brief, build_kit, day, deploy, file_monitor, iso, model,
    next_second, open_registry, rule, verdict, when,
)

pytest.importorskip("lightgbm")

H, D = timedelta(hours=1), timedelta(days=1)


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    return build_kit(tmp_path_factory.mktemp("standards"))


@pytest.fixture
def reg(db_url, kit):
    r = open_registry(db_url, kit.v1)
    yield r
    r.close()


# --- risk assessed, audited under the current policy ----------------------------------------------------


def test_a_model_without_risk_assessment_falls_short_until_assessed(reg, kit):
    model(reg, kit, "unassessed", risk=None, versions=())
    created = when(reg.model("unassessed")["created_at"])
    r = verdict(reg, "unassessed", "risk_assessed", created + D)
    assert brief(r) == ("falls_short", "high", iso(created), None)
    assert r["why"] == ("no risk assessment is recorded; the owner answers the policy's risk questions (the risk "
                        "form on the model page, or `steward models assess`)")
    next_second()
    reg.assess_risk("unassessed", RISK_HIGH, actor="dev")
    assessed = when(reg.model("unassessed")["risk"]["created_at"])
    assert assessed > created
    # the passage of time: before the assessment it still fell short, from then on it is met
    assert verdict(reg, "unassessed", "risk_assessed", assessed - timedelta(seconds=1))["status"] == "falls_short"
    r = verdict(reg, "unassessed", "risk_assessed", assessed)
    assert brief(r) == ("met", None, None, None)
    assert r["why"] == f"tier high, assessed by dev on {day(assessed)} under policy version 1"
    report = reg.standards(at=assessed)
    assert next(m for m in report["models"] if m["model"] == "unassessed")["tier"] == "high"
    # a model registered after `at` is not in the report at all
    assert [m["model"] for m in reg.standards(at=created - timedelta(seconds=1))["models"]] == []


def test_a_new_policy_version_marks_earlier_audits_out_of_date_and_says_what_changed(reg, kit, db_url):
    model(reg, kit, "lend", risk=RISK_HIGH)
    run = audit(reg, kit, "lend")
    model(reg, kit, "ops", risk=RISK_LOW)
    low_run = audit(reg, kit, "ops", report="low")
    at = when(run["created_at"]) + D
    before = reg.standards(at=at)
    r = rule(before, "lend", "audited_current_policy")
    assert brief(r) == ("met", None, None, None)
    assert r["why"] == (f"version 1: audit #{run['id']} of {day(when(run['created_at']))} was held to the current "
                        f"policy (version 1, tier high)")
    assert brief(rule(before, "ops", "risk_assessed")) == ("met", None, None, None)

    reg2 = Registry(db_url, policy=kit.v2_path)  # the central team publishes version 2
    try:
        with reg2.tx() as session:  # when the registry first held anything to version 2
            stored = when(session.get(StoredPolicy, reg2.policy.sha256).created_at)
        report = reg2.standards(at=at)
        assert report["policy"]["version"] == "2"
        head = "  changed: policy Standards test policy version 1 -> Standards test policy version 2"
        r = rule(report, "lend", "audited_current_policy")
        assert brief(r) == ("falls_short", "medium", iso(stored), None)  # not deployed: medium
        assert r["evidence"] == [
            f"version 1: audit #{run['id']} was held to policy version 1; the current one is 2",
            head,
            "  changed: check added: false_positive_rate_ratio",
            '  changed: assign_when: ["domain is credit or criminal_justice"] -> '
            '["domain is credit or criminal_justice or operations"]',
            "  changed: checks.adverse_impact_ratio.min: 0.5 -> 0.6",
        ]
        # the low tier did not change, and the diff says so
        r = rule(report, "ops", "audited_current_policy")
        assert brief(r) == ("falls_short", "medium", iso(stored), None)
        assert r["evidence"] == [
            f"version 1: audit #{low_run['id']} was held to policy version 1; the current one is 2",
            head, "  changed: no setting of tier 'low' changed (only other tiers or comments)"]
        # the credit model's answers give the same tier under version 2; the operations model's give another
        r = rule(report, "lend", "risk_assessed")
        assert brief(r) == ("met", None, None, None)
        r = rule(report, "ops", "risk_assessed")
        assert brief(r) == ("falls_short", "high", iso(stored), None)
        assert r["why"] == ("under the current policy (version 2) its recorded answers give tier high, not low; "
                            "assess again")
        # an audit under version 2 is current again
        again = reg2.record_audit_report("lend", "1", actor="dev", **kit.reports["passing_v2"])
        r = verdict(reg2, "lend", "audited_current_policy", when(again["created_at"]) + H)
        assert brief(r) == ("met", None, None, None)
        assert r["why"] == (f"version 1: audit #{again['id']} of {day(when(again['created_at']))} was held to the "
                            f"current policy (version 2, tier high)")
        # and the registry still on version 1 sees that audit as held to another policy
        r = verdict(reg, "lend", "audited_current_policy", when(again["created_at"]) + H)
        assert r["status"] == "falls_short" and r["evidence"][1] == (
            "  changed: policy Standards test policy version 2 -> Standards test policy version 1")
    finally:
        reg2.close()


def test_a_version_without_audit_falls_short(reg, kit):
    model(reg, kit, "unaudited")
    created = when(reg.version("unaudited", "1")["created_at"])
    report = reg.standards(at=created + D)
    r = rule(report, "unaudited", "audited_current_policy")
    assert brief(r) == ("falls_short", "medium", iso(created), None)
    assert r["why"] == "version 1 has no audit"
    # the rules that judge an audit do not apply yet
    for rid in ("audit_passes", "reaudit_cadence", "sign_offs", "acceptances", "deployed_approved"):
        assert rule(report, "unaudited", rid)["status"] == "not_applicable", rid


# --- the audit passes, re-audit cadence, sign-offs, acceptances -----------------------------------------


def test_reaudit_cadence_with_the_passage_of_time(reg, kit):
    model(reg, kit, "cadence")
    t = when(audit(reg, kit, "cadence")["created_at"])
    due = t + 90 * D  # the high tier asks for an audit every 90 days
    r = verdict(reg, "cadence", "reaudit_cadence", t + 59 * D)
    assert brief(r) == ("met", None, None, iso(due))
    assert r["why"] == f"version 1: audited {day(t)}, next due {day(due)}"
    for days in (61, 89):  # within 30 days of the date: due soon
        r = verdict(reg, "cadence", "reaudit_cadence", t + days * D)
        assert brief(r) == ("due_soon", None, None, iso(due)), days
    assert r["why"] == f"version 1: re-audit due {day(due)} (every 90 days)"
    for days in (90, 91):
        r = verdict(reg, "cadence", "reaudit_cadence", t + days * D)
        assert brief(r) == ("falls_short", "medium", iso(due), None), days  # not deployed: medium
    assert r["why"] == (f"version 1: last audited {day(t)}; the tier asks for an audit every 90 days, due {day(due)}")
    # the low tier's cadence is a year
    model(reg, kit, "yearly", risk=RISK_LOW)
    t = when(audit(reg, kit, "yearly", report="low")["created_at"])
    assert brief(verdict(reg, "yearly", "reaudit_cadence", t + 334 * D)) == ("met", None, None, iso(t + 365 * D))
    assert brief(verdict(reg, "yearly", "reaudit_cadence", t + 336 * D)) == ("due_soon", None, None, iso(t + 365 * D))
    assert brief(verdict(reg, "yearly", "reaudit_cadence", t + 366 * D)) == ("falls_short", "medium", iso(t + 365 * D),
                                                                             None)


def test_sign_offs_missing_complete_and_rejected(reg, kit):
    model(reg, kit, "signs")
    run = audit(reg, kit, "signs")
    t = when(run["created_at"])
    r = verdict(reg, "signs", "sign_offs", t + D)
    assert brief(r) == ("falls_short", "low", iso(t), None)  # not deployed: low
    assert r["why"] == f"version 1: audit #{run['id']} lacks the sign-off of: validator, executive"
    reg.sign_off("signs", "1", role="validator", decision="approve", actor="Val")
    r = verdict(reg, "signs", "sign_offs", t + D)
    assert brief(r) == ("falls_short", "low", iso(t), None)
    assert r["why"] == f"version 1: audit #{run['id']} lacks the sign-off of: executive (signed: validator Val)"
    reg.sign_off("signs", "1", role="executive", decision="approve", actor="Eve")
    r = verdict(reg, "signs", "sign_offs", t + D)
    assert brief(r) == ("met", None, None, None)
    assert r["why"] == "version 1: signed off by validator Val, executive Eve"
    next_second()
    reg.sign_off("signs", "1", role="validator", decision="reject", comment="the error rates differ too much",
                 actor="Vic")
    rejected = when(reg.version("signs", "1")["sign_offs"][0]["created_at"])
    r = verdict(reg, "signs", "sign_offs", rejected + H)
    assert brief(r) == ("falls_short", "high", iso(rejected), None)
    assert r["why"] == "version 1: the validator Vic rejected it: the error rates differ too much"
    # before the rejection the sign-offs were complete
    assert verdict(reg, "signs", "sign_offs", rejected - timedelta(seconds=1))["status"] == "met"
    # as in the registry, a later approval in the same role supersedes the rejection
    reg.sign_off("signs", "1", role="validator", decision="approve", actor="Val")
    assert reg.approve("signs", "1", actor="dev")["status"] == "approved"
    r = verdict(reg, "signs", "sign_offs", rejected + H)
    assert brief(r) == ("met", None, None, None)
    assert r["why"] == "version 1: signed off by validator Val, executive Eve"


def test_audit_passes_and_acceptances_due_soon_met_and_lapsed(reg, kit):
    # "soon": its failing check is accepted for 20 days; not deployed
    model(reg, kit, "soon")
    run = audit(reg, kit, "soon", report="failing")
    t = when(run["created_at"])
    r = verdict(reg, "soon", "audit_passes", t + H)
    assert brief(r) == ("falls_short", "medium", iso(t), None)
    assert r["why"] == f"version 1: audit #{run['id']} fails adverse_impact_ratio"
    acc = reg.accept("soon", "1", check="adverse_impact_ratio", reason="a remediation ships next month",
                     until=t + 20 * D, actor="Eve")
    until = when(acc["until"])
    accepted = when(acc["created_at"])
    r = verdict(reg, "soon", "acceptances", accepted + D)
    assert brief(r) == ("due_soon", None, None, iso(until))
    assert r["why"] == f"version 1: adverse_impact_ratio accepted by Eve until {day(until)} (lapses in 19 days)"
    r = verdict(reg, "soon", "audit_passes", accepted + D)
    assert brief(r) == ("met", None, None, iso(until))
    assert r["why"] == (f"version 1: audit #{run['id']} fails adverse_impact_ratio, each accepted by an executive "
                        f"(the first acceptance ends {day(until)})")
    # lapsed on a version that is not deployed: the audit falls short again (from the day it lapsed); the
    # acceptance rule only judges deployed versions
    report = reg.standards(at=until + D)
    assert brief(rule(report, "soon", "audit_passes")) == ("falls_short", "medium", iso(until), None)
    assert brief(rule(report, "soon", "acceptances")) == ("not_applicable", None, None, None)

    # "later": accepted for 100 days, approved and deployed
    model(reg, kit, "later")
    run = audit(reg, kit, "later", report="failing")
    acc = reg.accept("later", "1", check="adverse_impact_ratio", reason="a remediation ships next quarter",
                     until=when(run["created_at"]) + 100 * D, actor="Eve")
    until, accepted = when(acc["until"]), when(acc["created_at"])
    approve(reg, "later")
    deploy(reg, kit, "later-dep", "later:1")
    r = verdict(reg, "later", "acceptances", accepted + D)
    assert brief(r) == ("met", None, None, iso(until))  # more than 30 days left
    assert r["why"] == f"version 1 (deployed): adverse_impact_ratio accepted by Eve until {day(until)}"
    r = verdict(reg, "later", "acceptances", until - 10 * D)
    assert brief(r) == ("due_soon", None, None, iso(until))
    assert r["why"].endswith("(lapses in 10 days)")
    report = reg.standards(at=until + D)
    r = rule(report, "later", "acceptances")
    assert brief(r) == ("falls_short", "high", iso(until), None)
    assert r["why"] == (f"version 1 (deployed): adverse_impact_ratio accepted by Eve until {day(until)}: lapsed, and "
                        f"the deployed version still fails it")
    assert brief(rule(report, "later", "audit_passes")) == ("falls_short", "high", iso(until), None)


# --- deployed versions approved, monitoring ----------------------------------------------------------------


def test_deployed_version_whose_approval_a_rejection_revoked(reg, kit):
    model(reg, kit, "served")
    t = when(audit(reg, kit, "served")["created_at"])
    approved = when(approve(reg, "served")["approved_at"])
    deploy(reg, kit, "served-a", "served:1", kill_on_revocation=False)
    deploy(reg, kit, "served-b", "served:1")  # its kill switch is pulled when the approval is revoked
    r = verdict(reg, "served", "deployed_approved", approved + H)
    assert brief(r) == ("met", None, None, None)
    assert r["evidence"] == [f"deployment served-{x} serves 1, approved by dev on {day(approved)}" for x in "ab"]
    # a deployed version overdue for re-audit falls short with severity high
    assert brief(verdict(reg, "served", "reaudit_cadence", t + 91 * D)) == ("falls_short", "high", iso(t + 90 * D),
                                                                             None)
    next_second()
    reg.sign_off("served", "1", role="executive", decision="reject", comment="complaints from applicants", actor="Eve")
    revoked = when(reg.version("served", "1")["sign_offs"][0]["created_at"])
    assert reg.deployment("served-b")["killed"] and not reg.deployment("served-a")["killed"]
    r = verdict(reg, "served", "deployed_approved", revoked + H)
    assert brief(r) == ("falls_short", "critical", iso(revoked), None)
    assert r["evidence"] == [
        "deployment served-a serves 1, which is not approved (registered), and decides about people",
        "deployment served-b serves 1, which is not approved (registered); its kill switch is pulled",
    ]
    # before the rejection both deployments served an approved version
    assert verdict(reg, "served", "deployed_approved", revoked - timedelta(seconds=1))["status"] == "met"
    reg.kill("served-a", reason="stopped until approved again", actor="Olga")
    killed = when(reg.deployment("served-a")["killed_at"])
    r = verdict(reg, "served", "deployed_approved", killed + H)
    assert brief(r) == ("falls_short", "medium", iso(revoked), None)  # no unapproved decisions any more


def test_monitoring_without_monitor_stale_and_unacknowledged_alerts(reg, kit):
    model(reg, kit, "watched")
    audit(reg, kit, "watched")
    approve(reg, "watched")
    deployed = when(deploy(reg, kit, "watched-dep", "watched:1")["created_at"])
    r = verdict(reg, "watched", "monitoring", deployed + H)
    assert brief(r) == ("falls_short", "high", iso(deployed), None)
    assert r["why"] == "deployment watched-dep: no monitor watches it"
    reg.create_monitor("watched-mon", actor="Olga", deployment="watched-dep")
    reg.run_monitor("watched-mon", actor="Olga")
    last = when(reg.monitor("watched-mon")["last_run_at"])
    r = verdict(reg, "watched", "monitoring", last + H)
    assert brief(r) == ("met", None, None, None)
    assert r["why"] == f"monitor watched-mon watches watched-dep; last ran {day(last)}"
    # windows by day: a monitor that has not run for two days is stale
    r = verdict(reg, "watched", "monitoring", last + 3 * D)
    assert brief(r) == ("falls_short", "medium", iso(last + 2 * D), None)
    assert r["why"] == f"monitor watched-mon: last ran {day(last)}; it should run at least every 2 days"

    alerts = file_monitor(reg, kit, "watched-log", "watched")["alerts"]
    assert [(a["signal"], a["subject"], a["severity"]) for a in alerts] == [
        ("prediction_drift", "decision_rate", "medium"), ("fairness", "sex=Female:air", "high"),
        ("fairness_drift", "sex=Female:cusum", "high")]
    raised = [when(a["created_at"]) for a in alerts]
    lines = [f"alert #{a['id']} ({a['signal']}, {a['subject']}, window {LOG_DAY}) is not acknowledged" for a in alerts]
    r = verdict(reg, "watched", "monitoring", max(raised))
    assert brief(r) == ("falls_short", "high", iso(min(raised)), None)  # the worst alert's severity
    assert r["evidence"] == [f"monitor watched-mon watches watched-dep; last ran {day(last)}", *lines]
    next_second()
    for a in alerts[1:]:
        reg.acknowledge_alert(a["id"], actor="Olga", note="retraining with reweighed data")
    acks = [when(a["acknowledged_at"]) for a in reg.monitor("watched-log")["alerts"] if a["acknowledged_at"]]
    acked = max(acks)
    r = verdict(reg, "watched", "monitoring", acked)
    assert brief(r) == ("falls_short", "medium", iso(raised[0]), None)  # the fairness alerts are acknowledged
    assert [line for line in r["evidence"] if line.startswith("alert")] == lines[:1]
    reg.acknowledge_alert(alerts[0]["id"], actor="Olga", note="follows from the fairness alert")
    r = verdict(reg, "watched", "monitoring", acked + H)
    assert brief(r) == ("met", None, None, None)
    # acknowledged after `at`: at `at` the alerts were still unacknowledged
    r = verdict(reg, "watched", "monitoring", min(acks) - timedelta(seconds=1))
    assert brief(r) == ("falls_short", "high", iso(min(raised)), None) and r["evidence"][1:] == lines


# --- incidents, review queue and appeals ------------------------------------------------------------------


def test_incidents_against_the_tiers_response_times(reg, kit):
    model(reg, kit, "inc", versions=())
    high = reg.open_incident("inc", title="Declines spike for one branch", severity="high", actor="Olga")
    crit = reg.open_incident("inc", title="Scores leaked", severity="critical", actor="Olga")
    reg.update_incident(crit["id"], status="contained", note="kill switch pulled", actor="Olga")
    low = reg.open_incident("inc", title="Typo in a reason text", severity="low", actor="Olga")
    reg.update_incident(low["id"], status="contained", note="text fixed", actor="Olga")
    reg.update_incident(low["id"], status="resolved", note="deployed the fix", actor="Olga")
    opened = when(high["created_at"])
    deadline = opened + 24 * H  # the high tier: 24 hours for a high-severity incident
    r = verdict(reg, "inc", "incidents", opened + 23 * H)
    assert brief(r) == ("due_soon", None, None, iso(deadline))
    assert r["evidence"] == [  # the resolved incident is not counted; the contained one is met
        f"incident #{high['id']} (high) 'Declines spike for one branch', opened {day(opened)}: open, to be contained "
        f"by {deadline:%Y-%m-%d %H:%M} UTC",
        f"incident #{crit['id']} (critical) 'Scores leaked', opened {day(when(crit['created_at']))}: contained, "
        f"not yet resolved (23 h old)",
    ]
    r = verdict(reg, "inc", "incidents", opened + 25 * H)
    assert brief(r) == ("falls_short", "high", iso(deadline), None)
    assert r["why"] == (f"incident #{high['id']} (high) 'Declines spike for one branch', opened {day(opened)}: still "
                        f"open after 25 h; the tier's response time for high is 24 h")

    model(reg, kit, "inc-critical", versions=())
    o = when(reg.open_incident("inc-critical", title="Wrong model served", severity="critical",
                               actor="Olga")["created_at"])
    assert brief(verdict(reg, "inc-critical", "incidents", o + 3 * H)) == ("due_soon", None, None, iso(o + 4 * H))
    assert brief(verdict(reg, "inc-critical", "incidents", o + 5 * H)) == ("falls_short", "critical", iso(o + 4 * H),
                                                                            None)
    # the low tier has the default response times: 72 hours for a medium one
    model(reg, kit, "inc-low", risk=RISK_LOW, versions=())
    o = when(reg.open_incident("inc-low", title="Slow answers", severity="medium", actor="Olga")["created_at"])
    assert brief(verdict(reg, "inc-low", "incidents", o + 71 * H)) == ("due_soon", None, None, iso(o + 72 * H))
    assert brief(verdict(reg, "inc-low", "incidents", o + 73 * H)) == ("falls_short", "medium", iso(o + 72 * H), None)
    # only resolved incidents: nothing open
    model(reg, kit, "calm", versions=())
    i = reg.open_incident("calm", title="False alarm", severity="high", actor="Olga")
    reg.update_incident(i["id"], status="contained", note="checked", actor="Olga")
    reg.update_incident(i["id"], status="resolved", note="nothing was wrong", actor="Olga")
    r = verdict(reg, "calm", "incidents", when(i["created_at"]) + 30 * D)
    assert brief(r) == ("met", None, None, None) and r["evidence"] == ["no open incidents"]


def test_review_items_and_appeals_against_their_deadlines(reg, kit):
    from fastapi.testclient import TestClient

    from steward.web import create_app

    model(reg, kit, "reviewed")
    audit(reg, kit, "reviewed")
    approve(reg, "reviewed")
    deploy(reg, kit, "reviewed-dep", "reviewed:1", review={"band": 1.0, "decide_within_hours": 48},
           appeals={"decide_within_days": 10})
    key = reg.create_key("loan-app", ["caller"], actor="admin", deployments=["reviewed-dep"])["key"]
    with TestClient(create_app(reg)) as client:
        r = client.post("/api/deployments/reviewed-dep/predict", json={"rows": kit.rows[:2]},
                        headers={"X-API-Key": key})
        assert r.status_code == 200, r.text
        assert [a["route"] for a in r.json()["results"]] == ["review", "review"]
    items = reg.review_queue(deployment="reviewed-dep")
    assert [i["due_at"] for i in items] == [None, None]  # a decision's deadline is the guard's 48 hours
    t0 = max(when(i["created_at"]) for i in items)
    due = min(when(i["created_at"]) for i in items) + 48 * H
    r = verdict(reg, "reviewed", "review_deadlines", t0 + H)
    assert brief(r) == ("met", None, None, iso(due))
    assert r["why"] == "2 review items waiting, none overdue"
    r = verdict(reg, "reviewed", "review_deadlines", t0 + 47 * H)
    assert brief(r) == ("due_soon", None, None, iso(due))
    assert r["why"] == "2 of 2 review items waiting are due within a day"
    r = verdict(reg, "reviewed", "review_deadlines", t0 + 49 * H)
    assert brief(r) == ("falls_short", "high", iso(due), None)
    assert r["why"] == f"2 of 2 review items waiting are past their deadline (the oldest since {day(due)})"

    reg.decide_review(items[0]["id"], action="confirm", actor="Rita")
    appeal = reg.file_appeal(items[0]["prediction_id"], statement="my income was misread", actor="loan-app")
    appeal_due = when(appeal["due_at"])  # filed now, to be decided within 10 days
    r = verdict(reg, "reviewed", "review_deadlines", t0 + 49 * H)
    assert brief(r) == ("falls_short", "high", iso(when(items[1]["created_at"]) + 48 * H), iso(appeal_due))
    assert r["evidence"] == [  # the appeal is judged once, by its own deadline
        f"1 of 1 review items waiting are past their deadline (the oldest since "
        f"{day(when(items[1]['created_at']) + 48 * H)})",
        f"appeal #{appeal['id']} is due {day(appeal_due)}",
    ]
    reg.decide_review(items[1]["id"], action="confirm", actor="Rita")
    r = verdict(reg, "reviewed", "review_deadlines", appeal_due - 3 * D)
    assert brief(r) == ("due_soon", None, None, iso(appeal_due))
    assert r["evidence"] == ["0 review items waiting, none overdue", f"appeal #{appeal['id']} is due {day(appeal_due)}"]
    r = verdict(reg, "reviewed", "review_deadlines", appeal_due + H)
    assert brief(r) == ("falls_short", "high", iso(appeal_due), None)
    assert r["why"] == f"appeal #{appeal['id']} was due {day(appeal_due)} and is not decided"


# --- the organisation's view: the shortfalls list, teams ----------------------------------------------------


def test_shortfalls_sorted_by_severity_tier_and_age_and_filtered_by_team(reg, kit):
    reg.create_team("Lending", contact="lending@example.org", actor="admin")
    reg.create_team("Claims", contact="#claims", actor="admin")
    model(reg, kit, "c-low", risk=RISK_LOW, team="Claims")  # its version is the oldest
    next_second()
    model(reg, kit, "z-old", team="Lending")
    next_second()
    model(reg, kit, "y-new", team="Lending")
    model(reg, kit, "a-none", risk=None, versions=())
    reg.open_incident("c-low", title="Wrong decisions for a region", severity="critical", actor="Olga")
    at = when(reg.model("a-none")["created_at"]) + 10 * D
    report = reg.standards(at=at)
    got = [(x["model"], x["rule"], x["severity"], x["tier"]) for x in report["shortfalls"]]
    assert got == [
        ("c-low", "incidents", "critical", "low"),
        ("a-none", "risk_assessed", "high", None),
        ("z-old", "audited_current_policy", "medium", "high"),  # the high tier before the low one...
        ("y-new", "audited_current_policy", "medium", "high"),  # ...and within a tier the oldest first
        ("c-low", "audited_current_policy", "medium", "low"),
    ]
    since = {x["model"]: when(x["since"]) for x in report["shortfalls"] if x["rule"] == "audited_current_policy"}
    assert since["c-low"] < since["z-old"] < since["y-new"]  # so the tier, not the age, puts c-low last
    assert report["summary"]["by_severity"] == {"critical": 1, "high": 1, "medium": 3, "low": 0}
    assert report["summary"]["falls_short"] == 4 and report["summary"]["shortfalls"] == 5
    assert [(t["team"], t["models"], t["shortfalls"]) for t in report["teams"]] == [
        ("Claims", 1, 2), ("Lending", 2, 2), (None, 1, 1)]

    lending = reg.standards(at=at, team="Lending")
    assert lending["team"] == "Lending"
    assert [m["model"] for m in lending["models"]] == ["y-new", "z-old"]
    assert [x["model"] for x in lending["shortfalls"]] == ["z-old", "y-new"]
    assert [t["team"] for t in lending["teams"]] == ["Lending"]
    assert lending["summary"]["models"] == 2
    with pytest.raises(NotFoundError, match=r"no team named 'Nope'; the teams are: Claims, Lending"):
        reg.standards(team="Nope")



def test_one_models_standards_equal_its_row_of_the_report(reg, kit):
    model(reg, kit, "one")
    audit(reg, kit, "one")
    at = when(reg.model("one")["created_at"]) + 3 * D
    row = reg.model_standards("one", at=at)
    assert {k: v for k, v in row.items() if k not in ("at", "policy")} == reg.standards(at=at)["models"][0]
    assert row["at"] == at.isoformat() and row["policy"]["version"] == reg.policy.version
    with pytest.raises(NotFoundError, match="no model named 'nobody'"):
        reg.model_standards("nobody")
