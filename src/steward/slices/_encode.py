"""Turn feature columns into integer codes for slice search: categories as they are, numbers binned."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from steward.errors import DataValidationError, RoleError

__all__ = ["Encoding", "encode_features", "BINNINGS", "MISSING"]

BINNINGS = ("quantile", "uniform")
MISSING = "(missing)"


def _fmt(x: float) -> str:
    return f"{x:.6g}"


@dataclass
class FeatureCode:
    """How one feature is coded: its levels (text), and for a binned number its bin edges."""

    name: str
    levels: list[str]
    edges: list[float] | None = None  # binned numbers: level i is [edges[i], edges[i+1])
    values: list = field(default_factory=list)  # categorical: the original value of each level

    @property
    def binned(self) -> bool:
        return self.edges is not None

    def codes(self, column: pd.Series) -> np.ndarray:
        """Codes of a column of new data under this coding (-1 where a value is unseen)."""
        missing = column.isna().to_numpy()
        if self.binned:
            x = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
            out = np.searchsorted(np.asarray(self.edges[1:-1]), x, side="right").astype(np.int32)
        else:
            lookup = {v: i for i, v in enumerate(self.values)}
            out = np.array([lookup.get(v, -1) for v in column.astype(object).where(~missing, None)], dtype=np.int32)
        if MISSING in self.levels:
            out[missing] = self.levels.index(MISSING)
        else:
            out[missing] = -1
        return out

    def predicate(self, code: int) -> str:
        level = self.levels[code]
        if self.binned and level != MISSING:
            return f"{self.name} in {level}"
        return f"{self.name} = {level}"


@dataclass
class Encoding:
    features: list[FeatureCode]
    codes: list[np.ndarray]

    @property
    def cards(self) -> list[int]:
        return [len(f.levels) for f in self.features]

    def to_dict(self) -> list[dict]:
        return [{"feature": f.name, "levels": f.levels, "binned": f.binned,
                 **({"edges": f.edges} if f.binned else {})} for f in self.features]


def _bin_edges(x: np.ndarray, bins: int | Sequence[float], binning: str) -> np.ndarray:
    finite = x[np.isfinite(x)]
    if not isinstance(bins, (int, np.integer)):
        inner = np.asarray(sorted(float(b) for b in bins))
        return np.concatenate([[min(finite.min(), inner[0])], inner, [max(finite.max(), inner[-1])]])
    if binning == "quantile":
        edges = np.unique(np.quantile(finite, np.linspace(0, 1, int(bins) + 1)))
        if len(edges) < 3 and len(np.unique(finite)) > 1:
            # one value holds most rows (capital gain: mostly 0): it gets a bin, the rest are binned
            low = finite.min()
            rest = finite[finite > low]
            edges = np.unique(np.concatenate([[low], np.quantile(rest, np.linspace(0, 1, int(bins)))]))
        return edges
    else:
        edges = np.linspace(finite.min(), finite.max(), int(bins) + 1)
    return np.unique(edges)


def encode_features(
    frame: pd.DataFrame,
    features: Sequence[str],
    *,
    bins: int | Mapping[str, int | Sequence[float]] = 10,
    binning: str = "quantile",
) -> Encoding:
    """Code each feature: a number with more distinct values than its bin count is binned (quantile
    bins by default, ``uniform`` for equal widths, or explicit inner edges per feature); anything else
    keeps its values as levels, sorted. Missing values are a level of their own, ``(missing)``."""
    if binning not in BINNINGS:
        raise RoleError(f"binning must be one of {', '.join(BINNINGS)}, got {binning!r}")
    check_names(list(frame.columns), features, bins)
    coded: list[FeatureCode] = []
    codes: list[np.ndarray] = []
    for name in features:
        col = frame[name]
        nb = bins.get(name, 10) if isinstance(bins, Mapping) else bins
        if isinstance(nb, (int, np.integer)) and nb < 2:
            raise RoleError(f"bins for {name!r} must be at least 2, got {nb}")
        missing = col.isna().to_numpy()
        numeric = pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)
        nunique = col.nunique(dropna=True)
        if nunique == 0:
            raise DataValidationError(f"feature {name!r} has no values (every row is missing); leave it out")
        explicit = not isinstance(nb, (int, np.integer))
        if numeric and (explicit or nunique > nb):
            x = col.to_numpy(dtype=float)
            edges = _bin_edges(x, nb, binning)
            code = np.searchsorted(edges[1:-1], x, side="right").astype(np.int32)
            labels = [f"[{_fmt(a)}, {_fmt(b)}{']' if i == len(edges) - 2 else ')'}"
                      for i, (a, b) in enumerate(zip(edges[:-1], edges[1:]))]
            fc = FeatureCode(name, labels, edges=[float(e) for e in edges])
        else:
            cat = pd.Categorical(col[~missing])
            full = np.full(len(col), -1, dtype=np.int32)
            full[~missing] = cat.codes
            code = full
            fc = FeatureCode(name, [str(v) for v in cat.categories], values=list(cat.categories))
        if missing.any():
            code[missing] = len(fc.levels)
            fc.levels.append(MISSING)
        coded.append(fc)
        codes.append(code)
    return Encoding(coded, codes)


def check_names(columns: Sequence[Any], features: Sequence[str], bins: Any) -> None:
    """Every feature is a column of the data, and ``bins`` (a mapping) names only features: one line otherwise.
    Shared by the in-memory and the Spark slice finders."""
    missing_cols = [f for f in features if f not in columns]
    if missing_cols:
        raise DataValidationError(f"feature column(s) {', '.join(map(repr, missing_cols))} not in the data; "
                                  f"the columns are: {', '.join(map(str, columns))}")
    if isinstance(bins, Mapping):
        unknown = [k for k in bins if k not in features]
        if unknown:
            raise RoleError(f"bins names {', '.join(map(repr, unknown))}, which are not among the features "
                            f"({', '.join(features)})")
