"""The guarded-serving commands on a local SQLite registry: models version --training-data, deploy, kill,
revive, deployments list/show, log export/retention, guard check, policy check of tiers' guard sections,
keys create --role caller, and create_app(only=...).

The registry is built once per module by ``tests.serving._setup`` (credit 1.0 approved, 0.8 its approved
backup, 0.9 registered only; keys by role), then its database file is copied for each test, so every test
starts from the same state. Every command gets ``--database-url`` and ``--policy FILE`` (the serving tests'
policy), as a user of one registry would.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from steward.cli import cli
from steward.errors import StewardError

pytest.importorskip("lightgbm")
pytest.importorskip("fastapi")

from tests.serving._setup import FEATURES, guard_settings, populate, rows_of, serving_policy, train_models  # noqa: E402

NAME = "credit-live"
# No setting from the environment running the tests: each command says which registry and key it uses.
CLEAN_ENV = {"STEWARD_API_KEY": None, "STEWARD_DATABASE_URL": None, "STEWARD_POLICY": None, "STEWARD_SERVER": None,
             "STEWARD_REDIS_URL": None}


def flat(text: str) -> str:
    return " ".join(text.split())


def error_lines(r) -> list[str]:
    return [line for line in r.stderr.splitlines() if line.strip()]


def one_error(r) -> str:
    """The one error line of an exit-2 command (no traceback)."""
    assert r.exit_code == 2, (r.exit_code, r.output, r.stderr)
    assert "Traceback" not in r.output + r.stderr
    lines = error_lines(r)
    assert len(lines) == 1 and lines[0].startswith("error:"), r.stderr
    return lines[0]


@dataclass
class Base:
    folder: Path
    db: Path
    policy_path: Path
    policy: Any
    keys: dict[str, str]
    models: Any


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Base:
    from steward.governance import Registry

    folder = tmp_path_factory.mktemp("serving-cli")
    policy = serving_policy(folder)
    models = train_models(folder / "models")
    db = folder / "steward.db"
    reg = Registry(f"sqlite:///{db}", policy=policy)
    keys = populate(reg, models, policy)
    reg.close()  # folds SQLite's WAL into the file before it is copied
    return Base(folder, db, folder / "serving-policy.yaml", policy, keys, models)


@dataclass
class Env:
    base: Base
    tmp: Path
    url: str

    @property
    def keys(self) -> dict[str, str]:
        return self.base.keys

    def run(self, *args: Any, who: str | None = None, registry: bool = True):
        """``steward ARGS`` on this test's registry, as ``who`` (a role of _setup's keys)."""
        extra = ["--database-url", self.url, "--policy", str(self.base.policy_path)] if registry else []
        if who is not None:
            extra += ["--api-key", self.keys[who]]
        return CliRunner().invoke(cli, [str(a) for a in args] + extra, env=CLEAN_ENV)

    def registry(self):
        from steward.governance import Registry

        return Registry(self.url, policy=str(self.base.policy_path))

    def write_guard(self, settings: Any, name: str = "guard.yaml") -> Path:
        path = self.tmp / name
        path.write_text(settings if isinstance(settings, str) else yaml.safe_dump(settings, sort_keys=False),
                        encoding="utf-8")
        return path

    def deploy(self, name: str = NAME, **guard: Any):
        r = self.run("deploy", "credit:1.0", "--name", name, "--guard", self.write_guard(guard_settings(**guard)),
                     who="developer")
        assert r.exit_code == 0, (r.output, r.stderr)
        return r


@pytest.fixture()
def env(base, tmp_path) -> Env:
    db = tmp_path / "steward.db"
    shutil.copyfile(base.db, db)
    shutil.copy(f"{base.db}.trail-key", f"{db}.trail-key")
    return Env(base, tmp_path, f"sqlite:///{db}")


def predict(reg, key: str, rows: list[dict], name: str = NAME, only: str = "all") -> list[dict]:
    """Send rows through the guarded endpoint in-process; each row's answer."""
    from fastapi.testclient import TestClient

    from steward.web import create_app

    with TestClient(create_app(reg, only=only)) as c:
        r = c.post(f"/api/deployments/{name}/predict", json={"rows": rows}, headers={"X-API-Key": key})
    assert r.status_code == 200, r.text
    return r.json()["results"]


# --- models version --training-data ----------------------------------------------------------------------

