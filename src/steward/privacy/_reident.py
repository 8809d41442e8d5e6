"""Re-identification risk over quasi-identifiers: k-anonymity, l-diversity and t-closeness.

Records that share their values of every quasi-identifier (the columns an outsider could know about
a person: age, sex, zip code...) form an *equivalence class*; someone who knows those values of a
person finds them among the class's records. The smaller the class, the surer the match: a class of
one record identifies its person.

* **k-anonymity** (Sweeney, 2002): the size of the smallest class. Records in classes smaller than
  ``k``, and unique records (classes of one), are counted.
* **l-diversity** (Machanavajjhala et al., 2007), per sensitive attribute: *distinct* l is the fewest
  distinct sensitive values in a class; *entropy* l is the smallest ``exp(entropy)`` of a class's
  sensitive values (a class of two values split 50/50 has entropy l 2, split 90/10 about 1.38).
  Knowing someone's class tells their sensitive value when the class holds one value only.
* **t-closeness** (Li, Li and Venkatasubramanian, ICDE 2007): the largest distance between a class's
  distribution of the sensitive attribute and the whole table's, by the Earth Mover's Distance. For
  categories every two values are one apart, so it is the total variation distance (half the L1
  distance). For numbers the m distinct values are ordered and the ground distance of the i-th and
  j-th is |i - j| / (m - 1), so the distance is ``sum_i |sum_{j<=i} (p_j - q_j)| / (m - 1)``.

Missing values of a quasi-identifier form a class of their own (a blank is as visible as a value);
missing sensitive values count as one more value (for numbers, ordered after the largest).

Every figure comes from DuckDB group-bys, over the file itself for a CSV or Parquet path (nothing is
loaded into pandas) and over the registered frame for a DataFrame, so both give the same numbers. One
``GROUP BY`` over the quasi-identifiers also counts each class's sensitive values when an attribute
has at most ``PIVOT_MAX`` distinct values; an attribute with more gets its own group-by of (class,
value) counts, from which NumPy derives the same figures.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from steward._html import HtmlView
from steward.errors import DataValidationError

__all__ = ["ReidentificationReport", "reidentification_risk", "suggest_quasi_identifiers", "suppress_small_cells"]

# At most this many distinct values of a sensitive attribute are counted inside the class group-by (a counter
# per value per class); an attribute with more values gets a group-by of its own. Together the counted values
# of all attributes stay within PIVOT_TOTAL, so the group-by's state stays a few dozen counters a class.
PIVOT_MAX = 32
PIVOT_TOTAL = 64
CLASS_ROWS = 1000  # classes kept for the per-class table: the smallest ones (the riskiest)
SUGGEST_SAMPLE = 100_000  # rows suggest_quasi_identifiers looks at (a seeded sample of larger data)
_NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
            "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "REAL", "DECIMAL")
_TOL = 1e-9  # exp(entropy) of a class split evenly between 2 values is 2 only up to rounding


@dataclass
class ReidentificationReport(HtmlView):
    """How identifiable the records are from their quasi-identifiers.

    ``k_anonymity`` is the size of the smallest equivalence class (records sharing every
    quasi-identifier value); ``records_below_k`` and ``unique_records`` count the records in classes
    smaller than ``k`` and of size one. ``sizes`` holds, per class size, the number of classes and
    records; ``diversity`` one row per sensitive attribute (distinct and entropy l-diversity,
    t-closeness, the classes that miss ``l`` or ``t``); ``class_table`` the ``CLASS_ROWS`` smallest
    classes with their figures; ``coarsening`` how numeric quasi-identifiers were banded.
    """

    quasi_identifiers: list[str]
    sensitive: list[str]
    rows: int
    classes: int
    k_anonymity: int
    records_below_k: int
    classes_below_k: int
    unique_records: int
    sizes: pd.DataFrame
    diversity: pd.DataFrame
    class_table: pd.DataFrame
    k: int
    l: float
    t: float
    smallest: int = 10
    coarsening: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: str = "dataframe"

    @property
    def mean_class_size(self) -> float:
        return self.rows / self.classes

    @property
    def share_below_k(self) -> float:
        return self.records_below_k / self.rows

    @property
    def share_unique(self) -> float:
        return self.unique_records / self.rows

    @property
    def passes_k(self) -> bool:
        return self.k_anonymity >= self.k

    @property
    def passes(self) -> bool:
        """k-anonymous at ``k``, and every sensitive attribute l-diverse (entropy l, which implies distinct
        l) at ``l`` and t-close at ``t``."""
        d = self.diversity
        return self.passes_k and bool(d["passes_l"].all() and d["passes_t"].all()) if len(d) else self.passes_k

    def smallest_cells(self) -> pd.DataFrame:
        """The ``smallest`` smallest classes: their quasi-identifier values, size and sensitive figures."""
        return self.class_table.head(self.smallest)

    def buckets(self) -> pd.DataFrame:
        """Classes and records by class-size band (1, 2 to k-1, k to 2k-1, ...); ``below_k`` marks the risky bands."""
        bounds = sorted({1, 2, self.k, 2 * self.k, 5 * self.k, 10 * self.k})
        s = self.sizes
        out = []
        for lo, hi in zip(bounds, bounds[1:] + [None]):
            inside = (s["class_size"] >= lo) & (s["class_size"] < hi if hi else True)
            name = str(lo) if hi == lo + 1 else (f"{lo}+" if hi is None else f"{lo}-{hi - 1}")
            out.append({"class_size": name, "classes": int(s.loc[inside, "classes"].sum()),
                        "records": int(s.loc[inside, "records"].sum()),
                        "below_k": bool(hi is not None and hi <= self.k)})
        frame = pd.DataFrame(out)
        frame["share_of_records"] = frame["records"] / self.rows
        return frame

    def to_frame(self) -> pd.DataFrame:
        """The per-class table, bounded to the ``CLASS_ROWS`` smallest classes (smallest first)."""
        return self.class_table

    def to_dict(self) -> dict[str, Any]:
        from steward.debug._benchmark import json_rows

        return {"quasi_identifiers": list(self.quasi_identifiers), "sensitive": list(self.sensitive),
                "rows": self.rows, "classes": self.classes, "k_anonymity": self.k_anonymity,
                "records_below_k": self.records_below_k, "share_below_k": self.share_below_k,
                "classes_below_k": self.classes_below_k, "unique_records": self.unique_records,
                "share_unique": self.share_unique, "mean_class_size": self.mean_class_size,
                "k": self.k, "l": self.l, "t": self.t, "passes_k": self.passes_k, "passes": self.passes,
                "missing_values": "a missing quasi-identifier value forms a class of its own",
                "coarsening": self.coarsening, "sizes": json_rows(self.sizes, limit=len(self.sizes)),
                "diversity": json_rows(self.diversity, limit=len(self.diversity)),
                "smallest": json_rows(self.smallest_cells(), limit=self.smallest), "source": self.source}

    page_title = "Re-identification risk"
    page_kind = "probe"

    def html(self, heading: int = 2) -> str:
        """Page body: the verdict, records by class size, the smallest classes, l-diversity and t-closeness."""
        from steward.privacy._reident_html import reident_html

        return reident_html(self, heading)


def _q(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def _names(value: Any, what: str) -> list[str]:
    if value is None:
        return []
    names = [value] if isinstance(value, str) else list(value)
    twice = sorted({str(c) for c in names if names.count(c) > 1})
    if twice:
        raise DataValidationError(f"{what} names {', '.join(map(repr, twice))} more than once; name each column once")
    return [str(c) for c in names]


def _check_settings(k: Any, l: Any, t: Any, smallest: Any) -> None:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise DataValidationError(f"k must be a whole number of at least 1 (the smallest class size allowed), "
                                  f"got {k!r}")
    if isinstance(l, bool) or not isinstance(l, (int, float, np.number)) or not l >= 1:
        raise DataValidationError(f"l must be a number of at least 1 (sensitive values a class must hold), got {l!r}")
    if isinstance(t, bool) or not isinstance(t, (int, float, np.number)) or not 0 <= t <= 1:
        raise DataValidationError(f"t must be a distance between 0 and 1, got {t!r}")
    if isinstance(smallest, bool) or not isinstance(smallest, (int, np.integer)) or smallest < 1:
        raise DataValidationError(f"smallest must be a whole number of at least 1 (cells to list), got {smallest!r}")


def _connect() -> Any:
    import duckdb

    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    return con


def _open(data: Any) -> tuple[Any, Any, str, dict[str, str]]:
    """A DuckDB connection, the relation to query, the source's kind and each column's DuckDB type."""
    from steward.data import open_source
    from steward.engine._duckdb import _relation

    source = open_source(data)
    con = _connect()
    try:
        rel = _relation(con, source)
        types = {str(name): str(kind) for name, kind, *_ in con.execute(f"DESCRIBE SELECT * FROM {rel}").fetchall()}
    except Exception:
        con.close()
        raise
    return con, rel, source.kind, types


def _is_number(kind: str) -> bool:
    return kind.upper().startswith(_NUMERIC)


def _unknown(names: list[str], types: Mapping[str, str]) -> None:
    missing = [c for c in names if c not in types]
    if missing:
        raise DataValidationError(f"column(s) {', '.join(map(repr, missing))} not in the data; the columns are: "
                                  f"{', '.join(types)}")


def _label(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else repr(float(x))


def _bands(con: Any, rel: str, column: str, kind: str, spec: Any) -> tuple[str, dict[str, Any]]:
    """SQL banding ``column`` by ``spec`` (a number of quantile bins, or increasing edges) and its description."""
    if not _is_number(kind):
        raise DataValidationError(f"numeric_bins[{column!r}]: column {column!r} holds {kind} values, not numbers; "
                                  "coarsen only numeric quasi-identifiers (band text columns before the call)")
    if isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
        if spec < 2:
            raise DataValidationError(f"numeric_bins[{column!r}] must be at least 2 quantile bins, got {spec}")
        probs = [i / int(spec) for i in range(1, int(spec))]
        found = con.execute(f"SELECT quantile_disc({_q(column)}, $p) FROM {rel}", {"p": probs}).fetchone()[0]
        edges = sorted({float(e) for e in (found or []) if e is not None and math.isfinite(float(e))})
        how = f"{int(spec)} quantile bins (edges at the {', '.join(f'{p:.3g}' for p in probs)} quantiles)"
    else:
        try:
            if isinstance(spec, (str, bytes)):
                raise TypeError
            edges = [float(e) for e in spec]
        except (TypeError, ValueError):
            raise DataValidationError(f"numeric_bins[{column!r}] must be a number of quantile bins or a list of "
                                      f"edges, got {spec!r}") from None
        if not edges or not all(map(math.isfinite, edges)) or any(b <= a for a, b in zip(edges, edges[1:])):
            raise DataValidationError(f"numeric_bins[{column!r}]: the edges must be finite and increasing, "
                                      f"got {spec!r}")
        how = "the edges given"
    col = _q(column)
    labels = [f"< {_label(edges[0])}"] if edges else ["all"]
    cases = [f"WHEN {col} IS NULL THEN NULL"]
    for i, e in enumerate(edges):
        cases.append(f"WHEN {col} < {e!r} THEN '{labels[-1]}'")
        labels.append(f"[{_label(e)}, {_label(edges[i + 1])})" if i + 1 < len(edges) else f">= {_label(e)}")
    expr = f"CASE {' '.join(cases)} ELSE '{labels[-1]}' END" if edges else f"CASE {cases[0]} ELSE 'all' END"
    return expr, {"how": how, "edges": edges, "bands": labels}


def reidentification_risk(
    data: Any,
    quasi_identifiers: Sequence[str] | str | None,
    *,
    sensitive: Sequence[str] | str | None = None,
    k: int = 5,
    l: float = 2,  # noqa: E741 - the name of the property (l-diversity)
    t: float = 0.2,
    smallest: int = 10,
    numeric_bins: Mapping[str, int | Sequence[float]] | None = None,
) -> ReidentificationReport:
    """How identifiable each record is from its quasi-identifiers (k-anonymity, l-diversity, t-closeness).

    Parameters
    ----------
    data : DataFrame, Arrow table, or path to a CSV or Parquet file
        A file is read by DuckDB group-bys only, never loaded whole.
    quasi_identifiers : list of str
        Columns an outsider could know about a person; :func:`suggest_quasi_identifiers` proposes some.
        A missing value forms a class of its own.
    sensitive : list of str, optional
        Attributes to protect (a diagnosis, an income): each gets distinct and entropy l-diversity and
        t-closeness (ordered Earth Mover's Distance for numbers, total variation for categories).
    k, l, t : thresholds
        The data passes when every class holds at least ``k`` records, every class's entropy l-diversity
        (and so its number of distinct sensitive values) is at least ``l``, and no class's distance
        from the whole table exceeds ``t``.
    smallest : int
        How many of the smallest classes to list.
    numeric_bins : dict, optional
        Column -> a number of quantile bins (bin edges at DuckDB's ``quantile_disc``, the smallest value
        whose cumulative share reaches the quantile) or a list of increasing edges, to coarsen a numeric
        quasi-identifier into bands ``[edge, next edge)`` before grouping (e.g. ages in 5-year bands).

    Examples
    --------
    >>> from steward.datasets import load_adult
    >>> r = reidentification_risk(load_adult(), ["age", "sex", "race"], sensitive="income")
    >>> r.k_anonymity, r.unique_records
    (1, 65)
    """
    _check_settings(k, l, t, smallest)
    qis, sens = _names(quasi_identifiers, "quasi_identifiers"), _names(sensitive, "sensitive")
    con, rel, kind, types = _open(data)
    try:
        if not qis:
            suggested = _suggest(con, rel, types, 6)
            hint = (f"suggested for this data: quasi_identifiers={suggested!r}" if suggested else
                    "no column's name suggests one; name them yourself")
            raise DataValidationError("quasi_identifiers: none given; name the columns an outsider could know about "
                                      f"a person (age, sex, zip code...); {hint}")
        _unknown(qis + sens + list(numeric_bins or {}), types)
        both = [c for c in sens if c in qis]
        if both:
            raise DataValidationError(f"column(s) {', '.join(map(repr, both))} are both quasi-identifiers and "
                                      "sensitive; a column is one or the other")
        stray = [c for c in (numeric_bins or {}) if c not in qis]
        if stray:
            raise DataValidationError(f"numeric_bins names {', '.join(map(repr, stray))}, which are not among the "
                                      "quasi_identifiers; coarsen only quasi-identifiers")
        return _measure(con, rel, kind, types, qis, sens, k, float(l), float(t), smallest, dict(numeric_bins or {}))
    finally:
        con.close()


def _measure(con: Any, rel: str, kind: str, types: dict[str, str], qis: list[str], sens: list[str], k: int,
             l: float, t: float, smallest: int, bins: dict[str, Any]) -> ReidentificationReport:
    coarsening: dict[str, dict[str, Any]] = {}
    exprs = []
    for c in qis:
        if c in bins:
            expr, coarsening[c] = _bands(con, rel, c, types[c], bins[c])
            exprs.append(expr)
        else:
            exprs.append(_q(c))
    inner = ", ".join([f"{e} AS __q{i}" for i, e in enumerate(exprs)]
                      + [f"{_q(s)} AS __s{j}" for j, s in enumerate(sens)])
    source = f"(SELECT {inner} FROM {rel})"
    keys = [f"__q{i}" for i in range(len(qis))]
    # each attribute's values and their counts over the whole table, in order (missing last)
    levels = [con.execute(f"SELECT __s{j}, count(*) FROM {source} GROUP BY ALL ORDER BY 1 NULLS LAST").fetchall()
              for j in range(len(sens))]
    rows = sum(n for _, n in levels[0]) if sens else None
    if rows == 0:
        raise DataValidationError("the data has no rows, so no record can be re-identified; give data with rows")
    numeric = [_is_number(types[s]) for s in sens]
    pivot, budget = [], PIVOT_TOTAL
    for j, lv in enumerate(levels):
        if len(lv) <= min(PIVOT_MAX, budget):
            pivot.append(j)
            budget -= len(lv)
    limit = max(CLASS_ROWS, smallest)
    counts, metrics, outer, params = [], [], ["histogram(__size)"], {}
    for j in pivot:
        c, m, p = _pivot_sql(j, levels[j], numeric[j], rows)
        counts, metrics, params = counts + c, metrics + m, {**params, **p, "l": l - _TOL, "t": t + 1e-12}
        outer += [f"min(__d{j})", f"min(__e{j})", f"max(__t{j})", f"count_if(__d{j} < $l)", f"count_if(__e{j} < $l)",
                  f"count_if(__t{j} > $t)"]
    # The smallest classes, ties in the order of their values: a top-n sort of the classes, kept once
    # (MATERIALIZED) for it and the figures. Cheaper than packing every class into arg_min's heap, or hashing them.
    fields = keys + ["__size"] + [f"__{x}{j}" for j in pivot for x in "det"]
    cls = f"SELECT {', '.join(keys)}, count(*) AS __size{''.join(', ' + c for c in counts)} FROM {source} GROUP BY ALL"
    met = f"SELECT {', '.join(fields)} FROM (SELECT *{''.join(', ' + m for m in metrics)} FROM cls)"
    order = ", ".join(["__size"] + [f"{c} NULLS LAST" for c in keys])
    pack = f"struct_pack({', '.join(f'{f} := {f}' for f in fields)})"
    got = con.execute(f"WITH cls AS ({cls}), met AS MATERIALIZED ({met}) SELECT {', '.join(outer)}, "
                      f"(SELECT list({pack} ORDER BY {order}) FROM (SELECT * FROM met ORDER BY {order} LIMIT {limit})) "
                      "FROM met", params).fetchone()
    if not got[0]:
        raise DataValidationError("the data has no rows, so no record can be re-identified; give data with rows")
    size_counts = sorted(got[0].items())
    top = pd.DataFrame(got[-1], columns=fields)
    table = top[keys + ["__size"]].set_axis(qis + ["class_size"], axis=1)
    diversity = []
    for pos, j in enumerate(pivot):
        figures = got[1 + 6 * pos: 7 + 6 * pos]
        diversity.append((j, figures))
        for x, name in zip("det", ("distinct", "entropy_l", "distance")):
            table[f"{sens[j]}_{name}"] = top[f"__{x}{j}"].to_numpy()
    for j in (j for j in range(len(sens)) if j not in pivot):
        per_class = _by_cells(con, source, keys, j, numeric[j])
        order = np.lexsort((np.arange(len(per_class[0])), per_class[0]))[:limit]
        if not np.array_equal(per_class[0][order], table["class_size"].to_numpy(float)):
            raise RuntimeError(f"the classes of {sens[j]!r} do not line up with the class group-by; this is a bug")
        d, e, dist = per_class[1], per_class[2], per_class[3]
        diversity.append((j, (int(d.min()), float(e.min()), float(dist.max()), int((d < l - _TOL).sum()),
                              int((e < l - _TOL).sum()), int((dist > t + 1e-12).sum()))))
        for arr, name in zip((d, e, dist), ("distinct", "entropy_l", "distance")):
            table[f"{sens[j]}_{name}"] = arr[order]
    table = table[qis + ["class_size"] + [f"{s}_{x}" for s in sens for x in ("distinct", "entropy_l", "distance")]]
    sizes = pd.DataFrame([(int(s), int(c), int(s) * int(c)) for s, c in size_counts],
                         columns=["class_size", "classes", "records"])
    div = pd.DataFrame([_diversity_row(sens[j], numeric[j], len(levels[j]), f, l, t) for j, f in sorted(diversity)],
                       columns=["attribute", "kind", "values", "distinct_l", "entropy_l", "t_closeness",
                                "classes_below_l", "classes_below_entropy_l", "classes_beyond_t", "passes_l",
                                "passes_t"])
    below = sizes[sizes["class_size"] < k]
    return ReidentificationReport(
        quasi_identifiers=qis, sensitive=sens, rows=int(sizes["records"].sum()), classes=int(sizes["classes"].sum()),
        k_anonymity=int(sizes["class_size"].min()), records_below_k=int(below["records"].sum()),
        classes_below_k=int(below["classes"].sum()),
        unique_records=int(sizes.loc[sizes["class_size"] == 1, "records"].sum()), sizes=sizes, diversity=div,
        class_table=table.reset_index(drop=True), k=k, l=l, t=t, smallest=smallest, coarsening=coarsening,
        source=kind)


def _pivot_sql(j: int, levels: list[tuple[Any, int]], numeric: bool, rows: int) -> tuple[list[str], list[str], dict]:
    """SQL counting attribute ``j``'s values in each class (one counter per value), and the class's distinct
    values ``__d``, entropy l ``__e`` and distance ``__t`` from those counts; with the query's parameters."""
    m = len(levels)
    n = [f"__n{j}_{i}" for i in range(m)]
    params: dict[str, Any] = {}
    counts = []
    # the commonest value is not counted: it is the class's size less the others (a counter per row saved)
    common = max(range(m), key=lambda i: levels[i][1])
    for i, (value, _) in enumerate(levels):
        if i == common:
            continue
        if value is None:
            counts.append(f"count(*) FILTER (WHERE __s{j} IS NULL) AS {n[i]}")
        else:
            params[f"v{j}_{i}"] = value
            counts.append(f"count(*) FILTER (WHERE __s{j} = $v{j}_{i}) AS {n[i]}")
    # A class holding one value (most small classes) has entropy l 1 and the distance of that value alone from
    # the table (categories: 1 - its share; numbers: its point mass against the table's cumulative shares), so
    # only the other classes need the logarithms and the per-value distances.
    shares = [total / rows for _, total in levels]
    cdf = np.cumsum(shares)
    point = [1 - g for g in shares] if not numeric else \
        [sum(abs(float(k >= i) - cdf[k]) for k in range(m - 1)) / (m - 1) if m > 1 else 0.0 for i in range(m)]
    params.update({f"p{j}_{i}": float(x) for i, x in enumerate(point)})
    alone = "(" + " + ".join(f"{x} * $p{j}_{i}" for i, x in enumerate(n)) + ") / __size"
    # entropy from the shares (not ln(size) - sum n ln n / size), so that rounding cannot take it below 1
    ent = " + ".join(f"CASE WHEN {x} > 0 THEN {x} / __size * ln({x} / __size) ELSE 0 END" for x in n)
    metrics = [f"__size{''.join(f' - {x}' for i, x in enumerate(n) if i != common)} AS {n[common]}",
               " + ".join(f"CAST({x} > 0 AS INTEGER)" for x in n) + f" AS __d{j}",
               f"CASE WHEN __d{j} = 1 THEN 1.0 ELSE exp(-({ent})) END AS __e{j}"]
    if not numeric:
        params.update({f"g{j}_{i}": g for i, g in enumerate(shares)})
        full = "0.5 * (" + " + ".join(f"abs({x} / __size - $g{j}_{i})" for i, x in enumerate(n)) + ")"
    elif m == 1:
        full = "0.0"
    else:
        for i in range(m - 1):  # cumulative counts, each from the previous alias
            metrics.append(f"{n[0] if i == 0 else f'__c{j}_{i - 1} + {n[i]}'} AS __c{j}_{i}")
            params[f"f{j}_{i}"] = float(cdf[i])
        full = "(" + " + ".join(f"abs(__c{j}_{i} / __size - $f{j}_{i})" for i in range(m - 1)) + f") / {m - 1}"
    metrics.append(f"CASE WHEN __d{j} = 1 THEN {alone} ELSE {full} END AS __t{j}")
    return counts, metrics, params


def _diversity_row(name: str, numeric: bool, m: int, f: Sequence[Any], l: float, t: float) -> list[Any]:
    d, e, dist, below_d, below_e, beyond = f
    return [name, "numeric (ordered distance)" if numeric else "categorical (equal distance)", m, int(d), float(e),
            float(dist), int(below_d), int(below_e), int(beyond), bool(e >= l - _TOL), bool(dist <= t + 1e-12)]


def _by_cells(con: Any, source: str, keys: list[str], j: int, numeric: bool) -> tuple[np.ndarray, ...]:
    """Per class (in the order of its quasi-identifier values): size, distinct values, entropy l and distance,
    from one group-by of (class, value) counts.

    The ordered distance of a class sums |F_p(i) - F_q(i)| over the m value ranks i, where F_p is the
    class's cumulative share (a step between the class's own values) and F_q the whole table's. On a
    step [lo, hi) of constant share c, F_q (increasing) crosses c once, at x: the sum is
    c (x - lo) - (S[x] - S[lo]) + (S[hi] - S[x]) - c (hi - x), with S the prefix sums of F_q.
    """
    order = ", ".join(f"{c} NULLS LAST" for c in keys)  # the order of ties in the class table
    # the value ranks come from a join with the (few) distinct values: a second window would sort every cell again
    con.execute(f"CREATE OR REPLACE TEMP TABLE __ranks AS SELECT __v, row_number() OVER (ORDER BY __v NULLS LAST) - 1 "
                f"AS r FROM (SELECT DISTINCT __s{j} AS __v FROM {source})")
    got = con.execute(f"SELECT dense_rank() OVER (ORDER BY {order}) - 1 AS cid, __ranks.r, c.__n FROM "
                      f"(SELECT {', '.join(keys)}, __s{j} AS __v, count(*) AS __n FROM {source} GROUP BY ALL) c "
                      "JOIN __ranks ON c.__v IS NOT DISTINCT FROM __ranks.__v").fetchnumpy()
    cid, r, n = (np.asarray(got[c], dtype=np.int64) for c in ("cid", "r", "__n"))
    sort = np.lexsort((r, cid))
    cid, r, n = cid[sort], r[sort], n[sort]
    starts = np.flatnonzero(np.r_[True, cid[1:] != cid[:-1]])
    width = np.diff(np.r_[starts, len(cid)])
    size = np.add.reduceat(n, starts).astype(float)
    nf = n.astype(float)
    csize = np.repeat(size, width)
    p = nf / csize
    entropy_l = np.exp(-np.add.reduceat(p * np.log(p), starts))
    m = int(r.max()) + 1
    g = np.bincount(r, weights=nf, minlength=m)
    total = g.sum()
    if not numeric:
        absent = (total - np.add.reduceat(g[r], starts)) / total  # the whole table's share of values the class lacks
        dist = 0.5 * (np.add.reduceat(np.abs(p - g[r] / total), starts) + absent)
    elif m == 1:
        dist = np.zeros(len(size))
    else:
        fq = np.cumsum(g) / total
        s = np.r_[0.0, np.cumsum(fq)]
        cum = np.cumsum(nf)
        c = (cum - np.repeat(cum[starts] - nf[starts], width)) / csize
        lo, hi = r, np.r_[r[1:], m]
        hi[np.r_[starts[1:], len(r)] - 1] = m  # a class's last value: its step runs to the end
        x = np.clip(np.searchsorted(fq, c, side="left"), lo, hi)
        steps = c * (x - lo) - (s[x] - s[lo]) + (s[hi] - s[x]) - c * (hi - x)
        dist = (np.add.reduceat(steps, starts) + s[r[starts]]) / (m - 1)  # s[first]: F_p is 0 before its first value
    return size, width.astype(np.int64), entropy_l, dist


# ---------------------------------------------------------------------------------------------- suggestions

# Name hints, by how surely a column so named is known to outsiders. Tier 1: demographics, geography, birth
# (the attributes of Sweeney's 87% of Americans, zip code, birth date and sex, and of published census tables).
# Tier 2: work, household and dates of events, which are known to fewer people (and often sensitive themselves).
_TIER1 = {"age", "ages", "sex", "gender", "race", "ethnicity", "ethnic", "zip", "zipcode", "postcode", "postal", "plz",
          "birth", "birthdate", "birthday", "dob", "born", "marital", "nationality", "citizenship", "country", "county",
          "city", "town", "region", "province", "district", "municipality", "education", "native", "language"}
_TIER1_PREFIX = ("zip", "postcode", "birth", "ethnic", "nationalit", "educat", "marit", "countr", "gender")
_TIER2 = {"occupation", "job", "profession", "employer", "workclass", "industry", "relationship", "household",
          "children", "dependents", "date", "year", "month", "veteran", "religion", "disability"}
_TIER2_PREFIX = ("occupat", "profess", "employ")
_IDENTIFIER = {"id", "uuid", "guid", "ssn", "email", "mail", "phone", "telephone", "mobile", "name", "firstname",
               "lastname", "surname", "address", "street", "ip", "passport", "account", "iban", "mrn", "key",
               "nhs", "username", "login", "url"}


def _tokens(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", str(name))
    return [w for w in re.split(r"[^a-z0-9]+", spaced.lower()) if w]


def _tier(name: str, kind: str) -> int:
    """1 or 2 for a name (or a date type) that suggests a quasi-identifier, 0 otherwise."""
    words = _tokens(name)
    if any(w in _TIER1 or w.startswith(_TIER1_PREFIX) for w in words):
        return 1
    if any(w in _TIER2 or w.startswith(_TIER2_PREFIX) for w in words) or kind.upper().startswith(("DATE", "TIMESTAMP")):
        return 2
    return 0


def suggest_quasi_identifiers(data: Any, *, max_columns: int = 6) -> list[str]:
    """Columns that are likely quasi-identifiers, the most identifying first.

    The heuristic, on all rows or a seeded sample of ``SUGGEST_SAMPLE``:

    1. A column is a candidate when its name suggests demographics, geography or birth (tier 1: age,
       sex, gender, race, ethnicity, zip or postcode, birth, marital status, nationality, country,
       city, region, education, language...) or work, household and dates (tier 2: occupation, job,
       employer, relationship, date, year...; date and timestamp columns too).
    2. Left out: direct identifiers (names with id, email, phone, name, address, ssn...; and columns
       whose values are over 95% distinct unless their name is a tier-1 hint, as a birth date is),
       free text (text averaging over 30 characters or over 3 spaces) and constant columns.
    3. Tier 1 before tier 2; within a tier, greedily, the column that most increases the number of
       distinct combinations with those already chosen (it shrinks the classes most). A column that
       adds no combination (``education-num`` after ``education``) is redundant and left out.

    Returns an empty list when no column's name suggests a quasi-identifier: naming them is then
    the data owner's call.
    """
    if isinstance(max_columns, bool) or not isinstance(max_columns, (int, np.integer)) or max_columns < 1:
        raise DataValidationError(f"max_columns must be a whole number of at least 1, got {max_columns!r}")
    con, rel, _, types = _open(data)
    try:
        return _suggest(con, rel, types, int(max_columns))
    finally:
        con.close()


def _suggest(con: Any, rel: str, types: dict[str, str], max_columns: int) -> list[str]:
    rows = con.execute(f"SELECT count(*) FROM {rel}").fetchone()[0]
    sample = rel
    if rows > SUGGEST_SAMPLE:
        con.execute("SET threads = 1")  # a seeded reservoir sample is repeatable on one thread only
        con.execute(f"CREATE TEMP TABLE __sample AS SELECT * FROM {rel} USING SAMPLE reservoir({SUGGEST_SAMPLE} ROWS) "
                    "REPEATABLE (0)")
        con.execute("RESET threads")
        sample, rows = "__sample", SUGGEST_SAMPLE
    tiers = {c: _tier(c, kind) for c, kind in types.items()}
    hinted = [c for c in types if tiers[c] and not set(_tokens(c)) & _IDENTIFIER]
    if not hinted or not rows:
        return []
    stats = []
    for c in hinted:
        text = types[c].upper().startswith("VARCHAR")
        stats.append(f"count(DISTINCT {_q(c)}), count({_q(c)}), "
                     + (f"avg(length({_q(c)})), avg(length({_q(c)}) - length(replace({_q(c)}, ' ', '')))" if text
                        else "0, 0"))
    got = con.execute(f"SELECT {', '.join(stats)} FROM {sample}").fetchone()
    candidates = []
    for i, c in enumerate(hinted):
        values, present, length, spaces = got[4 * i: 4 * i + 4]
        if values < 2 or (length or 0) > 30 or (spaces or 0) > 3:
            continue
        if values > 0.95 * present and tiers[c] != 1:
            continue
        candidates.append(c)

    @functools.cache
    def combos(cols: tuple[str, ...]) -> int:
        distinct = f"SELECT DISTINCT {', '.join(map(_q, cols))} FROM {sample}"
        return con.execute(f"SELECT count(*) FROM ({distinct})").fetchone()[0]

    chosen: list[str] = []
    for tier in (1, 2):
        pool = [c for c in candidates if tiers[c] == tier]
        while pool and len(chosen) < max_columns:
            # a column whose value follows from one already chosen (education-num from education) adds nothing
            pool = [c for c in pool if not any(combos((d, c)) == combos((d,)) for d in chosen)]
            if pool:
                counts = [combos((*chosen, c)) for c in pool]
                chosen.append(pool.pop(int(np.argmax(counts))))  # the first of equals: the data's column order
    return chosen


# ---------------------------------------------------------------------------------------------- publication

def suppress_small_cells(frame: pd.DataFrame, count_column: str, k: int,
                         columns_to_blank: Sequence[str]) -> pd.DataFrame:
    """A copy of a group table with the figures of cells counting fewer than ``k`` records blanked.

    The rows stay (so the table's shape does not change), ``columns_to_blank`` become NaN in rows whose
    ``count_column`` is below ``k``, and a boolean column ``suppressed`` marks them. Blank the count
    itself too (list it in ``columns_to_blank``) when the size of a small cell must not be published.
    Totals that let a reader subtract their way back to a blanked cell are not handled here.
    """
    if not isinstance(frame, pd.DataFrame):
        raise DataValidationError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise DataValidationError(f"k must be a whole number of at least 1 (the smallest cell to publish), got {k!r}")
    blank = _names(columns_to_blank, "columns_to_blank")
    missing = [c for c in [count_column, *blank] if c not in frame.columns]
    if missing:
        raise DataValidationError(f"column(s) {', '.join(map(repr, missing))} not in the table; the columns are: "
                                  f"{', '.join(map(str, frame.columns))}")
    if "suppressed" in frame.columns:
        raise DataValidationError("the table already has a column 'suppressed'; rename it before suppressing cells")
    counts = pd.to_numeric(frame[count_column], errors="coerce")
    if counts.isna().any():
        raise DataValidationError(f"count column {count_column!r} has {int(counts.isna().sum())} missing or "
                                  "non-numeric values; every cell needs a count to decide whether to publish it")
    small = (counts < k).to_numpy()
    out = frame.copy()
    for c in blank:
        out[c] = out[c].mask(small)
    out["suppressed"] = small
    return out
