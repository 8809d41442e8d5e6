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

__all__ = ["binary_mapping", "group_labels", "same_value"]


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
        if all(_is_01(v) for v in distinct):
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
