"""A corpus of bad inputs, run against every command that reads data or a model.

Each case ends in one of two ways: exit 2 with ONE line on stderr that names the column, value or option
and says what to do (``Expected.error``), or — where the input is legitimate, such as missing values a
LightGBM model routes natively — a result with exit 0 or 1 and reports that are valid JSON (``OK``).
Never a traceback, an internal error (exit 3), or a silently wrong number.

The data is small (150 rows) and the models are built once per module with few trees.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from steward.cli import cli

lgb = pytest.importorskip("lightgbm")
pytest.importorskip("sklearn")
pytest.importorskip("skops")
pytest.importorskip("fairlearn")

FEATURES = "income,debt,age"
MARKUP = "$5k_$10k"  # matplotlib reads $...$ as mathematics; Rich reads [/red] as markup


@dataclass(frozen=True)
class Expected:
    """``error``: a regex the one error line must match (None: the command must succeed)."""

    error: str | None = None


OK = Expected()


def error(pattern: str) -> Expected:
    return Expected(pattern)


def frame(n: int = 150, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sex = np.where(np.arange(n) % 2 == 0, "F", "M")  # both groups from the first rows on
    income = rng.normal(50, 10, n).round(1)
    y = (rng.random(n) < 1 / (1 + np.exp(-((income - 50) / 5 - (sex == "F"))))).astype(int)
    score = (1 / (1 + np.exp(-(income - 50) / 8))).round(3)
    return pd.DataFrame({"id": np.arange(1, n + 1), "sex": sex, "race": rng.choice(["A", "B"], n), "income": income,
                         "debt": rng.normal(20, 5, n).round(1), "age": rng.integers(18, 80, n),
                         "cat": rng.choice(["a", "b", "c"], n), "y": y, "pred": (score >= 0.5).astype(int),
                         "score": score})


@pytest.fixture(scope="module")
def kit(tmp_path_factory) -> Path:
    """Good data, LightGBM models (one reading a feature named like a formula), a scikit-learn model, reasons."""
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    d = tmp_path_factory.mktemp("bad-inputs")
    df = frame()
    df.to_csv(d / "good.csv", index=False)
    X = df[["income", "debt", "age"]]
    fit = dict(n_estimators=8, num_leaves=4, min_child_samples=5, verbose=-1)
    lgb.LGBMClassifier(**fit).fit(X, df["y"]).booster_.save_model(d / "model.txt")
    lgb.LGBMClassifier(**fit).fit(X.rename(columns={"debt": MARKUP}), df["y"]).booster_.save_model(d / "markup.txt")
    lgb.LGBMClassifier(**fit).fit(df[["income", "age"]].rename(columns={"age": "other"}), df["y"]).booster_.save_model(
        d / "wrong.txt")
    sio.dump(LogisticRegression().fit(X, df["y"]), d / "model.skops")
    (d / "garbage.txt").write_bytes(bytes(range(256)) * 8)
    (d / "garbage.skops").write_bytes(b"PK\x03\x04 not a zip")
    (d / "reasons.yaml").write_text("reasons:\n  income: Income too low\n  debt: Debt too high\n  age: Age\n"
                                    f"  '{MARKUP}': '[/red] debt'\n")
    return d


# ---------------------------------------------------------------------------------------------------------------
# The commands that read data or a model, as (name, arguments for DATA, MODEL, OUT)

def _commands(kit: Path, data: Path, model: Path, out: Path, features: str = FEATURES,
              reference: str = "M") -> dict[str, list]:
    m = ["--model", model, "--features", features]
    return {
        "audit": ["audit", data, "--label", "y", "--score", "score", "--threshold", "0.5", "--protected",
                  f"sex={reference}", "--out", out],
        "audit --model": ["audit", data, "--label", "y", *m, "--protected", f"sex={reference}", "--reasons",
                          kit / "reasons.yaml", "--out", out],
        "explain": ["explain", data, *m, "--reasons", kit / "reasons.yaml", "--out", out / "reasons.json",
                    "--report", out],
        "slices": ["slices", data, "--label", "y", *m, "--out", out],
        "compare": ["compare", data, "--label", "y", *m, "--train", data, "--draws", "50", "--out", out],
        "probe individual": ["probe", "individual", data, *m, "--protected", f"sex={reference}", "--out", out],
        "probe proxies": ["probe", "proxies", data, "--protected", "sex", "--features", f"{features},cat",
                          "--out", out],
        "probe sensitivity": ["probe", "sensitivity", data, *m, "--protected", "sex", "--out", out],
        "probe adversarial": ["probe", "adversarial", data, *m, "--protected", "sex", "--sample", "20",
                              "--time-budget", "2", "--out", out],
        "remediate": ["remediate", "reweighing", data, "--test", data, "--label", "y", "--features", features,
                      "--protected", f"sex={reference}", "--out", out],
        "select": ["select", data, "--label", "y", "--features", features, "--protected", f"sex={reference}",
                   "--candidates", "2", "--folds", "2", "--jobs", "1", "--out", out],
    }


COMMANDS = list(_commands(Path(), Path(), Path(), Path()))
MODEL_COMMANDS = ["audit --model", "explain", "slices", "compare", "probe individual", "probe sensitivity",
                  "probe adversarial"]
LABEL_COMMANDS = ["audit", "audit --model", "slices", "compare", "remediate", "select"]


def run(args: list) -> tuple:
    r = CliRunner().invoke(cli, [str(a) for a in args])
    return r, [line for line in (r.stderr or "").splitlines() if line.strip() and not line.startswith("note: ")]


def check(args: list, expected: Expected, out: Path | None = None) -> None:
    r, err = run(args)
    shown = f"exit {r.exit_code}\nstderr: {r.stderr}\nstdout: {r.stdout[-2000:]}"
    assert "Traceback" not in r.output, shown
    assert r.exit_code != 3 and not any("internal error" in line for line in err), shown
    if expected.error is not None:
        assert r.exit_code == 2, shown
        assert len(err) == 1 and err[0].startswith("error: "), shown
        assert re.search(expected.error, err[0]), f"{expected.error!r} not in {err[0]!r}"
        return
    assert r.exit_code in (0, 1), shown
    assert not err, shown
    if out is not None:  # every JSON report written is strict JSON: no NaN, no Infinity
        written = list(out.rglob("*.json"))
        assert written, shown
        for f in written:
            json.loads(f.read_text(), parse_constant=lambda c: pytest.fail(f"{f.name} holds {c}"))


# ---------------------------------------------------------------------------------------------------------------
# Bad data files: (how to make the file from the good frame, what each command must do)

def _write(df: pd.DataFrame) -> Callable[[Path], Path]:
    def make(path: Path) -> Path:
        df.to_csv(path, index=False)
        return path
    return make


def _text(text: str | bytes) -> Callable[[Path], Path]:
    def make(path: Path) -> Path:
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        return path
    return make


def _with(**changes) -> pd.DataFrame:
    df = frame()
    for col, fn in changes.items():
        df[col] = fn(df)
    return df


def _ragged(path: Path) -> Path:
    lines = frame().to_csv(index=False).splitlines()
    lines[5] += ",extra,more"
    path.write_text("\n".join(lines) + "\n")
    return path


def _short_line(path: Path) -> Path:
    lines = frame().to_csv(index=False).splitlines()
    lines[9] = lines[9].rsplit(",", 2)[0]
    path.write_text("\n".join(lines) + "\n")
    return path


def _some(value, every: int = 7):
    def fn(df: pd.DataFrame) -> pd.Series:
        s = df["income"].astype(object if isinstance(value, str) else float).copy()
        s.iloc[5::every] = value
        return s
    return fn


def _all(expected: Expected, **per_command: Expected) -> dict[str, Expected]:
    return {c: per_command.get(c, expected) for c in COMMANDS}


def _only(commands: list[str], expected: Expected) -> dict[str, Expected]:
    return {c: expected if c in commands else OK for c in COMMANDS}


NO_MODEL_READS_IT = {"audit": OK}  # `audit --score` reads no feature

DATA_CASES: dict[str, tuple[Callable[[Path], Path] | None, dict[str, Expected]]] = {
    "missing file": (None, _all(error(r"data file '.*missing file\.csv' does not exist; check the path"))),
    "empty file": (_text(""), _all(error(r"is empty \(0 bytes\)"))),
    "blank file": (_text("\n\n"), _all(error(r"is empty: it has no header line"))),
    "header only": (_text(",".join(frame().columns) + "\n"),
                    _all(error(r"has a header line but no data rows; give a file with rows"))),
    "garbage bytes": (_text(bytes(range(256)) * 8), _all(error(r"is not a CSV text file: it holds binary bytes"))),
    "not UTF-8": (_text(b"id,sex,income\n" + b"1,caf\xe9,2\n" * 2), _all(error(r"is not UTF-8 text .*save it as UTF-8"))),
    "a line with extra fields": (_ragged, _all(error(r"line 6 has 12 fields but the header has 10; fix that line"))),
    "a line with fewer fields": (_short_line, _all(error(r"line 10 has 8 fields but the header has 10; fix that line"))),
    # legitimate: LightGBM routes missing values, the benchmark and the probes impute or keep them as a level
    "NaN in a feature": (_write(_with(income=_some(np.nan))), _all(OK)),
    "inf in a feature": (_write(_with(income=_some(np.inf))),
                         _all(error(r"'income' holds inf in 21 of 150 rows \(first: data row 6\).*replace them with "
                                    r"finite numbers"), **NO_MODEL_READS_IT)),
    "-inf in a feature": (_write(_with(income=_some(-np.inf))),
                          _all(error(r"'income' holds -inf in 21 of 150 rows"), **NO_MODEL_READS_IT)),
    "1e300 in a feature": (_write(_with(income=_some(1e300))),
                           _all(error(r"'income' holds 1e\+300 in 21 of 150 rows .*beyond the ±3\.4e38 a model can "
                                      r"read; fix those values"), **NO_MODEL_READS_IT)),
    "text in a numeric column": (_write(_with(income=_some("abc", every=1000))),
                                 _all(error(r"'income' holds numbers and text: 'abc' in data row 6 \(1 of 150 values "
                                            r"are not numbers\); fix those values"), **NO_MODEL_READS_IT)),
    "label column missing": (_write(frame().drop(columns=["y"])),
                             _only(LABEL_COMMANDS, error(r"'y'.* (not in|missing from)"))),
    "feature column missing": (_write(frame().drop(columns=["debt"])),
                               _all(error(r"(?=.*'debt')(?=.*(lacks|not in|missing from))"), **NO_MODEL_READS_IT)),
    "one protected group": (_write(_with(sex=lambda df: "F")), {
        **_only(["audit", "audit --model"], error(r"protected attribute 'sex' has a single group")),
        "probe individual": error(r"reference group sex='M' has 0 rows.*the groups are: F \(150 rows\)"),
        "probe proxies": error(r"protected attribute 'sex' has a single group \('F'\) in the data"),
        "remediate": error(r"reference group 'M' of protected attribute 'sex' does not occur in the held-out data; "
                           r"the groups are: F"),
        "select": error(r"protected attribute 'sex' has a single group \('F'\) in the data, so no candidate can be "
                        r"judged for discrimination")}),
    "constant label": (_write(_with(y=lambda df: 1)),
                       _only(["compare", "remediate", "select"],
                             error(r"label column 'y' in the training data holds one outcome only \(1 in all 150 "
                                   r"rows\); a model cannot learn from one outcome"))),
    "three rows": (_write(frame().head(3)), {
        **_all(OK),
        "compare": error(r"the training data has 3 rows .*needs at least 10 of each: give more rows"),
        "remediate": error(r"the training data has 3 rows .*needs at least 10 of each: give more rows"),
        "select": error(r"the training data has 3 rows .*needs at least 10 of each: give more rows"),
        "probe individual": error(r"reference group sex='M' has 1 rows; situation testing needs at least k=10")}),
    "huge ids": (_write(_with(id=lambda df: [str(10 ** 30 + i) for i in range(len(df))])), _all(OK)),
    "identical duplicate columns": (_write(pd.concat([frame(), frame()[["income", "y"]]], axis=1)), _all(OK)),
    "differing duplicate columns": (_write(pd.concat([frame(), frame()[["income"]] + 1], axis=1)),
                                    _all(error(r"2 columns named 'income' \(columns 4, 11\) whose values differ "
                                               r"\(data row 1: .*\); rename or drop the duplicates"))),
}


@pytest.fixture(scope="module")
def data_files(kit) -> dict[str, Path]:
    out = {}
    for name, (make, _) in DATA_CASES.items():
        path = kit / f"{name}.csv"
        out[name] = make(path) if make is not None else path
    return out


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("case", list(DATA_CASES))
def test_bad_data(kit, data_files, tmp_path, case, command):
    args = _commands(kit, data_files[case], kit / "model.txt", tmp_path / "out")[command]
    check(args, DATA_CASES[case][1][command], tmp_path / "out")


@pytest.mark.parametrize("command", COMMANDS)
def test_names_that_look_like_markup_or_maths(kit, tmp_path, command):
    """A group named `$5k_$10k` (matplotlib mathematics) and `[/red]` (Rich markup), and a feature named
    `$5k_$10k`: drawn and printed literally."""
    df = frame()
    df["sex"] = np.where(df["sex"] == "F", MARKUP, "[/red]")
    df = df.rename(columns={"debt": MARKUP})
    data = kit / "markup.csv"
    df.to_csv(data, index=False)
    args = _commands(kit, data, kit / "markup.txt", tmp_path / "out", features=f"income,{MARKUP},age",
                     reference=MARKUP)[command]
    check(args, OK, tmp_path / "out")
    assert list((tmp_path / "out").rglob("*.html"))
    if command == "audit":
        page = (tmp_path / "out" / "report.html").read_text()
        assert MARKUP in page and "[/red]" in page and "<svg" in page


# ---------------------------------------------------------------------------------------------------------------
# Corrupt or mismatched models, against every command that reads one

MODEL_CASES = {
    "missing model file": ("absent.txt", [], None, error(r"model file '.*absent\.txt' does not exist; check the path")),
    "garbage bytes as LightGBM text": ("garbage.txt", [], None,
                                       error(r"model file '.*garbage\.txt' could not be read as lightgbm-text")),
    "garbage bytes as skops": ("garbage.skops", [], None, error(r"model file '.*garbage\.skops' could not be read as "
                                                                r"skops")),
    "model of other features": ("wrong.txt", [], None,
                                error(r"--features income,debt,age do not match the model's 2 inputs \['income', "
                                      r"'other'\]: give the data columns that feed those inputs")),
    "wrong SHA-256": ("model.txt", ["--model-sha256", "0" * 64], None,
                      error(r"model file '.*model\.txt' has SHA-256 [0-9a-f]{64}, not the expected 0{64}")),
    "not a SHA-256": ("model.txt", ["--model-sha256", "abc"], None,
                      error(r"--model-sha256 abc is not a SHA-256: give the 64 hex digits")),
    "missing values a scikit-learn model cannot take": (
        "model.skops", [], "NaN in a feature",
        error(r"the scikit-learn model could not score the data: .*column\(s\) 'income' have missing values, which "
              r"this model may not take: fill or drop those rows")),
}


@pytest.mark.parametrize("command", MODEL_COMMANDS)
@pytest.mark.parametrize("case", list(MODEL_CASES))
def test_bad_models(kit, data_files, tmp_path, case, command):
    model, extra, data, expected = MODEL_CASES[case]
    args = _commands(kit, data_files[data] if data else kit / "good.csv", kit / model, tmp_path / "out")[command]
    check([*args, *extra], expected)


# ---------------------------------------------------------------------------------------------------------------
# Malformed option values

def _option_case(command: str, *extra: str) -> Callable[[Path], list]:
    return lambda kit, out: [*_commands(kit, kit / "good.csv", kit / "model.txt", out)[command], *extra]


OPTION_CASES = {
    "--range with low above high": (_option_case("probe adversarial", "--range", "income=5:1"),
                                    error(r"--range income is 5:1; give finite numbers with low below high, e.g. "
                                          r"income=1:5")),
    "--range of a column the model does not read": (_option_case("probe adversarial", "--range", "nocol=1:5"),
                                                    error(r"--range names column\(s\) 'nocol' the model does not read; "
                                                          r"its inputs are: income, debt, age")),
    "--range without a span": (_option_case("probe adversarial", "--range", "income=5"),
                               error(r"--range 'income=5': write COL=LOW:HIGH with two numbers")),
    "--range of infinities": (_option_case("probe adversarial", "--range", "income=-inf:inf"),
                              error(r"--range income is -inf:inf; give finite numbers")),
    "--immutable of a column the model does not read": (_option_case("probe adversarial", "--immutable", "nocol"),
                                                        error(r"--immutable names column\(s\) 'nocol'")),
    "--encoding of a missing column": (_option_case("probe individual", "--encoding", "sex=nocol"),
                                       error(r"encoding column 'nocol' of 'sex' is not in the data; the columns are")),
    "--encoding without '='": (_option_case("probe individual", "--encoding", "race"),
                               error(r"--encoding 'race': write ATTR=COL, e.g. --encoding race=race_code")),
    "--encoding of an attribute not protected": (_option_case("probe individual", "--encoding", "race=income"),
                                                 error(r"--encoding names 'race', which is not a protected attribute "
                                                       r"here \(sex\)")),
    "--encoding of a column the model does not read": (_option_case("probe individual", "--encoding", "sex=cat"),
                                                       error(r"encoding column 'cat' of 'sex' is not an input of the "
                                                             r"model")),
    **{f"--positive-label absent from the label ({c})": (_option_case(c, "--positive-label", "9"),
                                                         error(r"--positive-label '9' does not occur in label column "
                                                               r"'y', which holds \[[01](\.0)?, [01](\.0)?\]; use one "
                                                               r"of these values"))
       for c in LABEL_COMMANDS},
}


@pytest.mark.parametrize("case", list(OPTION_CASES))
def test_malformed_options(kit, tmp_path, case):
    make, expected = OPTION_CASES[case]
    check(make(kit, tmp_path / "out"), expected)


# ---------------------------------------------------------------------------------------------------------------
# What used to be accepted silently

def test_an_unrelated_text_category_is_not_reported_as_a_proxy(kit, tmp_path):
    r, _ = run(_commands(kit, kit / "good.csv", kit / "model.txt", tmp_path / "out")["probe proxies"])
    doc = json.loads((tmp_path / "out" / "proxies.json").read_text())
    cat = [f for f in doc["features"] if f["feature"] == "cat"][0]
    assert not cat["proxy"] and cat["auc"] < 0.7 and cat["cramers_v"] < 0.2, cat


def test_identical_duplicate_columns_are_used_with_a_note(kit, data_files, tmp_path):
    r, _ = run(_commands(kit, data_files["identical duplicate columns"], kit / "model.txt", tmp_path / "a")["audit"])
    assert r.exit_code == 0
    assert "note: data file" in r.stdout and "2 identical columns named 'income' (columns 4, 11)" in r.stdout
    r, _ = run(_commands(kit, data_files["identical duplicate columns"], kit / "model.txt", tmp_path / "b")["explain"])
    assert r.exit_code == 0 and "identical columns named 'y' (columns 8, 12); the first is used" in r.stderr


def test_the_adult_missing_values_give_reason_codes_and_a_report(tmp_path):
    """UCI Adult's `?` are missing values; LightGBM routes them, a reason can cite one (its value is null in JSON)."""
    from steward.datasets import load_adult

    df = load_adult().sample(1500, random_state=0).reset_index(drop=True)
    feats = ["age", "workclass", "occupation", "education-num", "hours-per-week"]
    X = df[feats].astype({"workclass": "category", "occupation": "category"})
    lgb.LGBMClassifier(n_estimators=10, num_leaves=8, verbose=-1).fit(X, df["income"] == ">50K").booster_.save_model(
        tmp_path / "m.txt")
    df.to_csv(tmp_path / "adult.csv", index=False)
    assert df[feats].isna().any().any()
    (tmp_path / "r.yaml").write_text("reasons:\n  age: Age\n  workclass: {Private: Private employer, default: "
                                     "Kind of employer}\n  occupation: Occupation\n  education-num: Education\n"
                                     "  hours-per-week: Hours worked\n")
    common = ["--model", tmp_path / "m.txt", "--features", ",".join(feats), "--reasons", tmp_path / "r.yaml"]
    check(["explain", tmp_path / "adult.csv", *common, "--out", tmp_path / "ex" / "r.json", "--report",
           tmp_path / "ex"], OK, tmp_path / "ex")
    check(["audit", tmp_path / "adult.csv", "--label", "income", "--positive-label", ">50K", *common, "--protected",
           "sex=Male", "--out", tmp_path / "au"], OK, tmp_path / "au")
    doc = json.loads((tmp_path / "au" / "report.json").read_text())
    assert doc["analyses"]["explanations"]["reasons"]["adverse_rows"] > 0


