"""SliceLine (Sagadeeva and Boehm, SIGMOD 2021): exact top-k slices by score, level by level.

A slice is a conjunction of ``feature = value`` predicates. Its score weighs how much worse the
model does inside it against how small it is:

    sc = alpha * ((se / ss) / e_bar - 1) - (1 - alpha) * (n / ss - 1)

(``ss`` rows, ``se`` summed error, ``e_bar`` the mean error of all ``n`` rows). The lattice is
enumerated level by level: a candidate at level L joins slices of level L-1 and is kept only when
all of its L parents survived (size at least ``min_support``, some error), and when the upper
bound of its score (and of all its descendants), computed from its parents' sizes and errors, can
still reach the current top-k.

The paper evaluates candidates by sparse matrix products over a one-hot encoding. Here the same
candidates are evaluated per combination of features with one counting pass over integer codes
(``np.bincount`` over a mixed-radix cell key), which gives the same sizes and errors with far
less memory: the one-hot matrix is never built, and nothing grows with rows times candidates.

Two deliberate differences from the ``sliceline`` package (DataDome), both about exactness:

* while the top-k holds fewer than ``k`` slices, a candidate is pruned only when its bound is not
  positive (the package prunes against the smallest score found so far, which can drop a slice
  that belongs in the top-k);
* a candidate whose bound equals the k-th score is evaluated (it may tie), and the bound uses the
  number of rows (the package uses the number of one-hot columns, a looser bound).

Both only matter at the margins; the tests compare top-k slices and scores with the package.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np

__all__ = ["Count", "Lattice", "search", "sliceline"]


@dataclass
class Lattice:
    """The top-k slices found: ``slices[i]`` is a tuple of (feature index, code) pairs, sorted by
    feature; ``stats[i]`` is (score, summed error, max error, size)."""

    slices: list[tuple[tuple[int, int], ...]]
    stats: np.ndarray
    levels_searched: int
    candidates_evaluated: int
    mean_error: float


def _score(ss: np.ndarray, se: np.ndarray, n: int, alpha: float, e_bar: float) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        sc = alpha * ((se / ss) / e_bar - 1) - (1 - alpha) * (n / ss - 1)
    return np.where(ss > 0, sc, -np.inf)


def _score_bound(ss: np.ndarray, se: np.ndarray, sm: np.ndarray, n: int, alpha: float, e_bar: float,
                 min_support: float) -> np.ndarray:
    """Upper bound of the score of a slice and all its descendants, given bounds on their size
    (``ss``), summed error (``se``) and largest error (``sm``). The score is monotone in the size on
    either side of ``se / sm``, so its maximum over sizes in [min_support, ss] is at one of three
    points."""
    with np.errstate(divide="ignore", invalid="ignore"):
        knee = np.where(sm > 0, se / sm, min_support)
    points = np.stack([np.full_like(ss, float(min_support)), np.maximum(knee, min_support), ss.astype(float)])
    with np.errstate(divide="ignore", invalid="ignore"):
        err = np.minimum(points * sm, se)
        sc = (alpha * (err / e_bar - points) - (1 - alpha) * (n - points)) / points
    return sc.max(axis=0)


class _TopK:
    def __init__(self, k: int, bits: Callable[[list], np.ndarray]) -> None:
        self.k = k
        self._bits = bits
        self.slices: list[tuple[tuple[int, int], ...]] = []
        self.stats = np.zeros((0, 4))

    def threshold(self) -> float:
        """Scores below this cannot enter: the k-th best score once there are k slices, else 0."""
        return float(self.stats[-1, 0]) if len(self.slices) >= self.k else 0.0

    def add(self, slices: list, stats: np.ndarray, min_support: float) -> None:
        keep = (stats[:, 3] >= min_support) & (stats[:, 0] > 0)
        if not keep.any():
            return
        slices = self.slices + [s for s, ok in zip(slices, keep) if ok]
        stats = np.concatenate([self.stats, stats[keep]])
        order = np.argsort(-stats[:, 0], kind="stable")
        # every slice tied with the k-th best stays (as a rank with ties broken downward)
        cutoff = stats[order[min(self.k, len(order)) - 1], 0]
        chosen = order[stats[order, 0] >= cutoff]
        slices = [slices[i] for i in chosen]
        stats = stats[chosen]
        # ties in score ordered by the one-hot bit vector, as the sliceline package orders them
        bits = self._bits(slices)
        order = np.lexsort(tuple(bits[:, j] for j in range(bits.shape[1] - 1, -1, -1)) + (-stats[:, 0],))
        self.slices = [slices[i] for i in order]
        self.stats = stats[order]


def _cell_stats(codes: list[np.ndarray], cards: np.ndarray, errors: np.ndarray, binary: bool,
                feats: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Size, summed error and max error of every cell of the given features (one pass)."""
    radix = np.cumprod([1] + [int(cards[f]) for f in feats[:0:-1]])[::-1]
    cells = int(np.prod([int(cards[f]) for f in feats]))
    dtype = np.int32 if cells < 2**31 else np.int64
    key = codes[feats[0]].astype(dtype) * dtype(radix[0])
    for f, r in zip(feats[1:], radix[1:]):
        key += codes[f].astype(dtype) * dtype(r) if r != 1 else codes[f]
    if cells <= max(4 * len(key), 1 << 22):
        ss = np.bincount(key, minlength=cells)
        se = np.bincount(key, weights=errors, minlength=cells)
        if binary:
            sm = (se > 0).astype(float)
        else:
            sm = np.full(cells, -np.inf)
            np.maximum.at(sm, key, errors)
        return np.arange(cells, dtype=np.int64), ss, se, sm
    # too many cells for a dense table: only the cells that occur
    uniq, inv = np.unique(key, return_inverse=True)
    ss = np.bincount(inv)
    se = np.bincount(inv, weights=errors)
    sm = np.full(len(uniq), -np.inf)
    np.maximum.at(sm, inv, errors)
    return uniq.astype(np.int64), ss, se, sm