def test_version_with_training_data_records_its_profile(env):
    train = env.tmp / "train.csv"
    env.base.models.train.to_csv(train, index=False)
    artifact = env.base.models.paths["1.0"]
    r = env.run("models", "version", "credit:2.0", "--artifact", artifact, "--training-data", train, who="developer")
    assert r.exit_code == 0, (r.output, r.stderr)
    assert "registered version credit:2.0" in r.output
    n = len(env.base.models.train)
    assert f"recorded its training profile: {len(FEATURES)} features, {n:,} rows" in flat(r.output)
    reg = env.registry()
    try:
        profile = reg.profile("credit", "2.0")
        assert profile is not None and [f["name"] for f in profile["features"]] == FEATURES  # the model file's names
        assert profile["rows"] == n
        version = reg.version("credit", "2.0")
        assert version["training_data_sha256"] and version["artifact_sha256"]
        [entry] = [e for e in reg.trail(subject="version:credit:2.0") if e["action"] == "version.profile"]
        payload = json.loads(entry["payload"]) if isinstance(entry["payload"], str) else entry["payload"]
        assert payload["features"] == FEATURES and payload["rows"] == n  # the trail names the features
    finally:
        reg.close()


def test_version_training_data_lacking_a_feature_is_refused_before_registering(env):
    train = env.tmp / "train.csv"
    env.base.models.train.drop(columns=["hours-per-week"]).to_csv(train, index=False)
    r = env.run("models", "version", "credit:2.0", "--artifact", env.base.models.paths["1.0"], "--training-data", train,
                who="developer")
    line = one_error(r)
    assert "--training-data" in line and "'hours-per-week'" in line, line
    reg = env.registry()
    try:
        assert "2.0" not in [v["version"] for v in reg.model("credit")["versions"]]  # nothing half-registered
    finally:
        reg.close()


def test_version_training_data_with_a_non_model_artifact_needs_features(env):
    train = env.tmp / "train.csv"
    env.base.models.train.to_csv(train, index=False)
    artifact = env.tmp / "model.bin"
    artifact.write_bytes(b"not a model at all")
    r = env.run("models", "version", "credit:2.0", "--artifact", artifact, "--training-data", train, who="developer")
    line = one_error(r)
    assert "--features" in line, line
    # with --features the same artifact is fine
    r = env.run("models", "version", "credit:2.0", "--artifact", artifact, "--training-data", train,
                "--features", "age,education-num,sex", who="developer")
    assert r.exit_code == 0, (r.output, r.stderr)
    assert "recorded its training profile: 3 features" in flat(r.output)


# --- deploy ------------------------------------------------------------------------------------------------

def test_deploy_an_approved_version(env):
    r = env.deploy()
    assert f"deployed credit:1.0 as {NAME}" in flat(r.output)
    assert f"--role caller --deployment {NAME}" in flat(r.output)
    reg = env.registry()
    try:
        d = reg.deployment(NAME)
        assert d["version"] == "credit:1.0" and d["status"] == "active" and not d["killed"]
        assert d["created_by"] == "Dev Developer"
        assert d["guard"]["protected"] == ["race", "sex"] and d["guard"]["throttle"]["rate"] == 0
        assert d["guard"]["log"]["retention_days"] == 365  # the low tier's default, not overridden
    finally:
        reg.close()


def test_deploy_with_backup_and_benchmark(env):
    r = env.run("deploy", "credit:1.0", "--name", NAME, "--backup", "credit:0.8", "--benchmark", "credit:0.9",
                "--guard", env.write_guard(guard_settings()), who="operator")
    assert r.exit_code == 0, (r.output, r.stderr)
    listed = json.loads(env.run("deployments", "list", "--json").output)
    assert [(d["name"], d["version"], d["backup"], d["benchmark"]) for d in listed] == [
        (NAME, "credit:1.0", "credit:0.8", "credit:0.9")]


def test_deploy_an_unapproved_version_lists_its_blockers(env):
    r = env.run("deploy", "credit:0.9", "--name", NAME, "--guard", env.write_guard(guard_settings()), who="developer")
    line = one_error(r)
    assert "credit:0.9 is not approved" in line and "cannot be deployed" in line, line
    assert "audit" in line, line  # what blocks it: no audit was recorded for 0.9
    assert json.loads(env.run("deployments", "list", "--json").output) == []


