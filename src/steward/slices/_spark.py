"""Slice discovery over a Spark DataFrame: the in-memory SliceLine search, with the counting done by Spark.

The search needs, for each candidate slice, its size and summed error: sums over rows, so Spark computes
them and the driver does everything else exactly as :func:`steward.slices.find_slices` does.

1. Coding (two Spark jobs). One aggregation counts every feature's distinct values (and checks the
   errors). Categories are their sorted values. A number is cut into bins whose edges are computed as in
   memory: NumPy's default quantiles interpolate between two order statistics, which a window over the
   number's sorted distinct values with running row counts gives exactly; the interpolation then runs on
   the driver with NumPy's own arithmetic, so the edges are the in-memory edges bit for bit. Each row's
   features then become integer codes in Spark, cached for the search.
2. Search (a job per level). Each level of the lattice is one Spark job: a row is counted once per
   feature combination the level needs (``explode``), grouped by (combination, cell) into size, summed
   error and largest error; with few features the pairs are counted with the single features. The small
   count tables come to the driver, which prunes, scores and keeps the top k with the in-memory code.

Counts are identical to the in-memory ones, whatever the partitioning. Summed errors are identical for
0/1 errors; a real-valued loss is summed in another order than NumPy's, so its sums and scores agree to a
relative 1e-12.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import reduce
from typing import Any

import numpy as np

from steward.errors import DataValidationError, RoleError
from steward.slices._encode import BINNINGS, MISSING, Encoding, FeatureCode, _fmt, check_names
from steward.slices._find import SliceReport, _not_numbers, _report
from steward.slices._sliceline import Lattice, search

__all__ = ["find_slices_spark"]

_PANDAS3 = "PySpark does not yet fully support pandas"
_CHUNK = 48  # feature combinations per aggregation (hundreds in one make Spark's generated code too large)

Progress = Callable[[str, float], None]


@contextmanager
def _quiet() -> Iterator[None]:
    """PySpark's pandas-3 warning says nothing about this path, which converts nothing through pandas."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_PANDAS3, category=FutureWarning)
        yield


def _c(name: str) -> Any:
    """A column by its exact name (backquoted: a dot in a name is not a struct field)."""
    from pyspark.sql import functions as F

    return F.col("`" + name.replace("`", "``") + "`")


