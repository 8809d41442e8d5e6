"""Re-identification risk: k-anonymity, l-diversity and t-closeness against hand computations on a tiny
table and against plain pandas group-bys on Adult; files against frames; the two ways of counting
sensitive values (inside the class group-by, or a group-by of their own) against each other."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import entropy

import steward.privacy._reident as reident
from steward.datasets import load_adult
from steward.errors import DataValidationError
from steward.privacy._reident import reidentification_risk, suggest_quasi_identifiers, suppress_small_cells

ADULT_QIS = ["age", "sex", "race", "marital-status", "native-country"]


@pytest.fixture(scope="module")
def adult() -> pd.DataFrame:
    return load_adult()


def tiny() -> pd.DataFrame:
    # Classes on (zip, sex):  A = (100, F) rows 1-3,  B = (100, M) rows 4-5,  C = (200, F) rows 6-8,
    # D = (missing, M) rows 9-10 (a missing zip is a class of its own),  E = (200, M) row 11.
    return pd.DataFrame({
        "zip": [100, 100, 100, 100, 100, 200, 200, 200, np.nan, np.nan, 200],
        "sex": ["F", "F", "F", "M", "M", "F", "F", "F", "M", "M", "M"],
        "disease": ["flu", "flu", "cold", "flu", "hiv", "cold", "cold", "hiv", "flu", "cold", "flu"],
        "salary": [3, 4, 5, 3, 5, 4, 4, 6, 6, 3, 5],
    })


def _row(report, **qi):
    t = report.to_frame()
    mask = np.ones(len(t), dtype=bool)
    for c, v in qi.items():
        mask &= t[c].isna().to_numpy() if v is None else (t[c] == v).to_numpy()
    assert mask.sum() == 1
    return t[mask].iloc[0]


@pytest.mark.parametrize("pivot_max", [32, 0], ids=["counted-in-class-group-by", "own-group-by"])
def test_tiny_table_by_hand(monkeypatch, pivot_max):
    monkeypatch.setattr(reident, "PIVOT_MAX", pivot_max)
    r = reidentification_risk(tiny(), ["zip", "sex"], sensitive=["disease", "salary"], k=3, l=2, t=0.5)
    # sizes A 3, B 2, C 3, D 2, E 1: k = 1; below 3: B, D, E = 5 records in 3 classes; one unique record
    assert (r.rows, r.classes, r.k_anonymity) == (11, 5, 1)
    assert (r.records_below_k, r.classes_below_k, r.unique_records) == (5, 3, 1)
    assert r.mean_class_size == pytest.approx(11 / 5)
    assert _row(r, zip=None, sex="M")["class_size"] == 2  # the missing zip's class

    d = r.diversity.set_index("attribute")
    # disease over the table: flu 5, cold 4, hiv 2 of 11.  Total variation (half L1) per class:
    #   A flu 2 cold 1:   (|2/3-5/11| + |1/3-4/11| + 2/11) / 2 = (7 + 1 + 6)/33 / 2  = 7/33
    #   B flu 1 hiv 1:    (|1/2-5/11| + 4/11 + |1/2-2/11|) / 2 = (1 + 8 + 7)/22 / 2  = 4/11
    #   C cold 2 hiv 1:   (5/11 + |2/3-4/11| + |1/3-2/11|) / 2 = (15 + 10 + 5)/33 / 2 = 5/11
    #   D flu 1 cold 1:   (|1/2-5/11| + |1/2-4/11| + 2/11) / 2 = (1 + 3 + 4)/22 / 2  = 2/11
    #   E flu 1:          (6/11 + 4/11 + 2/11) / 2                                  = 6/11
    for qi, dist in [(dict(zip=100, sex="F"), 7 / 33), (dict(zip=100, sex="M"), 4 / 11),
                     (dict(zip=200, sex="F"), 5 / 11), (dict(zip=None, sex="M"), 2 / 11),
                     (dict(zip=200, sex="M"), 6 / 11)]:
        assert _row(r, **qi)["disease_distance"] == pytest.approx(dist, abs=1e-12)
    assert d.loc["disease", "t_closeness"] == pytest.approx(6 / 11, abs=1e-12)
    assert d.loc["disease", "classes_beyond_t"] == 1  # only E is farther than 0.5
    # distinct l: A, B, C, D hold 2 diseases, E one.  Entropy l = exp(H): A and C (2/3, 1/3) give
    # exp(ln 3 - (2/3) ln 2) = 3 / 2^(2/3) = 1.8899; B and D (1/2, 1/2) give 2; E gives 1.
    assert d.loc["disease", "distinct_l"] == 1 and d.loc["disease", "entropy_l"] == pytest.approx(1.0, abs=1e-12)
    assert _row(r, zip=100, sex="F")["disease_entropy_l"] == pytest.approx(3 / 2 ** (2 / 3), abs=1e-12)
    assert _row(r, zip=100, sex="M")["disease_entropy_l"] == pytest.approx(2.0, abs=1e-12)
    assert _row(r, zip=200, sex="F")["disease_distinct"] == 2
    assert d.loc["disease", "classes_below_l"] == 1  # E
    assert d.loc["disease", "classes_below_entropy_l"] == 3  # A, C (1.89 < 2) and E
    # salary, 4 ordered values 3 < 4 < 5 < 6 with counts 3, 3, 3, 2: cumulative F_q = 3/11, 6/11, 9/11, 1.
    # Ordered EMD = sum_i |F_p(i) - F_q(i)| / (m - 1 = 3):
    #   A {3, 4, 5}: F_p 1/3, 2/3, 1, 1:   (2/33 + 4/33 + 6/33 + 0) / 3  = 4/33
    #   B {3, 5}:    F_p 1/2, 1/2, 1, 1:   (5/22 + 1/22 + 4/22 + 0) / 3  = 5/33
    #   C {4, 4, 6}: F_p 0, 2/3, 2/3, 1:   (9/33 + 4/33 + 5/33 + 0) / 3  = 2/11
    #   D {6, 3}:    F_p 1/2, 1/2, 1/2, 1: (5/22 + 1/22 + 7/22 + 0) / 3  = 13/66
    #   E {5}:       F_p 0, 0, 1, 1:       (3/11 + 6/11 + 2/11 + 0) / 3  = 1/3
    for qi, dist in [(dict(zip=100, sex="F"), 4 / 33), (dict(zip=100, sex="M"), 5 / 33),
                     (dict(zip=200, sex="F"), 2 / 11), (dict(zip=None, sex="M"), 13 / 66),
                     (dict(zip=200, sex="M"), 1 / 3)]:
        assert _row(r, **qi)["salary_distance"] == pytest.approx(dist, abs=1e-12)
    assert d.loc["salary", "t_closeness"] == pytest.approx(1 / 3, abs=1e-12)
    assert d.loc["salary", "kind"].startswith("numeric") and d.loc["disease", "kind"].startswith("categorical")
    assert not r.passes and not r.passes_k
    # the smallest cells: E (size 1) first, then B and D (size 2), then A and C
    s = r.smallest_cells()
    assert s["class_size"].tolist() == [1, 2, 2, 3, 3]
    assert (s.iloc[0]["zip"], s.iloc[0]["sex"]) == (200, "M")
    assert sorted(s.iloc[1:3]["zip"].fillna(0).tolist()) == [0, 100] and set(s.iloc[1:3]["sex"]) == {"M"}


@pytest.mark.parametrize("pivot_max", [32, 0], ids=["counted-in-class-group-by", "own-group-by"])
def test_missing_sensitive_values_are_a_value(monkeypatch, pivot_max):
    monkeypatch.setattr(reident, "PIVOT_MAX", pivot_max)
    df = pd.DataFrame({"sex": ["F", "F", "M", "M"], "disease": ["flu", None, "flu", "flu"],
                       "salary": [1.0, np.nan, 1.0, 2.0]})
    r = reidentification_risk(df, ["sex"], sensitive=["disease", "salary"])
    f = _row(r, sex="F")
    # F: {flu, missing}: two values; the table: flu 3/4, missing 1/4; F's shares 1/2, 1/2: TV = (1/4 + 1/4)/2
    assert f["disease_distinct"] == 2 and f["disease_distance"] == pytest.approx(0.25, abs=1e-12)
    # salary 1 < 2 < missing (last): table 2/4, 1/4, 1/4, F_q = 1/2, 3/4, 1; F: 1/2, 0, 1/2, F_p = 1/2, 1/2, 1
    # -> (0 + 1/4 + 0) / 2 = 1/8
    assert f["salary_distinct"] == 2 and f["salary_distance"] == pytest.approx(0.125, abs=1e-12)


def _pandas_reference(df: pd.DataFrame, qis: list[str], s: str, numeric: bool, k: int, l: float, t: float) -> dict:
    """k, small classes, uniques, l and t recomputed with pandas group-bys and NumPy."""
    data = df[qis + [s]].copy()
    fill = data[s].max() + 1 if numeric else "<missing>"  # missing sensitive values: one more value (last)
    data[s] = data[s].fillna(fill)
    sizes = data.groupby(qis, dropna=False).size()
    ct = data.groupby(qis + [s], dropna=False).size().unstack(s, fill_value=0).sort_index(axis=1)
    counts = ct.to_numpy(float)
    p = counts / counts.sum(axis=1, keepdims=True)
    q = counts.sum(axis=0) / counts.sum()
    if numeric:
        dist = np.abs(np.cumsum(p, axis=1) - np.cumsum(q)).sum(axis=1) / (len(q) - 1)
    else:
        dist = 0.5 * np.abs(p - q).sum(axis=1)
    ent_l = np.exp(entropy(p, axis=1))
    distinct = (counts > 0).sum(axis=1)
    return {"k": int(sizes.min()), "classes": len(sizes), "below_k": int(sizes[sizes < k].sum()),
            "classes_below_k": int((sizes < k).sum()), "unique": int((sizes == 1).sum()),
            "distinct_l": int(distinct.min()), "entropy_l": float(ent_l.min()), "t": float(dist.max()),
            "classes_below_l": int((distinct < l).sum()), "classes_below_entropy_l": int((ent_l < l - 1e-9).sum()),
            "classes_beyond_t": int((dist > t).sum()), "by_class": pd.DataFrame(
                {"distinct": distinct, "entropy_l": ent_l, "distance": dist,
                 "size": sizes.reindex(ct.index).to_numpy()},
                index=ct.index)}


@pytest.mark.parametrize("pivot_max", [32, 0, 200], ids=["default", "all-own-group-by", "all-in-class-group-by"])
def test_adult_against_pandas_groupby(adult, monkeypatch, pivot_max):
    monkeypatch.setattr(reident, "PIVOT_MAX", pivot_max)
    monkeypatch.setattr(reident, "PIVOT_TOTAL", max(pivot_max * 3, 64))
    sens = {"income": False, "occupation": False, "hours-per-week": True}
    r = reidentification_risk(adult, ADULT_QIS, sensitive=list(sens), k=5, l=2, t=0.3)
    d = r.diversity.set_index("attribute")
    for s, numeric in sens.items():
        ref = _pandas_reference(adult, ADULT_QIS, s, numeric, 5, 2, 0.3)
        assert (r.k_anonymity, r.classes, r.records_below_k) == (ref["k"], ref["classes"], ref["below_k"])
        assert (r.classes_below_k, r.unique_records, r.rows) == (ref["classes_below_k"], ref["unique"], len(adult))
        row = d.loc[s]
        assert row["values"] == adult[s].nunique() + int(adult[s].isna().any())
        assert row["distinct_l"] == ref["distinct_l"]
        assert row["entropy_l"] == pytest.approx(ref["entropy_l"], abs=1e-12)
        assert row["t_closeness"] == pytest.approx(ref["t"], abs=1e-12)
        assert row["classes_below_l"] == ref["classes_below_l"]
        assert row["classes_below_entropy_l"] == ref["classes_below_entropy_l"]
        assert row["classes_beyond_t"] == ref["classes_beyond_t"]
        # every listed class's figures, looked up in the pandas table by its quasi-identifier values
        by_class = ref["by_class"]
        table = r.to_frame()
        assert len(table) == min(reident.CLASS_ROWS, r.classes)
        assert table["class_size"].tolist() == sorted(by_class["size"])[: len(table)]
        for _, c in table.head(200).iterrows():
            key = tuple(np.nan if v is None else v for v in c[ADULT_QIS])
            want = by_class.loc[[key]] if not any(isinstance(v, float) and math.isnan(v) for v in key) else \
                by_class[[all((pd.isna(a) and pd.isna(b)) or a == b for a, b in zip(ix, key)) for ix in by_class.index]]
            assert len(want) == 1 and want["size"].iloc[0] == c["class_size"]
            assert c[f"{s}_distinct"] == want["distinct"].iloc[0]
            assert c[f"{s}_entropy_l"] == pytest.approx(want["entropy_l"].iloc[0], abs=1e-12)
            assert c[f"{s}_distance"] == pytest.approx(want["distance"].iloc[0], abs=1e-12)


def test_the_two_counting_paths_agree(adult, monkeypatch):
    args = dict(quasi_identifiers=["age", "sex", "education"], sensitive=["occupation", "hours-per-week"])
    monkeypatch.setattr(reident, "PIVOT_MAX", 0)
    own = reidentification_risk(adult, **args)
    monkeypatch.setattr(reident, "PIVOT_MAX", 200)
    monkeypatch.setattr(reident, "PIVOT_TOTAL", 400)
    inside = reidentification_risk(adult, **args)
    pd.testing.assert_frame_equal(own.to_frame(), inside.to_frame(), rtol=0, atol=1e-12)
    pd.testing.assert_frame_equal(own.diversity, inside.diversity, rtol=0, atol=1e-12)


def test_files_and_frames_give_identical_numbers(adult, tmp_path):
    parquet, csv = tmp_path / "adult.parquet", tmp_path / "adult.csv"
    adult.to_parquet(parquet)
    adult.to_csv(csv, index=False)
    args = dict(sensitive=["income", "occupation", "hours-per-week"], numeric_bins={"age": 6}, k=3)
    reports = [reidentification_risk(x, ADULT_QIS, **args) for x in (adult, parquet, str(csv))]
    dicts = [r.to_dict() for r in reports]
    assert [d.pop("source") for d in dicts] == ["dataframe", "parquet", "csv"]
    assert dicts[0] == dicts[1] == dicts[2]
    for r in reports[1:]:
        pd.testing.assert_frame_equal(r.to_frame(), reports[0].to_frame(), check_dtype=False)


def test_numeric_coarsening_with_edges_and_quantiles(adult):
    r = reidentification_risk(adult, ["age", "sex"], numeric_bins={"age": [30, 40, 50, 60]})
    bands = pd.cut(adult["age"], [-np.inf, 30, 40, 50, 60, np.inf], right=False)
    sizes = adult.groupby([bands, adult["sex"]], observed=True).size()
    assert r.classes == len(sizes) == 10 and r.k_anonymity == sizes.min()
    assert sorted(r.sizes.loc[r.sizes.index.repeat(r.sizes["classes"]), "class_size"]) == sorted(sizes)
    assert r.coarsening["age"]["bands"] == ["< 30", "[30, 40)", "[40, 50)", "[50, 60)", ">= 60"]
    assert set(r.to_frame()["age"]) == set(r.coarsening["age"]["bands"])

    q = reidentification_risk(adult, ["age", "race"], numeric_bins={"age": 4})
    # DuckDB's quantile_disc is the inverted empirical CDF: the smallest value whose share reaches p
    edges = np.unique(np.quantile(adult["age"], [0.25, 0.5, 0.75], method="inverted_cdf"))
    assert q.coarsening["age"]["edges"] == edges.tolist()
    bands = pd.cut(adult["age"], [-np.inf, *edges, np.inf], right=False)
    sizes = adult.groupby([bands, adult["race"]], observed=True).size()
    assert q.classes == len(sizes) and sorted(q.sizes["class_size"].repeat(q.sizes["classes"])) == sorted(sizes)
    assert "quantile" in q.coarsening["age"]["how"]


def test_errors_name_the_problem(adult):
    with pytest.raises(DataValidationError, match=r"'agee'.*not in the data; the columns are: age, workclass"):
        reidentification_risk(adult, ["agee", "sex"])
    with pytest.raises(DataValidationError, match=r"'income_x'.*not in the data"):
        reidentification_risk(adult, ["age"], sensitive="income_x")
    with pytest.raises(DataValidationError, match=r"none given.*suggested for this data: .*'age'.*'sex'"):
        reidentification_risk(adult, [])
    with pytest.raises(DataValidationError, match=r"none given"):
        reidentification_risk(adult, None)
    with pytest.raises(DataValidationError, match=r"'sex'.*both quasi-identifiers and sensitive"):
        reidentification_risk(adult, ["age", "sex"], sensitive="sex")
    with pytest.raises(DataValidationError, match=r"numeric_bins\['race'\].*not numbers"):
        reidentification_risk(adult, ["age", "race"], numeric_bins={"race": 4})
    with pytest.raises(DataValidationError, match=r"numeric_bins names 'hours-per-week'.*not among"):
        reidentification_risk(adult, ["age"], numeric_bins={"hours-per-week": 4})
    with pytest.raises(DataValidationError, match=r"a number of quantile bins or a list of edges, got '5'"):
        reidentification_risk(adult, ["age"], numeric_bins={"age": "5"})
    with pytest.raises(DataValidationError, match=r"edges must be finite and increasing"):
        reidentification_risk(adult, ["age"], numeric_bins={"age": [40, 30]})
    with pytest.raises(DataValidationError, match=r"^k must be a whole number"):
        reidentification_risk(adult, ["age"], k=0)
    with pytest.raises(DataValidationError, match=r"^t must be a distance between 0 and 1"):
        reidentification_risk(adult, ["age"], t=1.5)
    with pytest.raises(DataValidationError, match=r"names 'age' more than once"):
        reidentification_risk(adult, ["age", "age"])
    with pytest.raises(DataValidationError, match=r"^the data has no rows"):
        reidentification_risk(adult.head(0), ["age"], sensitive="income")


def test_suggestions_on_adult(adult, monkeypatch):
    got = suggest_quasi_identifiers(adult)
    assert set(got) == {"age", "sex", "race", "marital-status", "native-country", "education"}
    assert "education-num" not in got  # the same classes as education: redundant
    assert suggest_quasi_identifiers(adult, max_columns=2) == got[:2]
    monkeypatch.setattr(reident, "SUGGEST_SAMPLE", 2000)  # the seeded sample of larger data
    sampled = suggest_quasi_identifiers(adult)
    assert sampled == suggest_quasi_identifiers(adult) and {"age", "sex", "race"} <= set(sampled)


def test_suggestions_leave_out_identifiers_text_and_unhinted_columns():
    rng = np.random.default_rng(0)
    n = 500
    df = pd.DataFrame({
        "patient_id": np.arange(n),
        "zipCode": rng.choice(["10001", "10002", "10003", "10004"], n),
        "birth_date": pd.to_datetime("1950-01-01") + pd.to_timedelta(rng.integers(0, 20_000, n), unit="D"),
        "notes": [f"patient reported mild symptoms on visit number {i} of the series" for i in range(n)],
        "gender": rng.choice(["F", "M"], n),
        "weight": rng.normal(70, 10, n),
        "country": "US",  # constant: identifies no one
    })
    got = suggest_quasi_identifiers(df)
    assert got[0] == "birth_date"  # near-unique, but a birth date is the classic quasi-identifier
    assert set(got) == {"birth_date", "zipCode", "gender"}
    assert suggest_quasi_identifiers(df[["patient_id", "weight"]]) == []
    with pytest.raises(DataValidationError, match="no column's name suggests one"):
        reidentification_risk(df[["patient_id", "weight"]], [])


def test_suppress_small_cells():
    table = pd.DataFrame({"group": ["a", "b", "c", "d"], "n": [1, 5, 4, 12], "rate": [1.0, 0.4, 0.25, 0.5],
                          "positives": [1, 2, 1, 6]})
    out = suppress_small_cells(table, "n", 5, ["rate", "positives"])
    assert out["suppressed"].tolist() == [True, False, True, False]
    assert out["rate"].isna().tolist() == [True, False, True, False]
    assert out["positives"].isna().tolist() == [True, False, True, False]
    assert out.loc[[1, 3], "rate"].tolist() == [0.4, 0.5] and out.loc[[1, 3], "positives"].tolist() == [2, 6]
    assert out["n"].tolist() == [1, 5, 4, 12] and out["group"].tolist() == list("abcd")  # not asked to blank
    assert "suppressed" not in table.columns and table["rate"].notna().all()  # the input is left alone
    assert suppress_small_cells(table, "n", 5, ["n"])["n"].isna().sum() == 2
    with pytest.raises(DataValidationError, match=r"'share'.*not in the table"):
        suppress_small_cells(table, "n", 5, ["share"])
    with pytest.raises(DataValidationError, match=r"count column 'n' has 1 missing"):
        suppress_small_cells(table.assign(n=[1, None, 4, 12]), "n", 5, ["rate"])


def test_report_views(adult):
    r = reidentification_risk(adult, ["age", "sex", "race"], sensitive=["income"], k=5, smallest=4)
    body = r.html()
    assert 'class="verdict bad"' in body and "Not 5-anonymous" in body and "<svg" in body
    assert "smallest classes" in body and "t-closeness" in body and "a missing value forms a class" in body
    assert r.to_html().startswith("<!DOCTYPE html>") or "<html" in r.to_html()
    d = json.loads(json.dumps(r.to_dict()))
    assert d["k_anonymity"] == r.k_anonymity and len(d["smallest"]) == 4
    b = r.buckets()
    assert b["records"].sum() == r.rows and b.loc[b["below_k"], "records"].sum() == r.records_below_k
    ok = reidentification_risk(adult, ["sex"], sensitive="income", k=5, l=1.3, t=0.2)
    assert ok.passes and 'class="verdict ok"' in ok.html()
    # women: 10,771 of whom 89% earn <=50K, exp(entropy) 1.41 < 2: k-anonymous, but the income leaks
    leak = reidentification_risk(adult, ["sex"], sensitive="income", k=5, l=2, t=0.2)
    assert leak.passes_k and not leak.passes and "but the sensitive values leak" in leak.html()
