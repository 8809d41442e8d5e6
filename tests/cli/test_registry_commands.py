"""The registry commands on the local database, and `steward serve` as a real process."""

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request

from click.testing import CliRunner

import steward
from steward.cli import cli
from tests.governance.conftest import LENIENT


def run(*args, env=None):
    return CliRunner().invoke(cli, list(args), env=env)


def key_in(text):
    found = re.search(r"stw_[0-9a-f]{12}_\S+", text)
    assert found, text
    return found.group(0)


def flat(text):
    return " ".join(text.split())


def test_local_registry_workflow(tmp_path):
    db = f"sqlite:///{tmp_path / 'r.db'}"
    policy = tmp_path / "lenient.yaml"
    policy.write_text(LENIENT)
    # No key from the environment running the tests: each command below says whose key it uses.
    env = {"STEWARD_DATABASE_URL": db, "STEWARD_POLICY": str(policy), "STEWARD_API_KEY": None}
    artifact = tmp_path / "model.bin"
    artifact.write_bytes(b"weights")
    r = run("models", "register", "credit", "--domain", "credit", "--owner", "Risk team", env=env)
    assert r.exit_code == 0, r.output
    # The first local use creates an admin key, shows it once on stderr and acts as that admin.
    assert "First use of this registry: an admin API key was created" in flat(r.stderr)
    admin = key_in(r.stderr)
    keys = {}
    for name, role in (("Dev", "developer"), ("Val", "validator"), ("Eve", "executive"), ("ops", "operator")):
        r = run("keys", "create", "--name", name, "--role", role, "--api-key", admin, env=env)
        assert r.exit_code == 0 and f"API key for {name} ({role})" in r.output, r.output
        assert "admin API key" not in r.output  # only the first use makes one
        keys[name] = key_in(r.output)
    dev = ["--api-key", keys["Dev"]]
    r = run("models", "version", "credit:1.0", "--artifact", str(artifact), "--seed", "numpy=42", *dev, env=env)
    assert r.exit_code == 0, r.output
    r = run("models", "assess", "credit", "--domain", "credit", "--people-affected", "50000", "--decisions-per-day",
            "100", "--no-human-review", "--wrong-decision-cost", "high", *dev, env=env)
    assert r.exit_code == 0 and "tier 'high' because the domain, credit" in " ".join(r.output.split())
    audit = ["audit", str(steward.datasets.path("compas")), "--label", "two_year_recid", "--score", "decile_score",
             "--threshold", "5", "--favourable", "0", "--protected", "race=Caucasian", "--policy", str(policy),
             "--tier", "high", "--register", "credit:1.0", "--out", str(tmp_path / "rep"), *dev]
    r = run(*audit, env=env)
    assert r.exit_code == 0 and "Recorded as audit #1 of credit:1.0 in the local registry" in flat(r.output)
    r = run("approve", "credit:1.0", env=env)
    assert r.exit_code == 2 and "on the local registry is made as the principal of an API key" in flat(r.output)
    r = run("approve", "credit:1.0", *dev, env=env)
    assert r.exit_code == 2 and "no validator has signed off" in flat(r.output)
    r = run("signoff", "credit:1.0", "--role", "validator", "--decision", "approve", *dev, env=env)
    assert r.exit_code == 2 and "Dev (developer) may not do this" in flat(r.output)
    r = run("signoff", "credit:1.0", "--role", "validator", "--decision", "reject", "--api-key", keys["Val"], env=env)
    assert r.exit_code == 2 and "a rejection needs a comment" in r.output
    for role, who in (("validator", "Val"), ("executive", "Eve")):
        r = run("signoff", "credit:1.0", "--role", role, "--decision", "approve", "--api-key", keys[who], env=env)
        assert r.exit_code == 0 and f"recorded: approve by {who} as {role} on audit #1" in r.output, r.output
    r = run("approve", "credit:1.0", *dev, env=env)
    assert r.exit_code == 0 and "approved for deployment (by Dev)" in r.output
    shown = json.loads(run("models", "show", "credit", "--json", env=env).output)
    v = shown["versions"][0]
    assert v["status"] == "approved" and v["seeds"] == {"numpy": 42}
    assert v["artifact_sha256"] == __import__("hashlib").sha256(b"weights").hexdigest()
    listed = run("models", "list", "--tier", "high", env=env)
    assert "credit" in listed.output and "PASSED" in listed.output
    assert "no models match" in run("models", "list", "--failing", env=env).output
    r = run("incident", "open", "credit:1.0", "--title", "Complaints", "--severity", "high", env=env)
    assert r.exit_code == 2 and "on the local registry is made as the principal of an API key" in flat(r.output)
    r = run("incident", "open", "credit:1.0", "--title", "Complaints", "--severity", "high", *dev, env=env)
    assert r.exit_code == 0
    ops = ["--api-key", keys["ops"]]
    r = run("incident", "update", "1", "--status", "resolved", "--note", "x", *ops, env=env)
    assert r.exit_code == 2 and "can only move to contained" in r.output
    assert run("incident", "update", "1", "--status", "contained", *ops, env=env).exit_code == 0
    assert "contained" in run("incident", "list", env=env).output
    r = run("trail", "verify", env=env)
    assert r.exit_code == 0 and "trail intact" in r.output
    r = run("keys", "create", "--name", "ops2", "--role", "operator", *ops, env=env)
    assert r.exit_code == 2 and "ops (operator) may not do this" in flat(r.output) and "stw_" not in r.output
    r = run("keys", "create", "--name", "ops2", "--role", "operator", "--api-key", admin, env=env)
    assert r.exit_code == 0 and key_in(r.output)
    assert run("models", "show", "nope", env=env).exit_code == 2
    r = run("signoff", "credit", "--role", "validator", "--decision", "approve", "--api-key", keys["Val"], env=env)
    assert r.exit_code == 2 and "'credit' is not MODEL:VERSION" in r.output
    # Every write was made as the principal of a key, none as the operating-system user.
    trail = json.loads(run("models", "show", "credit", "--json", env=env).output)["trail"]
    assert {e["actor"] for e in trail} <= {"admin", "Dev", "Val", "Eve", "ops"}


