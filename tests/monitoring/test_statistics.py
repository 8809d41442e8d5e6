"""Every statistic of a monitoring window against an independent computation (by hand, SciPy, scikit-learn,
fairlearn, steward's own audit), on the shipped Adult data (train as the reference, test as the window)
and on seeded synthetic samples where a property needs a known distribution."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import accuracy_score, roc_auc_score

import steward
from steward.datasets import load_adult
from steward.monitoring import (
    Monitor,
    MonitorSettings,
    WindowStats,
    auc_from_bins,
    build_reference,
    evaluate,
    psi,
    reduce_batch,
)

NUMBERS = ["age", "fnlwgt", "education-num", "hours-per-week"]
CATEGORIES = ["workclass", "education", "occupation"]
FEATURES = NUMBERS + CATEGORIES
PROTECTED = ["sex", "race"]
GROUPS = {"sex": "Male", "race": "White"}


def scored(frame: pd.DataFrame) -> pd.DataFrame:
    """A transparent logistic score stands in for a model; the decision is score >= 0.5."""
    out = frame.copy()
    z = (-7.5 + 0.035 * out["age"] + 0.33 * out["education-num"] + 0.03 * out["hours-per-week"]
         + 0.0003 * out["capital-gain"])
    out["score"] = 1.0 / (1.0 + np.exp(-z))
    out["decision"] = (out["score"] >= 0.5).astype(int)
    out["label"] = (out["income"] == ">50K").astype(int)
    return out


@pytest.fixture(scope="module")
def train() -> pd.DataFrame:
    return scored(load_adult("train", dropna=True))


@pytest.fixture(scope="module")
def test_rows() -> pd.DataFrame:
    return scored(load_adult("test", dropna=True))


@pytest.fixture(scope="module")
def ref(train):
    return build_reference(train, features=FEATURES, protected=PROTECTED, reference_groups=GROUPS, score="score",
                           decision="decision", label="label")


@pytest.fixture(scope="module")
def result(ref, test_rows):
    return evaluate(ref, reduce_batch(test_rows, ref), MonitorSettings())


def one(result: dict, signal: str, subject: str) -> dict:
    found = [s for s in result["signals"] if s["signal"] == signal and s["subject"] == subject]
    assert len(found) == 1, f"{signal} {subject}: {len(found)} signals"
    return found[0]


# --- PSI -------------------------------------------------------------------------------------------------


def psi_by_hand(ref_counts, cur_counts) -> float:
    rn, cn = sum(ref_counts), sum(cur_counts)
    total = 0.0
    for r, c in zip(ref_counts, cur_counts):
        r, c = max(r / rn, 1e-4), max(c / cn, 1e-4)
        total += (c - r) * math.log(c / r)
    return total


def test_psi_equals_the_formula_by_hand():
    rng = np.random.default_rng(1)
    for _ in range(20):
        r = rng.integers(0, 50, size=10).tolist()
        c = rng.integers(0, 50, size=10).tolist()
        r[rng.integers(10)] = 0  # an empty bin on each side: the floor matters
        c[rng.integers(10)] = 0
        assert psi(r, c) == pytest.approx(psi_by_hand(r, c), rel=1e-12, abs=1e-15)
    assert psi([1, 2, 3], [1, 2, 3]) == 0.0
    assert math.isnan(psi([0, 0], [1, 2]))


def decile_counts(ref_values: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Counts on the reference's decile bins (bin i holds d[i-1] < x <= d[i]), computed from the raw values."""
    d = np.unique(np.percentile(ref_values, np.arange(10, 100, 10)))
    k = len(d) + 1
    return (np.bincount(np.searchsorted(d, ref_values, side="left"), minlength=k),
            np.bincount(np.searchsorted(d, values, side="left"), minlength=k))


@pytest.mark.parametrize("feature", NUMBERS)
def test_feature_psi_is_the_psi_on_the_reference_deciles(feature, train, test_rows, result):
    r, c = decile_counts(train[feature].to_numpy(float), test_rows[feature].to_numpy(float))
    expected = psi_by_hand(r.tolist(), c.tolist())
    got = one(result, "feature_drift", feature)
    assert got["measures"]["psi"] == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert got["value"] == got["measures"]["psi"]  # the default trigger is PSI


