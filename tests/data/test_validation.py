"""Every validation error, through the API and through the CLI."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import steward
from steward.cli import cli
from tests.conftest import quiet_audit

BASE = dict(label="y", prediction="d", protected={"race": "A"})


def base_frame(n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "race": np.where(np.arange(n) % 3 == 0, "B", "A"),
        "y": rng.integers(0, 2, n),
        "d": rng.integers(0, 2, n),
        "s": rng.uniform(0, 1, n),
        "w": rng.uniform(0.5, 2, n),
    })


def with_missing(col: str, k: int):
    df = base_frame().astype({col: object})
    df.loc[:k - 1, col] = None
    return df


# name -> (frame, audit keyword overrides, message pattern)
CASES = {
    "missing column": (base_frame(), {"label": "outcome"}, r"label column 'outcome' is not in .*columns are"),
    "close column name": (base_frame(), {"prediction": "dd"}, r"did you mean 'd'\?"),
    "label not binary": (base_frame().assign(y=np.arange(60) % 4), {}, r"label column 'y' is not binary: it holds 4 distinct values"),
    "label is text": (base_frame().assign(y=np.where(np.arange(60) % 2, "yes", "no")), {}, r"label column 'y' is not 0/1.*positive_label="),
    "positive label absent": (base_frame().assign(y=np.where(np.arange(60) % 2, "yes", "no")), {"positive_label": "Yes"}, r"positive_label 'Yes' does not occur in label column 'y'"),
    "decision not binary": (base_frame().assign(d=np.arange(60) % 3), {}, r"prediction column 'd' is not binary"),
    "missing label values": (with_missing("y", 7), {}, r"label column 'y' has missing values in 7 of 60 rows"),
    "missing decision values": (with_missing("d", 3), {}, r"prediction column 'd' has missing values in 3 of 60 rows"),
    "missing protected values": (with_missing("race", 5), {}, r"protected attribute 'race' has missing values in 5 of 60 rows"),
    "missing scores": (with_missing("s", 2).astype({"s": float}), {"prediction": None, "score": "s", "threshold": 0.5}, r"score column 's' has missing values in 2 of 60 rows"),
    "text score": (base_frame().assign(s="high"), {"prediction": None, "score": "s", "threshold": 0.5}, r"score column 's' must be numeric"),
    "negative weights": (base_frame().assign(w=-1.0), {"weight": "w"}, r"weight column 'w' has negative"),
    "unknown reference": (base_frame(), {"protected": {"race": "Z"}}, r"reference group 'Z' of protected attribute 'race' does not occur.*groups are: A, B"),
    "single group": (base_frame().assign(race="A"), {}, r"protected attribute 'race' has a single group"),
    "continuous attribute": (base_frame(1200).assign(race=np.arange(1200) * 1.5), {"protected": ["race"]}, r"1,200 distinct values .*looks continuous"),
    "no rows": (base_frame().iloc[:0], {}, r"has no rows"),
    "duplicate columns": (pd.concat([base_frame(), base_frame()[["d"]].assign(d=1)], axis=1), {},
                          r"2 columns named 'd' \(columns 3, 6\) whose values differ \(data row \d+: 0 in column 3, 1 in "
                          r"column 6\)"),
    "no decision": (base_frame(), {"prediction": None}, r"no decision given"),
    "score without threshold": (base_frame(), {"prediction": None, "score": "s"}, r"needs threshold"),
    "threshold with prediction": (base_frame(), {"threshold": 0.5}, r"threshold is only used with score"),
    "bad favourable": (base_frame(), {"favourable": 2}, r"favourable must be 0 or 1"),
    "same column twice": (base_frame(), {"prediction": "y"}, r"column 'y' is used both as label and as prediction"),
}


@pytest.mark.parametrize("name", CASES)
def test_api_error(name):
    frame, overrides, pattern = CASES[name]
    with pytest.raises(steward.StewardError, match=pattern):
        quiet_audit(frame, **{**BASE, **overrides})


def cli_args(path: Path, overrides: dict) -> list[str]:
    kw = {**BASE, **overrides}
    args = ["audit", str(path), "--label", kw["label"], "--out", str(path.parent / "out")]
    if kw.get("prediction"):
        args += ["--prediction", kw["prediction"]]
    if kw.get("score"):
        args += ["--score", kw["score"]]
    if kw.get("threshold") is not None:
        args += ["--threshold", str(kw["threshold"])]
    if kw.get("weight"):
        args += ["--weight", kw["weight"]]
    if kw.get("positive_label"):
        args += ["--positive-label", kw["positive_label"]]
    protected = kw["protected"]
    items = protected.items() if isinstance(protected, dict) else [(p, None) for p in protected]
    for col, ref in items:
        args += ["--protected", col if ref is None else f"{col}={ref}"]
    return args


CLI_CASES = [n for n in CASES if n not in ("bad favourable", "duplicate columns", "no rows")]


@pytest.mark.parametrize("name", CLI_CASES)
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_cli_error_exit_2(name, fmt, tmp_path):
    frame, overrides, pattern = CASES[name]
    path = tmp_path / f"data.{fmt}"
    frame.to_csv(path, index=False) if fmt == "csv" else frame.to_parquet(path)
    if fmt == "csv" and name == "text score":
        pattern = r"score column 's' must be numeric"
    # the command line names its options, not the Python arguments
    pattern = {"score without threshold": r"--score s needs --threshold T",
               "label is text": r"label column 'y' is not 0/1.*--positive-label yes",
               "positive label absent": r"--positive-label 'Yes' does not occur in label column 'y'",
               "no decision": r"no decision given: give --prediction COL \(a 0/1 decision\) or --score COL with "
                              r"--threshold T"}.get(name, pattern)
    result = CliRunner().invoke(cli, cli_args(path, overrides))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    import re

    assert re.search(pattern, " ".join(result.output.split())), result.output


def test_cli_reads_the_raw_compas_file_whose_duplicate_columns_are_identical(compas_csv, tmp_path):
    # ProPublica's file has decile_score and priors_count twice, each pair identical: used, with a note
    result = CliRunner().invoke(cli, ["audit", str(compas_csv), "--label", "two_year_recid", "--score", "decile_score",
                                      "--threshold", "5", "--favourable", "0", "--protected", "race=Caucasian",
                                      "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "2 identical columns named 'decile_score' (columns 12, 40); the first is used" in text
    doc = __import__("json").loads((tmp_path / "report.json").read_text())
    assert any("identical columns named 'priors_count'" in n for n in doc["source"]["notes"])
    shipped = quiet_audit(steward.datasets.load_compas(), label="two_year_recid", score="decile_score", threshold=5,
                          favourable=0, protected={"race": "Caucasian"})
    raw = quiet_audit(compas_csv, label="two_year_recid", score="decile_score", threshold=5, favourable=0,
                      protected={"race": "Caucasian"})
    pd.testing.assert_frame_equal(raw.to_frame(), shipped.to_frame())


def test_differing_duplicate_columns_are_refused_naming_them(compas_csv, tmp_path):
    lines = compas_csv.read_text().splitlines()
    header = lines[0].split(",")
    second = [i for i, h in enumerate(header) if h == "decile_score"][1]
    row = lines[1].split(",")
    row[second] = str(int(row[second]) % 10 + 1)  # the first data row's second decile_score differs
    path = tmp_path / "edited.csv"
    path.write_text("\n".join([lines[0], ",".join(row), *lines[2:]]) + "\n")
    result = CliRunner().invoke(cli, ["audit", str(path), "--label", "two_year_recid", "--score", "decile_score",
                                      "--threshold", "5", "--protected", "race", "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    text = " ".join(result.output.split())
    assert "2 columns named 'decile_score' (columns 12, 40) whose values differ (data row 1:" in text
    assert "rename or drop the duplicates" in text
    with pytest.raises(steward.DataValidationError, match="columns named 'decile_score'.*values differ"):
        steward.audit(path, label="two_year_recid", score="decile_score", threshold=5, protected=["race"])


@pytest.mark.parametrize("content,pattern", [
    (b"", r"is empty \(0 bytes\)"),
    (b"\n", r"is empty: it has no header line"),
    (b"race,y,d\n", r"has a header line but no data rows"),
    (b"race,y,d\n\n\n", r"has a header line but no data rows"),
])
def test_empty_files(tmp_path, content, pattern):
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    with pytest.raises(steward.DataValidationError, match=pattern):
        steward.audit(path, **BASE)
    result = CliRunner().invoke(cli, cli_args(path, {}))
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert pytest.importorskip("re").search(pattern, " ".join(result.output.split()))


def test_file_problems(tmp_path):
    with pytest.raises(steward.DataValidationError, match="does not exist"):
        steward.audit(tmp_path / "nope.csv", **BASE)
    (tmp_path / "data.xlsx").write_bytes(b"x")
    with pytest.raises(steward.DataValidationError, match="cannot tell the format"):
        steward.audit(tmp_path / "data.xlsx", **BASE)
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    with pytest.raises(steward.DataValidationError, match="not a readable Parquet file"):
        steward.audit(tmp_path / "bad.parquet", **BASE)
    with pytest.raises(steward.DataValidationError, match="expected a pandas DataFrame"):
        steward.audit([1, 2, 3], **BASE)


def test_gzipped_csv_is_read(tmp_path):
    path = tmp_path / "d.csv.gz"
    with gzip.open(path, "wt") as fh:
        base_frame().to_csv(fh, index=False)
    r = quiet_audit(path, **BASE)
    assert r.source["rows"] == 60 and r.source["kind"] == "csv"


def test_real_process_shows_no_traceback_and_debug_does(tmp_path):
    path = tmp_path / "d.csv"
    base_frame().to_csv(path, index=False)
    exe = [sys.executable, "-m", "steward.cli"]
    plain = subprocess.run([*exe, "audit", str(path), "--label", "nope", "--prediction", "d", "--protected", "race"],
                           capture_output=True, text=True)
    assert plain.returncode == 2
    assert plain.stderr.startswith("error: label column 'nope' is not in")
    assert "Traceback" not in plain.stderr + plain.stdout
    debug = subprocess.run([*exe, "--debug", "audit", str(path), "--label", "nope", "--prediction", "d",
                            "--protected", "race"], capture_output=True, text=True)
    assert debug.returncode != 0 and "Traceback" in debug.stderr


def test_cli_usage_errors_exit_2(tmp_path):
    path = tmp_path / "d.csv"
    base_frame().to_csv(path, index=False)
    no_protected = CliRunner().invoke(cli, ["audit", str(path), "--label", "y", "--prediction", "d"])
    assert no_protected.exit_code == 2 and "--protected" in no_protected.output
    bad_favourable = CliRunner().invoke(cli, ["audit", str(path), "--label", "y", "--prediction", "d",
                                              "--protected", "race", "--favourable", "2"])
    assert bad_favourable.exit_code == 2
