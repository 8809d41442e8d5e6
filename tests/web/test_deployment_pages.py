"""The deployment pages and their kill switch, through an in-process HTTP client, against a registry with
a deployed LightGBM model and decisions logged through its guarded endpoint."""

from __future__ import annotations

import json
import re
from urllib.parse import quote

import pytest
from markupsafe import escape

from tests.web._deployed import DEPLOYMENT, OPERATOR, dep_client, dep_registry, deployed, predict  # noqa: F401
from tests.web.conftest import csrf_of, login

PAGE = f"/deployments/{DEPLOYMENT}"
KILL, REVIVE = f"{PAGE}/kill", f"{PAGE}/revive"


def _as(client, deployed, role):  # noqa: F811 - deployed: the fixture's value
    login(client, deployed.keys[role])
    return client


def _trail(registry, action):
    return [e for e in registry.trail(subject=f"deployment:{DEPLOYMENT}") if e["action"] == action]


@pytest.mark.parametrize("path", ["/deployments", PAGE])
def test_the_pages_send_a_stranger_to_the_login_form(dep_client, path):
    r = dep_client.get(path, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=" + quote(path, safe="")


def test_the_list_shows_each_deployment_with_its_switch_routes_and_reviews(dep_client, dep_registry, deployed):
    d = dep_registry.deployment(DEPLOYMENT)
    assert d["open_reviews"] > 0 and set(d["routes"]) >= {"model", "review"}  # the fixture's traffic
    html = _as(dep_client, deployed, "viewer").get("/deployments").text
    assert '<a href="/deployments">Deployments</a>' in html  # in the navigation
    assert f'<a href="/deployments/{DEPLOYMENT}"><strong>{DEPLOYMENT}</strong></a>' in html
    assert '<a href="/models/credit">credit</a> 1.0' in html
    assert "credit:0.8" in html and "credit:0.9" in html
    assert '<span class="pill ok">Live</span>' in html
    assert f"Model: {d['routes']['model']:,}" in html and f"Sent to review: {d['routes']['review']:,}" in html
    assert f'<span class="pill warn">{d["open_reviews"]:,}</span>' in html
    assert "<script" not in html.lower()


def test_the_deployment_page_shows_what_serves_the_guard_decisions_reviews_and_history(dep_client, dep_registry,
                                                                                      deployed):
    d = dep_registry.deployment(DEPLOYMENT)
    r = _as(dep_client, deployed, "viewer").get(PAGE)
    assert r.status_code == 200
    html = r.text
    assert f"<h1>{DEPLOYMENT}</h1>" in html
    # what serves, linked to the model's page
    assert '<a href="/models/credit">credit</a> version 1.0' in html
    assert '<a href="/models/credit">credit</a> version 0.8' in html  # the backup
    assert '<a href="/models/credit">credit</a> version 0.9' in html  # the benchmark
    # the guard settings in force, in words
    for text in ("Off: no limit on requests.", "250 ms: when the model is slower than this, or fails, the backup "
                 "(credit:0.8) answers", "anomalous row: refuse the row (HTTP 422)",
                 "the benchmark decides otherwise", "within 24 hours gets the same decision again",
                 "every request gets the interim adverse decision (0), and each request goes to a person&#39;s review",
                 "race, sex: recorded with each decision for monitoring", "kept for 365 days"):
        assert text in html, text
    # decisions by route: a chart drawn on the page, and the counts
    assert '<div class="chart"><svg' in html and "Decisions by route: Model" in html
    assert d["predictions"] == 40 and f"{d['predictions']} decisions logged" in html
    # the latest decisions, newest first
    log = dep_registry.prediction_log(DEPLOYMENT)
    ids = re.findall(r"<td><code>(p[0-9a-f]{24})</code></td>\s*<td class=\"small\">credit:", html)
    assert ids == [p["prediction_id"] for p in reversed(log)]
    # the open review items, with why
    reviews = dep_registry.review_queue(deployment=DEPLOYMENT)
    assert len(reviews) == d["open_reviews"] > 0
    assert all(f"#{item['id']}" in html for item in reviews)
    assert "the benchmark decides otherwise" in html
    # the deployment it replaced
    history = html[html.index('id="history"'):]
    assert "<td>#1</td>" in history and "live when replaced" in history
    assert '<a href="/models/credit">credit</a> version 1.0' in history and "<td>#2</td>" not in history
    # a viewer sees the state, not the switch
    assert 'action="/deployments/credit-live/kill"' not in html and 'name="reason"' not in html
    assert "Only an operator or an administrator can pull the kill switch." in html
    assert "<script" not in html.lower()


def test_the_page_shows_the_latest_fifty_decisions(dep_client, dep_registry, deployed):
    predict(dep_client, deployed.keys["caller"], deployed.test_rows[40:60])
    html = _as(dep_client, deployed, "viewer").get(PAGE).text
    log = dep_registry.prediction_log(DEPLOYMENT)
    assert len(log) == 60
    shown = re.findall(r"<td><code>(p[0-9a-f]{24})</code></td>\s*<td class=\"small\">credit:", html)
    assert shown == [p["prediction_id"] for p in reversed(log)][:50]
    assert "The 50 most recent of 60, newest first." in " ".join(html.split())


def test_an_operator_pulls_the_kill_switch_and_revives_the_deployment(dep_client, dep_registry, deployed):
    page = _as(dep_client, deployed, "operator").get(PAGE).text
    assert 'action="/deployments/credit-live/kill"' in page and 'name="reason" required' in page
    reason = "Complaints about declined applications from one region"
    r = dep_client.post(KILL, data={"csrf": csrf_of(page), "reason": reason}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"{PAGE}?flash=killed"

    d = dep_registry.deployment(DEPLOYMENT)
    assert (d["killed"], d["kill_reason"], d["killed_by"]) == (True, reason, OPERATOR)
    [entry] = _trail(dep_registry, "deployment.kill")
    assert entry["actor"] == OPERATOR and json.loads(entry["payload"])["reason"] == reason

    html = dep_client.get(r.headers["location"]).text
    assert "The kill switch is pulled" in html  # the flash
    banner = html[html.index('<div class="banner" role="alert" id="killed">'):html.index('id="kill-switch"')]
    assert "KILL SWITCH PULLED" in banner and reason in banner and f"<strong>{OPERATOR}</strong>" in banner
    assert 'action="/deployments/credit-live/revive"' in banner
    assert 'action="/deployments/credit-live/kill"' not in html
    assert "Killed" in dep_client.get("/deployments").text
    # the guarded endpoint now answers with the safe default
    [answer] = predict(dep_client, deployed.keys["caller"], deployed.test_rows[:1])
    assert answer["route"] == "kill_switch" and answer["decision"] == 0

    r = dep_client.post(REVIVE, data={"csrf": csrf_of(html)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"{PAGE}?flash=revived"
    assert dep_registry.deployment(DEPLOYMENT)["killed"] is False
    [entry] = _trail(dep_registry, "deployment.revive")
    assert entry["actor"] == OPERATOR
    html = dep_client.get(r.headers["location"]).text
    assert "The deployment is live again" in html and 'id="killed"' not in html
    assert 'action="/deployments/credit-live/kill"' in html


@pytest.mark.parametrize(("reason", "message"), [
    ("", "give a reason, so others know why decisions stopped"),
    ("   ", "give a reason, so others know why decisions stopped"),
    ("x" * 2001, "the reason is 2,001 characters long; give at most 2,000"),
])
def test_the_kill_switch_needs_a_reason(dep_client, dep_registry, deployed, reason, message):
    page = _as(dep_client, deployed, "operator").get(PAGE).text
    r = dep_client.post(KILL, data={"csrf": csrf_of(page), "reason": reason})
    assert r.status_code == 400 and f"The kill switch was not pulled: {message}." in r.text
    assert 'action="/deployments/credit-live/kill"' in r.text  # the form is there to try again
    assert dep_registry.deployment(DEPLOYMENT)["killed"] is False and not _trail(dep_registry, "deployment.kill")


def test_a_viewer_sees_the_state_but_cannot_pull_or_release_the_switch(dep_client, dep_registry, deployed):
    page = _as(dep_client, deployed, "viewer").get(PAGE).text
    token = csrf_of(page)
    r = dep_client.post(KILL, data={"csrf": token, "reason": "forged"})
    assert r.status_code == 403
    assert "Your role does not allow this" in r.text and "Victor Viewer may not do this" in r.text
    assert dep_registry.deployment(DEPLOYMENT)["killed"] is False and not _trail(dep_registry, "deployment.kill")

    dep_registry.kill(DEPLOYMENT, reason="Drift in the inputs", actor=OPERATOR)
    html = dep_client.get(PAGE).text
    assert "KILL SWITCH PULLED" in html and "Drift in the inputs" in html
    assert 'action="/deployments/credit-live/revive"' not in html and "Only an operator or an administrator can revive it." in html
    r = dep_client.post(REVIVE, data={"csrf": token})
    assert r.status_code == 403 and dep_registry.deployment(DEPLOYMENT)["killed"] is True


@pytest.mark.parametrize("token", [None, "", "0" * 64])
def test_the_switch_needs_this_sessions_token(dep_client, dep_registry, deployed, token):
    _as(dep_client, deployed, "operator")
    data = {"reason": "no token"} | ({} if token is None else {"csrf": token})
    r = dep_client.post(KILL, data=data)
    assert r.status_code == 403 and "This form has expired" in r.text
    assert dep_registry.deployment(DEPLOYMENT)["killed"] is False
    dep_registry.kill(DEPLOYMENT, reason="Drift", actor=OPERATOR)
    assert dep_client.post(REVIVE, data={} if token is None else {"csrf": token}).status_code == 403
    assert dep_registry.deployment(DEPLOYMENT)["killed"] is True


def test_a_switch_already_pulled_is_said_so_on_the_page(dep_client, dep_registry, deployed):
    page = _as(dep_client, deployed, "operator").get(PAGE).text
    dep_registry.kill(DEPLOYMENT, reason="Drift", actor="Ada Admin")  # someone else was quicker
    r = dep_client.post(KILL, data={"csrf": csrf_of(page), "reason": "Drift too"})
    assert r.status_code == 409 and "The kill switch was not pulled" in r.text and "already killed" in r.text
    assert "<strong>Ada Admin</strong>" in r.text
    assert dep_registry.deployment(DEPLOYMENT)["kill_reason"] == "Drift"


def test_an_unknown_deployment_is_a_friendly_page(dep_client, deployed):
    r = _as(dep_client, deployed, "operator").get("/deployments/no-such-thing")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert "no active deployment named &#39;no-such-thing&#39;" in r.text
    r = dep_client.post("/deployments/no-such-thing/kill", data={"csrf": csrf_of(r.text), "reason": "x"})
    assert r.status_code == 404 and "no active deployment named" in r.text


def test_text_with_markup_is_escaped(dep_client, dep_registry, deployed):
    reason, who = "<script>alert(1)</script> & <b>bold</b>", "<img src=x onerror=alert(2)>"
    dep_registry.kill(DEPLOYMENT, reason=reason, actor=who)
    _as(dep_client, deployed, "viewer")
    for path in (PAGE, "/deployments", "/models/credit"):
        html = dep_client.get(path).text
        assert "<script>alert(1)" not in html and "<img src=x" not in html and "<b>bold</b>" not in html, path
        assert str(escape(reason)) in html, path
    assert str(escape(who)) in dep_client.get(PAGE).text
    r = dep_client.get("/deployments/" + quote("<svg onload=alert(3)>", safe=""))
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert "<svg onload" not in r.text and "&lt;svg onload=alert(3)&gt;" in r.text


def test_the_model_page_lists_its_active_deployments(dep_client, dep_registry, deployed):
    html = _as(dep_client, deployed, "viewer").get("/models/credit").text
    section = html[html.index('<h2 id="deployments">'):html.index('<h2 id="incidents">')]
    assert f'<a href="/deployments/{DEPLOYMENT}"><strong>{DEPLOYMENT}</strong></a>' in section
    assert "<td>1.0</td>" in section and '<span class="pill ok">Live</span>' in section
    assert '<a href="#deployments">Deployments</a>' in html
