"""Private training and its price: DP-EBMs on Adult at several ε beside a non-private EBM.

Every figure of the report is recomputed here from the fitted models' own predictions with pandas,
scikit-learn and statsmodels; nothing is compared with a number written down in advance, except the
published worked example of Newcombe's paired interval."""

from __future__ import annotations

import json
import math
import sys
from importlib.metadata import version

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from statsmodels.stats.proportion import proportion_confint

from steward.datasets import load_adult
from steward.errors import DataValidationError, MissingExtraError, SmallGroupWarning
from steward.privacy._private import paired_change_interval, private_training

pytestmark = pytest.mark.filterwarnings("ignore::steward.errors.SmallGroupWarning")

LABEL, POSITIVE = "income", ">50K"
PROTECTED = ["race", "sex"]
EPSILONS = (0.1, 1.0, 8.0)
# a quick setting for a unit test: two outer bags for the non-private EBM (interpret's default is 14)
QUICK = {"outer_bags": 2}


@pytest.fixture(scope="module")
def adult() -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    df = load_adult().sample(4000, random_state=7).reset_index(drop=True)
    features = [c for c in df.columns if c not in (LABEL, *PROTECTED)]
    return df.iloc[:3000], df.iloc[3000:].reset_index(drop=True), features


def _train(adult, **kw):
    train, test, features = adult
    args = {"label": LABEL, "positive_label": POSITIVE, "features": features, "protected": PROTECTED,
            "epsilons": EPSILONS, "ebm_options": QUICK, **kw}
    return private_training(train, test, **args)


@pytest.fixture(scope="module")
def report(adult):
    return _train(adult, seed=0)


@pytest.fixture(scope="module")
def report_seed1(adult):
    return _train(adult, seed=1)


def _features(test: pd.DataFrame, features: list[str]) -> pd.DataFrame:
    """The test rows as the models read them: missing categories a category of their own."""
    X = test[features].copy()
    for c in features:
        if not pd.api.types.is_numeric_dtype(X[c]):
            X[c] = X[c].astype(object).where(X[c].notna(), "(missing)").astype(str)
        else:
            X[c] = X[c].astype(float)
    return X


def _probabilities(report, test, features) -> dict[float, np.ndarray]:
    X = _features(test, features)
    out = {math.inf: report.baseline.predict_proba(X)[:, 1]}
    out.update({e: m.predict_proba(X)[:, 1] for e, m in report.models.items()})
    return out


def test_one_row_per_model_and_group(report, adult):
    _, test, features = adult
    groups = sum(test[a].nunique() for a in PROTECTED)
    assert len(report.table) == (len(EPSILONS) + 1) * groups
    assert not report.table.duplicated(["model", "attribute", "group"]).any()
    assert list(report.overall["epsilon"]) == [math.inf, *EPSILONS]
    assert list(report.overall["model"]) == ["non-private", "ε = 0.1", "ε = 1", "ε = 8"]
    assert sorted(report.models) == list(EPSILONS)
    # the protected attributes are not features unless listed
    assert set(report.baseline.feature_names_in_) == set(features)
    for m in report.models.values():
        assert set(m.feature_names_in_) == set(features)
        assert type(m).__name__ == "DPExplainableBoostingClassifier"


