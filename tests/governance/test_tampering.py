"""Tampering with a real registry straight in the database, on SQLite and PostgreSQL: every governed
row edited, inserted or deleted; the trail rolled back, wiped, re-signed with a guessed key or
downgraded to unkeyed hashes; a damaged file. Each is named by ``Registry.verify_trail()`` and by
``steward trail verify`` (exit 1, no traceback).

The populated database is built once per backend and copied for each test (a file copy; a
PostgreSQL ``CREATE DATABASE ... TEMPLATE``), so no test re-runs an audit.
"""

from __future__ import annotations

import json
import shutil
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, select, text

from steward.cli import cli
from steward.errors import StewardError
from steward.governance import Registry
from steward.governance._tables import Base
from steward.governance._trail import GENESIS, entry_hash, entry_hmac
from tests.governance.conftest import PG, RISK, postgres_admin

GOVERNED = ("principals", "api_keys", "policies", "models", "versions", "risk_assessments", "audit_runs",
            "sign_offs", "acceptances", "reproductions", "incidents", "incident_entries")


@pytest.fixture(scope="module")
def key_file(tmp_path_factory):
    """One key file for the module, outside every database (copies share it)."""
    path = tmp_path_factory.mktemp("key") / "trail.key"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("STEWARD_TRAIL_KEY_FILE", str(path))
        mp.delenv("STEWARD_TRAIL_KEY", raising=False)
        yield path


def populate(url: str, audit, other_policy) -> dict[str, object]:
    """A registry with a row in every governed table, made through the Registry API; the id of one
    row per table."""
    # A second stored policy, not the one these tests open the registry with (which it would store again).
    Registry(url, policy=other_policy).close()
    reg = Registry(url, policy="default")
    try:
        for name, roles in (("Dev", ["developer"]), ("Val", ["validator"]), ("Eve", ["executive"])):
            reg.create_key(name, roles, actor="admin")
        spare = reg.create_key("Old", ["viewer"], actor="admin")
        reg.revoke_key(spare["key_id"], actor="admin")
        reg.register_model("compas", actor="Dev", purpose="pretrial risk", domain="criminal_justice", owner="Team A")
        reg.register_version("compas", "1", actor="Dev", environment={"python": "3.11"}, seeds={"numpy": 7})
        reg.assess_risk("compas", RISK, actor="Dev")
        run = reg.record_audit("compas", "1", audit, actor="Dev")
        failing = sorted({f.check for f in audit.findings if f.status in ("fail", "not_evidenced")})
        until = (datetime.now(timezone.utc) + timedelta(days=30)).date().isoformat()
        reg.accept("compas", "1", check=failing[0], reason="remediation planned", until=until, actor="Eve")
        rerun = dict(audit.to_dict(), created=datetime.now(timezone.utc).isoformat())  # a re-run made after the upload
        reg.record_reproduction("compas", "1", report=rerun, actor="Val")
        reg.sign_off("compas", "1", role="validator", decision="reject", comment="FPR gap", actor="Val")
        reg.sign_off("compas", "1", role="executive", decision="approve", actor="Eve")
        inc = reg.open_incident("compas", title="Complaints", severity="high", actor="Dev", version="1")
        reg.update_incident(inc["id"], note="looking into it", actor="Dev")
        report = reg.verify_trail()
        assert report.ok, report.problems
        ids = {}
        with reg.engine.connect() as conn:
            for name in GOVERNED:
                (pk,) = Base.metadata.tables[name].primary_key.columns
                ids[name] = conn.execute(select(pk).order_by(pk).limit(1)).scalar_one()
        ids["audit_runs"] = run["id"]
        ids["spare_key"] = spare["key_id"]
        ids["policies"] = other_policy.sha256
        return ids
    finally:
        reg.close()  # SQLite folds its WAL into the file; PostgreSQL lets the database be a template


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def populated(request, tmp_path_factory, key_file, failing_audit, lenient_policy):
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("populated") / "registry.db"
        yield "sqlite", path, populate(f"sqlite:///{path}", failing_audit, lenient_policy)
        return
    admin = postgres_admin()
    name = f"steward_tpl_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield "postgresql", name, populate(_pg_url(name), failing_audit, lenient_policy)
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _pg_url(name: str) -> str:
    return f"postgresql+psycopg://{PG['user']}@{PG['host']}:{PG['port']}/{name}"


