"""`steward models version --privacy FILE [--epsilon E]` on the local registry: the private_training.json that
`steward probe private-training` writes (or a bare record) is stored on the version with the chosen ε, shown by
`steward models show`; a wrong --epsilon or a malformed record is one line, exit 2, and nothing is stored."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from steward.cli import cli
from steward.datasets import load_adult
from steward.governance import Registry

EPSILONS = (1.0, 4.0)


def run(*args, env=None):
    return CliRunner().invoke(cli, list(args), env=env)


def flat(text):
    return " ".join(text.split())


@pytest.fixture(scope="module")
def probe_json(tmp_path_factory):
    """private_training.json as `steward probe private-training` writes it, on a small sample of Adult."""
    folder = tmp_path_factory.mktemp("probe")
    df = load_adult().sample(800, random_state=3).reset_index(drop=True)
    df = df[["age", "education-num", "hours-per-week", "sex", "income"]]
    df.iloc[:600].to_csv(folder / "train.csv", index=False)
    df.iloc[600:].to_csv(folder / "test.csv", index=False)
    r = run("probe", "private-training", str(folder / "train.csv"), str(folder / "test.csv"), "--label", "income",
            "--positive-label", ">50K", "--features", "age,education-num,hours-per-week", "--protected", "sex",
            "--epsilons", ",".join(f"{e:g}" for e in EPSILONS), "--out", str(folder / "out"))
    assert r.exit_code == 0, r.output
    return folder / "out" / "private_training.json"


@pytest.fixture
def local(tmp_path):
    """A local registry with the model ``credit`` and the admin key its first use made; the env to reach it."""
    db = tmp_path / "r.db"
    env = {"STEWARD_DATABASE_URL": f"sqlite:///{db}", "STEWARD_API_KEY": None}
    r = run("models", "register", "credit", "--domain", "credit", env=env)
    assert r.exit_code == 0, r.output
    admin = next(w for w in r.stderr.split() if w.startswith("stw_"))
    return f"sqlite:///{db}", dict(env, STEWARD_API_KEY=admin)


def stored(url, version):
    reg = Registry(url)
    try:
        return {v["version"]: v["privacy"] for v in reg.model("credit")["versions"]}.get(version, "absent")
    finally:
        reg.close()


def test_the_probes_record_is_stored_with_the_chosen_epsilon(local, probe_json):
    url, env = local
    record = json.loads(probe_json.read_text())["record"]
    r = run("models", "version", "credit:1.0", "--privacy", str(probe_json), "--epsilon", "4", env=env)
    assert r.exit_code == 0, r.output
    line = f"trained with differential privacy: DP-EBM, ε = 4 (δ = {record['delta']:g})"
    assert line in r.output
    assert stored(url, "1.0") == dict(record, chosen_epsilon=4.0)
    show = run("models", "show", "credit", env=env)
    assert show.exit_code == 0 and f"version 1.0 [registered]: no audit {line}" in flat(show.output)
    assert json.loads(run("models", "show", "credit", "--json", env=env).output)["versions"][0]["privacy"] == \
        dict(record, chosen_epsilon=4.0)


def test_a_bare_record_without_epsilon_keeps_none_chosen(local, probe_json, tmp_path):
    url, env = local
    record = json.loads(probe_json.read_text())["record"]
    bare = tmp_path / "record.json"
    bare.write_text(json.dumps(record))
    r = run("models", "version", "credit:2.0", "--privacy", str(bare), env=env)
    assert r.exit_code == 0, r.output
    assert stored(url, "2.0") == record and record["chosen_epsilon"] is None
    tried = ", ".join(f"{e:g}" for e in EPSILONS)
    assert f"ε not chosen (tried {tried}; δ = {record['delta']:g})" in flat(r.output)


def test_an_epsilon_not_tried_is_one_line_and_stores_nothing(local, probe_json):
    url, env = local
    r = run("models", "version", "credit:1.0", "--privacy", str(probe_json), "--epsilon", "2", env=env)
    assert r.exit_code == 2
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and "--epsilon 2 was not tried" in lines[0], r.output
    assert "use one of " + ", ".join(f"{e:g}" for e in EPSILONS) in lines[0]
    assert stored(url, "1.0") == "absent"


@pytest.mark.parametrize("content, message", [
    ({"record": {"mechanism": "DP-EBM", "epsilons": [1.0], "delta": 1.0}}, "privacy.delta must be a number"),
    ({"mechanism": "DP-EBM", "epsilons": [], "delta": 0.0}, "privacy.epsilons must be a non-empty list"),
    ("[1, 2]", "privacy must be a JSON object"),
    ("{not json", "is not JSON"),
    ("null", "holds null, not a privacy record"),
])
def test_a_malformed_privacy_file_is_one_line_and_stores_nothing(local, tmp_path, content, message):
    url, env = local
    path = tmp_path / "p.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    r = run("models", "version", "credit:1.0", "--privacy", str(path), env=env)
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1, r.output
    assert "--privacy" in r.output and message in flat(r.output)
    assert stored(url, "1.0") == "absent"


def test_epsilon_needs_a_privacy_file(local):
    url, env = local
    r = run("models", "version", "credit:1.0", "--epsilon", "4", env=env)
    assert r.exit_code == 2 and "give --privacy FILE too" in flat(r.output)
    assert stored(url, "1.0") == "absent"
