"""The tamper-evident trail: intact after real work; an edited, deleted or truncated entry is found."""

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from steward.cli import cli
from steward.governance import Registry


@pytest.fixture
def reg(db_url):
    r = Registry(db_url)
    r.register_model("m", actor="dev", domain="credit")
    r.register_version("m", "1", actor="dev")
    r.open_incident("m", title="t", severity="low", actor="ops")
    r.update_incident(1, note="looked", actor="ops")
    yield r
    r.close()


def sql(reg, statement):
    with reg.engine.begin() as conn:
        conn.execute(text(statement))


def test_intact_trail(reg):
    report = reg.verify_trail()
    assert report.ok and report.entries == 4 and report.head_seq == 4
    actions = [e["action"] for e in reversed(reg.trail())]
    assert actions == ["model.register", "version.register", "incident.open", "incident.update"]


def test_edited_entry(reg):
    sql(reg, """UPDATE trail SET payload = '{"domain":"marketing"}' WHERE seq = 1""")
    report = reg.verify_trail()
    assert not report.ok
    assert report.problems == ["entry 1 (model.register model:m) was edited: its content no longer matches its hash"]


def test_edited_entry_with_a_recomputed_hash_breaks_the_chain(reg):
    # A careful forger recomputes entry 2's hash; entry 3 no longer follows it.
    from steward.governance._trail import entry_hash

    with reg.engine.begin() as conn:
        e = conn.execute(text("SELECT seq, created_at, actor, action, subject, payload, prev_hash FROM trail WHERE seq = 2")).one()
        forged = entry_hash(e.seq, e.created_at, "someone else", e.action, e.subject, e.payload, e.prev_hash)
        conn.execute(text("UPDATE trail SET actor = 'someone else', hash = :h WHERE seq = 2"), {"h": forged})
    assert reg.verify_trail().problems == ["entry 3 does not follow entry 2: its prev_hash does not match"]


def test_deleted_entry(reg):
    sql(reg, "DELETE FROM trail WHERE seq = 2")
    assert reg.verify_trail().problems == ["entry 2 is missing (deleted): the trail jumps from 1 to 3"]


def test_deleted_newest_entry(reg):
    sql(reg, "DELETE FROM trail WHERE seq = 4")
    assert reg.verify_trail().problems == ["the trail ends at entry 3 but its head says 4: newer entries were deleted"]


def test_trail_verify_command(reg, db_url):
    ok = CliRunner().invoke(cli, ["trail", "verify", "--database-url", db_url])
    assert ok.exit_code == 0 and "trail intact: 4 entries" in " ".join(ok.output.split())
    sql(reg, "UPDATE trail SET actor = 'mallory' WHERE seq = 3")
    bad = CliRunner().invoke(cli, ["trail", "verify", "--database-url", db_url])
    assert bad.exit_code == 1
    assert "entry 3 (incident.open incident:1) was edited" in " ".join(bad.output.split())
