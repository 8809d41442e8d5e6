"""The standards console, a model's standards and the risk form, through an in-process HTTP client against a
real registry on a SQLite file (the two models of conftest: COMPAS, high risk and failing; the triage helper,
low risk and passing)."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
import yaml

import steward
from steward.governance import Registry
from steward.governance._adoption import PRACTICES
from steward.governance._standards import RULES
from tests.web.conftest import HIGH_RISK, LOW, LOW_RISK, MODEL, csrf_of, login

GOVERNANCE = "Gina Governance"
RISK = f"/models/{MODEL}/risk"


@pytest.fixture()
def org(registry):
    """Two teams owning the two models; a key for the central team (role ``governance``, read-only)."""
    registry.create_team("Justice", contact="justice-ml@example.org", actor="Ada Admin")
    registry.create_team("Support", contact="#support-ml", actor="Ada Admin")
    registry.set_model_team(MODEL, "Justice", actor="Ada Admin")
    registry.set_model_team(LOW, "Support", actor="Ada Admin")
    return registry.create_key(GOVERNANCE, ["governance"], actor="Ada Admin")["key"]


def _rows(html: str, table: str) -> list[str]:
    body = re.search(rf'<table id="{table}">.*?<tbody>(.*?)</tbody>', html, re.S)
    assert body, f"no table {table} on the page"
    return re.findall(r"<tr\b.*?</tr>", body.group(1), re.S)


def _shortfalls(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<tr data-model="([^"]+)" data-rule="([^"]+)">', html)


def _trail(reg: Registry, model: str = MODEL) -> list[int]:
    return [e["seq"] for e in reg.model(model)["trail"]]


# --- the console ----------------------------------------------------------------------------------------


def test_the_console_shows_the_organisation_to_the_central_team(client, registry, org):
    login(client, org, "/standards")
    r = client.get("/standards")
    assert r.status_code == 200
    html = r.text
    report = registry.standards()
    s = report["summary"]
    assert "Signed in as <strong>Gina Governance</strong> (Central responsible-ML team)" in html
    assert '<a href="/standards">Standards</a>' in html  # in the navigation
    for key in ("models", "falls_short", "due_soon", "met"):
        assert re.search(rf'id="count-{key}">(\d+)<', html).group(1) == str(s[key])
    assert s["models"] == 2 and s["falls_short"] >= 1
    for sev, n in s["by_severity"].items():
        assert f'id="severity-{sev}">{sev} {n}</span>' in html
    # the falls-short list, in the registry's order, COMPAS's failing audit in it with its evidence linked
    assert _shortfalls(html) == [(x["model"], x["rule"]) for x in report["shortfalls"]]
    assert (MODEL, "audit_passes") in _shortfalls(html)
    assert f'<a href="/models/{MODEL}#standards"><strong>{MODEL}</strong></a>' in html
    row = next(t for t in _rows(html, "shortfalls") if 'data-rule="audit_passes"' in t)
    assert "audit #" in row and "adverse_impact_ratio" in row and "Justice" in row
    # a table of teams, with their contacts
    teams = _rows(html, "teams-table")
    assert len(teams) == 2
    assert "justice-ml@example.org" in teams[0] and "#support-ml" in teams[1]
    # the adoption chart: inline SVG, one bar per practice, and no script anywhere
    chart = re.search(r'<div class="chart" id="adoption-chart">(<svg.*?</svg>)</div>', html, re.S).group(1)
    assert len(re.findall(r"<rect ", chart)) == len(PRACTICES)
    for _, title, _, _ in PRACTICES:
        assert title in chart
    trend = re.search(r'<div class="chart" id="trend-chart">(<svg.*?</svg>)</div>', html, re.S).group(1)
    assert "<polyline" in trend
    assert "<script" not in html.lower() and "href" not in chart and "<image" not in chart  # nothing fetched
    # downloads of the same report, and the API for scripts
    assert 'href="/standards/report.csv"' in html and 'href="/api/standards?format=json"' in html


def test_the_console_filters_by_team(client, registry, org):
    login(client, org)
    html = client.get("/standards", params={"team": "Support"}).text
    report = registry.standards(team="Support")
    assert '<option value="Support" selected>' in html
    assert re.search(r'id="count-models">(\d+)<', html).group(1) == "1"
    assert _shortfalls(html) == [(x["model"], x["rule"]) for x in report["shortfalls"]]
    assert all(model == LOW for model, _ in _shortfalls(html))
    models = _rows(html, "models-table")
    assert len(models) == 1 and LOW in models[0] and MODEL not in html.split('id="models-table"')[1]
    r = client.get("/standards", params={"team": "Nobody"})
    assert r.status_code == 404 and "no team named" in r.text and "Justice" in r.text


def test_the_console_as_of_a_date_before_any_model(client, org):
    login(client, org)
    html = client.get("/standards", params={"at": "2000-01-01"}).text
    assert re.search(r'id="count-models">(\d+)<', html).group(1) == "0"
    assert "No model falls short of any standard." in html
    r = client.get("/standards", params={"at": "last week"})
    assert r.status_code == 400 and "at: &#39;last week&#39; is not a date" in r.text
    r = client.get("/standards", params={"at": "9" * 100})
    assert r.status_code == 400 and "at: 100 characters is too long (at most 64)" in r.text


def test_the_report_downloads_agree_with_the_registry(client, registry, org):
    login(client, org)
    report = registry.standards()
    data = json.loads(client.get("/standards/report.json").text)
    assert data["schema"] == "steward.standards/1"
    pairs = [(x["model"], x["rule"]) for x in report["shortfalls"]]
    assert [(x["model"], x["rule"]) for x in data["shortfalls"]] == pairs
    r = client.get("/standards/report.csv", params={"team": "Justice"})
    assert r.headers["content-type"].startswith("text/csv") and "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert {row["model"] for row in rows} == {MODEL} and len(rows) == len(RULES)
    assert client.get("/standards/report.md").text.startswith("#")
    assert client.get("/standards/report.xml").status_code == 404


def test_the_console_needs_a_login(client):
    r = client.get("/standards", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Fstandards"


# --- the inventory and the model page ----------------------------------------------------------------------


def test_the_inventory_filters_by_team_and_shows_it(client, org):
    login(client, org)
    html = client.get("/").text
    assert '<select name="team">' in html and '<option value="Justice">' in html
    assert '<a href="/?team=Justice">Justice</a>' in html
    names = re.findall(r'<a href="/models/([^"#]+)"><strong>', client.get("/", params={"team": "Support"}).text)
    assert names == [LOW]


def test_the_model_page_shows_its_standards_team_and_practices(client, registry, org):
    login(client, org)
    html = client.get(f"/models/{MODEL}").text
    assert ('id="team">Team <a href="/?team=Justice"><strong>Justice</strong></a> · contact justice-ml@example.org'
            in html)
    section = html.split('<h2 id="standards">')[1].split("<h2 ")[0]
    rules = re.findall(r'<tr data-rule="([a-z_]+)"', section)
    assert rules == [r for r, _ in RULES]
    row = next(r for r in registry.standards(team="Justice")["models"] if r["model"] == MODEL)
    judged = {r["rule"]: r for r in row["rules"]}
    passes = re.search(r'<tr data-rule="audit_passes".*?</tr>', section, re.S).group(0)
    assert judged["audit_passes"]["status"] == "falls_short" and "Falls short" in passes
    assert judged["audit_passes"]["why"] in passes
    assert re.findall(r'<tr data-practice="([a-z_]+)"', section) == [p for p, *_ in PRACTICES]
    assert "Risk assessed under the current policy" in section
    assert 'id="risk-form-link"' not in html  # the central team only reads


def test_the_model_page_shows_what_changed_in_the_policy_since_its_audit(registry, web_policy, tmp_path, org):
    """Under a new policy version the audit is out of date; the page lists what changed between the two."""
    from fastapi.testclient import TestClient

    from steward.web import create_app

    doc = yaml.safe_load(web_policy.text)
    doc["policy"]["version"] += "-next"
    doc["tiers"]["high"]["reaudit_days"] = 60
    path = tmp_path / "next-policy.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    newer = Registry(f"sqlite:///{tmp_path / 'steward.db'}", policy=steward.load_policy(path))
    try:
        with TestClient(create_app(newer)) as c:
            login(c, org)
            html = c.get(f"/models/{MODEL}").text
    finally:
        newer.close()
    row = re.search(r'<tr data-rule="audited_current_policy".*?</tr>', html, re.S).group(0)
    assert "Falls short" in row and "was held to policy version" in row
    changes = re.findall(r'<li class="changed">policy changed: (.*?)</li>', row)
    assert "reaudit_days: 90 -&gt; 60" in changes
    assert any(c.startswith("policy ") and "-next" in c for c in changes)


# --- the central team reads, and writes nothing ---------------------------------------------------------------


def test_the_central_team_is_refused_every_write_form(client, registry, org):
    login(client, org)
    page = client.get(f"/models/{MODEL}")
    before = _trail(registry)
    signoff = client.post(f"/models/{MODEL}/versions/1.0/signoff",
                          data={"csrf": csrf_of(page.text), "role": "validator", "decision": "approve"})
    assert signoff.status_code == 403 and "may not do this" in signoff.text
    assert client.get(RISK).status_code == 403
    record = client.post(RISK, data={"csrf": csrf_of(page.text), "action": "record", **_form(LOW_RISK)})
    assert record.status_code == 403
    assert "it needs one of the roles: developer, validator, executive, admin" in record.text
    assert _trail(registry) == before and registry.model(MODEL)["tier"] == "high"


# --- the risk form --------------------------------------------------------------------------------------------


def _form(answers: dict) -> dict[str, str]:
    return {"domain": answers["domain"], "people_affected": str(answers["people_affected"]),
            "decisions_per_day": str(answers["decisions_per_day"]),
            "human_review": "yes" if answers["human_review"] else "no",
            "wrong_decision_cost": answers["wrong_decision_cost"]}


def _preview(client, answers: dict, path: str = RISK):
    page = client.get(path)
    assert page.status_code == 200
    return client.post(path, data={"csrf": csrf_of(page.text), "action": "preview", **answers})


def test_the_risk_form_is_prefilled_with_the_latest_answers(client, keys):
    login(client, keys["developer"])
    model = client.get(f"/models/{MODEL}").text
    assert f'<a href="{RISK}" id="risk-form-link">Assess the risk again</a>' in model
    html = client.get(RISK).text
    assert '<option value="criminal_justice" selected>' in html
    assert 'name="people_affected" value="10000"' in html and 'name="decisions_per_day" value="30"' in html
    assert 'id="review-yes" name="human_review" value="yes" checked' in html
    assert 'id="cost-high" name="wrong_decision_cost" value="high" checked' in html
    assert 'value="record"' not in html  # recording comes after the tier is shown
    assert "Current tier: <span class=\"pill high\">high risk</span>" in html


def test_checking_the_tier_explains_it_and_records_nothing(client, keys, registry):
    login(client, keys["developer"])
    before = _trail(registry)
    r = _preview(client, _form(LOW_RISK) | {"people_affected": "200"})
    assert r.status_code == 200
    html = r.text
    tier, reason = registry.policy.assign_tier(LOW_RISK)
    assert tier.name == "low"
    assert 'id="preview-tier"><span class="pill low">low risk</span>' in html
    assert f"<strong>Why:</strong> {reason}".replace("'", "&#39;") in html
    assert "This lowers the tier from high to low" in html
    assert "validator or an accountable executive who did not register any of its" in html and "Dev Developer" in html
    assert f"at least every {tier.reaudit_days} days" in html
    assert "none" in re.search(r"<dt>Sign-offs</dt><dd>(.*?)</dd>", html).group(1)
    assert 'value="record"' in html and 'name="checked" value="' in html
    assert _trail(registry) == before and registry.model(MODEL)["tier"] == "high"


def test_checking_a_higher_tier_lists_what_it_requires(client, keys, registry):
    login(client, keys["developer"])
    html = _preview(client, _form(HIGH_RISK), f"/models/{LOW}/risk").text
    high = registry.policy.tiers["high"]
    assert "This changes the tier from low to high" in html
    requires = re.search(r'<dl class="facts" id="preview-requires">(.*?)</dl>', html, re.S).group(1)
    assert "Validator, Accountable executive, each by a different person" in requires
    assert f"at least every {high.reaudit_days} days" in requires
    assert "a validator re-runs the audit before approval" in requires
    assert f"{high.incident_response_hours['critical']:g} h (critical)" in requires
    checks = re.findall(r"<code>([a-z_]+)</code>", html.split('id="preview-checks"')[1])
    assert sorted(checks) == sorted(high.checks)


def test_recording_stores_the_answers_checked(client, keys, registry):
    login(client, keys["developer"])
    preview = _preview(client, _form(HIGH_RISK) | {"people_affected": "12,000"}, f"/models/{LOW}/risk")
    checked = re.search(r'name="checked" value="([0-9a-f]+)"', preview.text).group(1)
    assert 'name="people_affected" value="12000"' in preview.text
    r = client.post(f"/models/{LOW}/risk", data={"csrf": csrf_of(preview.text), "action": "record", "checked": checked,
                                                 **_form(HIGH_RISK), "people_affected": "12000"},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/models/{LOW}?flash=assessed#risk"
    m = registry.model(LOW)
    assert m["tier"] == "high" and m["risk"]["assessed_by"] == "Dev Developer"
    assert m["risk"]["answers"] == dict(HIGH_RISK, people_affected=12000)
    page = client.get(r.headers["location"]).text
    assert "The risk assessment has been recorded" in page
    # the model's standards follow at once: its audit was held to the low tier
    row = re.search(r'<tr data-rule="audited_current_policy".*?</tr>', page, re.S).group(0)
    assert "was held to tier low but the model is now tier high" in row


def test_recording_answers_other_than_those_checked_records_nothing(client, keys, registry):
    login(client, keys["developer"])
    preview = _preview(client, _form(HIGH_RISK), f"/models/{LOW}/risk")
    checked = re.search(r'name="checked" value="([0-9a-f]+)"', preview.text).group(1)
    before = _trail(registry, LOW)
    r = client.post(f"/models/{LOW}/risk", data={"csrf": csrf_of(preview.text), "action": "record", "checked": checked,
                                                 **_form(HIGH_RISK), "wrong_decision_cost": "medium"})
    assert r.status_code == 200 and "The answers changed since their tier was shown; nothing was recorded" in r.text
    assert 'id="preview-tier"' in r.text
    assert _trail(registry, LOW) == before and registry.model(LOW)["tier"] == "low"


def test_lowering_the_tier_is_refused_to_its_builder_and_recorded_for_a_validator(client, keys, registry):
    login(client, keys["developer"])  # Dev Developer registered COMPAS 1.0
    preview = _preview(client, _form(LOW_RISK))
    checked = re.search(r'name="checked" value="([0-9a-f]+)"', preview.text).group(1)
    data = {"csrf": csrf_of(preview.text), "action": "record", "checked": checked, **_form(LOW_RISK)}
    before = _trail(registry)
    r = client.post(RISK, data=data)
    assert r.status_code == 403
    assert "The assessment was not recorded: these answers lower compas-recidivism&#39;s risk tier" in r.text
    assert 'name="domain"' in r.text and 'id="preview-tier"' in r.text  # the form again, with the tier shown
    assert _trail(registry) == before and registry.model(MODEL)["tier"] == "high"

    login(client, keys["validator"])
    preview = _preview(client, _form(LOW_RISK))
    r = client.post(RISK, data=dict(data, csrf=csrf_of(preview.text)), follow_redirects=False)
    assert r.status_code == 303
    assert registry.model(MODEL)["tier"] == "low" and registry.model(MODEL)["risk"]["assessed_by"] == "Vera Validator"


@pytest.mark.parametrize(("change", "message"), [
    ({"people_affected": "lots"}, "People affected: &#39;lots&#39; is not a whole number"),
    ({"decisions_per_day": "-3"}, "Decisions a day: &#39;-3&#39; is not a whole number"),
    ({"decisions_per_day": "2.5"}, "Decisions a day: &#39;2.5&#39; is not a whole number"),
    ({"people_affected": ""}, "People affected: missing; enter a whole number"),
    ({"human_review": "maybe"}, "A person reviews each decision: choose yes or no"),
    ({"wrong_decision_cost": ""}, "Cost of a wrong decision: choose low, medium or high"),
    ({"domain": "astrology"}, "Area of decisions: &#39;astrology&#39; is not one the policy knows"),
])
@pytest.mark.parametrize("action", ["preview", "record"])
def test_bad_answers_are_named_and_nothing_is_recorded(client, keys, registry, change, message, action):
    login(client, keys["validator"])
    page = client.get(RISK)
    before = _trail(registry)
    r = client.post(RISK, data={"csrf": csrf_of(page.text), "action": action, **_form(LOW_RISK), **change})
    assert r.status_code == 400
    assert message in re.search(r'<div class="error" role="alert" id="problems">(.*?)</div>', r.text, re.S).group(1)
    assert 'id="preview-tier"' not in r.text
    assert _trail(registry) == before


def test_the_risk_form_needs_this_sessions_token(client, keys, registry):
    login(client, keys["validator"])
    before = _trail(registry)
    r = client.post(RISK, data={"csrf": "0" * 64, "action": "record", **_form(LOW_RISK)})
    assert r.status_code == 403 and "This form has expired" in r.text
    assert _trail(registry) == before


def test_the_risk_form_of_an_unknown_model(client, keys):
    login(client, keys["developer"])
    assert client.get("/models/nothing-here/risk").status_code == 404