def test_figures_equal_a_recomputation_from_the_fitted_models(report, adult):
    _, test, features = adult
    y = (test[LABEL] == POSITIVE).astype(int).to_numpy()
    probs = _probabilities(report, test, features)
    correct = {e: ((p >= 0.5).astype(int) == y) for e, p in probs.items()}
    overall = report.overall.set_index("epsilon")
    for e, p in probs.items():
        row = overall.loc[e]
        hits = int(correct[e].sum())
        assert row["accuracy"] == pytest.approx(hits / len(y), abs=1e-12)
        lo, hi = proportion_confint(hits, len(y), alpha=0.05, method="wilson")
        assert (row["accuracy_ci_low"], row["accuracy_ci_high"]) == pytest.approx((lo, hi), abs=1e-9)
        auc = roc_auc_score(y, p)
        assert row["auc"] == pytest.approx(auc, abs=1e-9)
        n1, n0 = int(y.sum()), int(len(y) - y.sum())
        q1, q2 = auc / (2 - auc), 2 * auc ** 2 / (1 + auc)
        se = math.sqrt((auc * (1 - auc) + (n1 - 1) * (q1 - auc ** 2) + (n0 - 1) * (q2 - auc ** 2)) / (n1 * n0))
        assert row["auc_ci_low"] == pytest.approx(auc - 1.959963984540054 * se, abs=1e-9)
        assert row["accuracy_change"] == pytest.approx(correct[e].mean() - correct[math.inf].mean(), abs=1e-12)
    frame = test[PROTECTED].assign(y=y)
    for e, p in probs.items():
        f = frame.assign(d=(p >= 0.5).astype(int), ok=correct[e].astype(int), base=correct[math.inf].astype(int))
        for attr in PROTECTED:
            rows = report.table[(report.table["epsilon"] == e) & (report.table["attribute"] == attr)]
            by = f.groupby(attr)
            expected = pd.DataFrame({
                "rows": by.size(),
                "accuracy": by["ok"].mean(),
                "favourable_rate": by["d"].mean(),
                "true_positive_rate": f[f["y"] == 1].groupby(attr)["d"].mean(),
                "false_positive_rate": f[f["y"] == 0].groupby(attr)["d"].mean(),
                "accuracy_change": by["ok"].mean() - by["base"].mean(),
            })
            reference = rows["reference"].iloc[0]
            base_rate = expected.loc[reference, "favourable_rate"]
            # no ratio to a reference group without favourable decisions (undefined, as in an audit)
            expected["adverse_impact_ratio"] = expected["favourable_rate"] / base_rate if base_rate > 0 else np.nan
            got = rows.set_index("group")[expected.columns].astype(float)
            pd.testing.assert_frame_equal(got.sort_index(), expected.sort_index().astype(float), check_names=False,
                                          atol=1e-12, rtol=0)


def test_the_design_control_splits_the_price(report, adult):
    # DP-EBM's settings at negligible noise: its figures come from its own fit, and its noise is the smallest
    _, test, features = adult
    y = (test[LABEL] == POSITIVE).astype(int).to_numpy()
    X = _features(test, features)
    p = report.design_model.predict_proba(X)[:, 1]
    base = report.baseline.predict_proba(X)[:, 1]
    assert report.design_model.get_params()["epsilon"] == report.design["epsilon"] > max(EPSILONS)
    assert report.design["accuracy"] == pytest.approx(((p >= 0.5) == y).mean(), abs=1e-12)
    assert report.design["auc"] == pytest.approx(roc_auc_score(y, p), abs=1e-9)
    assert report.design["accuracy_change"] == pytest.approx(((p >= 0.5) == y).mean() - ((base >= 0.5) == y).mean(),
                                                             abs=1e-12)
    assert report.design["noise_scale_boosting"] < report.overall["noise_scale_boosting"].min()
    assert "negligible noise" in report.html()


def test_reference_is_the_most_favoured_large_group_under_the_non_private_model(report, adult):
    _, test, features = adult
    d = (_probabilities(report, test, features)[math.inf] >= 0.5).astype(int)
    for attr in PROTECTED:
        rates = pd.Series(d).groupby(test[attr]).agg(["mean", "size"])
        rates = rates[rates["size"] >= 30]
        assert report.settings["references"][attr] == rates["mean"].idxmax()
        assert set(report.table.loc[report.table["attribute"] == attr, "reference"]) == {rates["mean"].idxmax()}


def test_a_given_reference_is_used(adult):
    rep = _train(adult, epsilons=(1.0,), protected={"sex": "Female"}, design_control=False)
    assert rep.design is None and rep.design_model is None
    assert set(rep.table["reference"]) == {"Female"}
    female = rep.table[(rep.table["group"] == "Female") & (rep.table["favourable_rate"] > 0)]
    assert len(female) and (female["adverse_impact_ratio"] == 1.0).all()


