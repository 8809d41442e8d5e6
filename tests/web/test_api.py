"""The REST API: every route × every role (least privilege), one JSON error shape, OpenAPI, and
`steward audit --register --server` against a real server on loopback. The matrix and the error
shapes run on SQLite and on PostgreSQL."""

import hashlib
import json
import re
import socket
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

import steward
from steward.cli import cli
from steward.governance import ROLES, Registry
from steward.web import create_app
from steward.web._auth import PERMISSIONS
from tests.governance.conftest import (  # noqa: F401  (fixtures)
    LENIENT,
    RISK,
    fresh_postgres,
    lenient_policy,
    passing_audit,
)

# A checkpoint of the shape GET /api/trail/checkpoint gives (this one matches no trail).
CHECKPOINT = {"seq": 1, "hash": "0" * 64, "created_at": "2026-01-01T00:00:00+00:00", "signature": "0" * 64}
LENIENT_SHA256 = hashlib.sha256(LENIENT.encode("utf-8")).hexdigest()  # the policy the server's audits are held to
IN_A_MONTH = (datetime.now(timezone.utc) + timedelta(days=30)).date().isoformat()  # an acceptance's end date

# (method, path, permission, body) — {role} in a path or body is replaced by the caller's role.
ROUTES = [
    ("GET", "/api/models", "read", None),
    ("POST", "/api/models", "register", {"name": "new-{role}", "domain": "credit"}),
    ("GET", "/api/models/m", "read", None),
    ("POST", "/api/models/m/versions", "register", {"version": "v-{role}"}),
    ("GET", "/api/models/m/versions/1", "read", None),
    ("POST", "/api/models/m/risk", "assess", {"answers": RISK}),
    ("POST", "/api/models/m/versions/1/audits", "register", "AUDIT"),
    ("POST", "/api/models/m/versions/1/approve", "approve", None),
    ("GET", "/api/audits/1", "read", None),
    ("GET", "/api/audits/1/report.html", "read", None),
    ("GET", "/api/audits/1/model_card.md", "read", None),
    ("POST", "/api/models/m/versions/1/signoffs", "sign_off", {"role": "{role}", "decision": "approve"}),
    ("GET", "/api/incidents", "read", None),
    ("POST", "/api/incidents", "incident_open", {"model": "m", "title": "t", "severity": "low"}),
    ("GET", "/api/incidents/1", "read", None),
    ("POST", "/api/incidents/1/updates", "incident_update", {"note": "n"}),
    ("POST", "/api/keys", "keys", {"name": "k-{role}", "roles": ["viewer"]}),
    ("GET", "/api/principals", "keys", None),
    ("GET", "/api/keys", "keys", None),
    ("DELETE", "/api/keys/nonexistent", "keys", None),
    ("GET", "/api/trail", "read", None),
    ("GET", "/api/trail/verify", "trail_verify", None),
    ("POST", "/api/trail/verify", "trail_verify", CHECKPOINT),
    ("GET", "/api/trail/checkpoint", "trail_verify", None),
    ("POST", "/api/models/m/versions/1/acceptances", "accept",
     {"check": "adverse_impact_ratio", "reason": "r", "until": IN_A_MONTH}),
    ("GET", "/api/models/m/versions/1/acceptances", "read", None),
    ("POST", "/api/models/m/versions/1/reproductions", "reproduce", {"report": {}}),
    ("GET", "/api/audits/1/report.json", "read", None),
    ("GET", f"/api/policies/{LENIENT_SHA256}", "read", None),
    ("POST", "/api/models/m/versions/1/profile", "register", {"profile": {}}),
    ("GET", "/api/deployments", "read", None),
    ("POST", "/api/deployments", "deploy", {"name": "d-{role}", "version": "m:1"}),
    ("GET", "/api/deployments/d", "read", None),
    ("POST", "/api/deployments/d/kill", "kill", {"reason": "r"}),
    ("POST", "/api/deployments/d/revive", "kill", None),
    ("GET", "/api/deployments/d/log", "log_export", None),
    ("GET", "/api/deployments/d/outcomes", "log_export", None),
    ("POST", "/api/deployments/d/predict", "predict", {"row": {"x": 1}}),
    ("GET", "/api/predictions/p000000000000000000000000", "read_prediction", None),
    ("GET", "/api/predictions/p000000000000000000000000/notice", "read_prediction", None),
    ("GET", "/api/review", "read", None),
    ("GET", "/api/review/1", "read", None),
    ("POST", "/api/review/1/decision", "review", {"action": "override", "reason": "r"}),
    ("POST", "/api/predictions/p000000000000000000000000/appeal", "appeal", {"statement": "s"}),
    ("GET", "/api/deployments/d/callbacks", "read", None),
    ("POST", "/api/harm-reports", "public", {"what": "w-{role}"}),
    ("GET", "/api/harm-reports/1?token=t", "public", None),
    ("GET", "/api/harm-reports", "harm_triage", None),
    ("POST", "/api/harm-reports/1/triage", "harm_triage", {"outcome": "o"}),
    ("GET", "/api/monitors", "read", None),
    ("POST", "/api/monitors", "monitor", {"name": "mon-{role}", "records": True}),
    ("GET", "/api/monitors/mon", "read", None),
    ("POST", "/api/monitors/mon/run", "monitor", {}),
    ("POST", "/api/monitors/mon/records", "monitor", {"records": [{"x": 1}]}),
    ("POST", "/api/monitors/mon/labels", "monitor", {"labels": [{"prediction_id": "p", "label": 1}]}),
    ("POST", "/api/monitors/alerts/1/acknowledge", "acknowledge", {"note": "n"}),
    ("GET", "/api/standards", "read", None),
    ("GET", "/api/standards/digest", "read", None),
    ("POST", "/api/standards/digest/post", "digest", {"url": "http://127.0.0.1:9/digest"}),
    ("GET", "/api/teams", "read", None),
    ("POST", "/api/teams", "teams", {"name": "t-{role}", "contact": "c"}),
    ("GET", "/api/teams/t", "read", None),
    ("POST", "/api/teams/t/members", "teams", {"principal": "only-{role}"}),
    ("DELETE", "/api/teams/t/members/p", "teams", None),
    ("PUT", "/api/models/m/team", "teams", {"team": "t"}),
]
# The routes anyone may call without a key (permission "public"): reporting a harm and following the report
# with its token. A key sent to them is not looked at.
PUBLIC_ROUTES = [("POST", "/api/harm-reports"), ("GET", "/api/harm-reports/1?token=t")]


