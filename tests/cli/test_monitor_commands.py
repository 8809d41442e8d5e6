"""``steward monitor`` on a local SQLite registry, over a log file written by "another system": create,
run (exit 1 when a run raises an alert, 0 when not), late labels joined by prediction id, show and list;
alerts open one incident on the linked model and add to it; everything is in the trail; bad input exits 2
with one line naming the option."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from steward.cli import cli
from tests.monitoring._data import CLEAN_ENV, log_rows

pytest.importorskip("sqlalchemy")


@pytest.fixture()
def env(tmp_path: Path):
    from steward.governance import Registry

    rng = np.random.default_rng(7)
    ref = log_rows(rng, 6000, 0.0, "2026-10-01", 30)
    ref.to_csv(tmp_path / "reference.csv", index=False)
    stable = log_rows(rng, 3000, 0.0, "2026-11-01", 3)
    shifted = log_rows(rng, 3000, 1.0, "2026-11-04", 3)  # the feature x moves by one standard deviation
    log = pd.concat([stable, shifted], ignore_index=True)
    log["pid"] = [f"id{i}" for i in range(len(log))]
    log.drop(columns=["label"]).to_parquet(tmp_path / "log.parquet")
    log[["pid", "label"]].to_csv(tmp_path / "labels.csv", index=False)
    db = f"sqlite:///{tmp_path / 'reg.db'}"
    reg = Registry(db)
    key = reg.create_key("Olga Operator", ["operator"], actor="setup")["key"]
    reg.register_model("scorer", actor="setup", purpose="Scores", domain="operations", owner="Ana")
    reg.close()
    return {"db": db, "key": key, "folder": tmp_path, "log": log}


def run(env, *args: str):
    return CliRunner().invoke(cli, [*args, "--database-url", env["db"], "--api-key", env["key"]], env=CLEAN_ENV,
                              catch_exceptions=False)


def test_a_file_monitor_alerts_on_the_shifted_days_opens_one_incident_and_judges_late_labels(env):
    f = env["folder"]
    r = run(env, "monitor", "create", "ext", "--data", str(f / "log.parquet"), "--reference", str(f / "reference.csv"),
            "--features", "x,c", "--protected", "sex=M", "--time", "ts", "--score", "score", "--decision", "decision",
            "--label", "label", "--id", "pid", "--model", "scorer", "--tier", "high")
    assert r.exit_code == 0, r.output
    assert "monitor ext created (file; tier high" in r.output

    r = run(env, "monitor", "run", "ext", "--close-all", "--format", "json")
    assert r.exit_code == 1, r.output  # alerts were raised
    out = json.loads(r.output.strip().splitlines()[-1])
    assert out["rows_read"] == 6000
    assert out["windows_closed"] == [f"2026-11-0{d}" for d in range(1, 7)]
    alerted = {(a["signal"], a["subject"]) for a in out["alerts"]}
    # the tier's feature drift needs two shifted windows in a row: it alerts on the second shifted day only
    drift = [a for a in out["alerts"] if a["signal"] == "feature_drift"]
    assert [(a["window"], a["subject"]) for a in drift] == [("2026-11-05", "x")]
    assert ("prediction_drift", "score") in alerted and ("prediction_drift", "decision_rate") in alerted
    assert all(a["window"] >= "2026-11-04" for a in out["alerts"] if a["signal"] != "fairness"), out["alerts"]
    assert not any(a["subject"].startswith("c") for a in out["alerts"])  # the category did not move
    assert out["incident_id"]

    # A second run reads nothing new and raises nothing.
    r = run(env, "monitor", "run", "ext", "--close-all", "--format", "json")
    assert r.exit_code == 0, r.output
    again = json.loads(r.output.strip().splitlines()[-1])
    assert again["rows_read"] == 0 and again["alerts"] == []

    # Late labels: the windows are judged again with them; accuracy is that of calibrated scores (no drop).
    r = run(env, "monitor", "labels", "ext", str(f / "labels.csv"), "--id", "pid")
    assert r.exit_code == 0, r.output
    assert "6,000 labels added" in r.output
    r = run(env, "monitor", "run", "ext", "--format", "json")
    out = json.loads(r.output.strip().splitlines()[-1])
    assert out["relabelled"] == [f"2026-11-0{d}" for d in range(1, 7)]
    assert not [a for a in out["alerts"] if a["signal"] == "performance"], out["alerts"]

    r = run(env, "monitor", "show", "ext", "--format", "json")
    shown = json.loads(r.output)
    log = env["log"]
    for w in shown["windows"]:
        day = log[log["ts"].dt.strftime("%Y-%m-%d") == w["key"]]
        assert w["rows"] == len(day)
        acc = next(s for s in w["result"]["signals"] if s["signal"] == "performance" and s["subject"] == "accuracy")
        expected = float(((day["score"] >= 0.5).astype(int) == day["label"]).mean())
        assert acc["measures"]["accuracy"] == pytest.approx(expected)
    assert {a["incident_id"] for a in shown["alerts"]} == {shown["incident_id"]}

    from steward.governance import Registry

    reg = Registry(env["db"])
    try:
        inc = reg.incident(shown["incident_id"])
        assert inc["status"] == "open" and "Monitor ext" in inc["title"]
        actions = [e["action"] for e in reg.trail(limit=1000)]
        assert reg.verify_trail().ok
    finally:
        reg.close()
    assert {"monitor.create", "monitor.run", "monitor.alert", "monitor.labels", "incident.open"} <= set(actions)
    assert actions.count("monitor.alert") == len(shown["alerts"])


def test_bad_input_exits_2_naming_the_option(env):
    f = env["folder"]
    r = run(env, "monitor", "create", "ext", "--data", str(f / "missing.parquet"), "--reference",
            str(f / "reference.csv"), "--features", "x")
    assert r.exit_code == 2 and "--data" in r.output and "does not exist" in r.output
    r = run(env, "monitor", "create", "ext", "--data", str(f / "log.parquet"), "--reference",
            str(f / "reference.csv"), "--features", "x", "--time", "when")
    assert r.exit_code == 0, r.output
    r = run(env, "monitor", "run", "ext")
    assert r.exit_code == 2 and "--time: column 'when' is not in log.parquet" in r.output
    r = run(env, "monitor", "run", "nope")
    assert r.exit_code == 2 and "no monitor named 'nope'" in r.output
    r = run(env, "monitor", "create", "ext2", "--data", str(f / "log.parquet"), "--reference",
            str(f / "reference.csv"), "--features", "x", "--tier", "nosuch")
    assert r.exit_code == 2 and "--tier" in r.output


def test_a_one_off_run_without_a_registry_raises_the_same_alerts_as_the_monitor(env):
    f = env["folder"]
    source = ["--reference", str(f / "reference.csv"), "--features", "x,c", "--protected", "sex=M", "--time", "ts",
              "--score", "score", "--decision", "decision", "--label", "label", "--id", "pid", "--tier", "high"]
    once = CliRunner().invoke(cli, ["monitor", "run", "--data", str(f / "log.parquet"), *source, "--format", "json"],
                              env=CLEAN_ENV, catch_exceptions=False)
    assert once.exit_code == 1, once.output
    adhoc = json.loads(once.output.strip().splitlines()[-1])
    r = run(env, "monitor", "create", "ext", "--data", str(f / "log.parquet"), *source)
    assert r.exit_code == 0, r.output
    stored = json.loads(run(env, "monitor", "run", "ext", "--close-all", "--format", "json").output.strip()
                        .splitlines()[-1])
    assert adhoc["alerts"] == stored["alerts"] and adhoc["windows_closed"] == stored["windows_closed"]
    shown = json.loads(run(env, "monitor", "show", "ext", "--format", "json").output)
    for w in shown["windows"]:
        assert w["result"]["signals"] == adhoc["windows"][w["key"]]["signals"]
    # the text form names each alert; without --reference a one-off run is refused, exit 2
    text = CliRunner().invoke(cli, ["monitor", "run", "--data", str(f / "log.parquet"), *source], env=CLEAN_ENV)
    assert text.exit_code == 1 and "ALERT [medium] 2026-11-05 feature_drift x" in text.output
    r = CliRunner().invoke(cli, ["monitor", "run", "--data", str(f / "log.parquet")], env=CLEAN_ENV)
    assert r.exit_code == 2 and "--reference" in r.output
    r = CliRunner().invoke(cli, ["monitor", "run"], env=CLEAN_ENV)
    assert r.exit_code == 2 and "NAME" in r.output


def test_policy_check_validates_each_tiers_monitor_section(tmp_path):
    import yaml

    from steward.audit.policy import default_policy_path

    def check(tier: str, monitor: dict):
        doc = yaml.safe_load(default_policy_path().read_text(encoding="utf-8"))
        doc["tiers"][tier]["monitor"] = monitor
        path = tmp_path / f"policy-{tier}.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        return CliRunner().invoke(cli, ["policy", "check", str(path)], env=CLEAN_ENV)

    assert CliRunner().invoke(cli, ["policy", "check", "default"], env=CLEAN_ENV).exit_code == 0
    r = check("medium", {"fairness": {"min_air": 2}})
    assert r.exit_code == 2 and "tiers.medium.monitor.fairness.min_air" in r.output, r.output
    r = check("high", {"fairnes": {"min_air": 0.8}})  # inherited by medium and low: each tier is named
    assert r.exit_code == 2 and "Traceback" not in r.output
    for tier in ("high", "medium", "low"):
        assert f"tiers.{tier}.monitor.fairnes: unknown setting" in r.output, r.output
    assert "feature_drift" in r.output  # the line lists the settings there are
    r = check("low", {"window": {"by": "month"}})
    assert r.exit_code == 2 and "tiers.low.monitor.window.by" in r.output, r.output


def test_a_folder_read_file_by_file_gives_what_one_read_of_all_gives(env, tmp_path):
    """New files of a folder are read once each, as they arrive; the stored windows and the alerts equal those of
    a monitor that read the whole folder at once (the mergeable statistics, the detectors' state across runs)."""
    f = env["folder"]
    log = env["log"].drop(columns=["label"])
    day = log["ts"].dt.strftime("%Y-%m-%d")
    folder_a, folder_b = tmp_path / "arriving", tmp_path / "all"
    folder_a.mkdir()
    folder_b.mkdir()
    for d in sorted(day.unique()):
        log[day == d].to_parquet(folder_b / f"{d}.parquet")
    source = ["--reference", str(f / "reference.csv"), "--features", "x,c", "--protected", "sex=M", "--time", "ts",
              "--score", "score", "--decision", "decision", "--tier", "high"]
    assert run(env, "monitor", "create", "arriving", "--data", str(folder_a), *source).exit_code == 2  # no file yet
    (folder_a / "2026-11-01.parquet").write_bytes((folder_b / "2026-11-01.parquet").read_bytes())
    assert run(env, "monitor", "create", "arriving", "--data", str(folder_a), *source).exit_code == 0
    assert run(env, "monitor", "create", "all", "--data", str(folder_b), *source).exit_code == 0
    alerts = []
    for d in sorted(day.unique()):
        target = folder_a / f"{d}.parquet"
        if not target.exists():
            target.write_bytes((folder_b / f"{d}.parquet").read_bytes())
        out = json.loads(run(env, "monitor", "run", "arriving", "--format", "json").output.strip().splitlines()[-1])
        assert out["rows_read"] == int((day == d).sum())  # only the new file
        alerts += out["alerts"]
    last = json.loads(run(env, "monitor", "run", "arriving", "--close-all", "--format", "json").output.strip()
                      .splitlines()[-1])
    alerts += last["alerts"]
    whole = json.loads(run(env, "monitor", "run", "all", "--close-all", "--format", "json").output.strip().splitlines()[-1])
    a = json.loads(run(env, "monitor", "show", "arriving", "--format", "json").output)
    b = json.loads(run(env, "monitor", "show", "all", "--format", "json").output)
    assert [(w["key"], w["rows"], w["closed"]) for w in a["windows"]] == [(w["key"], w["rows"], w["closed"])
                                                                        for w in b["windows"]]
    for wa, wb in zip(a["windows"], b["windows"]):
        _same(wa["result"], wb["result"])
    key = ("window", "signal", "subject", "severity")
    assert [tuple(x[k] for k in key) for x in alerts] == [tuple(x[k] for k in key) for x in whole["alerts"]]
    assert whole["alerts"]


def _same(a, b, where: str = "") -> None:
    """Equal JSON documents, floats to 1e-9 (sums taken in another order)."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), where
        for k in a:
            _same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert a == pytest.approx(b, rel=1e-9, abs=1e-12), where
    else:
        assert a == b, where


def test_follow_runs_again_until_its_run_count(env):
    f = env["folder"]
    assert run(env, "monitor", "create", "ext", "--data", str(f / "log.parquet"), "--reference",
               str(f / "reference.csv"), "--features", "x,c", "--time", "ts", "--score", "score", "--decision",
               "decision").exit_code == 0
    r = run(env, "monitor", "run", "ext", "--follow", "--every", "0.1", "--runs", "3", "--format", "json")
    runs = [json.loads(line) for line in r.output.strip().splitlines() if line.startswith("{")]
    assert [x["rows_read"] for x in runs] == [6000, 0, 0]  # each run reads only what is new
    assert r.exit_code == (1 if runs[0]["alerts"] else 0)


def test_two_runs_at_once_store_one_result(env, monkeypatch):
    """A run that finds another run's result stored while it read refuses to store its own (which would count
    the same rows twice and raise the same alerts again)."""
    from steward.errors import ConflictError
    from steward.governance import Registry
    from steward.governance._monitor_run import MonitorRunMixin

    f = env["folder"]
    assert run(env, "monitor", "create", "ext", "--data", str(f / "log.parquet"), "--reference",
               str(f / "reference.csv"), "--features", "x,c", "--time", "ts", "--score", "score", "--decision",
               "decision", "--tier", "high").exit_code == 0
    reg = Registry(env["db"])
    store = MonitorRunMixin._store_run
    calls = []

    def interleaved(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 1:  # the first run is about to store: a second run starts and finishes first
            second = self.run_monitor("ext", actor="other", close_all=True)
            assert second["alerts"]
        return store(self, *args, **kwargs)

    monkeypatch.setattr(MonitorRunMixin, "_store_run", interleaved)
    try:
        with pytest.raises(ConflictError, match="another run of monitor 'ext' finished"):
            reg.run_monitor("ext", actor="first", close_all=True)
        shown = reg.monitor("ext")
    finally:
        reg.close()
    assert len({(a["window"], a["signal"], a["subject"]) for a in shown["alerts"]}) == len(shown["alerts"]) > 0
    assert sum(w["rows"] for w in shown["windows"]) == 6000


def test_column_names_with_quotes_are_read_as_names(env, tmp_path):
    ref = pd.DataFrame({'inc"ome': np.arange(500.0), "c": ["a", "b"] * 250})
    ref.to_csv(tmp_path / "ref.csv", index=False)
    ref.assign(**{'inc"ome': ref['inc"ome'] + 1000}).to_parquet(tmp_path / "log.parquet")
    r = CliRunner().invoke(cli, ["monitor", "run", "--data", str(tmp_path / "log.parquet"), "--reference",
                                 str(tmp_path / "ref.csv"), "--features", 'inc"ome,c', "--window", "count", "--size",
                                 "500", "--format", "json"], env=CLEAN_ENV)
    assert r.exit_code == 1, r.output  # the shifted column alerts; nothing is read as SQL
    out = json.loads(r.output.strip().splitlines()[-1])
    assert {(a["signal"], a["subject"]) for a in out["alerts"]} >= {("feature_drift", 'inc"ome')}
    (tmp_path / "glob").mkdir()
    (tmp_path / "glob" / "p*.parquet").write_bytes((tmp_path / "log.parquet").read_bytes())
    r = CliRunner().invoke(cli, ["monitor", "run", "--data", str(tmp_path / "glob"), "--reference",
                                 str(tmp_path / "ref.csv"), "--features", 'inc"ome,c'], env=CLEAN_ENV)
    assert r.exit_code == 2 and "glob character" in r.output


def test_windows_by_time_without_a_time_column_are_refused_naming_the_option(env):
    f = env["folder"]
    source = ["--reference", str(f / "reference.csv"), "--features", "x,c", "--score", "score", "--decision",
              "decision", "--tier", "high"]  # the high tier windows by day
    r = run(env, "monitor", "create", "no-time", "--data", str(f / "log.parquet"), *source)
    assert r.exit_code == 2 and "--time: windows by day need each prediction's time" in r.output, r.output
    r = CliRunner().invoke(cli, ["monitor", "run", "--data", str(f / "log.parquet"), *source], env=CLEAN_ENV)
    assert r.exit_code == 2 and "--time" in r.output and "Traceback" not in r.output, r.output
    r = run(env, "monitor", "create", "no-time", "--data", str(f / "log.parquet"), *source, "--window", "count")
    assert r.exit_code == 0, r.output
