"""The standards console over HTTP: GET /api/standards as JSON, CSV and Markdown that agree, the digest and
posting it to a loopback webhook only when the operator allows that URL (STEWARD_DIGEST_WEBHOOKS), teams and
members, a model's owner team, acknowledging a monitor's alert, the read-only governance role, and the
remote client against a real server on loopback."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pandas as pd
import pytest

from steward.errors import ConflictError, NotFoundError, StewardError
from steward.governance import RemoteRegistry
from steward.governance._permissions import PERMISSIONS
from steward.governance._standards_report import CSV_COLUMNS, WEBHOOK_SECRET_ENV
from steward.web.routers.standards import WEBHOOKS_ENV
from tests.web.conftest import LOW, MODEL
from tests.web.test_api import PUBLIC_ROUTES, ROUTES, fill

TEAM = "Risk & Fairness"  # a name with a space and an ampersand, as people name teams
OTHER = "Support Tools"


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def check_shape(r, status: int) -> str:
    body = r.json()
    assert r.status_code == status and body == {"ok": False, "error": body["error"], "status": status}, r.text
    return body["error"]


@pytest.fixture()
def gov(registry) -> str:
    """A key of the central team (role governance)."""
    return registry.create_key("Gina Governance", ["governance"], actor="setup")["key"]


@pytest.fixture()
def teams(registry):
    """Two teams: COMPAS owned by one (with the developer as a member), the triage helper by the other."""
    registry.create_team(TEAM, contact="rf@example.org", actor="setup", description="the credit and justice models")
    registry.create_team(OTHER, contact="#support-tools", actor="setup")
    registry.add_team_member(TEAM, "Dev Developer", actor="setup")
    registry.set_model_team(MODEL, TEAM, actor="setup")
    registry.set_model_team(LOW, OTHER, actor="setup")


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


# --- the report in three formats ----------------------------------------------------------------------


def test_json_csv_and_markdown_of_the_standards_agree(client, keys, teams):
    at = _now()  # one instant for the three requests, so they judge the same moment
    h = auth(keys["viewer"])
    r = client.get("/api/standards", params={"at": at}, headers=h)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json"), r.text
    report = r.json()
    assert report["schema"] == "steward.standards/1" and report["at"] == at and report["team"] is None
    assert {m["model"]: m["team"] for m in report["models"]} == {MODEL: TEAM, LOW: OTHER}
    assert report["summary"]["models"] == 2 and report["summary"]["shortfalls"] == len(report["shortfalls"]) > 0

    r = client.get("/api/standards", params={"at": at, "format": "csv"}, headers=h)
    assert r.status_code == 200 and r.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(r.text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    expected = [[m["model"], m["team"] or "", m["tier"] or "", m["status"], x["rule"], x["status"], x["severity"] or "",
                 x["since"] or "", x["lapses_at"] or "", x["why"]] for m in report["models"] for x in m["rules"]]
    assert rows[1:] == expected and len(expected) == 2 * len(report["rules"])

    r = client.get("/api/standards", params={"at": at, "format": "md"}, headers=h)
    assert r.status_code == 200 and r.headers["content-type"] == "text/markdown; charset=utf-8"
    md = r.text
    s = report["summary"]
    assert f"**{s['models']} models: {s['falls_short']} fall short, {s['due_soon']} due soon, {s['met']} meet" in md
    short = md.split("## Falls short")[1].split("## Teams")[0]
    table = [line.split(" | ") for line in short.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert [(c[0].lstrip("| "), c[1], c[4]) for c in table] == [
        (x["severity"], x["model"], x["title"]) for x in report["shortfalls"]]
    assert f"| {TEAM} | rf@example.org | 1 |" in md and f"| {OTHER} | #support-tools | 1 |" in md


def test_the_team_filter_and_an_unknown_team(client, keys, teams):
    h = auth(keys["viewer"])
    only = client.get("/api/standards", params={"team": TEAM}, headers=h).json()
    assert only["team"] == TEAM and [m["model"] for m in only["models"]] == [MODEL]
    assert {x["model"] for x in only["shortfalls"]} <= {MODEL} and [t["team"] for t in only["teams"]] == [TEAM]
    assert [m["name"] for m in client.get("/api/models", params={"team": OTHER}, headers=h).json()] == [LOW]
    for path in ("/api/standards", "/api/standards/digest", "/api/models"):
        error = check_shape(client.get(path, params={"team": "Nobody"}, headers=h), 404)
        assert f"no team named 'Nobody'; the teams are: {TEAM}, {OTHER}" in error, (path, error)
    error = check_shape(client.get("/api/teams/Nobody", headers=h), 404)
    assert f"the teams are: {TEAM}, {OTHER}" in error


@pytest.mark.parametrize("path", ["/api/standards", "/api/standards/digest"])
def test_at_is_honoured_and_a_bad_one_is_refused_naming_it(client, keys, path):
    h = auth(keys["viewer"])
    for bad in ("yesterday", "2026-13-01", "12/01/2026"):
        error = check_shape(client.get(path, params={"at": bad}, headers=h), 400)
        assert error.startswith(f"at: {bad!r} is not a date or ISO datetime"), error
    before = client.get(path, params={"at": "2001-01-01"}, headers=h).json()  # before any model was registered
    assert before["at"] == "2001-01-01T00:00:00+00:00" and before["models"] == [] and before["summary"]["models"] == 0
    assert len(client.get(path, headers=h).json()["models"]) == 2


def test_the_digest_says_what_changed(client, keys, teams):
    h = auth(keys["viewer"])
    at = _now()
    digest = client.get("/api/standards/digest", params={"at": at, "days": 30}, headers=h).json()
    assert digest["kind"] == "digest" and digest["at"] == at
    since = datetime.fromisoformat(at) - timedelta(days=30)
    assert digest["changes"]["since"] == since.isoformat()
    # a month ago no model existed: every shortfall today is new, none resolved
    assert sorted((x["model"], x["rule"]) for x in digest["changes"]["new_shortfalls"]) == sorted(
        (x["model"], x["rule"]) for x in digest["shortfalls"]) and digest["changes"]["resolved"] == []
    md = client.get("/api/standards/digest", params={"at": at, "days": 30, "format": "md"}, headers=h)
    assert md.text.startswith("# Steward weekly standards digest") and f"## Since {since.date().isoformat()}" in md.text
    for days in (0, 367, "week"):
        error = check_shape(client.get("/api/standards/digest", params={"days": days}, headers=h), 400)
        assert error.startswith("days:"), error


# --- teams -----------------------------------------------------------------------------------------------


def test_teams_members_and_a_models_team(client, keys, registry):
    admin, viewer, dev = auth(keys["admin"]), auth(keys["viewer"]), auth(keys["developer"])
    r = client.post("/api/teams", json={"name": TEAM, "contact": "rf@example.org", "description": "d"}, headers=admin)
    assert r.status_code == 201 and r.json()["created_by"] == "Ada Admin" and r.json()["members"] == []
    assert "already exists" in check_shape(client.post("/api/teams", json={"name": TEAM, "contact": "c"},
                                                       headers=admin), 409)
    assert "team name 'a/b'" in check_shape(client.post("/api/teams", json={"name": "a/b", "contact": "c"},
                                                        headers=admin), 400)
    assert "contact" in check_shape(client.post("/api/teams", json={"name": "x"}, headers=admin), 400)

    r = client.post(f"/api/teams/{TEAM}/members", json={"principal": "Vera Validator"}, headers=admin)
    assert r.status_code == 200 and r.json()["members"] == ["Vera Validator"]
    assert "already a member" in check_shape(
        client.post(f"/api/teams/{TEAM}/members", json={"principal": "Vera Validator"}, headers=admin), 409)
    assert "no principal named 'Nobody'" in check_shape(
        client.post(f"/api/teams/{TEAM}/members", json={"principal": "Nobody"}, headers=admin), 404)
    assert client.get("/api/teams", headers=viewer).json()[0]["members"] == ["Vera Validator"]

    r = client.put(f"/api/models/{MODEL}/team", json={"team": TEAM}, headers=admin)
    assert r.status_code == 200 and r.json()["team"] == TEAM and r.json()["team_contact"] == "rf@example.org"
    assert "already belongs" in check_shape(client.put(f"/api/models/{MODEL}/team", json={"team": TEAM},
                                                       headers=admin), 409)
    assert client.get(f"/api/teams/{TEAM}", headers=viewer).json()["models"] == [MODEL]
    assert client.get(f"/api/models/{MODEL}", headers=viewer).json()["team"] == TEAM

    # a developer registers a model straight into a team they belong to, and into no other; an unknown team is a 404
    assert "Dev Developer is not a member of team" in check_shape(
        client.post("/api/models", json={"name": "scorer", "domain": "credit", "team": TEAM}, headers=dev), 403)
    assert client.post(f"/api/teams/{TEAM}/members", json={"principal": "Dev Developer"},
                       headers=admin).status_code == 200
    r = client.post("/api/models", json={"name": "scorer", "domain": "credit", "team": TEAM}, headers=dev)
    assert r.status_code == 201 and r.json()["team"] == TEAM, r.text
    assert "no team named 'Nobody'" in check_shape(
        client.post("/api/models", json={"name": "other", "domain": "credit", "team": "Nobody"}, headers=dev), 404)
    assert [m["name"] for m in client.get("/api/models", params={"team": TEAM}, headers=viewer).json()] == [
        MODEL, "scorer"]

    r = client.delete(f"/api/teams/{TEAM}/members/Vera Validator", headers=admin)
    assert r.status_code == 200 and r.json()["members"] == ["Dev Developer"]
    assert "is not a member" in check_shape(client.delete(f"/api/teams/{TEAM}/members/Vera Validator",
                                                          headers=admin), 404)
    actions = [e["action"] for e in registry.trail(subject=f"team:{TEAM}")]
    assert sorted(actions) == ["team.create", "team.member_add", "team.member_add", "team.member_remove"]


# --- the governance role ----------------------------------------------------------------------------------


def test_the_governance_role_reads_and_posts_the_digest_and_nothing_else():
    """Stated here, not derived: what the central team's role may do."""
    assert {p for p, roles in PERMISSIONS.items() if "governance" in roles} == {"read", "read_prediction", "digest",
                                                                                      "trail_verify"}
    assert set(PERMISSIONS["digest"]) == {"admin", "governance"}