def fill(value, role):
    if isinstance(value, str):
        return value.replace("{role}", role)
    if isinstance(value, dict):
        return {k: fill(v, role) for k, v in value.items()}
    return value


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database(request, tmp_path_factory):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('api') / 'r.db'}"
    else:
        with fresh_postgres() as url:
            yield url


@pytest.fixture(scope="module")
def server(database, passing_audit, lenient_policy):
    reg = Registry(database, policy=lenient_policy)
    reg.register_model("m", actor="dev", domain="criminal_justice")
    reg.register_version("m", "1", actor="dev")
    reg.assess_risk("m", RISK, actor="dev")
    reg.record_audit("m", "1", passing_audit, actor="dev")
    reg.open_incident("m", title="t", severity="low", actor="ops")
    keys = {role: reg.create_key(f"only-{role}", [role], actor="setup",
                                 deployments=["d"] if role == "caller" else None)["key"] for role in ROLES}
    audit_body = {"report": passing_audit.to_dict(), "report_html": "<p>r</p>", "model_card": "# card"}
    yield TestClient(create_app(reg)), keys, audit_body, reg
    reg.close()


def check_shape(response):
    body = response.json()
    assert set(body) == {"ok", "error", "status"}, body
    assert body["ok"] is False and body["status"] == response.status_code and body["error"]


def test_the_matrix_covers_every_api_route(server):
    """Each route the app publishes is in ROUTES exactly once, so a new route cannot skip the matrix."""
    spec = server[0].get("/openapi.json").json()["paths"]
    published = [(m.upper(), path) for path, ops in spec.items() if path.startswith("/api") and path != "/api/health"
                 for m in ops]
    assert len(published) == len(ROUTES)
    for method, template in published:
        pattern = re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$")
        hits = [p for m, p, _, _ in ROUTES if m == method and pattern.match(p)]
        assert len(hits) == 1, (method, template, hits)


