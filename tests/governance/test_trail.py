"""The keyed trail: intact after real work; an edited, deleted or truncated entry is found; where the
key lives; an unkeyed trail is re-signed once; every change to a governed row must be covered;
row digests are the same on SQLite and PostgreSQL; checkpoints; the command and the API."""

import json
import os
import stat

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text, update

from steward.cli import cli
from steward.errors import StewardError
from steward.governance import Registry, make_engine
from steward.governance._tables import Base, Model
from steward.governance._trail import GENESIS, entry_hash, entry_hmac, row_digest

KEY = "k" * 40


@pytest.fixture
def reg(db_url):
    r = Registry(db_url, trail_key=KEY)
    r.register_model("m", actor="dev", domain="credit")
    r.register_version("m", "1", actor="dev")
    r.open_incident("m", title="t", severity="low", actor="ops")
    r.update_incident(1, note="looked", actor="ops")
    yield r
    r.close()


def sql(reg, statement, **params):
    with reg.engine.begin() as conn:
        conn.execute(text(statement), params)


def seq_of(reg, action):
    return next(e["seq"] for e in reg.trail() if e["action"] == action)


def test_intact_trail(reg):
    report = reg.verify_trail()
    actions = [e["action"] for e in reversed(reg.trail())]
    assert report.ok and report.entries == report.head_seq == len(actions)
    assert actions[-4:] == ["model.register", "version.register", "incident.open", "incident.update"]
    entry = reg.trail(subject="model:m")[0]
    with reg.engine.connect() as conn:
        alg, rows = conn.execute(text("SELECT alg, rows FROM trail WHERE seq = :s"), {"s": entry["seq"]}).one()
    assert alg == "hmac-sha256" and list(json.loads(rows)) == ["models:1"]


def test_edited_entry(reg):
    n = seq_of(reg, "model.register")
    sql(reg, """UPDATE trail SET payload = '{"domain":"marketing"}' WHERE seq = :n""", n=n)
    assert reg.verify_trail().problems == [f"entry {n} (model.register model:m) was edited: its content no longer "
                                           f"matches its hash"]


def test_edited_entry_re_hashed_without_the_key(reg):
    n = seq_of(reg, "version.register")
    with reg.engine.begin() as conn:
        e = conn.execute(text("SELECT * FROM trail WHERE seq = :n"), {"n": n}).mappings().one()
        forged = entry_hash(e["seq"], e["created_at"], "someone else", e["action"], e["subject"], e["payload"],
                            e["prev_hash"])
        conn.execute(text("UPDATE trail SET actor = 'someone else', hash = :h WHERE seq = :n"), {"h": forged, "n": n})
    problems = reg.verify_trail().problems
    assert f"entry {n} (version.register version:m:1) was edited: its content no longer matches its hash" in problems
    assert f"entry {n + 1} does not follow entry {n}: its prev_hash does not match" in problems


def test_edited_entry_re_signed_with_the_key_breaks_the_chain(reg):
    # Even someone holding the key cannot edit one entry without re-writing every later one.
    n = seq_of(reg, "version.register")
    with reg.engine.begin() as conn:
        e = conn.execute(text("SELECT * FROM trail WHERE seq = :n"), {"n": n}).mappings().one()
        forged = entry_hmac(KEY.encode(), e["seq"], e["created_at"], "someone else", e["action"], e["subject"],
                            e["payload"], e["rows"], e["prev_hash"])
        conn.execute(text("UPDATE trail SET actor = 'someone else', hash = :h WHERE seq = :n"), {"h": forged, "n": n})
    assert reg.verify_trail().problems == [f"entry {n + 1} does not follow entry {n}: its prev_hash does not match"]


def test_deleted_entry(reg):
    n = seq_of(reg, "version.register")
    sql(reg, "DELETE FROM trail WHERE seq = :n", n=n)
    problems = reg.verify_trail().problems
    assert problems[0] == f"entry {n} is missing (deleted): the trail jumps from {n - 1} to {n + 1}"
    assert "versions:1 has no trail entry (inserted outside Steward)" in problems  # it covered that row


