"""Reading role values: binary columns and group labels, shared by every engine.

Both engines reduce a column to its distinct values first (NumPy by factorizing, DuckDB by
grouping), so the rules for what counts as binary and how a group is named live here once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from steward.errors import DataValidationError

__all__ = ["LARGEST_INPUT", "binary_mapping", "check_feature_values", "check_training_label", "group_labels",
           "row_name", "same_value"]

# float32's largest value: models that compute in float32 (XGBoost, scikit-learn trees) read beyond it as inf
LARGEST_INPUT = float(np.finfo(np.float32).max)


def _is_missing(v: Any) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v))


def same_value(a: Any, b: Any) -> bool:
    """Whether a column value equals a value the user wrote (``1`` matches ``1.0``, ``'1'`` and ``True``)."""
    if a == b:
        return True
    try:
        return float(a) == float(b)
    except (TypeError, ValueError):
        return str(a) == str(b)


def _fmt(values: Sequence[Any], limit: int = 6) -> str:
    shown = [repr(v.item() if isinstance(v, np.generic) else v) for v in list(values)[:limit]]
    more = f" and {len(values) - limit} more" if len(values) > limit else ""
    return "[" + ", ".join(shown) + more + "]"


def binary_mapping(
    values: Sequence[Any], *, column: str, role: str, positive: Any = None
) -> dict[Any, int]:
    """Map the distinct non-missing values of a binary column to 0/1.

    Without ``positive`` the values must be 0/1 (or booleans). With ``positive`` the column may
    hold at most two values and ``positive`` must be one of them; it maps to 1.
    """
    distinct = [v for v in values if not _is_missing(v)]
    option = "positive_label" if role == "label" else "positive_label (it applies to the prediction too)"
    if positive is None:
        mapping: dict[Any, int] = {}
        for v in distinct:
            if isinstance(v, (bool, np.bool_)):
                mapping[v] = int(v)
                continue
            if isinstance(v, str) and v.strip().lower() in ("true", "false"):
                mapping[v] = int(v.strip().lower() == "true")
                continue
            try:
                f = float(v)
            except (TypeError, ValueError):
                raise DataValidationError(
                    f"{role} column {column!r} is not 0/1: it holds {_fmt(distinct)}. "
                    f"Say which value is the positive class with {option}="
                    f"{_guess_positive(distinct)!r} (CLI: --positive-label)."
                ) from None
            if f not in (0.0, 1.0):
                raise DataValidationError(
                    f"{role} column {column!r} is not binary: it holds {len(distinct)} distinct values "
                    f"{_fmt(sorted(distinct, key=_sort_key))}; a {role} must be 0/1 (or two values with "
                    f"{option} naming the positive one)."
                )
            mapping[v] = int(f)
        return mapping
    if len(distinct) > 2:
        raise DataValidationError(
            f"{role} column {column!r} is not binary: it holds {len(distinct)} distinct values "
            f"{_fmt(sorted(distinct, key=_sort_key))}; a {role} must have exactly two values."
        )
    matched = [v for v in distinct if same_value(v, positive)]
    if not matched:
        if role != "label" and all(_is_01(v) for v in distinct):
            # A 0/1 column next to a text label: positive_label is about the label's values.
            return {v: int(float(v)) for v in distinct}
        raise DataValidationError(
            f"positive_label {positive!r} does not occur in {role} column {column!r}, "
            f"which holds {_fmt(distinct)}; use one of these values."
        )
    return {v: int(same_value(v, positive)) for v in distinct}


def _is_01(v: Any) -> bool:
    if isinstance(v, (bool, np.bool_)):
        return True
    try:
        return float(v) in (0.0, 1.0)
    except (TypeError, ValueError):
        return False


def _sort_key(v: Any) -> tuple[int, Any]:
    try:
        return (0, float(v))
    except (TypeError, ValueError):
        return (1, str(v))


def _guess_positive(distinct: Sequence[Any]) -> Any:
    return sorted(distinct, key=_sort_key)[-1] if distinct else "VALUE"


def group_labels(uniques: Sequence[Any]) -> list[str]:
    """Name groups as text: whole-number floats lose their ``.0`` so that ``sex=1`` matches 1.0."""
    arr = list(uniques)
    floats = [v for v in arr if isinstance(v, (float, np.floating))]
    whole = all(float(v).is_integer() for v in floats if not math.isnan(float(v)))
    out = []
    for v in arr:
        if isinstance(v, np.generic):
            v = v.item()
        if isinstance(v, float) and whole and math.isfinite(v):
            out.append(str(int(v)))
        else:
            out.append(str(v))
    return out


def row_name(index: pd.Index, pos: int) -> str:
    """How to point at the row at position ``pos``: its data row number, or its index label when it has one."""
    if isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1:
        return f"data row {pos + 1}"
    label = index[pos]
    return f"row {label.item() if isinstance(label, np.generic) else label!r}"


def _numbers_in_text(s: pd.Series) -> np.ndarray:
    return pd.to_numeric(s.astype(str).str.strip(), errors="coerce").notna().to_numpy()


def check_feature_values(frame: pd.DataFrame, columns: Any = None, *, what: str = "column") -> None:
    """Refuse values no model or analysis can use as numbers: ±inf, magnitudes beyond float32's
    (±3.4e38), and numeric columns polluted with text. Missing values (NaN) are left to the caller.

    A column of text where at least 90% of the non-missing values are numbers is taken as a numeric
    column with mistakes in it (``"abc"`` among incomes), not as a category with hundreds of levels.
    """
    for c in frame.columns if columns is None else columns:
        s = frame[c]
        if isinstance(s, pd.DataFrame):  # duplicate names: the caller refuses them
            continue
        if pd.api.types.is_bool_dtype(s.dtype) or isinstance(s.dtype, pd.CategoricalDtype):
            continue
        if pd.api.types.is_numeric_dtype(s.dtype):
            x = s.to_numpy(dtype=np.float64, na_value=np.nan)
            with np.errstate(invalid="ignore"):
                bad = np.abs(x) > LARGEST_INPUT
            if not bad.any():
                continue
            pos = int(np.flatnonzero(bad)[0])
            count = f"{int(bad.sum()):,} of {len(x):,} rows"
            if np.isinf(x[pos]):
                raise DataValidationError(
                    f"{what} {c!r} holds {x[pos]:g} in {count} (first: {row_name(frame.index, pos)}); a model cannot "
                    f"score infinite values: replace them with finite numbers, or leave the cells empty if the "
                    f"values are missing")
            raise DataValidationError(
                f"{what} {c!r} holds {x[pos]:.3g} in {count} (first: {row_name(frame.index, pos)}), beyond the "
                f"±3.4e38 a model can read; fix those values (a unit or parsing mistake?), or leave the cells "
                f"empty if the values are missing")
        if s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
            present = s.notna().to_numpy()
            if not present.any() or _numbers_in_text(s[present].head(200)).mean() < 0.5:
                continue  # text (a category): checked on a sample, as models score data many times
            numeric = _numbers_in_text(s[present])
            if numeric.all() or numeric.mean() < 0.9:
                continue
            pos = int(np.flatnonzero(present)[np.flatnonzero(~numeric)[0]])
            raise DataValidationError(
                f"{what} {c!r} holds numbers and text: {s.iat[pos]!r} in {row_name(frame.index, pos)} "
                f"({int((~numeric).sum()):,} of {int(present.sum()):,} values are not numbers); fix those values, "
                f"or leave the cells empty if they are missing, so that the column is read as numbers")


def check_training_label(y: Any, *, column: str, what: str = "the training data", min_per_class: int = 10) -> None:
    """Refuse a 0/1 label a model cannot be trained or judged on: one outcome only, or too few of one."""
    y = np.asarray(y).astype(int)
    ones = int(y.sum())
    zeros = len(y) - ones
    if len(y) == 0:
        raise DataValidationError(f"{what} has no rows; give rows to train on")
    if ones == 0 or zeros == 0:
        only = 1 if ones else 0
        raise DataValidationError(
            f"label column {column!r} in {what} holds one outcome only ({only} in all {len(y):,} rows); a model "
            f"cannot learn from one outcome: check the label column, or positive_label (CLI --positive-label)")
    if min(ones, zeros) < min_per_class:
        raise DataValidationError(
            f"{what} has {len(y):,} rows with {ones:,} of label 1 and {zeros:,} of label 0 in {column!r}; training "
            f"and judging a model needs at least {min_per_class} of each: give more rows")
