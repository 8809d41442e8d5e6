"""`steward audit` end to end: table, files, exit code."""

import json

from click.testing import CliRunner

import steward
from steward.cli import cli


def test_audit_writes_reports_and_exits_0(tmp_path):
    out = tmp_path / "rep"
    result = CliRunner().invoke(cli, [
        "audit", str(steward.datasets.path("compas")), "--label", "two_year_recid", "--score", "decile_score",
        "--threshold", "5", "--favourable", "0", "--protected", "race=Caucasian", "--protected", "sex=Male",
        "--out", str(out), "--progress",
    ])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "race (reference: Caucasian)" in text
    assert "0.63 times the rate of Caucasian" in text
    assert "Report:" in text
    doc = json.loads((out / "report.json").read_text())
    assert doc["settings"]["engine"] == "duckdb"
    assert (out / "report.html").stat().st_size > 10_000


def test_default_reference_is_said_in_the_output(tmp_path):
    result = CliRunner().invoke(cli, [
        "audit", str(steward.datasets.path("compas")), "--label", "two_year_recid", "--prediction", "is_recid",
        "--protected", "sex", "--out", str(tmp_path), "--no-intersections",
    ])
    assert result.exit_code == 0, result.output
    assert "the largest group, 'Male', was used" in " ".join(result.output.split())


def test_unwritable_output_folder_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = CliRunner().invoke(cli, [
        "audit", str(steward.datasets.path("compas")), "--label", "two_year_recid", "--prediction", "is_recid",
        "--protected", "sex", "--out", str(blocker / "sub"),
    ])
    assert result.exit_code == 2
    assert "cannot write the report" in result.output


def test_datasets_commands():
    listed = CliRunner().invoke(cli, ["datasets", "list"])
    assert listed.exit_code == 0 and "compas" in listed.output
    missing = CliRunner().invoke(cli, ["datasets", "path", "nope"])
    assert missing.exit_code == 2 and "no dataset named 'nope'" in missing.output
