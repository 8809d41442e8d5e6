"""Sufficient statistics: the finest cells of an audit, which merge by addition.

A cell is one combination of protected-attribute groups, label value and decision value.
For each cell we keep the row count, the weighted count ``n``, the sum of squared weights
``n_sq`` (for Kish's effective sample size), and the weighted sum and sum of squares of the
score. Every group metric of every attribute and of their intersection is a sum over cells,
so the same metric code serves an in-memory audit, a DuckDB scan of a large file, and a
monitoring window that grows as predictions arrive.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from steward.errors import StewardError

__all__ = ["CellTable", "STAT_COLUMNS"]

STAT_COLUMNS = ("rows", "n", "n_sq", "score_sum", "score_sq")


@dataclass(frozen=True)
class CellTable:
    """Per-cell statistics over protected groups × label × decision.

    ``frame`` has one column per protected attribute (group names as text), ``label`` and
    ``decision`` (0/1), and the statistics ``rows``, ``n``, ``n_sq`` and, when a score was
    given, ``score_sum`` and ``score_sq``. Rows are sorted by the key columns; empty cells are
    left out.
    """

    attributes: tuple[str, ...]
    frame: pd.DataFrame
    has_score: bool
    _group_cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def keys(self) -> list[str]:
        return [*self.attributes, "label", "decision"]

    @property
    def stats(self) -> list[str]:
        return [c for c in STAT_COLUMNS if self.has_score or not c.startswith("score")]

    @property
    def total_rows(self) -> int:
        return int(self.frame["rows"].sum())

    @classmethod
    def from_arrays(
        cls,
        attributes: Sequence[str],
        group_names: Sequence[Sequence[str]],
        codes: Sequence[np.ndarray],
        label: np.ndarray,
        decision: np.ndarray,
        stats: dict[str, np.ndarray],
        has_score: bool,
    ) -> "CellTable":
        """Build from per-cell arrays: ``codes[i]`` indexes ``group_names[i]``."""
        data: dict[str, object] = {}
        for attr, names, code in zip(attributes, group_names, codes):
            data[attr] = np.asarray(names, dtype=object)[code]
        data["label"] = label.astype(np.int8)
        data["decision"] = decision.astype(np.int8)
        for name in STAT_COLUMNS:
            if name in stats:
                data[name] = stats[name]
        frame = pd.DataFrame(data)
        return cls._normalised(tuple(attributes), frame, has_score)

    @classmethod
    def _normalised(cls, attributes: tuple[str, ...], frame: pd.DataFrame, has_score: bool) -> "CellTable":
        """Sum rows with the same key, drop empty cells, sort by group names, label, decision."""
        stats = [c for c in STAT_COLUMNS if has_score or not c.startswith("score")]
        codes, names, dims = [], [], []
        for a in attributes:
            c, u = pd.factorize(frame[a].astype(object).map(str).to_numpy(dtype=object), sort=True)
            codes.append(c)
            names.append(np.asarray(u, dtype=object))
            dims.append(max(len(u), 1))
        for col in ("label", "decision"):
            codes.append(frame[col].to_numpy(dtype=np.int64))
            dims.append(2)
        flat = np.ravel_multi_index(codes, dims) if len(frame) else np.zeros(0, dtype=np.int64)
        keys, inverse = np.unique(flat, return_inverse=True)
        sums = {c: np.bincount(inverse, weights=frame[c].to_numpy(dtype=np.float64), minlength=len(keys))
                for c in stats}
        keep = sums["rows"] > 0
        parts = np.unravel_index(keys[keep], dims)
        data: dict[str, object] = {a: names[i][parts[i]] for i, a in enumerate(attributes)}
        data["label"] = parts[-2].astype(np.int8)
        data["decision"] = parts[-1].astype(np.int8)
        data["rows"] = np.rint(sums["rows"][keep]).astype(np.int64)
        for c in stats[1:]:
            data[c] = sums[c][keep]
        return cls(attributes, pd.DataFrame(data), has_score)

    def merge(self, *others: "CellTable") -> "CellTable":
        """Statistics of the union of the rows behind ``self`` and ``others``."""
        return CellTable.combine([self, *others])

    @staticmethod
    def combine(tables: Iterable["CellTable"]) -> "CellTable":
        tables = list(tables)
        if not tables:
            raise StewardError("nothing to merge: give at least one CellTable")
        first = tables[0]
        for t in tables[1:]:
            if t.attributes != first.attributes or t.has_score != first.has_score:
                raise StewardError(
                    "cannot merge statistics of different audits: protected attributes "
                    f"{first.attributes} vs {t.attributes}, score {first.has_score} vs {t.has_score}"
                )
        frame = pd.concat([t.frame for t in tables], ignore_index=True)
        return CellTable._normalised(first.attributes, frame, first.has_score)

    def equals(self, other: "CellTable", rtol: float = 1e-9) -> bool:
        """Same cells and counts; weighted sums equal to ``rtol`` (float sums depend on order)."""
        if self.attributes != other.attributes or self.has_score != other.has_score:
            return False
        a, b = self.frame, other.frame
        if a.shape != b.shape or not a[self.keys].equals(b[self.keys]):
            return False
        if not np.array_equal(a["rows"].to_numpy(), b["rows"].to_numpy()):
            return False
        for c in self.stats[1:]:
            if not np.allclose(a[c].to_numpy(), b[c].to_numpy(), rtol=rtol, atol=1e-9):
                return False
        return True

    def groups(self, attributes: Sequence[str]) -> pd.DataFrame:
        """Per-group statistics for one attribute or an intersection of several.

        Returns one row per group (sorted by name) with ``rows``, ``n``, ``n_sq``, the four
        confusion cells ``tp``, ``fp``, ``tn``, ``fn`` (weighted) with their ``*_sq`` sums of
        squared weights, and ``score_sum``/``score_sq`` when a score was given. The group name
        of an intersection joins the parts with ``*``.
        """
        cache_key = tuple(attributes)
        if cache_key not in self._group_cache:
            self._group_cache[cache_key] = self._groups(cache_key)
        return self._group_cache[cache_key].copy()

    def _groups(self, attributes: tuple[str, ...]) -> pd.DataFrame:
        f = self.frame
        if len(attributes) == 1:
            key = f[attributes[0]].to_numpy(dtype=object)
        else:
            key = np.array(["*".join(parts) for parts in zip(*(f[a] for a in attributes))], dtype=object)
        codes, uniques = pd.factorize(key, sort=True)
        k = len(uniques)
        out: dict[str, object] = {"group": np.asarray(uniques, dtype=object)}
        for stat in self.stats:
            summed = np.bincount(codes, weights=f[stat].to_numpy(dtype=np.float64), minlength=k)
            out[stat] = summed.astype(np.int64) if stat == "rows" else summed
        y, d = f["label"].to_numpy(), f["decision"].to_numpy()
        n, n_sq = f["n"].to_numpy(), f["n_sq"].to_numpy()
        for cell, mask in (("tp", (y == 1) & (d == 1)), ("fp", (y == 0) & (d == 1)),
                           ("tn", (y == 0) & (d == 0)), ("fn", (y == 1) & (d == 0))):
            out[cell] = np.bincount(codes[mask], weights=n[mask], minlength=k)
            out[cell + "_sq"] = np.bincount(codes[mask], weights=n_sq[mask], minlength=k)
        return pd.DataFrame(out)
