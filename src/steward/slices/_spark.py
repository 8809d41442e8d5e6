"""Slice discovery over a Spark DataFrame: the in-memory SliceLine search, with the counting done by Spark.

The search needs, for each candidate slice, its size and summed error: sums over rows, so Spark computes
them and the driver does everything else exactly as :func:`steward.slices.find_slices` does.

1. Coding. One aggregation counts every feature's distinct values. Categories are their sorted values;
   a number is cut into bins whose edges are computed as in memory: NumPy's default quantiles (linear
   interpolation between two order statistics) need exact order statistics, which a sorted window over
   the distinct values gives (cut into value ranges so that no one task sorts a whole column); the
   interpolation then runs on the driver with NumPy's own arithmetic, so the edges are the in-memory
   edges bit for bit. Each row's features become integer codes in Spark (cached for the search).
2. Search. Each level of the lattice is one Spark aggregation: a row is counted once per feature
   combination the level needs (``explode``), grouped by (combination, cell) into size, summed error and
   largest error. The small count tables come to the driver, which prunes, scores and keeps the top k
   with the in-memory code.

Counts are identical to the in-memory ones. Summed errors are identical for 0/1 errors; a real-valued
loss is summed in another order than NumPy's, so its sums and scores agree to a relative 1e-12.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import reduce
from typing import Any

import numpy as np
import pandas as pd

from steward.errors import DataValidationError, RoleError
from steward.slices._encode import BINNINGS, MISSING, Encoding, FeatureCode, _fmt
from steward.slices._find import SliceReport
from steward.slices._sliceline import Lattice, _score, _score_bound, _TopK

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
    dtype = data.select(col.alias("e")).schema.fields[0].dataType
    if not isinstance(dtype, (NumericType, BooleanType)):
        raise DataValidationError(f"{what} holds {dtype.simpleString()} values, not numbers; give a non-negative "
                                  f"numeric loss per row (1.0 for a mistake, 0.0 otherwise)")
    return col.cast("double"), name


def _error_totals(data: Any, err: Any) -> tuple[int, float]:
    """Rows and summed error, after the same checks as in memory (finite, non-negative)."""
    from pyspark.sql import functions as F

    bad = err.isNull() | F.isnan(err) | (F.abs(err) == F.lit(math.inf))
    row = data.agg(F.count(F.lit(1)).alias("n"), F.sum(F.when(bad, F.lit(0.0)).otherwise(err)).alias("total"),
                   F.sum(F.when(bad, 1).otherwise(0)).alias("bad"),
                   F.sum(F.when(err < 0, 1).otherwise(0)).alias("neg")).collect()[0]
    if row["bad"]:
        raise DataValidationError(f"errors has {row['bad']} missing or infinite value(s); give a finite loss for "
                                  f"every row")
    if row["neg"]:
        raise DataValidationError("errors has negative values; SliceLine needs a non-negative loss per row")
    return int(row["n"]), float(row["total"] or 0.0)


class _Values:
    """Every feature's distinct values with their row counts, as one cached Spark table (``f``: the
    feature's position; one value column per Spark type among the features; ``d``: a number as a double)."""

    def __init__(self, data: Any, feats: list[str]) -> None:
        from pyspark import StorageLevel
        from pyspark.sql import functions as F
        from pyspark.sql.types import DoubleType, FloatType, NumericType

        types = {f.name: f.dataType for f in data.schema.fields}
        self.dtypes = [types[name] for name in feats]
        self.numeric = [isinstance(t, NumericType) for t in self.dtypes]
        slots: dict[str, Any] = {}
        for t in self.dtypes:
            slots.setdefault(t.simpleString(), t)
        self.slot = [f"v{list(slots).index(t.simpleString())}" for t in self.dtypes]
        names = [f"v{i}" for i in range(len(slots))]

        structs = []
        for i, name in enumerate(feats):
            value = _c(name)
            if isinstance(self.dtypes[i], (DoubleType, FloatType)):  # NaN is missing, as in pandas
                value = F.when(F.isnan(value), F.lit(None)).otherwise(value)
            parts = [(value if s == self.slot[i] else F.lit(None).cast(t)).alias(s)
                     for s, t in zip(names, slots.values())]
            structs.append(F.struct(F.lit(i).alias("f"), *parts))
        num = sorted({self.slot[i] for i in range(len(feats)) if self.numeric[i]})
        d = F.coalesce(*[F.col(s).cast("double") for s in num]) if num else F.lit(None).cast("double")
        counted = (data.select(F.explode(F.array(*structs)).alias("t")).select("t.*")
                   .groupBy("f", *names).count())
        present = reduce(lambda a, b: a | b, [F.col(s).isNotNull() for s in names])
        finite = F.col("d").isNotNull() & ~F.isnan("d") & (F.abs("d") != F.lit(math.inf))
        self.table = (counted.withColumn("d", d).withColumn("present", present).withColumn("fin", finite)
                      .persist(StorageLevel.MEMORY_AND_DISK))

    def summary(self) -> dict[int, Any]:
        """Per feature: distinct values, finite rows, the smallest finite value with its rows, the largest,
        and approximate cuts of the distinct finite values (used only to split the sorting work)."""
        from pyspark.sql import functions as F

        fin = F.col("fin")
        rows = self.table.groupBy("f").agg(
            F.sum(F.when(F.col("present"), 1).otherwise(0)).alias("nunique"),
            F.sum(F.when(F.col("present"), 0).otherwise(F.col("count"))).alias("missing"),
            F.sum(F.when(fin, 1).otherwise(0)).alias("distinct"),
            F.sum(F.when(fin, F.col("count")).otherwise(0)).alias("n"),
            F.min(F.when(fin, F.struct("d", "count"))).alias("low"),
            F.max(F.when(fin, F.col("d"))).alias("high"),
        ).collect()
        return {int(r["f"]): r for r in rows}

    def levels(self, feats: list[int]) -> dict[int, list]:
        """The values of category features, sorted (as ``pandas.Categorical`` sorts them)."""
        from pyspark.sql import functions as F

        if not feats:
            return {}
        rows = self.table.where(F.col("f").isin(feats) & F.col("present")).select("f", *sorted(set(self.slot))).collect()
        out: dict[int, list] = {f: [] for f in feats}
        for r in rows:
            f = int(r["f"])
            out[f].append(r[self.slot[f]])
        return {f: sorted(v) for f, v in out.items()}

    def order_statistics(self, wanted: dict[int, set[int]]) -> dict[int, dict[int, float]]:
        """Exact order statistics, in one Spark job: ``wanted[f]`` holds 0-based ranks among feature ``f``'s
        finite values (rows, not distinct values). Each number's distinct values are sorted by a window
        with running row counts (one task per number: a sort of its distinct values, not of its rows)."""
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        if not wanted:
            return {}
        ranks = F.lit(None).cast("array<bigint>")
        for f, rs in wanted.items():
            ranks = F.when(F.col("f") == f, F.array(*[F.lit(r) for r in sorted(rs)]).cast("array<bigint>")).otherwise(ranks)
        upto = Window.partitionBy("f").orderBy("d").rowsBetween(Window.unboundedPreceding, Window.currentRow)
        end = F.sum("count").over(upto)
        start = F.col("end") - F.col("count")
        found = (self.table.where(F.col("fin") & F.col("f").isin(list(wanted))).select("f", "d", "count")
                 .withColumn("end", end)
                 .select("f", "d", F.explode(F.filter(ranks, lambda r: (r >= start) & (r < F.col("end")))).alias("r"))
                 .collect())
        out: dict[int, dict[int, float]] = {f: {} for f in wanted}
        for r in found:
            out[int(r["f"])][int(r["r"])] = float(r["d"])
        return out

    def release(self) -> None:
        self.table.unpersist()