Count = Callable[[list[tuple[int, ...]], str], Iterable[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]]
"""``count(combos, stage)``: for each feature combination in turn, its occurring cells (mixed-radix keys over
the combination's codes, sorted) with their size, summed error and largest error; it reports its own
progress as ``stage`` ("level 1", "level 2", ...)."""


def sliceline(
    codes: list[np.ndarray],
    cards: list[int] | np.ndarray,
    errors: np.ndarray,
    *,
    k: int = 10,
    max_level: int = 3,
    alpha: float = 0.95,
    min_support: int = 32,
    on_progress: Callable[[str, float], None] | None = None,
) -> Lattice:
    """Exact top-k slices over integer-coded features (``codes[f][row]`` in ``0 .. cards[f]-1``).

    ``errors`` are non-negative per-row losses (1/0 misclassification by default upstream).
    """
    cards = np.asarray(cards, dtype=np.int64)
    errors = np.asarray(errors, dtype=float)
    n = len(errors)
    binary = bool(np.isin(errors, (0.0, 1.0)).all())
    e_bar = float(errors.mean()) if n else 0.0

    def count(combos: list[tuple[int, ...]], stage: str) -> Iterator[tuple[np.ndarray, ...]]:
        # one combination at a time, so that only one count table is held
        for i, feats in enumerate(combos):
            table = _cell_stats(codes, cards, errors, binary, feats)
            if on_progress is not None:
                on_progress(stage, (i + 1) / len(combos))
            yield table

    return search(count, cards, n, e_bar, k=k, max_level=max_level, alpha=alpha, min_support=min_support)


