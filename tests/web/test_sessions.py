"""Web sessions: logging in trades the API key for a server-side session; the cookie holds only its id.

Through the login form (in-process client) and through the registry, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from steward.errors import AuthenticationError, StewardError
from steward.governance import Registry
from steward.governance._tables import Principal, WebSession, now
from steward.web import create_app
from steward.web._auth import COOKIE
from tests.governance.conftest import fresh_postgres
from tests.web.conftest import csrf_of


@pytest.fixture(params=["sqlite", "postgresql"])
def reg(request, tmp_path):
    if request.param == "sqlite":
        r = Registry(f"sqlite:///{tmp_path / 'r.db'}")
        yield r
        r.close()
    else:
        with fresh_postgres() as url:
            r = Registry(url)
            yield r
            r.close()


@pytest.fixture()
def people(reg):
    keys = {role: reg.create_key(name, [role], actor="setup") for role, name in
            [("viewer", "Victor Viewer"), ("operator", "Olga Operator")]}
    reg.register_model("m", actor="setup", domain="credit")
    return keys


def _login(client: TestClient, key: str) -> str:
    form = client.get("/login")
    r = client.post("/login", data={"key": key, "csrf": csrf_of(form.text), "next": "/"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return client.cookies[COOKIE]


def _rows(reg: Registry) -> list[WebSession]:
    with reg.tx() as s:
        return list(s.execute(select(WebSession)).scalars())


def test_the_cookie_holds_a_session_id_and_the_table_only_its_hash(reg, people):
    client = TestClient(create_app(reg))
    key = people["viewer"]["key"]
    session_id = _login(client, key)
    assert key not in session_id and len(session_id) >= 43
    [row] = _rows(reg)
    # A keyed hash (under the trail key, kept outside the database), not a plain SHA-256 a writer could mint.
    assert row.id_sha256 == reg._session_digest(session_id) != hashlib.sha256(session_id.encode()).hexdigest()
    assert row.key_id == people["viewer"]["key_id"] and row.ended_at is None
    stored = " ".join(str(getattr(row, c)) for c in ("id_sha256", "key_id", "csrf_token", "principal_id"))
    assert session_id not in stored and key.split("_", 2)[2] not in stored
    # It lasts 8 hours by default; the cookie says so too.
    assert abs((row.expires_at - row.created_at) - timedelta(hours=8)) < timedelta(seconds=2)
    # Every form on the page carries the session's own CSRF token.
    assert csrf_of(client.get("/").text) == row.csrf_token


def test_the_cookie_is_secure_on_https_and_the_expiry_is_a_setting(reg, people):
    client = TestClient(create_app(reg, session_hours=0.5), base_url="https://steward.test")
    form = client.get("/login")
    r = client.post("/login", data={"key": people["viewer"]["key"], "csrf": csrf_of(form.text), "next": "/"},
                    follow_redirects=False)
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith(f"{COOKIE}="))
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie and "Max-Age=1800" in cookie
    [row] = _rows(reg)
    assert abs((row.expires_at - row.created_at) - timedelta(minutes=30)) < timedelta(seconds=2)


def test_logout_ends_the_session_so_the_old_cookie_no_longer_works(reg, people):
    client = TestClient(create_app(reg))
    session_id = _login(client, people["viewer"]["key"])
    r = client.post("/logout", data={"csrf": csrf_of(client.get("/").text)}, follow_redirects=False)
    assert r.status_code == 303
    [row] = _rows(reg)
    assert row.ended_at is not None
    thief = TestClient(create_app(reg), cookies={COOKIE: session_id})
    r = thief.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    with pytest.raises(AuthenticationError, match="logged out"):
        reg.session_principal(session_id)
    # Logging in and out are attributable actions on the trail, under the person's name.
    actions = [(e["action"], e["actor"], e["subject"]) for e in reg.trail(limit=5)][:2]
    assert actions == [("session.end", "Victor Viewer", "principal:Victor Viewer"),
                       ("session.start", "Victor Viewer", "principal:Victor Viewer")]
    assert reg.verify_trail().ok


@pytest.mark.parametrize("how", ["expired", "revoked", "disabled"])
def test_a_session_dies_with_its_time_its_key_or_its_principal(reg, people, how):
    client = TestClient(create_app(reg))
    session_id = _login(client, people["viewer"]["key"])
    assert client.get("/", follow_redirects=False).status_code == 200
    if how == "revoked":
        reg.revoke_key(people["viewer"]["key_id"], actor="setup")
    else:
        with reg.engine.begin() as conn:  # neither has a registry method: change the rows themselves
            if how == "expired":
                conn.execute(update(WebSession).values(expires_at=now() - timedelta(seconds=1)))
            else:
                conn.execute(update(Principal).where(Principal.name == "Victor Viewer").values(disabled=True))
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert COOKIE not in client.cookies  # the dead cookie is cleared
    with pytest.raises(AuthenticationError, match={"expired": "expired", "revoked": "revoked",
                                                   "disabled": "disabled"}[how]):
        reg.session_principal(session_id)


def test_the_csrf_token_is_bound_to_the_session(reg, people):
    app = create_app(reg)
    viewer, operator = TestClient(app), TestClient(app)
    _login(viewer, people["viewer"]["key"])
    _login(operator, people["operator"]["key"])
    theirs = csrf_of(viewer.get("/").text)
    mine = csrf_of(operator.get("/models/m").text)
    assert theirs != mine
    data = {"title": "Wrong answers", "severity": "low"}
    r = operator.post("/models/m/incidents", data=data | {"csrf": theirs}, follow_redirects=False)
    assert r.status_code == 403 and "This form has expired" in r.text
    assert reg.incidents() == []
    # A new login is a new session with a new token: the old one stops working.
    _login(operator, people["operator"]["key"])
    r = operator.post("/models/m/incidents", data=data | {"csrf": mine}, follow_redirects=False)
    assert r.status_code == 403 and reg.incidents() == []
    fresh = csrf_of(operator.get("/models/m").text)
    r = operator.post("/models/m/incidents", data=data | {"csrf": fresh}, follow_redirects=False)
    assert r.status_code == 303 and len(reg.incidents()) == 1


def test_the_api_takes_keys_not_cookies(reg, people):
    client = TestClient(create_app(reg))
    _login(client, people["viewer"]["key"])
    r = client.get("/api/models")
    assert r.status_code == 401 and r.json()["error"].startswith("an API key is required")
    key = people["viewer"]["key"]
    assert client.get("/api/models", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    assert client.get("/api/models", headers={"X-API-Key": key}).status_code == 200
    # The key itself in a cookie logs nobody in either.
    stranger = TestClient(create_app(reg), cookies={COOKIE: key, "steward_key": key})
    assert stranger.get("/", follow_redirects=False).status_code == 303
    assert stranger.get("/api/models").status_code == 401


def test_the_registry_side(reg, people):
    with pytest.raises(AuthenticationError, match="unknown API key"):
        reg.start_session("stw_nope_nope")
    with pytest.raises(StewardError, match="at most 8784 hours"):
        reg.start_session(people["viewer"]["key"], hours=0)
    session_id, csrf, who = reg.start_session(people["viewer"]["key"], hours=1)
    assert who == {"name": "Victor Viewer", "roles": ["viewer"], "key_id": people["viewer"]["key_id"]}
    me = reg.session_principal(session_id)
    assert (me["name"], me["roles"], me["csrf"]) == ("Victor Viewer", ["viewer"], csrf)
    for bad in (None, "", "x", "\x00", "\ud800", "a" * 10_000, session_id + "x"):
        with pytest.raises(AuthenticationError):
            reg.session_principal(bad)
        assert reg.end_session(bad) is False
    assert reg.end_session(session_id) is True
    assert reg.end_session(session_id) is False  # ending twice changes nothing
