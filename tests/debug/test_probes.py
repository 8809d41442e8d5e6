"""Individual disparity, proxies, sensitivity and adversarial search (issue 7)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from steward.debug import (
    adversarial_search,
    flip_test,
    load_scenarios,
    proxy_detection,
    sensitivity_analysis,
    situation_testing,
    stress_test,
)
from steward.errors import DataValidationError
from steward.models import wrap_model


@pytest.fixture(scope="module")
def town():
    """4,000 people: race A (60%, reference) or B; 20 zip codes, 0-9 mostly A and 10-19 mostly B;
    income and debt independent of race."""
    rng = np.random.default_rng(7)
    n = 4000
    race = np.where(rng.random(n) < 0.6, "A", "B")
    home = np.where(race == "A", rng.random(n) < 0.9, rng.random(n) < 0.1)  # True: zips 0-9
    zipc = np.where(home, rng.integers(0, 10, n), rng.integers(10, 20, n))
    df = pd.DataFrame({"race": race, "zip": zipc.astype(str), "income": rng.normal(50, 10, n).round(1),
                       "debt": rng.normal(20, 5, n).round(1)})
    return df


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def models():
    uses_race = wrap_model(lambda d: _sigmoid((d["income"] - 50) / 5 - 2.5 * (d["race"] == "B")).to_numpy(),
                           features=["income", "debt", "race"])
    uses_zip = wrap_model(lambda d: _sigmoid((d["income"] - 50) / 5 - 2.5 * (d["zip"].astype(int) >= 10)).to_numpy(),
                          features=["income", "debt", "zip"])
    fair = wrap_model(lambda d: _sigmoid((d["income"] - 50) / 5 - (d["debt"] - 20) / 5).to_numpy(),
                      features=["income", "debt"])
    return uses_race, uses_zip, fair


def test_flip_test_catches_a_model_that_reads_race(town):
    uses_race, uses_zip, fair = models()
    rep = flip_test(uses_race, town, ["race"])
    assert rep.overall["race"] > 0.2
    by = rep.groups.set_index("group")
    assert by.loc["B", "any_flip"] > 0.2 and by.loc["A", "any_flip"] > 0.2
    pair = rep.table.set_index(["from_group", "to_group"]).loc[("B", "A")]
    assert pair["to_favourable"] == pair["flipped"]  # B rows scored as A only gain
    assert len(rep.examples) and rep.to_dict()["overall"]["race"] == rep.overall["race"]
    for ex in rep.examples.itertuples():  # each example's counterfactual score, by hand
        row = town.loc[[ex.row]]
        assert uses_race.score(row)[0] == pytest.approx(ex.score)
        assert uses_race.score(row.assign(race=ex.as_group))[0] == pytest.approx(ex.score_as_group)
    # by hand: B rows whose decision differs with race set to A
    b = town[town["race"] == "B"]
    hand = np.mean((uses_race.score(b.assign(race="A")) >= 0.5) != (uses_race.score(b) >= 0.5))
    assert pair["share"] == pytest.approx(hand)
    for m in (uses_zip, fair):
        r = flip_test(m, town, ["race"])
        assert r.overall == {} and "does not read 'race'" in r.skipped["race"]
    coded = flip_test(uses_zip, town, ["race"], encodings={"race": "zip"})
    assert coded.overall["race"] > 0.2  # through the column that encodes it


def test_proxy_detection_finds_the_planted_zip_code(town):
    rep = proxy_detection(town, ["race"], ["income", "debt", "zip"])
    t = rep.table.set_index("feature")
    assert t.loc["zip", "proxy"] and t.loc["zip", "auc"] > 0.85 and t.loc["zip", "cramers_v"] > 0.7
    assert not t.loc["income", "proxy"] and not t.loc["debt", "proxy"]
    assert rep.adversary.iloc[0]["auc"] > 0.85
    clean = proxy_detection(town, ["race"], ["income", "debt"])
    assert not clean.table["proxy"].any() and clean.adversary.iloc[0]["auc"] < 0.6
    # bias-corrected Cramér's V (Bergsma 2013) by hand for zip against race, from SciPy's chi-squared
    from scipy.stats import chi2_contingency

    ct = pd.crosstab(town["zip"], town["race"]).to_numpy()
    n, (r, k) = ct.sum(), ct.shape
    phi2 = max(0.0, chi2_contingency(ct, correction=False)[0] / n - (k - 1) * (r - 1) / (n - 1))
    v = np.sqrt(phi2 / min(r - (r - 1) ** 2 / (n - 1) - 1, k - (k - 1) ** 2 / (n - 1) - 1))
    assert t.loc["zip", "cramers_v"] == pytest.approx(v, rel=1e-9)
    # with many rows per level the correction is small: close to the plain V (SciPy's)
    from scipy.stats.contingency import association

    assert t.loc["zip", "cramers_v"] == pytest.approx(association(ct, method="cramer"), abs=0.01)


@pytest.mark.parametrize("levels", [3, 40, 600])
def test_an_independent_random_category_is_not_a_proxy(levels):
    """Out-of-fold group shares are anti-correlated with a row's own group (it is left out of its share):
    an unrelated category scores an AUC below 0.5, which must not count as separation the other way; and
    a category of many small levels must not look associated by chance (bias-corrected Cramér's V)."""
    from steward.datasets import load_compas

    df = load_compas()
    rng = np.random.default_rng(levels)
    df["noise"] = [f"v{i}" for i in rng.integers(0, levels, len(df))]
    rep = proxy_detection(df, ["race", "sex"], ["noise"], adversary=False)
    assert not rep.table["proxy"].any(), rep.table
    assert (rep.table["auc"] < 0.65).all() and (rep.table["cramers_v"] < 0.1).all(), rep.table


def test_proxy_detection_refuses_what_it_cannot_measure(town):
    with pytest.raises(DataValidationError, match="protected attribute 'race' has a single group"):
        proxy_detection(town.assign(race="A"), ["race"], ["income"])
    polluted = town.astype({"income": object})
    polluted.loc[7, "income"] = "abc"
    with pytest.raises(DataValidationError, match=r"feature 'income' holds numbers and text: 'abc' in data row 8"):
        proxy_detection(polluted, ["race"], ["income"])
    with pytest.raises(DataValidationError, match=r"feature 'debt' holds inf"):
        proxy_detection(town.assign(debt=np.inf), ["race"], ["debt"])


def test_situation_testing_flags_the_proxy_model_and_not_the_fair_one(town):
    _, uses_zip, fair = models()
    flagged = situation_testing(town, (uses_zip.score(town) >= 0.5).astype(int), attribute="race", reference="A",
                                features=["income", "debt"], k=10)
    assert flagged.share_flagged > 0.3
    assert len(flagged.flagged) and (flagged.flagged["gap"] >= 0.3).all()
    ok = situation_testing(town, (fair.score(town) >= 0.5).astype(int), attribute="race", reference="A",
                           features=["income", "debt"], k=10)
    assert ok.share_flagged < 0.05


def test_situation_testing_by_hand_on_a_tiny_table():
    from sklearn.neighbors import NearestNeighbors

    rng = np.random.default_rng(3)
    df = pd.DataFrame({"g": ["r"] * 30 + ["p"] * 20, "x": rng.normal(size=50)})
    d = (rng.random(50) < 0.5).astype(int)
    rep = situation_testing(df, d, attribute="g", reference="r", features=["x"], k=3, t=0.1)
    z = ((df["x"] - df["x"].mean()) / df["x"].std(ddof=0)).to_numpy()[:, None]
    ref, prot = np.arange(30), np.arange(30, 50)
    _, near_r = NearestNeighbors(n_neighbors=3).fit(z[ref]).kneighbors(z[prot])
    _, near_p = NearestNeighbors(n_neighbors=4).fit(z[prot]).kneighbors(z[prot])
    near_p = np.array([[j for j in row if j != i][:3] for i, row in enumerate(near_p)])
    gap = d[ref][near_r].mean(1) - d[prot][near_p].mean(1)
    assert rep.table.iloc[0]["flagged"] == int(((d[prot] == 0) & (gap >= 0.1)).sum())


@pytest.fixture(scope="module")
def adult_lgbm():
    lgb = pytest.importorskip("lightgbm")
    from steward.datasets import load_adult

    df = load_adult(dropna=True).sample(5000, random_state=2).reset_index(drop=True)
    y = df.pop("income").astype(str).str.startswith(">50K").astype(int)
    X = df.astype({c: "category" for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])})
    model = lgb.LGBMClassifier(n_estimators=60, num_leaves=15, verbose=-1, random_state=0).fit(X, y)
    return df, model