def test_feature_psi_on_a_shifted_continuous_feature():
    """Adult's train and test are alike; a shifted normal feature gives a large PSI, still the decile one."""
    rng = np.random.default_rng(2)
    r, c = rng.normal(size=20_000), rng.normal(0.6, 1.3, size=5_000)
    ref = build_reference(pd.DataFrame({"x": r}), features=["x"])
    got = one(evaluate(ref, reduce_batch(pd.DataFrame({"x": c}), ref), MonitorSettings()), "feature_drift", "x")
    rc, cc = decile_counts(r, c)
    assert got["measures"]["psi"] == pytest.approx(psi_by_hand(rc.tolist(), cc.tolist()), rel=1e-9)
    assert got["measures"]["psi"] > 0.2 and got["breach"]


def test_category_psi_is_the_psi_of_the_category_counts(train, test_rows, result):
    cats = sorted(set(train["occupation"]) | set(test_rows["occupation"]))
    r = [int((train["occupation"] == k).sum()) for k in cats]
    c = [int((test_rows["occupation"] == k).sum()) for k in cats]
    assert one(result, "feature_drift", "occupation")["measures"]["psi"] == pytest.approx(psi_by_hand(r, c),
                                                                                           rel=1e-9)


# --- Jensen-Shannon and chi-square ---------------------------------------------------------------------------


def js_by_hand(p: np.ndarray, q: np.ndarray) -> float:
    p, q = p / p.sum(), q / q.sum()
    m = (p + q) / 2
    kl = lambda a, b: sum(x * math.log(x / y) for x, y in zip(a, b) if x > 0)  # noqa: E731
    return math.sqrt(0.5 * kl(p, m) + 0.5 * kl(q, m))


@pytest.mark.parametrize("feature", CATEGORIES)
def test_jensen_shannon_by_hand(feature, train, test_rows, result):
    cats = sorted(set(train[feature]) | set(test_rows[feature]))
    r = np.array([(train[feature] == k).sum() for k in cats], dtype=float)
    c = np.array([(test_rows[feature] == k).sum() for k in cats], dtype=float)
    assert one(result, "feature_drift", feature)["measures"]["jensen_shannon"] == pytest.approx(
        js_by_hand(r, c), rel=1e-9)


def test_jensen_shannon_of_a_real_shift_by_hand():
    """Adult's train/test distance is tiny; a real shift (and a category the reference never saw) too."""
    ref = build_reference(pd.DataFrame({"c": ["a"] * 500 + ["b"] * 300 + ["c"] * 200}), features=["c"])
    cur = pd.DataFrame({"c": ["a"] * 100 + ["b"] * 300 + ["c"] * 500 + ["new"] * 100})
    got = one(evaluate(ref, reduce_batch(cur, ref), MonitorSettings()), "feature_drift", "c")["measures"]
    assert got["jensen_shannon"] == pytest.approx(js_by_hand(np.array([500., 300, 200, 0]),
                                                             np.array([100., 300, 500, 100])), rel=1e-12)
    assert got["jensen_shannon"] > 0.2


@pytest.mark.parametrize("feature", CATEGORIES)
def test_chi_square_p_value_is_scipys(feature, train, test_rows, result):
    cats = sorted(set(train[feature]) | set(test_rows[feature]))
    table = np.array([[(train[feature] == k).sum() for k in cats], [(test_rows[feature] == k).sum() for k in cats]])
    expected = stats.chi2_contingency(table, correction=False).pvalue
    assert one(result, "feature_drift", feature)["measures"]["chi2_p_value"] == pytest.approx(expected, rel=1e-9,
                                                                                              abs=1e-300)


# --- Wasserstein -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("feature", NUMBERS)
def test_wasserstein_is_scipys_on_the_binned_distribution(feature, ref, test_rows, result):
    f = ref.features[feature]
    cur = reduce_batch(test_rows[[feature]], ref).features[feature]
    bins, sums = np.asarray(cur["bins"], dtype=float), np.asarray(cur["sums"], dtype=float)
    counts = np.asarray(f.counts, dtype=float)
    # each bin's mass at the mean of the values in it: the reference's, and the window's own
    ref_at = np.asarray(f.sums)[counts > 0] / counts[counts > 0]
    cur_at = sums[bins > 0] / bins[bins > 0]
    expected = stats.wasserstein_distance(ref_at, cur_at, u_weights=counts[counts > 0], v_weights=bins[bins > 0])
    assert one(result, "feature_drift", feature)["measures"]["wasserstein"] * f.std == pytest.approx(
        expected, rel=1e-9, abs=1e-12)