def _indexes(n: int, q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """NumPy's ``linear`` quantile method for ``n`` sorted values: the two ranks each quantile lies
    between, and the weight of the upper one (NumPy takes the largest value at and above rank n-1)."""
    vi = (n - 1) * np.asarray(q, dtype=float)
    prev = np.floor(vi)
    nxt = prev + 1
    top = vi >= n - 1
    prev[top] = n - 1
    nxt[top] = n - 1
    gamma = vi - prev
    gamma[top] = 0.0
    return prev.astype(np.int64), nxt.astype(np.int64), gamma


def linear_quantiles(n: int, q: np.ndarray, at: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """``np.quantile(x, q)`` (method ``linear``) of a sorted sample of ``n`` values known only through
    ``at(ranks)``, the order statistics at 0-based ranks: the same index, weight and interpolation
    arithmetic as NumPy's, so the result is bit for bit NumPy's."""
    prev, nxt, gamma = _indexes(n, q)
    a = np.asarray(at(prev), dtype=float)
    b = np.asarray(at(nxt), dtype=float)
    diff = b - a
    out = a + diff * gamma
    upper = gamma >= 0.5
    out[upper] = (b - diff * (1 - gamma))[upper]
    return out


def _ranks(n: int, q: np.ndarray) -> set[int]:
    """The order statistics :func:`linear_quantiles` reads for ``n`` values."""
    prev, nxt, _ = _indexes(n, q)
    return {int(r) for r in np.concatenate([prev, nxt])}


def _quantile_edges(n: int, distinct: int, low_count: int, bins: int, at: Callable[[int], float]) -> np.ndarray:
    """The quantile-bin edges of ``steward.slices._encode._bin_edges`` from order statistics ``at(rank)``."""
    get = np.vectorize(at, otypes=[float])
    edges = np.unique(linear_quantiles(n, np.linspace(0, 1, bins + 1), get))
    if len(edges) < 3 and distinct > 1:
        # one value holds most rows: it gets a bin, the rest (the ranks above its rows) are binned
        rest = linear_quantiles(n - low_count, np.linspace(0, 1, bins), lambda r: get(r + low_count))
        edges = np.unique(np.concatenate([[at(0)], rest]))
    return edges


def _check_settings(k: Any, max_level: Any, alpha: Any, min_support: Any, binning: str) -> None:
    if not (isinstance(k, (int, np.integer)) and k >= 1):
        raise RoleError(f"k must be a whole number >= 1, got {k!r}")
    if not (isinstance(max_level, (int, np.integer)) and max_level >= 1):
        raise RoleError(f"max_level must be a whole number >= 1, got {max_level!r}")
    if not (0 < alpha <= 1):
        raise RoleError(f"alpha must be in (0, 1], got {alpha!r}")
    if min_support < 0 or (isinstance(min_support, float) and min_support >= 1 and not float(min_support).is_integer()):
        raise RoleError(f"min_support must be a row count >= 0 or a share below 1, got {min_support!r}")
    if binning not in BINNINGS:
        raise RoleError(f"binning must be one of {', '.join(BINNINGS)}, got {binning!r}")


def _error_column(data: Any, errors: Any) -> tuple[Any, str | None]:
    """The per-row error as a double column, and its column name when it is one."""
    from pyspark.sql import Column
    from pyspark.sql.types import BooleanType, NumericType

    if isinstance(errors, str):
        if errors not in data.columns:
            raise DataValidationError(f"errors column {errors!r} is not in the data")
        col, name, what = _c(errors), errors, f"errors column {errors!r}"
    elif isinstance(errors, Column):
        col, name, what = errors, None, "the errors expression"
    else:
        raise DataValidationError(f"errors must be a column name or a Spark Column on a Spark DataFrame (an "
                                  f"array has no row order to match), got {type(errors).__name__}; add the "
                                  f"per-row error as a column")
    from pyspark.errors import AnalysisException

    try:
        dtype = data.select(col.alias("e")).schema.fields[0].dataType
    except AnalysisException as exc:
        raise DataValidationError(f"the errors expression does not apply to this data: "
                                  f"{str(exc).splitlines()[0]}") from None
    if not isinstance(dtype, (NumericType, BooleanType)):
        raise DataValidationError(_not_numbers(what, dtype.simpleString()))
    return col.cast("double"), name


class _Values:
    """Every feature's distinct values with their rows and error sums, as one cached Spark table (``f``: the
    feature's position; one value column per Spark type among the features; ``d``: a number as a double)."""

    def __init__(self, data: Any, feats: list[str], err: Any) -> None:
        from pyspark import StorageLevel
        from pyspark.sql import functions as F
        from pyspark.sql.types import NumericType

        types = {f.name: f.dataType for f in data.schema.fields}
        self.dtypes = [types[name] for name in feats]
        self.numeric = [isinstance(t, NumericType) for t in self.dtypes]
        self.slots: dict[str, Any] = {}  # one value column per Spark type: v0, v1, ...
        by_type: dict[str, str] = {}
        for t in self.dtypes:
            if t.simpleString() not in by_type:
                by_type[t.simpleString()] = f"v{len(by_type)}"
                self.slots[by_type[t.simpleString()]] = t
        self.slot = [by_type[t.simpleString()] for t in self.dtypes]
        structs = []
        for i, name in enumerate(feats):
            parts = [(_value(name, self.dtypes[i]) if s == self.slot[i] else F.lit(None).cast(u)).alias(s)
                     for s, u in self.slots.items()]
            structs.append(F.struct(F.lit(i).alias("f"), *parts))
        num = sorted({self.slot[i] for i in range(len(feats)) if self.numeric[i]})
        d = F.coalesce(*[F.col(s).cast("double") for s in num]) if num else F.lit(None).cast("double")
        bad = err.isNull() | F.isnan(err) | (F.abs(err) == F.lit(math.inf))
        counted = (data.select(F.explode(F.array(*structs)).alias("t"),
                               F.when(bad, F.lit(0.0)).otherwise(err).alias("e"), bad.cast("int").alias("bad"),
                               (err < 0).cast("int").alias("neg"))
                   .select("t.*", "e", "bad", "neg")
                   .groupBy("f", *self.slots)
                   .agg(F.count(F.lit(1)).alias("count"), F.sum("e").alias("se"), F.sum("bad").alias("bad"),
                        F.sum("neg").alias("neg")))
        present = reduce(lambda a, b: a | b, [F.col(s).isNotNull() for s in self.slots])
        finite = F.col("d").isNotNull() & ~F.isnan("d") & (F.abs("d") != F.lit(math.inf))
        self.table = (counted.withColumn("d", d).withColumn("present", present).withColumn("fin", finite)
                      .persist(StorageLevel.MEMORY_AND_DISK))

    def summary(self) -> tuple[dict[int, Any], int, float]:
        """Per feature: distinct values, missing rows, finite rows, the smallest finite value with its
        rows, the largest; and the rows and summed error, after the in-memory checks of the errors."""
        from pyspark.sql import functions as F

        fin = F.col("fin")
        rows = self.table.groupBy("f").agg(
            F.sum(F.when(F.col("present"), 1).otherwise(0)).alias("nunique"),
            F.sum(F.when(F.col("present"), 0).otherwise(F.col("count"))).alias("missing"),
            F.sum(F.when(fin, 1).otherwise(0)).alias("distinct"),
            F.sum(F.when(fin, F.col("count")).otherwise(0)).alias("n"),
            F.min(F.when(fin, F.struct("d", "count"))).alias("low"),
            F.max(F.when(fin, F.col("d"))).alias("high"),
            F.sum("count").alias("rows"), F.sum("se").alias("se"), F.sum("bad").alias("bad"),
            F.sum("neg").alias("neg"),
        ).collect()
        summary = {int(r["f"]): r for r in rows}
        first = summary.get(0)  # every row counts once under every feature: any feature gives the totals
        if first is not None and first["bad"]:
            raise DataValidationError(f"errors has {first['bad']} missing or infinite value(s); give a finite loss "
                                      f"for every row")
        if first is not None and first["neg"]:
            raise DataValidationError("errors has negative values; SliceLine needs a non-negative loss per row")
        return summary, int(first["rows"]) if first else 0, float(first["se"]) if first else 0.0

    def fetch(self, wanted: dict[int, set[int]], categories: list[int]) -> tuple[dict[int, dict[int, float]],
                                                                                dict[int, list]]:
        """In one Spark job: exact order statistics of numbers (``wanted[f]``: 0-based ranks among feature
        ``f``'s finite values, counted in rows), and the sorted values of the ``categories`` features.

        A number's distinct values are sorted by a window with running row counts: one task per number,
        sorting its distinct values (not its rows)."""
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        nulls = [F.lit(None).cast(u).alias(s) for s, u in self.slots.items()]
        parts = []
        if wanted:
            ranks = F.lit(None).cast("array<bigint>")
            for f, rs in wanted.items():
                ranks = F.when(F.col("f") == f, F.array(*[F.lit(r) for r in sorted(rs)]).cast("array<bigint>")
                               ).otherwise(ranks)
            upto = Window.partitionBy("f").orderBy("d").rowsBetween(Window.unboundedPreceding, Window.currentRow)
            start = F.col("end") - F.col("count")
            parts.append(self.table.where(F.col("fin") & F.col("f").isin(list(wanted))).select("f", "d", "count")
                         .withColumn("end", F.sum("count").over(upto))
                         .select("f", "d", F.explode(F.filter(ranks, lambda r: (r >= start) & (r < F.col("end"))))
                                 .alias("r"), *nulls))
        if categories:
            parts.append(self.table.where(F.col("f").isin(categories) & F.col("present"))
                         .select("f", F.lit(None).cast("double").alias("d"), F.lit(None).cast("bigint").alias("r"),
                                 *self.slots))
        stats: dict[int, dict[int, float]] = {f: {} for f in wanted}
        levels: dict[int, list] = {f: [] for f in categories}
        if parts:
            for row in reduce(lambda a, b: a.unionByName(b), parts).collect():
                f = int(row["f"])
                if row["r"] is not None:
                    stats[f][int(row["r"])] = float(row["d"])
                else:
                    levels[f].append(row[self.slot[f]])
        return stats, {f: sorted(v) for f, v in levels.items()}  # sorted as pandas.Categorical sorts them

    def release(self) -> None:
        self.table.unpersist()


def _value(name: str, dtype: Any) -> Any:
    """A feature's value, with a float's NaN as missing (null), as pandas counts it."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import DoubleType, FloatType

    col = _c(name)
    return F.when(F.isnan(col), F.lit(None)).otherwise(col) if isinstance(dtype, (DoubleType, FloatType)) else col


def _encode(values: _Values, summary: dict[int, Any], feats: list[str], bins: Any,
            binning: str) -> tuple[list[FeatureCode], list[Any]]:
    """Each feature's coding (as ``encode_features`` codes it) and its code as a Spark column expression."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import ArrayType, FloatType

    plans: list[tuple[str, Any]] = []
    wanted: dict[int, set[int]] = {}
    for i, name in enumerate(feats):
        nb = bins.get(name, 10) if isinstance(bins, Mapping) else bins
        if isinstance(nb, (int, np.integer)) and nb < 2:
            raise RoleError(f"bins for {name!r} must be at least 2, got {nb}")
        s = summary.get(i)
        if s is None or not s["nunique"]:
            raise DataValidationError(f"feature {name!r} has no values (every row is missing); leave it out")
        explicit = not isinstance(nb, (int, np.integer))
        if values.numeric[i] and (explicit or s["nunique"] > nb):
            if not s["n"]:
                raise DataValidationError(f"feature {name!r} has no finite values (only infinities); leave it out")
            plans.append(("bins", nb))
            if not explicit and binning == "quantile":
                n, low_count = int(s["n"]), int(s["low"]["count"])
                ranks = _ranks(n, np.linspace(0, 1, int(nb) + 1))
                if s["distinct"] > 1:
                    ranks |= {r + low_count for r in _ranks(n - low_count, np.linspace(0, 1, int(nb)))}
                wanted[i] = ranks | {0}
        else:
            plans.append(("levels", None))
    stats, levels = values.fetch(wanted, [i for i, (kind, _) in enumerate(plans) if kind == "levels"])

    coded: list[FeatureCode] = []
    exprs: list[Any] = []
    for i, name in enumerate(feats):
        s = summary[i]
        value = _value(name, values.dtypes[i])
        kind, nb = plans[i]
        if kind == "bins":
            lo, hi = float(s["low"]["d"]), float(s["high"])
            if not isinstance(nb, (int, np.integer)):
                inner = np.asarray(sorted(float(b) for b in nb))
                edges = np.concatenate([[min(lo, inner[0])], inner, [max(hi, inner[-1])]])
            elif binning == "quantile":
                edges = _quantile_edges(int(s["n"]), int(s["distinct"]), int(s["low"]["count"]), int(nb),
                                        stats[i].__getitem__)
            else:
                edges = np.unique(np.linspace(lo, hi, int(nb) + 1))
            labels = [f"[{_fmt(a)}, {_fmt(b)}{']' if j == len(edges) - 2 else ')'}"
                      for j, (a, b) in enumerate(zip(edges[:-1], edges[1:]))]
            fc = FeatureCode(name, labels, edges=[float(e) for e in edges])
            x = value.cast("double")
            # np.searchsorted(edges[1:-1], x, side="right"): how many inner edges are at or below x
            code = reduce(lambda a, b: a + b, [(x >= F.lit(float(e))).cast("int") for e in edges[1:-1]], F.lit(0))
        else:
            vals = levels[i]
            # a float column's values come back widened to Python floats: named as NumPy names a float32
            words = [str(np.float32(v)) for v in vals] if isinstance(values.dtypes[i], FloatType) else map(str, vals)
            fc = FeatureCode(name, list(words), values=list(vals))
            keys = F.array(*[F.lit(v) for v in vals]).cast(ArrayType(values.dtypes[i]))
            lookup = F.map_from_arrays(keys, F.array(*[F.lit(j) for j in range(len(vals))]))
            code = F.try_element_at(lookup, value)
        missing = len(fc.levels)
        if s["missing"]:
            fc.levels.append(MISSING)
        coded.append(fc)
        exprs.append(F.when(value.isNull(), F.lit(missing if s["missing"] else -1)).otherwise(code))
    return coded, exprs


def _count_cells(coded: Any, combos: list[tuple[int, ...]], cards: np.ndarray) -> list[tuple[np.ndarray, ...]]:
    """For each feature combination: its occurring cells (mixed-radix keys, as in memory, sorted) with
    size, summed error and largest error. One Spark job: each row is counted once per combination
    (``explode``), a few dozen combinations per aggregation so that the generated code stays small."""
    from pyspark.sql import functions as F

    parts = []
    for lo in range(0, len(combos), _CHUNK):
        keys = []
        for g in range(lo, min(lo + _CHUNK, len(combos))):
            feats = combos[g]
            radix = np.cumprod([1] + [int(cards[f]) for f in feats[:0:-1]])[::-1]
            cell = reduce(lambda a, b: a + b,
                          [F.col(f"c{f}").cast("long") * F.lit(int(r)) for f, r in zip(feats, radix)])
            keys.append(F.struct(F.lit(g).alias("g"), cell.alias("cell")))
        parts.append(coded.select(F.explode(F.array(*keys)).alias("k"), "e")
                     .groupBy(F.col("k.g").alias("g"), F.col("k.cell").alias("cell"))
                     .agg(F.count(F.lit(1)).alias("ss"), F.sum("e").alias("se"), F.max("e").alias("sm")))
    table = reduce(lambda a, b: a.unionAll(b), parts).toArrow()
    g = table.column("g").to_numpy()
    cell = table.column("cell").to_numpy().astype(np.int64)
    ss, se, sm = (table.column(c).to_numpy().astype(float) for c in ("ss", "se", "sm"))
    order = np.lexsort((cell, g))
    g, cell, ss, se, sm = g[order], cell[order], ss[order], se[order], sm[order]
    bounds = np.searchsorted(g, np.arange(len(combos) + 1))
    return [(cell[a:b], ss[a:b], se[a:b], sm[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]


def _search(coded: Any, cards: list[int], n: int, total: float, *, k: int, max_level: int, alpha: float,
            min_support: int, on_progress: Progress | None) -> Lattice:
    """``steward.slices.sliceline`` with each level's counting pass as one Spark aggregation: the same
    search (:func:`steward.slices._sliceline.search`), given Spark's counts."""
    cards_a = np.asarray(cards, dtype=np.int64)
    m = len(cards)
    # with few features, every pair is counted in the same pass as the single features: one Spark job
    # fewer, for cells the second level would count anyway unless a whole pair of features is pruned
    few = max_level >= 2 and m * (m - 1) <= 4 * _CHUNK
    pairs = [(a, b) for a in range(m) for b in range(a + 1, m)] if few else []
    counted: dict[tuple[int, ...], tuple[np.ndarray, ...]] = {}

    def count(combos: list[tuple[int, ...]], stage: str) -> list[tuple[np.ndarray, ...]]:
        first = stage == "level 1"
        need = [c for c in combos if c not in counted] + (pairs if first else [])
        if need:
            counted.update(zip(need, _count_cells(coded, need, cards_a)))
        out = [counted.pop(c) for c in combos]
        if not first:
            counted.clear()
        if on_progress is not None:
            on_progress(stage, 1.0)
        return out

    return search(count, cards_a, n, total / n if n else 0.0, k=k, max_level=max_level, alpha=alpha,
                  min_support=min_support)


def find_slices_spark(
    data: Any,
    errors: Any,
    *,
    features: Sequence[str] | None = None,
    k: int = 10,
    max_level: int = 3,
    alpha: float = 0.95,
    min_support: int | float = 32,
    bins: int | Mapping[str, int | Sequence[float]] = 10,
    binning: str = "quantile",
    on_progress: Progress | None = None,
) -> SliceReport:
    """:func:`steward.slices.find_slices` over a Spark DataFrame: the same top-k slices, sizes, error
    rates and scores, with the counting done by Spark and only small count tables brought to the driver.

    Parameters
    ----------
    data : pyspark.sql.DataFrame
        One row per person (any partitioning: the result does not depend on it).
    errors : str or pyspark.sql.Column
        Per-row error: a numeric (or boolean) column's name, or a Spark expression such as
        ``(F.col("label") != F.col("decision")).cast("double")``. Missing, infinite and negative values
        are refused, as in memory.
    features, k, max_level, alpha, min_support, bins, binning, on_progress
        As for :func:`steward.slices.find_slices`. A float or double column's NaN is a missing value, as
        in pandas; numbers (Spark's numeric types) are binned exactly as in memory.

    Returns
    -------
    SliceReport
        The in-memory report: the same table, encoding and settings. Sizes and 0/1 error sums are
        identical to the in-memory ones; a real-valued loss is summed in another order than NumPy's, so its
        sums and scores agree to a relative 1e-12 (and a slice scoring within that of the k-th may swap).
        ``report.encoding.codes`` is empty: the codes stay in Spark.

    Examples
    --------
    >>> from pyspark.sql import functions as F  # doctest: +SKIP
    >>> wrong = (F.col("income") != F.col("predicted")).cast("double")  # doctest: +SKIP
    >>> find_slices_spark(spark.read.parquet("decisions/"), wrong, features=["age", "sex"]).to_frame()  # doctest: +SKIP
    """
    from steward.engine._spark import is_spark_frame, require_spark

    require_spark()
    if not is_spark_frame(data):
        raise RoleError(f"data must be a Spark DataFrame, got {type(data).__name__}")
    from pyspark import StorageLevel

    with _quiet():
        err, err_name = _error_column(data, errors)
        _check_settings(k, max_level, alpha, min_support, binning)
        feats = list(features) if features is not None else [c for c in data.columns if c != err_name]
        if not feats:
            raise RoleError("no features to slice on; give features=[...]")
        check_names(list(data.columns), feats, bins)
        nested = [f.name for f in data.schema.fields if f.name in feats
                  and type(f.dataType).__name__ in ("ArrayType", "MapType", "StructType", "VariantType")]
        if nested:
            raise DataValidationError(f"feature column(s) {', '.join(map(repr, nested))} hold nested values "
                                      f"(arrays, maps or structs); slice on plain columns, or flatten them first")
        if on_progress is not None:
            on_progress("coding", 0.0)
        values = _Values(data, feats, err)
        try:
            summary, n, total = values.summary()
            coded_features, exprs = _encode(values, summary, feats, bins, binning)
        finally:
            values.release()
        if on_progress is not None:
            on_progress("coding", 1.0)
        support = (int(min_support * n) if isinstance(min_support, float) and min_support < 1
                   else int(min_support))
        # a feature with one value only adds always-true predicates (ties of every slice): leave it out
        constant = [fc.name for fc in coded_features if len(fc.levels) < 2]
        keep = [i for i, fc in enumerate(coded_features) if len(fc.levels) >= 2]
        enc = Encoding([coded_features[i] for i in keep], [])
        coded = data.select(*[exprs[i].alias(f"c{j}") for j, i in enumerate(keep)], err.alias("e"))
        coded = coded.persist(StorageLevel.MEMORY_AND_DISK)
        try:
            lat = _search(coded, enc.cards, n, total, k=int(k), max_level=int(max_level), alpha=float(alpha),
                          min_support=support, on_progress=on_progress)
        finally:
            coded.unpersist()
    return _report(enc, lat, n, total, k=k, max_level=max_level, alpha=alpha, min_support=support, bins=bins,
                   binning=binning, features=feats, constant=constant)