def test_another_seed_gives_other_private_figures(report, report_seed1, adult):
    _, test, features = adult
    p0, p1 = _probabilities(report, test, features), _probabilities(report_seed1, test, features)
    for e in EPSILONS:
        assert not np.allclose(p0[e], p1[e])
    private0 = report.table[report.table["private"]].reset_index(drop=True)
    private1 = report_seed1.table[report_seed1.table["private"]].reset_index(drop=True)
    assert (private0["accuracy"] != private1["accuracy"]).any()
    assert (private0["favourable_rate"] != private1["favourable_rate"]).any()


def test_the_same_seed_gives_the_same_model(report, adult):
    _, test, features = adult
    again = _train(adult, seed=0, epsilons=(1.0,), design_control=False)
    X = _features(test, features)
    np.testing.assert_array_equal(again.models[1.0].predict_proba(X), report.models[1.0].predict_proba(X))


def test_noise_shrinks_as_the_budget_grows(report):
    private = report.overall[report.overall["private"]]
    noise = private["noise_scale_boosting"].to_numpy()
    assert np.all(np.diff(noise) < 0)
    assert report.overall.loc[~report.overall["private"], "noise_scale_boosting"].isna().all()


def test_a_small_budget_does_not_improve_accuracy_on_average(report, report_seed1):
    # two independent noise draws; at ε = 0.1 the noise swamps 3,000 rows (a loss of about 10 points is usual),
    # so a mean gain over both seeds would be a bug, not chance
    change = [r.overall.set_index("epsilon").loc[0.1, "accuracy_change"] for r in (report, report_seed1)]
    assert np.mean(change) < 0
    auc = [r.overall.set_index("epsilon")["auc"] for r in (report, report_seed1)]
    assert np.mean([a[0.1] for a in auc]) < np.mean([a[math.inf] for a in auc])


def test_paired_interval_matches_the_published_example():
    # Fagerland, Lydersen and Laake, "Statistical Analysis of Contingency Tables" (2017), chapter 8, the Cavo
    # et al. (2012) table [[59, 6], [16, 80]]: Newcombe square-and-add, -0.0621 (95% CI -0.1186 to -0.0046)
    d, lo, hi = paired_change_interval(59, 6, 16, 80)
    assert (round(d, 4), round(lo, 4), round(hi, 4)) == (-0.0621, -0.1186, -0.0046)


def test_paired_interval_of_the_report(report, adult):
    _, test, features = adult
    y = (test[LABEL] == POSITIVE).astype(int).to_numpy()
    probs = _probabilities(report, test, features)
    ok = {e: (p >= 0.5).astype(int) == y for e, p in probs.items()}
    a, b = ok[1.0], ok[math.inf]
    table = pd.crosstab(a, b)
    expected = paired_change_interval(table.loc[True, True], table.loc[True, False], table.loc[False, True],
                                      table.loc[False, False])
    row = report.overall.set_index("epsilon").loc[1.0]
    assert (row["accuracy_change"], row["accuracy_change_ci_low"], row["accuracy_change_ci_high"]) == \
        pytest.approx(expected, abs=1e-12)
    assert row["accuracy_change_ci_low"] <= row["accuracy_change"] <= row["accuracy_change_ci_high"]


def test_record_carries_what_the_registry_stores(report):
    rec = report.record(chosen=1.0)
    assert rec["epsilons"] == list(EPSILONS)
    assert rec["delta"] == 1e-6
    assert rec["chosen_epsilon"] == 1.0
    assert rec["library_version"] == version("interpret-core")
    assert rec["composition"] == report.models[1.0].get_params()["composition"]
    assert rec["bin_budget_frac"] == report.models[1.0].get_params()["bin_budget_frac"]
    assert rec["bounds_from_data"] == ["age", "fnlwgt", "education-num", "capital-gain", "capital-loss",
                                       "hours-per-week"]
    assert rec["seeded_noise"] is True
    assert report.record()["chosen_epsilon"] is None
    with pytest.raises(DataValidationError, match="chosen epsilon 2 was not trained"):
        report.record(chosen=2)


