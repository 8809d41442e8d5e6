"""Text that people store or supply is printed literally: square brackets are not Rich markup.

An owner named ``[/red]`` once crashed `steward models list` for everyone (rich.errors.MarkupError).
"""

import json

import numpy as np
import pandas as pd
from click.testing import CliRunner

import steward
from steward.cli import cli
from steward.governance import Registry

OWNER, PURPOSE, EXECUTIVE = "[/red]", "[bold]x[/bold]", "[/]"
TITLE, COMMENT, VALIDATOR = "[link=http://x]y", "[red]no[/red]", "[i]Val"


def flat(text):
    return " ".join(text.split())


def test_stored_text_is_printed_literally(tmp_path):
    db = f"sqlite:///{tmp_path / 'r.db'}"
    reg = Registry(db)
    admin = reg.create_key("admin", ["admin"], actor="test")["key"]
    validator = reg.create_key(VALIDATOR, ["validator"], actor="test")["key"]
    reg.close()
    env = {"STEWARD_DATABASE_URL": db, "STEWARD_API_KEY": admin}

    def run(*args, key=admin):
        r = CliRunner().invoke(cli, list(args), env={**env, "STEWARD_API_KEY": key})
        assert r.exit_code == 0, r.output
        return r

    run("models", "register", "credit", "--owner", OWNER, "--purpose", PURPOSE, "--executive", EXECUTIVE)
    run("models", "assess", "credit", "--domain", "credit", "--people-affected", "50000", "--decisions-per-day", "100",
        "--no-human-review", "--wrong-decision-cost", "high")
    run("audit", str(steward.datasets.path("compas")), "--label", "two_year_recid", "--prediction", "is_recid",
        "--protected", "race", "--no-intersections", "--register", "credit:1.0", "--out", str(tmp_path / "rep"))
    run("signoff", "credit:1.0", "--role", "validator", "--decision", "reject", "--comment", COMMENT, key=validator)
    run("incident", "open", "credit:1.0", "--title", TITLE, "--severity", "high", "--description", "[/b]")
    run("incident", "update", "1", "--note", "[/i] a note")

    listed = flat(run("models", "list").output)
    assert OWNER in listed and "credit" in listed
    shown = flat(run("models", "show", "credit").output)
    for text in (PURPOSE, f"owner {OWNER};", f"accountable executive {EXECUTIVE};", TITLE,
                 f"reject by {VALIDATOR} as validator", COMMENT):
        assert text in shown, text
    assert TITLE in flat(run("incident", "list").output)
    incident = json.loads(run("incident", "show", "1").output)
    assert incident["title"] == TITLE and incident["description"] == "[/b]"
    assert f"principal:{VALIDATOR}" in flat(run("trail", "show").output)
    assert VALIDATOR in flat(run("keys", "list").output)
    # an error message quoting what the user typed is one literal line too
    r = CliRunner().invoke(cli, ["models", "show", "[/red]"], env=env)
    assert r.exit_code == 2 and "'[/red]'" in r.stderr and "Traceback" not in r.output


def test_column_group_and_file_names_are_printed_literally(tmp_path):
    rng = np.random.default_rng(0)
    n = 400
    frame = pd.DataFrame({
        "[bold]group": rng.choice(["[/red]", "[link=x]b"], n),
        "label": rng.integers(0, 2, n),
        "decision": rng.integers(0, 2, n),
    })
    data = tmp_path / "[b]data.csv"
    frame.to_csv(data, index=False)
    r = CliRunner().invoke(cli, ["audit", str(data), "--label", "label", "--prediction", "decision",
                                 "--protected", "[bold]group=[/red]", "--out", str(tmp_path / "[i]out")],
                           env={"COLUMNS": "200"})  # wide enough that no cell is cut short
    assert r.exit_code == 0, r.output
    text = flat(r.output)
    for literal in ("[bold]group (reference: [/red])", "[link=x]b", "[b]data.csv", "[i]out"):
        assert literal in text, literal


def test_group_names_in_the_progress_bar_are_printed_literally(tmp_path):
    rng = np.random.default_rng(0)
    n = 300
    data = tmp_path / "p.csv"
    pd.DataFrame({"grp": rng.choice(["[/red]", "b"], n), "x": rng.normal(size=n),
                  "d": rng.integers(0, 2, n)}).to_csv(data, index=False)
    # a terminal, so that the progress bar is drawn (its stages name the groups being tested)
    r = CliRunner().invoke(cli, ["probe", "individual", str(data), "--prediction", "d", "--protected", "grp=b",
                                 "--features", "x", "--out", str(tmp_path / "out")],
                           env={"FORCE_COLOR": "1", "TTY_COMPATIBLE": "1"})
    assert r.exit_code in (0, 1) and "internal error" not in r.stderr, r.output  # 1: a group was flagged
    assert "grp=[/red]" in r.stderr
