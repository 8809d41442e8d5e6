"""Model extraction (issue 19): copies fitted to a model's answers at growing query budgets, judged on
held-out rows; the query pool drawn from the training profile; the time a throttle makes an attacker wait.

Figures are checked against computations made here: a surrogate refitted with scikit-learn on the same
queries, the Wilson formula, group-bys of the fits, the throttle arithmetic by hand, and the training
data's own shares and quantiles for the sampled marginals."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from steward.datasets import load_adult
from steward.errors import DataValidationError, RoleError
from steward.privacy._extraction import (
    ExtractionReport,
    duration_text,
    extraction_probe,
    sample_from_profile,
    seconds_to_send,
)
from steward.serving import TrainingProfile, build_profile

pytest.importorskip("sklearn")

FEATURES = ["age", "workclass", "education-num", "marital-status", "occupation", "relationship", "race", "sex",
            "capital-gain", "capital-loss", "hours-per-week", "native-country"]
Z95 = 1.959963984540054


@pytest.fixture(scope="module")
def linear():
    """A logistic regression on three numeric features; its profile from its training rows."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(7)
    n = 16_000
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(2, 3, size=n), "c": rng.uniform(-1, 1, n)})
    y = (X["a"] - 0.5 * X["b"] + 2 * X["c"] + rng.logistic(size=n) > 0).astype(int)
    train, holdout = X.iloc[:8000], X.iloc[8000:].reset_index(drop=True)
    model = LogisticRegression().fit(train, y[:8000])
    return {"model": model, "train": train, "holdout": holdout, "profile": build_profile(train)}


@pytest.fixture(scope="module")
def adult():
    lgb = pytest.importorskip("lightgbm")
    train, test = load_adult(), load_adult("test")
    X = train[FEATURES].copy()
    for c in X.select_dtypes(exclude="number"):
        X[c] = X[c].astype("category")
    model = lgb.LGBMClassifier(n_estimators=100, verbose=-1, random_state=0).fit(X, (train["income"] == ">50K"))
    cats = {c: X[c].cat.categories for c in X.select_dtypes("category")}
    return {"train": train, "test": test, "model": model, "categories": cats,
            "profile": build_profile(train, FEATURES)}


@pytest.fixture(scope="module")
def adult_report(adult):
    """The default run: budgets 100, 1k, 10k; three surrogates; three repeats; the guard's throttle."""
    steps = []
    rep = extraction_probe(adult["model"], profile=adult["profile"], holdout=adult["test"], rate=50, burst=200,
                           on_progress=lambda stage, share: steps.append((stage, share)))
    return rep, steps


# --- copies -------------------------------------------------------------------------------------------------

def test_a_linear_model_is_copied_almost_exactly(linear):
    rep = extraction_probe(linear["model"], profile=linear["profile"], holdout=linear["holdout"],
                           surrogates=("logistic",))
    at_10k = rep.table[(rep.table["budget"] == 10_000) & (rep.table["surrogate"] == "logistic")]
    assert len(at_10k) == 3
    assert at_10k["agreement"].min() >= 0.98
    assert at_10k["score_correlation"].min() >= 0.99
    assert rep.answers == "scores" and rep.source == "profile"
    # decisions only, and the profile in its JSON form: still copied, and no score figures to report
    blind = extraction_probe(linear["model"], profile=linear["profile"].to_dict(), holdout=linear["holdout"],
                             budgets=(10_000,), surrogates=("logistic",), repeats=1, use_scores=False)
    assert blind.answers == "decisions"
    assert blind.table["agreement"].iloc[0] >= 0.97
    assert blind.table["score_correlation"].isna().all() and blind.table["mean_abs_score_gap"].isna().all()
    assert json.loads(json.dumps(blind.to_dict(), allow_nan=False))["summary"][0]["score_correlation"] is None
    assert "score correlation" not in blind._repr_html_().lower()


