"""`steward probe privacy|extraction|pii|reidentification`: exit codes and one-line errors (the figures are
tested in tests/privacy)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from steward.cli import cli

FEATURES = "age,education-num,hours-per-week,capital-gain"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    import lightgbm as lgb

    from steward.datasets import load_adult

    root = tmp_path_factory.mktemp("probe")
    df = load_adult().sample(3000, random_state=0).reset_index(drop=True)
    df["y"] = (df["income"] == ">50K").astype(int)
    df.iloc[:2000].to_csv(root / "train.csv", index=False)
    df.iloc[2000:].assign(email=[f"p{i}@example.org" for i in range(1000)]).to_csv(root / "test.csv", index=False)
    feats = FEATURES.split(",")
    lgb.LGBMClassifier(n_estimators=20, verbose=-1).fit(df[feats].iloc[:2000], df["y"].iloc[:2000]) \
        .booster_.save_model(root / "model.txt")
    return root


def run(*args):
    return CliRunner().invoke(cli, ["probe", *map(str, args)])


def test_privacy_writes_both_attacks_and_exits_by_the_threshold(files, tmp_path):
    r = run("privacy", files / "test.csv", "--model", files / "model.txt", "--features", FEATURES, "--label", "y",
            "--train", files / "train.csv", "--protected", "sex", "--out", tmp_path)
    assert r.exit_code == 0, r.output
    out = json.loads((tmp_path / "privacy.json").read_text())
    assert set(out) == {"membership_inference", "attribute_inference"}
    r = run("privacy", files / "test.csv", "--model", files / "model.txt", "--features", FEATURES, "--label", "y",
            "--train", files / "train.csv", "--max-advantage", "0", "--out", tmp_path)
    strict = json.loads((tmp_path / "privacy.json").read_text())["membership_inference"]
    groups = [g["advantage"] for g in strict["groups"] if g["judged"] and g["attack"] == strict["strongest"]["attack"]]
    assert r.exit_code == (1 if max([strict["strongest"]["advantage"], *groups]) > 0 else 0), r.output
    r = run("privacy", files / "test.csv", "--model", files / "model.txt", "--features", FEATURES, "--label", "y",
            "--out", tmp_path)
    assert r.exit_code == 2 and "nothing to attack" in r.output


def test_extraction_exits_1_when_copying_is_faster_than_the_policy_allows(files, tmp_path):
    args = ["extraction", files / "test.csv", "--model", files / "model.txt", "--features", FEATURES,
            "--budgets", "100,1000", "--repeats", "1", "--out", tmp_path]
    r = run(*args, "--rate", "50")
    out = json.loads((tmp_path / "extraction.json").read_text())
    assert r.exit_code == (1 if out["queries_needed"] is not None else 0), r.output
    r = run(*args[:-2], "--budgets", "10,x", "--out", tmp_path)
    assert r.exit_code == 2 and "--budgets '10,x'" in r.output


def test_pii_gates_on_an_identifier_among_the_features(files, tmp_path):
    r = run("pii", files / "test.csv", "--features", "age,email", "--out", tmp_path)
    assert r.exit_code == 1 and "Among the model's features: email" in r.output
    r = run("pii", files / "test.csv", "--features", "age", "--out", tmp_path)
    assert r.exit_code == 0 and "Columns of identifiers: email" in r.output
    r = run("pii", files / "test.csv", "--features", "nosuch", "--out", tmp_path)
    assert r.exit_code == 2 and "'nosuch' is not among the scanned columns" in r.output


def test_reidentification_says_which_quasi_identifiers_it_chose(files, tmp_path):
    r = run("reidentification", files / "train.csv", "--out", tmp_path)
    assert r.exit_code in (0, 1) and "using Steward's suggestion: " in r.output
    r = run("reidentification", files / "train.csv", "--qi", "age,sex", "--max-share-below-k", "1", "--out", tmp_path)
    assert r.exit_code == 0 and json.loads((tmp_path / "reidentification.json").read_text())["quasi_identifiers"] == \
        ["age", "sex"]
    r = run("reidentification", files / "train.csv", "--qi", "zip", "--out", tmp_path)
    assert r.exit_code == 2 and "'zip'" in r.output