def search(count: Count, cards: list[int] | np.ndarray, n: int, e_bar: float, *, k: int, max_level: int,
           alpha: float, min_support: int) -> Lattice:
    """The level-by-level search of :func:`sliceline` over ``n`` rows with mean error ``e_bar``, counting
    through ``count`` (see :data:`Count`): in memory by NumPy, on Spark by one aggregation per level. The
    candidates, bounds, pruning and top-k depend only on the counts, so equal counts give equal slices."""
    cards = np.asarray(cards, dtype=np.int64)
    m = len(cards)
    offsets = np.concatenate([[0], np.cumsum(cards)])

    def bits(slices: list) -> np.ndarray:
        out = np.zeros((len(slices), int(offsets[-1]) + 1), dtype=np.int8)
        for i, s in enumerate(slices):
            for f, c in s:
                out[i, offsets[f] + c] = 1
        return out

    top = _TopK(k, bits)
    if n == 0 or e_bar <= 0 or m == 0:
        return Lattice([], np.zeros((0, 4)), 0, 0, e_bar)

    # level 1: every single predicate
    lvl_slices: list[tuple] = []
    lvl_stats: list[np.ndarray] = []
    for f, (cell, ss, se, sm) in enumerate(count([(f,) for f in range(m)], "level 1")):
        ok = (ss >= min_support) & (se > 0)
        for c, a, b, d in zip(cell[ok], ss[ok], se[ok], sm[ok]):
            lvl_slices.append(((f, int(c)),))
            lvl_stats.append(np.array([0.0, b, d, a]))
    stats = np.array(lvl_stats).reshape(-1, 4)
    if len(stats):
        stats[:, 0] = _score(stats[:, 3], stats[:, 1], n, alpha, e_bar)
    top.add(lvl_slices, stats, min_support)
    evaluated = len(lvl_slices)
    level = 1
    items = lvl_slices  # valid single predicates, the only extensions a slice can take
    parents = {s: st for s, st in zip(lvl_slices, stats)}

    while parents and level < min(m, max_level):
        level += 1
        # candidates: a parent extended by one predicate on a later feature; kept only when all its
        # `level` parents survived, with the tightest bounds over them
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
                    sub = c[:drop] + c[drop + 1:]
                    st = parents.get(sub)
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
        thr = top.threshold()
        keep = (ub >= thr) & (ub > 0) & (b[:, 0] >= min_support)
        cand = [c for c, ok in zip(cand, keep) if ok]
        # evaluate: one counting pass per combination of features
        by_feats: dict[tuple[int, ...], list[tuple]] = {}
        for c in cand:
            by_feats.setdefault(tuple(f for f, _ in c), []).append(c)
        new_slices: list[tuple] = []
        new_stats: list[np.ndarray] = []
        for (feats, group), (cell, ss, se, sm) in zip(by_feats.items(), count(list(by_feats), f"level {level}")):
            radix = np.cumprod([1] + [int(cards[f]) for f in feats[:0:-1]])[::-1]
            want = np.array([[v for _, v in c] for c in group], dtype=np.int64) @ radix
            pos = np.searchsorted(cell, want)
            pos_ok = pos < len(cell)
            found = np.zeros(len(want), dtype=bool)
            found[pos_ok] = cell[pos[pos_ok]] == want[pos_ok]
            st = np.zeros((len(group), 4))
            idx = pos[found]
            st[found, 1], st[found, 2], st[found, 3] = se[idx], sm[idx], ss[idx]
            new_slices.extend(group)
            new_stats.append(st)
        evaluated += len(new_slices)
        stats = np.concatenate(new_stats) if new_stats else np.zeros((0, 4))
        if len(stats):
            stats[:, 0] = _score(stats[:, 3], stats[:, 1], n, alpha, e_bar)
        top.add(new_slices, stats, min_support)
        ok = (stats[:, 3] >= min_support) & (stats[:, 1] > 0)
        parents = {s: st for s, st, good in zip(new_slices, stats, ok) if good}

    return Lattice(top.slices, top.stats, level, evaluated, e_bar)
