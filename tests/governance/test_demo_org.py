"""The demo's organisation (examples/org/seed.py): seeded once into a fresh SQLite registry, the standards
console shows every state it promises, the people's keys hold their roles, and the records it dated back
are in the trail, which verifies."""

from __future__ import annotations

import importlib.util
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from steward.governance import Registry

pytestmark = pytest.mark.slow  # one seeding: a full model audit, in-process traffic and a monitor run

SEED = Path(__file__).resolve().parents[2] / "examples" / "org" / "seed.py"


def _load_seed():
    spec = importlib.util.spec_from_file_location("demo_org_seed", SEED)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    folder = tmp_path_factory.mktemp("org")
    reg = Registry(f"sqlite:///{folder / 'steward.db'}")
    out = _load_seed().seed(reg, folder / "work")
    report = reg.standards()
    yield reg, out, report
    reg.close()


def _rules(report, model: str) -> dict[str, dict]:
    (row,) = [m for m in report["models"] if m["model"] == model]
    return {r["rule"]: r for r in row["rules"]}


def _row(report, model: str) -> dict:
    (row,) = [m for m in report["models"] if m["model"] == model]
    return row


def test_teams_people_and_keys(org):
    reg, out, report = org
    teams = {t["team"]: t for t in report["teams"]}
    assert set(out["teams"]) <= set(teams)
    assert all(teams[t]["contact"] for t in out["teams"])
    assert "Grace Okafor" in teams["Model validation"]["members"]
    assert "Priya Natarajan" in teams["Credit risk"]["members"]
    # every key works and holds its person's roles; the central team's only reads
    assert reg.authenticate(out["keys"][out["governance"]])["roles"] == ["governance"]
    assert reg.authenticate(out["keys"]["Grace Okafor"])["roles"] == ["validator"]
    assert reg.authenticate(out["keys"]["Helen Carter"])["roles"] == ["executive"]
    owners = {m["name"]: m["team"] for m in reg.models()}
    assert owners["collections-priority"] == "Credit risk"
    assert owners["violent-recidivism"] == "Justice analytics"
    assert owners["wealth-seminar-leads"] == "Marketing analytics"


def test_the_clean_model_is_approved_monitored_and_meets_every_standard(org):
    reg, _, report = org
    rules = _rules(report, "collections-priority")
    assert rules["deployed_approved"]["status"] == "met"
    assert rules["monitoring"]["status"] == "met"
    assert rules["incidents"]["status"] == "met"
    assert _row(report, "collections-priority")["status"] == "met", [
        (r["rule"], r["why"]) for r in rules.values() if r["status"] not in ("met", "not_applicable")]
    alerts = reg.monitor("collections-watch")["alerts"]
    assert alerts, "the campaign's traffic raises at least one alert"
    assert all(a["acknowledged_by"] == "Dan Okoro" and a["acknowledged_note"] for a in alerts)
    practices = {p["practice"]: p for p in _row(report, "collections-priority")["practices"]}
    assert practices["independent_validation"]["adopted"]  # the validator is in Model validation, not Credit risk
    assert practices["incident_response"]["adopted"]  # the monitor's incident was contained and resolved


def test_the_failing_model(org):
    _, _, report = org
    rules = _rules(report, "credit-scorecard")
    assert rules["audit_passes"]["status"] == "falls_short"
    assert rules["sign_offs"]["status"] == "falls_short"  # the validator rejected it
    assert "rejected" in rules["sign_offs"]["why"]


def test_the_model_overdue_for_reaudit(org):
    _, _, report = org
    rule = _rules(report, "overdraft-limit")["reaudit_cadence"]
    assert rule["status"] == "falls_short"
    assert "every 90 days" in rule["why"]
    assert datetime.fromisoformat(rule["since"]) < datetime.now(timezone.utc) - timedelta(days=30)


def test_the_incident_past_its_response_time(org):
    _, _, report = org
    rule = _rules(report, "violent-recidivism")["incidents"]
    assert rule["status"] == "falls_short"
    assert rule["severity"] == "high"
    assert "response time for high is 24 h" in rule["why"]


def test_the_acceptance_expiring_within_30_days(org):
    _, out, report = org
    rules = _rules(report, "wealth-seminar-leads")
    assert rules["acceptances"]["status"] == "due_soon"
    assert rules["audit_passes"]["status"] == "met"  # every failing check accepted, until then
    lapses = datetime.fromisoformat(rules["audit_passes"]["lapses_at"])
    assert timedelta(0) < lapses - datetime.now(timezone.utc) <= timedelta(days=30)
    assert out["wealth"]["accepted"]


def test_bias_tested_in_ci_is_adopted(org):
    reg, _, report = org
    ci = {p["practice"]: p for p in report["adoption"]["practices"]}["bias_tested_in_ci"]
    assert ci["adopted"] > 0, "the audits recorded from CI (with their context) count"
    practices = {p["practice"]: p for p in _row(report, "collections-priority")["practices"]}
    assert "github-actions" in practices["bias_tested_in_ci"]["evidence"]


def test_backdated_records_are_in_the_trail_and_it_verifies(org):
    reg, out, _ = org
    assert reg.verify_trail().ok
    entries = [e for e in reg.trail(limit=5000) if e["action"] == "demo.backdate"]
    assert len(entries) == out["backdated"] > 0
    assert all(e["actor"] == "demo seed" for e in entries)
    # the incident's entry says which row and what time; the registry shows that time
    payloads = [json.loads(e["payload"]) for e in entries if e["subject"].startswith("incident:")]
    (incident,) = [p for p in payloads if p["table"] == "incidents"]
    assert reg.incident(incident["id"])["created_at"] == incident["created_at"]
