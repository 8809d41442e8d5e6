"""The web pages through an in-process HTTP client, against a real registry on a SQLite file."""

from __future__ import annotations

import copy
import dataclasses
import re
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import pytest
from markupsafe import escape

from steward.web._auth import COOKIE
from tests.web.conftest import LOW, MODEL, csrf_of, login

SIGNOFF = f"/models/{MODEL}/versions/1.0/signoff"
ACCEPT = f"/models/{MODEL}/versions/1.0/accept"


def _days(n: int) -> str:
    """The date ``n`` days from today (UTC), as a date input sends it."""
    return (datetime.now(timezone.utc) + timedelta(days=n)).date().isoformat()


def _as(client, keys, role):
    login(client, keys[role])
    return client


# --- logging in ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", f"/models/{MODEL}", "/incidents/1", "/?tier=high"])
def test_pages_send_a_stranger_to_the_login_form(client, path):
    r = client.get(path, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login")
    if path != "/":
        assert r.headers["location"] == "/login?next=" + quote(path, safe="")


def test_a_bad_key_shows_the_form_again_with_a_clear_message(client):
    form = client.get("/login")
    r = client.post("/login", data={"key": "stw_nope_nothing", "csrf": csrf_of(form.text), "next": "/"},
                    follow_redirects=False)
    assert r.status_code == 401
    assert "That key was not accepted: unknown API key" in r.text
    assert 'name="key"' in r.text
    assert COOKIE not in r.cookies
    assert client.get("/", follow_redirects=False).status_code == 303


def test_login_keeps_a_session_id_not_the_key_in_a_strict_httponly_cookie_and_returns_to_the_page(client, keys):
    form = client.get("/login", params={"next": f"/models/{MODEL}"})
    r = client.post("/login", data={"key": keys["viewer"], "csrf": csrf_of(form.text), "next": f"/models/{MODEL}"},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/models/{MODEL}"
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith(f"{COOKIE}="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert keys["viewer"] not in cookie and keys["viewer"].split("_", 2)[2] not in cookie
    page = client.get(f"/models/{MODEL}")
    assert page.status_code == 200 and "Signed in as <strong>Victor Viewer</strong>" in page.text


def test_login_needs_the_forms_token(client, keys):
    client.get("/login")
    r = client.post("/login", data={"key": keys["viewer"], "csrf": "0" * 64, "next": "/"}, follow_redirects=False)
    assert r.status_code == 403 and "expired" in r.text
    assert COOKIE not in r.cookies


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example"])
def test_login_never_sends_people_to_another_site(client, keys, target):
    form = client.get("/login")
    r = client.post("/login", data={"key": keys["viewer"], "csrf": csrf_of(form.text), "next": target},
                    follow_redirects=False)
    assert r.headers["location"] == "/"


def test_logout_ends_the_session_on_the_server(client, keys):
    page = _as(client, keys, "viewer").get("/")
    old = client.cookies[COOKIE]
    r = client.post("/logout", data={"csrf": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?flash=logged_out"
    assert client.get("/", follow_redirects=False).status_code == 303
    assert "You are logged out." in client.get("/login?flash=logged_out").text
    client.cookies.set(COOKIE, old)  # a copy of the old cookie no longer works either
    assert client.get("/", follow_redirects=False).status_code == 303


def test_a_revoked_key_sends_the_person_back_to_log_in(client, keys, registry):
    _as(client, keys, "viewer")
    registry.revoke_key(keys["viewer"].split("_")[1], actor="Ada Admin")
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


# --- the inventory --------------------------------------------------------------------------------------


def _names(html: str) -> list[str]:
    return re.findall(r'<a href="/models/([^"#]+)"><strong>', html)


def test_inventory_lists_every_model_with_its_verdict(client, keys):
    html = _as(client, keys, "viewer").get("/").text
    assert _names(html) == [MODEL, LOW]
    assert "FAILED" in html and "16 failing checks, 17 not evidenced, 8 warnings" in html
    assert "PASSED" in html and "no failing checks, 3 warnings" in html
    assert "Ana Owner" in html and "In review" in html


@pytest.mark.parametrize(("query", "expected"), [
    ({"tier": "high"}, [MODEL]),
    ({"tier": "low"}, [LOW]),
    ({"tier": "medium"}, []),
    ({"owner": "ana"}, [MODEL]),
    ({"owner": "nobody"}, []),
    ({"failing": "yes"}, [MODEL]),
    ({"failing": "no"}, [LOW]),
    ({"status": "in_review"}, [MODEL, LOW]),
    ({"status": "approved"}, []),
    ({"tier": "", "status": "", "owner": "", "failing": ""}, [MODEL, LOW]),
])
def test_inventory_filters(client, keys, query, expected):
    r = _as(client, keys, "viewer").get("/", params=query)
    assert r.status_code == 200
    assert _names(r.text) == expected


def test_inventory_filter_form_keeps_the_choices(client, keys):
    html = _as(client, keys, "viewer").get("/", params={"tier": "high", "owner": "Ana", "failing": "yes"}).text
    assert '<option value="high" selected>' in html
    assert 'name="owner" value="Ana"' in html
    assert '<option value="yes" selected>' in html
    assert "Clear filters" in html


# --- the model page -----------------------------------------------------------------------------------------


def test_model_page_shows_the_verdict_findings_report_and_people(client, keys, registry):
    html = _as(client, keys, "viewer").get(f"/models/{MODEL}").text
    audit_id = registry.model(MODEL)["latest_audit"]["id"]
    assert "FAILED" in html and "16 failing checks, 17 not evidenced, 8 warnings" in html
    # a failing finding in plain words, before the warnings
    sentence = ("People with race = African-American were given the favourable decision (0) at 0.63 times the rate "
                "of people with race = Caucasian")
    assert sentence in html
    assert html.index(sentence) < html.index("0.57 standard deviations higher")
    assert f'<iframe class="report" src="/audits/{audit_id}/report.html"' in html
    assert f'href="/audits/{audit_id}/model_card.md"' in html
    assert "<h1>Model card: (model name not provided)</h1>" in html  # the card, converted from Markdown
    assert "Ana Owner" in html and "Eve Executive" in html
    assert "tier &#39;high&#39; because the domain, criminal_justice, is one this tier covers" in html
    assert "A person reviews each decision</dt><dd>yes" in html
    assert "No validator has signed off the latest audit." in html
    assert "No executive has signed off the latest audit." in html
    assert (f"Check adverse_impact_ratio fails in the latest audit (#{audit_id}) (3 failing finding(s)); "
            "fix the model or an executive accepts it.") in html
    assert (f"Check flip_test is not evidenced in the latest audit (#{audit_id}); it would run with: "
            "the model (--model)") in html
    assert "Recorded audit #" in html and "Assessed the risk: high tier" in html  # the trail


def test_the_report_frame_loads_with_the_login_cookie(client, keys, registry):
    audit_id = registry.model(MODEL)["latest_audit"]["id"]
    assert client.get(f"/audits/{audit_id}/report.html", follow_redirects=False).status_code == 303  # not logged in
    r = _as(client, keys, "viewer").get(f"/audits/{audit_id}/report.html")
    assert r.status_code == 200 and "Steward audit report" in r.text
    assert r.headers["content-security-policy"].startswith("sandbox")  # uploaded: it may run no script
    card = client.get(f"/audits/{audit_id}/model_card.md")
    assert card.status_code == 200 and "Model card" in card.text
    assert client.get(f"/api/audits/{audit_id}/report.html").status_code == 401  # the API takes keys, not cookies


@pytest.mark.parametrize(("role", "offered"), [
    ("validator", ["validator"]), ("executive", ["executive"]),
    ("viewer", []), ("developer", []), ("operator", []), ("admin", []),
])
def test_the_sign_off_form_is_only_for_those_who_must_sign(client, keys, role, offered):
    html = _as(client, keys, role).get(f"/models/{MODEL}").text
    assert (f'action="{SIGNOFF}"' in html) == bool(offered)
    options = re.findall(r'<select id="role" name="role">(.*?)</select>', html, re.S)
    assert re.findall(r'<option value="([a-z]+)"', options[0] if options else "") == offered


def test_forms_follow_the_roles(client, keys):
    viewer = _as(client, keys, "viewer").get(f"/models/{MODEL}").text
    assert "/approve" not in viewer and f"/models/{MODEL}/incidents" not in viewer
    developer = _as(client, keys, "developer").get(f"/models/{MODEL}").text
    assert "Approve version 1.0 for deployment" in developer and f'action="/models/{MODEL}/incidents"' in developer


def test_signing_off_through_the_form(client, keys, registry):
    page = _as(client, keys, "validator").get(f"/models/{MODEL}")
    r = client.post(SIGNOFF, data={"csrf": csrf_of(page.text), "role": "validator", "decision": "approve",
                                   "comment": "Data lineage checked"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/models/{MODEL}?flash=signed"
    [x] = registry.model(MODEL)["versions"][0]["sign_offs"]
    assert (x["role"], x["person"], x["decision"], x["comment"], x["current"]) == \
        ("validator", "Vera Validator", "approve", "Data lineage checked", True)
    html = client.get(r.headers["location"]).text
    assert "Your sign-off has been recorded." in html
    assert "No validator has signed off the latest audit." not in html
    assert "Data lineage checked" in html and "the latest audit (#" in html


def test_a_rejection_without_comment_is_shown_on_the_page(client, keys, registry):
    page = _as(client, keys, "executive").get(f"/models/{MODEL}")
    r = client.post(SIGNOFF, data={"csrf": csrf_of(page.text), "role": "executive", "decision": "reject",
                                   "comment": "  "})
    assert r.status_code == 409
    assert "Your sign-off was not recorded: a rejection needs a comment saying why" in r.text
    assert 'value="reject" checked' in r.text  # the form keeps what was chosen
    assert "Traceback" not in r.text and r.headers["content-type"].startswith("text/html")
    assert registry.model(MODEL)["versions"][0]["sign_offs"] == []


def test_a_rejection_with_comment_blocks_approval(client, keys):
    page = _as(client, keys, "executive").get(f"/models/{MODEL}")
    client.post(SIGNOFF, data={"csrf": csrf_of(page.text), "role": "executive", "decision": "reject",
                               "comment": "Fix the disparity first"})
    html = client.get(f"/models/{MODEL}").text
    assert "The executive Eve Executive rejected it: Fix the disparity first" in html


def test_a_sign_off_on_an_earlier_audit_is_marked_so(client, keys, registry, compas_audit):
    page = _as(client, keys, "validator").get(f"/models/{MODEL}")
    client.post(SIGNOFF, data={"csrf": csrf_of(page.text), "role": "validator", "decision": "approve"})
    compas_audit.record(registry, MODEL, "1.0")
    html = client.get(f"/models/{MODEL}").text
    assert "an earlier audit (#" in html and "no longer counts" in html
    assert "No validator has signed off the latest audit." in html


def test_signing_in_a_role_one_does_not_hold_is_forbidden(client, keys, registry):
    page = _as(client, keys, "validator").get(f"/models/{MODEL}")
    r = client.post(SIGNOFF, data={"csrf": csrf_of(page.text), "role": "executive", "decision": "approve"})
    assert r.status_code == 403 and "cannot sign off as executive" in r.text
    assert registry.model(MODEL)["versions"][0]["sign_offs"] == []


@pytest.mark.parametrize("token", [None, "", "0" * 64, "other-session"])
def test_a_form_without_this_sessions_token_is_refused(client, keys, registry, token):
    if token == "other-session":  # a valid token, but for someone else's cookie
        token = csrf_of(_as(client, keys, "executive").get("/").text)
    _as(client, keys, "validator")
    data = {"role": "validator", "decision": "approve"} | ({} if token is None else {"csrf": token})
    r = client.post(SIGNOFF, data=data)
    assert r.status_code == 403 and "This form has expired" in r.text
    assert registry.model(MODEL)["versions"][0]["sign_offs"] == []


def test_approval_refused_shows_the_registrys_reasons(client, keys, registry):
    page = _as(client, keys, "developer").get(f"/models/{MODEL}")
    r = client.post(f"/models/{MODEL}/versions/1.0/approve", data={"csrf": csrf_of(page.text)})
    assert r.status_code == 409
    assert "Not approved: compas-recidivism:1.0 cannot be approved for deployment" in r.text
    assert "no validator has signed off the latest audit" in r.text
    assert registry.model(MODEL)["latest_version_status"] == "registered"


def test_approval_of_a_model_that_meets_the_policy(client, keys, registry):
    page = _as(client, keys, "developer").get(f"/models/{LOW}")
    assert "Nothing blocks approval" in page.text and "needs no sign-off" in page.text
    r = client.post(f"/models/{LOW}/versions/2.3/approve", data={"csrf": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/models/{LOW}?flash=approved"
    assert registry.model(LOW)["latest_version_status"] == "approved"
    html = client.get(r.headers["location"]).text
    assert "The version is approved for deployment." in html and "APPROVED" in html
    assert "Version 2.3 was approved by Dev Developer" in html


# --- who derived each finding, missing evidence, acceptances, reproductions ------------------------------------


@pytest.mark.parametrize(("counts", "word", "detail"), [
    ((16, 17, 8), "FAILED", "16 failing checks, 17 not evidenced, 8 warnings"),
    ((1, 0, 0), "FAILED", "1 failing check, 0 warnings"),
    ((0, 2, 1), "NOT EVIDENCED", "2 not evidenced, 1 warning"),
])
def test_the_verdict_counts_findings_that_are_not_evidenced(counts, word, detail):
    from steward.web._pages_views import verdict

    audit = dict(zip(("n_fail", "n_not_evidenced", "n_warn"), counts), passed=False)
    assert verdict(audit) == {"word": word, "css": "bad", "detail": detail}


def test_each_finding_says_who_derived_it(client, keys, registry):
    _as(client, keys, "viewer")
    marks = {"registry": "recomputed by the registry", "client": "taken from the client"}
    seen = set()
    for name in (MODEL, LOW):
        html = client.get(f"/models/{name}").text
        findings = registry.audit_run(registry.model(name)["latest_audit"]["id"])["findings"]
        for f in findings:  # every finding on the page, followed by its own mark
            by = f["derived_by"]
            mark = re.escape(f'<span class="by {by}" title="') + r'[^"]+">' + re.escape(marks[by])
            assert re.search(re.escape(str(escape(f["message"]))) + " " + mark, html), f["id"]
            seen.add(f["derived_by"])
        # the legend explains both marks; the marks equal the findings in number (plus the legend's own)
        assert "Taken from the client (consistent with the report&#39;s analyses)" in html
        assert "Recomputed by the registry from the report&#39;s cell statistics" in html
        for by in marks:
            assert html.count(f'<span class="by {by}"') == sum(f["derived_by"] == by for f in findings) + 1
    assert seen == {"registry", "client"}  # the model checks the triage helper ran are the client's
    slices = next(f for f in registry.audit_run(registry.model(LOW)["latest_audit"]["id"])["findings"]
                  if f["check"] == "slices")
    assert slices["derived_by"] == "client"


def test_checks_that_did_not_run_are_not_evidenced_and_listed_with_what_blocks(client, keys, registry):
    html = _as(client, keys, "viewer").get(f"/models/{MODEL}").text
    audit = registry.model(MODEL)["latest_audit"]
    assert (audit["n_fail"], audit["n_not_evidenced"], audit["n_warn"]) == (16, 17, 8)
    blocking = html[html.index("<h3>Problems that block approval (33)</h3>"):html.index("<h3>Warnings (8)</h3>")]
    assert blocking.count('<span class="pill bad">Fails</span>') == 3  # checks, with 16 findings among them
    assert blocking.count('<span class="pill bad">Not evidenced</span>') == 17
    assert blocking.count("Not evidenced — a required check did not run.") == 17
    assert "Would run with: the model (--model) and its features." in blocking  # the flip test
    assert "Would run with: the feature columns (--features) with a label and a decision or a model." in blocking
    assert blocking.index("Fails") < blocking.index("Not evidenced")
    warnings = html[html.index("<h3>Warnings (8)</h3>"):html.index('<h2 id="signoff">')]
    assert "Not evidenced" not in warnings and "Fails</span>" not in warnings
    # the low tier makes those checks optional: nothing is missing, nothing blocks
    low = client.get(f"/models/{LOW}").text
    assert "No problems block approval" in low and "Not evidenced —" not in low


def test_an_executive_accepts_a_not_evidenced_check_through_the_form(client, keys, registry):
    page = _as(client, keys, "executive").get(f"/models/{MODEL}").text
    run_id = registry.model(MODEL)["latest_audit"]["id"]
    findings = registry.audit_run(run_id)["findings"]
    [select] = re.findall(r'<select id="accept-check" name="check">(.*?)</select>', page, re.S)
    offered = re.findall(r'<option value="([a-z_]+)"', select)
    assert set(offered) == {f["check"] for f in findings if f["status"] in ("fail", "not_evidenced")}
    assert len(offered) == 20 and "group_size" not in offered
    assert ">flip_test (not evidenced)<" in select and ">adverse_impact_ratio (fails)<" in select
    until = _days(30)
    reason = "The vendor scores the model; it runs the flip test and sends us the result"
    r = client.post(ACCEPT, data={"csrf": csrf_of(page), "check": "flip_test", "reason": reason, "until": until},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/models/{MODEL}?flash=accepted"
    [a] = registry.version(MODEL, "1.0")["acceptances"]
    assert (a["check"], a["accepted_by"], a["reason"], a["status"], a["until"][:10]) == \
        ("flip_test", "Eve Executive", reason, "active", until)

    html = client.get(r.headers["location"]).text
    assert "Your acceptance has been recorded" in html
    section = html[html.index('<h2 id="acceptances">'):html.index('<h2 id="reproductions">')]
    assert f"<td>flip_test</td><td>Eve Executive</td><td>{reason}</td>" in section and "In force" in section
    # the check no longer blocks approval; its findings move to the accepted ones, saying who and until when
    assert "Check flip_test is not evidenced" not in html and "Check benchmark is not evidenced" in html
    blocking = html[html.index("<h3>Problems that block approval (32)</h3>"):html.index("<h3>Accepted by an executive")]
    accepted = html[html.index("<h3>Accepted by an executive"):html.index("<h3>Warnings (8)</h3>")]
    assert "Flip test" not in blocking and "Benchmark" in blocking
    assert "Flip test" in accepted and f"Accepted by Eve Executive until {until}" in accepted
    assert f">flip_test (not evidenced; accepted until {until})<" in html  # offered again, saying so
    assert "Would run with: the model (--model) and its features." in accepted
    # the model card lists it, on the page and as downloaded
    card = html[html.index('<div class="card">'):html.index('<h2 id="versions">')]
    assert "Accepted findings (exceptions)" in card and reason in card
    md = client.get(f"/audits/{run_id}/model_card.md").text
    assert f"| flip_test | Eve Executive | {until} | active | {reason} |" in md
    assert f"Accepted flip_test on version 1.0 until {until}: {reason}" in html  # the trail


@pytest.mark.parametrize(("fields", "status", "message"), [
    ({"until": _days(400)}, 400, "days away; accept for at most a year"),
    ({"until": _days(0)}, 400, "is not in the future"),
    ({"until": ""}, 400, "is not a date; write it as YYYY-MM-DD"),
    ({"reason": "  "}, 400, "an acceptance needs a reason"),
    ({"check": "group_size"}, 409, "check &#39;group_size&#39; neither fails nor lacks evidence"),
])
def test_an_acceptance_the_registry_refuses_is_shown_on_the_form(client, keys, registry, fields, status, message):
    page = _as(client, keys, "executive").get(f"/models/{MODEL}")
    data = {"csrf": csrf_of(page.text), "check": "flip_test", "reason": "Scored by the vendor", "until": _days(30)}
    r = client.post(ACCEPT, data=data | fields)
    assert r.status_code == status and r.headers["content-type"].startswith("text/html")
    form = r.text[r.text.index(f'action="{ACCEPT}"'):]
    assert f'<div class="error" role="alert">Your acceptance was not recorded: ' in form and message in form
    assert f'<textarea id="accept-reason" name="reason">{(data | fields)["reason"]}</textarea>' in form  # kept
    assert f'name="until" value="{(data | fields)["until"]}"' in form
    assert registry.version(MODEL, "1.0")["acceptances"] == []


@pytest.mark.parametrize("role", ["executive", "viewer", "validator", "developer", "operator", "admin"])
def test_only_an_executive_gets_the_acceptance_form(client, keys, registry, role):
    page = _as(client, keys, role).get(f"/models/{MODEL}").text
    assert (f'action="{ACCEPT}"' in page) == (role == "executive")
    if role == "executive":
        low = client.get(f"/models/{LOW}").text
        assert "Nothing to accept: no check fails or lacks evidence" in low and "/accept" not in low
        return
    r = client.post(ACCEPT, data={"csrf": csrf_of(page), "check": "flip_test", "reason": "x", "until": _days(30)})
    assert r.status_code == 403 and "Your role does not allow this" in r.text
    assert "needs one of the roles: executive" in r.text
    assert registry.version(MODEL, "1.0")["acceptances"] == []


def test_reproductions_and_a_missing_one_the_tier_requires(client, keys, registry, compas_audit, monkeypatch):
    high = registry.policy.tiers["high"]
    monkeypatch.setitem(registry.policy.tiers, "high", dataclasses.replace(high, require_reproduction=True))
    run_id = registry.model(MODEL)["latest_audit"]["id"]
    html = _as(client, keys, "viewer").get(f"/models/{MODEL}").text
    section = html[html.index('<h2 id="reproductions">'):html.index('<h2 id="risk">')]
    assert f"requires a validator to reproduce the latest audit (#{run_id}) before approval" in section
    assert "still missing" in section and f"Audit #{run_id} has not been reproduced." in section
    assert f"The tier requires the latest audit (#{run_id}) to be reproduced by a validator" in html  # a blocker

    # A re-run whose verdict on one group differs, then a faithful one.
    made_now = datetime.now(timezone.utc).isoformat()  # re-runs are made after the audit was recorded
    rerun = dict(copy.deepcopy(compas_audit.report), created=made_now)
    smd = next(f for f in rerun["findings"] if f["check"] == "standardized_mean_difference" and f["status"] == "warn")
    smd["status"] = "pass"
    registry.record_reproduction(MODEL, "1.0", report=rerun, actor="Vera Validator")
    faithful = dict(copy.deepcopy(compas_audit.report), created=made_now)
    registry.record_reproduction(MODEL, "1.0", report=faithful, actor="Vera Validator")
    html = client.get(f"/models/{MODEL}").text
    section = html[html.index('<h2 id="reproductions">'):html.index('<h2 id="risk">')]
    assert "still missing" not in section and "requires a validator to reproduce the latest audit: done" in section
    rows = re.findall(r'<tr><td><span class="pill (ok|bad)">([^<]+)</span></td>\s*<td>([^<]*)</td><td>([^<]+)</td>',
                      section)
    assert [(css, outcome, who) for css, outcome, _, who in rows] == [
        ("bad", "Differs from the stored audit", "Vera Validator"), ("ok", "Reproduced", "Vera Validator")]
    assert rows[0][2].startswith(f"finding {smd['id']}: stored warn") and rows[1][2] == "—"
    assert "to be reproduced by a validator" not in html
    assert f"Reproduced audit #{run_id} of version 1.0" in html  # the trail
    assert f"Re-ran audit #{run_id} of version 1.0: it differs" in html


# --- incidents ----------------------------------------------------------------------------------------------------


def _open_incident(client, **fields) -> object:
    page = client.get(f"/models/{MODEL}")
    data = {"csrf": csrf_of(page.text), "title": "Complaints about bail decisions", "severity": "high",
            "description": "Three appeals this week", "version": "1.0"} | fields
    return client.post(f"/models/{MODEL}/incidents", data=data, follow_redirects=False)


def test_opening_and_working_an_incident(client, keys, registry):
    r = _open_incident(_as(client, keys, "operator"))
    assert r.status_code == 303
    incident_id = int(r.headers["location"].split("/")[2].split("?")[0])
    page = client.get(r.headers["location"])
    assert "The incident has been opened." in page.text
    assert "Complaints about bail decisions" in page.text and "Three appeals this week" in page.text
    assert 'name="done" value="0"' in page.text  # the checklist, as checkboxes in the update form

    r = client.post(f"/incidents/{incident_id}", data={"csrf": csrf_of(page.text), "note": "Routed to human review",
                                                      "status": "contained", "done": ["0", "1"]},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/incidents/{incident_id}?flash=updated"
    inc = registry.incident(incident_id)
    assert inc["status"] == "contained"
    assert [c["done"] for c in inc["checklist"][:3]] == [True, True, False]
    assert inc["checklist"][0]["by"] == "Olga Operator"
    assert inc["timeline"][-1]["text"] == "Routed to human review"
    html = client.get(r.headers["location"]).text
    assert "done by Olga Operator" in html and "Routed to human review" in html
    assert registry.model(MODEL)["open_incidents"] == 1


def test_resolving_without_a_note_is_shown_on_the_page(client, keys, registry):
    incident_id = registry.open_incident(MODEL, title="Drift", severity="low", actor="Olga Operator")["id"]
    registry.update_incident(incident_id, status="contained", actor="Olga Operator")
    page = _as(client, keys, "operator").get(f"/incidents/{incident_id}")
    r = client.post(f"/incidents/{incident_id}", data={"csrf": csrf_of(page.text), "status": "resolved"})
    assert r.status_code == 409 and "resolving an incident needs a note" in r.text
    assert registry.incident(incident_id)["status"] == "contained"


def test_an_incident_needs_a_title(client, keys, registry):
    r = _open_incident(_as(client, keys, "validator"), title=" ")
    assert r.status_code == 400 and "The incident was not opened: an incident needs a title" in r.text
    assert registry.incidents(model=MODEL) == []


def test_a_viewer_cannot_post_any_form(client, keys, registry):
    incident_id = registry.open_incident(MODEL, title="Drift", severity="low", actor="Olga Operator")["id"]
    token = csrf_of(_as(client, keys, "viewer").get("/").text)
    posts = {
        SIGNOFF: {"role": "viewer", "decision": "approve"},
        f"/models/{LOW}/versions/2.3/approve": {},
        ACCEPT: {"check": "flip_test", "reason": "x", "until": _days(30)},
        f"/models/{MODEL}/incidents": {"title": "x", "severity": "low"},
        f"/incidents/{incident_id}": {"note": "x"},
    }
    for url, data in posts.items():
        r = client.post(url, data=data | {"csrf": token})
        assert r.status_code == 403, url
        assert "Your role does not allow this" in r.text and "Victor Viewer may not do this" in r.text
    assert registry.model(MODEL)["versions"][0]["sign_offs"] == []
    assert registry.model(MODEL)["versions"][0]["acceptances"] == []
    assert registry.model(LOW)["latest_version_status"] == "registered"
    assert len(registry.incidents()) == 1 and len(registry.incident(incident_id)["timeline"]) == 1
    page = client.get(f"/incidents/{incident_id}").text
    assert 'action="/incidents/' not in page and "disabled" in page


# --- errors and the rules every page keeps ---------------------------------------------------------------------


@pytest.mark.parametrize(("path", "status", "text"), [
    ("/models/no-such-model", 404, "no model named &#39;no-such-model&#39;"),
    ("/incidents/999", 404, "no incident 999"),
    ("/incidents/abc", 400, "That address or form was not understood"),
])
def test_errors_are_friendly_html_pages(client, keys, path, status, text):
    r = _as(client, keys, "viewer").get(path)
    assert r.status_code == status
    assert r.headers["content-type"].startswith("text/html")
    assert text in r.text and "Back to the model inventory" in r.text


def _every_page(client, keys, registry) -> dict[str, str]:
    incident_id = registry.open_incident(MODEL, title="Drift", severity="low", actor="Olga Operator")["id"]
    pages = {"/login": client.get("/login").text}
    _as(client, keys, "admin")
    for path in ("/", f"/models/{MODEL}", f"/models/{LOW}", f"/incidents/{incident_id}", "/models/nothing"):
        pages[path] = client.get(path).text
    return pages


def test_pages_fetch_nothing_from_the_network(client, keys, registry):
    for path, html in _every_page(client, keys, registry).items():
        lowered = html.lower()
        for needle in ('src="http', "src='http", 'href="http', "href='http", "<script", "<link", "@import", "url("):
            assert needle not in lowered, (path, needle)


def test_pages_send_safety_headers(client, keys):
    r = _as(client, keys, "viewer").get(f"/models/{MODEL}")
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'self'" in csp and "form-action 'self'" in csp
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["x-content-type-options"] == "nosniff"


def test_text_from_the_registry_is_escaped(client, keys, registry):
    registry.open_incident(MODEL, title="<script>alert(1)</script>", severity="low", actor="Olga Operator")
    html = _as(client, keys, "viewer").get(f"/models/{MODEL}").text
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_bug_still_answers_with_a_page(client, keys, registry, monkeypatch):
    _as(client, keys, "viewer")
    monkeypatch.setattr(registry, "models", lambda **kw: 1 / 0)
    r = client.get("/")
    assert r.status_code == 500 and r.headers["content-type"].startswith("text/html")
    assert "Something went wrong" in r.text and "ZeroDivisionError" not in r.text