@pytest.mark.parametrize("method, path, permission, body", ROUTES, ids=[f"{m} {p}" for m, p, _, _ in ROUTES])
def test_route_by_role(server, method, path, permission, body):
    client, keys, audit_body, _ = server
    for role in ROLES:
        payload = audit_body if body == "AUDIT" else fill(body, role)
        r = client.request(method, fill(path, role), json=payload, headers={"Authorization": f"Bearer {keys[role]}"})
        allowed = permission == "public" or role in PERMISSIONS[permission]
        if allowed:
            assert r.status_code not in (401, 403), (role, r.status_code, r.text)
        else:
            assert r.status_code == 403, (role, r.status_code, r.text)
            check_shape(r)
            assert "needs one of the roles" in r.json()["error"]
        if r.status_code >= 400:
            check_shape(r)


@pytest.mark.parametrize("method, path, permission, body", ROUTES, ids=[f"{m} {p}" for m, p, _, _ in ROUTES])
def test_every_route_needs_a_key(server, method, path, permission, body):
    client = server[0]
    assert ((method, path) in PUBLIC_ROUTES) == (permission == "public")
    if (method, path) in PUBLIC_ROUTES:  # no key needed, and a wrong one is not refused (nor looked at)
        for headers in ({}, {"Authorization": "Bearer stw_nope_nope"}):
            r = client.request(method, path, json=fill(body, "x"), headers=headers)
            assert r.status_code not in (401, 403), r.text
        return
    r = client.request(method, path.replace("{role}", "x"), json=None if body == "AUDIT" else fill(body, "x"))
    assert r.status_code == 401
    check_shape(r)
    r = client.request(method, path.replace("{role}", "x"), headers={"Authorization": "Bearer stw_nope_nope"})
    assert r.status_code == 401 and r.json()["error"] == "unknown API key"


def test_health_needs_no_key_and_openapi_is_published(server):
    client = server[0]
    assert client.get("/api/health").json()["ok"] is True
    spec = client.get("/openapi.json").json()
    assert "/api/models/{name}/versions/{version}/signoffs" in spec["paths"]


def test_error_shapes(server):
    client, keys, _, _ = server
    admin = {"Authorization": f"Bearer {keys['admin']}"}
    cases = [
        (client.get("/api/nowhere", headers=admin), 404, "no such route"),
        (client.get("/api/models/ghost", headers=admin), 404, "no model named 'ghost'"),
        (client.post("/api/models", json={"nam": "x"}, headers=admin), 400, "name: Field required"),
        (client.post("/api/models", content=b"{not json", headers={**admin, "content-type": "application/json"}), 400, "JSON"),
        (client.post("/api/models", json={"name": "m"}, headers=admin), 409, "already registered"),
        (client.post("/api/incidents/1/updates", json={"status": "resolved", "note": "x"}, headers=admin), 409, "can only move to contained"),
        (client.delete("/api/models/m", headers=admin), 405, "Method Not Allowed"),
        (client.get("/api/audits/999", headers=admin), 404, "no audit run 999"),
    ]
    for r, status, text in cases:
        assert r.status_code == status, (r.status_code, r.text)
        check_shape(r)
        assert text in r.json()["error"]


def test_sign_off_only_in_a_role_the_caller_holds(server):
    client, keys, _, reg = server
    r = client.post("/api/models/m/versions/1/signoffs", json={"role": "executive", "decision": "approve"},
                    headers={"Authorization": f"Bearer {keys['validator']}"})
    assert r.status_code == 403 and "cannot sign off as executive" in r.json()["error"]
    r = client.post("/api/models/m/versions/1/signoffs", json={"role": "validator", "decision": "reject"},
                    headers={"Authorization": f"Bearer {keys['validator']}"})
    assert r.status_code == 409 and "needs a comment" in r.json()["error"]
    # Recorded under the caller's own name, whatever the body says.
    r = client.post("/api/models/m/versions/1/signoffs", json={"role": "validator", "decision": "approve"},
                    headers={"Authorization": f"Bearer {keys['validator']}"})
    assert r.status_code == 201 and r.json()["person"] == "only-validator"