@pytest.mark.parametrize("guard,field", [
    ({"throttle": {"rate": 0, "rat": 5}}, "throttle.rat"),
    ({"colour": "red"}, "colour"),
    ({"threshold": "high"}, "threshold"),
    ({"review": {"band": 2}}, "review.band"),
    ({"screening": {"anomalous": "ignore"}}, "screening.anomalous"),
    ({"log": {"retention_days": 0}}, "log.retention_days"),
])
def test_deploy_refuses_a_bad_guard_file_naming_the_field(env, guard, field):
    path = env.write_guard(guard)
    line = one_error(env.run("deploy", "credit:1.0", "--name", NAME, "--guard", path, who="developer"))
    assert str(path) in line and f"{field}:" in line, line
    if "rat" in field or "colour" in field:
        assert "unknown setting" in line and "the settings here are" in line, line
    assert json.loads(env.run("deployments", "list", "--json").output) == []


def test_deploy_guard_file_that_is_not_a_mapping_or_missing(env):
    line = one_error(env.run("deploy", "credit:1.0", "--name", NAME, "--guard", env.write_guard("- a\n- b\n"),
                             who="developer"))
    assert "--guard" in line and "mapping" in line, line
    line = one_error(env.run("deploy", "credit:1.0", "--name", NAME, "--guard", env.tmp / "nowhere.yaml",
                             who="developer"))
    assert "nowhere.yaml" in line and "does not exist" in line, line


@pytest.mark.parametrize("args,said", [
    (["credit:1.0", "--name", "bad name"], "deployment name 'bad name' is not allowed"),
    (["credit", "--name", NAME], "'credit' is not MODEL:VERSION"),
    (["credit:7.0", "--name", NAME], "model 'credit' has no version '7.0'; its versions are: 0.8, 0.9, 1.0"),
    (["credit:1.0", "--name", NAME, "--backup", "credit:0.9"], "the backup credit:0.9 answers decisions"),
    (["credit:1.0", "--name", NAME, "--benchmark", "credit:1.0"], "the benchmark must be another version"),
])
def test_deploy_bad_references(env, args, said):
    line = one_error(env.run("deploy", *args, "--guard", env.write_guard(guard_settings()), who="operator"))
    assert said in line, line


def test_deploy_needs_a_role_that_may_deploy(env):
    path = env.write_guard(guard_settings())
    line = one_error(env.run("deploy", "credit:1.0", "--name", NAME, "--guard", path, who="viewer"))
    assert "Victor Viewer (viewer) may not do this" in line and "needs one of the roles" in line, line
    assert "operator" in line and "developer" in line, line
    line = one_error(env.run("deploy", "credit:1.0", "--name", NAME, "--guard", path))  # no key at all
    assert "--api-key" in line, line


# --- deployments list / show -------------------------------------------------------------------------------

def test_deployments_list_and_show(env):
    r = env.run("deployments", "list")
    assert r.exit_code == 0 and "no deployments yet" in r.output, r.output
    env.deploy()
    r = env.run("deployments", "list")
    assert r.exit_code == 0, r.output
    assert NAME in r.output and "credit:1.0" in r.output and "live" in r.output
    listed = json.loads(env.run("deployments", "list", "--json").output)
    assert [d["name"] for d in listed] == [NAME] and listed[0]["killed"] is False
    env.deploy()  # replaces it
    assert len(json.loads(env.run("deployments", "list", "--json").output)) == 1
    assert len(json.loads(env.run("deployments", "list", "--all", "--json").output)) == 2
    r = env.run("deployments", "show", NAME)
    assert r.exit_code == 0, r.output
    shown = json.loads(r.output)
    assert shown["name"] == NAME and shown["routes"] == {} and shown["predictions"] == 0
    assert [h["status"] for h in shown["history"]] == ["active", "replaced"]
    line = one_error(env.run("deployments", "show", "nowhere"))
    assert "'nowhere'" in line, line


# --- kill / revive -----------------------------------------------------------------------------------------

