"""Discrimination checks over the audit's group table: adverse impact ratio, SMD, error-rate ratios,
group size. Each compares every group with its reference group and returns one finding per group."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import numpy as np
from pydantic import Field, model_validator

from steward.audit._findings import Finding
from steward.audit._summary import format_p, pct
from steward.audit.checks._registry import CheckContext, CheckParams, GroupCheckParams, register
from steward.audit.checks._words import Speaker, capital

__all__ = ["AdverseImpactParams", "SMDParams", "ErrorRateParams", "GroupSizeParams"]


_NAMES = {"adverse_impact_ratio": "adverse impact ratio", "smd": "standardized mean difference",
          "fpr_ratio": "false positive rate ratio", "fnr_ratio": "false negative rate ratio"}


def _f(x: Any) -> float:
    return float(x) if x is not None else float("nan")


class AdverseImpactParams(GroupCheckParams):
    min: float = Field(default=0.8, gt=0)
    max: float | None = Field(default=None, gt=0)


class SMDParams(GroupCheckParams):
    max_abs: float = Field(gt=0)


class ErrorRateParams(GroupCheckParams):
    min: float | None = Field(default=None, gt=0)
    max: float | None = Field(default=None, gt=0)
    harmful_only: bool = True  # judge only the error that gives the person the unfavourable decision

    @model_validator(mode="after")
    def _a_bound(self) -> "ErrorRateParams":
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both: the bounds the ratio must stay within")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is above max ({self.max})")
        return self


class GroupSizeParams(CheckParams):
    severity: Literal["fail", "warn"] = "warn"
    min: int | None = Field(default=None, ge=1)  # None: the tier's min_group_size
    attributes: list[str] | None = None
    intersections: bool = True


def _bounds_text(lo: float | None, hi: float | None, digits: int = 2) -> str:
    if lo is not None and hi is not None:
        return f"the policy requires between {lo:.{digits}f} and {hi:.{digits}f}"
    if lo is not None:
        return f"the policy requires at least {lo:.{digits}f}"
    return f"the policy allows at most {hi:.{digits}f}"


def _selected(ctx: CheckContext, params: GroupCheckParams | GroupSizeParams, check: str) -> tuple[list[dict], list[Finding]]:
    """The group rows a check looks at, and not_applicable findings for attributes it names but the audit lacks."""
    g = ctx.result.groups
    audited = list(dict.fromkeys(g["attribute"]))
    missing: list[Finding] = []
    wanted = audited
    if params.attributes is not None:
        wanted = [a for a in audited if a in params.attributes]
        for a in params.attributes:
            if a not in audited:
                missing.append(Finding(
                    check=check, status="not_applicable", severity=params.severity, attribute=a, group="*",
                    message=f"The policy names the attribute {a!r} for this check, but the audit has no such attribute "
                            f"(audited: {', '.join(audited)}).", source=params.source))
    if not params.intersections:
        wanted = [a for a in wanted if "*" not in a]
    rows = [r for r in g.to_dict(orient="records") if r["attribute"] in wanted]
    return rows, missing


def _size(r: dict) -> float:
    """A group's size for judging: Kish's effective size ``(Σw)²/Σw²``, which is its row count
    without weights (one heavy row among many light ones counts as about one row)."""
    return _f(r.get("n_effective", r["rows"]))


def _size_text(ctx: CheckContext, r: dict, who: str) -> str:
    if ctx.result.roles.weight is None:
        return f"Only {int(r['rows']):,} {who} were audited"
    return (f"The effective size of {who} is only {_size(r):,.1f} ({int(r['rows']):,} rows, weighted by "
            f"{ctx.result.roles.weight!r}; Kish's effective size)")


def _judge(ctx: CheckContext, params: GroupCheckParams, breach: bool, p: float) -> tuple[str, bool | None]:
    significant = None if not np.isfinite(p) else bool(p < ctx.tier.alpha)
    if not breach:
        return "pass", significant
    required = params.require_significance if params.require_significance is not None else ctx.tier.require_significance
    if required and not significant:
        return "warn", significant
    return params.severity, significant


def _compare(
    ctx: CheckContext,
    params: GroupCheckParams,
    *,
    check: str,
    metric: str,
    value_col: str,
    p_col: str,
    breach: Callable[[float], bool],
    sentence: Callable[[dict, Speaker], str],
    threshold: dict[str, Any],
) -> list[Finding]:
    result = ctx.result
    speak = Speaker(ctx.card.wording if ctx.card else None, result.roles.favourable)
    rows, out = _selected(ctx, params, check)
    refs = {r["attribute"]: r for r in rows if r["is_reference"]}
    need = ctx.tier.min_group_size
    for r in rows:
        if r["is_reference"]:
            continue
        value = _f(r[value_col])
        lo, hi = _f(r.get(value_col + "_ci_low")), _f(r.get(value_col + "_ci_high"))
        p = _f(r[p_col])
        common = dict(check=check, severity=params.severity, attribute=r["attribute"], group=str(r["group"]),
                      reference=str(r["reference"]), metric=metric, value=value, ci=(lo, hi), p_value=p,
                      threshold=threshold, rows=int(r["rows"]), source=params.source)
        ref = refs.get(r["attribute"])
        if not _size(r) >= need or (ref is not None and not _size(ref) >= need):
            small, who = (r, r["group"]) if not _size(r) >= need else (ref, r["reference"])
            shown = "" if not np.isfinite(value) else f" ({_NAMES[metric]} {value:.2f})"
            out.append(Finding(status="insufficient_data", message=(
                f"{_size_text(ctx, small, speak.who(r['attribute'], who))}, "
                f"{'fewer than' if ctx.result.roles.weight is None else 'below'} the {need} the policy needs "
                f"to judge a group; the comparison{shown} is shown but not judged."), **common))
            continue
        if not np.isfinite(value):
            reason = r["undefined"].get(value_col) or r["undefined"].get(metric) or "it cannot be computed"
            out.append(Finding(status="not_applicable", message=(
                f"The {_NAMES[metric]} of {speak.who(r['attribute'], r['group'])} against "
                f"{speak.who(r['attribute'], r['reference'])} is undefined: {reason}."), **common))
            continue
        is_breach = breach(value)
        status, significant = _judge(ctx, params, is_breach, p)
        text = sentence(r, speak)
        if is_breach and status == "warn" and params.severity == "fail":
            text += (f" The difference could be chance ({format_p(p)}) and the policy fails only significant "
                     f"differences (p < {ctx.tier.alpha:g}), so this is a warning.")
        out.append(Finding(status=status, significant=significant, message=text, **common))
    return out


@register("adverse_impact_ratio", params=AdverseImpactParams,
          summary="Each group's favourable-outcome rate over its reference group's must be at least `min` (four-fifths rule).")
def adverse_impact_ratio(ctx: CheckContext, params: AdverseImpactParams) -> list[Finding]:
    conf = f"{round(ctx.tier.confidence * 100)}%"

    def sentence(r: dict, s: Speaker) -> str:
        ref_rate = r["favourable_rate"] - r["marginal_effect"]
        return (f"{capital(s.who(r['attribute'], r['group']))} were {s.given(ctx.result.roles.favourable)} at "
                f"{r['adverse_impact_ratio']:.2f} times the rate of {s.who(r['attribute'], r['reference'])} "
                f"({pct(r['favourable_rate'])} against {pct(ref_rate)}; {conf} interval "
                f"{_f(r['adverse_impact_ratio_ci_low']):.2f}–{_f(r['adverse_impact_ratio_ci_high']):.2f}, "
                f"{format_p(r['favourable_rate_p_value'])}); {_bounds_text(params.min, params.max)}.")

    return _compare(ctx, params, check="adverse_impact_ratio", metric="adverse_impact_ratio",
                    value_col="adverse_impact_ratio", p_col="favourable_rate_p_value",
                    breach=lambda v: v < params.min or (params.max is not None and v > params.max),
                    sentence=sentence, threshold={"min": params.min, "max": params.max})


@register("standardized_mean_difference", params=SMDParams,
          summary="The standardized mean difference of the score between each group and its reference must stay within ±`max_abs`.")
def standardized_mean_difference(ctx: CheckContext, params: SMDParams) -> list[Finding]:
    roles = ctx.result.roles
    if roles.score is None:
        return [Finding(check="standardized_mean_difference", status="not_applicable", severity=params.severity,
                        metric="smd", source=params.source,
                        needs="a score column (--score, or a model that scores)",
                        message="The audit has no score column, so the standardized mean difference cannot be computed; "
                                "give --score to audit it.")]
    conf = f"{round(ctx.tier.confidence * 100)}%"
    g = ctx.result.groups
    ref_mean = {a: m for a, m in g.loc[g["is_reference"], ["attribute", "mean_score"]].itertuples(index=False)}

    def sentence(r: dict, s: Speaker) -> str:
        smd = r["smd"]
        way = "higher" if smd >= 0 else "lower"
        return (f"The mean {roles.score} of {s.who(r['attribute'], r['group'])} is {abs(smd):.2f} standard deviations "
                f"{way} than that of {s.who(r['attribute'], r['reference'])} ({r['mean_score']:.2f} against "
                f"{ref_mean[r['attribute']]:.2f}; {conf} interval of the SMD {_f(r['smd_ci_low']):.2f} to "
                f"{_f(r['smd_ci_high']):.2f}, {format_p(r['smd_p_value'])}); the policy allows at most "
                f"{params.max_abs:.2f} either way.")

    return _compare(ctx, params, check="standardized_mean_difference", metric="smd", value_col="smd",
                    p_col="smd_p_value", breach=lambda v: abs(v) > params.max_abs, sentence=sentence,
                    threshold={"max_abs": params.max_abs})


def _error_rate_check(name: str, short: str, rate: str, label: int, decision: int):
    def run(ctx: CheckContext, params: ErrorRateParams) -> list[Finding]:
        fav = ctx.result.roles.favourable
        if params.harmful_only and decision == fav:
            s = Speaker(ctx.card.wording if ctx.card else None, fav)
            return [Finding(check=name, status="not_applicable", severity=params.severity, metric=f"{short}_ratio",
                            source=params.source, exempt_by="harmful_only", message=(
                                f"With favourable decision {fav}, a {rate.replace('_', ' ')[:-5]} means a person was "
                                f"{s.given(decision)} wrongly, to their benefit; the policy judges only harmful errors "
                                f"(harmful_only), so this check does not apply."))]

        def sentence(r: dict, s: Speaker) -> str:
            ref_rate = r[rate] - r[f"{short}_difference"]
            return (f"{capital(s.who(r['attribute'], r['group']))} {s.with_label(label)} were {s.given(decision)} "
                    f"{r[f'{short}_ratio']:.2f} times as often as {s.who(r['attribute'], r['reference'])} "
                    f"({pct(r[rate])} against {pct(ref_rate)}, {format_p(r[f'{short}_p_value'])}); "
                    f"{_bounds_text(params.min, params.max)}.")

        return _compare(ctx, params, check=name, metric=f"{short}_ratio", value_col=f"{short}_ratio",
                        p_col=f"{short}_p_value",
                        breach=lambda v: (params.min is not None and v < params.min) or (params.max is not None and v > params.max),
                        sentence=sentence, threshold={"min": params.min, "max": params.max})

    return run


register("false_positive_rate_ratio", params=ErrorRateParams,
         summary="Each group's false positive rate over its reference's must stay within [`min`, `max`].")(
    _error_rate_check("false_positive_rate_ratio", "fpr", "false_positive_rate", label=0, decision=1))
register("false_negative_rate_ratio", params=ErrorRateParams,
         summary="Each group's false negative rate over its reference's must stay within [`min`, `max`].")(
    _error_rate_check("false_negative_rate_ratio", "fnr", "false_negative_rate", label=1, decision=0))


@register("group_size", params=GroupSizeParams,
          summary="Every group must have at least `min` rows (default: the tier's min_group_size) to be judged; "
                  "with sample weights, an effective size (Kish) of at least `min`.")
def group_size(ctx: CheckContext, params: GroupSizeParams) -> list[Finding]:
    need = params.min or ctx.tier.min_group_size
    speak = Speaker(ctx.card.wording if ctx.card else None, ctx.result.roles.favourable)
    weight = ctx.result.roles.weight
    rows, out = _selected(ctx, params, "group_size")
    for r in rows:
        n, size = int(r["rows"]), _size(r)
        who = speak.who(r["attribute"], r["group"])
        if not size >= need:
            status, text = params.severity, (f"{_size_text(ctx, r, who)}; the policy needs at least {need} to judge "
                                             f"a group, so their figures are shown but not judged.")
        elif weight is None:
            status, text = "pass", f"{n:,} {who} were audited (the policy needs at least {need})."
        else:
            status, text = "pass", (f"The effective size of {who} is {size:,.1f} ({n:,} rows, weighted by {weight!r}; "
                                    f"the policy needs at least {need}).")
        out.append(Finding(check="group_size", status=status, severity=params.severity, attribute=r["attribute"],
                           group=str(r["group"]), metric="rows" if weight is None else "n_effective",
                           value=float(n) if weight is None else size, threshold={"min": need}, rows=n,
                           message=text, source=params.source))
    return out
