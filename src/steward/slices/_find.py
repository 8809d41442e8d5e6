"""Slice discovery over a table: encode the features, run SliceLine, describe each slice."""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from steward._html import HtmlView
from steward.errors import DataValidationError, RoleError
from steward.slices._encode import Encoding, encode_features
from steward.slices._sliceline import Lattice, sliceline

__all__ = ["SliceReport", "find_slices", "misclassified"]


def misclassified(label: Any, prediction: Any) -> np.ndarray:
    """1.0 where the decision differs from the label, else 0.0 (the default error for slices)."""
    y, p = np.asarray(label), np.asarray(prediction)
    if y.shape != p.shape:
        raise DataValidationError(f"label has {y.shape[0]} rows but prediction has {p.shape[0]}")
    return (y != p).astype(float)


def _not_numbers(what: str, kind: str) -> str:
    """The one line that refuses errors holding ``kind`` values, in memory and on Spark."""
    return (f"{what} holds {kind} values, not numbers; give a non-negative numeric loss per row (1.0 for a "
            f"mistake, 0.0 otherwise)")


def _kind(values: Any) -> str:
    """What non-numeric values are, in pandas' words ("string", "mixed", ...)."""
    try:
        return pd.api.types.infer_dtype(np.asarray(values, dtype=object).ravel(), skipna=True)
    except (TypeError, ValueError):
        return "non-numeric"


def _finite(x: float) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


@dataclass
class SliceReport(HtmlView):
    """The top-k slices where the model does worst, by SliceLine's score.

    ``table`` has one row per slice: ``slice`` (the predicates in words), ``level`` (how many),
    ``size``, ``share`` of all rows, ``error_rate`` (mean error inside), ``rest_error_rate``
    (mean error of all other rows), ``error_ratio`` (inside / rest), ``lift`` (inside / overall),
    ``errors`` (summed error) and ``score``.
    """

    table: pd.DataFrame
    predicates: list[list[tuple[str, str]]]
    rows: int
    mean_error: float
    settings: dict[str, Any]
    encoding: Encoding
    levels_searched: int
    candidates_evaluated: int
    slice_codes: list[tuple[tuple[int, int], ...]] = field(repr=False, default_factory=list)

    page_title = "Slices where the model does worst"
    page_kind = "slices"

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def mask(self, data: pd.DataFrame, i: int) -> np.ndarray:
        """Which rows of ``data`` fall in slice ``i`` (features coded as during the search)."""
        inside = np.ones(len(data), dtype=bool)
        for f, c in self.slice_codes[i]:
            fc = self.encoding.features[f]
            inside &= fc.codes(data[fc.name]) == c
        return inside

    def to_dict(self) -> dict[str, Any]:
        slices = []
        for i, rec in enumerate(self.table.to_dict(orient="records")):
            slices.append({
                "slice": rec["slice"],
                "predicates": [{"feature": f, "value": v} for f, v in self.predicates[i]],
                **{k: (_finite(rec[k]) if isinstance(rec[k], float) else rec[k])
                   for k in ("level", "size", "share", "errors", "error_rate", "rest_error_rate", "error_ratio",
                             "lift", "score")},
            })
        return {
            "method": "SliceLine (Sagadeeva and Boehm, SIGMOD 2021), exact top-k by score",
            "rows": self.rows,
            "mean_error": _finite(self.mean_error),
            "settings": self.settings,
            "levels_searched": self.levels_searched,
            "candidates_evaluated": self.candidates_evaluated,
            "features": self.encoding.to_dict(),
            "slices": slices,
        }

    @property
    def binary_errors(self) -> bool:
        """Whether the errors look like 0/1 mistakes (whole sums everywhere), so means are error rates."""
        sums = np.append(self.table["errors"].to_numpy(float), self.mean_error * self.rows)
        return bool(np.allclose(sums, np.round(sums), rtol=0, atol=1e-6))

    def html(self, heading: int = 2) -> str:
        """The chart, what was searched, and the slices (summarised when there are many)."""
        from steward._html import count, number, pct, table

        s = self.settings
        rate = self.binary_errors
        mean = f"error rate {pct(self.mean_error)}" if rate else f"mean error {number(self.mean_error)}"
        bins = (f"numbers were cut into {s['bins']} {s['binning']} bins" if isinstance(s.get("bins"), int)
                else "numbers were cut into the given bins")
        text = (f"SliceLine (Sagadeeva and Boehm, 2021) searched every combination of up to {s['max_level']} feature "
                f"values with at least {count(s['min_support'])} rows, scored each by how much worse the error inside "
                f"it is than overall (alpha {s['alpha']:g}) and kept the top {s['k']}. Overall {mean} over "
                f"{count(self.rows)} rows; {count(self.candidates_evaluated)} slices were evaluated. "
                f"{bins.capitalize()}; a missing value is a value of its own.")
        if not len(self.table):
            return (f"<p>{html.escape(text)}</p><p>No slice scores above 0: no subgroup is clearly worse than the "
                    f"rest.</p>")
        fmts = {} if rate else {"error_rate": "number", "rest_error_rate": "number"}
        labels = {} if rate else {"error_rate": "mean error", "rest_error_rate": "mean error of the rest"}
        shown = table(self.table, ["slice", "size", "share", "error_rate", "rest_error_rate", "error_ratio", "score"],
                      formats={**fmts, "errors": "count" if rate else "number"}, labels=labels, limit=10,
                      summary="the slices with the highest score")
        return f'<p>{html.escape(text)}</p><div class="chart">{self.chart()}</div>{shown}'

    def chart(self) -> str:
        """Error rate inside each slice against the rest, as inline SVG."""
        from steward.slices._chart import slice_chart

        return slice_chart(self)

    def __len__(self) -> int:
        return len(self.table)