def test_kill_and_revive(env):
    env.deploy()
    r = env.run("kill", NAME, "--reason", "drift in the applications", who="operator")
    assert r.exit_code == 0, (r.output, r.stderr)
    assert f"killed {NAME}" in r.output and "safe default" in r.output
    reg = env.registry()
    try:
        d = reg.deployment(NAME)
        assert d["killed"] and d["kill_reason"] == "drift in the applications" and d["killed_by"] == "Olga Operator"
        assert reg.deployment_states()[NAME][1] is True
        assert reg.trail(subject=f"deployment:{NAME}")[0]["action"] == "deployment.kill"
    finally:
        reg.close()
    line = one_error(env.run("kill", NAME, "--reason", "again", who="operator"))
    assert "already killed" in line, line
    assert "KILLED" in env.run("deployments", "list").output

    r = env.run("revive", NAME, who="operator")
    assert r.exit_code == 0 and f"revived {NAME}" in r.output, (r.output, r.stderr)
    reg = env.registry()
    try:
        d = reg.deployment(NAME)
        assert not d["killed"] and d["kill_reason"] == "" and d["killed_by"] is None
    finally:
        reg.close()
    assert "already live" in one_error(env.run("revive", NAME, who="operator"))


def test_kill_needs_a_reason_a_role_and_a_deployment(env):
    env.deploy()
    r = env.run("kill", NAME, who="operator")
    assert r.exit_code == 2 and "Missing option '--reason'" in r.stderr, r.stderr  # click's usage error
    assert "--reason" in one_error(env.run("kill", NAME, "--reason", "  ", who="operator"))
    line = one_error(env.run("kill", NAME, "--reason", "x", who="developer"))
    assert "needs one of the roles: operator, admin" in line, line
    line = one_error(env.run("kill", "nowhere", "--reason", "x", who="operator"))
    assert "no active deployment named 'nowhere'" in line, line
    reg = env.registry()
    try:
        assert reg.deployment(NAME)["killed"] is False
    finally:
        reg.close()


# --- log export --------------------------------------------------------------------------------------------

@pytest.fixture()
def logged(env) -> tuple[Env, list[dict]]:
    """credit-live deployed (backup 0.8) and 25 rows sent through it in-process: each row's answer."""
    r = env.run("deploy", "credit:1.0", "--name", NAME, "--backup", "credit:0.8",
                "--guard", env.write_guard(guard_settings()), who="operator")
    assert r.exit_code == 0, (r.output, r.stderr)
    reg = env.registry()
    try:
        answers = predict(reg, env.keys["caller"], rows_of(env.base.models.test, 25))
    finally:
        reg.close()
    return env, answers


def test_log_export_parquet_has_one_row_per_logged_decision(logged):
    env, answers = logged
    out = env.tmp / "log" / "x.parquet"  # the folder is made
    r = env.run("log", "export", NAME, "--out", out, who="operator")
    assert r.exit_code == 0, (r.output, r.stderr)
    assert f"wrote {len(answers)} decisions of {NAME}" in flat(r.output)
    frame = pd.read_parquet(out)
    assert len(frame) == len(answers) == 25
    assert {"prediction_id", "route", "decision", "score", "created_at", "version"} <= set(frame.columns)
    assert frame["prediction_id"].is_unique
    by_id = {a["prediction_id"]: a for a in answers}
    assert set(frame["prediction_id"]) == set(by_id)
    for row in frame.itertuples():
        a = by_id[row.prediction_id]
        assert row.route == a["route"] and row.decision == a["decision"]
        assert row.score == pytest.approx(a["score"], abs=1e-12) if a["score"] is not None else pd.isna(row.score)
    # the stored inputs are columns of their own; lists and mappings are JSON text (one type per column)
    assert "inputs.age" in frame.columns
    flags = frame["flags"].dropna()
    assert all(isinstance(json.loads(v), list) for v in flags)
    shown = json.loads(env.run("deployments", "show", NAME).output)
    assert shown["predictions"] == 25 and sum(shown["routes"].values()) == 25
    assert shown["routes"] == frame["route"].value_counts().to_dict()


def test_log_export_csv_and_the_time_window(logged):
    env, answers = logged
    r = env.run("log", "export", NAME, "--out", env.tmp / "x.csv", who="validator")
    assert r.exit_code == 0, (r.output, r.stderr)
    frame = pd.read_csv(env.tmp / "x.csv")
    assert len(frame) == len(answers) and set(frame["prediction_id"]) == {a["prediction_id"] for a in answers}

    r = env.run("log", "export", NAME, "--out", env.tmp / "future.parquet", "--since", "2999-01-01", who="operator")
    assert r.exit_code == 0 and "wrote 0 decisions" in r.output, (r.output, r.stderr)
    assert len(pd.read_parquet(env.tmp / "future.parquet")) == 0
    r = env.run("log", "export", NAME, "--out", env.tmp / "past.parquet", "--since", "2000-01-01T00:00",
                "--until", "2999-01-01T00:00+02:00", who="operator")
    assert r.exit_code == 0, (r.output, r.stderr)
    assert len(pd.read_parquet(env.tmp / "past.parquet")) == len(answers)
    r = env.run("log", "export", NAME, "--out", env.tmp / "before.csv", "--until", "2000-01-01", who="operator")
    assert r.exit_code == 0 and "wrote 0 decisions" in r.output, (r.output, r.stderr)