def test_a_governance_key_reads_every_read_route_and_writes_nothing(client, registry, gov, teams):
    h = auth(gov)
    for path in ("/api/standards", "/api/standards/digest", "/api/teams", f"/api/teams/{TEAM}", "/api/models",
                 f"/api/models/{MODEL}", "/api/monitors", "/api/incidents", "/api/trail"):
        assert client.get(path, headers=h).status_code == 200, path
    assert client.get("/api/standards", params={"format": "csv"}, headers=h).status_code == 200
    gets = [(p, perm) for m, p, perm, _ in ROUTES if m == "GET" and (m, p) not in PUBLIC_ROUTES]
    writes = [(m, p, perm, body) for m, p, perm, body in ROUTES
              if m != "GET" and (m, p) not in PUBLIC_ROUTES and perm not in ("digest", "trail_verify")]
    assert len(gets) > 20 and len(writes) > 20
    for path, permission in gets:  # the matrix's paths name things this registry may not hold: 404 is fine
        r = client.get(path, headers=h)
        if permission in ("read", "read_prediction", "trail_verify"):
            assert r.status_code not in (401, 403), (path, r.text)
        else:  # keys, prediction logs and harm reports (people's data) are not the central team's
            assert r.status_code == 403, (path, r.text)
    for method, path, permission, body in writes:
        r = client.request(method, path, json=fill(body, "governance") if body != "AUDIT" else {}, headers=h)
        assert "needs one of the roles" in check_shape(r, 403), (method, path)
    # nothing was written in the governance role
    assert not [e for e in registry.trail(limit=1000) if e["actor"] == "Gina Governance"]


