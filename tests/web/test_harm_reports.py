"""Harm reports from outside: filed without a key (API and the public page), followed with the reporter's
token, triaged into incidents by operators, throttled per address; and the triage page."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from fastapi.testclient import TestClient

from steward.governance import _trail
from steward.governance._tables import Deployment, Prediction, Version, now
from steward.web import create_app
from tests.web.conftest import LOW, MODEL, csrf_of, login

API = "/api/harm-reports"
PREDICTION = "p0193f2c4a7b8e9d0c1a2b3c4"
MARKUP = '<script>alert("x")</script><b>bold</b> & more'


def _key(keys, role):
    return {"X-API-Key": keys[role]}


def _file(client, what="The model refused my loan because of my postcode.", **fields):
    r = client.post(API, json={"what": what, **fields})
    assert r.status_code == 201, r.text
    return r.json()


def _payload(entry):
    return json.loads(entry["payload"]) if isinstance(entry["payload"], str) else entry["payload"]


def _trail_of(registry, report_id):
    return list(reversed(registry.trail(subject=f"harm_report:{report_id}")))


def _elsewhere(client, address):
    """A client of the same app sending from another address."""
    return TestClient(client.app, client=(address, 50000))


def _log_prediction(registry):
    """A deployment of the triage helper with one logged decision (rows written as the registry would)."""
    with registry.tx() as s:
        v = s.query(Version).filter(Version.version == "2.3").one()
        d = Deployment(name="triage-live", version_id=v.id, guard={}, status="active", killed=False, kill_reason="",
                       created_by="setup")
        s.add(d)
        s.flush()
        _trail.append(s, "setup", "deployment.create", "deployment:triage-live", {"version": f"{LOW}:2.3"})
        s.add(Prediction(id=PREDICTION, deployment_id=d.id, version_id=v.id, key_id="k", inputs_sha256="0" * 64,
                         route="model", decision=0, created_at=now()))


# --- the API ----------------------------------------------------------------------------------------------


def test_a_report_filed_without_a_key_is_triaged_into_an_incident_and_the_reporter_sees_the_outcome(
        client, registry, keys):
    filed = _file(client, contact="reporter@example.org")
    assert filed["status"] == "new" and filed["duplicate"] is False and len(filed["token"]) == 40
    assert filed["status_url"] == f"/report-harm/status?id={filed['id']}&token={filed['token']}"

    # the reporter's view: status and outcome only, with the token
    mine = client.get(f"{API}/{filed['id']}", params={"token": filed["token"]})
    assert mine.status_code == 200
    assert set(mine.json()) == {"id", "status", "outcome", "created_at", "updated_at"}
    assert mine.json()["status"] == "new" and mine.json()["outcome"] == ""
    wrong = client.get(f"{API}/{filed['id']}", params={"token": "0" * 40})
    unknown = client.get(f"{API}/999", params={"token": filed["token"]})
    assert wrong.status_code == unknown.status_code == 404
    assert wrong.json()["error"].replace(str(filed["id"]), "N") == unknown.json()["error"].replace("999", "N")

    # the triage queue, for operators: the report with its contact
    queue = client.get(API, headers=_key(keys, "operator"))
    assert queue.status_code == 200
    (row,) = queue.json()
    assert row["contact"] == "reporter@example.org" and row["status"] == "new" and row["incident"] is None

    # triaged into a new incident on the model
    r = client.post(f"{API}/{filed['id']}/triage", headers=_key(keys, "operator"), json={
        "open_incident": {"model": MODEL, "title": "Reported: loans refused by postcode", "severity": "high"}})
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["status"] == "triaged" and report["incident"]["model"] == MODEL
    incident = registry.incident(report["incident_id"])
    assert incident["title"] == "Reported: loans refused by postcode" and incident["opened_by"] == "Olga Operator"
    assert any(f"Harm report #{filed['id']}" in e["text"] for e in incident["timeline"])
    assert "postcode" not in incident["description"]  # the report's text stays with the triagers

    # the outcome, and closing: the reporter sees both
    r = client.post(f"{API}/{filed['id']}/triage", headers=_key(keys, "operator"),
                    json={"outcome": "We found the fault and stopped the model.", "status": "closed"})
    assert r.status_code == 200 and r.json()["status"] == "closed"
    mine = client.get(f"{API}/{filed['id']}", params={"token": filed["token"]}).json()
    assert mine["status"] == "closed" and mine["outcome"] == "We found the fault and stopped the model."

    # every change is in the trail, without the report's text or contact; the trail verifies
    entries = _trail_of(registry, filed["id"])
    assert [(e["actor"], e["action"]) for e in entries] == [
        ("public (harm report)", "harm.report"), ("Olga Operator", "harm.triage"), ("Olga Operator", "harm.triage")]
    assert _payload(entries[1])["incident_id"] == incident["id"] and _payload(entries[2])["status"] == "closed"
    opened = registry.trail(subject=f"incident:{incident['id']}")
    assert opened[-1]["action"] == "incident.open" and _payload(opened[-1])["harm_report"] == filed["id"]
    assert not any("postcode" in json.dumps(e) or "reporter@" in json.dumps(e) for e in entries)
    assert registry.verify_trail().ok


def test_a_report_is_linked_to_an_existing_incident_and_closing_needs_an_outcome(client, registry, keys):
    inc = registry.open_incident(LOW, title="Tickets misrouted", severity="medium", actor="Olga Operator")
    filed = _file(client)
    op = _key(keys, "operator")
    assert client.post(f"{API}/{filed['id']}/triage", headers=op, json={"incident_id": 99999}).status_code == 404
    both = client.post(f"{API}/{filed['id']}/triage", headers=op, json={
        "incident_id": inc["id"], "open_incident": {"model": LOW, "title": "t", "severity": "low"}})
    assert both.status_code == 400 and "not both" in both.json()["error"]
    closing = client.post(f"{API}/{filed['id']}/triage", headers=op, json={"status": "closed"})
    assert closing.status_code == 409 and "needs an outcome" in closing.json()["error"]
    assert client.post(f"{API}/{filed['id']}/triage", headers=op, json={}).status_code == 400
    assert client.post(f"{API}/{filed['id']}/triage", headers=op, json={"status": "new"}).status_code == 400
    r = client.post(f"{API}/{filed['id']}/triage", headers=_key(keys, "admin"), json={"incident_id": inc["id"]})
    assert r.status_code == 200 and r.json()["incident_id"] == inc["id"] and r.json()["status"] == "triaged"
    assert client.get(API, params={"status": "triaged"}, headers=op).json()[0]["id"] == filed["id"]
    assert client.get(API, params={"status": "new"}, headers=op).json() == []
    assert registry.verify_trail().ok


@pytest.mark.parametrize("role", ["viewer", "developer", "validator", "executive"])
def test_only_operators_and_administrators_read_and_triage_reports(client, keys, role):
    filed = _file(client)
    assert client.get(API, headers=_key(keys, role)).status_code == 403
    r = client.post(f"{API}/{filed['id']}/triage", headers=_key(keys, role), json={"outcome": "x"})
    assert r.status_code == 403 and "needs one of the roles: operator, admin" in r.json()["error"]
    assert client.get(API).status_code == 401
    assert client.post(f"{API}/{filed['id']}/triage", json={"outcome": "x"}).status_code == 401


def test_reports_repeated_from_one_address_are_throttled(client, registry):
    for i in range(3):
        _file(client, what=f"Report number {i}")
    r = client.post(API, json={"what": "A fourth report"})
    assert r.status_code == 429
    assert r.json() == {"ok": False, "status": 429, "error": r.json()["error"]}
    assert "too many harm reports from your address" in r.json()["error"]
    assert 150 <= int(r.headers["Retry-After"]) <= 200  # one report every 200 seconds once the burst is spent
    # the public page shares the bucket
    page = client.get("/report-harm")
    sent = client.post("/report-harm", data={"what": "From the page", "csrf": csrf_of(page.text)})
    assert sent.status_code == 429 and int(sent.headers["Retry-After"]) >= 150
    assert "too many harm reports" in sent.text and "From the page" in sent.text  # the text is kept for later
    # another address is not held up; nothing throttled was stored
    with _elsewhere(client, "203.0.113.7") as other:
        assert other.post(API, json={"what": "From elsewhere"}).status_code == 201
    assert len(registry.harm_reports()) == 4


def test_an_ipv6_sender_is_throttled_by_its_network():
    from types import SimpleNamespace

    from steward.web.routers.harm import sender

    def of(host):
        return sender(SimpleNamespace(client=SimpleNamespace(host=host)))

    assert of("2001:db8:1:2:aaaa::1") == of("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert of("2001:db8:1:3::1") != of("2001:db8:1:2::1")
    assert of("::ffff:198.51.100.4") == of("198.51.100.4") == "198.51.100.4"
    assert of("testclient") == "testclient"


def test_the_same_report_sent_twice_answers_the_first(client, registry):
    first = _file(client, what="Same words")
    again = client.post(API, json={"what": "  Same words "})
    assert again.status_code == 200
    assert again.json() | {"duplicate": False} == first and again.json()["duplicate"] is True
    with _elsewhere(client, "203.0.113.8") as other:  # from another address it is a report of its own
        assert other.post(API, json={"what": "Same words"}).json()["id"] != first["id"]
    assert len(registry.harm_reports()) == 2


@pytest.mark.parametrize("body, field", [
    ({"what": ""}, "what"), ({"what": "   \n "}, "what"), ({}, "what"), ({"what": "x" * 5001}, "what"),
    ({"what": "ok", "contact": "c" * 501}, "contact"), ({"what": "ok", "prediction_id": "<img src=x>"}, "prediction_id"),
    ({"what": "ok", "prediction_id": "p" * 41}, "prediction_id"), ({"what": "bad\x00text"}, "what"),
    ({"what": "ok", "secret": 1}, "secret"),
])
def test_input_is_checked_and_mistakes_are_not_counted_against_the_sender(client, registry, body, field):
    for _ in range(4):
        r = client.post(API, json=body)
        assert r.status_code == 400, r.text
        assert r.json()["error"].startswith(f"{field}:"), r.json()["error"]
    for i in range(3):  # the bucket is still full
        _file(client, what=f"valid {i}")
    assert registry.harm_reports()[-1]["what"] == "valid 0"


def test_a_prediction_id_is_never_confirmed_to_the_reporter(client, registry, keys):
    _log_prediction(registry)
    known = _file(client, what="Refused", prediction_id=PREDICTION)
    with _elsewhere(client, "198.51.100.20") as other:
        unknown = other.post(API, json={"what": "Refused", "prediction_id": "p" + "f" * 24})
    assert unknown.status_code == 201 and set(unknown.json()) == set(known)
    assert {k: v for k, v in unknown.json().items() if k not in ("id", "token", "status_url")} == \
           {k: v for k, v in known.items() if k not in ("id", "token", "status_url")}
    by_id = {r["id"]: r for r in client.get(API, headers=_key(keys, "operator")).json()}
    k, u = by_id[known["id"]], by_id[unknown.json()["id"]]
    assert (k["prediction_known"], k["deployment"], k["model"], k["version"]) == (True, "triage-live", LOW, "2.3")
    assert (u["prediction_known"], u["deployment"], u["model"]) == (False, None, None)
    # an incident opened without naming a model is on the reported decision's model and version
    r = client.post(f"{API}/{known['id']}/triage", headers=_key(keys, "operator"),
                    json={"open_incident": {"title": "Refused by the helper", "severity": "low"}})
    assert r.status_code == 200 and (r.json()["incident"]["model"], r.json()["incident"]["version"]) == (LOW, "2.3")
    r = client.post(f"{API}/{unknown.json()['id']}/triage", headers=_key(keys, "operator"),
                    json={"open_incident": {"title": "t", "severity": "low"}})
    assert r.status_code == 400 and r.json()["error"].startswith("open_incident.model:")
    assert registry.verify_trail().ok


def test_a_report_through_a_real_server(registry, keys):
    from tests.serving._setup import ServerThread

    server = ServerThread(create_app(registry))
    try:
        with httpx.Client(base_url=server.url, timeout=10) as http:
            r = http.post(API, json={"what": "Seen on the news: refusals by postcode", "contact": "desk@news.example"})
            assert r.status_code == 201, r.text
            filed = r.json()
            page = http.get(filed["status_url"])
            assert page.status_code == 200 and "Received, not yet looked at" in page.text
            assert http.get(f"{API}/{filed['id']}", params={"token": filed["token"]}).json()["status"] == "new"
            assert http.get(f"{API}/{filed['id']}", params={"token": "nope"}).status_code == 404
            queue = http.get(API, headers=_key(keys, "operator")).json()
            assert queue[0]["contact"] == "desk@news.example"
    finally:
        server.stop()
    digest = registry.harm_address_digest("127.0.0.1")
    with registry.tx() as s:
        from steward.governance._tables import HarmReport

        stored = s.get(HarmReport, filed["id"])
        assert stored.address_sha256 == digest and "127.0.0.1" not in json.dumps(
            {c: str(getattr(stored, c)) for c in ("what", "contact", "address_sha256", "deployment")})


# --- the pages ----------------------------------------------------------------------------------------------


def test_the_public_page_files_a_report_without_login_and_shows_the_status_link(client, registry):
    page = client.get("/report-harm", follow_redirects=False)
    assert page.status_code == 200 and 'action="/report-harm"' in page.text
    assert 'name="what"' in page.text and 'name="prediction_id"' in page.text and 'name="contact"' in page.text
    assert '<a href="/report-harm">Report a harm</a>' in page.text  # in the navigation of a stranger
    assert "<script" not in page.text.lower()
    assert "steward_report" in page.cookies
    r = client.post("/report-harm", data={"what": MARKUP, "contact": "me@example.org", "csrf": csrf_of(page.text)})
    assert r.status_code == 200, r.text
    number = re.search(r'id="report-number">(\d+)<', r.text).group(1)
    link = re.search(r'<a href="(/report-harm/status\?id=\d+&amp;token=[0-9a-f]{40})" id="status-link">', r.text)
    assert link and f"id={number}&amp;" in link.group(1)
    status = client.get(link.group(1).replace("&amp;", "&"))
    assert status.status_code == 200 and f"Report {number}" in status.text
    assert "Received, not yet looked at" in status.text and MARKUP not in status.text  # the report is not shown
    bad = client.get(f"/report-harm/status?id={number}&token={'0' * 40}")
    assert bad.status_code == 404 and "no harm report" in bad.text
    assert client.get("/report-harm/status?id=abc&token=x").status_code == 404
    assert 'name="token"' in client.get("/report-harm/status").text  # a form to enter number and token
    (stored,) = registry.harm_reports()
    assert stored["what"] == MARKUP and stored["contact"] == "me@example.org"


def test_the_public_form_needs_its_own_token_and_cookie(client, registry):
    page = client.get("/report-harm")
    token = csrf_of(page.text)
    r = client.post("/report-harm", data={"what": "Forged"})  # no token: as from another site
    assert r.status_code == 403 and "did not come from this site" in r.text and "Forged" in r.text
    r = client.post("/report-harm", data={"what": "Forged", "csrf": "0" * 64})
    assert r.status_code == 403
    client.cookies.clear()  # the token without its cookie (a cross-site POST does not carry it)
    r = client.post("/report-harm", data={"what": "Forged", "csrf": token})
    assert r.status_code == 403
    assert registry.harm_reports() == []
    # a mistake is shown with the form, keeping what was written
    page = client.get("/report-harm")
    r = client.post("/report-harm", data={"what": " ", "contact": "kept@example.org", "csrf": csrf_of(page.text)})
    assert r.status_code == 400 and "what: is empty" in r.text and 'value="kept@example.org"' in r.text
    assert registry.harm_reports() == []


def test_the_triage_page_lists_reports_safely_and_triages_them(client, registry, keys):
    filed = _file(client, what=MARKUP, contact='"><img src=x onerror=alert(1)>')
    assert client.get("/harm-reports", follow_redirects=False).status_code == 303  # log in first
    login(client, keys["operator"])
    page = client.get("/harm-reports")
    assert page.status_code == 200
    html = page.text
    assert '<a href="/harm-reports">Harm reports</a>' in html
    assert f'id="report-{filed["id"]}"' in html
    assert "<script>alert" not in html and "<b>bold</b>" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt; &amp; more" in html
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in html
    csrf = csrf_of(html)
    # without the session's CSRF token nothing changes
    r = client.post(f"/harm-reports/{filed['id']}", data={"action": "outcome", "outcome": "x"})
    assert r.status_code == 403 and registry.harm_report(filed["id"])["status"] == "new"
    # open an incident from the page
    r = client.post(f"/harm-reports/{filed['id']}", follow_redirects=False, data={
        "csrf": csrf, "action": "open", "model": MODEL, "title": "Reported harm", "severity": "high"})
    assert r.status_code == 303 and r.headers["location"].startswith("/harm-reports?view=open&flash=opened")
    report = registry.harm_report(filed["id"])
    assert report["status"] == "triaged" and report["incident"]["title"] == "Reported harm"
    html = client.get(r.headers["location"]).text
    assert f'<a href="/incidents/{report["incident_id"]}">Incident {report["incident_id"]}: Reported harm</a>' in html
    # a refusal is shown at the report, keeping the form
    r = client.post(f"/harm-reports/{filed['id']}", data={"csrf": csrf, "action": "outcome", "outcome": "",
                                                        "status": "closed"})
    assert r.status_code == 409 and "needs an outcome" in r.text
    # the outcome, with markup, and closing; the reporter reads it as text
    r = client.post(f"/harm-reports/{filed['id']}", follow_redirects=False, data={
        "csrf": csrf, "action": "outcome", "outcome": "Fixed <i>now</i>", "status": "closed"})
    assert r.status_code == 303
    status = client.get(filed["status_url"]).text
    assert "Fixed &lt;i&gt;now&lt;/i&gt;" in status and "<i>now</i>" not in status
    assert f'id="report-{filed["id"]}"' not in client.get("/harm-reports").text  # closed: not in the open view
    assert f'id="report-{filed["id"]}"' in client.get("/harm-reports?view=closed").text
    assert client.post("/harm-reports/999", data={"csrf": csrf, "action": "outcome", "outcome": "x"}).status_code == 404


def test_a_viewer_cannot_see_the_triage_page(client, keys):
    _file(client)
    login(client, keys["viewer"])
    r = client.get("/harm-reports")
    assert r.status_code == 403 and "harm_triage" not in r.text
    assert '<a href="/harm-reports">' not in client.get("/").text  # not offered in the navigation
    r = client.post("/harm-reports/1", data={"csrf": csrf_of(client.get("/").text), "action": "outcome",
                                             "outcome": "x"})
    assert r.status_code == 403