@pytest.fixture
def url(populated, tmp_path):
    """A copy of the populated registry of its own for one test."""
    kind, source, _ids = populated
    if kind == "sqlite":
        path = tmp_path / "registry.db"
        shutil.copyfile(source, path)
        yield f"sqlite:///{path}"
        return
    admin = postgres_admin()
    name = f"steward_test_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
    try:
        yield _pg_url(name)
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def ids(populated):
    return populated[2]


def tamper(url: str, *statements, params: dict | None = None) -> None:
    """Run SQL as an intruder would: straight on the database, foreign keys not enforced."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF" if engine.dialect.name == "sqlite"
                                 else "SET session_replication_role = replica")
            for st in statements:
                if isinstance(st, str):
                    conn.execute(text(st), params or {})
                else:
                    conn.execute(st)
    finally:
        engine.dispose()


def problems(url: str, checkpoint: dict | None = None) -> list[str]:
    reg = Registry(url, policy="default")
    try:
        return reg.verify_trail(checkpoint).problems
    finally:
        reg.close()


def cli_verify(url: str, *extra: str):
    result = CliRunner().invoke(cli, ["trail", "verify", "--database-url", url, "--policy", "default", *extra])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result.exit_code, " ".join(result.output.split())


def assert_named(url: str, expected: str, checkpoint_file: str | None = None) -> list[str]:
    """Both the API and the command name the problem; the command exits 1."""
    cp = json.loads(open(checkpoint_file).read()) if checkpoint_file else None
    found = problems(url, cp)
    assert any(expected in p for p in found), found
    code, out = cli_verify(url, *(["--checkpoint", checkpoint_file] if checkpoint_file else []))
    assert code == 1 and "trail tampered" in out and expected in out, out
    return found


def test_the_copy_is_intact(url, ids):
    assert problems(url) == []
    code, out = cli_verify(url)
    assert code == 0 and "trail intact" in out


# --- every governed row: edited, inserted, deleted ----------------------------------------------------

EDITS = {
    "principals": "UPDATE principals SET roles = '[\"admin\"]' WHERE id = :id",
    "api_keys": "UPDATE api_keys SET revoked_at = NULL WHERE id = :spare",
    "policies": "UPDATE policies SET text = text || ' ' WHERE sha256 = :id",
    "models": "UPDATE models SET owner = 'Mallory' WHERE id = :id",
    "versions": "UPDATE versions SET status = 'approved' WHERE id = :id",
    "risk_assessments": "UPDATE risk_assessments SET tier = 'low' WHERE id = :id",
    "audit_runs": "UPDATE audit_runs SET passed = (1 = 1), n_fail = 0 WHERE id = :id",
    "sign_offs": "UPDATE sign_offs SET decision = 'approve', comment = '' WHERE id = :id",
    "acceptances": "UPDATE acceptances SET reason = 'none needed' WHERE id = :id",
    "reproductions": "UPDATE reproductions SET detail = 'forged' WHERE id = :id",
    "incidents": "UPDATE incidents SET status = 'resolved' WHERE id = :id",
    "incident_entries": "UPDATE incident_entries SET text = 'nothing happened' WHERE id = :id",
}

# What an inserted copy of the first row changes so that it does not clash with it.
NEW = {"principals": {"id": 900, "name": "Mallory"}, "api_keys": {"id": "mallory00000"},
       "policies": {"sha256": "f" * 64}, "models": {"id": 900, "name": "shadow"}, "versions": {"id": 900, "version": "9"}}


@pytest.mark.parametrize("table", GOVERNED)
def test_edited_row(url, ids, table):
    pk = ids["spare_key"] if table == "api_keys" else ids[table]
    tamper(url, EDITS[table], params={"id": ids[table], "spare": ids["spare_key"]})
    found = assert_named(url, f"{table}:{pk} was changed outside Steward")
    assert len(found) == 1, found


@pytest.mark.parametrize("table", GOVERNED)
def test_inserted_row(url, ids, table):
    t = Base.metadata.tables[table]
    (pk,) = t.primary_key.columns
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            row = dict(conn.execute(select(t).where(pk == ids[table])).mappings().one())
    finally:
        engine.dispose()
    row.update(NEW.get(table, {"id": 900}))
    tamper(url, t.insert().values(**row))
    found = assert_named(url, f"{table}:{row[pk.name]} has no trail entry (inserted outside Steward)")
    assert len(found) == 1, found


@pytest.mark.parametrize("table", GOVERNED)
def test_deleted_row(url, ids, table):
    (pk,) = Base.metadata.tables[table].primary_key.columns
    tamper(url, f"DELETE FROM {table} WHERE {pk.name} = :id", params={"id": ids[table]})
    found = assert_named(url, f"{table}:{ids[table]} was deleted outside Steward")
    assert len(found) == 1, found


def test_unreadable_value(url, ids, populated):
    if populated[0] != "sqlite":
        pytest.skip("PostgreSQL refuses a value its column type cannot hold")
    tamper(url, "UPDATE versions SET created_at = 'last tuesday' WHERE id = :id", params={"id": ids["versions"]})
    assert_named(url, f"versions:{ids['versions']} was changed outside Steward: a stored value cannot be read")


# --- the trail itself ----------------------------------------------------------------------------------

def _checkpoint(url: str, tmp_path) -> str:
    path = tmp_path / "checkpoint.json"
    result = CliRunner().invoke(cli, ["trail", "checkpoint", "--database-url", url, "--policy", "default",
                                      "--out", str(path)])
    assert result.exit_code == 0, result.output
    return str(path)


def _head(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT seq FROM trail_head")).scalar_one()
    finally:
        engine.dispose()


def test_head_rolled_back(url):
    n = _head(url)
    tamper(url, "UPDATE trail_head SET seq = :n, hash = (SELECT hash FROM trail WHERE seq = :n)", params={"n": n - 1})
    assert_named(url, f"the trail ends at entry {n} but its head says {n - 1}: the head was rolled back")


def test_newest_entries_truncated_with_the_head(url, tmp_path):
    cp = _checkpoint(url, tmp_path)
    n = _head(url)
    tamper(url, "DELETE FROM trail WHERE seq > :n",
           "UPDATE trail_head SET seq = :n, hash = (SELECT hash FROM trail WHERE seq = :n)", params={"n": n - 2})
    # Without the checkpoint, the rows the lost entries covered give it away...
    assert any("incident_entries" in p for p in problems(url))
    # ...and the checkpoint names the truncation itself.
    assert_named(url, f"the trail was rolled back or truncated: it ends at entry {n - 2}, but the checkpoint", cp)


def test_trail_wiped(url, tmp_path):
    cp = _checkpoint(url, tmp_path)
    n = _head(url)
    tamper(url, "DELETE FROM trail", "UPDATE trail_head SET seq = 0, hash = :g", params={"g": GENESIS})
    found = assert_named(url, f"the trail was wiped: it is empty, but the checkpoint of", cp)
    assert any(f"saw it reach entry {n}" in p for p in found)
    assert any("has no trail entry (inserted outside Steward)" in p for p in problems(url))


def test_everything_wiped_is_found_only_with_a_checkpoint(url, tmp_path):
    cp = _checkpoint(url, tmp_path)
    tamper(url, *[f"DELETE FROM {t}" for t in reversed(GOVERNED)], "DELETE FROM trail",
           "UPDATE trail_head SET seq = 0, hash = :g", params={"g": GENESIS})
    assert problems(url) == []  # an empty registry is consistent with its empty trail...
    assert_named(url, "the checkpoint of", cp)  # ...but it is not the trail the checkpoint saw


def test_checkpoint_forged(url, tmp_path):
    path = _checkpoint(url, tmp_path)
    cp = json.loads(open(path).read())
    cp["seq"] -= 3  # claim the trail was shorter, to cover a rollback
    with open(path, "w") as f:
        json.dump(cp, f)
    assert_named(url, "is forged or altered: its signature does not match", path)


def _rows(url):
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [dict(r) for r in conn.execute(text("SELECT * FROM trail ORDER BY seq")).mappings()]
    finally:
        engine.dispose()


def _rewrite(url, entries, sign):
    """Rewrite every entry's hash with ``sign(entry, prev_hash)`` and the head after it."""
    statements, prev = [], GENESIS
    for e in entries:
        h = sign(e, prev)
        statements.append(text("UPDATE trail SET prev_hash = :p, hash = :h, alg = :a, rows = :r WHERE seq = :s")
                          .bindparams(p=prev, h=h, a=e["alg"], r=e["rows"], s=e["seq"]))
        prev = h
    statements.append(text("UPDATE trail_head SET seq = :s, hash = :h").bindparams(s=entries[-1]["seq"], h=prev))
    tamper(url, *statements)


