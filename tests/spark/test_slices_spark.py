"""Slice discovery on Spark equals slice discovery in memory (issue 20, item 2).

The reference is :func:`steward.slices.find_slices` on the same rows as a pandas DataFrame: NumPy
quantiles for the bins, ``np.bincount`` for the counts. Sizes, bin edges, levels and 0/1 error sums must be
identical; a real-valued loss is summed by Spark in another order than NumPy's, so its sums and the scores
built on them are compared at a relative 1e-12 (that rounding is ~1e-15 here; any real difference is far
larger).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from steward.datasets import load_adult
from steward.errors import DataValidationError, RoleError
from steward.slices import find_slices, find_slices_spark, misclassified
from steward.slices._spark import linear_quantiles

RTOL = 1e-12
ADULT = ["age", "workclass", "fnlwgt", "education", "marital-status", "relationship", "sex", "capital-gain"]
SYNTH = ["region", "plan", "age", "income", "gain", "tenure", "flag", "grade", "const"]
N = 100_000


def _spark_frame(spark, frame: pd.DataFrame):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
        return spark.createDataFrame(frame)


def assert_same(got, want, *, exact: bool) -> None:
    """Every number of two slice reports: counts, edges and levels identical; sums exact or at RTOL."""
    assert got.rows == want.rows
    assert got.encoding.to_dict() == want.encoding.to_dict()  # levels and bin edges, bit for bit
    assert got.settings == want.settings
    assert got.slice_codes == want.slice_codes
    assert got.predicates == want.predicates
    assert (got.levels_searched, got.candidates_evaluated) == (want.levels_searched, want.candidates_evaluated)
    g, w = got.to_frame(), want.to_frame()
    assert list(g.columns) == list(w.columns)
    for col in ("slice", "level", "size"):
        assert g[col].tolist() == w[col].tolist()
    floats = ["share", "errors", "error_rate", "rest_error_rate", "error_ratio", "lift", "score"]
    if exact:
        pd.testing.assert_frame_equal(g, w, check_exact=True)
        assert got.mean_error == want.mean_error
    else:
        np.testing.assert_allclose(g[floats].to_numpy(float), w[floats].to_numpy(float), rtol=RTOL, atol=0)
        assert got.mean_error == pytest.approx(want.mean_error, rel=RTOL)


# ---------------------------------------------------------------- data


@pytest.fixture(scope="module")
def adult(spark):
    df = load_adult()
    y = (df["income"] == ">50K").astype(int).to_numpy()
    # a transparent rule stands in for a model; its 0/1 mistakes are what the slices explain
    pred = ((df["education-num"] >= 13) | (df["capital-gain"] > 5000)).astype(int).to_numpy()
    df["wrong"] = misclassified(y, pred)
    sdf = _spark_frame(spark, df).cache()
    sdf.count()
    yield df, sdf
    sdf.unpersist()


def synthetic() -> pd.DataFrame:
    """Seeded rows with two planted bad slices and every kind of feature the coding distinguishes:
    text with missing values, a whole number binned (``age``), a continuous number with NaN and
    infinities (``income``), a number that is mostly 0 (``gain``: its own bin, the rest binned), few
    whole numbers (``tenure``) and few decimals (``grade``) kept as levels, a boolean, a constant."""
    rng = np.random.default_rng(2020)
    region = rng.choice(["north", "south", "east", "west", "centre", "islands"], N,
                        p=[0.3, 0.25, 0.2, 0.15, 0.07, 0.03]).astype(object)
    plan = rng.choice(["basic", "plus", "pro"], N, p=[0.5, 0.3, 0.2])
    age = rng.integers(18, 91, N)
    income = rng.lognormal(10, 1, N)
    gain = np.where(rng.random(N) < 0.85, 0.0, np.round(rng.lognormal(7, 1.5, N), 2))
    tenure = rng.integers(0, 8, N)
    flag = rng.random(N) < 0.4
    grade = rng.choice([0.5, 1.5, 2.5], N)
    bad = ((region == "north") & (plan == "basic")) | ((age >= 70) & flag)
    p = np.where(bad, 0.45, 0.08)
    wrong = (rng.random(N) < p).astype(float)
    loss = rng.gamma(2.0, 0.1, N) + 1.5 * bad * rng.random(N)  # real-valued, non-negative
    region[rng.random(N) < 0.02] = None
    income[rng.random(N) < 0.01] = np.nan
    income[rng.choice(N, 5, replace=False)] = np.inf
    income[rng.choice(N, 3, replace=False)] = -np.inf
    return pd.DataFrame({"region": pd.array(region, dtype="str"), "plan": plan, "age": age, "income": income,
                         "gain": gain, "tenure": tenure, "flag": flag, "grade": grade, "const": "x",
                         "wrong": wrong, "loss": loss})


@pytest.fixture(scope="module")
def synth(spark):
    df = synthetic()
    sdf = _spark_frame(spark, df).cache()
    sdf.count()
    yield df, sdf
    sdf.unpersist()


# ---------------------------------------------------------------- quantiles


def test_linear_quantiles_are_numpys_bit_for_bit():
    """The bin edges come from order statistics fetched from Spark and NumPy's interpolation replayed on
    the driver: over many samples (ties, heavy tails, a mass at 0, tiny and large sizes) it must return
    exactly ``np.quantile``."""
    rng = np.random.default_rng(0)
    for t in range(3000):
        n = int(rng.integers(1, 400))
        kind = t % 4
        x = (rng.normal(size=n) * 10.0 ** rng.integers(-5, 8) if kind == 0 else
             rng.integers(0, 20, n).astype(float) if kind == 1 else
             np.round(rng.exponential(size=n), 3) if kind == 2 else
             np.where(rng.random(n) < 0.8, 0.0, rng.lognormal(5, 2, n)))
        q = np.linspace(0, 1, int(rng.integers(2, 40)) + 1)
        s = np.sort(x)
        np.testing.assert_array_equal(linear_quantiles(n, q, lambda r: s[r]), np.quantile(x, q))


# ---------------------------------------------------------------- equality with memory


def test_adult_slices_equal_the_in_memory_slices(adult):
    """Adult with 0/1 errors, three levels deep, through ``find_slices`` itself: the same top 10 with every
    number identical (fnlwgt has 21,648 distinct values, capital-gain is mostly 0), and no pandas warning
    reaches the user."""
    df, sdf = adult
    want = find_slices(df, "wrong", features=ADULT, k=10, max_level=3, min_support=50)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        got = find_slices(sdf, "wrong", features=ADULT, k=10, max_level=3, min_support=50)
    assert len(want) == 10 and want.levels_searched == 3 and (want.table["level"] == 3).any()
    assert_same(got, want, exact=True)
    assert got.to_dict() == want.to_dict()
    binned = {f["feature"] for f in got.encoding.to_dict() if f["binned"]}
    assert binned == {"age", "fnlwgt", "capital-gain"}
    for i in range(len(got)):  # each slice, applied to the pandas rows by its predicates, has its size and errors
        inside = got.mask(df, i)
        assert (inside.sum(), df["wrong"][inside].sum()) == (got.table["size"][i], got.table["errors"][i])


def test_synthetic_real_valued_loss_equals_memory(synth):
    """A real-valued loss (the largest error per cell enters the pruning bound) on a table with missing
    values, infinities, a constant feature, booleans and few-valued numbers: the same slices and coding;
    sums and scores at a relative 1e-12. The planted slice comes first."""
    df, sdf = synth
    want = find_slices(df, "loss", features=SYNTH, k=10, max_level=2, min_support=0.001)
    got = find_slices(sdf, "loss", features=SYNTH, k=10, max_level=2, min_support=0.001)
    assert want.settings["constant_features_skipped"] == ["const"]
    assert not want.binary_errors
    assert_same(got, want, exact=False)
    assert got.table["slice"].iloc[0] == "region = north AND plan = basic"
    levels = {f["feature"]: f["levels"] for f in got.encoding.to_dict()}
    assert levels["tenure"][:3] == ["0", "1", "2"] and levels["grade"] == ["0.5", "1.5", "2.5"]
    assert levels["flag"] == ["False", "True"] and levels["region"][-1] == "(missing)"


def test_uniform_and_given_bins_equal_memory(synth):
    """Equal-width bins (``gain``), a count of them (``age``: 4) and given inner edges (``income``)."""
    df, sdf = synth
    feats = ["age", "income", "gain", "plan"]
    bins = {"income": [1e4, 3e4, 1e5], "age": 4}
    want = find_slices(df, "wrong", features=feats, k=5, max_level=1, bins=bins, binning="uniform")
    got = find_slices_spark(sdf, "wrong", features=feats, k=5, max_level=1, bins=bins, binning="uniform")
    assert_same(got, want, exact=True)
    edges = {f["feature"]: f["edges"] for f in got.encoding.to_dict() if f["binned"]}
    assert edges["income"][1:-1] == [1e4, 3e4, 1e5] and len(edges["age"]) == 5


# ---------------------------------------------------------------- partitioning


def _partitioned(sdf, how):
    from pyspark.sql import functions as F

    if how == "skewed":  # nine rows in ten in one partition, the rest spread over six
        idx = F.monotonically_increasing_id()
        key = F.when(F.rand(seed=3) < 0.9, F.lit(0)).otherwise(F.pmod(F.hash(idx), F.lit(6)) + 1)
        return sdf.withColumn("_part", key).repartition(7, "_part").drop("_part")
    return sdf.repartition(how)


@pytest.mark.parametrize("how", [1, 2, 7, "skewed"])
def test_partitioning_changes_no_number(synth, how):
    """1, 2, 7 partitions or a skewed split: with 0/1 errors every number is identical to memory's."""
    from pyspark.sql import functions as F

    df, sdf = synth
    feats = ["region", "plan", "age", "income", "flag"]
    part = _partitioned(sdf.select(*feats, "wrong"), how)
    assert part.rdd.getNumPartitions() == (7 if how == "skewed" else how)
    if how == "skewed":
        sizes = [r["count"] for r in part.groupBy(F.spark_partition_id().alias("p")).count().collect()]
        assert max(sizes) >= 0.85 * N and len(sizes) >= 3
    want = find_slices(df, "wrong", features=feats, k=6, max_level=2)
    got = find_slices(part, "wrong", features=feats, k=6, max_level=2)
    assert_same(got, want, exact=True)