def test_log_export_times_with_an_offset_are_instants(logged):
    """--since/--until with a UTC offset name an instant: 15:00+05:00 is 10:00 UTC (SQLite once compared the
    wall-clock text, shifting the window by the offset)."""
    from datetime import datetime, timezone

    env, answers = logged
    reg = env.registry()
    try:
        times = [datetime.fromisoformat(p["created_at"]) for p in reg.prediction_log(NAME)]
    finally:
        reg.close()
    first, last = min(times), max(times)
    east, west = timezone(timedelta(hours=5)), timezone(timedelta(hours=-5))
    since = (first - timedelta(minutes=1)).astimezone(east).isoformat()
    until = (last + timedelta(minutes=1)).astimezone(west).isoformat()
    r = env.run("log", "export", NAME, "--out", env.tmp / "w.parquet", "--since", since, "--until", until,
                who="operator")
    assert r.exit_code == 0, (r.output, r.stderr)
    assert len(pd.read_parquet(env.tmp / "w.parquet")) == len(answers)
    after = (last + timedelta(minutes=1)).astimezone(east).isoformat()
    r = env.run("log", "export", NAME, "--out", env.tmp / "none.parquet", "--since", after, who="operator")
    assert r.exit_code == 0 and "wrote 0 decisions" in r.output, (r.output, r.stderr)


@pytest.mark.parametrize("args,said", [
    (["--out", "x.txt"], "x.txt: give a .parquet or .csv file"),
    (["--out", "x.parquet", "--since", "notadate"], "--since 'notadate' is not a date"),
    (["--out", "x.parquet", "--until", "31/12/2026"], "--until '31/12/2026' is not a date"),
])
def test_log_export_bad_options(logged, args, said):
    env, _ = logged
    args = [str(env.tmp / a) if a.startswith("x.") else a for a in args]
    line = one_error(env.run("log", "export", NAME, *args, who="operator"))
    assert said in line, line
    assert not (env.tmp / "x.txt").exists()


def test_log_export_unknown_deployment_and_permission(logged):
    env, _ = logged
    line = one_error(env.run("log", "export", "nowhere", "--out", env.tmp / "x.parquet", who="operator"))
    assert "no deployment named 'nowhere'" in line, line
    line = one_error(env.run("log", "export", NAME, "--out", env.tmp / "x.parquet", who="developer"))
    assert "needs one of the roles" in line, line
    assert not (env.tmp / "x.parquet").exists()


# --- log retention -----------------------------------------------------------------------------------------

def test_log_retention(env):
    from steward.governance._tables import now

    env.deploy(log={"retention_days": 1})
    reg = env.registry()
    try:
        answers = predict(reg, env.keys["caller"], rows_of(env.base.models.test, 12))
        assert len(reg.prediction_log(NAME)) == len(answers) == 12

        # nothing is a day old yet: the command runs and deletes nothing
        r = env.run("log", "retention", who="operator")
        assert r.exit_code == 0, (r.output, r.stderr)
        assert f"{NAME}: deleted 0 decisions" in flat(r.output), r.output
        assert len(reg.prediction_log(NAME)) == 12
        assert not [e for e in reg.trail(subject=f"deployment:{NAME}") if e["action"] == "log.retention"]

        done = reg.apply_retention(actor="Olga Operator", at=now() + timedelta(days=2))
        assert done == {NAME: 12}
        assert reg.prediction_log(NAME) == []
        entries = [e for e in reg.trail(subject=f"deployment:{NAME}") if e["action"] == "log.retention"]
        assert len(entries) == 1 and entries[0]["actor"] == "Olga Operator"
        payload = entries[0]["payload"]
        payload = json.loads(payload) if isinstance(payload, str) else payload
        assert payload["deleted"] == 12 and payload["retention_days"] == 1
        report = reg.verify_trail()  # the deletion is covered by the trail
        assert report.ok, report.problems
    finally:
        reg.close()
    assert json.loads(env.run("deployments", "show", NAME).output)["predictions"] == 0


