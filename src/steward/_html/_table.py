"""Tables for people: formatted numbers, intervals beside their estimate, and long or wide tables
summarised, with every row and column folded into ``<details>`` below."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from steward._html import _format as fmt

__all__ = ["badge", "formatter", "label", "table"]

Formatter = Callable[[Any], str]

_NAMED: dict[str, Formatter] = {"count": fmt.count, "number": fmt.number, "pct": fmt.pct, "pp": fmt.pp,
                                "p": fmt.pvalue, "ratio": fmt.ratio, "text": lambda v: "" if v is None else str(v)}
_SUFFIXES = ("_before", "_after")
_PCT_NAMES = {"share", "accuracy", "precision", "recall", "churn", "any_flip", "rows_flipping", "flip_rate"}
_UPPER = {"auc", "air", "fpr", "fnr", "tpr", "smd", "ci", "id", "sha256"}
_LABELS = {"air_min": "lowest AIR", "fpr_ratio_max": "highest FPR ratio", "fnr_ratio_max": "highest FNR ratio",
           "auc_std": "AUC spread (sd)", "too_small_to_judge": "too small to judge", "p_value": "p",
           "adverse_impact_ratio": "adverse impact ratio", "rest_error_rate": "error rate of the rest",
           "mutual_information": "mutual information (bits)", "cramers_v": "Cramér's V"}


def label(column: str) -> str:
    """A column name as a header: words, with the usual abbreviations in capitals."""
    if column in _LABELS:
        return _LABELS[column]
    for s in _SUFFIXES:
        if column.endswith(s) and column[: -len(s)] in _LABELS:
            return f"{_LABELS[column[: -len(s)]]} {s[1:]}"
    return " ".join(w.upper() if w in _UPPER else w for w in str(column).split("_"))


def badge(status: Any) -> Any:
    """A coloured status label (``pass``, ``warn``, ``fail``, ...) for a table cell."""
    from markupsafe import Markup

    if status is None or (isinstance(status, float) and np.isnan(status)):
        return ""
    s = str(status)
    return Markup('<span class="badge {}">{}</span>').format(s, s.replace("_", " "))


def _stem(column: str) -> str:
    for s in _SUFFIXES:
        if column.endswith(s):
            return column[: -len(s)]
    return column


def _in_unit_range(values: pd.Series) -> bool:
    v = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    v = v[np.isfinite(v)]
    return bool(len(v) == 0 or (v.min() >= -1 and v.max() <= 1))


def _is_text(values: pd.Series) -> bool:
    """Whether a column holds words (or yes/no), not numbers; numbers stored as objects count as numbers."""
    if pd.api.types.is_bool_dtype(values.dtype):
        return True
    if pd.api.types.is_numeric_dtype(values.dtype):
        return False
    present = values.dropna()
    return not (len(present) and present.map(lambda v: isinstance(v, (int, float, np.number))
                                             and not isinstance(v, (bool, np.bool_))).all())


def formatter(column: str, values: pd.Series) -> Formatter:
    """How a column is shown, from its name and values (see the module docstring of ``_format``)."""
    name = _stem(str(column)).lower()
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return lambda v: "yes" if v is True or v is np.True_ else ("no" if v in (False, np.False_) else "")
    if not pd.api.types.is_numeric_dtype(dtype):
        present = values.dropna()
        if len(present) and present.map(lambda v: isinstance(v, (bool, np.bool_))).all():
            return lambda v: "" if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) else \
                ("yes" if v else "no")
        if _is_text(values):
            return lambda v: "" if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) else str(v)
        values = pd.to_numeric(values, errors="coerce")
        dtype = values.dtype
    if name in ("row", "candidate", "index", "rank", "level") or name.endswith("_id"):
        return lambda v: "" if fmt.is_missing(v) else (str(int(v)) if float(v).is_integer() else str(v))
    if name == "p" or name.endswith("p_value"):
        return fmt.pvalue
    rate_like = (name.endswith("_rate") or "_rate_" in name or name in _PCT_NAMES or name.startswith("share")
                 or name.endswith("_share"))
    if rate_like and _in_unit_range(values):
        return fmt.pct
    if name.endswith("_ratio") or "_ratio_" in name or name in ("air_min",):
        return fmt.ratio
    if pd.api.types.is_integer_dtype(dtype):
        return fmt.count
    v = values.to_numpy(dtype=float)
    v = v[np.isfinite(v)]
    if len(v) and np.all(v == np.round(v)) and np.abs(v).max() >= 1:
        return fmt.count
    return fmt.number


def _ci_columns(frame: pd.DataFrame) -> dict[str, tuple[str, str]]:
    """Estimate column -> its (low, high) interval columns: ``x_ci_low``/``x_ci_high`` and
    ``x_ci_low_before`` for ``x_before``."""
    out = {}
    for c in frame.columns:
        m = re.fullmatch(r"(.*)_ci_low(.*)", str(c))
        if m:
            est, high = m.group(1) + m.group(2), f"{m.group(1)}_ci_high{m.group(2)}"
            if est in frame.columns and high in frame.columns:
                out[est] = (c, high)
    return out


def _render(frame: pd.DataFrame, columns: Sequence[str], formats: Mapping[str, Formatter],
            labels: Mapping[str, str], ci: Mapping[str, tuple[str, str]]) -> str:
    text_cols = {c for c in columns if _is_text(frame[c])}
    head = "".join(f'<th{" class=l" if c in text_cols else ""}>{html.escape(labels.get(c, label(c)))}</th>'
                   for c in columns)
    small = frame["too_small_to_judge"].fillna(False).astype(bool).to_numpy() \
        if "too_small_to_judge" in frame.columns else np.zeros(len(frame), bool)
    rows = []
    for i, rec in enumerate(frame.to_dict(orient="records")):
        cells = []
        for c in columns:
            v = rec[c]
            show = formats[c](v)
            cls = "l" if c in text_cols else ""
            if show == fmt.UNDEFINED:
                cells.append(f'<td class="und {cls}">undefined</td>')
                continue
            # a formatter may return markup (a badge, say): anything with __html__ is trusted
            body = show.__html__() if hasattr(show, "__html__") else html.escape(show)
            if cls and len(show) > 32:  # long text wraps; short text keeps to one line
                cls = "l wrap"
            if c in ci:
                span = fmt.interval(rec[ci[c][0]], rec[ci[c][1]], formats[c])
                if span:
                    body += f' <span class="ci">{html.escape(span)}</span>'
            cells.append(f'<td class="{cls}">{body}</td>' if cls else f"<td>{body}</td>")
        rows.append(f'<tr class="small">{"".join(cells)}</tr>' if small[i] else f"<tr>{''.join(cells)}</tr>")
    return (f'<div class="scroll"><table class="data"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>')


def table(
    frame: pd.DataFrame | None,
    columns: Sequence[str] | None = None,
    *,
    formats: Mapping[str, str | Formatter] | None = None,
    labels: Mapping[str, str] | None = None,
    limit: int = 10,
    order: str | None = None,
    ascending: bool = False,
    summary: str | None = None,
    detail: pd.DataFrame | None = None,
    detail_rows: int = 2000,
) -> str:
    """``frame`` as an HTML table with formatted numbers; a long or wide table is summarised.

    Parameters
    ----------
    columns : list of str, optional
        Columns shown at first (default: all). Interval columns (``x_ci_low``, ``x_ci_high``) are
        shown beside their estimate ``x``, never as columns of their own.
    formats : mapping, optional
        Column -> ``"count"``, ``"pct"``, ``"pp"``, ``"p"``, ``"ratio"``, ``"number"``, ``"text"`` or a
        function (returning text, or markup with ``__html__``, such as :func:`badge`); the rest are
        chosen from the column's name and values.
    limit : int
        Rows shown at first; with more rows, the first ``limit`` by ``order`` are shown (with a
        sentence saying so) and every row (up to ``detail_rows``) is folded below.
    summary : str, optional
        What the shown rows are, e.g. ``"the feature values with the highest mean loss"``.
    detail : pandas.DataFrame, optional
        The rows folded below when they are not ``frame`` itself (``frame`` then holds the rows to
        choose the shown ones from, ``detail`` every row in its natural order).
    """
    if frame is None or len(frame.columns) == 0 or frame.empty:
        return ""
    frame = frame.reset_index(drop=True)
    full = frame if detail is None else detail.reset_index(drop=True)
    ci = _ci_columns(full)
    hidden = {c for pair in ci.values() for c in pair}
    every = [c for c in full.columns if c not in hidden]
    shown = [c for c in (columns or every) if c in frame.columns and c not in hidden]
    given = dict(formats or {})
    formats_ = {c: (_NAMED[given[c]] if isinstance(given.get(c), str) else given.get(c)) or formatter(c, full[c])
                for c in every}
    labels_ = dict(labels or {})
    top = frame
    if order is not None and order in frame.columns:
        top = frame.sort_values(order, ascending=ascending, kind="stable", na_position="last")
    visible = top.head(limit)
    cut = len(full) > len(visible)
    out = [_render(visible, shown, formats_, labels_, ci)]
    if cut:
        what = summary or ("the first rows" if order is None else
                           f"the rows with the {'lowest' if ascending else 'highest'} {label(order)}")
        out.append(f'<p class="meta">Showing {len(visible):,} of {len(full):,}: {html.escape(what)}.</p>')
    if cut or len(shown) < len(every):
        more = f" (the first {detail_rows:,})" if len(full) > detail_rows else ""
        what = f"All {len(full):,} rows{more}" if cut else "All columns"
        if cut and len(shown) < len(every):
            what += ", all columns"
        out.append(f"<details><summary>{what}</summary>"
                   f"{_render(full.head(detail_rows), every, formats_, labels_, ci)}</details>")
    return "\n".join(out)
