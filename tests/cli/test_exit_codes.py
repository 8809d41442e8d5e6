"""Exit codes: 0 all pass, 1 a policy finding fails, 2 bad input, 3 an unexpected internal error, 130 Ctrl-C.

An internal error is one line on stderr naming the step that failed; --debug adds the traceback.
"""

import importlib
import subprocess
import sys

from click.testing import CliRunner

import steward
from steward.cli import cli

AUDIT_MODULE = importlib.import_module("steward.audit")  # `steward.audit` the attribute is the function
COMPAS = ["audit", str(steward.datasets.path("compas")), "--label", "two_year_recid", "--score", "decile_score",
          "--threshold", "5", "--favourable", "0", "--protected", "race=Caucasian", "--no-intersections"]


def run(*args):
    return CliRunner().invoke(cli, list(args))


def boom(*args, **kwargs):
    raise RuntimeError("boom\nwith a second line")


def lines(text):
    return [line for line in text.splitlines() if line.strip()]


def test_an_unexpected_error_is_one_line_naming_the_step_and_exit_3(tmp_path, monkeypatch):
    monkeypatch.setattr(AUDIT_MODULE, "audit", boom)
    r = run(*COMPAS, "--out", str(tmp_path / "rep"))
    assert r.exit_code == 3
    assert "Traceback" not in r.output
    assert lines(r.stderr) == ["internal error while running the audit (RuntimeError: boom with a second line); "
                               "run with --debug for the traceback"]


def test_the_innermost_step_is_named(tmp_path, monkeypatch):
    monkeypatch.setattr("steward.slices.find_slices", boom)
    r = run("slices", str(steward.datasets.path("compas")), "--label", "two_year_recid", "--prediction", "is_recid",
            "--features", "age,priors_count", "--out", str(tmp_path / "s"))
    assert r.exit_code == 3 and "Traceback" not in r.output
    assert lines(r.stderr)[-1].startswith("internal error while searching for slices (RuntimeError: boom")


def test_an_error_outside_a_named_step_names_the_command(tmp_path, monkeypatch):
    from steward.governance import Registry

    monkeypatch.setattr(Registry, "models", boom)
    r = run("models", "list", "--database-url", f"sqlite:///{tmp_path / 'r.db'}")
    assert r.exit_code == 3 and "Traceback" not in r.output
    assert lines(r.stderr)[-1] == ("internal error in `steward models list` (RuntimeError: boom with a second line); "
                                   "run with --debug for the traceback")


def test_debug_shows_the_traceback_and_still_exits_3(tmp_path, monkeypatch):
    monkeypatch.setattr(AUDIT_MODULE, "audit", boom)
    r = run("--debug", *COMPAS, "--out", str(tmp_path / "rep"))
    assert r.exit_code == 3
    assert "Traceback (most recent call last)" in r.stderr and 'raise RuntimeError("boom' in r.stderr
    assert lines(r.stderr)[-1].startswith("internal error while running the audit (RuntimeError: boom")


def test_debug_shows_the_traceback_of_a_user_mistake_and_still_exits_2(tmp_path):
    r = run("--debug", "audit", str(steward.datasets.path("compas")), "--label", "nope", "--prediction", "is_recid",
            "--protected", "race", "--out", str(tmp_path / "rep"))
    assert r.exit_code == 2
    assert "Traceback (most recent call last)" in r.stderr and "nope" in lines(r.stderr)[-1]


def test_ctrl_c_is_one_line_and_exit_130(tmp_path, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(AUDIT_MODULE, "audit", interrupted)
    r = run(*COMPAS, "--out", str(tmp_path / "rep"))
    assert r.exit_code == 130
    assert lines(r.stderr) == ["interrupted while running the audit"]


def test_bad_input_is_one_line_and_exit_2(tmp_path):
    r = run("audit", str(steward.datasets.path("compas")), "--label", "no_such_column", "--prediction", "is_recid",
            "--protected", "race", "--out", str(tmp_path / "rep"))
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert len(lines(r.stderr)) == 1 and lines(r.stderr)[0].startswith("error:") and "no_such_column" in r.stderr
    assert run("audit", "--no-such-option").exit_code == 2  # click's usage errors
    assert run("no-such-command").exit_code == 2


def test_a_failing_policy_exits_1_and_a_passing_audit_0(tmp_path):
    failing = run(*COMPAS, "--policy", "default", "--tier", "high", "--out", str(tmp_path / "fail"))
    assert failing.exit_code == 1, failing.output
    assert "FAILED" in failing.output and "Traceback" not in failing.output
    assert run(*COMPAS, "--out", str(tmp_path / "plain")).exit_code == 0


def test_the_exit_codes_are_in_the_help():
    text = " ".join(run("--help").output.split())
    for code in ("0 everything passed", "1 a policy finding failed or is not evidenced", "2 bad input",
                 "3 an unexpected internal error", "130 interrupted"):
        assert code in text


def test_a_real_process_exits_3_with_one_line(tmp_path):
    """Without CliRunner: the interpreter's own handling must not turn the exit code into 1 or print a traceback."""
    script = ("import importlib, sys\n"
              "def boom(*a, **k):\n    raise ValueError('bad value')\n"
              "importlib.import_module('steward.audit').audit = boom\n"
              "from steward.cli import main\n"
              "sys.argv = ['steward', *sys.argv[1:]]\n"
              "main()\n")
    args = [sys.executable, "-c", script, *COMPAS, "--out", str(tmp_path / "rep")]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3
    assert "Traceback" not in proc.stderr
    assert lines(proc.stderr) == ["internal error while running the audit (ValueError: bad value); "
                                  "run with --debug for the traceback"]
    proc = subprocess.run([*args[:3], "--debug", *args[3:]], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3 and "Traceback (most recent call last)" in proc.stderr


def test_an_unwritable_output_folder_is_bad_input_not_an_internal_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = run("slices", str(steward.datasets.path("compas")), "--label", "two_year_recid", "--prediction", "is_recid",
            "--features", "age,priors_count", "--out", str(blocker / "sub"))
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert lines(r.stderr) == [f"error: cannot write to {str(blocker / 'sub')!r}: Not a directory"]
