"""A window of predictions reduced to statistics that merge by addition.

:func:`reduce_batch` turns a batch of rows (a DataFrame in the monitor's column layout, see
:data:`COLUMNS`) into :class:`WindowStats`: per feature the counts on the reference's bins (numbers) or per
category, missing, below- and above-range counts; the score histogram on 1,000 bins, split by label once
labels are known; the audit's cells (protected groups x label x decision, with the score and the expected
correctness summed for the label-free estimate); screening flags, routes and the volume of each caller key.

Two windows' statistics add up to the statistics of their union (:meth:`WindowStats.merge`), so a run only
reduces new rows, and any span of windows can be judged as one.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from steward.monitoring._reference import (SCORE_BINS, Reference, category_text, factorised, favourable_score,
                                            score_bin)

__all__ = ["WindowStats", "reduce_batch", "group_table", "COLUMNS"]

# The monitor's column layout: the features and protected attributes by their own names, and these.
COLUMNS = {"time": "when the prediction was made (UTC)",
           "score": "the model's probability of decision 1 (the favourable outcome's with favourable 1)",
           "decision": "the model's decision (favourable: the reference's favourable value)",
           "label": "the outcome, when known (favourable: the reference's favourable value)",
           "key_id": "the caller's key", "flags": "screening flags (a list, or text joined by '|')",
           "route": "how the guard answered", "prediction_id": "the prediction's id"}


def _add(a: Mapping[str, float], b: Mapping[str, float]) -> dict[str, float]:
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, 0) + v
    return out


@dataclass
class WindowStats:
    """Mergeable statistics of one window (see the module's docs); ``cells`` rows are
    ``[*groups, label, decision, rows, scored, score_sum, expected_correct]`` (label and decision -1 when
    unknown; ``scored`` counts the rows with a score, the only ones ``score_sum`` and ``expected_correct`` sum)."""

    rows: int = 0
    first: str | None = None  # the earliest and latest time seen (ISO), when rows have times
    last: str | None = None
    features: dict[str, dict[str, Any]] = field(default_factory=dict)
    score: list[int] = field(default_factory=lambda: [0] * SCORE_BINS)
    score_pos: list[int] = field(default_factory=lambda: [0] * SCORE_BINS)  # labelled favourable
    score_neg: list[int] = field(default_factory=lambda: [0] * SCORE_BINS)  # labelled adverse
    score_missing: int = 0
    cells: list[list[Any]] = field(default_factory=list)
    flags: dict[str, int] = field(default_factory=dict)
    screened: int = 0  # rows with at least one screening flag
    training_rows: int = 0
    duplicates: int = 0
    routes: dict[str, int] = field(default_factory=dict)
    keys: dict[str, int] = field(default_factory=dict)
    # what people did with the window's decisions: [*groups, reviewed, overturned, appeals decided, overturned]
    oversight: list[list[Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> WindowStats:
        return cls(**{k: d[k] for k in cls().__dict__ if k in d})

    def merge(self, *others: WindowStats) -> WindowStats:
        """The statistics of the union of the rows behind ``self`` and ``others``."""
        out = WindowStats.from_dict(self.to_dict())
        for o in others:
            out = out._plus(o)
        return out

    def _plus(self, o: WindowStats) -> WindowStats:
        feats: dict[str, dict[str, Any]] = {}
        for name in dict.fromkeys([*self.features, *o.features]):
            a, b = self.features.get(name), o.features.get(name)
            if a is None or b is None:
                feats[name] = dict(a or b)
                continue
            f = {k: a[k] + b[k] for k in ("missing", "below", "above") if k in a}
            if "bins" in a:
                f["bins"] = (np.asarray(a["bins"]) + np.asarray(b["bins"])).tolist()
                f["sums"] = (np.asarray(a["sums"], dtype=np.float64) + np.asarray(b["sums"], dtype=np.float64)).tolist()
            else:
                f["counts"] = _add(a["counts"], b["counts"])
            feats[name] = f
        times = [t for t in (self.first, o.first) if t]
        lasts = [t for t in (self.last, o.last) if t]
        cells: dict[tuple, list[float]] = {}
        for row in [*self.cells, *o.cells]:
            key = tuple(row[:-4])
            acc = cells.setdefault(key, [0, 0, 0.0, 0.0])
            for i in range(4):
                acc[i] += row[-4 + i]
        over: dict[tuple, list[int]] = {}
        for row in [*self.oversight, *o.oversight]:
            acc = over.setdefault(tuple(row[:-4]), [0, 0, 0, 0])
            for i in range(4):
                acc[i] += row[-4 + i]
        return WindowStats(
            oversight=[[*k, *v] for k, v in sorted(over.items())],
            rows=self.rows + o.rows, first=min(times) if times else None, last=max(lasts) if lasts else None,
            features=feats,
            score=(np.asarray(self.score) + np.asarray(o.score)).tolist(),
            score_pos=(np.asarray(self.score_pos) + np.asarray(o.score_pos)).tolist(),
            score_neg=(np.asarray(self.score_neg) + np.asarray(o.score_neg)).tolist(),
            score_missing=self.score_missing + o.score_missing,
            cells=[[*k, *v] for k, v in sorted(cells.items(), key=lambda kv: tuple(map(str, kv[0])))],
            flags=_add(self.flags, o.flags), screened=self.screened + o.screened,
            training_rows=self.training_rows + o.training_rows, duplicates=self.duplicates + o.duplicates,
            routes=_add(self.routes, o.routes), keys=_add(self.keys, o.keys))

    @staticmethod
    def combine(windows: Iterable[WindowStats]) -> WindowStats:
        out = WindowStats()
        for w in windows:
            out = out._plus(w)
        return out


def _flag_lists(values: pd.Series) -> list[list[str]]:
    out = []
    for v in values.tolist():
        if v is None or (isinstance(v, float) and v != v):
            out.append([])
        elif isinstance(v, str):
            out.append([p for p in v.split("|") if p])
        else:
            out.append([str(p) for p in v])
    return out


def reduce_batch(batch: pd.DataFrame, reference: Reference) -> WindowStats:
    """The statistics of ``batch`` (one window's rows, or part of them) on ``reference``'s bins."""
    n = len(batch)
    w = WindowStats(rows=n)
    if n == 0:
        return w
    if "time" in batch.columns:
        t = pd.to_datetime(batch["time"], utc=True)
        if t.notna().any():
            w.first, w.last = t.min().isoformat(), t.max().isoformat()
    for name, f in reference.features.items():
        if name not in batch.columns:
            w.features[name] = ({"bins": [0] * (len(f.edges) + 1), "sums": [0.0] * (len(f.edges) + 1), "missing": n,
                                 "below": 0, "above": 0}
                                if f.kind == "number" else {"counts": {}, "missing": n})
            continue
        col = batch[name]
        if f.kind == "number":
            x = pd.to_numeric(col, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
            ok = np.isfinite(x)
            xs = x if ok.all() else x[ok]
            idx = bin_index(np.asarray(f.edges, dtype=np.float64), xs)
            bins = np.bincount(idx, minlength=len(f.edges) + 1)
            sums = np.bincount(idx, weights=xs, minlength=len(f.edges) + 1)
            below = int((xs < f.min).sum()) if f.min is not None else int(xs.size)
            above = int((xs > f.max).sum()) if f.max is not None else 0
            w.features[name] = {"bins": bins.tolist(), "sums": sums.tolist(), "missing": int(n - ok.sum()),
                                "below": below, "above": above}
        else:
            w.features[name] = _category_counts(col)
    fav = reference.favourable
    # the favourable outcome's probability, as decisions and labels are coded below (1 favourable)
    score = favourable_score(pd.to_numeric(batch["score"], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
                             if "score" in batch.columns else np.full(n, np.nan), fav)
    decision = _coded(batch, "decision", fav)
    label = _coded(batch, "label", fav)
    has = np.isfinite(score)
    sb = score_bin(np.clip(score[has], 0.0, 1.0))
    w.score = np.bincount(sb, minlength=SCORE_BINS).tolist()
    w.score_missing = int(n - has.sum())
    lab = label[has]
    w.score_pos = np.bincount(sb[lab == 1], minlength=SCORE_BINS).tolist()
    w.score_neg = np.bincount(sb[lab == 0], minlength=SCORE_BINS).tolist()
    # the expected correctness of each decision if the score is calibrated (confidence-based estimation)
    p = np.where(has, score, np.nan)
    expected = np.where(decision == 1, p, np.where(decision == 0, 1.0 - p, np.nan))
    groups = [_group_names(batch[a] if a in batch.columns else None, n) for a in reference.protected]
    values = pd.DataFrame({"one": np.ones(n, dtype=np.int64), "scored": has.astype(np.int64),
                           "score": np.where(has, score, 0.0), "expected": np.nan_to_num(expected, nan=0.0)})
    w.cells = _cells(groups, label, decision, values)
    if "flags" in batch.columns:
        lists = _flag_lists(batch["flags"])
        counts: Counter = Counter()
        for fl in lists:
            counts.update({f.split(":", 1)[0] for f in fl})
        w.flags = dict(counts)
        w.screened = sum(1 for fl in lists if any(f != "training_row" for f in fl))
        w.training_rows = counts.get("training_row", 0)
        w.duplicates = counts.get("duplicate", 0)
    if "route" in batch.columns:
        w.routes = {str(k): int(v) for k, v in batch["route"].value_counts().items()}
    if "key_id" in batch.columns:
        w.keys = {str(k): int(v) for k, v in batch["key_id"].value_counts().items()}
    if "reviewed" in batch.columns:
        acts = ["reviewed", "overturned", "appeals_decided", "appeals_overturned"]
        o = pd.DataFrame({f"g{i}": np.asarray(gn, dtype=object)[rank] for i, (rank, gn) in enumerate(groups)},
                         index=range(n))
        for a in acts:
            o[a] = pd.to_numeric(batch[a], errors="coerce").fillna(0).astype(np.int64).to_numpy()
        agg = o.groupby([c for c in o.columns if c not in acts], sort=True)[acts].sum().reset_index()
        w.oversight = [[*(str(v) for v in r[:-4]), *(int(v) for v in r[-4:])] for r in agg.itertuples(index=False)
                       if any(r[-4:])]
    return w


def _cells(groups: list[tuple[np.ndarray, list[str]]], label: np.ndarray, decision: np.ndarray,
           values: pd.DataFrame) -> list[list[Any]]:
    """``[*group names, label, decision, rows, scored, score_sum, expected]`` per cell, sorted by the names,
    label and decision: one integer key per row, ordered as those tuples sort, and one groupby on it (each
    cell's rows summed in row order, as a groupby on the names would)."""
    if math.prod(len(gn) for _, gn in groups) >= 2 ** 59:  # the key would overflow: group by the names
        frame = values.assign(**{f"g{i}": np.asarray(gn, dtype=object)[rank] for i, (rank, gn) in enumerate(groups)},
                              label=label, decision=decision)
        by = [f"g{i}" for i in range(len(groups))] + ["label", "decision"]
        agg = frame.groupby(by, sort=True)[["one", "scored", "score", "expected"]].sum().reset_index()
        return [[*(str(v) for v in r[:-6]), int(r[-6]), int(r[-5]), int(r[-4]), int(r[-3]), float(r[-2]),
                 float(r[-1])] for r in agg.itertuples(index=False)]
    cell = np.zeros(len(values), dtype=np.int64)
    for rank, names in groups:
        cell = cell * len(names) + rank
    cell = (cell * 3 + (label + 1)) * 3 + (decision + 1)
    agg = values.groupby(cell, sort=True)[["one", "scored", "score", "expected"]].sum()
    out = []
    for k, one, scored, total, expected in zip(agg.index.tolist(), agg["one"].tolist(), agg["scored"].tolist(),
                                               agg["score"].tolist(), agg["expected"].tolist()):
        dec, k = k % 3 - 1, k // 3
        lab, k = k % 3 - 1, k // 3
        names = []
        for _, gn in reversed(groups):
            names.append(gn[k % len(gn)])
            k //= len(gn)
        out.append([*reversed(names), lab, dec, one, scored, float(total), float(expected)])
    return out


GRID = 1 << 14


def bin_index(edges: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """``np.searchsorted(edges, xs, side="left")`` for finite ``xs``, exactly, in less time: a binary search per
    value costs ~40 ns, most of it mispredicted branches. Instead each value gets a cell of a uniform grid over
    the edges' range, ``(x - lo) * scale`` clipped and floored, which never decreases as x grows: so an edge in
    a lower cell than x's is below x, one in a higher cell is not, and x's index is the number of edges in lower
    cells plus those of its own cell below it. A cell holds at most one edge but in a heavy tail, so one
    comparison settles most values; the values of a cell holding several edges are searched."""
    m = len(edges)
    if m < 8 or xs.size < 20_000 or not (np.isfinite(edges).all() and (np.diff(edges) > 0).all()):
        return np.searchsorted(edges, xs, side="left")
    lo = edges[0]
    scale = GRID / (edges[-1] - lo)
    if not (np.isfinite(scale) and scale > 0):
        return np.searchsorted(edges, xs, side="left")

    def cell(v: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore", invalid="ignore"):
            c = np.subtract(v, lo)
            c *= scale
        np.clip(c, 0, GRID - 1, out=c)
        return c.astype(np.int32)

    at = cell(edges)
    per = np.bincount(at, minlength=GRID)  # edges per cell
    below = np.concatenate([[0], np.cumsum(per)[:-1]])  # edges in lower cells
    first = np.where(per > 0, edges[np.minimum(below, m - 1)], np.inf)  # each cell's lowest edge (inf: none)
    c = cell(xs)
    idx = below[c]
    idx += first[c] < xs
    if per.max() > 1:
        many = per[c] > 1
        idx[many] = np.searchsorted(edges, xs[many], side="left")
    return idx


def _group_names(col: pd.Series | None, n: int) -> tuple[np.ndarray, list[str]]:
    """A protected attribute's group of each row, named as the cells name it (``str(value)``, ``"(missing)"``),
    as its rank in the sorted list of the names, and that list."""
    if col is None:
        return np.zeros(n, dtype=np.int64), ["(missing)"]
    fast = factorised(col)
    if fast is None:
        text = col.astype(object).where(col.notna(), None).map(lambda v: "(missing)" if v is None else str(v))
        codes, uniques = pd.factorize(text.to_numpy(dtype=object))
        names = [str(u) for u in uniques]
    else:
        codes, uniques = fast
        names = [str(u) for u in uniques] + ["(missing)"]
        codes = np.where(codes < 0, len(uniques), codes)
    ordered = sorted(set(names))
    at = {t: i for i, t in enumerate(ordered)}
    return np.array([at[t] for t in names], dtype=np.int64)[codes], ordered


def _category_counts(col: pd.Series) -> dict[str, Any]:
    """A category feature's counts per text and its missing rows: the texts' ``value_counts()`` (by count,
    descending; ties in the order of first appearance), counted on the distinct values when the dtype allows."""
    from steward.serving._profile import _category_text

    n = len(col)
    fast = factorised(col)
    if fast is None:
        text = category_text(col)
        present = pd.Series(text[[t is not None for t in text]], dtype=object)
        return {"counts": {str(k): int(v) for k, v in present.value_counts().items()}, "missing": int(n - len(present))}
    codes, uniques = fast
    ok = codes >= 0
    per = np.bincount(codes[ok], minlength=len(uniques))
    if isinstance(col.dtype, pd.CategoricalDtype):  # categories are in their own order: take first appearance
        order = pd.unique(codes[ok])
    else:  # factorize numbers the uniques in the order they first appear
        order = np.arange(len(uniques))
    counts: dict[str, int] = {}
    for u in order.tolist():
        c = int(per[u])
        if c:
            t = _category_text(uniques[u])
            counts[t] = counts.get(t, 0) + c  # distinct values with one text (a categorical's 1 and "1") add up
    present = int(ok.sum())
    return {"counts": dict(sorted(counts.items(), key=lambda kv: -kv[1])), "missing": int(n - present)}


def _coded(batch: pd.DataFrame, column: str, favourable: int) -> np.ndarray:
    """1 favourable, 0 adverse, -1 unknown."""
    if column not in batch.columns:
        return np.full(len(batch), -1, dtype=np.int64)
    v = pd.to_numeric(batch[column], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    return np.where(np.isnan(v), -1, (v == favourable).astype(np.int64))


def group_table(w: WindowStats, protected: Sequence[str], attributes: Sequence[str]) -> pd.DataFrame:
    """Per group of one attribute or an intersection (``attributes``; none: one row "all"): rows, decided,
    favourable, labelled, the confusion counts (tp/fp/tn/fn, favourable = positive) of the labelled rows, and
    the expected correct decisions over the decided rows with a score (``expected``/``scored_decided``)."""
    columns = ["group", "rows", "decided", "favourable", "labelled", "tp", "fp", "tn", "fn", "expected",
               "scored_decided"]
    if not w.cells:
        return pd.DataFrame(columns=columns)
    fast = _group_parts(w.cells, list(protected), list(attributes))
    if fast is not None:
        return pd.DataFrame(fast).groupby("group", sort=True).sum().reset_index()
    f = pd.DataFrame(w.cells, columns=[*protected, "label", "decision", "rows", "scored", "score_sum", "expected"])
    f["group"] = f[list(attributes)].astype(str).agg("*".join, axis=1) if attributes else "all"
    lab, dec = f["label"], f["decision"]
    r = f["rows"]
    parts = {"rows": r, "decided": r.where(dec >= 0, 0), "favourable": r.where(dec == 1, 0),
             "labelled": r.where((lab >= 0) & (dec >= 0), 0), "tp": r.where((lab == 1) & (dec == 1), 0),
             "fp": r.where((lab == 0) & (dec == 1), 0), "tn": r.where((lab == 0) & (dec == 0), 0),
             "fn": r.where((lab == 1) & (dec == 0), 0), "expected": f["expected"].where(dec >= 0, 0.0),
             "scored_decided": f["scored"].where(dec >= 0, 0)}
    g = pd.DataFrame({"group": f["group"], **parts}).groupby("group", sort=True).sum().reset_index()
    return g


def _group_parts(cells: list[list[Any]], protected: list[str], attributes: list[str]) -> dict[str, Any] | None:
    """:func:`group_table`'s columns before the groupby, built from the cells directly (no row-wise ``agg``),
    when the cells hold what :func:`reduce_batch` and :meth:`WindowStats.merge` write (text groups, int counts,
    float sums), so the frame and its sums are those of the general path; None otherwise."""
    k = len(protected)
    if len(set(protected)) != k or any(a not in protected for a in attributes):
        return None
    at = [protected.index(a) for a in attributes]
    for c in cells:
        if (len(c) != k + 6 or any(type(c[i]) is not str for i in at)
                or any(type(v) is not int for v in c[k:k + 4]) or type(c[k + 5]) is not float):
            return None
    lab = np.array([c[k] for c in cells], dtype=np.int64)
    dec = np.array([c[k + 1] for c in cells], dtype=np.int64)
    r = np.array([c[k + 2] for c in cells], dtype=np.int64)
    scored = np.array([c[k + 3] for c in cells], dtype=np.int64)
    expected = np.array([c[k + 5] for c in cells], dtype=np.float64)
    decided = dec >= 0
    return {"group": ["*".join(c[i] for i in at) for c in cells] if attributes else ["all"] * len(cells),
            "rows": r, "decided": np.where(decided, r, 0), "favourable": np.where(dec == 1, r, 0),
            "labelled": np.where((lab >= 0) & decided, r, 0), "tp": np.where((lab == 1) & (dec == 1), r, 0),
            "fp": np.where((lab == 0) & (dec == 1), r, 0), "tn": np.where((lab == 0) & (dec == 0), r, 0),
            "fn": np.where((lab == 1) & (dec == 0), r, 0), "expected": np.where(decided, expected, 0.0),
            "scored_decided": np.where(decided, scored, 0)}