# ---------------------------------------------------------------- errors


def _message(fn, *args, **kw):
    with pytest.raises((DataValidationError, RoleError)) as exc:
        fn(*args, **kw)
    return type(exc.value), str(exc.value)


def test_errors_are_the_in_memory_errors(synth):
    """Bad input gets the in-memory path's error, word for word."""
    from pyspark.sql import functions as F

    df, sdf = synth
    small, ssmall = df.head(500).copy(), sdf.limit(500)
    cases = [
        ("wrong", {"features": ["region", "nope"]}),
        ("missing_col", {"features": ["region"]}),
        ("wrong", {"features": ["region"], "k": 0}),
        ("wrong", {"features": ["region"], "alpha": 1.5}),
        ("wrong", {"features": ["region"], "binning": "kmeans"}),
        ("wrong", {"features": ["age"], "bins": {"nope": 3}}),
        ("wrong", {"features": ["age"], "bins": 1}),
        ("wrong", {"features": []}),
    ]
    for errors, kw in cases:
        assert _message(find_slices, ssmall, errors, **kw) == _message(find_slices, small, errors, **kw), kw
    # values of the error column: negative, missing
    neg = small.assign(e=small["loss"] - 0.5)
    assert (_message(find_slices, _spark_frame(sdf.sparkSession, neg), "e", features=["plan"])
            == _message(find_slices, neg, "e", features=["plan"]))
    nan = small.assign(e=np.where(np.arange(len(small)) % 100 == 0, np.nan, small["wrong"]))
    want = _message(find_slices, nan, "e", features=["plan"])
    assert "5 missing or infinite" in want[1]
    assert _message(find_slices, _spark_frame(sdf.sparkSession, nan), "e", features=["plan"]) == want
    # no rows at all
    assert (_message(find_slices, ssmall.where("age < 0"), "wrong", features=["plan"])
            == _message(find_slices, small.head(0), "wrong", features=["plan"]))
    # a feature with every value missing
    empty = ssmall.withColumn("none", F.lit(None).cast("string"))
    assert (_message(find_slices, empty, "wrong", features=["none"])
            == _message(find_slices, small.assign(none=None), "wrong", features=["none"]))