def test_given_public_ranges_are_the_ones_dp_ebm_uses(adult):
    rep = _train(adult, epsilons=(1.0,), privacy_bounds={"age": (17, 90), "hours-per-week": (1, 99)},
                 design_control=False)
    m = rep.models[1.0]
    names = list(m.feature_names_in_)
    assert tuple(m.feature_bounds_[names.index("age")]) == (17.0, 90.0)
    assert tuple(m.feature_bounds_[names.index("hours-per-week")]) == (1.0, 99.0)
    assert "age" not in rep.privacy["bounds_from_data"]
    train = adult[0]
    assert tuple(m.feature_bounds_[names.index("fnlwgt")]) == (train["fnlwgt"].min(), train["fnlwgt"].max())
    assert "fnlwgt" in rep.privacy["bounds_from_data"]
    assert any("fnlwgt" in n and "privacy_bounds" in n for n in rep.notes)


def test_small_groups_are_named(adult):
    with pytest.warns(SmallGroupWarning, match="race=Other"):
        rep = _train(adult, epsilons=(8.0,), design_control=False)
    other = rep.table[rep.table["group"] == "Other"]
    assert other["too_small_to_judge"].all()


def test_report_views(report):
    largest = report.largest_loss()
    t = report.table[(report.table["epsilon"] == 0.1) & ~report.table["too_small_to_judge"]]
    worst = t.loc[t["accuracy_change"].idxmin()]
    assert (largest["attribute"], largest["group"]) == (worst["attribute"], worst["group"])
    page = report.to_html()
    assert "<svg" in page and f"{worst['attribute']} = {worst['group']}" in page
    assert "δ = 1e-06" in page
    data = report.to_dict()
    json.dumps(data)
    assert data["overall"][0]["epsilon"] is None  # infinity (no privacy) is not a JSON number
    assert len(data["table"]) == len(report.table)
    assert report.to_frame() is report.table


@pytest.mark.parametrize(("change", "message"), [
    ({"features": ["age", "salary"]}, r"column\(s\) 'salary' not in train"),
    ({"protected": ["religion"]}, r"column\(s\) 'religion' not in test"),
    ({"label": "education-num", "positive_label": None, "features": ["age"]}, "not binary"),
    ({"positive_label": None}, "is not 0/1"),
    ({"epsilons": ()}, "epsilons is empty"),
    ({"epsilons": (1.0, 0.0)}, "epsilon must be a finite number > 0, got 0"),
    ({"epsilons": (-1.0,)}, "epsilon must be a finite number > 0, got -1"),
    ({"epsilons": (math.inf,)}, "epsilon must be a finite number > 0, got inf"),
    ({"epsilons": (1.0, 1.0)}, "repeat"),
    ({"delta": 0.01}, "not below 1/"),
    ({"dp_options": {"epsilon": 3}}, "dp_options sets epsilon"),
    ({"ebm_options": {"no_such_option": 1}}, "unknown option"),
    ({"privacy_bounds": {"workclass": (0, 1)}}, "not a numeric feature"),
    ({"privacy_bounds": {"age": (90, 17)}}, "finite low < high"),
    ({"protected": {"sex": "female"}}, "did you mean 'Female'"),
    ({"seed": 1.5}, "seed must be a whole number or None"),
    ({"epsilons": "1"}, "epsilons must be a list of positive numbers"),
])
def test_bad_input_is_one_clear_line(adult, change, message):
    with pytest.raises(DataValidationError, match=message) as info:
        _train(adult, **{"epsilons": (1.0,), **change})
    assert "\n" not in str(info.value)


def test_missing_numbers_are_refused(adult):
    train, test, features = adult
    holed = train.copy()
    holed.loc[holed.index[:5], "age"] = np.nan
    with pytest.raises(DataValidationError, match="feature 'age' has missing values in 5 rows of train"):
        private_training(holed, test, label=LABEL, positive_label=POSITIVE, features=features, protected=PROTECTED,
                         epsilons=(1.0,))


def test_without_interpret_privacy_the_extra_is_named(adult, monkeypatch):
    monkeypatch.setitem(sys.modules, "interpret.privacy", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'steward\[privacy\]'"):
        _train(adult, epsilons=(1.0,))
