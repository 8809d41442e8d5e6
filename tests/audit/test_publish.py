"""The published copy of an audit: groups under min_cell suppressed (every figure, and the findings' figures),
no cells and no analyses; the other groups exactly as in the full report."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

import steward
from steward.errors import DataValidationError


@pytest.fixture(scope="module")
def result():
    rng = np.random.default_rng(0)
    n = 1000
    race = np.array(["A"] * 600 + ["B"] * 392 + ["C"] * 8)
    df = pd.DataFrame({"race": race, "y": rng.integers(0, 2, n), "d": rng.integers(0, 2, n),
                       "sex": rng.choice(["F", "M"], n)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return steward.audit(df, label="y", prediction="d", protected={"race": "A", "sex": "M"}, policy="default",
                             tier="low")


def _sums(groups):
    """The sums a reader can form from the published table: each attribute's groups (they add up to all rows,
    which the report shows), and each group of one attribute split by the other (race=C is C*F + C*M)."""
    by = {}
    for g in groups:
        by.setdefault(g["attribute"], []).append(g)
    out = [list(v) for v in by.values()]
    for cell_attr, cells in by.items():
        parts = cell_attr.split("*")
        if len(parts) != 2:
            continue
        for k, other in ((0, parts[1]), (1, parts[0])):
            for parent in by.get(other, []):
                out.append([parent] + [c for c in cells if c["group"].split("*")[1 - k] == parent["group"]])
    return out


def test_small_groups_are_suppressed_and_none_can_be_worked_back(result):
    pub = result.for_publication(10)
    d = json.loads(json.dumps(pub.to_dict(), allow_nan=False))  # valid JSON, no NaN
    rows = {(g["attribute"], g["group"]): g for g in d["groups"]}
    full = {(g["attribute"], g["group"]): g for g in result.to_dict()["groups"]}
    c = rows[("race", "C")]
    assert c["suppressed"] and c["rows"] is None and c["favourable_rate"] is None and c["n"] is None
    assert c["favourable_rate_ci"] is None and c["adverse_impact_ratio"] is None
    # every group under 10 rows is suppressed; race=C (8 of 1,000) would be 1,000 - A - B, so B goes too
    assert all(rows[k]["suppressed"] for k, g in full.items() if g["rows"] < 10)
    assert rows[("race", "B")]["suppressed"] and not rows[("race", "A")]["suppressed"]
    # no sum of shown figures has exactly one suppressed member left
    for members in _sums(d["groups"]):
        assert sum(m["suppressed"] for m in members) != 1, [(m["attribute"], m["group"]) for m in members]
    for key, g in rows.items():  # what is shown is the full report's figures, unchanged
        if not g["suppressed"] and g["reference"] not in {k[1] for k, v in rows.items() if v["suppressed"]}:
            assert {k: v for k, v in g.items() if k != "suppressed"} == full[key]
    assert d["cells"] == [] and d["analyses"] == {}
    assert d["settings"]["published_min_cell"] == 10
    assert len(d["notes"]) == 1 and "suppressed" in d["notes"][0]
    for f in d["findings"]:
        if (f["attribute"], f["group"]) in {k for k, v in rows.items() if v["suppressed"]}:
            assert f["value"] is None and f["ci"] is None and "suppressed" in f["message"]
    html = pub.to_html()
    assert "suppressed" in html and "nan" not in html.replace("nanc", "").lower().split("<style")[0]
    assert "nan" not in pub.model_card().lower()


def test_a_suppressed_reference_takes_its_comparisons_along():
    rng = np.random.default_rng(2)
    n = 400
    df = pd.DataFrame({"g": ["ref"] * 6 + ["x"] * 200 + ["y"] * 194, "y": rng.integers(0, 2, n),
                       "d": rng.integers(0, 2, n)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = steward.audit(df, label="y", prediction="d", protected={"g": "ref"})
    d = r.for_publication(10).to_dict()
    rows = {g["group"]: g for g in d["groups"]}
    assert rows["ref"]["suppressed"] and rows["ref"]["favourable_rate"] is None
    shown = [g for g in rows.values() if not g["suppressed"]]
    assert shown  # x or y stays, with its own rate but no ratio to the hidden reference
    for g in shown:
        assert g["favourable_rate"] is not None and g["adverse_impact_ratio"] is None
        assert g["marginal_effect"] is None and g["favourable_rate_p_value"] is None
    assert not d["summary"]  # no sentence compares a group with the hidden reference


def test_the_full_result_is_untouched(result):
    before = result.to_json()
    result.for_publication(50)
    assert result.to_json() == before


@pytest.mark.parametrize("k", [1, 0, 2.5, True])
def test_min_cell_must_be_a_whole_number_of_at_least_2(result, k):
    with pytest.raises(DataValidationError, match="min_cell"):
        result.for_publication(k)


def test_cli_writes_the_published_copy_and_never_suppresses_less_than_the_tier(tmp_path):
    from click.testing import CliRunner

    from steward.cli import cli

    rng = np.random.default_rng(1)
    n = 600
    df = pd.DataFrame({"race": ["A"] * 400 + ["B"] * 195 + ["C"] * 5, "y": rng.integers(0, 2, n),
                       "d": rng.integers(0, 2, n)})
    data = tmp_path / "d.csv"
    df.to_csv(data, index=False)
    base = ["audit", str(data), "--label", "y", "--prediction", "d", "--protected", "race=A", "--policy", "default",
            "--tier", "low", "--out", str(tmp_path / "full"), "--publish", str(tmp_path / "pub")]
    r = CliRunner().invoke(cli, base)
    assert r.exit_code in (0, 1), r.output
    pub = json.loads((tmp_path / "pub" / "report.json").read_text())
    assert pub["settings"]["published_min_cell"] == 10  # the tier's (the default policy's) min_cell
    assert [g["group"] for g in pub["groups"] if g["suppressed"]] == ["B", "C"]  # B: else C = all - A - B
    full = json.loads((tmp_path / "full" / "report.json").read_text())
    assert full["cells"] and not any(g.get("suppressed") for g in full["groups"])
    r = CliRunner().invoke(cli, [*base, "--min-cell", "5"])
    assert r.exit_code == 2 and "--min-cell 5 is below the policy tier's min_cell 10" in r.output


def test_cli_refuses_a_publish_folder_that_would_replace_the_full_report_before_auditing(tmp_path):
    from click.testing import CliRunner

    from steward.cli import cli

    data = tmp_path / "d.csv"
    pd.DataFrame({"g": ["a", "b"] * 50, "y": [0, 1] * 50, "d": [1, 0] * 50}).to_csv(data, index=False)
    base = ["audit", str(data), "--label", "y", "--prediction", "d", "--protected", "g", "--out", str(tmp_path / "r")]
    r = CliRunner().invoke(cli, [*base, "--publish", str(tmp_path / "r")])
    assert r.exit_code == 2 and "is the --out folder" in r.output and not (tmp_path / "r").exists()
    r = CliRunner().invoke(cli, [*base, "--min-cell", "20"])
    assert r.exit_code == 2 and "give --publish DIR too" in r.output
    r = CliRunner().invoke(cli, [*base, "--publish", str(tmp_path / "p"), "--min-cell", "5", "--policy", "default",
                                 "--tier", "low"])
    assert r.exit_code == 2 and "below the policy tier's min_cell 10" in r.output and not (tmp_path / "r").exists()