def test_deleted_newest_entry(reg):
    n = reg.verify_trail().head_seq
    sql(reg, "DELETE FROM trail WHERE seq = :n", n=n)
    problems = reg.verify_trail().problems
    assert problems[0] == f"the trail ends at entry {n - 1} but its head says {n}: newer entries were deleted"
    assert "incident_entries:2 has no trail entry (inserted outside Steward)" in problems


def test_trail_verify_command(reg, db_url):
    env = {"STEWARD_TRAIL_KEY": KEY}
    ok = CliRunner().invoke(cli, ["trail", "verify", "--database-url", db_url], env=env)
    n = reg.verify_trail().entries
    assert ok.exit_code == 0 and f"trail intact: {n} entries" in " ".join(ok.output.split())
    open_seq = seq_of(reg, "incident.open")
    sql(reg, "UPDATE trail SET actor = 'mallory' WHERE seq = :n", n=open_seq)
    sql(reg, "UPDATE incidents SET severity = 'critical'")
    bad = CliRunner().invoke(cli, ["trail", "verify", "--database-url", db_url], env=env)
    out = " ".join(bad.output.split())
    assert bad.exit_code == 1 and "2 problem(s)" in out
    assert f"entry {open_seq} (incident.open incident:1) was edited" in out
    assert "incidents:1 was changed outside Steward: its content no longer matches trail entry" in out


# --- the key ---------------------------------------------------------------------------------------

@pytest.fixture
def no_key_env(monkeypatch):
    monkeypatch.delenv("STEWARD_TRAIL_KEY", raising=False)
    monkeypatch.delenv("STEWARD_TRAIL_KEY_FILE", raising=False)


def test_key_file_beside_a_sqlite_database(tmp_path, no_key_env):
    db = tmp_path / "r.db"
    r = Registry(f"sqlite:///{db}")
    r.register_model("m", actor="dev")
    r.close()
    key_file = tmp_path / "r.db.trail-key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(key_file.read_text().strip()) == 64
    r = Registry(f"sqlite:///{db}")  # opens again with the same key
    assert r.verify_trail().ok and r.trail_key == key_file.read_text().strip().encode()
    r.close()
    key_file.chmod(0o644)
    with pytest.raises(StewardError, match=f"run `chmod 600 {key_file}`"):
        Registry(f"sqlite:///{db}")
    key_file.rename(tmp_path / "elsewhere.key")
    with pytest.raises(StewardError) as e:  # a keyed trail never gets a new key
        Registry(f"sqlite:///{db}")
    assert str(e.value) == (f"this registry's trail is keyed, but its key was not found: looked for STEWARD_TRAIL_KEY "
                            f"and the key file {key_file}; restore the key file there, or point "
                            f"STEWARD_TRAIL_KEY_FILE at it, or set STEWARD_TRAIL_KEY")
    assert not key_file.exists()


def test_key_from_the_environment(tmp_path, monkeypatch, no_key_env):
    db = f"sqlite:///{tmp_path / 'r.db'}"
    monkeypatch.setenv("STEWARD_TRAIL_KEY", "short")
    with pytest.raises(StewardError, match="STEWARD_TRAIL_KEY is too short for a trail key: it has 5 characters"):
        Registry(db)
    monkeypatch.setenv("STEWARD_TRAIL_KEY", KEY)
    r = Registry(db)
    r.register_model("m", actor="dev")
    assert r.trail_key == KEY.encode() and r.verify_trail().ok
    r.close()
    assert not (tmp_path / "r.db.trail-key").exists()
    monkeypatch.setenv("STEWARD_TRAIL_KEY", "x" * 40)  # another key: no entry verifies
    r = Registry(db)
    problems = r.verify_trail().problems
    r.close()
    assert problems[-1].startswith("no keyed entry matches its HMAC")
    assert sum(p.endswith("no longer matches its hash") for p in problems) == len(problems) - 1


