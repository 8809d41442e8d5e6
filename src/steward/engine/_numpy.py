"""In-memory engine: one pass of ``np.bincount`` over the finest cells."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from steward.data import Roles, Source, group_labels
from steward.engine._cells import CellTable
from steward.engine._columns import binary_array, factorize_groups, numeric_array, weight_array
from steward.engine._limits import check_group_count
from steward.errors import DataValidationError

__all__ = ["cells_from_frame"]


def _frame(source: Source, roles: Roles) -> pd.DataFrame:
    cols = roles.role_columns()
    if source.frame is not None:
        return source.frame
    assert source.table is not None
    return source.table.select(cols).to_pandas()


def cells_from_frame(source: Source, roles: Roles) -> tuple[CellTable, int, str]:
    """Cell statistics of in-memory data, its row count, and a SHA-256 of the audited columns."""
    df = _frame(source, roles)
    total = len(df)
    if total == 0:
        raise DataValidationError(f"the {source.kind} has no rows; nothing to audit")
    digest = hashlib.sha256()

    codes: list[np.ndarray] = []
    names: list[list[str]] = []
    for p in roles.protected:
        c, uniques = factorize_groups(df[p.column], column=p.column)
        labels = group_labels(uniques)
        check_group_count(p.column, len(labels))
        codes.append(c)
        names.append(labels)
        digest.update(("\x1f".join(labels) + "\x1e").encode())

    y = binary_array(df[roles.label], column=roles.label, role="label", positive=roles.positive_label)
    score = None
    if roles.score is not None:
        score = numeric_array(df[roles.score], column=roles.score, role="score")
    if roles.prediction is not None:
        d = binary_array(df[roles.prediction], column=roles.prediction, role="prediction", positive=roles.positive_label)
    else:
        assert score is not None and roles.threshold is not None
        d = (score >= roles.threshold).view(np.uint8)
    w = weight_array(df[roles.weight], column=roles.weight) if roles.weight is not None else None

    # One key over the intersection of all attributes; every marginal is a sum of these cells.
    sizes = [len(n) for n in names]
    n_groups = int(np.prod(sizes, dtype=np.int64))
    key_dtype = np.int32 if n_groups * 4 < 2**31 else np.int64
    key = codes[0].astype(key_dtype, copy=False)
    for c, size in zip(codes[1:], sizes[1:]):
        key = key * size + c
    cell = key * 4
    cell += y.astype(key_dtype) * 2
    cell += d
    n_cells = n_groups * 4

    for arr in (cell, score, w):
        if arr is not None:
            digest.update(np.ascontiguousarray(arr).view(np.uint8))

    rows = np.bincount(cell, minlength=n_cells)
    stats: dict[str, np.ndarray] = {"rows": rows}
    if w is None:
        stats["n"] = stats["n_sq"] = rows.astype(np.float64)
        if score is not None:
            stats["score_sum"] = np.bincount(cell, weights=score, minlength=n_cells)
            stats["score_sq"] = np.bincount(cell, weights=score * score, minlength=n_cells)
    else:
        stats["n"] = np.bincount(cell, weights=w, minlength=n_cells)
        stats["n_sq"] = np.bincount(cell, weights=w * w, minlength=n_cells)
        if score is not None:
            ws = w * score
            stats["score_sum"] = np.bincount(cell, weights=ws, minlength=n_cells)
            stats["score_sq"] = np.bincount(cell, weights=ws * score, minlength=n_cells)

    present = np.flatnonzero(rows)
    stats = {k: v[present] for k, v in stats.items()}
    group_key, yd = np.divmod(present, 4)
    cell_codes = list(np.unravel_index(group_key, sizes)) if len(sizes) > 1 else [group_key]
    table = CellTable.from_arrays(
        roles.attributes, names, cell_codes, yd // 2, yd % 2, stats, has_score=score is not None
    )
    return table, total, digest.hexdigest()
