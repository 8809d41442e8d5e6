"""Principals and their credentials: one person has one name, and a database writer cannot mint a key
or a session.

On a SQLite file and on PostgreSQL.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from steward.errors import AuthenticationError, ConflictError, StewardError
from steward.governance import Registry, make_engine
from steward.governance import _trail
from steward.governance._principals import name_key
from steward.governance._tables import ApiKey, Principal, now
from steward.governance._trail import GENESIS, entry_hash

KEY = "k" * 40


@pytest.fixture
def reg(db_url):
    r = Registry(db_url, trail_key=KEY)
    yield r
    r.close()


def sql(r: Registry, statement: str, **params) -> None:
    with r.engine.begin() as conn:
        conn.execute(text(statement), params)


def _sql_time(t) -> str:
    return f"{t:%Y-%m-%d %H:%M:%S}"  # UTC, as both databases read it back


def sha(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


# --- look-alike names ---------------------------------------------------------------------------

@pytest.mark.parametrize("lookalike", [
    "alice smith", "ALICE SMITH", "Alice  Smith", "Alice\u00a0Smith", "Alice Smith\u200b", "\u0410lice Smith",
    "Alice\tSmith", "Alice\nSmith", "Al\u200bice Smith", "Al\u0456ce Smith", "Alice Sm\u0456th", "\uff21lice Smith",
    "Alice\u2028Smith", "Alic\u0435 Smith",
])
def test_a_name_that_looks_like_an_existing_one_is_refused(reg, lookalike):
    reg.create_key("Alice Smith", ["validator"], actor="admin")
    entries = len(reg.trail())
    with pytest.raises(ConflictError, match="looks the same as the existing principal 'Alice Smith'"):
        reg.create_key(lookalike, ["executive"], actor="admin")
    assert [p["name"] for p in reg.principals()] == ["Alice Smith"]
    assert len(reg.trail()) == entries and reg.verify_trail().ok


@pytest.mark.parametrize("name, problem", [
    ("Bob\tJones", "whitespace other than a plain space"),
    ("Bob\u00a0Jones", "whitespace other than a plain space"),
    ("Bob\u3000Jones", "whitespace other than a plain space"),
    ("Bob\nJones", "whitespace other than a plain space"),
    ("Bob Jones\u200b", "invisible or control character"),
    ("Bob\u202eJones", "invisible or control character"),
    ("Bob\u2028Jones", "whitespace other than a plain space"),
    ("Bob\u2029Jones", "whitespace other than a plain space"),
    ("Bob\x00Jones", "invisible or control character|NUL character"),
    ("Bob\ufeffJones", "invisible or control character"),
    ("B\u043eb Jones", "mixes Cyrillic and Latin letters"),
    ("Bob J\u03bfnes", "mixes Greek and Latin letters"),
    ("\u0392\u043e", "mixes Cyrillic and Greek letters"),
])
def test_a_new_name_with_invisible_characters_or_mixed_scripts_is_refused(reg, name, problem):
    with pytest.raises(StewardError, match=problem):
        reg.create_key(name, ["developer"], actor="admin")
    assert reg.principals() == [] and "key.create" not in [e["action"] for e in reg.trail()]


@pytest.mark.parametrize("name", ["Иван Петров", "Ελένη Παπαδοπούλου", "José Müller-Ørsted", "李小龍", "O'Brien Smith",
                                  "ci-bot", "Zoë d'Arc 3rd"])
def test_ordinary_names_in_any_one_script_are_accepted(reg, name):
    k = reg.create_key(name, ["developer"], actor="admin")
    assert reg.authenticate(k["key"])["name"] == name


def test_names_that_differ_are_both_accepted(reg):
    reg.create_key("Alice Smith", ["validator"], actor="admin")
    reg.create_key("Alice Smyth", ["executive"], actor="admin")
    reg.create_key("Alice Smith Jr", ["executive"], actor="admin")
    assert [p["name"] for p in reg.principals()] == ["Alice Smith", "Alice Smith Jr", "Alice Smyth"]


def test_the_same_name_gets_another_key(reg):
    a = reg.create_key("Alice Smith", ["validator"], actor="admin")
    b = reg.create_key("Alice Smith", ["validator"], actor="admin")
    assert a["key_id"] != b["key_id"]
    assert reg.authenticate(b["key"])["name"] == reg.authenticate(a["key"])["name"] == "Alice Smith"


def test_existing_names_keep_working(reg):
    """A principal stored before the checks, with a name they would refuse, still gets keys."""
    with reg.tx() as s:
        s.add(Principal(name="Carol\u200bKing", roles=["viewer"]))
        s.flush()
        _trail.append(s, "admin", "principal.create", "principal:Carol\u200bKing", {})
    k = reg.create_key("Carol\u200bKing", ["viewer"], actor="admin")
    assert reg.authenticate(k["key"])["name"] == "Carol\u200bKing"
    with pytest.raises(ConflictError, match="existing principal 'Carol\\\\u200bKing'"):
        reg.create_key("CarolKing", ["viewer"], actor="admin")
    assert reg.verify_trail().ok


def test_name_key():
    assert name_key("Alice Smith") == name_key(" alice\u00a0 SMITH\u200b ") == name_key("\u0410LICE SMITH")
    assert name_key("Alice Smith") != name_key("Alice Smyth")


# --- credentials a database writer cannot mint ---------------------------------------------------

def test_the_stored_hash_is_keyed(reg):
    k = reg.create_key("Val Idator", ["validator"], actor="admin")
    secret = k["key"].split("_", 2)[2]
    with reg.tx() as s:
        stored = s.get(ApiKey, k["key_id"]).secret_sha256
    assert len(stored) == 64 and stored != sha(secret) and secret not in stored


def test_an_api_key_row_inserted_by_a_database_writer_is_refused(reg):
    victim = reg.create_key("Val Idator", ["validator"], actor="admin")
    with reg.tx() as s:
        pid = s.execute(select(Principal.id).where(Principal.name == "Val Idator")).scalar_one()
    sql(reg, "INSERT INTO api_keys (id, principal_id, secret_sha256, created_at) VALUES ('feedc0ffee00', :p, :h, :t)",
        p=pid, h=sha("chosen-secret"), t=_sql_time(now()))
    with pytest.raises(AuthenticationError, match="unknown API key"):
        reg.authenticate("stw_feedc0ffee00_chosen-secret")
    # Nor by overwriting a real key's hash with one of their own.
    sql(reg, "UPDATE api_keys SET secret_sha256 = :h WHERE id = :i", h=sha("chosen-secret"), i=victim["key_id"])
    with pytest.raises(AuthenticationError, match="unknown API key"):
        reg.authenticate(f"stw_{victim['key_id']}_chosen-secret")
    with pytest.raises(AuthenticationError, match="unknown API key"):
        reg.authenticate(victim["key"])
    with pytest.raises(AuthenticationError):
        reg.start_session("stw_feedc0ffee00_chosen-secret")


def test_a_web_session_row_inserted_by_a_database_writer_is_refused(reg):
    k = reg.create_key("Val Idator", ["validator"], actor="admin")
    real, _csrf, _who = reg.start_session(k["key"])
    assert reg.session_principal(real)["name"] == "Val Idator"
    with reg.tx() as s:
        pid = s.execute(select(Principal.id).where(Principal.name == "Val Idator")).scalar_one()
    t = now()
    sql(reg, "INSERT INTO web_sessions (id_sha256, principal_id, key_id, csrf_token, created_at, expires_at) "
             "VALUES (:h, :p, :k, :c, :t, :e)",
        h=sha("chosen-session-id"), p=pid, k=k["key_id"], c="c" * 64, t=_sql_time(t),
        e=_sql_time(t + timedelta(hours=8)))
    with pytest.raises(AuthenticationError, match="unknown session"):
        reg.session_principal("chosen-session-id")
    # Nor the real session, once its row holds the plain hash of its id.
    sql(reg, "UPDATE web_sessions SET id_sha256 = :h WHERE id_sha256 = :old", h=sha(real),
        old=reg._session_digest(real))
    with pytest.raises(AuthenticationError, match="unknown session"):
        reg.session_principal(real)


def test_another_trail_key_makes_other_credentials(db_url):
    r = Registry(db_url, trail_key=KEY)
    try:
        k = r.create_key("Val Idator", ["validator"], actor="admin")
        session_id = r.start_session(k["key"])[0]
    finally:
        r.close()
    # The stored values depend on the trail key:
    other = Registry.__new__(Registry)
    other.trail_key = b"x" * 40
    same = Registry.__new__(Registry)
    same.trail_key = KEY.encode()
    assert other._session_digest(session_id) != same._session_digest(session_id)
    assert other._key_digest("secret") != same._key_digest("secret")


# --- keys made before keyed hashes -----------------------------------------------------------------

LEGACY_SECRET = "legacy-secret-of-old-dev-0123456789abcdef"


def _legacy_database_with_key(url: str) -> str:
    """A database at revision 0001 (unkeyed trail) with one principal and an API key hashed the old
    way, as Steward wrote them before keyed hashes. Returns the key."""
    from alembic import command

    from steward.governance._db import _alembic_config

    engine = make_engine(url)
    cfg = _alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    prev = GENESIS
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO principals (id, name, roles, created_at, disabled) "
                          "VALUES (1, 'Old Dev', :r, :t, false)"), {"r": '["developer"]', "t": "2026-11-01 10:00:00"})
        conn.execute(text("INSERT INTO api_keys (id, principal_id, secret_sha256, created_at) "
                          "VALUES ('0123456789ab', 1, :h, :t)"), {"h": sha(LEGACY_SECRET), "t": "2026-11-01 10:00:00"})
        created, payload = "2026-11-01T10:00:00+00:00", '{"key_id":"0123456789ab","roles":["developer"]}'
        h = entry_hash(1, created, "admin", "key.create", "principal:Old Dev", payload, prev)
        conn.execute(text("INSERT INTO trail VALUES (1, :c, 'admin', 'key.create', 'principal:Old Dev', :p, :prev, :h)"),
                     {"c": created, "p": payload, "prev": prev, "h": h})
        conn.execute(text("UPDATE trail_head SET seq = 1, hash = :h"), {"h": h})
    engine.dispose()
    return f"stw_0123456789ab_{LEGACY_SECRET}"


def test_a_key_from_before_keyed_hashes_keeps_working_and_is_marked(db_url):
    old_key = _legacy_database_with_key(db_url)
    r = Registry(db_url, trail_key=KEY)
    try:
        rekey = [e for e in r.trail() if e["action"] == "trail.rekey"]
        assert len(rekey) == 1 and json.loads(rekey[0]["payload"])["legacy_api_keys"] == ["0123456789ab"]
        assert r.authenticate(old_key) == {"name": "Old Dev", "roles": ["developer"], "key_id": "0123456789ab"}
        new = r.create_key("Old Dev", ["developer"], actor="admin")
        [dev] = r.keys()
        assert {k["key_id"]: k["legacy_hash"] for k in dev["keys"]} == {"0123456789ab": True, new["key_id"]: False}
        assert r.verify_trail().ok
        # Revoked, it stops working like any other key.
        r.revoke_key("0123456789ab", actor="admin")
        with pytest.raises(AuthenticationError, match="revoked"):
            r.authenticate(old_key)
    finally:
        r.close()


def test_a_plain_hash_key_not_listed_at_the_upgrade_is_refused(db_url):
    old_key = _legacy_database_with_key(db_url)
    r = Registry(db_url, trail_key=KEY)
    try:
        # Inserted after the upgrade, for the same principal: not listed, refused.
        sql(r, "INSERT INTO api_keys (id, principal_id, secret_sha256, created_at) VALUES ('aaaaaaaaaaaa', 1, :h, :t)",
            h=sha("mine"), t=_sql_time(now()))
        with pytest.raises(AuthenticationError, match="unknown API key"):
            r.authenticate("stw_aaaaaaaaaaaa_mine")
        # A listed key whose hash a writer replaced: its row no longer matches the signed entry.
        sql(r, "UPDATE api_keys SET secret_sha256 = :h WHERE id = '0123456789ab'", h=sha("mine"))
        with pytest.raises(AuthenticationError, match="unknown API key"):
            r.authenticate("stw_0123456789ab_mine")
        sql(r, "UPDATE api_keys SET secret_sha256 = :h WHERE id = '0123456789ab'", h=sha(LEGACY_SECRET))
        assert r.authenticate(old_key)["name"] == "Old Dev"
        # Listing another id in the rekey entry breaks its HMAC: nothing it lists is trusted then.
        with r.engine.connect() as conn:
            seq, payload = conn.execute(text("SELECT seq, payload FROM trail WHERE action = 'trail.rekey'")).one()
        forged = json.loads(payload)
        forged["legacy_api_keys"].append("aaaaaaaaaaaa")
        sql(r, "UPDATE trail SET payload = :p WHERE seq = :s", p=_trail.canonical(forged), s=seq)
        for key in ("stw_aaaaaaaaaaaa_mine", old_key):
            with pytest.raises(AuthenticationError, match="unknown API key"):
                r.authenticate(key)
        assert all(not k["legacy_hash"] for p in r.keys() for k in p["keys"])
    finally:
        r.close()


def test_a_database_made_with_keyed_hashes_accepts_no_plain_hash(reg):
    reg.create_key("Dev", ["developer"], actor="admin")
    with reg.tx() as s:
        pid = s.execute(select(Principal.id)).scalar_one()
    sql(reg, "INSERT INTO api_keys (id, principal_id, secret_sha256, created_at) VALUES ('bbbbbbbbbbbb', :p, :h, :t)",
        p=pid, h=sha("mine"), t=_sql_time(now()))
    with pytest.raises(AuthenticationError, match="unknown API key"):
        reg.authenticate("stw_bbbbbbbbbbbb_mine")
    assert all(not k["legacy_hash"] for p in reg.keys() for k in p["keys"])