# --- posting the digest -----------------------------------------------------------------------------------


@pytest.fixture()
def receiver():
    """A webhook on loopback that keeps what it is sent; /fail answers 500."""
    got: list[tuple[str, dict[str, str], bytes]] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the handler's name
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            got.append((self.path, dict(self.headers), body))
            code = 500 if self.path == "/fail" else 200
            self.send_response(code)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", got
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def test_the_digest_is_posted_only_to_a_webhook_the_operator_allows(client, keys, gov, teams, receiver, monkeypatch):
    url, got = receiver
    hook = f"{url}/hook"
    post = lambda body, key: client.post("/api/standards/digest/post", json=body, headers=auth(key))  # noqa: E731

    monkeypatch.delenv(WEBHOOKS_ENV, raising=False)
    error = check_shape(post({"url": hook}, gov), 400)
    assert error.startswith("url:") and WEBHOOKS_ENV in error and "none is set" in error
    monkeypatch.setenv(WEBHOOKS_ENV, f"https://chat.example.org/hooks/T0/B0/secret , {hook},{url}/fail")
    for other in (f"{url}/other", f"{hook}/", "http://169.254.169.254/latest/meta-data/", url):
        error = check_shape(post({"url": other}, gov), 400)
        assert WEBHOOKS_ENV in error and "not one of the 3 webhook URL(s)" in error, error
        assert "chat.example.org" not in error  # the allowed URLs (which often hold a secret) are not shown
    assert "url: " in check_shape(post({"url": "file:///etc/passwd"}, gov), 400)
    for role in ("viewer", "developer", "validator", "operator"):
        assert "needs one of the roles: admin, governance" in check_shape(post({"url": hook}, keys[role]), 403)
    assert got == []  # nothing refused reached the receiver

    monkeypatch.setenv(WEBHOOK_SECRET_ENV, "s3cret")
    r = post({"url": hook, "team": TEAM, "days": 30}, gov)
    assert r.status_code == 200, r.text
    ((path, headers, raw),) = got
    doc = json.loads(raw)
    assert path == "/hook" and set(doc) == {"text", "digest"}
    assert doc["digest"]["kind"] == "digest" and doc["digest"]["team"] == TEAM and "changes" in doc["digest"]
    assert doc["text"].startswith("# Steward weekly standards digest") and f"team {TEAM}" in doc["text"]
    assert r.json() == {"posted": hook, "status": 200, "shortfalls": len(doc["digest"]["shortfalls"])}
    assert doc["digest"]["changes"]["since"][:10] == (
        datetime.fromisoformat(doc["digest"]["at"]) - timedelta(days=30)).date().isoformat()
    signature = {k.lower(): v for k, v in headers.items()}["x-steward-signature"]
    assert signature == "sha256=" + hmac.new(b"s3cret", raw, hashlib.sha256).hexdigest()

    assert post({"url": hook}, keys["admin"]).status_code == 200 and len(got) == 2
    assert "no team named 'Nobody'" in check_shape(post({"url": hook, "team": "Nobody"}, gov), 404)
    error = check_shape(post({"url": f"{url}/fail"}, gov), 502)
    # the error names the site, not the path (a chat webhook's secret is in its path)
    assert error.startswith(f"url: {url}/... answered HTTP 500") and "/fail" not in error, error
    assert [p for p, _, _ in got] == ["/hook", "/hook", "/fail"]