def test_log_retention_needs_a_role(env):
    line = one_error(env.run("log", "retention", who="viewer"))
    assert "needs one of the roles" in line, line
    r = env.run("log", "retention", who="operator")  # nothing deployed: nothing to keep for a limited time
    assert r.exit_code == 0 and "no deployment keeps its log for a limited time" in r.output, (r.output, r.stderr)


# --- guard check -------------------------------------------------------------------------------------------

def test_guard_check_prints_the_settings_in_force(env):
    path = env.write_guard({"threshold": 0.6, "review": {"band": 0.1}})
    r = env.run("guard", "check", path, registry=False)
    assert r.exit_code == 0, (r.output, r.stderr)
    settings = yaml.safe_load(r.output)
    assert settings["threshold"] == 0.6 and settings["review"]["band"] == 0.1
    assert settings["throttle"] == {"rate": 20.0, "burst": 40}  # the schema's defaults
    assert settings["log"]["retention_days"] == 365.0

    r = env.run("guard", "check", path, "--tier", "high", registry=False)
    assert r.exit_code == 0, (r.output, r.stderr)
    high = yaml.safe_load(r.output)
    assert high["throttle"] == {"rate": 50.0, "burst": 200}  # from the default policy's high tier
    assert high["log"]["retention_days"] == 2555
    assert high["threshold"] == 0.6 and high["review"]["band"] == 0.1  # the file over the tier
    low = yaml.safe_load(env.run("guard", "check", path, "--tier", "low", registry=False).output)
    assert low["screening"]["out_of_range"] == "flag" and low["review"]["band"] == 0.1
    # the file may wrap its settings in `guard:`
    wrapped = env.write_guard({"guard": {"threshold": 0.6, "review": {"band": 0.1}}}, "wrapped.yaml")
    assert yaml.safe_load(env.run("guard", "check", wrapped, "--tier", "high", registry=False).output) == high
    # an empty file is the tier's defaults
    empty = env.write_guard("", "empty.yaml")
    r = env.run("guard", "check", empty, "--tier", "high", "--policy", env.base.policy_path, registry=False)
    assert r.exit_code == 0 and yaml.safe_load(r.output)["throttle"]["rate"] == 50.0, (r.output, r.stderr)


