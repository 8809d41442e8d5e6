"""A version's differential-privacy record in the registry, on SQLite and PostgreSQL: stored and read back as
sent, refused with the field named (and nothing stored) when malformed, carried by the version's trail entry,
and added by migration 0006 to a registry made at 0005 without disturbing its trail."""

from __future__ import annotations

import functools
import json
import math
import warnings

import numpy as np
import pytest
from alembic import command
from sqlalchemy import MetaData, Table, inspect, select, text

from steward.errors import DataValidationError
from steward.governance import Registry
from steward.governance._db import _alembic_config
from steward.governance._privacy import privacy_line
from steward.governance._rowhash import row_digest

EPSILONS = (1.0, 4.0)
DELTA = 1e-6


@functools.lru_cache(maxsize=1)
def trained_record() -> dict:
    """The record of a real (small) DP-EBM run on Adult at EPSILONS, nothing chosen."""
    from steward.datasets import load_adult
    from steward.privacy import private_training

    df = load_adult().sample(800, random_state=3).reset_index(drop=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rep = private_training(df.iloc[:600], df.iloc[600:].reset_index(drop=True), label="income",
                               positive_label=">50K", features=["age", "education-num", "hours-per-week"],
                               protected=["sex"], epsilons=EPSILONS, delta=DELTA, ebm_options={"outer_bags": 2},
                               design_control=False)
    return rep.record()


def as_json(value):
    """What a JSON column gives back for ``value``."""
    return json.loads(json.dumps(value, allow_nan=False))


@pytest.fixture
def reg(db_url):
    r = Registry(db_url)
    r.register_model("m", actor="dev", domain="other")
    yield r
    r.close()


def test_a_version_keeps_its_privacy_record(reg, db_url):
    record = dict(trained_record(), chosen_epsilon=4.0)
    reg.register_version("m", "1", actor="dev", privacy=record)
    reg.register_version("m", "2", actor="dev")
    reg.close()
    r = Registry(db_url)  # read back from the database, not from the writer's objects
    try:
        stored = r.version("m", "1")["privacy"]
        assert stored == as_json(record)
        assert stored["epsilons"] == list(EPSILONS) and stored["delta"] == DELTA and stored["chosen_epsilon"] == 4.0
        assert [v["privacy"] is None for v in r.model("m")["versions"]] == [True, False]  # newest first
        assert r.version("m", "2")["privacy"] is None
        assert privacy_line(stored).startswith(f"trained with differential privacy: DP-EBM, ε = 4 (δ = {DELTA:g}); "
                                               f"not a full guarantee: the ranges of ")  # this record's were read
        with r.engine.connect() as conn:  # no record is SQL NULL, not the JSON text 'null'
            assert conn.execute(text("SELECT count(*) FROM versions WHERE privacy IS NULL")).scalar_one() == 1
        assert r.verify_trail().ok
    finally:
        r.close()


def test_the_trail_entry_carries_the_record(reg):
    record = trained_record()
    reg.register_version("m", "1", actor="dev", privacy=record)
    (entry,) = [e for e in reg.trail(subject="version:m:1") if e["action"] == "version.register"]
    assert json.loads(entry["payload"])["privacy"] == as_json(record)
    reg.register_version("m", "2", actor="dev")
    (entry,) = [e for e in reg.trail(subject="version:m:2") if e["action"] == "version.register"]
    assert json.loads(entry["payload"])["privacy"] is None
    assert reg.verify_trail().ok


def test_the_record_is_stored_as_plain_json(reg):
    """Whole numbers become floats where the record holds ε and δ, numpy values and tuples plain JSON; an absent
    chosen ε is stored as null; other keys are kept."""
    given = {"mechanism": " DP-SGD ", "epsilons": (np.float64(2), 8), "delta": 0, "seed": np.int64(7),
             "bounds": {"age": (17, 90)}, "note": None}
    stored = reg.register_version("m", "1", actor="dev", privacy=given)["privacy"]
    assert stored == {"mechanism": "DP-SGD", "epsilons": [2.0, 8.0], "delta": 0.0, "chosen_epsilon": None,
                      "seed": 7, "bounds": {"age": [17, 90]}, "note": None}
    assert all(type(e) is float for e in stored["epsilons"]) and type(stored["seed"]) is int
    assert privacy_line(stored) == "trained with differential privacy: DP-SGD, ε not chosen (tried 2, 8; δ = 0)"


def _without(key):
    return lambda r: {k: v for k, v in r.items() if k != key}


def _with(**change):
    return lambda r: {**r, **change}


# (how to spoil the trained record, what the error says)
BAD = [
    (lambda r: ["not", "a", "record"], "privacy must be a JSON object"),
    (_without("mechanism"), "privacy.mechanism must be non-empty text"),
    (_with(mechanism="  "), "privacy.mechanism must be non-empty text"),
    (_with(mechanism=3), "privacy.mechanism must be non-empty text"),
    (_without("epsilons"), "privacy.epsilons must be a non-empty list"),
    (_with(epsilons=[]), "privacy.epsilons must be a non-empty list"),
    (_with(epsilons="1,4"), "privacy.epsilons must be a non-empty list"),
    (_with(epsilons=[1.0, -1.0]), r"privacy.epsilons\[1\] is -1.0; every epsilon must be a positive"),
    (_with(epsilons=[0]), r"privacy.epsilons\[0\] is 0; every epsilon must be a positive"),
    (_with(epsilons=[True]), r"privacy.epsilons\[0\] is True"),
    (_with(epsilons=[1.0, math.inf]), r"privacy.epsilons\[1\] is inf, not a finite number"),
    (_without("delta"), "privacy.delta must be a number with 0 <= delta < 1"),
    (_with(delta=1), "privacy.delta must be a number with 0 <= delta < 1"),
    (_with(delta=-1e-9), "privacy.delta must be a number with 0 <= delta < 1"),
    (_with(delta="1e-6"), "privacy.delta must be a number with 0 <= delta < 1"),
    (_with(chosen_epsilon=2.0), "privacy.chosen_epsilon is 2.0; it must be null or one of the epsilons tried: 1, 4"),
    (_with(chosen_epsilon="4"), "privacy.chosen_epsilon is '4'"),
    (_with(seed=math.nan), "privacy.seed is nan, not a finite number"),
    (_with(privacy_bounds={"age": [17.0, object()]}), r"privacy.privacy_bounds.age\[1\] is of type object"),
    (lambda r: {**r, 1: "x"}, "privacy has the key 1, which is not text"),
]


def test_a_malformed_record_is_refused_with_its_field_and_nothing_is_stored(reg):
    trail_before = reg.trail()
    for i, (spoil, message) in enumerate(BAD):
        with pytest.raises(DataValidationError, match=message):
            reg.register_version("m", f"bad{i}", actor="dev", privacy=spoil(trained_record()))
    assert reg.model("m")["versions"] == []
    assert reg.trail() == trail_before
    assert reg.verify_trail().ok


# --- migration 0006 ---------------------------------------------------------------------------------

def _to(engine, how, revision):
    cfg = _alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        getattr(command, how)(cfg, revision)


def test_upgrading_a_0005_registry_keeps_its_versions_and_its_trail(db_url):
    """A registry at 0005 with a version (made by downgrading, which is tested so): after the upgrade the
    version has no privacy record and the trail still covers it as it was."""
    r = Registry(db_url)
    r.register_model("m", actor="dev", domain="other")
    r.register_version("m", "1", actor="dev", seeds={"numpy": 42})
    r.close()
    _to(r.engine, "downgrade", "0005")
    assert "privacy" not in {c["name"] for c in inspect(r.engine).get_columns("versions")}
    # The digest the trail holds for the version is that of the row as a 0005 registry has it (no privacy column).
    versions = Table("versions", MetaData(), autoload_with=r.engine)
    with r.engine.connect() as conn:
        row = conn.execute(select(versions)).mappings().one()
        rows = json.loads(conn.execute(text("SELECT rows FROM trail WHERE action = 'version.register'")).scalar_one())
    assert rows[f"versions:{row['id']}"] == row_digest("versions", row)
    r.engine.dispose()

    up = Registry(db_url)
    try:
        assert up.revision == "0007"
        v = up.version("m", "1")
        assert v["privacy"] is None and v["seeds"] == {"numpy": 42}
        assert up.verify_trail().ok, up.verify_trail().problems
        # The old version takes new versions' records beside it, and an edit of its own privacy outside Steward shows.
        up.register_version("m", "2", actor="dev", privacy=dict(trained_record(), chosen_epsilon=1.0))
        assert up.version("m", "2")["privacy"]["chosen_epsilon"] == 1.0 and up.verify_trail().ok
        with up.engine.begin() as conn:
            conn.execute(text("UPDATE versions SET privacy = :p WHERE version = '1'"),
                         {"p": json.dumps({"mechanism": "DP-EBM", "epsilons": [1.0], "delta": 0.0})})
        problems = up.verify_trail().problems
        assert len(problems) == 1 and problems[0].startswith(f"versions:{row['id']} was changed outside Steward")
    finally:
        up.close()


def test_the_line_says_what_weakens_the_guarantee():
    from steward.governance._privacy import privacy_line

    honest = {"mechanism": "DP-EBM (interpret)", "epsilons": [1.0, 4.0], "delta": 1e-6, "chosen_epsilon": 4.0,
              "bounds_from_data": [], "seeded_noise": False}
    assert privacy_line(honest) == "trained with differential privacy: DP-EBM, ε = 4 (δ = 1e-06)"
    weak = dict(honest, bounds_from_data=["age", "hours"], seeded_noise=True)
    assert privacy_line(weak) == ("trained with differential privacy: DP-EBM, ε = 4 (δ = 1e-06); not a full guarantee: "
                                  "the ranges of age, hours were read from the training data, outside the privacy "
                                  "budget; the noise came from a fixed seed")


def test_the_cli_trains_with_public_ranges_and_unseeded_noise(tmp_path):
    from click.testing import CliRunner

    from steward.cli import cli
    from steward.datasets import load_adult

    df = load_adult().sample(1200, random_state=3)
    df.iloc[:800].to_csv(tmp_path / "train.csv", index=False)
    df.iloc[800:].to_csv(tmp_path / "test.csv", index=False)
    args = ["probe", "private-training", str(tmp_path / "train.csv"), str(tmp_path / "test.csv"), "--label", "income",
            "--positive-label", ">50K", "--features", "age,hours-per-week", "--protected", "sex", "--epsilons", "8",
            "--out", str(tmp_path / "out")]
    r = CliRunner().invoke(cli, [*args, "--bounds", "age=17:90", "--bounds", "hours-per-week=1:99", "--seed", "none"])
    assert r.exit_code == 0, r.output
    record = json.loads((tmp_path / "out" / "private_training.json").read_text())["record"]
    assert record["bounds_from_data"] == [] and record["seeded_noise"] is False
    r = CliRunner().invoke(cli, [*args, "--bounds", "age=17"])
    assert r.exit_code == 2 and "--bounds 'age=17': write COL=LOW:HIGH" in r.output
