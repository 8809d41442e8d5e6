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


def test_small_groups_are_suppressed_and_the_rest_kept(result):
    pub = result.for_publication(10)
    d = json.loads(json.dumps(pub.to_dict(), allow_nan=False))  # valid JSON, no NaN
    rows = {(g["attribute"], g["group"]): g for g in d["groups"]}
    c = rows[("race", "C")]
    assert c["suppressed"] and c["rows"] is None and c["favourable_rate"] is None and c["n"] is None
    assert c["favourable_rate_ci"] is None and c["adverse_impact_ratio"] is None
    full = {(g["attribute"], g["group"]): g for g in result.to_dict()["groups"]}
    # every intersection with C is under 10 rows too; every other group keeps its figures exactly
    for key, g in rows.items():
        if full[key]["rows"] < 10:
            assert g["suppressed"] and g["rows"] is None, key
        else:
            assert not g["suppressed"]
            assert {k: v for k, v in g.items() if k != "suppressed"} == full[key]
    assert d["cells"] == [] and d["analyses"] == {}
    assert d["settings"]["published_min_cell"] == 10
    for f in d["findings"]:
        if f["attribute"] == "race" and f["group"] == "C":
            assert f["value"] is None and f["ci"] is None and "suppressed" in f["message"]
            assert "8" not in f["message"].replace("race=C", "")
    html = pub.to_html()
    assert "fewer than 10" in html


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
    assert [g["group"] for g in pub["groups"] if g["suppressed"]] == ["C"]
    full = json.loads((tmp_path / "full" / "report.json").read_text())
    assert full["cells"] and not any(g.get("suppressed") for g in full["groups"])
    r = CliRunner().invoke(cli, [*base, "--min-cell", "5"])
    assert r.exit_code == 2 and "--min-cell 5 is below the policy tier's min_cell 10" in r.output
