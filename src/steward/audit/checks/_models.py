"""Checks that need the model or its errors: slices, the benchmark comparison, residual concentration
and prediction churn. Each reads an analysis the audit ran (``ctx.analyses``); when it did not run,
the finding says what to give so it can."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field

from steward.audit._findings import Finding
from steward.audit.checks._registry import CheckContext, CheckParams, register

__all__ = ["SliceParams", "BenchmarkParams", "ResidualParams", "ChurnParams"]


class SliceParams(CheckParams):
    max_error_ratio: float = Field(default=2.0, gt=1)  # error rate inside / error rate of the rest
    min_support: int = Field(default=100, ge=1)  # fewest rows for a slice to count
    k: int = Field(default=10, ge=1)
    max_level: int = Field(default=2, ge=1, le=5)
    alpha: float = Field(default=0.95, gt=0, le=1)


class BenchmarkParams(CheckParams):
    metric: Literal["auc", "accuracy", "log_loss", "brier"] = "auc"
    margin: float = Field(default=0.0, ge=0)  # how much better than the benchmark the model must be
    # Both modes judge the paired bootstrap interval of the improvement (model over benchmark), not the
    # point estimate (judged only when there is no interval: too few rows to resample).
    # False: the model fails only when the whole interval is at or below `margin` (a shortfall beyond
    # noise); an interval reaching both sides of `margin` passes as "within noise".
    # True (stricter): the model passes only when the whole interval is above `margin` (it must be
    # shown to beat the benchmark); within noise it gets `severity`.
    use_interval: bool = False


class ResidualParams(CheckParams):
    severity: Literal["fail", "warn"] = "warn"
    max_top_1pct_share: float = Field(default=0.25, gt=0, le=1)  # share of the loss the worst 1% may carry


class ChurnParams(CheckParams):
    max: float = Field(default=0.05, gt=0, le=1)  # share of decisions that may flip, overall
    max_group: float | None = Field(default=None, gt=0, le=1)  # per protected group (default: max)


def _missing(check: str, params: CheckParams, what: str) -> list[Finding]:
    """The check did not run: not evidenced, with what would have let it run (after the colon in ``what``)."""
    needs = what.split(": ", 1)[1] if ": " in what else what
    needs = needs[len("give "):] if needs.startswith("give ") else needs
    return [Finding(check=check, status="not_evidenced", severity=params.severity, source=params.source,
                    message=f"The policy requires this check, but {what}.", needs=needs)]


@register("slices", params=SliceParams,
          summary="No slice with at least `min_support` rows may have an error rate `max_error_ratio` times the rest's.")
def slices(ctx: CheckContext, params: SliceParams) -> list[Finding]:
    report = ctx.analyses.get("slices")
    if report is None:
        return _missing("slices", params, "the audit searched no slices: give the feature columns (--features) "
                                          "with a label and a decision or a model")
    threshold = {"max_error_ratio": params.max_error_ratio, "min_support": params.min_support}
    out = []
    t = report.table
    for rec in t.to_dict(orient="records"):
        if rec["size"] < params.min_support or not rec["error_ratio"] >= params.max_error_ratio:
            continue
        ratio = "infinitely" if not math.isfinite(rec["error_ratio"]) else f"{rec['error_ratio']:.1f} times"
        out.append(Finding(
            check="slices", status=params.severity, severity=params.severity, source=params.source,
            attribute="slice", group=rec["slice"], metric="error_ratio", value=rec["error_ratio"], rows=rec["size"],
            threshold=threshold,
            message=(f"In the slice {rec['slice']} ({rec['size']:,} rows, {rec['share']:.1%} of all) the model's error "
                     f"rate is {rec['error_rate']:.1%}, {ratio} the {rec['rest_error_rate']:.1%} of all other rows; "
                     f"the policy allows at most {params.max_error_ratio:g} times for slices of "
                     f"{params.min_support:,} rows or more.")))
    if not out:
        worst = t[t["size"] >= params.min_support]["error_ratio"].max() if len(t) else float("nan")
        shown = f" (the worst is {worst:.2f} times the rest)" if worst == worst else ""
        out.append(Finding(check="slices", status="pass", severity=params.severity, source=params.source,
                           metric="error_ratio", value=None if worst != worst else float(worst), threshold=threshold,
                           message=(f"Of the {len(t)} worst slices SliceLine found, none with {params.min_support:,} rows "
                                    f"or more has an error rate {params.max_error_ratio:g} times the rest's{shown}.")))
    return out


def benchmark_gains(row: dict, lower_is_better: bool) -> tuple[float, float, float]:
    """How much better the model is than the benchmark (positive = better): point, worse and better end."""
    if lower_is_better:
        return -row["difference"], -row["difference_ci_high"], -row["difference_ci_low"]
    return row["difference"], row["difference_ci_low"], row["difference_ci_high"]


def benchmark_passes(row: dict, lower_is_better: bool, margin: float, use_interval: bool) -> bool:
    """The benchmark check's verdict on one comparison row (shared with the registry's re-check)."""
    gain, worst_gain, best_gain = benchmark_gains(row, lower_is_better)
    if not (math.isfinite(worst_gain) and math.isfinite(best_gain)):
        return gain > margin
    if worst_gain > margin:
        return True
    if best_gain <= margin:
        return False
    return not use_interval


@register("benchmark", params=BenchmarkParams,
          summary="The model must beat a transparent benchmark model by `margin` on `metric`; a shortfall "
                  "fails only beyond noise (its paired bootstrap interval wholly at or below `margin`).")
def benchmark(ctx: CheckContext, params: BenchmarkParams) -> list[Finding]:
    from steward.debug import LOWER_IS_BETTER

    cmp = ctx.analyses.get("benchmark")
    if cmp is None:
        return _missing("benchmark", params, "no benchmark comparison ran: give the model (--model) and its "
                                             "training data (--train)")
    row = cmp.overall(params.metric)
    lower = params.metric in LOWER_IS_BETTER
    m = params.margin
    gain, worst_gain, best_gain = benchmark_gains(row, lower)
    lo, hi = row["difference_ci_low"], row["difference_ci_high"]
    msg = (f"{params.metric}: model {row['model']:.4f}, {cmp.reference_name} {row['reference']:.4f} "
           f"(difference {row['difference']:+.4f}, {round(cmp.settings['confidence'] * 100)}% interval "
           f"{lo:+.4f} to {hi:+.4f}; {'lower' if lower else 'higher'} is better). ")
    if not (math.isfinite(worst_gain) and math.isfinite(best_gain)):
        # no interval (too few rows to resample): only the point estimate is left to judge
        ok = gain > m
        msg += ("There is no interval (too few rows to resample), so the point estimate is judged: "
                + (f"the model beats the benchmark by more than the policy's margin of {m:g}." if ok else
                   f"the model does not beat the benchmark by more than {m:g}; a simpler, transparent model does as well."))
    elif worst_gain > m:
        ok = True
        msg += f"The model beats the benchmark by more than the policy's margin of {m:g}, beyond noise."
    elif best_gain <= m:
        ok = False
        msg += (f"The whole interval is at or below the policy's margin of {m:g}: the model does not beat the "
                f"benchmark by more than {m:g}, beyond noise; a simpler, transparent model does at least as well.")
    elif params.use_interval:
        ok = False
        msg += (f"The interval reaches both sides of the policy's margin of {m:g}, and the policy (use_interval) "
                f"requires the worse end to beat the benchmark by more than {m:g}; the model has not been shown to "
                f"do better than a simpler, transparent model.")
    else:
        ok = True
        msg += (f"The difference from the policy's margin of {m:g} is within noise (the interval reaches both "
                f"sides of it), so it is not judged a shortfall; a simpler, transparent model does about as well.")
    assert ok == benchmark_passes(row, lower, m, params.use_interval)  # one rule, worded above
    return [Finding(check="benchmark", status="pass" if ok else params.severity, severity=params.severity,
                    source=params.source, metric=params.metric, value=float(row["difference"]), ci=(float(lo), float(hi)),
                    threshold={"margin": params.margin}, rows=int(row["rows"]), message=msg)]


@register("residual_concentration", params=ResidualParams,
          summary="The worst 1% of rows may carry at most `max_top_1pct_share` of the model's total loss.")
def residual_concentration(ctx: CheckContext, params: ResidualParams) -> list[Finding]:
    rep = ctx.analyses.get("residuals")
    if rep is None:
        return _missing("residual_concentration", params, "no residual analysis ran: give the model (--model) "
                                                          "or its scores (--score) with the feature columns")
    share = rep.worst_share["top_1pct"]
    ok = share <= params.max_top_1pct_share
    return [Finding(check="residual_concentration", status="pass" if ok else params.severity, severity=params.severity,
                    source=params.source, metric="top_1pct_loss_share", value=share, rows=rep.rows,
                    threshold={"max": params.max_top_1pct_share},
                    message=(f"The worst 1% of rows carry {share:.1%} of the model's total {rep.loss}; the policy "
                             f"allows at most {params.max_top_1pct_share:.0%}."
                             + ("" if ok else " Look at the largest residuals in the report: a few rows the model "
                                              "gets badly wrong may be data errors or people it fails completely.")))]


@register("prediction_churn", params=ChurnParams,
          summary="At most `max` of decisions may flip against the previous version, overall and in each group.")
def prediction_churn(ctx: CheckContext, params: ChurnParams) -> list[Finding]:
    rep = ctx.analyses.get("churn")
    if rep is None:
        return _missing("prediction_churn", params, "no churn was measured: give the previous version's model (--previous)")
    limit_group = params.max_group if params.max_group is not None else params.max
    out = []
    for rec in rep.table.to_dict(orient="records"):
        overall = rec["scope"] == "all"
        limit = params.max if overall else limit_group
        attr, _, group = rec["scope"].partition("=")
        common = dict(check="prediction_churn", severity=params.severity, source=params.source, metric="churn",
                      value=rec["churn"], ci=(rec["churn_ci_low"], rec["churn_ci_high"]), rows=rec["rows"],
                      threshold={"max": limit}, attribute=None if overall else attr, group=None if overall else group)
        who = "all rows" if overall else f"{attr}={group}"
        if not overall and rec["too_small_to_judge"]:
            out.append(Finding(status="insufficient_data", **common,
                               message=f"{who}: only {rec['rows']} rows, too few to judge churn."))
            continue
        ok = rec["churn"] <= limit
        out.append(Finding(status="pass" if ok else params.severity, **common, message=(
            f"{who}: {rec['churn']:.1%} of decisions flip against the previous version ({rec['flipped']:,} of "
            f"{rec['rows']:,}; {rec['lost_favourable']:,} lose the favourable decision, {rec['gained_favourable']:,} "
            f"gain it); the policy allows at most {limit:.1%}.")))
    return out