@pytest.mark.parametrize("first", [2 ** 63, 10 ** 22], ids=["beyond int64", "22 digits"])
def test_huge_integer_ids_are_read_exactly(kit, tmp_path, first):
    """Read as floating point, ids beyond 2**53 collapse into one value: an id column given as a protected
    attribute was called 'a single group'. Both engines must see 1,200 distinct values (and refuse them)."""
    df = pd.concat([frame()] * 8, ignore_index=True)
    df["id"] = [str(first + i) for i in range(len(df))]
    df.to_csv(tmp_path / "ids.csv", index=False)
    for engine in ("duckdb", "numpy"):
        check(["audit", tmp_path / "ids.csv", "--label", "y", "--prediction", "pred", "--protected", "id",
               "--engine", engine, "--out", tmp_path / engine],
              error(r"protected attribute 'id' has 1,200 distinct values \(more than 1000\); it looks continuous or "
                    r"like an identifier"))


def test_compare_with_a_previous_version_on_three_rows_is_refused(kit, data_files, tmp_path):
    """It used to say 'better: yes' with an undefined interval."""
    check(["compare", data_files["three rows"], "--label", "y", "--model", kit / "model.txt", "--features", FEATURES,
           "--previous", kit / "model.txt", "--out", tmp_path / "out"],
          error(r"the evaluation data has 3 rows with \d of label 1 in 'y'; comparing two models needs at least 30 rows "
                r"and both outcomes: give more rows"))