def find_slices(
    data: pd.DataFrame,
    errors: Any,
    *,
    features: Sequence[str] | None = None,
    k: int = 10,
    max_level: int = 3,
    alpha: float = 0.95,
    min_support: int | float = 32,
    bins: int | Mapping[str, int | Sequence[float]] = 10,
    binning: str = "quantile",
    on_progress: Callable[[str, float], None] | None = None,
) -> SliceReport:
    """Find the ``k`` slices (conjunctions of ``feature = value``) where the model does worst.

    Parameters
    ----------
    data : pandas.DataFrame or pyspark.sql.DataFrame
        One row per person. A Spark DataFrame is searched by :func:`find_slices_spark` (Spark does the
        counting; the same slices come back).
    errors : str or array-like
        Per-row error: a column name or an array (on Spark: a column name or a Spark Column). Use
        :func:`misclassified` for 0/1 errors, or any non-negative per-row loss (log loss, squared error).
    features : list of str, optional
        Columns to slice on (default: every column except ``errors`` when it is a column name).
        Numbers with more distinct values than ``bins`` are binned; missing values are a level.
    k : int
        How many slices (all slices tied with the k-th are kept).
    max_level : int
        Most predicates in one slice.
    alpha : float
        Weight of the error term against the size term of the score, in (0, 1].
    min_support : int or float
        Fewest rows in a slice; a float below 1 is a share of the rows.
    bins, binning : int or mapping, {"quantile", "uniform"}
        Bins for numbers (a mapping gives a count or inner edges per feature).
    on_progress : callable, optional
        Called as ``on_progress(stage, fraction)``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> df = pd.DataFrame({"a": ["x", "y"] * 500, "b": ["u"] * 500 + ["v"] * 500})
    >>> err = ((df.a == "x") & (df.b == "v")).to_numpy(float)
    >>> find_slices(df, err, k=1, max_level=2).table["slice"].iloc[0]
    'a = x AND b = v'
    """
    from steward.engine._spark import is_spark_frame

    if is_spark_frame(data):  # the same search, counted by Spark
        from steward.slices._spark import find_slices_spark

        return find_slices_spark(data, errors, features=features, k=k, max_level=max_level, alpha=alpha,
                                 min_support=min_support, bins=bins, binning=binning, on_progress=on_progress)
    if not isinstance(data, pd.DataFrame):
        raise RoleError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    if isinstance(errors, str):
        if errors not in data.columns:
            raise DataValidationError(f"errors column {errors!r} is not in the data")
        err_name, errors = errors, data[errors].to_numpy()
        what = f"errors column {err_name!r}"
    else:
        err_name, what = None, "the errors array"
    try:
        err = np.asarray(errors, dtype=float)
    except (TypeError, ValueError):
        raise DataValidationError(_not_numbers(what, _kind(errors))) from None
    if err.shape != (len(data),):
        raise DataValidationError(f"errors must have one value per row ({len(data)}), got shape {err.shape}")
    if not np.isfinite(err).all():
        bad = int((~np.isfinite(err)).sum())
        raise DataValidationError(f"errors has {bad} missing or infinite value(s); give a finite loss for every row")
    if (err < 0).any():
        raise DataValidationError("errors has negative values; SliceLine needs a non-negative loss per row")
    if not (isinstance(k, (int, np.integer)) and k >= 1):
        raise RoleError(f"k must be a whole number >= 1, got {k!r}")
    if not (isinstance(max_level, (int, np.integer)) and max_level >= 1):
        raise RoleError(f"max_level must be a whole number >= 1, got {max_level!r}")
    if not (0 < alpha <= 1):
        raise RoleError(f"alpha must be in (0, 1], got {alpha!r}")
    if min_support < 0 or (isinstance(min_support, float) and min_support >= 1 and not float(min_support).is_integer()):
        raise RoleError(f"min_support must be a row count >= 0 or a share below 1, got {min_support!r}")
    support = int(min_support * len(data)) if isinstance(min_support, float) and min_support < 1 else int(min_support)
    feats = list(features) if features is not None else [c for c in data.columns if c != err_name]
    if not feats:
        raise RoleError("no features to slice on; give features=[...]")
    enc = encode_features(data, feats, bins=bins, binning=binning)
    # a feature with one value only adds always-true predicates (ties of every slice): leave it out
    constant = [f.name for f in enc.features if len(f.levels) < 2]
    if constant:
        keep = [i for i, f in enumerate(enc.features) if len(f.levels) >= 2]
        enc = type(enc)([enc.features[i] for i in keep], [enc.codes[i] for i in keep])
    lat = sliceline(enc.codes, enc.cards, err, k=int(k), max_level=int(max_level), alpha=float(alpha),
                    min_support=support, on_progress=on_progress)
    return _report(enc, lat, len(err), float(err.sum()), k=k, max_level=max_level, alpha=alpha, min_support=support,
                   bins=bins, binning=binning, features=feats, constant=constant)


def _report(enc: Encoding, lat: Lattice, n: int, total: float, *, k: int, max_level: int, alpha: float,
            min_support: int, bins: Any, binning: str, features: list[str], constant: list[str]) -> SliceReport:
    """The report of a search over ``n`` rows whose errors sum to ``total`` (in memory and on Spark)."""
    records, preds = [], []
    for s, (score, se, _sm, ss) in zip(lat.slices, lat.stats):
        words = [(enc.features[f].name, enc.features[f].levels[c]) for f, c in s]
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
        preds.append(words)
    cols = ["slice", "level", "size", "share", "errors", "error_rate", "rest_error_rate", "error_ratio", "lift", "score"]
    return SliceReport(
        table=pd.DataFrame(records, columns=cols),
        predicates=preds,
        rows=n,
        mean_error=float(lat.mean_error),
        settings={"k": int(k), "max_level": int(max_level), "alpha": float(alpha), "min_support": min_support,
                  "bins": bins if isinstance(bins, int) else dict(bins), "binning": binning, "features": features,
                  "constant_features_skipped": constant},
        encoding=enc,
        levels_searched=lat.levels_searched,
        candidates_evaluated=lat.candidates_evaluated,
        slice_codes=list(lat.slices),
    )