def test_reference_std_is_the_population_std(ref, train):
    for feature in NUMBERS:
        assert ref.features[feature].std == pytest.approx(train[feature].std(ddof=0), rel=1e-12)


@pytest.mark.parametrize("shift", [0.0, 0.1, 1.0])
@pytest.mark.parametrize("draw", ["normal", "lognormal"])
def test_wasserstein_is_close_to_scipys_on_the_raw_values(shift, draw):
    """On the reference's 1..99 percentile bins, with each bin's mass at the mean of the values in it (the
    reference's and the window's own, kept as sums), the binned distance is within 0.01 standard deviations
    (or 2% of a distance far above any threshold) of SciPy's on the raw values: for a normal feature and a heavy-tailed lognormal one, unshifted, shifted
    near the default threshold, and far beyond it. (With each bin at its middle and the open-ended ones at
    the reference's min and max, a heavy tail's few rows of noise moved tens of standard deviations: an
    unchanged lognormal feature could read as drifted.)"""
    rng = np.random.default_rng(3)
    draw_of = {"normal": lambda n: rng.normal(size=n), "lognormal": lambda n: rng.lognormal(0.0, 1.5, size=n)}[draw]
    r = draw_of(20_000)
    c = draw_of(10_000) + shift * r.std()
    ref = build_reference(pd.DataFrame({"x": r}), features=["x"])
    got = one(evaluate(ref, reduce_batch(pd.DataFrame({"x": c}), ref), MonitorSettings()), "feature_drift", "x")
    exact = stats.wasserstein_distance(r, c) / r.std()
    assert abs(got["measures"]["wasserstein"] - exact) < max(0.01, 0.02 * exact)


# --- Kolmogorov-Smirnov --------------------------------------------------------------------------------------


@pytest.mark.parametrize("feature", NUMBERS)
def test_ks_d_is_within_the_largest_bin_mass_of_scipys(feature, ref, train, test_rows, result):
    """The binned D is the raw D at the bin edges only: never larger, and smaller by at most the largest mass
    a single bin holds in either sample (the CDFs cannot move more than that inside a bin)."""
    f = ref.features[feature]
    bins = np.asarray(reduce_batch(test_rows[[feature]], ref).features[feature]["bins"], dtype=float)
    mass = max(np.max(np.asarray(f.counts) / sum(f.counts)), np.max(bins / bins.sum()))
    raw = stats.ks_2samp(train[feature], test_rows[feature]).statistic
    d = one(result, "feature_drift", feature)["measures"]["ks_d"]
    assert d <= raw + 1e-12
    assert raw - d <= mass


def test_ks_d_of_a_continuous_feature_loses_at_most_a_percentile_bin():
    rng = np.random.default_rng(4)
    r, c = rng.normal(size=20_000), rng.normal(0.1, 1.1, size=10_000)
    ref = build_reference(pd.DataFrame({"x": r}), features=["x"])
    got = one(evaluate(ref, reduce_batch(pd.DataFrame({"x": c}), ref), MonitorSettings()), "feature_drift", "x")
    raw = stats.ks_2samp(r, c).statistic
    assert 0 <= raw - got["measures"]["ks_d"] <= 0.02


def test_ks_equals_scipys_when_binning_loses_nothing():
    """An integer feature with six values, each at least 5% of the reference: every value has its own bin,
    so the binned CDFs are the empirical ones and D is ks_2samp's; the p-value is its asymptotic one."""
    rng = np.random.default_rng(5)
    r = rng.choice(6, size=8_000, p=[0.1, 0.2, 0.3, 0.2, 0.15, 0.05])
    c = rng.choice(6, size=3_000, p=[0.12, 0.2, 0.28, 0.2, 0.14, 0.06])
    ref = build_reference(pd.DataFrame({"n": r}), features=["n"])
    assert len(ref.features["n"].counts) >= 6
    got = one(evaluate(ref, reduce_batch(pd.DataFrame({"n": c}), ref), MonitorSettings()), "feature_drift", "n")
    exact = stats.ks_2samp(r, c, method="asymp")
    assert got["measures"]["ks_d"] == pytest.approx(exact.statistic, abs=1e-12)
    assert got["measures"]["ks_p_value"] == pytest.approx(exact.pvalue, rel=1e-6)
    assert 1e-6 < exact.pvalue < 0.5  # a p-value in the range where a wrong one would show