@pytest.fixture(scope="module")
def live(tmp_path_factory, lenient_policy):
    """A real uvicorn server on a free loopback port, in a thread."""
    import uvicorn

    reg = Registry(f"sqlite:///{tmp_path_factory.mktemp('live') / 'r.db'}", policy=lenient_policy)
    key = reg.create_key("dev", ["developer"], actor="setup")["key"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(create_app(reg), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", key, reg
    srv.should_exit = True
    thread.join(10)
    reg.close()


def test_audit_register_through_a_real_server(live, lenient_policy, tmp_path):
    url, key, reg = live
    card = tmp_path / "card.yaml"
    card.write_text("model: {owner: Team A, accountable_executive: Exec B}\n"
                    "intended_use: {primary_uses: pretrial risk}\n"
                    "risk: {domain: criminal_justice, people_affected: 10000, decisions_per_day: 30, "
                    "human_review: true, wrong_decision_cost: high}\n")
    args = ["audit", str(steward.datasets.path("compas")), "--label", "two_year_recid", "--score", "decile_score",
            "--threshold", "5", "--favourable", "0", "--protected", "race=Caucasian", "--protected", "sex=Male",
            "--policy", lenient_policy.path, "--card-info", str(card), "--register", "compas:2013",
            "--server", url, "--api-key", key, "--out", str(tmp_path / "rep")]
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0, r.output
    assert f"Recorded as audit #1 of compas:2013 in {url}" in " ".join(r.output.split())
    m = reg.model("compas")
    assert m["owner"] == "Team A" and m["tier"] == "high" and m["purpose"] == "pretrial risk"
    run = m["versions"][0]["audits"][0]
    assert run["passed"] is True and run["rows"] == 7214 and run["created_by"] == "dev"
    stored = reg.audit_run(run["id"])
    assert json.loads(stored["report_json"])["source"]["sha256"] == json.loads(
        (tmp_path / "rep" / "report.json").read_text())["source"]["sha256"]
    assert "Steward audit report" in stored["report_html"] and stored["model_card"].startswith("# Model card")
    # A second run records a second audit of the same version, without re-registering.
    assert CliRunner().invoke(cli, args).exit_code == 0
    assert len(reg.version("compas", "2013")["audits"]) == 2
    # A bad key is a clear error with exit 2, and nothing is recorded.
    bad = CliRunner().invoke(cli, [*args[:-4], "--api-key", "stw_x_y", "--out", str(tmp_path / "rep2")])
    assert bad.exit_code == 2 and "server said (401): unknown API key" in " ".join(bad.output.split())
    assert len(reg.version("compas", "2013")["audits"]) == 2


def test_stored_reports_cannot_run_script(server):
    client, keys, _, reg = server
    headers = {"Authorization": f"Bearer {keys['developer']}"}
    evil = {"report": server[2]["report"], "report_html": "<script>alert(1)</script>", "model_card": "# x"}
    run = client.post("/api/models/m/versions/1/audits", json=evil, headers=headers).json()
    r = client.get(f"/api/audits/{run['id']}/report.html", headers=headers)
    csp = r.headers["content-security-policy"]
    assert r.status_code == 200 and csp.startswith("sandbox") and "default-src 'none'" in csp and "script" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    card = client.get(f"/api/audits/{run['id']}/model_card.md", headers=headers)
    assert card.headers["content-security-policy"].startswith("sandbox")


def test_a_malformed_or_inconsistent_report_is_refused(server):
    client, keys, audit_body, reg = server
    headers = {"Authorization": f"Bearer {keys['developer']}"}
    before = len(reg.version("m", "1")["audits"])
    good = audit_body["report"]
    fails = [dict(f, status="fail") for f in good["findings"][:1]] + good["findings"][1:]
    cases = [
        ({**good, "findings": [{"id": "x", "check": "x", "severity": "fail"}]}, "report.findings.0.status: Field required"),
        ({**good, "source": "somewhere"}, "report.source"),
        ({**good, "schema": "other/9"}, "report.schema"),
        ({**good, "findings": fails}, "report.passed is True but its findings say False (1 failing"),
    ]
    for report, message in cases:
        r = client.post("/api/models/m/versions/1/audits", headers=headers,
                        json={"report": report, "report_html": "", "model_card": ""})
        assert r.status_code == 400, r.text
        check_shape(r)
        assert message in r.json()["error"]
    assert len(reg.version("m", "1")["audits"]) == before  # nothing was stored