def test_key_file_named_by_the_environment(tmp_path, monkeypatch, no_key_env):
    key_file = tmp_path / "keys" / "steward.key"
    key_file.parent.mkdir()
    monkeypatch.setenv("STEWARD_TRAIL_KEY_FILE", str(key_file))
    r = Registry(f"sqlite:///{tmp_path / 'r.db'}")
    r.close()
    assert r.trail_key == key_file.read_text().strip().encode()
    assert not (tmp_path / "r.db.trail-key").exists()


def test_postgresql_key_file_under_the_current_folder(pg_url, tmp_path, monkeypatch, no_key_env):
    monkeypatch.chdir(tmp_path)
    r = Registry(pg_url)
    r.close()
    assert r.trail_key == (tmp_path / ".steward" / "trail.key").read_text().strip().encode()


# --- a trail written before it was keyed ------------------------------------------------------------

def _legacy_database(url, broken=False):
    """A database at revision 0001 whose trail is unkeyed, as Steward wrote it before 0002."""
    from alembic import command

    from steward.governance._db import _alembic_config

    engine = make_engine(url)
    cfg = _alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    prev = GENESIS
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO models (id, name, purpose, domain, owner, accountable_executive, status, "
                          "created_at, updated_at) VALUES (1, 'old', '', 'credit', '', '', 'in_development', "
                          ":t, :t)"), {"t": "2026-11-01 10:00:00"})
        for seq, action in ((1, "model.register"), (2, "risk.assess")):
            created, payload = f"2026-11-0{seq}T10:00:00+00:00", '{"domain":"credit"}'
            h = entry_hash(seq, created, "dev", action, "model:old", payload, prev)
            conn.execute(text("INSERT INTO trail VALUES (:s, :c, 'dev', :a, 'model:old', :p, :prev, :h)"),
                         {"s": seq, "c": created, "a": action, "p": payload, "prev": prev, "h": h})
            prev = h
        conn.execute(text("UPDATE trail_head SET seq = 2, hash = :h"), {"h": "f" * 64 if broken else prev})
    engine.dispose()
    return prev


def test_unkeyed_trail_is_re_signed_on_first_open(db_url):
    legacy_head = _legacy_database(db_url)
    r = Registry(db_url, trail_key=KEY)
    try:
        entries = list(reversed(r.trail()))
        assert [e["action"] for e in entries[:3]] == ["model.register", "risk.assess", "trail.rekey"]
        rekey = json.loads(entries[2]["payload"])
        assert rekey == {"legacy_entries": 2, "legacy_head": legacy_head, "legacy_api_keys": []}
        with r.engine.connect() as conn:
            assert conn.execute(text("SELECT DISTINCT alg FROM trail")).scalars().all() == ["hmac-sha256"]
        assert r.verify_trail().ok
        sql(r, "UPDATE models SET owner = 'Mallory'")  # the rows as they were are covered now
        assert r.verify_trail().problems == [
            "models:1 was changed outside Steward: its content no longer matches trail entry 3 (trail.rekey trail)"]
    finally:
        r.close()
    r = Registry(db_url, trail_key=KEY)  # once only
    assert [e["action"] for e in r.trail()].count("trail.rekey") == 1
    r.close()


def test_broken_unkeyed_trail_is_left_for_verify(db_url):
    _legacy_database(db_url, broken=True)
    r = Registry(db_url, trail_key=KEY)
    try:
        assert "trail.rekey" not in [e["action"] for e in r.trail()]
        problems = r.verify_trail().problems  # the registry's next entry followed the head, not entry 2
        assert ("entry 3 does not follow entry 2: its prev_hash does not match" in problems
                or "the newest entry (2) does not match the trail head's hash" in problems)
        assert "models:1 has no trail entry (inserted outside Steward)" in problems
    finally:
        r.close()


# --- every change to a governed row is covered ----------------------------------------------------------

