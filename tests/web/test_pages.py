"""The web pages through an in-process HTTP client, against a real registry on a SQLite file."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from steward.web._auth import COOKIE
from tests.web.conftest import LOW, MODEL, csrf_of, login

SIGNOFF = f"/models/{MODEL}/versions/1.0/signoff"


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
    assert "FAILED" in html and "16 failing checks, 8 warnings" in html
    assert "PASSED" in html
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
    assert "FAILED" in html and "16 failing checks, 8 warnings" in html
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
    assert "failed the policy (16 failing finding(s))." in html
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
        f"/models/{MODEL}/incidents": {"title": "x", "severity": "low"},
        f"/incidents/{incident_id}": {"note": "x"},
    }
    for url, data in posts.items():
        r = client.post(url, data=data | {"csrf": token})
        assert r.status_code == 403, url
        assert "Your role does not allow this" in r.text and "Victor Viewer may not do this" in r.text
    assert registry.model(MODEL)["versions"][0]["sign_offs"] == []
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