# --- acknowledging an alert -------------------------------------------------------------------------------


def _alerts_through_the_api(client, dev: dict[str, str]) -> list[dict]:
    """A records monitor sent rows whose feature has moved three deviations: it raises alerts."""
    from steward.monitoring import build_reference

    rng = np.random.default_rng(3)
    x = rng.normal(0, 1, 2000)
    s = 1 / (1 + np.exp(-x))
    ref = build_reference(pd.DataFrame({"x": x, "score": s, "decision": (s >= 0.5).astype(int)}), features=["x"],
                          score="score", decision="decision")
    r = client.post("/api/monitors", json={"name": "watch", "records": True, "reference": ref.to_dict(),
                                           "settings": {"window": {"by": "count", "size": 500}}}, headers=dev)
    assert r.status_code == 201, r.text
    sent_at = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat()
    recs = [{"x": float(v) + 3, "score": float(p), "decision": int(p >= 0.5), "prediction_id": f"e{i}",
             "time": sent_at} for i, (v, p) in enumerate(zip(x[:500], s[:500]))]
    assert client.post("/api/monitors/watch/records", json={"records": recs}, headers=dev).status_code == 202
    assert client.post("/api/monitors/watch/run", json={"close_all": True}, headers=dev).status_code == 200
    alerts = client.get("/api/monitors/watch", headers=dev).json()["alerts"]
    assert alerts and all(a["acknowledged_at"] is None for a in alerts)
    return alerts


