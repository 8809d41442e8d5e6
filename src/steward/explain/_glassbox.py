"""Models that are interpretable by construction, and the check that a declared monotonicity holds.

* :func:`train_ebm`: an Explainable Boosting Machine (interpret): a sum of one-feature shape
  functions (plus a few pairwise terms when asked), each readable as a curve.
* :func:`train_monotone_lightgbm`: LightGBM with monotone constraints from a declaration such as
  ``{"credit_amount": "increasing"}`` (a YAML file of ``feature: increasing|decreasing`` lines).
* :func:`check_monotonicity`: scores rows along a grid of each declared feature and reports every
  row whose score moves against the declared direction, for any model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from steward.errors import DataValidationError, MissingExtraError

__all__ = ["MonotonicityReport", "check_monotonicity", "load_constraints", "train_ebm", "train_monotone_lightgbm"]

_DIRECTIONS = {"increasing": 1, "decreasing": -1, "+1": 1, "-1": -1, "1": 1}


def load_constraints(source: str | Path | Mapping[str, Any] | Sequence[Any]) -> dict[str, int]:
    """Declared monotone directions: ``{feature: +1 | -1}``.

    Accepts a YAML file or object holding a mapping ``feature: increasing|decreasing`` (or a list of
    such one-entry mappings, or a ``monotone:`` key holding either); +1 and -1 are accepted too.
    """
    from steward._yamlfile import read_yaml

    source, where = read_yaml(source, "constraints file")
    if isinstance(source, Mapping) and set(source) == {"monotone"}:
        source = source["monotone"]
    if isinstance(source, Sequence) and not isinstance(source, str):
        merged: dict[str, Any] = {}
        for item in source:
            if not isinstance(item, Mapping):
                raise DataValidationError(f"constraints ({where}): each list item must be `feature: increasing` or "
                                          f"`feature: decreasing`, got {item!r}")
            merged.update(item)
        source = merged
    if not isinstance(source, Mapping) or not source:
        raise DataValidationError(f"constraints ({where}): give `feature: increasing` or `feature: decreasing` lines")
    out = {}
    for feat, direction in source.items():
        d = _DIRECTIONS.get(str(direction).strip().lower())
        if d is None:
            raise DataValidationError(f"constraints ({where}): {feat!r} must be increasing or decreasing, "
                                      f"got {direction!r}")
        out[str(feat)] = d
    return out


def _check_columns(X: pd.DataFrame, constraints: Mapping[str, int]) -> None:
    missing = [f for f in constraints if f not in X.columns]
    if missing:
        raise DataValidationError(f"constrained feature(s) {', '.join(map(repr, missing))} are not in the data; the "
                                  f"columns are: {', '.join(map(str, X.columns))}")
    text = [f for f in constraints if not pd.api.types.is_numeric_dtype(X[f].dtype)
            or isinstance(X[f].dtype, pd.CategoricalDtype)]
    if text:
        raise DataValidationError(f"feature(s) {', '.join(map(repr, text))} are not numeric, so they have no order to "
                                  f"be monotone in; constrain numeric features only")


def _as_categories(X: pd.DataFrame) -> pd.DataFrame:
    text = [c for c in X.columns if X[c].dtype == object or pd.api.types.is_string_dtype(X[c].dtype)]
    return X.astype({c: "category" for c in text}) if text else X


def train_monotone_lightgbm(X: pd.DataFrame, y: Any, *, constraints: Any, random_state: int = 0,
                            **params: Any) -> Any:
    """A LightGBM classifier constrained to be monotone in the declared features.

    Text columns become pandas categories (LightGBM stores them, so new data is re-coded by name).
    ``params`` go to ``lightgbm.LGBMClassifier`` (defaults: 200 trees, 15 leaves, learning rate 0.05).
    LightGBM's ``advanced`` monotone method is used, which is exact and less restrictive than the
    basic one.
    """
    try:
        import lightgbm as lgb
    except ImportError as exc:
        raise MissingExtraError("a monotone LightGBM needs lightgbm: pip install 'steward[models]'") from exc
    declared = constraints if isinstance(constraints, dict) and all(v in (1, -1) for v in constraints.values()) \
        else load_constraints(constraints)
    X = _as_categories(pd.DataFrame(X))
    _check_columns(X, declared)
    settings = {"n_estimators": 200, "num_leaves": 15, "learning_rate": 0.05, "verbose": -1,
                "monotone_constraints_method": "advanced", **params}
    model = lgb.LGBMClassifier(monotone_constraints=[declared.get(c, 0) for c in X.columns],
                               random_state=random_state, **settings)
    return model.fit(X, np.asarray(y).astype(int))


def train_ebm(X: pd.DataFrame, y: Any, *, interactions: int = 0, constraints: Any = None, random_state: int = 0,
              **params: Any) -> Any:
    """An Explainable Boosting Machine (``interpret.glassbox.ExplainableBoostingClassifier``).

    ``interactions=0`` (default) keeps it a pure sum of one-feature curves, so every feature's
    effect is one picture; ``constraints`` (as for :func:`train_monotone_lightgbm`) are passed to
    the EBM's own ``monotone_constraints``.
    """
    try:
        from interpret.glassbox import ExplainableBoostingClassifier
    except ImportError as exc:
        raise MissingExtraError("an EBM needs interpret: pip install 'steward[explain]'") from exc
    X = pd.DataFrame(X)
    extra = {}
    if constraints is not None:
        declared = load_constraints(constraints) if not isinstance(constraints, dict) else \
            {k: v if v in (1, -1) else load_constraints({k: v})[k] for k, v in constraints.items()}
        _check_columns(X, declared)
        extra["monotone_constraints"] = [declared.get(c, 0) for c in X.columns]
    model = ExplainableBoostingClassifier(interactions=interactions, random_state=random_state, **extra, **params)
    return model.fit(X, np.asarray(y).astype(int))


@dataclass
class MonotonicityReport:
    """Where a model's score moves against a declared direction.

    ``table`` has one row per declared feature: ``direction`` (increasing/decreasing), ``rows``
    checked, ``violating_rows`` (rows whose score moves the wrong way somewhere on the grid),
    ``share``, ``worst`` (the largest wrong-way step in score) and ``example`` (a violating row's
    index, or None).
    """

    table: pd.DataFrame
    grid_points: int
    tolerance: float

    @property
    def holds(self) -> bool:
        return bool((self.table["violating_rows"] == 0).all())

    def violations(self) -> pd.DataFrame:
        return self.table[self.table["violating_rows"] > 0]

    def to_frame(self) -> pd.DataFrame:
        return self.table

    def to_dict(self) -> dict[str, Any]:
        rows = self.table.astype(object).where(self.table.notna(), None).to_dict(orient="records")
        return {"holds": self.holds, "grid_points": self.grid_points, "tolerance": self.tolerance, "features": rows}

    def _repr_html_(self) -> str:
        from steward._html import fragment, table

        return fragment(f'<div class="verdict {"ok" if self.holds else "bad"}">Declared monotonicity '
                        f"{'holds' if self.holds else 'is violated'} on a grid of {self.grid_points} points.</div>"
                        + table(self.table, limit=15))


def check_monotonicity(model: Any, X: pd.DataFrame, constraints: Any, *, grid_points: int = 30,
                       sample: int = 500, tolerance: float = 1e-9, random_state: int = 0) -> MonotonicityReport:
    """Check declared monotone directions on a grid, for any model.

    For each declared feature, up to ``sample`` rows are scored with the feature set to each point
    of a grid spanning its observed range (quantiles and the extremes); a row violates the
    declaration when its score steps the wrong way by more than ``tolerance`` between neighbouring
    grid points.
    """
    from steward.explain._global import _ice
    from steward.models import wrap_model

    declared = load_constraints(constraints) if not (isinstance(constraints, dict) and
                                                      all(v in (1, -1) for v in constraints.values())) else constraints
    model = wrap_model(model)
    frame = model.inputs(X)
    _check_columns(frame, declared)
    rng = np.random.default_rng(random_state)
    idx = np.arange(len(frame)) if len(frame) <= sample else np.sort(rng.choice(len(frame), sample, replace=False))
    rows = frame.iloc[idx]
    out = []
    for feat, direction in declared.items():
        x = frame[feat].dropna().to_numpy(dtype=float)
        grid = np.unique(np.concatenate([np.quantile(x, np.linspace(0, 1, grid_points)), [x.min(), x.max()]]))
        if pd.api.types.is_integer_dtype(frame[feat].dtype):
            grid = np.unique(np.round(grid))
        ice = _ice(model, rows, feat, grid)
        steps = direction * np.diff(ice, axis=1)  # >= 0 everywhere when the declaration holds
        bad = (steps < -tolerance).any(axis=1) if steps.size else np.zeros(len(rows), dtype=bool)
        worst = float(-steps.min()) if steps.size and steps.min() < -tolerance else 0.0
        out.append({"feature": feat, "direction": "increasing" if direction > 0 else "decreasing",
                    "rows": int(len(rows)), "violating_rows": int(bad.sum()),
                    "share": float(bad.mean()) if len(rows) else 0.0, "worst": worst,
                    "example": _plain(rows.index[np.argmax(bad)]) if bad.any() else None})
    table = pd.DataFrame(out)
    if not table.empty:
        table["example"] = table["example"].astype(object)
    return MonotonicityReport(table, grid_points, tolerance)


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value (JSON-safe); anything else as it is."""
    return value.item() if hasattr(value, "item") else value