def test_chain_re_signed_with_a_guessed_key(url, ids):
    tamper(url, EDITS["models"], params={"id": ids["models"]})
    entries = _rows(url)
    guess = b"steward-trail-key-guess-0123456789abcdef"
    _rewrite(url, entries, lambda e, prev: entry_hmac(guess, e["seq"], e["created_at"], e["actor"], e["action"],
                                                      e["subject"], e["payload"], e["rows"], prev))
    found = assert_named(url, "no keyed entry matches its HMAC: the trail was re-signed with another key")
    edited = [p for p in found if p.endswith("no longer matches its hash")]
    assert len(edited) == len(entries)


def test_unkeyed_entry_after_keyed_ones(url, ids):
    """The intruder edits a model and appends an entry "covering" it, hashed without the key."""
    tamper(url, EDITS["models"], params={"id": ids["models"]})
    last = _rows(url)[-1]
    seq, created = last["seq"] + 1, last["created_at"]
    payload = json.dumps({"owner": "Mallory"})
    h = entry_hash(seq, created, "admin", "model.update", "model:compas", payload, last["hash"])
    tamper(url, "INSERT INTO trail (seq, created_at, actor, action, subject, payload, prev_hash, hash, rows, alg) "
                "VALUES (:s, :c, 'admin', 'model.update', 'model:compas', :p, :prev, :h, '{}', 'sha256')",
           "UPDATE trail_head SET seq = :s, hash = :h",
           params={"s": seq, "c": created, "p": payload, "prev": last["hash"], "h": h})
    found = assert_named(url, f"entry {seq} (model.update model:compas) is an unkeyed (sha256) entry after keyed ones")
    assert any(f"models:{ids['models']} was changed outside Steward" in p for p in found)