def test_an_alert_is_acknowledged_once(client, keys, gov, registry):
    alerts = _alerts_through_the_api(client, auth(keys["developer"]))
    first = alerts[0]["id"]
    path = f"/api/monitors/alerts/{first}/acknowledge"
    assert "needs one of the roles" in check_shape(client.post(path, json={"note": "n"}, headers=auth(gov)), 403)
    assert "needs one of the roles" in check_shape(client.post(path, json={"note": "n"},
                                                               headers=auth(keys["viewer"])), 403)
    assert "say what is being done" in check_shape(client.post(path, json={"note": "   "},
                                                               headers=auth(keys["operator"])), 400)
    assert check_shape(client.post(path, json={}, headers=auth(keys["operator"])), 400).startswith("note:")

    r = client.post(path, json={"note": "the feature pipeline is being fixed"}, headers=auth(keys["operator"]))
    assert r.status_code == 200, r.text
    assert r.json()["id"] == first and r.json()["acknowledged_by"] == "Olga Operator"
    assert r.json()["acknowledged_note"] == "the feature pipeline is being fixed" and r.json()["acknowledged_at"]
    error = check_shape(client.post(path, json={"note": "again"}, headers=auth(keys["developer"])), 409)
    assert error.startswith(f"alert {first} was acknowledged by Olga Operator at ")
    shown = {a["id"]: a for a in client.get("/api/monitors/watch", headers=auth(gov)).json()["alerts"]}
    assert shown[first]["acknowledged_by"] == "Olga Operator"
    assert all(shown[a["id"]]["acknowledged_at"] is None for a in alerts[1:])
    assert "no monitor alert 99999" in check_shape(client.post("/api/monitors/alerts/99999/acknowledge",
                                                               json={"note": "n"}, headers=auth(keys["operator"])), 404)
    (entry,) = [e for e in registry.trail(subject="monitor:watch") if e["action"] == "alert.acknowledge"]
    assert entry["actor"] == "Olga Operator"


# --- the remote client --------------------------------------------------------------------------------------