def test_a_change_without_a_trail_entry_cannot_commit(reg):
    with pytest.raises(RuntimeError, match="governed row\\(s\\) models:1 were changed but no trail entry covers"):
        with reg.tx() as s:
            s.execute(select(Model)).scalar_one().owner = "quietly"
    assert reg.model("m")["owner"] == ""


def test_a_change_after_the_trail_entry_cannot_commit(reg):
    from steward.governance import _trail

    with pytest.raises(RuntimeError, match="models:1"):
        with reg.tx() as s:
            m = s.execute(select(Model)).scalar_one()
            m.owner = "first"
            _trail.append(s, "dev", "model.update", "model:m", {"owner": "first"})
            m.purpose = "and then this"
    with reg.tx() as s:
        m = s.execute(select(Model)).scalar_one()
        m.owner = "Team B"
        _trail.append(s, "dev", "model.update", "model:m", {"owner": "Team B"})
    assert reg.model("m")["owner"] == "Team B" and reg.verify_trail().ok


def test_bulk_writes_to_governed_tables_are_refused(reg):
    with pytest.raises(RuntimeError, match="a bulk write to the governed table models bypasses the trail"):
        with reg.tx() as s:
            s.execute(update(Model).values(owner="everyone"))


def test_row_digests_are_the_same_on_sqlite_and_postgresql(pg_url, tmp_path):
    """The same operations on both databases give the same digest, once the ids and times neither
    controls are set alike."""
    digests = []
    for url in (f"sqlite:///{tmp_path / 'r.db'}", pg_url):
        r = Registry(url, trail_key=KEY)
        try:
            r.register_model("m", actor="dev", purpose="pretrial risk — ünïcode", domain="credit", owner="Team A")
            r.register_version("m", "1", actor="dev", environment={"b": [1, 2.5, None, True], "a": {"z": "é"}},
                               seeds={"numpy": 42})
            r.create_key("ana", ["validator", "viewer"], actor="admin")
            assert r.verify_trail().ok
            rows = []
            with r.engine.connect() as conn:
                for t in ("models", "versions", "principals"):
                    row = dict(conn.execute(select(Base.metadata.tables[t])).mappings().one())
                    row.update({k: "fixed" for k in ("id", "model_id", "created_at", "updated_at") if k in row})
                    rows.append(row_digest(t, row))
            digests.append(rows)
        finally:
            r.close()
    assert digests[0] == digests[1]


def test_row_digest_normalises_times_and_json():
    from datetime import datetime, timedelta, timezone

    utc = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)
    paris = utc.astimezone(timezone(timedelta(hours=1)))
    naive = datetime(2026, 11, 30, 12, 0)
    same = {row_digest("t", {"at": t, "j": {"b": 1, "a": [True, None]}}) for t in (utc, paris, naive)}
    assert len(same) == 1
    assert row_digest("t", {"j": {"a": 1, "b": 2}}) == row_digest("t", {"j": {"b": 2, "a": 1}})
    assert row_digest("t", {"flag": True}) != row_digest("t", {"flag": 1})
    assert row_digest("t", {"x": None}) != row_digest("t", {"x": ""})
    assert row_digest("t", {"at": utc}) != row_digest("t", {"at": utc + timedelta(microseconds=1)})


# --- checkpoints ----------------------------------------------------------------------------------------

def test_checkpoint_round_trip(reg):
    cp = reg.trail_checkpoint()
    assert set(cp) == {"seq", "hash", "created_at", "signature"} and cp["seq"] == reg.verify_trail().head_seq
    report = reg.verify_trail(cp)
    assert report.ok and report.to_dict()["checkpoint"] == {"seq": cp["seq"], "hash": cp["hash"],
                                                            "created_at": cp["created_at"], "matches": True}
    reg.register_model("later", actor="dev")
    assert reg.verify_trail(cp).ok  # a checkpoint stays good while the trail grows
    assert "checkpoint" not in reg.verify_trail().to_dict()
    for bad in ({}, {"seq": "3"}, dict(cp, seq=True)):
        assert reg.verify_trail(bad).problems == [
            "the checkpoint is malformed: it needs seq (a whole number), hash, created_at and signature, as "
            "`steward trail checkpoint` writes them"]
    assert reg.verify_trail(dict(cp, hash="0" * 64)).problems[0].endswith(
        "is forged or altered: its signature does not match (or it was made with another trail key)")