# --- performance ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def partly_known(test_rows) -> pd.DataFrame:
    """The test rows with a tenth of the labels not yet known and a few decisions missing."""
    rng = np.random.default_rng(6)
    out = test_rows.copy()
    out["label"] = out["label"].astype(float).mask(rng.random(len(out)) < 0.1)
    out["decision"] = out["decision"].astype(float).mask(rng.random(len(out)) < 0.02)
    return out


def test_accuracy_is_sklearns_on_the_decided_labelled_rows(ref, train, partly_known):
    res = evaluate(ref, reduce_batch(partly_known, ref), MonitorSettings())
    known = partly_known.dropna(subset=["label", "decision"])
    acc = one(res, "performance", "accuracy")
    assert acc["measures"]["accuracy"] == pytest.approx(accuracy_score(known["label"], known["decision"]),
                                                        rel=1e-12)
    assert acc["measures"]["labelled"] == len(known)
    assert ref.accuracy == pytest.approx(accuracy_score(train["label"], train["decision"]), rel=1e-12)
    assert acc["value"] == pytest.approx(ref.accuracy - acc["measures"]["accuracy"], rel=1e-12)


def test_auc_from_bins_is_within_2e_3_of_sklearns(ref, train, partly_known):
    w = reduce_batch(partly_known, ref)
    res = evaluate(ref, w, MonitorSettings())
    known = partly_known.dropna(subset=["label"])  # the AUC needs a label and a score, not a decision
    exact = roc_auc_score(known["label"], known["score"])
    auc = one(res, "performance", "auc")["measures"]["auc"]
    assert auc == auc_from_bins(w.score_pos, w.score_neg)
    assert abs(auc - exact) < 2e-3
    assert 0.7 < exact < 0.95  # a model worth monitoring, not a degenerate one
    assert ref.auc == pytest.approx(roc_auc_score(train["label"], train["score"]), rel=1e-12)


def test_auc_interval_and_calibration_error_by_hand(ref, partly_known):
    """The AUC's interval is Hanley and McNeil's (1982) standard error at the 95% level, and the expected
    calibration error is sum over ten equal score bins of |positives - sum of scores| / n, here on the raw
    scores (the monitor's uses each 1/1000 bin's centre: within 5e-4 of it)."""
    res = evaluate(ref, reduce_batch(partly_known, ref), MonitorSettings())
    known = partly_known.dropna(subset=["label"])
    y, sc = known["label"].to_numpy(), known["score"].to_numpy()
    auc = one(res, "performance", "auc")["measures"]
    a, n1, n0 = auc["auc"], int((y == 1).sum()), int((y == 0).sum())
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    se = np.sqrt((a * (1 - a) + (n1 - 1) * (q1 - a * a) + (n0 - 1) * (q2 - a * a)) / (n1 * n0))
    assert auc["ci_low"] == pytest.approx(a - 1.959963984540054 * se, rel=1e-9)
    assert auc["ci_high"] == pytest.approx(a + 1.959963984540054 * se, rel=1e-9)
    b = np.minimum((sc * 10).astype(int), 9)
    ece = sum(abs(y[b == k].sum() - sc[b == k].sum()) for k in range(10)) / len(y)
    got = one(res, "performance", "calibration")["measures"]["expected_calibration_error"]
    assert abs(got - ece) < 5e-4 and ece > 0


def test_auc_from_bins_counts_ties_within_a_bin_as_half():
    # positives and negatives in the same bin: the pairs within it count half, as roc_auc_score's ties do
    pos, neg = [0, 2, 1], [1, 2, 0]
    y = [1, 1, 1, 0, 0, 0]
    s = [1, 1, 2, 0, 1, 1]
    assert auc_from_bins(pos, neg) == pytest.approx(roc_auc_score(y, s), rel=1e-12)