def test_local_writes_need_a_key_that_may_make_them(tmp_path):
    """Registering as the OS user and then signing off with one's own key would defeat separation of
    duties: on the local database every write is made as the principal of a key holding the permission."""
    db = f"sqlite:///{tmp_path / 'r.db'}"
    env = {"STEWARD_DATABASE_URL": db, "STEWARD_API_KEY": None}
    r = run("models", "register", "credit", "--domain", "credit", env=env)  # first use: made as the admin
    assert r.exit_code == 0 and "registered model credit" in r.output
    admin = key_in(r.stderr)
    keys = {}
    for name, role in (("Vic", "viewer"), ("Val", "validator")):
        r = run("keys", "create", "--name", name, "--role", role, "--api-key", admin, env=env)
        keys[name] = key_in(r.output)
    register = [("models", "register", "other", "--domain", "credit"), ("models", "version", "credit:1"),
                ("models", "assess", "credit", "--domain", "credit", "--people-affected", "5", "--decisions-per-day",
                 "1", "--human-review", "--wrong-decision-cost", "low"),
                ("incident", "open", "credit", "--title", "t", "--severity", "low")]
    audit = ("audit", str(steward.datasets.path("compas")), "--label", "two_year_recid", "--prediction", "is_recid",
             "--protected", "race", "--register", "credit:1", "--out", str(tmp_path / "rep"))
    for args in register + [audit]:
        r = run(*args, env=env)  # no key: refused, not recorded as the OS user
        assert r.exit_code == 2 and "made as the principal of an API key" in flat(r.output), (args, r.output)
        # a key whose roles do not allow it (a validator may open incidents and assess risk)
        for who in ("Vic",) if args[0] == "incident" or args[1] == "assess" else ("Vic", "Val"):
            r = run(*args, "--api-key", keys[who], env=env)
            assert r.exit_code == 2 and f"{who} (" in r.output and "may not do this" in flat(r.output), (args, r.output)
        r = run(*args, "--api-key", "stw_000000000000_nope", env=env)
        assert r.exit_code == 2 and "unknown API key" in r.output
    assert not (tmp_path / "rep").exists()  # refused before the audit ran
    # Reading needs no key; a key given is still checked.
    assert run("models", "list", env=env).exit_code == 0
    assert run("models", "list", "--api-key", "stw_000000000000_nope", env=env).exit_code == 2
    r = run("models", "register", "other", "--domain", "credit", "--api-key", admin, env=env)
    assert r.exit_code == 0
    trail = json.loads(run("models", "show", "credit", "--json", env=env).output)["trail"]
    assert [e["actor"] for e in trail] == ["admin"]


def test_a_bad_register_reference_is_said_before_the_audit(tmp_path):
    r = run("audit", str(steward.datasets.path("compas")), "--label", "two_year_recid", "--prediction", "is_recid",
            "--protected", "race", "--register", "no-version", "--out", str(tmp_path / "rep"))
    assert r.exit_code == 2 and "'no-version' is not MODEL:VERSION" in r.output
    assert not (tmp_path / "rep").exists()


def test_bad_database_url_is_a_clear_error(tmp_path):
    r = run("models", "list", "--database-url", "nonsense")
    assert r.exit_code == 2 and "is not a URL" in r.output
    r = run("models", "list", "--database-url", "postgresql://nobody@127.0.0.1:1/x")
    assert r.exit_code == 2 and "cannot open the registry database postgresql+psycopg://nobody@127.0.0.1:1/x" in r.output
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = run("models", "list", "--database-url", f"sqlite:///{blocker}/sub/r.db")
    assert r.exit_code == 2 and "cannot create the registry's folder" in r.output


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_once(tmp_path):
    port = free_port()
    env = {**os.environ, "STEWARD_DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "steward.cli", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            lines.append(line)
            if "Steward server on" in line:
                break
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as resp:
                    assert json.load(resp)["ok"] is True
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise AssertionError("server did not answer: " + "".join(lines))
    finally:
        proc.terminate()
        proc.wait(10)
    return "".join(lines)


def test_first_serve_prints_an_admin_key_once(tmp_path):
    first = serve_once(tmp_path)
    assert "admin API key was created" in first
    key = re.search(r"stw_[0-9a-f]{12}_\S+", first).group(0)
    from steward.governance import Registry

    reg = Registry(f"sqlite:///{tmp_path / 's.db'}")
    assert reg.authenticate(key)["roles"] == ["admin"]
    reg.close()
    second = serve_once(tmp_path)
    assert "admin API key" not in second and "stw_" not in second