def test_no_checkpoint_of_a_tampered_trail(reg):
    sql(reg, "UPDATE models SET owner = 'Mallory'")
    with pytest.raises(StewardError, match="the trail does not verify \\(1 problem\\(s\\), the first: models:1 was "
                                           "changed outside Steward"):
        reg.trail_checkpoint()


def test_checkpoint_commands(reg, db_url, tmp_path):
    env = {"STEWARD_TRAIL_KEY": KEY}
    out = CliRunner().invoke(cli, ["trail", "checkpoint", "--database-url", db_url], env=env)
    assert out.exit_code == 0 and json.loads(out.stdout)["seq"] == reg.verify_trail().head_seq
    path = tmp_path / "cp.json"
    made = CliRunner().invoke(cli, ["trail", "checkpoint", "--database-url", db_url, "--out", str(path)], env=env)
    assert made.exit_code == 0 and "keep it away from the database" in " ".join(made.output.split())
    ok = CliRunner().invoke(cli, ["trail", "verify", "--database-url", db_url, "--checkpoint", str(path)], env=env)
    assert ok.exit_code == 0 and "as the checkpoint of" in " ".join(ok.output.split())
    path.write_text("not json")
    bad = CliRunner().invoke(cli, ["trail", "verify", "--database-url", db_url, "--checkpoint", str(path)], env=env)
    assert bad.exit_code == 2 and "is not JSON" in bad.output


# --- over HTTP ------------------------------------------------------------------------------------------

def test_trail_api_and_remote_client(tmp_path):
    from fastapi.testclient import TestClient

    from steward.governance import RemoteRegistry
    from steward.web.app import create_app

    reg = Registry(f"sqlite:///{tmp_path / 'r.db'}", trail_key=KEY)
    val = reg.create_key("Val", ["validator"], actor="admin")["key"]
    viewer = reg.create_key("Vic", ["viewer"], actor="admin")["key"]
    try:
        with TestClient(create_app(reg)) as client:
            auth = {"Authorization": f"Bearer {val}"}
            cp = client.get("/api/trail/checkpoint", headers=auth).json()
            assert client.post("/api/trail/verify", headers=auth, json=cp).json()["checkpoint"]["matches"] is True
            assert client.get("/api/trail/checkpoint", headers={"Authorization": f"Bearer {viewer}"}).status_code == 403
            remote = RemoteRegistry("http://testserver", val)
            remote._http = client
            client.headers.update(auth)
            assert remote.trail_checkpoint()["seq"] == cp["seq"]
            sql(reg, "DELETE FROM trail WHERE seq > 1")
            sql(reg, "UPDATE trail_head SET seq = 1, hash = (SELECT hash FROM trail WHERE seq = 1)")
            report = remote.verify_trail(cp)
            assert report["ok"] is False and report["checkpoint"]["matches"] is False
            assert any(p.startswith("the trail was rolled back or truncated: it ends at entry 1") for p in report["problems"])
            assert remote.verify_trail()["ok"] is False  # the keys' rows are no longer covered
            forged = client.post("/api/trail/verify", json=dict(cp, signature="0" * 64)).json()
            assert any("forged or altered" in p for p in forged["problems"])
            assert client.post("/api/trail/verify", json=dict(cp, extra=1)).status_code == 400
    finally:
        reg.close()


def test_cli_missing_key_is_an_input_error(tmp_path, no_key_env):
    db = tmp_path / "r.db"
    r = Registry(f"sqlite:///{db}")
    r.register_model("m", actor="dev")
    r.close()
    os.remove(f"{db}.trail-key")
    missing = CliRunner().invoke(cli, ["trail", "verify", "--database-url", f"sqlite:///{db}"])
    assert missing.exit_code == 2 and "its key was not found" in " ".join(missing.output.split())