def test_spark_only_errors_name_the_fix(synth):
    from pyspark.sql import functions as F

    df, sdf = synth
    kind, msg = _message(find_slices, sdf, np.zeros(N), features=["plan"])
    assert kind is DataValidationError and "column name or a Spark Column" in msg
    kind, msg = _message(find_slices, sdf, "region", features=["plan"])
    assert kind is DataValidationError and "errors column 'region' holds string values" in msg
    kind, msg = _message(find_slices, sdf, F.col("nope") * 2, features=["plan"])
    assert kind is DataValidationError and "errors expression does not apply" in msg
    kind, msg = _message(find_slices, sdf.withColumn("ages", F.array("age")), "wrong", features=["ages", "plan"])
    assert kind is DataValidationError and "'ages' hold nested values" in msg
    with pytest.raises(RoleError, match="must be a Spark DataFrame"):
        find_slices_spark(pd.DataFrame({"a": [1]}), "a")


def test_errors_as_a_spark_expression(synth):
    """A boolean Spark expression as the errors gives the in-memory slices of the same 0/1 errors."""
    from pyspark.sql import functions as F

    df, sdf = synth
    young = df[df["age"] < 40].reset_index(drop=True)
    want = find_slices(young, (young["wrong"] > 0).to_numpy(), features=["region", "plan"], k=3, max_level=2)
    got = find_slices(sdf.where(F.col("age") < 40), F.col("wrong") > 0, features=["region", "plan"], k=3,
                      max_level=2)
    assert_same(got, want, exact=True)
