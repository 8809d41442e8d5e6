"""Group metrics and discrimination tests against a reference group.

Every number here is a function of the per-group sums in :class:`steward.engine.CellTable`.
Rates follow the usual conventions: selection rate is the share with decision 1, base rate the
share with label 1, TPR = TP/(TP+FN), FPR = FP/(FP+TN) and so on. The favourable rate is the
share that received the favourable decision (``favourable``), which is the selection rate when
``favourable == 1`` and one minus it otherwise.

Comparisons with the reference group:

* adverse impact ratio (AIR) = favourable rate of the group / favourable rate of the reference;
  below 0.8 fails the four-fifths rule of the US Uniform Guidelines on Employee Selection
  Procedures (29 CFR 1607.4(D));
* marginal effect = favourable rate of the group − that of the reference;
* standardized mean difference (SMD) of the score = (mean of the group − mean of the reference)
  / standard deviation of the score over all audited rows (ddof = 1), the fair-lending form of
  Cohen's d; |SMD| of 0.2, 0.5 and 0.8 are conventionally small, medium and large. With sample
  weights, variances are those of reliability weights, ``Σw(x − x̄)² / (Σw − Σw²/Σw)``, i.e. the
  weighted mean square times ``n_eff / (n_eff − 1)`` with Kish's ``n_eff = (Σw)² / Σw²``, and the
  Welch test uses ``n_eff``: multiplying every weight by one constant changes nothing, and unit
  weights give the usual ddof = 1 variance exactly (``Σw²/Σw`` is then 1);
* FPR, FNR and TPR ratios (group / reference) and differences (group − reference).

A group is too small to judge when its size is below ``min_group_size``; with sample weights the
size is Kish's effective size ``(Σw)² / Σw²`` (``n_effective``), which equals the row count without
weights: one heavy row among many light ones is judged as about one row, not as many.

A value that cannot be computed (0/0) is NaN in the frame and its reason is in ``undefined``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from steward.engine import CellTable
from steward.metrics._inference import (
    katz_ratio_interval,
    newcombe_difference_interval,
    two_proportion_test,
    welch_test,
    wilson_interval,
)

__all__ = ["Comparison", "group_metrics", "RATES", "COMPARISONS"]

# rate name -> (numerator cells, denominator cells, reason when the denominator is empty)
RATES: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    "selection_rate": (("tp", "fp"), ("tp", "fp", "tn", "fn"), "the group is empty"),
    "base_rate": (("tp", "fn"), ("tp", "fp", "tn", "fn"), "the group is empty"),
    "true_positive_rate": (("tp",), ("tp", "fn"), "no rows with label 1 in the group"),
    "false_positive_rate": (("fp",), ("fp", "tn"), "no rows with label 0 in the group"),
    "true_negative_rate": (("tn",), ("fp", "tn"), "no rows with label 0 in the group"),
    "false_negative_rate": (("fn",), ("tp", "fn"), "no rows with label 1 in the group"),
    "precision": (("tp",), ("tp", "fp"), "no rows with decision 1 in the group"),
    "negative_predictive_value": (("tn",), ("tn", "fn"), "no rows with decision 0 in the group"),
    "accuracy": (("tp", "tn"), ("tp", "fp", "tn", "fn"), "the group is empty"),
}

# comparison prefix -> rate compared (ratio and difference of the group's rate to the reference's)
COMPARISONS = {"fpr": "false_positive_rate", "fnr": "false_negative_rate", "tpr": "true_positive_rate"}


@dataclass(frozen=True)
class Comparison:
    """One attribute (or intersection) to report, with its resolved reference group."""

    attribute: str
    columns: tuple[str, ...]
    reference: str
    reference_defaulted: bool


def _sum(g: dict[str, np.ndarray], cells: Sequence[str], suffix: str = "") -> np.ndarray:
    return np.sum([g[c + suffix] for c in cells], axis=0)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _effective(g: dict[str, np.ndarray], cells: Sequence[str]) -> np.ndarray:
    w, w2 = _sum(g, cells), _sum(g, cells, "_sq")
    return _ratio(w * w, w2)


def group_metrics(
    table: CellTable,
    comparisons: Sequence[Comparison],
    *,
    favourable: int = 1,
    min_group_size: int = 30,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """One row per (attribute, group) with rates, intervals, comparisons and tests."""
    parts = [_attribute_metrics(table, c, favourable, min_group_size, confidence) for c in comparisons]
    columns = {}
    for name in parts[0]:
        values = [p[name] for p in parts]
        columns[name] = sum(values, []) if isinstance(values[0], list) else np.concatenate(values)
    return pd.DataFrame(columns)


def _attribute_metrics(
    table: CellTable, comp: Comparison, favourable: int, min_group_size: int, confidence: float
) -> dict[str, object]:
    frame = table.groups(list(comp.columns))
    # Reference first, then the others in name order.
    order = np.argsort(frame["group"].to_numpy() != comp.reference, kind="stable")
    g = {c: frame[c].to_numpy()[order] for c in frame.columns}
    k = len(order)
    ref = 0
    rows = g["rows"].astype(np.int64)
    n = g["n"].astype(np.float64)
    # Kish's effective size; without weights n_sq == n == rows, so this is the row count exactly.
    n_effective = _ratio(n * n, g["n_sq"].astype(np.float64))
    out: dict[str, object] = {
        "attribute": np.full(k, comp.attribute, dtype=object),
        "group": g["group"].astype(object),
        "reference": np.full(k, comp.reference, dtype=object),
        "is_reference": np.arange(k) == ref,
        "rows": rows,
        "n": n,
        "n_effective": n_effective,
        "share": n / n.sum(),
    }
    small = ~(n_effective >= min_group_size)
    out["too_small_to_judge"] = small | small[ref]
    undefined: list[dict[str, str]] = [{} for _ in range(k)]

    def note(mask: np.ndarray, metric: str, reason: str) -> None:
        for i in np.flatnonzero(mask):
            undefined[i].setdefault(metric, reason)

    def full(value: float) -> np.ndarray:
        return np.full(k, value, dtype=np.float64)

    # Rates with Wilson intervals (effective counts when weighted).
    eff: dict[str, np.ndarray] = {}
    for name, (num_cells, den_cells, reason) in RATES.items():
        num, den = _sum(g, num_cells), _sum(g, den_cells)
        rate = _ratio(num, den)
        n_eff = _effective(g, den_cells)
        out[name] = rate
        out[name + "_ci_low"], out[name + "_ci_high"] = wilson_interval(np.nan_to_num(rate) * n_eff, n_eff, confidence)
        eff[name] = n_eff
        note(~(den > 0), name, reason)

    # Favourable rate and the adverse impact ratio.
    sel = out["selection_rate"]
    if favourable == 1:
        fav, fav_lo, fav_hi = sel, out["selection_rate_ci_low"], out["selection_rate_ci_high"]
    else:
        fav, fav_lo, fav_hi = 1.0 - sel, 1.0 - out["selection_rate_ci_high"], 1.0 - out["selection_rate_ci_low"]
    out["favourable_rate"], out["favourable_rate_ci_low"], out["favourable_rate_ci_high"] = fav, fav_lo, fav_hi
    n_eff = eff["selection_rate"]
    x = np.nan_to_num(fav) * n_eff
    x_ref, n_ref = full(x[ref]), full(n_eff[ref])
    air = _ratio(fav, full(fav[ref]))
    out["adverse_impact_ratio"] = air
    out["adverse_impact_ratio_ci_low"], out["adverse_impact_ratio_ci_high"] = katz_ratio_interval(x, n_eff, x_ref, n_ref, confidence)
    out["below_four_fifths"] = air < 0.8
    note(np.full(k, not fav[ref] > 0), "adverse_impact_ratio",
         "the reference group has no favourable decisions, so no ratio to it exists")
    out["marginal_effect"] = fav - fav[ref]
    out["marginal_effect_ci_low"], out["marginal_effect_ci_high"] = newcombe_difference_interval(x, n_eff, x_ref, n_ref, confidence)
    out["favourable_rate_p_value"], out["favourable_rate_test"] = two_proportion_test(x, n_eff, x_ref, n_ref)

    # Error-rate ratios and differences.
    for short, rate_name in COMPARISONS.items():
        rate = out[rate_name]
        ne = eff[rate_name]
        x, xr, nr = np.nan_to_num(rate) * ne, full(np.nan_to_num(rate[ref]) * ne[ref]), full(ne[ref])
        out[f"{short}_ratio"] = _ratio(rate, full(rate[ref]))
        out[f"{short}_ratio_ci_low"], out[f"{short}_ratio_ci_high"] = katz_ratio_interval(x, ne, xr, nr, confidence)
        out[f"{short}_difference"] = rate - rate[ref]
        out[f"{short}_difference_ci_low"], out[f"{short}_difference_ci_high"] = newcombe_difference_interval(x, ne, xr, nr, confidence)
        out[f"{short}_p_value"], out[f"{short}_test"] = two_proportion_test(x, ne, xr, nr)
        undefined_rate = RATES[rate_name][2]
        note(np.isnan(rate), f"{short}_ratio", undefined_rate)
        note(np.full(k, np.isnan(rate[ref])), f"{short}_ratio", "reference group: " + undefined_rate)
        note(np.full(k, rate[ref] == 0), f"{short}_ratio", f"the reference group's {rate_name.replace('_', ' ')} is 0")

    _score_metrics(table, g, out, ref, confidence, note)

    # The reference compared with itself carries no test and no interval.
    versus = ("adverse_impact_ratio", "marginal_effect", "smd",
              *(f"{s}_{kind}" for s in COMPARISONS for kind in ("ratio", "difference")))
    for col in [c for c in out if c.endswith("_p_value")] + [f"{m}_ci_{e}" for m in versus for e in ("low", "high")]:
        out[col] = np.array(out[col], dtype=np.float64)
        out[col][ref] = np.nan
    for col in [c for c in out if c.endswith("_test")]:
        out[col] = np.array(out[col], dtype=object)
        out[col][ref] = ""
    out["undefined"] = undefined
    return out


def _score_metrics(table: CellTable, g: dict[str, np.ndarray], out: dict, ref: int, confidence: float, note) -> None:
    k = len(g["group"])
    if not table.has_score:
        for name in ("mean_score", "score_sd", "smd", "smd_ci_low", "smd_ci_high", "smd_p_value"):
            out[name] = np.full(k, np.nan)
        out["smd_test"] = np.full(k, "", dtype=object)
        note(np.ones(k, bool), "smd", "no score column was given")
        return
    n, n_sq = g["n"].astype(np.float64), g["n_sq"].astype(np.float64)
    s, sq = g["score_sum"], g["score_sq"]
    n_eff = _ratio(n * n, n_sq)
    mean = _ratio(s, n)
    # Reliability weights: Σw(x − x̄)² / (Σw − Σw²/Σw), invariant to the weights' scale (see the
    # module docstring); the denominator is n − 1 exactly when every weight is 1.
    with np.errstate(divide="ignore", invalid="ignore"):
        var = np.where(n_eff > 1, np.maximum(sq - s * s / n, 0.0) / (n - _ratio(n_sq, n)), np.nan)
    N, N_sq, S, SQ = n.sum(), n_sq.sum(), s.sum(), sq.sum()
    spread = N > 0 and N * N > N_sq
    sd_total = float(np.sqrt(max(SQ - S * S / N, 0.0) / (N - N_sq / N))) if spread else float("nan")
    out["mean_score"], out["score_sd"] = mean, np.sqrt(var)
    if not sd_total > 0:
        for name in ("smd", "smd_ci_low", "smd_ci_high", "smd_p_value"):
            out[name] = np.full(k, np.nan)
        out["smd_test"] = np.full(k, "", dtype=object)
        reason = ("the score is constant over all rows, so it has no spread to standardise by" if spread else
                  "the audited rows' effective size is at most 1, so the score has no spread to standardise by")
        note(np.ones(k, bool), "smd", reason)
        return
    out["smd"] = (mean - mean[ref]) / sd_total
    full = lambda v: np.full(k, v)  # noqa: E731
    p, lo, hi = welch_test(mean, var, n_eff, full(mean[ref]), full(var[ref]), full(n_eff[ref]), confidence)
    out["smd_ci_low"], out["smd_ci_high"] = lo / sd_total, hi / sd_total
    out["smd_p_value"], out["smd_test"] = p, np.where(np.isnan(p), "", "welch").astype(object)
    weighted = bool(np.any(n_sq != n))
    few = "an effective size below two" if weighted else "fewer than two rows"
    note(~(n_eff >= 2), "smd_p_value", f"{few} in the group")
    note(np.full(k, not n_eff[ref] >= 2), "smd_p_value", f"{few} in the reference group")
