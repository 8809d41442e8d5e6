"""`steward probe individual|proxies|sensitivity|adversarial` end to end."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from steward.cli import cli

lgb = pytest.importorskip("lightgbm")


@pytest.fixture(scope="module")
def town(tmp_path_factory):
    """A town whose zip codes stand in for race, and a LightGBM model that reads race directly."""
    d = tmp_path_factory.mktemp("probe")
    rng = np.random.default_rng(5)
    n = 3000
    race = np.where(rng.random(n) < 0.6, "A", "B")
    home = np.where(race == "A", rng.random(n) < 0.9, rng.random(n) < 0.1)
    df = pd.DataFrame({"race": race, "zip": np.where(home, rng.integers(0, 10, n), rng.integers(10, 20, n)),
                       "income": rng.normal(50, 10, n).round(1), "age": rng.integers(18, 80, n),
                       "debt": rng.normal(20, 5, n).round(1)})
    y = (rng.random(n) < 1 / (1 + np.exp(-((df["income"] - 50) / 5 - 2 * (df["race"] == "B"))))).astype(int)
    X = df[["income", "debt", "age", "race"]].astype({"race": "category"})
    lgb.LGBMClassifier(n_estimators=50, num_leaves=8, verbose=-1).fit(X, y).booster_.save_model(d / "m.txt")
    df.to_csv(d / "town.csv", index=False)
    (d / "stress.yaml").write_text("scenarios:\n  - name: income -20%\n    change: {income: {multiply: 0.8}}\n")
    return d


def _run(*args):
    return CliRunner().invoke(cli, ["probe", *map(str, args)])


def test_individual_catches_a_model_reading_race(town):
    r = _run("individual", town / "town.csv", "--model", town / "m.txt", "--protected", "race=A",
             "--out", town / "ind")
    assert r.exit_code == 1, r.output
    doc = json.loads((town / "ind" / "individual.json").read_text())
    assert doc["flip_test"]["overall"]["race"] > 0.1
    assert doc["situation_testing"][0]["reference"] == "A"


def test_proxies_flag_the_zip_code_and_pass_without_it(town):
    r = _run("proxies", town / "town.csv", "--protected", "race", "--features", "zip,income,debt",
             "--out", town / "px")
    assert r.exit_code == 1, r.output
    doc = json.loads((town / "px" / "proxies.json").read_text())
    assert [f["feature"] for f in doc["features"] if f["proxy"]] == ["zip"]
    ok = _run("proxies", town / "town.csv", "--protected", "race", "--features", "income,debt", "--out", town / "px2")
    assert ok.exit_code == 0, ok.output


def test_sensitivity_and_stress(town):
    r = _run("sensitivity", town / "town.csv", "--model", town / "m.txt", "--protected", "race",
             "--scenarios", town / "stress.yaml", "--max-changed", "0.9", "--out", town / "sens")
    assert r.exit_code == 0, r.output
    doc = json.loads((town / "sens" / "sensitivity.json").read_text())
    assert doc["stress"]["scenarios"][0]["decisions_changed"] > 0
    assert {row["group"] for row in doc["sensitivity"]["summary"]} == {"all", "A", "B"}
    strict = _run("sensitivity", town / "town.csv", "--model", town / "m.txt", "--scenarios", town / "stress.yaml",
                  "--max-changed", "0.0", "--out", town / "sens2")
    assert strict.exit_code == 1


def test_adversarial_never_touches_immutables(town):
    r = _run("adversarial", town / "town.csv", "--model", town / "m.txt", "--protected", "race", "--sample", "40",
             "--max-flip-rate", "1", "--out", town / "adv")
    assert r.exit_code == 0, r.output
    doc = json.loads((town / "adv" / "adversarial.json").read_text())
    assert set(doc["immutable"]) == {"race", "age"}
    assert doc["examples"] and all(not {"race", "age"} & set(e["moves"]) for e in doc["examples"])


@pytest.mark.parametrize("args, says", [
    (["adversarial", "--range", "income=1"], "COL=LOW:HIGH"),
    (["sensitivity"], "give the model"),
    (["proxies"], "name the protected attributes"),
    (["individual", "--protected", "race=A", "--encoding", "race"], "write ATTR=COL"),
    (["individual", "--protected", "race=A", "--prediction", "approved"], "'approved' is not in the data"),
    (["individual", "--protected", "race=A", "--prediction", "income", "--model", "MODEL"], "not both"),
])
def test_bad_input_exits_2(town, args, says):
    cmd, *rest = args
    rest = [town / "m.txt" if a == "MODEL" else a for a in rest]
    extra = ["--model", town / "m.txt"] if cmd == "adversarial" or (cmd == "individual" and "--encoding" in rest) else []
    r = _run(cmd, town / "town.csv", *extra, *rest, "--out", town / "bad")
    assert r.exit_code == 2, r.output
    assert says in " ".join(r.output.split())