def test_sensitivity_on_adult(adult_lgbm):
    df, model = adult_lgbm
    rep = sensitivity_analysis(model, df, ["capital-gain", "education", "hours-per-week"], by="sex", sample=300)
    s = rep.summary.set_index(["feature", "group"])
    assert s.loc[("capital-gain", "all"), "score_swing"] > 0.3
    assert set(rep.summary["group"]) == {"all", "Male", "Female"}
    curve = rep.curves[(rep.curves["feature"] == "education") & (rep.curves["group"] == "all")]
    assert set(curve["value"]) == set(df["education"].unique())


def test_sensitivity_curves_are_partial_dependence(adult_lgbm):
    from steward.explain import partial_dependence

    df, model = adult_lgbm
    rep = sensitivity_analysis(model, df, ["hours-per-week"], sample=len(df), grid_points=10)
    pdp = partial_dependence(model, df, "hours-per-week", grid_points=10, sample=len(df))
    ours = rep.curves[rep.curves["group"] == "all"]
    np.testing.assert_allclose(ours["mean_score"], pdp.curves["effect"], atol=1e-12)
    swing = pdp.curves["effect"].max() - pdp.curves["effect"].min()
    assert rep.summary.iloc[0]["score_swing"] == pytest.approx(swing)


def test_stress_scenarios(adult_lgbm, tmp_path):
    df, model = adult_lgbm
    f = tmp_path / "stress.yaml"
    f.write_text("scenarios:\n  - name: no capital gains\n    change: {capital-gain: {set: 0}}\n"
                 "  - name: ten hours less, men only\n    change: {hours-per-week: {add: -10}}\n    where: {sex: Male}\n")
    rep = stress_test(model, df, f, by="sex")
    t = rep.table.set_index(["scenario", "scope"])
    m = wrap_model(model)
    hand = np.mean((m.score(df.assign(**{"capital-gain": 0})) >= 0.5) != (m.score(df) >= 0.5))
    assert t.loc[("no capital gains", "all"), "share_changed"] == pytest.approx(hand)
    assert t.loc[("ten hours less, men only", "sex=Female"), "decisions_changed"] == 0
    with pytest.raises(DataValidationError, match="must be one of"):
        load_scenarios([{"name": "x", "change": {"age": {"double": 2}}}])