def test_whole_trail_downgraded_to_unkeyed_is_not_laundered(url, ids, tmp_path):
    """Rewritten whole as an intact unkeyed chain (as an old database's), the trail is NOT re-signed
    when a registry next opens it: only the upgrade from the unkeyed schema re-signs. Verify names
    the unkeyed entries and the edited row, and a checkpoint kept elsewhere shows the rewrite too."""
    cp = _checkpoint(url, tmp_path)
    tamper(url, EDITS["models"], params={"id": ids["models"]})
    entries = [dict(e, alg="sha256", rows="{}") for e in _rows(url)]
    _rewrite(url, entries, lambda e, prev: entry_hash(e["seq"], e["created_at"], e["actor"], e["action"],
                                                      e["subject"], e["payload"], prev))
    found = assert_named(url, "is not the entry the checkpoint of", cp)
    assert any(f"models:{ids['models']}" in p for p in found), found


# --- a damaged database --------------------------------------------------------------------------------

def test_garbage_file(tmp_path, key_file):
    path = tmp_path / "garbage.db"
    path.write_bytes(uuid.uuid4().bytes * 4096)
    with pytest.raises(StewardError) as e:
        Registry(f"sqlite:///{path}")
    assert "\n" not in str(e.value)
    code, out = cli_verify(f"sqlite:///{path}")
    assert code == 1 and "the database is damaged" in out and "file is not a database" in out


def test_dropped_table(url):
    tamper(url, "DROP TABLE sign_offs" + (" CASCADE" if url.startswith("postgresql") else ""))
    with pytest.raises(StewardError, match="the database is damaged: table sign_offs is missing"):
        Registry(url, policy="default")
    code, out = cli_verify(url)
    assert code == 1 and "the database is damaged" in out and "sign_offs" in out


def test_trail_head_deleted(url):
    tamper(url, "DELETE FROM trail_head")
    with pytest.raises(StewardError, match="the trail's head row is missing"):
        Registry(url, policy="default")
    code, out = cli_verify(url)
    assert code == 1 and "the database is damaged: the trail's head row is missing" in out


def test_corrupt_pages(url, populated):
    if populated[0] != "sqlite":
        pytest.skip("a SQLite file's pages")
    path = url.removeprefix("sqlite:///")
    data = bytearray(open(path, "rb").read())
    page = int.from_bytes(data[16:18], "big")
    for p in range(2, len(data) // page):  # every page's header but the first (the schema) is garbage now
        data[p * page:p * page + 8] = b"\xff" * 8
    open(path, "wb").write(bytes(data))
    code, out = cli_verify(url)
    assert code == 1 and "the database is damaged" in out, out


def test_dropped_column_is_damage_not_a_traceback(url):
    tamper(url, "ALTER TABLE incidents DROP COLUMN description")
    found = problems(url)
    assert len(found) == 1 and found[0].startswith("the database is damaged:"), found
    code, out = cli_verify(url)
    assert code == 1 and "the database is damaged" in out