def test_estimated_accuracy_is_the_expected_correctness_by_hand(ref, test_rows):
    rows = test_rows.drop(columns="label")  # labels not known yet: the estimate is what is judged
    res = evaluate(ref, reduce_batch(rows, ref), MonitorSettings())
    p, d = rows["score"].to_numpy(), rows["decision"].to_numpy()
    expected = float(np.mean(np.where(d == 1, p, 1 - p)))
    est = one(res, "estimated_performance", "accuracy")
    assert est["measures"]["accuracy"] == pytest.approx(expected, rel=1e-12)
    assert est["judged"] is True
    assert [s for s in res["signals"] if s["signal"] == "performance"] == []


# --- fairness ------------------------------------------------------------------------------------------------


def audit_frame(rows: pd.DataFrame) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", steward.StewardWarning)
        res = steward.audit(rows, label="label", prediction="decision", protected=GROUPS, intersections=True)
    return res.to_frame()


def test_fairness_rows_match_a_fresh_audit_of_the_window(ref, test_rows, result):
    window = test_rows.iloc[:6000]  # one window's rows
    res = evaluate(ref, reduce_batch(window, ref), MonitorSettings())
    audited = audit_frame(window).set_index(["attribute", "group"])
    rows = {(r["attribute"], r["group"]): r for r in res["fairness"]}
    assert set(rows) == set(audited.index)
    assert {a for a, _ in rows} == {"sex", "race", "sex*race"}
    for key, r in rows.items():
        a = audited.loc[key]
        assert r["decided"] == a["n"]
        assert r["rate"] == pytest.approx(a["favourable_rate"], rel=1e-12)
        assert r["air"] == pytest.approx(a["adverse_impact_ratio"], rel=1e-12, abs=1e-15)
        if not r["reference"]:
            assert r["air_ci_low"] == pytest.approx(a["adverse_impact_ratio_ci_low"], rel=1e-9)
            assert r["air_ci_high"] == pytest.approx(a["adverse_impact_ratio_ci_high"], rel=1e-9)
            if r["tpr_ratio"] is not None and not math.isnan(a["tpr_ratio"]):
                assert r["tpr_ratio"] == pytest.approx(a["tpr_ratio"], rel=1e-12)
    # the fairness signals are these rows, one per non-reference group
    sig = one(res, "fairness", "race=Black:air")
    assert sig["value"] == pytest.approx(audited.loc[("race", "Black"), "adverse_impact_ratio"], rel=1e-12)


def test_favourable_rates_match_fairlearn(test_rows, ref):
    from fairlearn.metrics import MetricFrame, selection_rate

    window = test_rows.iloc[6000:12000]
    res = evaluate(ref, reduce_batch(window, ref), MonitorSettings())
    mf = MetricFrame(metrics=selection_rate, y_true=window["label"], y_pred=window["decision"],
                     sensitive_features=window[["sex", "race"]])
    for (sex, race), rate in mf.by_group.items():
        row = [r for r in res["fairness"] if r["attribute"] == "sex*race" and r["group"] == f"{sex}*{race}"]
        assert len(row) == 1 and row[0]["rate"] == pytest.approx(rate, rel=1e-12)


def test_reference_group_rates_are_the_training_rows(ref, train):
    for a in PROTECTED:
        per = train.groupby(a)["decision"].agg(["size", "sum"])
        assert ref.groups[a] == {g: [float(r["size"]), float(r["sum"])] for g, r in per.iterrows()}
    assert ref.decision_rate == pytest.approx(train["decision"].mean(), rel=1e-12)


# --- mergeability ------------------------------------------------------------------------------------------