def test_guard_check_lists_every_problem(env):
    path = env.write_guard({"threshold": "high", "throttle": {"rat": 5}, "review": {"band": 2},
                            "kill_switch": {"answer": "maybe"}})
    r = env.run("guard", "check", path, registry=False)
    assert r.exit_code == 2 and r.stdout.strip() == "", (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    lines = error_lines(r)
    assert len(lines) == 4, lines
    assert all(line.startswith("error:") and str(path) in line for line in lines), lines
    for field in ("threshold:", "throttle.rat:", "review.band:", "kill_switch.answer:"):
        assert sum(field in line for line in lines) == 1, (field, lines)


def test_guard_check_bad_tier_and_files(env):
    path = env.write_guard({"threshold": 0.6})
    line = one_error(env.run("guard", "check", path, "--tier", "extreme", registry=False))
    assert "--tier 'extreme'" in line and "high" in line and "low" in line, line
    line = one_error(env.run("guard", "check", env.tmp / "nowhere.yaml", registry=False))
    assert "nowhere.yaml" in line and "does not exist" in line, line
    r = env.run("guard", "check", env.write_guard("- a\n", "list.yaml"), registry=False)
    assert r.exit_code == 2 and "expected a mapping" in r.stderr and "Traceback" not in r.stderr, r.stderr
    r = env.run("guard", "check", env.write_guard("threshold: [\n", "broken.yaml"), registry=False)
    line = one_error(r)
    assert "not valid YAML" in line, line


# --- policy check of the tiers' guard sections --------------------------------------------------------------

def _policy_with(tmp: Path, tier: str, guard: dict) -> Path:
    from steward.audit.policy import default_policy_path

    doc = yaml.safe_load(default_policy_path().read_text(encoding="utf-8"))
    doc["tiers"][tier]["guard"] = guard
    path = tmp / f"policy-{tier}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def test_policy_check_validates_each_tiers_guard(env):
    r = env.run("policy", "check", "default", registry=False)
    assert r.exit_code == 0, (r.output, r.stderr)
    # medium's review.band is its own (low sets its own band), so only medium is wrong
    path = _policy_with(env.tmp, "medium", {"review": {"band": 2}, "log": {"retention_days": 1095}})
    line = one_error(env.run("policy", "check", path, registry=False))
    assert re.search(r"tiers\.medium\.guard(: |\.)review\.band", line), line
    # an unknown setting in high is inherited by medium and low: each tier is named
    path = _policy_with(env.tmp, "high", {"throttle": {"rate": 50, "brust": 200}})
    r = env.run("policy", "check", path, registry=False)
    assert r.exit_code == 2 and "Traceback" not in r.stderr
    lines = error_lines(r)
    for tier in ("high", "medium", "low"):
        assert any(re.search(rf"tiers\.{tier}\.guard(: |\.)throttle\.brust", line) and "unknown setting" in line
                   for line in lines), (tier, lines)


# --- keys create --role caller -----------------------------------------------------------------------------

def test_keys_create_caller(env):
    r = env.run("keys", "create", "--name", "app", "--role", "caller", "--deployment", NAME, who="admin")
    assert r.exit_code == 0, (r.output, r.stderr)
    assert "API key for app (caller)" in r.output
    key = re.search(r"stw_[0-9a-f]{12}_\S+", r.output).group(0)
    reg = env.registry()
    try:
        principal = reg.authenticate(key)
        assert principal["roles"] == ["caller"]
    finally:
        reg.close()
    # the key calls the deployment it names
    env.deploy()
    reg = env.registry()
    try:
        assert len(predict(reg, key, rows_of(env.base.models.test, 2))) == 2
    finally:
        reg.close()


def test_keys_create_caller_needs_a_deployment_and_a_deployment_needs_caller(env):
    line = one_error(env.run("keys", "create", "--name", "app", "--role", "caller", who="admin"))
    assert "--role caller --deployment NAME" in line, line
    line = one_error(env.run("keys", "create", "--name", "app", "--role", "caller", "--role", "viewer",
                             "--deployment", NAME, who="admin"))
    assert "only the caller role" in line, line
    line = one_error(env.run("keys", "create", "--name", "app", "--role", "viewer", "--deployment", NAME, who="admin"))
    assert "--deployment scopes a caller key" in line and "--role caller" in line, line
    line = one_error(env.run("keys", "create", "--name", "app", "--role", "caller", "--deployment", NAME,
                             who="operator"))
    assert "needs one of the roles: admin" in line, line


# --- create_app(only=...) ----------------------------------------------------------------------------------

def test_create_app_only(env):
    from fastapi.testclient import TestClient

    from steward.web import create_app

    env.deploy()
    reg = env.registry()
    try:
        rows = rows_of(env.base.models.test, 3)
        auth = {"X-API-Key": env.keys["viewer"]}
        with TestClient(create_app(reg, only="predictions")) as c:
            assert c.get("/api/health").status_code == 200
            assert c.get("/api/models", headers=auth).status_code == 404
            assert c.get("/api/deployments", headers=auth).status_code == 404
            assert c.get("/").status_code == 404  # no pages
            r = c.post(f"/api/deployments/{NAME}/predict", json={"rows": rows}, headers={"X-API-Key": env.keys["caller"]})
            assert r.status_code == 200 and len(r.json()["results"]) == 3, r.text
            predict_path = "/api/deployments/{name}/predict"
            # the caller's routes: predictions and appeals (which re-score through the same guard)
            assert sorted(p for p in c.app.openapi()["paths"] if p.startswith("/api/")) == [
                predict_path, "/api/health", "/api/predictions/{prediction_id}/appeal"]
        with TestClient(create_app(reg, only="governance")) as c:
            assert c.get("/api/health").status_code == 200
            assert c.get("/api/models", headers=auth).status_code == 200
            assert [d["name"] for d in c.get("/api/deployments", headers=auth).json()] == [NAME]
            r = c.post(f"/api/deployments/{NAME}/predict", json={"rows": rows}, headers={"X-API-Key": env.keys["caller"]})
            assert r.status_code in (404, 405), r.text
            assert not [p for p in c.app.openapi()["paths"] if p.endswith("/predict")]
        with TestClient(create_app(reg)) as c:
            assert predict_path in c.app.openapi()["paths"]
        assert len(reg.prediction_log(NAME)) == 3  # only the predictions part answered
        with pytest.raises(StewardError, match="--only"):
            create_app(reg, only="bogus")
    finally:
        reg.close()

