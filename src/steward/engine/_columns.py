"""Turning role columns (pandas Series) into validated NumPy arrays."""

from __future__ import annotations

import numpy as np
import pandas as pd

from steward.data import binary_mapping, same_value
from steward.errors import DataValidationError

__all__ = ["binary_array", "numeric_array", "weight_array", "factorize_groups", "missing_error"]


def missing_error(role: str, column: str, missing: int, total: int) -> DataValidationError:
    return DataValidationError(
        f"{role} column {column!r} has missing values in {missing:,} of {total:,} rows; "
        f"drop or fill those rows before auditing (pandas: df.dropna(subset=[{column!r}]))"
    )


def _is_numeric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)


def binary_array(s: pd.Series, *, column: str, role: str, positive: object = None) -> np.ndarray:
    """0/1 ``uint8`` array of a binary column (see :func:`steward.data.binary_mapping`)."""
    n = len(s)
    if pd.api.types.is_bool_dtype(s.dtype) and not s.hasnans:
        return s.to_numpy(dtype=bool).view(np.uint8)
    if _is_numeric(s):
        vals = s.to_numpy(dtype=np.float64, na_value=np.nan)
        missing = int(np.count_nonzero(np.isnan(vals)))
        if missing:
            raise missing_error(role, column, missing, n)
        if positive is None or same_value(positive, 1):
            is1 = vals == 1.0
            if not np.all(is1 | (vals == 0.0)):
                binary_mapping(pd.unique(vals), column=column, role=role, positive=positive)
            return is1.view(np.uint8)
        mapping = binary_mapping(pd.unique(vals), column=column, role=role, positive=positive)
        pos = [v for v, m in mapping.items() if m == 1]
        return (vals == pos[0]).view(np.uint8) if pos else np.zeros(n, dtype=np.uint8)
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    missing = int(np.count_nonzero(codes < 0))
    if missing:
        raise missing_error(role, column, missing, n)
    mapping = binary_mapping(list(uniques), column=column, role=role, positive=positive)
    lut = np.array([mapping[v] for v in uniques], dtype=np.uint8)
    return lut[codes]


def numeric_array(s: pd.Series, *, column: str, role: str) -> np.ndarray:
    """Float64 array of a numeric column with no missing or infinite values."""
    if not _is_numeric(s) and not pd.api.types.is_bool_dtype(s.dtype):
        example = s.dropna().head(1).tolist()
        raise DataValidationError(
            f"{role} column {column!r} must be numeric, but it holds {s.dtype} values"
            + (f" such as {example[0]!r}" if example else "")
            + "; convert it to numbers or choose another column"
        )
    vals = s.to_numpy(dtype=np.float64, na_value=np.nan)
    finite = np.isfinite(vals)
    if not finite.all():
        nan = int(np.count_nonzero(np.isnan(vals)))
        if nan:
            raise missing_error(role, column, nan, len(vals))
        inf = int(np.count_nonzero(~finite))
        raise DataValidationError(
            f"{role} column {column!r} has infinite values in {inf:,} rows; replace or drop them"
        )
    return vals


def weight_array(s: pd.Series, *, column: str) -> np.ndarray:
    w = numeric_array(s, column=column, role="weight")
    negative = int(np.count_nonzero(w < 0))
    if negative:
        raise DataValidationError(
            f"weight column {column!r} has negative values in {negative:,} rows; sample weights must be >= 0"
        )
    return w


def factorize_groups(s: pd.Series, *, column: str) -> tuple[np.ndarray, list[object]]:
    """Integer codes and distinct values of a protected attribute; missing values are an error."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    missing = int(np.count_nonzero(codes < 0))
    if missing:
        raise DataValidationError(
            f"protected attribute {column!r} has missing values in {missing:,} of {len(codes):,} rows; "
            f"drop those rows, or give them a group of their own such as 'Unknown' "
            f"(pandas: df[{column!r}].fillna('Unknown'))"
        )
    return codes, list(uniques)
