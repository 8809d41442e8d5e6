"""`steward reproduce` and `steward accept` on a local registry, with keys: effective challenge by a
validator, owned and expiring exceptions by an executive, and a tier that requires reproduction."""

from __future__ import annotations

import re
import shutil
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

import steward
from steward.cli import cli
from tests.governance.conftest import LENIENT

REPRODUCE = LENIENT.replace("    sign_off: [validator, executive]\n",
                            "    sign_off: [validator, executive]\n    require_reproduction: true\n    distinct_signers: true\n")


def run(*args, env=None):
    return CliRunner().invoke(cli, list(args), env=env)


@pytest.fixture
def local(tmp_path):
    """A local registry whose tier requires reproduction, an audit recorded, and keys for people."""
    policy = tmp_path / "policy.yaml"
    policy.write_text(REPRODUCE)
    data = tmp_path / "compas.csv.gz"
    shutil.copy(steward.datasets.path("compas"), data)
    env = {"STEWARD_DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}", "STEWARD_POLICY": str(policy)}
    r = run("models", "register", "compas", "--domain", "criminal_justice", env=env)
    assert r.exit_code == 0, r.output
    admin = re.search(r"stw_\w+_[\w-]+", r.stderr).group(0)  # first local use: an admin key, shown once
    keys = {}
    for name, roles in (("Val", ["validator"]), ("Eve", ["executive"]), ("Dev", ["developer"])):
        r = run("keys", "create", "--name", name, *sum((["--role", x] for x in roles), []), "--api-key", admin, env=env)
        assert r.exit_code == 0, r.output
        keys[name] = re.search(r"stw_\w+_[\w-]+", r.output).group(0)
    r = run("models", "assess", "compas", "--domain", "criminal_justice", "--people-affected", "5000",
            "--decisions-per-day", "30", "--human-review", "--wrong-decision-cost", "high", "--api-key", keys["Dev"],
            env=env)
    assert r.exit_code == 0, r.output
    audit = ["audit", str(data), "--label", "two_year_recid", "--score", "decile_score", "--threshold", "5",
             "--favourable", "0", "--protected", "race=Caucasian", "--protected", "sex=Male", "--policy", str(policy),
             "--register", "compas:1", "--out", str(tmp_path / "rep"), "--api-key", keys["Dev"]]
    r = run(*audit, env=env)  # no --tier: the model's recorded risk tier is used
    assert r.exit_code == 0, r.output
    return env, keys, data, admin


def test_reproduce_then_approve(local, tmp_path):
    env, keys, data, admin = local
    for who, role in (("Val", "validator"), ("Eve", "executive")):
        r = run("signoff", "compas:1", "--role", role, "--decision", "approve", "--api-key", keys[who], env=env)
        assert r.exit_code == 0, r.output
    r = run("approve", "compas:1", "--api-key", keys["Val"], env=env)
    assert r.exit_code == 2 and "reproduced by a validator" in r.stderr
    r = run("reproduce", "compas:1", str(data), "--api-key", keys["Eve"], env=env)
    assert r.exit_code == 2 and "needs one of the roles: validator" in r.stderr
    r = run("reproduce", "compas:1", str(data), "--api-key", keys["Val"], env=env)
    assert r.exit_code == 0 and "reproduced" in r.output, r.output + r.stderr
    r = run("approve", "compas:1", "--api-key", keys["Val"], env=env)
    assert r.exit_code == 0, r.stderr
    r = run("models", "show", "compas", "--json", env=env)
    audit = __import__("json").loads(r.output)["versions"][0]["audits"][0]
    assert audit["reproductions"][0]["outcome"] == "reproduced" and audit["reproductions"][0]["run_by"] == "Val"


def test_reproduce_refuses_other_data_and_records_a_difference(local, tmp_path):
    env, keys, data, admin = local
    other = tmp_path / "other.csv"
    steward.datasets.load_compas().iloc[:-1].to_csv(other, index=False)  # one person fewer
    r = run("reproduce", "compas:1", str(other), "--api-key", keys["Val"], env=env)
    assert r.exit_code == 2 and "reproduce it on the same data file" in r.stderr
    r = run("reproduce", "compas:1", str(tmp_path / "nope.csv"), "--api-key", keys["Val"], env=env)
    assert r.exit_code == 2 and "does not exist" in r.stderr
    r = run("reproduce", "compas:1", str(data), env=env)
    assert r.exit_code == 2 and "API key" in r.stderr


def test_accept_from_the_cli(local):
    env, keys, data, admin = local
    until = (datetime.now(timezone.utc) + timedelta(days=30)).date().isoformat()
    r = run("accept", "compas:1", "--check", "adverse_impact_ratio", "--reason", "x", "--until", until,
            "--api-key", keys["Eve"], env=env)
    assert r.exit_code == 2 and "neither fails nor lacks evidence" in r.stderr  # nothing blocks under this policy
    r = run("accept", "compas:1", "--check", "adverse_impact_ratio", "--reason", "x", "--until", until,
            "--api-key", keys["Val"], env=env)
    assert r.exit_code == 2 and "needs one of the roles: executive" in r.stderr
    r = run("accept", "compas:1", "--check", "x", "--reason", "x", "--until", "someday", "--api-key", keys["Eve"], env=env)
    assert r.exit_code == 2 and "is not a date" in r.stderr
