"""Sensitivity analysis: how predictions move when one feature moves across its range, per group, and
what user-written stress scenarios ("income -20% for everyone") do to the decisions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from steward._html import HtmlView
from steward.errors import DataValidationError

__all__ = ["SensitivityReport", "StressReport", "load_scenarios", "sensitivity_analysis", "stress_test"]


@dataclass
class SensitivityReport(HtmlView):
    """``curves``: per (feature, group, value) the mean score and favourable share with the feature set
    to that value for every sampled row. ``summary``: per (feature, group) the swing of the mean
    score over the range and ``rows_flipping``, the share of rows whose decision changes somewhere
    along it."""

    curves: pd.DataFrame
    summary: pd.DataFrame
    rows: int

    def to_frame(self) -> pd.DataFrame:
        return self.summary

    def to_dict(self) -> dict[str, Any]:
        from steward.debug._benchmark import json_rows

        return {"rows": self.rows, "summary": json_rows(self.summary, limit=len(self.summary)),
                "curves": json_rows(self.curves, limit=len(self.curves))}

    page_title = "Sensitivity"
    page_kind = "probe"

    def html(self, heading: int = 2) -> str:
        """Page body: the steepest curves, then the swing and flips per feature (per group folded)."""
        from steward.debug._pages import sensitivity_html

        return sensitivity_html(self, heading)


def sensitivity_analysis(model: Any, data: pd.DataFrame, features: Sequence[str] | None = None, *,
                         by: str | None = None, threshold: float = 0.5, favourable: int = 1, grid_points: int = 10,
                         sample: int = 1000, random_state: int = 0) -> SensitivityReport:
    """Move each feature across its range (numbers: quantile steps; categories: each level) for a
    sample of rows; summarise how the scores and decisions move, overall and per group of ``by``."""
    from steward.explain._global import _grid, _ice_many
    from steward.models import wrap_model

    model = wrap_model(model)
    frame = model.inputs(data)
    features = list(features) if features else list(frame.columns)
    unknown = [f for f in features if f not in frame.columns]
    if unknown:
        raise DataValidationError(f"feature(s) {', '.join(map(repr, unknown))} are not model inputs")
    if by is not None and by not in data.columns:
        raise DataValidationError(f"group column {by!r} is not in the data")
    rng = np.random.default_rng(random_state)
    idx = np.arange(len(frame)) if len(frame) <= sample else np.sort(rng.choice(len(frame), sample, replace=False))
    rows = frame.iloc[idx]
    groups = [("all", np.ones(len(idx), dtype=bool))]
    if by is not None:
        g = data[by].iloc[idx].astype(object)
        groups += [(str(v), (g == v).to_numpy()) for v in pd.unique(g.dropna())]
    base = model.score(rows) >= threshold
    curves, summary = [], []
    grids = [(f, _grid(frame[f], grid_points)[0]) for f in features]
    for (f, grid), ice in zip(grids, _ice_many(model, rows, grids)):  # every feature's curves in one model call
        decided = (ice >= threshold) == bool(favourable)
        changes = (decided != (base == bool(favourable))[:, None]).any(axis=1)
        for name, mask in groups:
            if not mask.any():
                continue
            mean = ice[mask].mean(axis=0)
            for v, m, fav in zip(grid, mean, decided[mask].mean(axis=0)):
                curves.append({"feature": f, "group": name, "value": v, "mean_score": float(m),
                               "favourable_share": float(fav)})
            summary.append({"feature": f, "group": name, "rows": int(mask.sum()),
                            "score_swing": float(mean.max() - mean.min()),
                            "rows_flipping": float(changes[mask].mean())})
    table = pd.DataFrame(summary).sort_values(["group", "score_swing"], ascending=[True, False], kind="stable")
    return SensitivityReport(pd.DataFrame(curves), table.reset_index(drop=True), len(idx))


_OPS = ("set", "add", "multiply")


def load_scenarios(source: str | Path | Sequence[Mapping[str, Any]] | Mapping[str, Any]) -> list[dict[str, Any]]:
    """Stress scenarios from YAML or objects::

        scenarios:
          - name: income -20% for everyone
            change: {income: {multiply: 0.8}}
          - name: no savings, renters only
            change: {savings: {set: A65}}
            where: {housing: A151}          # only rows where housing == A151
    """
    from steward._yamlfile import read_yaml

    source, where = read_yaml(source, "scenario file")
    if isinstance(source, Mapping):
        source = source.get("scenarios")
    if not isinstance(source, Sequence) or isinstance(source, str) or not source:
        raise DataValidationError(f"scenarios ({where}): give a list under `scenarios:`, each with name and change")
    out = []
    for i, sc in enumerate(source):
        if not isinstance(sc, Mapping) or "change" not in sc or not isinstance(sc["change"], Mapping):
            raise DataValidationError(f"scenarios ({where}) item {i + 1}: needs `change: {{column: {{op: value}}}}`")
        for col, op in sc["change"].items():
            if not isinstance(op, Mapping) or len(op) != 1 or next(iter(op)) not in _OPS:
                raise DataValidationError(f"scenarios ({where}) {sc.get('name', i + 1)!r}: change of {col!r} must be "
                                          f"one of {{set: v}}, {{add: x}}, {{multiply: x}}; got {op!r}")
        out.append({"name": str(sc.get("name", f"scenario {i + 1}")), "change": dict(sc["change"]),
                    "where": dict(sc.get("where") or {})})
    return out


@dataclass
class StressReport(HtmlView):
    """Per scenario and group: rows changed by the scenario, decisions that change and their direction."""

    table: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        return self.table

    def to_dict(self) -> dict[str, Any]:
        from steward.debug._benchmark import json_rows

        return {"scenarios": json_rows(self.table, limit=len(self.table))}

    page_title = "Stress scenarios"
    page_kind = "probe"

    def html(self, heading: int = 2) -> str:
        """Page body: decisions each scenario changes, overall and per group."""
        from steward.debug._pages import stress_html

        return stress_html(self, heading)


def stress_test(model: Any, data: pd.DataFrame, scenarios: Any, *, by: str | None = None, threshold: float = 0.5,
                favourable: int = 1) -> StressReport:
    """Apply each scenario to the rows it selects and report how many decisions change, per group."""
    from steward.models import wrap_model

    model = wrap_model(model)
    scenarios = load_scenarios(scenarios) if not (isinstance(scenarios, list) and all(
        isinstance(s, dict) and "where" in s for s in scenarios)) else scenarios
    base = (model.score(data) >= threshold).astype(int)
    rows = []
    for sc in scenarios:
        moved = data.copy()
        sel = np.ones(len(data), dtype=bool)
        for col, value in sc["where"].items():
            if col not in data.columns:
                raise DataValidationError(f"scenario {sc['name']!r}: `where` column {col!r} is not in the data")
            sel &= (data[col].astype(object) == value).to_numpy()
        for col, op in sc["change"].items():
            if col not in data.columns:
                raise DataValidationError(f"scenario {sc['name']!r}: column {col!r} is not in the data")
            (kind, value), = op.items()
            current = moved.loc[sel, col]
            if kind != "set" and not pd.api.types.is_numeric_dtype(current.dtype):
                raise DataValidationError(f"scenario {sc['name']!r}: {kind} needs a numeric column; {col!r} is not")
            new = value if kind == "set" else (current + value if kind == "add" else current * value)
            if kind != "set" and pd.api.types.is_integer_dtype(data[col].dtype):
                new = np.round(new).astype(data[col].dtype)
            moved.loc[sel, col] = new
        after = (model.score(moved) >= threshold).astype(int)
        changed = after != base
        scopes = [("all", np.ones(len(data), dtype=bool))]
        if by is not None:
            g = data[by].astype(object)
            scopes += [(f"{by}={v}", (g == v).to_numpy()) for v in pd.unique(g.dropna())]
        for name, mask in scopes:
            n = int((mask & sel).sum())
            rows.append({"scenario": sc["name"], "scope": name, "rows": int(mask.sum()), "rows_changed_by_scenario": n,
                         "decisions_changed": int((changed & mask).sum()),
                         "share_changed": float((changed & mask).sum() / mask.sum()) if mask.any() else float("nan"),
                         "to_favourable": int((changed & mask & (after == favourable)).sum()),
                         "to_unfavourable": int((changed & mask & (after != favourable)).sum())})
    return StressReport(pd.DataFrame(rows))
