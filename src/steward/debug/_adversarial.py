"""Adversarial example search: the smallest allowed change to a row that flips the model's decision.

Cost of a change: the sum over changed numbers of ``|new - old| / standard deviation``, plus 1 for
each changed category. Immutable features (the protected attributes and anything named ``age`` by
default) never change, and numbers stay within their allowed range (the observed one unless given).

Search, for a sample of rows: every single-feature move on a grid (quantiles and the range's ends for
numbers, every level for categories), scored in one batch per feature; then, for rows where no
single move flips within the budget, pairs of the moves that pushed each row's score furthest
toward the flip. Each example found is scored again from scratch before it is reported. The search
stops adding pairs when the time budget runs out; the report says so.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from steward._html import HtmlView
from steward.errors import DataValidationError

__all__ = ["AdversarialReport", "adversarial_search", "default_immutable"]

_AGE = re.compile(r"(^|[_\W])age([_\W]|$)", re.IGNORECASE)


def default_immutable(columns: Sequence[str], protected: Sequence[str]) -> list[str]:
    """The protected attributes and every column named like ``age`` (``age``, ``age_years``, ``Age``)."""
    return list(dict.fromkeys([*protected, *(c for c in columns if _AGE.search(str(c)))]))


@dataclass
class AdversarialReport(HtmlView):
    """``examples``: one row per sampled row: ``flipped`` (within the budget), ``cost``, ``changes``
    (text), ``score`` and ``new_score``. ``features``: how often each feature is part of a cheapest
    flip (the easiest to game first)."""

    examples: pd.DataFrame
    features: pd.DataFrame
    budget: float
    immutable: list[str]
    rows: int
    timed_out: bool
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def flip_rate(self) -> float:
        """Share of the sampled rows flipped by a change costing at most ``budget``."""
        return float(self.examples["flipped"].mean()) if len(self.examples) else 0.0

    def to_frame(self) -> pd.DataFrame:
        return self.examples

    def to_dict(self) -> dict[str, Any]:
        from steward.debug._benchmark import json_rows

        return {"flip_rate": self.flip_rate, "budget": self.budget, "immutable": self.immutable, "rows": self.rows,
                "timed_out": self.timed_out, "settings": self.settings,
                "features": json_rows(self.features, limit=len(self.features)),
                "examples": json_rows(self.examples[self.examples["flipped"]], limit=20)}

    page_title = "Adversarial search"
    page_kind = "probe"

    def html(self, heading: int = 2) -> str:
        """Page body: how many flip, the features the cheapest flips change, and those flips."""
        from steward.debug._pages import adversarial_html

        return adversarial_html(self, heading)


def _candidates(col: pd.Series, allowed: Any, points: int) -> tuple[np.ndarray, bool]:
    numeric = pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype) \
        and not isinstance(col.dtype, pd.CategoricalDtype)
    if not numeric:
        levels = list(allowed) if allowed is not None else list(pd.unique(col.dropna()))
        return np.asarray(levels, dtype=object), False
    x = col.dropna().to_numpy(dtype=float)
    lo, hi = (float(x.min()), float(x.max())) if allowed is None else map(float, allowed)
    grid = np.unique(np.concatenate([np.quantile(x, np.linspace(0, 1, points)), [lo, hi]]))
    grid = grid[(grid >= lo) & (grid <= hi)]
    if pd.api.types.is_integer_dtype(col.dtype):
        grid = np.unique(np.round(grid))
    return grid, True


def adversarial_search(
    model: Any,
    data: pd.DataFrame,
    *,
    protected: Sequence[str] = (),
    immutable: Sequence[str] | None = None,
    ranges: Mapping[str, Any] | None = None,
    budget: float = 1.0,
    threshold: float = 0.5,
    sample: int = 200,
    grid_points: int = 15,
    pairs: int = 4,
    time_budget: float = 60.0,
    random_state: int = 0,
    on_progress: Callable[[str, float], None] | None = None,
) -> AdversarialReport:
    """Find, for a sample of rows, the cheapest allowed change that flips the decision.

    Parameters
    ----------
    protected : list of str
        Protected attributes (immutable by default).
    immutable : list of str, optional
        Features that may not change, besides the protected attributes and any ``age`` column
        (:func:`default_immutable`), which never do.
    ranges : mapping, optional
        ``{feature: (low, high)}`` for numbers or ``{feature: [levels]}`` for categories.
    budget : float
        The largest cost that counts as a flip (see the module docstring for the cost).
    pairs : int
        For rows no single move flips, pairs among each row's this many best single moves are tried.
    time_budget : float
        Seconds after which no more pairs are tried.
    """
    from steward.models import wrap_model

    t0 = time.perf_counter()
    model = wrap_model(model)
    frame = model.inputs(data)
    ranges = dict(ranges or {})
    # the protected attributes and age never change; what the caller names is added to them, never in their place
    fixed = list(dict.fromkeys([*default_immutable(list(frame.columns), protected), *(immutable or [])]))
    for what, names in (("ranges", list(ranges)), ("immutable", list(immutable or []))):
        unknown = [f for f in names if f not in frame.columns]
        if unknown:
            raise DataValidationError(f"{what} name column(s) {', '.join(map(repr, unknown))} the model does not "
                                      f"read; its inputs are: {', '.join(map(str, frame.columns))}")
    for f, allowed in ranges.items():
        numeric = pd.api.types.is_numeric_dtype(frame[f].dtype) and not pd.api.types.is_bool_dtype(frame[f].dtype)
        if numeric:
            try:
                lo, hi = (float(v) for v in allowed)
            except (TypeError, ValueError):
                raise DataValidationError(f"range of {f!r}: give (low, high) as two numbers, got {allowed!r}") from None
            if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
                raise DataValidationError(f"range of {f!r} is {lo:g}:{hi:g}; give finite numbers with low below high, "
                                          f"e.g. {f}={min(lo, hi):g}:{max(lo, hi):g}")
        elif isinstance(allowed, str) or not len(list(allowed)):
            raise DataValidationError(f"range of {f!r} (a category): give a list of its allowed values")
    mutable = [c for c in frame.columns if c not in fixed]
    if not mutable:
        raise DataValidationError("every model input is immutable: nothing may change")
    rng = np.random.default_rng(random_state)
    idx = np.arange(len(frame)) if len(frame) <= sample else np.sort(rng.choice(len(frame), sample, replace=False))
    rows = frame.iloc[idx].reset_index(drop=True)
    n = len(rows)
    score = model.score(rows)
    side = score >= threshold  # the decision to flip away from
    scale = {c: float(frame[c].std()) or 1.0 for c in mutable if pd.api.types.is_numeric_dtype(frame[c].dtype)
             and not isinstance(frame[c].dtype, pd.CategoricalDtype)}
    best_cost = np.full(n, np.inf)
    best_change: list[dict[str, Any]] = [{} for _ in range(n)]
    moves: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]] = []  # feature, values, costs (n, g), push (n, g)
    from steward.explain._global import _ice_many

    if on_progress:
        on_progress("single moves", 0.0)
    candidates = {f: _candidates(frame[f], ranges.get(f), grid_points) for f in mutable}
    grids = [(f, grid) for f, (grid, _) in candidates.items() if len(grid)]
    for (f, grid), s in zip(grids, _ice_many(model, rows, grids)):  # every single move in one model call: (n, g)
        numeric = candidates[f][1]
        cur = rows[f].to_numpy()
        if numeric:
            cost = np.abs(grid[None, :].astype(float) - cur.astype(float)[:, None]) / scale[f]
            cost = np.where(np.isnan(cost), 1.0, cost)
        else:
            cost = (grid[None, :] != cur.astype(object)[:, None]).astype(float)
        push = np.where(side[:, None], score[:, None] - s, s - score[:, None])  # > 0: toward the flip
        flips = ((s >= threshold) != side[:, None]) & (cost > 0)
        c = np.where(flips, cost, np.inf)
        k = c.argmin(axis=1)
        better = c[np.arange(n), k] < best_cost
        for i in np.flatnonzero(better):
            best_cost[i] = c[i, k[i]]
            best_change[i] = {f: grid[k[i]]}
        moves.append((f, grid, cost, push))
    timed_out = False
    todo = np.flatnonzero(best_cost > budget)
    if pairs > 1 and len(moves) > 1 and len(todo):
        trials: list[pd.DataFrame] = []
        tried: list[tuple[int, list[Any]]] = []

        def score_trials() -> None:  # the pairs of up to 50 rows in one model call (a call costs an overhead)
            if trials:
                s = model.score(pd.concat(trials, ignore_index=True))
                start = 0
                for i, combos in tried:
                    part, start = s[start:start + len(combos)], start + len(combos)
                    for r in np.flatnonzero((part >= threshold) != side[i]):
                        a, b = combos[r]
                        if a[3] + b[3] < best_cost[i]:
                            best_cost[i] = a[3] + b[3]
                            best_change[i] = {a[1]: a[2], b[1]: b[2]}
            trials.clear()
            tried.clear()

        for count, i in enumerate(todo):
            if time.perf_counter() - t0 > time_budget:
                timed_out = True
                break
            if on_progress and count % 20 == 0:
                on_progress("pairs of moves", 0.7 + 0.3 * count / len(todo))
            # each feature's best push per unit cost for this row, then pairs of the top features
            options = []
            for f, grid, cost, push in moves:
                gain = np.where(cost[i] > 0, push[i] / np.maximum(cost[i], 1e-12), -np.inf)
                g = int(gain.argmax())
                if np.isfinite(gain[g]) and push[i, g] > 0:
                    options.append((gain[g], f, grid[g], cost[i, g]))
            options.sort(key=lambda o: -o[0])
            top = options[:pairs]
            combos = [(a, b) for x, a in enumerate(top) for b in top[x + 1:] if a[3] + b[3] <= budget]
            if not combos:
                continue
            trial = rows.iloc[[i] * len(combos)].reset_index(drop=True)
            for r, (a, b) in enumerate(combos):
                trial.at[r, a[1]] = a[2]
                trial.at[r, b[1]] = b[2]
            trials.append(trial)
            tried.append((i, combos))
            if len(tried) == 50:
                score_trials()
        score_trials()
    # every example is scored again from scratch before it is reported
    found = np.flatnonzero(np.isfinite(best_cost))
    new_score = np.full(n, np.nan)
    if len(found):
        again = rows.iloc[found].copy()
        for pos, i in enumerate(found):
            for f, v in best_change[i].items():
                again.iat[pos, again.columns.get_loc(f)] = v
        new_score[found] = model.score(again)
    verified = np.isfinite(new_score) & ((new_score >= threshold) != side)
    flipped = verified & (best_cost <= budget)
    examples = pd.DataFrame({
        "row": data.index[idx], "score": score, "flipped": flipped,
        "cost": np.where(verified, best_cost, np.nan), "new_score": new_score,
        "changes": ["; ".join(f"{f}: {_plain(rows.at[i, f])!r} -> {_plain(v)!r}" for f, v in best_change[i].items())
                    if verified[i] else "" for i in range(n)],
        "moves": [{f: _plain(v) for f, v in best_change[i].items()} if verified[i] else {} for i in range(n)],
    })
    counts: dict[str, int] = {}
    for i in np.flatnonzero(flipped):
        for f in best_change[i]:
            counts[f] = counts.get(f, 0) + 1
    feats = pd.DataFrame({"feature": list(counts), "flips": list(counts.values())})
    if not feats.empty:
        feats = feats.sort_values("flips", ascending=False, kind="stable").reset_index(drop=True)
        feats["share_of_flips"] = feats["flips"] / max(int(flipped.sum()), 1)
    if on_progress:
        on_progress("done", 1.0)
    return AdversarialReport(examples, feats, float(budget), fixed, n, timed_out,
                             {"grid_points": grid_points, "pairs": pairs, "time_budget": time_budget,
                              "threshold": threshold, "seconds": round(time.perf_counter() - t0, 3)})


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