def messy(rows: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Rows with everything a window can hold: missing values, unknown labels, flags, routes, keys, times,
    human review."""
    rng = np.random.default_rng(seed)
    out = rows.copy()
    n = len(out)
    out.loc[rng.random(n) < 0.05, "age"] = np.nan
    out.loc[rng.random(n) < 0.03, "occupation"] = None
    out.loc[rng.random(n) < 0.02, "race"] = None
    out["label"] = out["label"].astype(float).mask(rng.random(n) < 0.3)
    out["time"] = pd.Timestamp("2026-03-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 86_400, n), unit="s")
    out["key_id"] = rng.choice(["app", "batch", "partner"], size=n)
    out["flags"] = rng.choice(["", "duplicate", "out_of_range:age", "training_row", "duplicate|out_of_range:age"],
                              size=n, p=[0.8, 0.05, 0.05, 0.05, 0.05])
    out["route"] = rng.choice(["answer", "review"], size=n, p=[0.9, 0.1])
    out["reviewed"] = (rng.random(n) < 0.1).astype(int)
    out["overturned"] = out["reviewed"] * (rng.random(n) < 0.3)
    out["appeals_decided"] = (rng.random(n) < 0.02).astype(int)
    out["appeals_overturned"] = out["appeals_decided"] * (rng.random(n) < 0.5)
    return out


def assert_same_evaluation(x: dict, y: dict) -> None:
    assert x["rows"] == y["rows"] and x["judged"] == y["judged"]
    assert [(s["signal"], s["subject"]) for s in x["signals"]] == [(s["signal"], s["subject"]) for s in y["signals"]]
    for a, b in zip(x["signals"], y["signals"]):
        assert a["breach"] == b["breach"] and a["judged"] == b["judged"], (a["signal"], a["subject"])
        assert (a["value"] is None) == (b["value"] is None), (a["signal"], a["subject"])
        if a["value"] is not None:
            assert np.isclose(a["value"], b["value"], rtol=1e-9, atol=1e-12), (a["signal"], a["subject"])
        assert set(a["measures"]) == set(b["measures"])
        for k, v in a["measures"].items():
            if isinstance(v, float):
                assert np.isclose(v, b["measures"][k], rtol=1e-9, atol=1e-300), (a["subject"], k)
            else:
                assert v == b["measures"][k], (a["subject"], k)
    assert len(x["fairness"]) == len(y["fairness"])
    for a, b in zip(x["fairness"], y["fairness"]):
        for k, v in a.items():
            if isinstance(v, float):
                assert np.isclose(v, b[k], rtol=1e-9, equal_nan=True), (a["group"], k)
            else:
                assert v == b[k], (a["group"], k)


def test_merged_windows_evaluate_as_their_union(ref, test_rows):
    rows = messy(test_rows.iloc[:9000], seed=7)
    a, b, c = rows.iloc[:2000], rows.iloc[2000:2500], rows.iloc[2500:]
    merged = reduce_batch(a, ref).merge(reduce_batch(b, ref), reduce_batch(c, ref))
    whole = reduce_batch(rows, ref)
    assert merged.rows == whole.rows and merged.first == whole.first and merged.last == whole.last
    assert merged.keys == whole.keys and merged.flags == whole.flags and merged.routes == whole.routes
    s = MonitorSettings.model_validate({"key_volume": {"enabled": True, "max_rows": 2500}})
    x, y = evaluate(ref, merged, s), evaluate(ref, whole, s)
    assert_same_evaluation(x, y)
    kinds = {sig["signal"] for sig in y["signals"]}
    assert {"feature_drift", "data_quality", "prediction_drift", "performance", "fairness", "screening",
            "key_volume", "oversight"} <= kinds  # every kind of statistic took part in the comparison
    assert_same_evaluation(evaluate(ref, WindowStats.combine([reduce_batch(a, ref),
                                                             reduce_batch(rows.iloc[2000:], ref)]), s), y)


def test_window_stats_round_trip_through_json(ref, test_rows):
    w = reduce_batch(messy(test_rows.iloc[:3000], seed=8), ref)
    back = WindowStats.from_dict(json.loads(json.dumps(w.to_dict())))
    assert back == w
    assert_same_evaluation(evaluate(ref, back, MonitorSettings()), evaluate(ref, w, MonitorSettings()))


# --- the monitor: incremental runs give the full run's results -----------------------------------------------


def stream(test_rows: pd.DataFrame) -> pd.DataFrame:
    """Eight days of predictions in time order, from two caller keys."""
    rows = messy(test_rows.iloc[:8000], seed=9).drop(columns=["time"])
    rng = np.random.default_rng(9)
    start = pd.Timestamp("2026-03-01", tz="UTC")
    rows["time"] = np.sort(start + pd.to_timedelta(rng.integers(0, 8 * 86_400, len(rows)), unit="s"))
    return rows.reset_index(drop=True)


def test_incremental_runs_give_the_full_runs_results(ref, test_rows):
    rows = stream(test_rows)
    settings = MonitorSettings.model_validate({"fairness_drift": {"limit": 2.0}, "feature_drift": {"consecutive": 2},
                                               "extraction": {"min_queries": 100}})
    full = Monitor(ref, settings)
    full.add(rows)
    full_alerts = full.close_complete()

    windows: dict = {}
    state: dict = {}
    alerts = []
    results = {}
    for chunk in np.array_split(np.arange(len(rows)), [2900, 5100]):  # cut in the middle of days
        m = Monitor(ref, settings, windows=windows, state=json.loads(json.dumps(state)))
        m.add(rows.iloc[chunk])
        alerts.extend(m.close_complete())
        results.update(m.results)
        state = m.state
        windows = {k: WindowStats.from_dict(json.loads(json.dumps(w.to_dict())))
                   for k, w in m.windows.items() if k not in m.state["closed"]}
    assert sorted(full.results) == sorted(results) and len(results) == 7  # the eighth day is still open
    for key in results:
        assert_same_evaluation(results[key], full.results[key])
    assert alerts == full_alerts
    assert any(al for _, al in alerts)  # some alert to compare (Adult's race groups fail the AIR)


def test_intersections_drift_from_their_own_reference_ratio(ref, train, result):
    """An intersection's reference ratio (the target of its sequential detector) is the training rows' one,
    as a single attribute's is: Adult's intersections are far from parity, and measuring them from 1 would
    raise a drift alarm on data that has not moved."""
    rate = train.groupby(["sex", "race"])["decision"].mean()
    for r in result["fairness"]:
        if r["attribute"] == "sex*race" and not r["reference"]:
            sex, race = r["group"].split("*")
            assert r["reference_air"] == pytest.approx(rate[(sex, race)] / rate[("Male", "White")], rel=1e-12)
        if r["attribute"] == "race" and not r["reference"]:
            per = train.groupby("race")["decision"].mean()
            assert r["reference_air"] == pytest.approx(per[r["group"]] / per["White"], rel=1e-12)


def test_missing_protected_values_are_one_group_in_reference_and_window():
    rng = np.random.default_rng(10)
    n = 4_000
    frame = pd.DataFrame({"x": rng.normal(size=n), "g": rng.choice(["a", "b", None], size=n, p=[0.5, 0.3, 0.2]),
                          "decision": rng.integers(0, 2, n)})
    ref = build_reference(frame, features=["x"], protected=["g"], reference_groups={"g": "a"}, decision="decision")
    assert set(ref.groups["g"]) == {"a", "b", "(missing)"}
    rows = evaluate(ref, reduce_batch(frame, ref), MonitorSettings())["fairness"]
    missing = [r for r in rows if r["group"] == "(missing)"]
    assert len(missing) == 1 and missing[0]["reference_air"] == pytest.approx(missing[0]["air"], rel=1e-12)


def test_ks_p_value_at_large_n_is_kolmogorovs_limit_close_to_scipys():
    """Above 20,000 for n*m/(n+m) the p-value is the limiting distribution's: within 2% of ks_2samp's asymptotic
    one on an integer feature (where binning loses nothing), in the range where it matters."""
    rng = np.random.default_rng(8)
    r = rng.choice(6, size=120_000, p=[0.1, 0.2, 0.3, 0.2, 0.15, 0.05])
    c = rng.choice(6, size=80_000, p=[0.107, 0.2, 0.293, 0.2, 0.15, 0.05])
    ref = build_reference(pd.DataFrame({"n": r}), features=["n"])
    got = one(evaluate(ref, reduce_batch(pd.DataFrame({"n": c}), ref), MonitorSettings()), "feature_drift", "n")
    exact = stats.ks_2samp(r, c, method="asymp")
    assert got["measures"]["ks_d"] == pytest.approx(exact.statistic, abs=1e-12)
    assert got["measures"]["ks_p_value"] == pytest.approx(exact.pvalue, rel=0.02)
    assert 1e-6 < exact.pvalue < 0.9