def _encode(data: Any, feats: list[str], bins: Any, binning: str) -> tuple[list[FeatureCode], list[Any]]:
    """Each feature's coding (as ``encode_features`` codes it) and its code as a Spark column expression."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import ArrayType, DoubleType, FloatType

    values = _Values(data, feats)
    try:
        summary = values.summary()
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
                    raise DataValidationError(f"feature {name!r} has no finite values (only infinities); leave "
                                              f"it out")
                plans.append(("bins", nb))
                if not explicit and binning == "quantile":
                    n, low_count = int(s["n"]), int(s["low"]["count"])
                    ranks = _ranks(n, np.linspace(0, 1, int(nb) + 1))
                    if s["distinct"] > 1:
                        ranks |= {r + low_count for r in _ranks(n - low_count, np.linspace(0, 1, int(nb)))}
                    wanted[i] = ranks | {0}
            else:
                plans.append(("levels", None))
        stats = values.order_statistics(wanted)
        levels = values.levels([i for i, (kind, _) in enumerate(plans) if kind == "levels"])
    finally:
        values.release()

    coded: list[FeatureCode] = []
    exprs: list[Any] = []
    for i, name in enumerate(feats):
        s = summary[i]
        value = _c(name)
        if isinstance(values.dtypes[i], (DoubleType, FloatType)):
            value = F.when(F.isnan(value), F.lit(None)).otherwise(value)
        kind, nb = plans[i]
        if kind == "bins":
            lo, hi = float(s["low"]["d"]), float(s["high"])
            if not isinstance(nb, (int, np.integer)):
                inner = np.asarray(sorted(float(b) for b in nb))
                edges = np.concatenate([[min(lo, inner[0])], inner, [max(hi, inner[-1])]])
            elif binning == "quantile":
                at = stats[i].__getitem__
                edges = _quantile_edges(int(s["n"]), int(s["distinct"]), int(s["low"]["count"]), int(nb), at)
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
            fc = FeatureCode(name, [str(v) for v in vals], values=list(vals))
            keys = F.array(*[F.lit(v) for v in vals]).cast(ArrayType(values.dtypes[i]))
            lookup = F.map_from_arrays(keys, F.array(*[F.lit(j) for j in range(len(vals))]))
            code = F.try_element_at(lookup, value)
        missing = len(fc.levels)
        if s["missing"]:
            fc.levels.append(MISSING)
        coded.append(fc)
        exprs.append(F.when(value.isNull(), F.lit(missing if MISSING in fc.levels else -1)).otherwise(code))
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
            cell = reduce(lambda a, b: a + b, [F.col(f"c{f}").cast("long") * F.lit(int(r)) for f, r in zip(feats, radix)])
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
    candidates, bounds, pruning and top-k (``_score``, ``_score_bound`` and ``_TopK`` are the in-memory ones)."""
    cards_a = np.asarray(cards, dtype=np.int64)
    m = len(cards)
    offsets = np.concatenate([[0], np.cumsum(cards_a)])
    e_bar = total / n if n else 0.0

    def bits(slices: list) -> np.ndarray:
        out = np.zeros((len(slices), int(offsets[-1]) + 1), dtype=np.int8)
        for i, s in enumerate(slices):
            for f, c in s:
                out[i, offsets[f] + c] = 1
        return out

    top = _TopK(k, bits)
    if n == 0 or e_bar <= 0 or m == 0:
        return Lattice([], np.zeros((0, 4)), 0, 0, e_bar)

    def progress(stage: str, frac: float) -> None:
        if on_progress is not None:
            on_progress(stage, frac)

    lvl_slices: list[tuple] = []
    lvl_stats: list[np.ndarray] = []
    for f, (cell, ss, se, sm) in enumerate(_count_cells(coded, [(f,) for f in range(m)], cards_a)):
        ok = (ss >= min_support) & (se > 0)
        for c, a, b, d in zip(cell[ok], ss[ok], se[ok], sm[ok]):
            lvl_slices.append(((f, int(c)),))
            lvl_stats.append(np.array([0.0, b, d, a]))
    progress("level 1", 1.0)
    stats = np.array(lvl_stats).reshape(-1, 4)
    if len(stats):
        stats[:, 0] = _score(stats[:, 3], stats[:, 1], n, alpha, e_bar)
    top.add(lvl_slices, stats, min_support)
    evaluated = len(lvl_slices)
    level = 1
    items = lvl_slices
    parents = {s: st for s, st in zip(lvl_slices, stats)}

    while parents and level < min(m, max_level):
        level += 1
        cand: list[tuple] = []
        bounds: list[tuple[float, float, float]] = []
        for p in parents:
            last = p[-1][0]
            for (it,) in items:
                if it[0] <= last:
                    continue
                c = p + (it,)
                ss_ub, se_ub, sm_ub = np.inf, np.inf, np.inf
                complete = True
                for drop in range(level):
                    st = parents.get(c[:drop] + c[drop + 1:])
                    if st is None:
                        complete = False
                        break
                    ss_ub, se_ub, sm_ub = min(ss_ub, st[3]), min(se_ub, st[1]), min(sm_ub, st[2])
                if complete:
                    cand.append(c)
                    bounds.append((ss_ub, se_ub, sm_ub))
        if not cand:
            break
        b = np.array(bounds)
        ub = _score_bound(b[:, 0], b[:, 1], b[:, 2], n, alpha, e_bar, min_support)
        keep = (ub >= top.threshold()) & (ub > 0) & (b[:, 0] >= min_support)
        cand = [c for c, ok in zip(cand, keep) if ok]
        by_feats: dict[tuple[int, ...], list[tuple]] = {}
        for c in cand:
            by_feats.setdefault(tuple(f for f, _ in c), []).append(c)
        counted = _count_cells(coded, list(by_feats), cards_a) if by_feats else []
        new_slices: list[tuple] = []
        new_stats: list[np.ndarray] = []
        for (feats, group), (cell, ss, se, sm) in zip(by_feats.items(), counted):
            radix = np.cumprod([1] + [int(cards_a[f]) for f in feats[:0:-1]])[::-1]
            want = np.array([[v for _, v in c] for c in group], dtype=np.int64) @ radix
            pos = np.searchsorted(cell, want)
            found = np.zeros(len(want), dtype=bool)
            inside = pos < len(cell)
            found[inside] = cell[pos[inside]] == want[inside]
            st = np.zeros((len(group), 4))
            idx = pos[found]
            st[found, 1], st[found, 2], st[found, 3] = se[idx], sm[idx], ss[idx]
            new_slices.extend(group)
            new_stats.append(st)
        progress(f"level {level}", 1.0)
        evaluated += len(new_slices)
        stats = np.concatenate(new_stats) if new_stats else np.zeros((0, 4))
        if len(stats):
            stats[:, 0] = _score(stats[:, 3], stats[:, 1], n, alpha, e_bar)
        top.add(new_slices, stats, min_support)
        ok = (stats[:, 3] >= min_support) & (stats[:, 1] > 0)
        parents = {s: st for s, st, good in zip(new_slices, stats, ok) if good}

    return Lattice(top.slices, top.stats, level, evaluated, e_bar)


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
        absent = [f for f in feats if f not in data.columns]
        if absent:
            raise DataValidationError(f"feature column(s) {', '.join(map(repr, absent))} not in the data; "
                                      f"the columns are: {', '.join(map(str, data.columns))}")
        if isinstance(bins, Mapping):
            unknown = [b for b in bins if b not in feats]
            if unknown:
                raise RoleError(f"bins names {', '.join(map(repr, unknown))}, which are not among the features "
                                f"({', '.join(feats)})")
        n, total = _error_totals(data, err)
        support = (int(min_support * n) if isinstance(min_support, float) and min_support < 1
                   else int(min_support))
        if on_progress is not None:
            on_progress("coding", 0.0)
        coded_features, exprs = _encode(data, feats, bins, binning)
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
    records, preds = [], []
    for s, (score, se, _sm, ss) in zip(lat.slices, lat.stats):
        rate = se / ss
        rest = (total - se) / (n - ss) if n > ss else float("nan")
        records.append({
            "slice": " AND ".join(enc.features[f].predicate(c) for f, c in s),
            "level": len(s), "size": int(ss), "share": ss / n, "errors": float(se), "error_rate": rate,
            "rest_error_rate": rest,
            "error_ratio": rate / rest if rest and rest > 0 else float("inf"),
            "lift": rate / lat.mean_error if lat.mean_error > 0 else float("nan"),
            "score": float(score),
        })
        preds.append([(enc.features[f].name, enc.features[f].levels[c]) for f, c in s])
    cols = ["slice", "level", "size", "share", "errors", "error_rate", "rest_error_rate", "error_ratio", "lift", "score"]
    return SliceReport(
        table=pd.DataFrame(records, columns=cols),
        predicates=preds,
        rows=n,
        mean_error=float(lat.mean_error),
        settings={"k": int(k), "max_level": int(max_level), "alpha": float(alpha), "min_support": support,
                  "bins": bins if isinstance(bins, int) else dict(bins), "binning": binning, "features": feats,
                  "constant_features_skipped": constant},
        encoding=enc,
        levels_searched=lat.levels_searched,
        candidates_evaluated=lat.candidates_evaluated,
        slice_codes=list(lat.slices),
    )
