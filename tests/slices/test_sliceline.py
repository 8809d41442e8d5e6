"""Our SliceLine against the `sliceline` package (DataDome) and against planted slices."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from steward.datasets import load_adult
from steward.errors import DataValidationError, RoleError
from steward.slices import encode_features, find_slices, misclassified, sliceline

FEATURES = ["age", "workclass", "education", "marital-status", "occupation", "relationship", "race", "sex",
            "hours-per-week", "native-country"]


@pytest.fixture(scope="module")
def adult_errors():
    df = load_adult()
    y = (df["income"] == ">50K").astype(int).to_numpy()
    # A transparent rule stands in for a model; its mistakes are what the slices explain.
    pred = ((df["education-num"] >= 13) | (df["capital-gain"] > 5000)).astype(int).to_numpy()
    return df, misclassified(y, pred)


def _peer(enc, errors, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from sliceline.slicefinder import Slicefinder

        x = np.column_stack(enc.codes) + 1  # the same coding, so levels sort the same way in both
        sf = Slicefinder(verbose=False, **kw).fit(x, errors)
    slices = [tuple((j, int(v) - 1) for j, v in enumerate(row) if v is not None) for row in sf.top_slices_]
    return slices, np.array([s["slice_score"] for s in sf.top_slices_statistics_]), sf.top_slices_statistics_


@pytest.mark.parametrize("k,level,alpha,min_sup", [(10, 2, 0.95, 32), (20, 2, 0.9, 100), (5, 2, 0.8, 10)])
def test_top_k_equals_the_sliceline_package_on_adult(adult_errors, k, level, alpha, min_sup):
    df, err = adult_errors
    enc = encode_features(df, FEATURES)
    ours = sliceline(enc.codes, enc.cards, err, k=k, max_level=level, alpha=alpha, min_support=min_sup)
    slices, scores, stats = _peer(enc, err, k=k, max_l=level, alpha=alpha, min_sup=min_sup)
    assert len(slices) >= min(k, 2)  # at alpha 0.8 only two slices score above 0
    assert ours.slices == slices
    np.testing.assert_allclose(ours.stats[:, 0], scores, rtol=1e-12)
    np.testing.assert_array_equal(ours.stats[:, 3], [s["slice_size"] for s in stats])
    np.testing.assert_array_equal(ours.stats[:, 1], [s["sum_slice_error"] for s in stats])


def test_level_three_and_a_real_valued_loss_equal_the_package(adult_errors):
    df, err = adult_errors
    feats = ["workclass", "education", "marital-status", "relationship", "race", "sex"]
    enc = encode_features(df, feats)
    y = (df["income"] == ">50K").to_numpy(int)
    rng = np.random.default_rng(7)
    p = np.clip(0.25 + 0.5 * (err > 0) * (1 - y) + rng.normal(0, 0.05, len(y)), 0.01, 0.99)
    loss = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    for errors in (err, loss):
        ours = sliceline(enc.codes, enc.cards, errors, k=10, max_level=3, alpha=0.9, min_support=50)
        slices, scores, _ = _peer(enc, errors, k=10, max_l=3, alpha=0.9, min_sup=50)
        assert ours.slices == slices and max(len(s) for s in slices) == 3
        np.testing.assert_allclose(ours.stats[:, 0], scores, rtol=1e-9)


def test_a_planted_slice_is_found_first_and_equals_the_package():
    rng = np.random.default_rng(0)
    n = 20_000
    df = pd.DataFrame({
        "region": rng.choice(["north", "south", "east", "west"], n),
        "channel": rng.choice(["web", "branch", "phone"], n),
        "product": rng.choice(list("ABCDE"), n),
        "income": rng.lognormal(10, 0.5, n),
    })
    planted = (df["region"] == "south") & (df["channel"] == "phone")
    err = np.where(planted, rng.random(n) < 0.6, rng.random(n) < 0.08).astype(float)
    report = find_slices(df, err, k=5, max_level=3)
    assert report.table["slice"].iloc[0] == "region = south AND channel = phone"
    top = report.to_frame().iloc[0]
    inside = planted.to_numpy()
    assert top["size"] == inside.sum()
    assert top["error_rate"] == pytest.approx(err[inside].mean())
    assert top["rest_error_rate"] == pytest.approx(err[~inside].mean())
    assert top["error_ratio"] == pytest.approx(err[inside].mean() / err[~inside].mean())
    np.testing.assert_array_equal(report.mask(df, 0), inside)
    slices, scores, _ = _peer(report.encoding, err, k=5, max_l=3, alpha=0.95, min_sup=32)
    assert report.slice_codes == slices
    np.testing.assert_allclose(report.table["score"], scores, rtol=1e-12)


def test_numbers_are_binned_by_quantile_and_missing_is_a_level():
    df = pd.DataFrame({"x": np.r_[np.arange(100.0), [np.nan] * 10], "c": ["a", "b"] * 55})
    enc = encode_features(df, ["x", "c"], bins=4)
    fx, fc = enc.features
    assert fx.binned and fx.levels[-1] == "(missing)" and len(fx.levels) == 5
    assert np.bincount(enc.codes[0]).tolist() == [25, 25, 25, 25, 10]
    assert fc.levels == ["a", "b"] and not fc.binned
    # new data coded the same way; explicit edges and uniform bins
    np.testing.assert_array_equal(fx.codes(pd.Series([0.0, 49.0, 49.5, 99.0, None])), [0, 1, 2, 3, 4])
    enc = encode_features(df, ["x"], bins={"x": [10, 50]})
    assert np.bincount(enc.codes[0]).tolist() == [10, 40, 50, 10]
    enc = encode_features(df, ["x"], bins=2, binning="uniform")
    assert enc.features[0].levels[:2] == ["[0, 49.5)", "[49.5, 99]"]


def test_a_number_with_few_values_is_a_category():
    df = pd.DataFrame({"n": [1, 2, 3] * 10})
    assert encode_features(df, ["n"]).features[0].levels == ["1", "2", "3"]


def test_no_errors_means_no_slices():
    df = pd.DataFrame({"a": ["x", "y"] * 50})
    report = find_slices(df, np.zeros(100))
    assert len(report) == 0 and report.mean_error == 0


@pytest.mark.parametrize("kwargs,words", [
    ({"features": ["nope"]}, "'nope' not in the data"),
    ({"k": 0}, "k must be"),
    ({"alpha": 0}, "alpha must be in (0, 1]"),
    ({"bins": {"zzz": 3}}, "not among the features"),
    ({"binning": "kmeans"}, "binning must be one of"),
])
def test_bad_settings_name_what_is_wrong(kwargs, words):
    df = pd.DataFrame({"a": ["x", "y"] * 50})
    with pytest.raises((RoleError, DataValidationError), match=None) as exc:
        find_slices(df, np.ones(100), **{"features": ["a"], **kwargs})
    assert words in str(exc.value)


def test_bad_errors_are_refused():
    df = pd.DataFrame({"a": ["x", "y"] * 5})
    with pytest.raises(DataValidationError, match="negative"):
        find_slices(df, -np.ones(10))
    with pytest.raises(DataValidationError, match="missing or infinite"):
        find_slices(df, np.r_[np.ones(9), np.nan])
    with pytest.raises(DataValidationError, match="one value per row"):
        find_slices(df, np.ones(3))


def test_a_text_error_column_is_refused_in_one_line_as_on_spark():
    df = pd.DataFrame({"a": ["x", "y"] * 5, "note": ["wrong", "right"] * 5})
    with pytest.raises(DataValidationError) as exc:
        find_slices(df, "note", features=["a"])
    # word for word the message find_slices_spark gives for a string column
    assert str(exc.value) == ("errors column 'note' holds string values, not numbers; give a non-negative numeric "
                              "loss per row (1.0 for a mistake, 0.0 otherwise)")
    with pytest.raises(DataValidationError, match=r"^the errors array holds string values, not numbers; [^\n]*$"):
        find_slices(df, ["wrong", "right"] * 5, features=["a"])