def test_agreement_matches_an_independent_refit(linear):
    """With a pool of exactly ``budget`` rows, every row is queried once, so scikit-learn fitted here on the
    same rows (soft labels: a positive of weight score and a negative of weight 1 - score) must agree."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    pool, holdout, model = linear["train"].iloc[:2000], linear["holdout"], linear["model"]
    rep = extraction_probe(model, data=pool, holdout=holdout, budgets=(2000,), surrogates=("logistic",), repeats=1)
    s = model.predict_proba(pool)[:, 1]
    scaler = StandardScaler().fit(pool)
    Z = scaler.transform(pool)
    copy = LogisticRegression(C=1.0, max_iter=2000).fit(np.vstack([Z, Z]), np.r_[np.ones(2000), np.zeros(2000)],
                                                        sample_weight=np.r_[s, 1 - s])
    mine = copy.predict_proba(scaler.transform(holdout))[:, 1]
    truth = model.predict_proba(holdout)[:, 1]
    row = rep.table.iloc[0]
    assert row["agreement"] == pytest.approx(np.mean((mine >= 0.5) == (truth >= 0.5)), abs=2 / len(holdout))
    assert row["score_correlation"] == pytest.approx(np.corrcoef(mine, truth)[0, 1], abs=1e-4)
    assert row["mean_abs_score_gap"] == pytest.approx(np.mean(np.abs(mine - truth)), abs=1e-4)
    assert row["positive_share"] == pytest.approx(np.mean(s >= 0.5))
    # the Wilson interval by its formula
    n, p = len(holdout), row["agreement"]
    centre = (p + Z95**2 / (2 * n)) / (1 + Z95**2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / (1 + Z95**2 / n)
    assert (row["agreement_ci_low"], row["agreement_ci_high"]) == pytest.approx((centre - half, centre + half))
    # a larger budget than the pool re-queries rows, and says so
    more = extraction_probe(model, data=pool.iloc[:500], holdout=holdout, budgets=(100, 1000),
                            surrogates=("logistic",), repeats=1)
    assert more.source == "data" and any("500 rows are fewer than 1,000 queries" in n for n in more.notes)


def test_extraction_curves_rise_with_the_budget_on_adult(adult, adult_report):
    rep, steps = adult_report
    means = rep.table.groupby(["surrogate", "budget"])["agreement"].mean().unstack("budget")
    assert list(means.columns) == [100, 1_000, 10_000]
    for surrogate, curve in means.iterrows():
        assert np.all(np.diff(curve.to_numpy()) >= -0.005), (surrogate, curve.tolist())
    best = means.max(axis=0)  # the best surrogate's mean agreement at each budget, computed here
    assert rep.summary["agreement"].tolist() == pytest.approx(best.tolist())
    assert rep.summary["best_surrogate"].tolist() == means.idxmax(axis=0).tolist()
    assert np.all(np.diff(best.to_numpy()) >= -0.005)
    # the best copy beats always answering the majority decision, computed from the model here
    X = adult["test"][FEATURES].copy()
    for c, levels in adult["categories"].items():
        X[c] = pd.Categorical(X[c], categories=levels)
    share = float(np.mean(adult["model"].predict_proba(X)[:, 1] >= 0.5))
    assert rep.baseline_agreement == pytest.approx(max(share, 1 - share))
    assert best.iloc[-1] > rep.baseline_agreement + 0.1
    # queries needed and the time they take at the throttle, by hand
    reached = [b for b, a in best.items() if a >= 0.95]
    assert rep.queries_needed == (reached[0] if reached else None)
    expected = None if rep.queries_needed is None else (rep.queries_needed - 200) / 50
    assert rep.time_needed_seconds == expected
    assert rep.summary["time_seconds"].tolist() == [0.0, (1000 - 200) / 50, (10_000 - 200) / 50]
    assert steps[-1] == ("extraction", 1.0) and len(steps) == 27


def test_the_report_keeps_the_result_contract(adult_report):
    rep = adult_report[0]
    assert isinstance(rep, ExtractionReport) and rep.to_frame() is rep.table
    d = json.loads(json.dumps(rep.to_dict(), allow_nan=False))
    assert d["queries_needed"] == rep.queries_needed and len(d["fits"]) == 27 and len(d["summary"]) == 3
    assert d["verdict"] == rep.verdict()
    page = rep._repr_html_()
    assert "<svg" in page and "10k" in page and "verdict" in page
    assert "16,281 real held-out rows" in page
    assert rep.to_html().startswith("<!DOCTYPE html") or "<html" in rep.to_html()[:200]


def test_queries_needed_is_none_when_the_target_is_unreachable(adult):
    rep = extraction_probe(adult["model"], profile=adult["profile"], holdout=adult["test"].iloc[:3000],
                           budgets=(100, 1000), surrogates=("tree",), repeats=1, agreement_target=1.0, rate=10)
    assert rep.queries_needed is None and rep.time_needed_seconds is None
    assert not rep.summary["reached"].any() and rep.to_dict()["reached"] is False
    assert rep.verdict().startswith("No copy reached 100% agreement with the model's decisions within 1,000 queries")
    assert "1 min 40 s at 10 queries per second for one key" in rep.verdict()


# --- the throttle -------------------------------------------------------------------------------------------

def test_time_needed_at_the_throttle_by_hand(linear):
    rep = extraction_probe(linear["model"], profile=linear["profile"], holdout=linear["holdout"], budgets=(1000,),
                           surrogates=("logistic",), repeats=1, agreement_target=0.9, rate=40, burst=200)
    assert rep.queries_needed == 1000
    assert rep.time_needed_seconds == 20.0  # the first 200 at once, 800 more at 40 a second
    assert "1,000 queries (logistic): 20 s at 40 queries per second after a burst of 200 for one key" in rep.verdict()
    free = extraction_probe(linear["model"], profile=linear["profile"], holdout=linear["holdout"], budgets=(1000,),
                            surrogates=("logistic",), repeats=1, agreement_target=0.9)
    assert free.time_needed_seconds is None and "time_seconds" not in free.summary.columns
    assert seconds_to_send(10_000, 50, 200) == 196.0 and duration_text(196.0) == "3 min 16 s"
    assert seconds_to_send(10_000, 50) == 200.0 and duration_text(200.0) == "3 min 20 s"
    assert seconds_to_send(150, 50, 200) == 0.0 and duration_text(0.0) == "under a second"
    assert duration_text(1_000_000 / 5) == "2 days 7 h"  # 200,000 s = 2 days 7 h 33 min 20 s
    assert duration_text(3600) == "1 h" and duration_text(86_400 + 3_600) == "1 day 1 h"


# --- the query pool -----------------------------------------------------------------------------------------

def test_sample_from_profile_reproduces_the_marginals(adult):
    from scipy.stats import ks_2samp

    train, n = adult["train"], 20_000
    rows = sample_from_profile(adult["profile"], n, seed=3)
    assert list(rows.columns) == FEATURES and len(rows) == n
    assert rows.equals(sample_from_profile(adult["profile"], n, seed=3))
    assert not rows.equals(sample_from_profile(adult["profile"], n, seed=4))
    for c in FEATURES:
        if pd.api.types.is_numeric_dtype(train[c]):
            assert rows[c].dtype == np.int64 and rows[c].between(train[c].min(), train[c].max()).all(), c
            levels = np.linspace(0.05, 0.95, 19)
            gap = np.abs(np.quantile(rows[c], levels) - np.quantile(train[c], levels))
            assert gap.max() <= max(1.0, 0.01 * (train[c].max() - train[c].min())), (c, gap.max())  # 1: an integer step
            # the commonest value keeps its share (0 of capital gain, 40 hours a week: a mass point in a bin that
            # also holds 39); rarer ones inside a bin wider than a percentile are spread over the bin
            value = train[c].mode()[0]
            p = float((train[c] == value).mean())
            assert abs((rows[c] == value).mean() - p) <= 4.5 * math.sqrt(p * (1 - p) / n) + 0.002, (c, value)
        else:
            want = train[c].value_counts(normalize=True, dropna=False)
            got = rows[c].value_counts(normalize=True, dropna=False).reindex(want.index, fill_value=0.0)
            tol = 4.5 * np.sqrt(want * (1 - want) / n)
            assert (np.abs(got - want) <= tol + 1e-12).all(), c
            assert set(rows[c].dropna()) <= set(train[c].dropna()), c
    fnlwgt = build_profile(train, ["fnlwgt"])
    assert ks_2samp(sample_from_profile(fnlwgt, n, seed=1)["fnlwgt"], train["fnlwgt"]).statistic < 0.02
    # a profile without histograms falls back on its deciles
    d = adult["profile"].to_dict()
    for f in d["features"]:
        f.pop("histogram", None)
    coarse = sample_from_profile(TrainingProfile.from_dict(d), n, seed=5)
    for c in ("age", "education-num", "hours-per-week"):
        gap = np.abs(np.quantile(coarse[c], np.linspace(0.1, 0.9, 9)) - adult["profile"].features[c].quantiles[1:-1])
        assert gap.max() <= 1.0, (c, gap)


def test_sample_from_profile_keeps_missing_rates_and_real_numbers():
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"x": np.where(rng.random(5000) < 0.2, np.nan, rng.normal(10, 2, 5000)),
                          "k": rng.choice(["u", "v", "w"], 5000, p=[0.6, 0.3, 0.1])})
    rows = sample_from_profile(build_profile(frame), 40_000, seed=0)
    assert rows["x"].isna().mean() == pytest.approx(frame["x"].isna().mean(), abs=0.01)
    assert rows["x"].dtype == np.float64 and not np.all(rows["x"].dropna() == np.round(rows["x"].dropna()))
    assert abs(rows["x"].mean() - frame["x"].mean()) < 0.05
    assert rows["k"].value_counts(normalize=True)["w"] == pytest.approx((frame["k"] == "w").mean(), abs=0.01)


# --- bad input ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, words", [
    ({}, "profile= (the model's training profile) or data="),
    ({"both": True}, "not both"),
    ({"budgets": (100, 100)}, "budgets must be increasing"),
    ({"budgets": (1000, 100)}, "budgets must be increasing"),
    ({"budgets": (5, 100)}, "each at least 10"),
    ({"budgets": (100.5,)}, "budgets must be increasing whole numbers"),
    ({"budgets": ()}, "budgets must be"),
    ({"budgets": None}, "budgets must be"),
    ({"surrogates": ("logistic", "forest")}, "unknown 'forest'"),
    ({"surrogates": ()}, "surrogates must name"),
    ({"repeats": 0}, "repeats must be"),
    ({"agreement_target": 1.5}, "agreement_target must be a number in (0, 1]"),
    ({"burst": 10}, "burst was given without rate"),
    ({"rate": 0}, "rate (queries per second per key) must be a number > 0, got 0"),
    ({"rate": 5, "burst": -1}, "burst (queries at once) must be a number >= 0"),
    ({"threshold": 2}, "threshold must be a number in [0, 1]"),
])
def test_bad_options_raise_one_clear_line(linear, kwargs, words):
    kw = dict(kwargs)
    pool = {}
    if kw.pop("both", False):
        pool = {"profile": linear["profile"], "data": linear["train"]}
    elif kw:
        pool = {"profile": linear["profile"]}
    with pytest.raises(DataValidationError) as err:
        extraction_probe(linear["model"], holdout=linear["holdout"], **pool, **kw)
    assert words in str(err.value) and "\n" not in str(err.value)


def test_missing_features_and_regressors_are_refused(linear):
    from sklearn.linear_model import LinearRegression

    m, h = linear["model"], linear["holdout"]
    with pytest.raises(DataValidationError, match="holdout lacks the model's feature.*'c'"):
        extraction_probe(m, profile=linear["profile"], holdout=h.drop(columns="c"))
    with pytest.raises(DataValidationError, match="the profile lacks the model's feature.*'b'"):
        extraction_probe(m, profile=build_profile(linear["train"], ["a", "c"]), holdout=h)
    with pytest.raises(DataValidationError, match="the data lacks"):
        extraction_probe(m, data=linear["train"][["a"]], holdout=h)
    with pytest.raises(DataValidationError, match="profile must be a TrainingProfile"):
        extraction_probe(m, profile=[1, 2], holdout=h)
    with pytest.raises(RoleError, match="regression"):
        extraction_probe(LinearRegression().fit(h, h["a"]), profile=linear["profile"], holdout=h)
    with pytest.raises(DataValidationError, match="n must be a whole number"):
        sample_from_profile(linear["profile"], -1)
