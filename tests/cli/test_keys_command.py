"""`steward keys list|revoke` on a local SQLite registry and through a real server on loopback.

A listing names people, roles and key ids, never a key's secret nor its hash; a revoked key stops
working at once; an unknown key id is one line and exit 2.
"""

import json
import socket
import threading
import time

import httpx
import pytest
from click.testing import CliRunner

from steward.cli import cli
from steward.errors import AuthenticationError
from steward.governance import Registry


def run(*args, env):
    return CliRunner().invoke(cli, list(args), env=env)


def lines(text):
    return [line for line in text.splitlines() if line.strip()]


def listed_ids(output):
    return {p["name"]: [(k["key_id"], k["revoked"]) for k in p["keys"]] for p in json.loads(output)}


@pytest.fixture()
def registry(tmp_path):
    url = f"sqlite:///{tmp_path / 'r.db'}"
    reg = Registry(url)
    keys = {who: reg.create_key(who, roles, actor="test")
            for who, roles in (("Ada Admin", ["admin"]), ("Olga Operator", ["operator"]))}
    yield url, reg, keys
    reg.close()


@pytest.fixture()
def server(registry):
    """``create_app`` over the registry, served by uvicorn on 127.0.0.1 in a background thread; yields its URL."""
    uvicorn = pytest.importorskip("uvicorn")
    from steward.web import create_app

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))  # the server uses this very socket, so no other process can take the port
    srv = uvicorn.Server(uvicorn.Config(create_app(registry[1]), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start within 10 s")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    srv.should_exit = True
    thread.join(timeout=10)
    sock.close()


def check_list_and_revoke(env, admin, operator):
    """The same behaviour whichever backend ``env`` points the CLI at."""
    r = run("keys", "list", "--json", env=env)
    assert r.exit_code == 0, r.output
    ids = listed_ids(r.output)
    assert ids == {"Ada Admin": [(admin["key_id"], False)], "Olga Operator": [(operator["key_id"], False)]}
    for secret in (admin["key"], operator["key"], admin["key"].split("_", 2)[2], operator["key"].split("_", 2)[2]):
        assert secret not in r.output
    assert "sha256" not in r.output and '"key"' not in r.output
    table = " ".join(run("keys", "list", env=env).output.split())
    assert "Olga Operator" in table and "operator" in table and operator["key_id"] in table and "active" in table

    r = run("keys", "revoke", operator["key_id"], env=env)
    assert r.exit_code == 0 and f"revoked API key {operator['key_id']}" in r.output
    after = json.loads(run("keys", "list", "--json", env=env).output)
    olga = next(p for p in after if p["name"] == "Olga Operator")
    assert olga["roles"] == ["operator"] and olga["keys"][0]["revoked"] is True and olga["keys"][0]["revoked_at"]
    assert "revoked (UTC)" in run("keys", "list", env=env).output

    r = run("keys", "revoke", "nosuchkey", env=env)
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert len(lines(r.stderr)) == 1 and "nosuchkey" in r.stderr


def test_keys_list_and_revoke_on_the_local_database(registry):
    url, reg, keys = registry
    admin, operator = keys["Ada Admin"], keys["Olga Operator"]
    env = {"STEWARD_DATABASE_URL": url, "STEWARD_API_KEY": admin["key"]}
    check_list_and_revoke(env, admin, operator)
    revoked_at = reg.keys()[1]["keys"][0]["revoked_at"]
    with pytest.raises(AuthenticationError, match="revoked"):
        reg.authenticate(operator["key"])
    time.sleep(1.1)  # revoking again keeps the time the key stopped working
    assert run("keys", "revoke", operator["key_id"], env=env).exit_code == 0
    assert reg.keys()[1]["keys"][0]["revoked_at"] == revoked_at
    trail = [e["action"] for e in reg.trail(limit=100)]
    assert trail.count("key.revoke") == 1


def test_only_an_admin_lists_or_revokes_keys_locally(registry):
    url, _, keys = registry
    env = {"STEWARD_DATABASE_URL": url, "STEWARD_API_KEY": keys["Olga Operator"]["key"]}
    for args in (("keys", "list"), ("keys", "revoke", keys["Ada Admin"]["key_id"])):
        r = run(*args, env=env)
        assert r.exit_code == 2 and "admin" in r.stderr and len(lines(r.stderr)) == 1
    assert run("keys", "list", env={"STEWARD_DATABASE_URL": url}).exit_code == 2  # no key at all


def test_keys_list_and_revoke_through_a_server(registry, server):
    url, reg, keys = registry
    admin, operator = keys["Ada Admin"], keys["Olga Operator"]
    env = {"STEWARD_SERVER": server, "STEWARD_API_KEY": admin["key"]}
    check_list_and_revoke(env, admin, operator)
    # the revoked key is refused by the server at once
    r = httpx.get(f"{server}/api/models", headers={"Authorization": f"Bearer {operator['key']}"})
    assert r.status_code == 401 and "revoked" in r.json()["error"]


def test_the_keys_route_is_for_admins_only(registry, server):
    _, _, keys = registry
    assert httpx.get(f"{server}/api/keys").status_code == 401
    r = httpx.get(f"{server}/api/keys", headers={"Authorization": f"Bearer {keys['Olga Operator']['key']}"})
    assert r.status_code == 403 and r.json() == {"ok": False, "error": r.json()["error"], "status": 403}
    r = run("keys", "list", env={"STEWARD_SERVER": server, "STEWARD_API_KEY": keys["Olga Operator"]["key"]})
    assert r.exit_code == 2 and "403" in r.stderr
    r = httpx.get(f"{server}/api/keys", headers={"Authorization": f"Bearer {keys['Ada Admin']['key']}"})
    assert r.status_code == 200 and {p["name"] for p in r.json()} == {"Ada Admin", "Olga Operator"}


def test_a_key_from_before_keyed_hashes_is_listed_as_legacy(tmp_path):
    from tests.governance.test_principals import _legacy_database_with_key

    url = f"sqlite:///{tmp_path / 'old.db'}"
    old_key = _legacy_database_with_key(url)  # revision 0001: the key's plain SHA-256 is stored
    reg = Registry(url)  # upgraded: the trail.rekey entry lists the key, which keeps working
    try:
        assert reg.authenticate(old_key)["name"] == "Old Dev"
        admin = reg.create_key("Ada Admin", ["admin"], actor="test")
    finally:
        reg.close()
    env = {"STEWARD_DATABASE_URL": url, "STEWARD_API_KEY": admin["key"], "COLUMNS": "200"}
    listed = json.loads(run("keys", "list", "--json", env=env).output)
    assert {k["key_id"]: k["legacy_hash"] for p in listed for k in p["keys"]} == {
        "0123456789ab": True, admin["key_id"]: False}
    table = [" ".join(line.split()) for line in lines(run("keys", "list", env=env).output)]
    assert [line for line in table if "legacy hash: rotate" in line] == [
        next(line for line in table if "0123456789ab" in line)]
    # Rotated: a new key for its owner, the old one revoked; the listing no longer asks for it.
    new = run("keys", "create", "--name", "Old Dev", "--role", "developer", env=env)
    assert new.exit_code == 0, new.output
    assert run("keys", "revoke", "0123456789ab", env=env).exit_code == 0
    assert "legacy hash" not in run("keys", "list", env=env).output
