"""Friction removed from the command line: output that is not cut, options named in errors, numbers for
people, a busy port said before serving, immutable features that stay immutable, a chosen model saved,
and a remediation that can pass a policy requiring a model card."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import steward
from steward.cli import cli

COMPAS = str(steward.datasets.path("compas"))


def run(*args, **kw):
    return CliRunner().invoke(cli, [str(a) for a in args], **kw)


def test_tables_are_not_cut_at_80_columns_outside_a_terminal(tmp_path):
    """A pipe or a CI log has no width: Rich used to cut cells to fit 80 columns ('Africa…')."""
    done = subprocess.run([sys.executable, "-m", "steward.cli", "audit", COMPAS, "--label", "two_year_recid",
                           "--score", "decile_score", "--threshold", "5", "--favourable", "0", "--protected",
                           "race=Caucasian", "--protected", "sex=Male", "--out", str(tmp_path)],
                          capture_output=True, text=True, env={k: v for k, v in __import__("os").environ.items()
                                                               if k != "COLUMNS"})
    assert done.returncode == 0, done.stderr
    assert "…" not in done.stdout
    assert "African-American*Female" in done.stdout
    assert max(len(line) for line in done.stdout.splitlines()) > 80
    narrow = subprocess.run([sys.executable, "-m", "steward.cli", "audit", COMPAS, "--label", "two_year_recid",
                             "--score", "decile_score", "--threshold", "5", "--protected", "race", "--out",
                             str(tmp_path / "n")], capture_output=True, text=True,
                            env={**__import__("os").environ, "COLUMNS": "60"})
    assert max(len(line) for line in narrow.stdout.splitlines() if "│" in line) <= 60  # COLUMNS still decides


@pytest.mark.parametrize("args,said,not_said", [
    (["--label", "two_year_recid", "--protected", "race"],
     "no decision given: give --prediction COL (a 0/1 decision) or --score COL with --threshold T", "prediction="),
    (["--label", "two_year_recid", "--score", "decile_score", "--protected", "race"],
     "--score decile_score needs --threshold T", "threshold=T"),
    (["--label", "score_text", "--prediction", "is_recid", "--protected", "race"],
     "Say which value is the positive class with --positive-label", "positive_label="),
])
def test_errors_name_the_command_line_options_not_python_arguments(tmp_path, args, said, not_said):
    r = run("audit", COMPAS, *args, "--out", tmp_path)
    assert r.exit_code == 2
    line = " ".join(r.stderr.split())
    assert said in line and not_said not in line, line


def test_wrong_features_for_a_model_are_said_as_the_option(tmp_path):
    lgb = pytest.importorskip("lightgbm")
    df = steward.datasets.load_compas()
    lgb.LGBMClassifier(n_estimators=3, verbose=-1).fit(df[["age", "priors_count"]], df["two_year_recid"]).booster_ \
        .save_model(tmp_path / "m.txt")
    r = run("explain", COMPAS, "--model", tmp_path / "m.txt", "--features", "age,juv_fel_count,juv_misd_count",
            "--report", tmp_path / "x")
    assert r.exit_code == 2
    assert "--features age,juv_fel_count,juv_misd_count do not match the model's 2 inputs" in " ".join(r.stderr.split())


def test_probe_tables_show_counts_shares_and_small_numbers_for_people():
    from steward.cli._console import cell

    assert [cell("rows", 18.0), cell("flipped", np.int64(1234)), cell("share_flagged", 0.0523),
            cell("mutual_information", 2.713e-07), cell("auc", 0.81234), cell("auc", float("nan")),
            cell("proxy", np.bool_(True)), cell("feature", "[/red]")] == \
        ["18", "1,234", "5.2%", "0.000", "0.812", "n/a", "yes", "\\[/red]"]


def test_serve_refuses_a_busy_port_before_saying_it_serves(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = run("serve", "--port", port, "--database-url", f"sqlite:///{tmp_path / 'r.db'}")
    assert r.exit_code == 2, r.output
    assert "Steward server on" not in r.output and "admin API key" not in r.output
    line = " ".join(r.stderr.split())
    assert f"cannot serve on 127.0.0.1:{port}" in line and f"give another port, e.g. --port {port + 1}" in line
    assert not (tmp_path / "r.db").exists()  # nothing was created for a server that could not start


def test_immutable_features_are_added_to_the_protected_attributes_and_age(tmp_path):
    lgb = pytest.importorskip("lightgbm")
    from steward.debug import adversarial_search

    rng = np.random.default_rng(0)
    n = 400
    df = pd.DataFrame({"sex": rng.choice(["F", "M"], n), "age": rng.integers(18, 80, n),
                       "income": rng.normal(50, 10, n), "debt": rng.normal(20, 5, n)})
    y = (df["income"] - df["debt"] + rng.normal(0, 5, n) > 30).astype(int)
    X = df.astype({"sex": "category"})
    model = lgb.LGBMClassifier(n_estimators=10, verbose=-1).fit(X, y)
    rep = adversarial_search(model, X, protected=["sex"], immutable=["debt"], sample=30, time_budget=5)
    assert rep.immutable == ["sex", "age", "debt"]
    assert not any(f in moves for moves in rep.examples["moves"] for f in ("sex", "age", "debt"))
    model.booster_.save_model(tmp_path / "m.txt")
    df.to_csv(tmp_path / "d.csv", index=False)
    r = run("probe", "adversarial", tmp_path / "d.csv", "--model", tmp_path / "m.txt", "--protected", "sex",
            "--immutable", "debt", "--sample", "30", "--time-budget", "5", "--out", tmp_path / "out")
    assert r.exit_code in (0, 1), r.output
    assert "never changed: sex, age, debt" in " ".join(r.stdout.split())


@pytest.fixture(scope="module")
def adult_files(tmp_path_factory):
    pytest.importorskip("fairlearn")
    from steward.datasets import load_adult

    d = tmp_path_factory.mktemp("adult")
    load_adult("train", dropna=True).sample(2000, random_state=1).to_csv(d / "train.csv", index=False)
    load_adult("test", dropna=True).sample(1500, random_state=1).to_csv(d / "test.csv", index=False)
    return d


FEATURES = "age,workclass,education-num,marital-status,occupation,capital-gain,hours-per-week"


def test_select_saves_the_chosen_model_and_says_where(adult_files, tmp_path):
    out = tmp_path / "sel"
    r = run("select", adult_files / "train.csv", "--label", "income", "--positive-label", ">50K", "--features", FEATURES,
            "--protected", "sex=Male", "--candidates", "3", "--folds", "2", "--jobs", "1", "--out", out)
    assert r.exit_code == 0, r.output
    saved = out / "model.txt"
    assert f"Model: {saved}" in " ".join(r.stdout.split())
    chosen = json.loads((out / "selection.json").read_text())["chosen"]
    assert f"candidate {chosen} refitted on all 2,000 rows" in " ".join(r.stdout.split())
    model = steward.models.load_model(saved)
    scores = model.score(pd.read_csv(adult_files / "test.csv"))
    assert scores.shape == (1500,) and ((scores >= 0) & (scores <= 1)).all()
    again = run("audit", adult_files / "test.csv", "--label", "income", "--positive-label", ">50K", "--model", saved,
                "--features", FEATURES, "--protected", "sex=Male", "--out", tmp_path / "audit")
    assert again.exit_code == 0, again.output


def test_remediate_takes_card_info_so_the_model_card_check_can_pass(adult_files, tmp_path):
    common = ["remediate", "reject_option", adult_files / "train.csv", "--test", adult_files / "test.csv",
              "--label", "income", "--positive-label", ">50K", "--features", FEATURES, "--protected", "sex=Male"]
    without = run(*common, "--out", tmp_path / "a")
    card = run(*common, "--card-info", steward.datasets.path("compas-card"), "--out", tmp_path / "b")
    for r in (without, card):
        assert r.exit_code in (0, 1), r.output

    def card_findings(folder):
        doc = json.loads((folder / "remediation.json").read_text())
        return {f["status"] for f in doc["findings_after"] if f["check"] == "model_card"}

    assert "fail" in card_findings(tmp_path / "a")
    assert card_findings(tmp_path / "b") == {"pass"}


def test_remediate_refuses_a_card_info_file_that_is_not_there(adult_files, tmp_path):
    r = run("remediate", "reject_option", adult_files / "train.csv", "--test", adult_files / "test.csv", "--label",
            "income", "--positive-label", ">50K", "--features", FEATURES, "--protected", "sex=Male", "--card-info",
            tmp_path / "nope.yaml", "--out", tmp_path / "c")
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert re.search(r"nope\.yaml", r.stderr)
