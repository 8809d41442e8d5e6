"""``steward monitor report NAME --out FILE.html [--json FILE.json]`` on a local SQLite registry: the file
monitor of ``test_monitor_commands.py`` (a feature shifted on the last three days) written as one offline
HTML file, its JSON what the registry holds; an unknown monitor or a missing folder exits 2 with one line."""

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
    log_rows(rng, 6000, 0.0, "2026-10-01", 30).to_csv(tmp_path / "reference.csv", index=False)
    log = pd.concat([log_rows(rng, 3000, 0.0, "2026-11-01", 3), log_rows(rng, 3000, 1.0, "2026-11-04", 3)],
                    ignore_index=True)
    log["pid"] = [f"id{i}" for i in range(len(log))]
    log.drop(columns=["label"]).to_parquet(tmp_path / "log.parquet")
    db = f"sqlite:///{tmp_path / 'reg.db'}"
    reg = Registry(db)
    key = reg.create_key("Olga Operator", ["operator"], actor="setup")["key"]
    reg.register_model("scorer", actor="setup", purpose="Scores", domain="operations", owner="Ana")
    reg.close()
    env = {"db": db, "key": key, "folder": tmp_path}
    r = run(env, "monitor", "create", "ext", "--data", str(tmp_path / "log.parquet"), "--reference",
            str(tmp_path / "reference.csv"), "--features", "x,c", "--protected", "sex=M", "--time", "ts", "--score",
            "score", "--decision", "decision", "--id", "pid", "--model", "scorer", "--tier", "high")
    assert r.exit_code == 0, r.output
    r = run(env, "monitor", "run", "ext", "--close-all")
    assert r.exit_code == 1, r.output  # the shifted days raise alerts
    return env


def run(env, *args: str):
    return CliRunner().invoke(cli, [*args, "--database-url", env["db"], "--api-key", env["key"]], env=CLEAN_ENV,
                              catch_exceptions=False)


def test_the_report_is_written_offline_and_its_json_is_the_registrys(env):
    f = env["folder"]
    out, js = f / "monitor.html", f / "monitor.json"
    r = run(env, "monitor", "report", "ext", "--out", str(out), "--json", str(js))
    assert r.exit_code == 0, r.output
    assert f"wrote {out}" in r.output and f"wrote {js}" in r.output
    html = out.read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html>") and "Monitor ext" in html
    assert "<svg" in html and 'class="alert-marker"' in html
    assert "<script" not in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in html

    from steward.governance import Registry

    reg = Registry(env["db"])
    try:
        m = json.loads(json.dumps(reg.monitor("ext"), default=str))
    finally:
        reg.close()
    written = json.loads(js.read_text(encoding="utf-8"))
    assert written["windows"] == m["windows"] and written["alerts"] == m["alerts"]
    assert len(written["alerts"]) == html.count('class="alert-marker"') >= 1


def test_an_unknown_monitor_or_a_missing_folder_exits_2_with_one_line(env):
    f = env["folder"]
    r = run(env, "monitor", "report", "nope", "--out", str(f / "x.html"))
    assert r.exit_code == 2 and "no monitor named 'nope'" in r.output
    assert len(r.output.strip().splitlines()) == 1
    assert not (f / "x.html").exists()
    r = run(env, "monitor", "report", "ext", "--out", str(f / "missing" / "x.html"))
    assert r.exit_code == 2 and "--out" in r.output and "does not exist" in r.output
    assert len(r.output.strip().splitlines()) == 1
    r = run(env, "monitor", "report", "ext", "--out", str(f / "x.html"), "--json", str(f / "missing" / "x.json"))
    assert r.exit_code == 2 and "--json" in r.output and "does not exist" in r.output
    assert not (f / "x.html").exists()  # nothing written when an option is wrong
    r = run(env, "monitor", "report", "ext")
    assert r.exit_code == 2 and "--out" in r.output
