"""Reason codes on German credit with a real model."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from steward.datasets import path
from steward.errors import DataValidationError, PolicyError
from steward.explain import ReasonMap, reason_codes, shapley_values
from steward.models import wrap_model

PROTECTED = ["personal_status_sex", "age_years", "foreign_worker"]


@pytest.fixture(scope="module")
def codes(german, german_lgbm):
    X, _ = german
    return reason_codes(german_lgbm, X, reasons=path("german-reasons"), k=4, threshold=0.5)


def _cited(rows, k=4):
    return rows[[f"reason_{i}_feature" for i in range(1, k + 1)]].stack()


def test_protected_attributes_push_hard_but_are_never_cited(german, german_lgbm, codes):
    X, _ = german
    sv = shapley_values(german_lgbm, X)
    adverse = codes.rows["adverse"].to_numpy()
    # the model leans on age: for many adverse rows a protected attribute is among the 4 strongest pushes
    top4 = np.asarray(sv.features)[np.argsort(-sv.values, axis=1)[:, :4]]
    assert np.isin(top4[adverse], PROTECTED).any(axis=1).mean() > 0.2
    cited = _cited(codes.rows)
    assert len(cited) > 0 and not cited.isin(PROTECTED).any()
    assert set(PROTECTED) <= set(codes.excluded)


def test_every_reason_is_the_mapped_text_for_the_rows_value(german, codes):
    X, _ = german
    mapping = yaml.safe_load(open(path("german-reasons")))["reasons"]
    rows = codes.rows
    checked = 0
    for i in range(1, 5):
        sel = rows[f"reason_{i}_feature"].notna()
        for idx, feat, text in zip(rows.index[sel], rows.loc[sel, f"reason_{i}_feature"], rows.loc[sel, f"reason_{i}"]):
            entry = mapping[feat]
            want = entry if isinstance(entry, str) else entry.get(str(X.at[idx, feat]), entry["default"])
            assert text == want
            checked += 1
    assert checked > 500


def test_only_adverse_rows_get_reasons_pushing_toward_adverse(german, german_lgbm, codes):
    X, _ = german
    rows = codes.rows
    # the scores come from the contributions' sum; LightGBM's own predict_proba says the same
    Xc = X.astype({c: "category" for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])})
    np.testing.assert_allclose(rows["score"], german_lgbm.predict_proba(Xc)[:, 1], atol=1e-12)
    assert (rows["adverse"] == (rows["score"] >= 0.5)).all()
    assert rows.loc[~rows["adverse"], "reason_1"].isna().all()
    first = rows.loc[rows["adverse"], "reason_1_contribution"]
    assert first.notna().all() and (first > 0).all()
    c = rows.loc[rows["adverse"], [f"reason_{i}_contribution" for i in range(1, 5)]].to_numpy()
    assert np.all(np.nan_to_num(np.diff(c, axis=1), nan=-1.0) <= 0)  # ranked, largest first


def test_moving_the_top_reason_lowers_the_score(german, german_lgbm, codes):
    X, _ = german
    model = wrap_model(german_lgbm)
    adverse = codes.rows[codes.rows["adverse"]]
    # averaged over the data's values for the feature (what the contribution is measured against)
    moved = []
    for idx, feat in adverse["reason_1_feature"].items():
        rows = X.loc[[idx] * len(X)].reset_index(drop=True)
        rows[feat] = X[feat].to_numpy()
        moved.append(rows)
    averaged = model.score(pd.concat(moved, ignore_index=True)).reshape(len(adverse), len(X)).mean(axis=1)
    assert np.all(averaged < adverse["score"].to_numpy())
    # and set to the typical value (median, or most common category)
    one = X.loc[adverse.index].copy()
    for idx, feat in adverse["reason_1_feature"].items():
        one.at[idx, feat] = X[feat].quantile(0.5, interpolation="nearest") if pd.api.types.is_numeric_dtype(X[feat]) else X[feat].mode()[0]
    assert np.mean(model.score(one) < adverse["score"].to_numpy()) >= 0.95


def test_a_mapping_that_cites_a_protected_attribute_is_refused(tmp_path):
    f = tmp_path / "r.yaml"
    f.write_text("never_cite: [age_years]\nreasons:\n  age_years: Too young\n  duration_months: Too long\n")
    with pytest.raises(PolicyError, match="age_years"):
        ReasonMap.load(f)
    flat = tmp_path / "flat.yaml"
    flat.write_text("age_years: Too young\nduration_months: Too long\n")
    with pytest.raises(PolicyError, match="age_years"):
        ReasonMap.load(flat, never_cite=["age_years"])


def test_missing_texts_are_named(german, german_lgbm, tmp_path):
    X, _ = german
    with pytest.raises(DataValidationError, match="no reason text for model feature.*'purpose'"):
        reason_codes(german_lgbm, X, reasons={"reasons": {"duration_months": "Too long"},
                                              "never_cite": PROTECTED})
    body = yaml.safe_load(open(path("german-reasons")))
    body["reasons"]["checking_status"] = {"A11": "Overdrawn"}  # no default for A12, A13, A14
    with pytest.raises(DataValidationError, match="checking_status.*no text for value"):
        reason_codes(german_lgbm, X, reasons=body)
    with pytest.raises(DataValidationError, match="does not exist"):
        ReasonMap.load(tmp_path / "nope.yaml")
    with pytest.raises(DataValidationError, match="unknown key"):
        ReasonMap.load({"reasons": {"a": "b"}, "exclude": ["c"]})
    with pytest.raises(DataValidationError, match="k must be"):
        reason_codes(german_lgbm, X, reasons=path("german-reasons"), k=0)


def test_low_scores_adverse_flips_the_side(german, german_lgbm):
    X, _ = german
    rc = reason_codes(german_lgbm, X.head(200), reasons=path("german-reasons"), adverse="low", threshold=0.3)
    rows = rc.rows
    assert (rows["adverse"] == (rows["score"] < 0.3)).all()
    sv = shapley_values(german_lgbm, X.head(200))
    for idx, feat in rows.loc[rows["adverse"], "reason_1_feature"].items():
        assert sv.values[X.head(200).index.get_loc(idx), sv.features.index(feat)] < 0


def test_json_output_is_serialisable(codes):
    d = codes.to_dict(max_rows=None)
    text = json.dumps(d)
    assert d["rows"] == 1000 and d["adverse_rows"] == int(codes.rows["adverse"].sum())
    assert "TreeSHAP" in d["reference"] and len(json.loads(text)["records"]) == 1000
    adverse = [r for r in d["records"] if r["adverse"]]
    assert all(1 <= len(r["reasons"]) <= 4 for r in adverse)


def test_unreadable_settings_files_are_one_clear_line(tmp_path):
    from steward.debug import load_scenarios
    from steward.explain import load_constraints

    bad = tmp_path / "bad.yaml"
    bad.write_text("reasons: [unclosed\n")
    for load, what in ((ReasonMap.load, "reasons file"), (load_constraints, "constraints file"),
                       (load_scenarios, "scenario file")):
        with pytest.raises(DataValidationError, match=f"{what} .* is not valid YAML"):
            load(bad)
        with pytest.raises(DataValidationError, match=f"{what} .* is a folder"):
            load(tmp_path)
