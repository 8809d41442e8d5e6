"""The HTTP surface holds: every input that could end as a 500 gets a 4xx in the one error shape.

Ids beyond their column's range, strings longer than their column, NUL characters and unpaired
surrogates, in the path, the query, the body and deep inside JSON objects; bodies over the limit;
the connection stays usable after errors; the OpenAPI document states what the server answers;
``/docs`` loads nothing from another host. On SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
import uuid

import httpx
import pytest
from fastapi.testclient import TestClient

from steward.errors import StewardError
from steward.governance import ROLES, SEVERITIES, Registry
from steward.governance._incidents import STATUSES
from steward.governance._registry import _NAME
from steward.web import create_app
from tests.governance.conftest import fresh_postgres
from tests.web.conftest import csrf_of

BIG = [str(2**31), str(2**63), "99999999999999999999", "0", "-1"]


def check_shape(r: httpx.Response, status: int | None = None) -> str:
    """The response is an error in the one shape (and of this status); returns its message."""
    assert r.status_code >= 400 and r.status_code < 500, (r.status_code, r.text)
    if status is not None:
        assert r.status_code == status, (r.status_code, r.text)
    body = r.json()
    assert set(body) == {"ok", "error", "status"} and body["ok"] is False and body["status"] == r.status_code, body
    assert isinstance(body["error"], str) and body["error"]
    return body["error"]


def _populate(reg: Registry) -> dict[str, dict[str, str]]:
    keys = {role: reg.create_key(f"Only {role}", [role], actor="setup", deployments=["d"] if role == "caller" else None)["key"]
            for role in ROLES}
    reg.register_model("m", actor="Only developer", domain="credit")
    reg.register_version("m", "1", actor="Only developer")
    reg.open_incident("m", title="t", severity="low", actor="Only operator")
    return {role: {"Authorization": f"Bearer {key}"} for role, key in keys.items()}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def api(request, tmp_path_factory):
    """(client, headers by role, registry, backend) over a small registry of its own."""
    if request.param == "sqlite":
        url, done = f"sqlite:///{tmp_path_factory.mktemp('hardening') / 'r.db'}", None
    else:
        done = fresh_postgres()
        url = done.__enter__()
    reg = Registry(url)
    headers = _populate(reg)
    with TestClient(create_app(reg)) as client:
        yield client, headers, reg, request.param
    reg.close()
    if done is not None:
        done.__exit__(None, None, None)


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _raw(client, method, path, text, headers):
    """Send ``text`` as the JSON body exactly as written (so escapes like \\ud800 reach the server)."""
    return client.request(method, path, content=text.encode("utf-8"),
                           headers={**headers, "content-type": "application/json"})


# --- integers beyond the column's range -------------------------------------------------------------


@pytest.mark.parametrize("value", BIG)
@pytest.mark.parametrize("template", ["/api/incidents/{}", "/api/audits/{}", "/api/audits/{}/report.html",
                                      "/api/audits/{}/model_card.md"])
def test_ids_outside_the_column_range_are_refused(api, template, value):
    client, h, _, _ = api
    message = check_shape(client.get(template.format(value), headers=h["admin"]), 400)
    assert re.match(r"(incident_id|run_id): Input should be (less|greater) than or equal to", message), message


def test_the_largest_id_the_column_holds_is_a_plain_404(api):
    client, h, _, _ = api
    assert "no incident 2147483647" in check_shape(client.get("/api/incidents/2147483647", headers=h["admin"]), 404)


@pytest.mark.parametrize(("method", "path", "body", "field"), [
    ("POST", f"/api/incidents/{2**63}/updates", {"note": "n"}, "incident_id"),
    ("POST", "/api/incidents/1/updates", {"done": [2**63]}, "done.0"),
    ("POST", "/api/incidents/1/updates", {"done": [-1]}, "done.0"),
    ("GET", f"/api/trail?limit={2**63}", None, "limit"),
    ("GET", "/api/trail?limit=0", None, "limit"),
    ("DELETE", "/api/keys/" + "k" * 33, None, "key_id"),
])
def test_numbers_and_ids_out_of_range_anywhere(api, method, path, body, field):
    client, h, _, _ = api
    message = check_shape(client.request(method, path, json=body, headers=h["admin"]), 400)
    assert message.startswith(f"{field}: "), message


# --- strings longer than their column ------------------------------------------------------------------


def _too_long_cases():
    # (method, path, body(value), field, the column's length); {u} is made unique per call
    return [
        ("POST", "/api/models", lambda v: {"name": v}, "name", 200),
        ("POST", "/api/models", lambda v: {"name": "{u}", "owner": v}, "owner", 200),
        ("POST", "/api/models", lambda v: {"name": "{u}", "accountable_executive": v}, "accountable_executive", 200),
        ("POST", "/api/models/m/versions", lambda v: {"version": v}, "version", 100),
        ("POST", "/api/models/m/versions", lambda v: {"version": "{u}", "code_revision": v}, "code_revision", 100),
        ("POST", "/api/incidents", lambda v: {"model": "m", "title": v, "severity": "low"}, "title", 300),
        ("POST", "/api/keys", lambda v: {"name": v, "roles": ["viewer"]}, "name", 200),
    ]


def _fill(body, u):
    return {k: (v.replace("{u}", u) if isinstance(v, str) else v) for k, v in body.items()}


@pytest.mark.parametrize(("method", "path", "body", "field", "length"), _too_long_cases(),
                         ids=[c[3] for c in _too_long_cases()])
def test_strings_longer_than_their_column_are_refused_and_at_the_limit_stored(api, method, path, body, field, length):
    client, h, _, _ = api
    who = {"/api/keys": "admin", "/api/incidents": "operator"}.get(path, "developer")
    over = client.request(method, path, json=_fill(body("a" * (length + 1)), _unique("x")), headers=h[who])
    assert check_shape(over, 400) == f"{field}: String should have at most {length} characters"
    # One character less is the column's own length: stored, on PostgreSQL too.
    at = client.request(method, path, json=_fill(body(_unique("b")[:9] + "a" * (length - 9)), _unique("x")),
                        headers=h[who])
    assert at.status_code == 201, at.text


@pytest.mark.parametrize(("query", "field", "length"), [
    ("/api/models?owner={}", "owner", 200), ("/api/models?tier={}", "tier", 100),
    ("/api/trail?subject={}", "subject", 300), ("/api/incidents?model={}", "model", 200),
])
def test_query_strings_longer_than_their_column_are_refused(api, query, field, length):
    client, h, _, _ = api
    assert check_shape(client.get(query.format("a" * (length + 1)), headers=h["admin"]), 400).startswith(f"{field}: ")
    assert client.get(query.format("a" * length), headers=h["admin"]).status_code in (200, 404)


# --- NUL characters and unpaired surrogates ---------------------------------------------------------------------


def _text_cases():
    # (role, method, path, JSON text with a placeholder BAD for the raw escape, field named in the error)
    return [
        ("developer", "POST", "/api/models", '{"name": "nul-{u}", "purpose": "aBADb"}', "purpose"),
        ("developer", "POST", "/api/models", '{"name": "nul-{u}", "owner": "BAD"}', "owner"),
        ("developer", "POST", "/api/models", '{"name": "aBAD"}', "name"),
        ("developer", "POST", "/api/models/m/versions", '{"version": "v-{u}", "code_revision": "BAD"}', "code_revision"),
        ("developer", "POST", "/api/models/m/versions", '{"version": "v-{u}", "seeds": {"a": [1, {"b": "BAD"}]}}',
         "seeds"),
        ("developer", "POST", "/api/models/m/versions", '{"version": "v-{u}", "environment": {"kBAD": 1}}',
         "environment"),
        ("developer", "POST", "/api/models/m/risk", '{"answers": {"domain": "credit", "note": "BAD"}}', "answers"),
        ("operator", "POST", "/api/incidents", '{"model": "m", "title": "BAD", "severity": "low"}', "title"),
        ("operator", "POST", "/api/incidents", '{"model": "m", "title": "t", "severity": "low", "description": "BAD"}',
         "description"),
        ("operator", "POST", "/api/incidents/1/updates", '{"note": "xBAD"}', "note"),
        ("validator", "POST", "/api/models/m/versions/1/signoffs",
         '{"role": "validator", "decision": "reject", "comment": "BAD"}', "comment"),
        ("admin", "POST", "/api/keys", '{"name": "BAD", "roles": ["viewer"]}', "name"),
    ]


@pytest.mark.parametrize("bad", ["\\u0000", "\\ud800", "\\udfff"], ids=["nul", "high-surrogate", "low-surrogate"])
@pytest.mark.parametrize(("role", "method", "path", "text", "field"), _text_cases(),
                         ids=[f"{c[2]}:{c[4]}" for c in _text_cases()])
def test_nul_and_lone_surrogates_in_json_are_refused(api, role, method, path, text, field, bad):
    client, h, reg, _ = api
    before = len(reg.trail(limit=1000))
    r = _raw(client, method, path, text.replace("{u}", uuid.uuid4().hex[:8]).replace("BAD", bad), h[role])
    message = check_shape(r, 400)
    assert message.startswith(f"{field}: "), message
    assert ("NUL" in message or "not allowed" in message) if bad == "\\u0000" else (
        "surrogate" in message or "not allowed" in message), message
    assert len(reg.trail(limit=1000)) == before  # nothing was done


@pytest.mark.parametrize(("path", "field"), [
    ("/api/models?owner=a%00b", "owner"), ("/api/models?tier=%00", "tier"), ("/api/trail?subject=model:%00",
                                                                           "subject"),
    ("/api/incidents?model=m%00", "model"), ("/api/models/m%00", "name"), ("/api/models/m/versions/1%00", "version"),
    ("/api/models/%ED%A0%80", "name"),  # UTF-8 has no encoding of a surrogate: the server sees U+FFFD
])
def test_nul_and_undecodable_text_in_the_query_and_path_are_refused(api, path, field):
    client, h, _, _ = api
    assert check_shape(client.get(path, headers=h["admin"]), 400).startswith(f"{field}: ")


@pytest.mark.parametrize(("path", "message"), [
    ("/api/models?tier=high&tier=low", "query parameter 'tier' is given more than once; give it once"),
    ("/api/models?ownr=ana", "unknown query parameter 'ownr' for GET /api/models; it takes: failing, owner, "
                             "status, team, tier"),
    ("/api/principals?x=1", "unknown query parameter 'x' for GET /api/principals; it takes none"),
])
def test_repeated_or_unknown_query_parameters_are_refused(api, path, message):
    client, h, _, _ = api
    assert check_shape(client.get(path, headers=h["admin"]), 400) == message


def test_json_numbers_must_be_finite(api):
    client, h, _, _ = api
    r = _raw(client, "POST", "/api/models/m/versions", '{"version": "nan", "seeds": {"a": NaN}}', h["developer"])
    assert check_shape(r, 400) == ("seeds: at a is not a finite number (NaN and Infinity are not JSON); "
                                   "send a number or null")


def test_the_registry_turns_values_the_database_refuses_into_steward_errors(api):
    """The net under the web layer: callers that skip its checks (the library, the CLI) get a StewardError."""
    _, _, reg, backend = api
    with pytest.raises(StewardError, match="too large|out of the range"):
        reg.incident(2**63)
    with pytest.raises(StewardError, match="surrogate"):
        reg.register_model(_unique("s"), actor="x", owner="a\ud800")
    if backend == "postgresql":  # SQLite stores these as they are
        with pytest.raises(StewardError, match="NUL"):
            reg.register_model(_unique("n"), actor="x", owner="a\x00b")
        with pytest.raises(StewardError, match="longer than the registry stores"):
            reg.open_incident("m", title="t" * 301, severity="low", actor="x")
        with pytest.raises(StewardError, match="out of the range"):
            reg.incident(2**31)


def test_pages_answer_refused_values_with_a_page_not_an_internal_error(api):
    client, h, _, backend = api
    page_client = TestClient(client.app)
    form = page_client.get("/login")
    key = h["operator"]["Authorization"].split(" ", 1)[1]
    page_client.post("/login", data={"key": key, "csrf": csrf_of(form.text), "next": "/"})
    r = page_client.get("/incidents/99999999999999999999")
    assert r.status_code == 400 and "text/html" in r.headers["content-type"] and "incident_id" in r.text
    page = page_client.get("/models/m")
    r = page_client.post("/models/m/incidents", data={"csrf": csrf_of(page.text), "title": "a\x00b", "severity": "low"},
                         follow_redirects=False)
    assert r.status_code == (400 if backend == "postgresql" else 303), r.text[:300]


# --- the body limit --------------------------------------------------------------------------------------------


def test_a_100_mib_field_is_refused_with_413(api):
    client, h, _, _ = api
    body = b'{"name": "big", "purpose": "' + b"a" * (100 * 1024 * 1024) + b'"}'
    r = client.post("/api/models", content=body, headers={**h["developer"], "content-type": "application/json"})
    message = check_shape(r, 413)
    assert "20,971,520 bytes" in message and "STEWARD_MAX_BODY_BYTES" in message


def test_the_limit_is_a_setting_and_counts_streamed_bodies(api, monkeypatch):
    _, h, reg, _ = api
    small = TestClient(create_app(reg, max_body_bytes=1000))
    chunks = (b'{"name": "streamed", "purpose": "', b"a" * 600, b"a" * 600, b'"}')
    r = small.post("/api/models", content=iter(chunks), headers={**h["developer"], "content-type": "application/json"})
    assert "1,000 bytes" in check_shape(r, 413)
    assert small.post("/api/models", json={"name": _unique("fits")}, headers=h["developer"]).status_code == 201
    monkeypatch.setenv("STEWARD_MAX_BODY_BYTES", "50")
    assert check_shape(TestClient(create_app(reg)).post("/api/models", json={"name": "x" * 60},
                                                        headers=h["developer"]), 413)
    monkeypatch.setenv("STEWARD_MAX_BODY_BYTES", "lots")
    with pytest.raises(StewardError, match="STEWARD_MAX_BODY_BYTES must be a whole number of bytes, got 'lots'"):
        create_app(reg)


# --- a real server: the 413 comes before the body, the connection outlives errors ----------------------------


@pytest.fixture()
def live(api):
    """``create_app`` on uvicorn on a free loopback port (limit 64 KiB), in a thread; yields its URL."""
    uvicorn = pytest.importorskip("uvicorn")
    _, h, reg, _ = api
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    srv = uvicorn.Server(uvicorn.Config(create_app(reg, max_body_bytes=65536), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}", h
    srv.should_exit = True
    thread.join(10)
    sock.close()


def _length(answer: bytes) -> int:
    match = re.search(rb"content-length: *(\d+)", answer, re.I)
    return int(match.group(1)) if match else 0


def test_a_declared_oversized_body_is_refused_before_it_is_sent(live):
    url, h = live
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(f"POST /api/models HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  f"Authorization: {h['developer']['Authorization']}\r\nContent-Length: {100 * 1024 * 1024}\r\n\r\n"
                  .encode())
        answer = b""  # answered although not one byte of the body was sent
        while b"\r\n\r\n" not in answer or len(answer.split(b"\r\n\r\n", 1)[1]) < _length(answer):
            chunk = s.recv(65536)
            assert chunk, f"the server closed the connection after {answer!r}"
            answer += chunk
    head, _, rest = answer.decode("latin-1").partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 413 ")
    body = json.loads(rest)
    assert body["ok"] is False and body["status"] == 413 and "65,536 bytes" in body["error"]


def test_the_connection_stays_usable_after_errors(live):
    url, h = live
    seen_ports = set()
    with httpx.Client(base_url=url, headers=h["admin"]) as client:
        requests = [
            ("GET", "/api/incidents/99999999999999999999", None, 400),
            ("GET", "/api/models?owner=a%00", None, 400),
            ("POST", "/api/models", b'{"name": "\\ud800"}', 400),
            ("POST", "/api/models", b"{not json", 400),
            ("GET", "/api/models/ghost", None, 404),
            ("POST", "/api/models", b'{"name": "m"}', 409),
            ("POST", "/api/models/m/versions/1/signoffs", b'{"role": "validator", "decision": "approve"}', 403),
            ("DELETE", "/api/models/m", None, 405),
            ("GET", "/api/nowhere", None, 404),
            ("POST", "/api/keys", b'{"name": "' + b"a" * 70000 + b'", "roles": ["viewer"]}', 413),
            ("GET", "/api/models", None, 200),
        ]
        for method, path, content, status in requests:
            r = client.request(method, path, content=content,
                               headers={"content-type": "application/json"} if content else None)
            assert r.status_code == status, (path, r.status_code, r.text)
            if status >= 400:
                check_shape(r)
            assert r.headers.get("connection", "").lower() != "close", path
            seen_ports.add(r.extensions["network_stream"].get_extra_info("client_addr")[1])
        r = client.get("/api/incidents/1", headers={"Authorization": "Bearer stw_nope_nope"})
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        seen_ports.add(r.extensions["network_stream"].get_extra_info("client_addr")[1])
    assert len(seen_ports) == 1, f"the client had to reconnect: local ports {seen_ports}"


# --- the documents ----------------------------------------------------------------------------------------------


def test_docs_load_nothing_from_another_host(api):
    client = api[0]
    page = client.get("/docs")
    assert page.status_code == 200
    assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", page.text, re.I), "the docs page names a host"
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert {"/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"} <= set(assets)
    for asset in assets:
        r = client.get(asset)
        assert r.status_code == 200 and len(r.content) > 100, asset
    assert "SwaggerUIBundle" in client.get("/docs/assets/swagger-ui-bundle.js").text
    assert client.get("/redoc").status_code == 404  # ReDoc would need a CDN


def test_openapi_states_the_errors_the_patterns_and_the_enums(api):
    client = api[0]
    public = {("post", "/api/harm-reports"), ("get", "/api/harm-reports/{report_id}")}
    spec = client.get("/openapi.json").json()
    text = json.dumps(spec)
    assert '"422"' not in text and "HTTPValidationError" not in text
    schemas = spec["components"]["schemas"]
    assert set(schemas["ErrorBody"]["properties"]) == {"ok", "error", "status"}
    for path, item in spec["paths"].items():
        for method, op in item.items():
            codes = set(op["responses"])
            assert "413" in codes, (method, path)
            if (method, path) in public:  # anyone may report a harm and follow it: no key, so no 401 or 403
                assert "400" in codes and "429" in codes and not {"401", "403"} & codes, (method, path)
            elif path != "/api/health":
                assert {"400", "401", "403"} <= codes, (method, path)
            if "{" in path:
                assert "404" in codes, (method, path)
            for code, response in op["responses"].items():
                if code.startswith("4"):
                    ref = response["content"]["application/json"]["schema"]["$ref"]
                    assert ref == "#/components/schemas/ErrorBody", (method, path, code)
    assert set(spec["components"]["securitySchemes"]) == {"HTTPBearer", "APIKeyHeader"}

    def prop(model, name):
        p = schemas[model]["properties"][name]
        return next((x for x in p.get("anyOf", []) if x.get("type") != "null"), p)

    assert prop("ModelIn", "name")["pattern"] == _NAME.pattern
    assert prop("VersionIn", "version")["pattern"] == _NAME.pattern and prop("VersionIn", "version")["maxLength"] == 100
    assert prop("IncidentIn", "severity")["enum"] == list(SEVERITIES)
    assert prop("UpdateIn", "status")["enum"] == list(STATUSES)
    assert prop("KeyIn", "roles")["items"]["enum"] == list(ROLES)
    assert prop("SignOffIn", "role")["enum"] == list(ROLES)
    assert prop("SignOffIn", "decision")["enum"] == ["approve", "reject"]
    assert prop("IncidentIn", "title")["maxLength"] == 300
    params = {p["name"]: p["schema"] for p in spec["paths"]["/api/incidents/{incident_id}"]["get"]["parameters"]}
    assert params["incident_id"]["maximum"] == 2**31 - 1 and params["incident_id"]["minimum"] == 1
    params = {p["name"]: p["schema"] for p in spec["paths"]["/api/models/{name}"]["get"]["parameters"]}
    assert params["name"]["pattern"] == _NAME.pattern