def test_adversarial_search_respects_immutables_and_its_flips_are_real(adult_lgbm):
    df, model = adult_lgbm
    rep = adversarial_search(model, df, protected=["race", "sex"], budget=1.5, sample=60, time_budget=60)
    assert set(rep.immutable) == {"race", "sex", "age"}
    m = wrap_model(model)
    found = rep.examples[rep.examples["flipped"]]
    assert len(found) > 5 and 0 < rep.flip_rate <= 1
    sampled = df.loc[found["row"]]
    for (_, rec), (_, row) in zip(found.iterrows(), sampled.iterrows()):
        assert rec["moves"] and not set(rec["moves"]) & set(rep.immutable)
        moved = row.to_frame().T.astype(df.dtypes.to_dict())
        for f, v in rec["moves"].items():
            moved[f] = [v]
        new = m.score(moved.astype(df.dtypes.to_dict()))[0]  # re-scored independently of the search
        assert (new >= 0.5) != (rec["score"] >= 0.5)
        assert rec["cost"] <= 1.5
        # the cost by hand: standard deviations of each changed number, 1 per changed category
        hand = sum(abs(v - row[f]) / df[f].std() if pd.api.types.is_numeric_dtype(df[f]) else 1.0
                   for f, v in rec["moves"].items())
        assert rec["cost"] == pytest.approx(hand, rel=1e-9)
    assert rep.features["flips"].sum() >= len(found)