def test_the_remote_client_against_a_real_server(registry, keys, gov):
    pytest.importorskip("uvicorn")
    from steward.web import create_app
    from tests.serving._setup import ServerThread

    alert = _alert_in_the_registry(registry)
    server = ServerThread(create_app(registry))
    admin, dev = RemoteRegistry(server.url, keys["admin"]), RemoteRegistry(server.url, keys["developer"])
    central, ops = RemoteRegistry(server.url, gov), RemoteRegistry(server.url, keys["operator"])
    try:
        made = admin.create_team(TEAM, contact="rf@example.org", description="d")
        assert made["name"] == TEAM and made["created_by"] == "Ada Admin"
        with pytest.raises(ConflictError, match="server said \\(409\\): a team named"):
            admin.create_team(TEAM, contact="c")
        assert admin.add_team_member(TEAM, "Dev Developer")["members"] == ["Dev Developer"]
        assert admin.add_team_member(TEAM, "Gina Governance")["members"] == ["Dev Developer", "Gina Governance"]
        assert admin.remove_team_member(TEAM, "Gina Governance")["members"] == ["Dev Developer"]
        assert admin.set_model_team(MODEL, TEAM)["team"] == TEAM
        assert dev.register_model("scorer", domain="credit", team=TEAM)["team"] == TEAM
        assert [m["name"] for m in dev.models(team=TEAM)] == [MODEL, "scorer"]
        assert central.team(TEAM) == registry.team(TEAM) and central.teams() == registry.teams()
        with pytest.raises(NotFoundError, match=f"the teams are: {TEAM}"):
            central.team("Nobody")
        with pytest.raises(StewardError, match="server said \\(403\\)"):
            central.create_team("Central", contact="c")

        at = datetime.now(timezone.utc).replace(microsecond=0)
        local = json.loads(json.dumps(registry.standards(at=at, team=TEAM, trend_points=3)))
        assert central.standards(at=at, team=TEAM, trend_points=3) == local
        assert len(local["adoption"]["trend"]) == 3 and [m["model"] for m in local["models"]] == [MODEL, "scorer"]
        assert central.standards_digest(at=at.isoformat(), days=14) == json.loads(json.dumps(
            registry.standards_digest(at=at, days=14)))
        with pytest.raises(StewardError, match="server said \\(400\\): at: 'soon'"):
            central.standards(at="soon")

        done = ops.acknowledge_alert(alert, note="looked at it")
        assert done["acknowledged_by"] == "Olga Operator" and done["acknowledged_note"] == "looked at it"
        with pytest.raises(ConflictError, match=f"alert {alert} was acknowledged by Olga Operator"):
            ops.acknowledge_alert(alert, note="again")
    finally:
        for remote in (admin, dev, central, ops):
            remote.close()
        server.stop()


def _alert_in_the_registry(reg) -> int:
    """The same drifted records monitor as above, made in the registry directly."""
    from steward.monitoring import build_reference

    rng = np.random.default_rng(3)
    x = rng.normal(0, 1, 2000)
    s = 1 / (1 + np.exp(-x))
    ref = build_reference(pd.DataFrame({"x": x, "score": s, "decision": (s >= 0.5).astype(int)}), features=["x"],
                          score="score", decision="decision")
    reg.create_monitor("watch", actor="Dev Developer", records=True, reference=ref.to_dict(),
                       settings={"window": {"by": "count", "size": 500}})
    sent_at = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat()
    reg.add_records("watch", [{"x": float(v) + 3, "score": float(p), "decision": int(p >= 0.5), "time": sent_at}
                              for v, p in zip(x[:500], s[:500])], actor="Dev Developer")
    reg.run_monitor("watch", actor="Dev Developer", close_all=True)
    return reg.monitor("watch")["alerts"][0]["id"]


def test_incidents_and_deployments_filter_by_team(client, keys, registry):
    """The team filter reaches the incident and deployment lists too; an unknown team is a 404 naming the teams."""
    admin, viewer = auth(keys["admin"]), auth(keys["viewer"])
    client.post("/api/teams", json={"name": TEAM, "contact": "rf@example.org"}, headers=admin)
    client.post("/api/teams", json={"name": "Other", "contact": "o@example.org"}, headers=admin)
    client.put(f"/api/models/{MODEL}/team", json={"team": TEAM}, headers=admin)
    client.put(f"/api/models/{LOW}/team", json={"team": "Other"}, headers=admin)
    mine = registry.open_incident(MODEL, title="complaints", severity="high", actor="Olga Operator")
    theirs = registry.open_incident(LOW, title="slow", severity="low", actor="Olga Operator")
    got = client.get("/api/incidents", params={"team": TEAM}, headers=viewer).json()
    assert [i["id"] for i in got] == [mine["id"]]
    got = client.get("/api/incidents", params={"team": "Other"}, headers=viewer).json()
    assert [i["id"] for i in got] == [theirs["id"]]
    assert {i["id"] for i in client.get("/api/incidents", headers=viewer).json()} >= {mine["id"], theirs["id"]}
    assert client.get("/api/deployments", params={"team": TEAM}, headers=viewer).json() == []  # none deployed here
    for path in ("/api/incidents", "/api/deployments"):
        assert "no team named 'Nobody'" in check_shape(client.get(path, params={"team": "Nobody"}, headers=viewer), 404)
    assert [i["id"] for i in registry.incidents(team=TEAM)] == [mine["id"]]
