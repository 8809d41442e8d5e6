"""Checks beyond group averages: the counterfactual flip test, situation testing, proxies, stress
scenarios and adversarial robustness. Each reads an analysis the audit ran with the model."""

from __future__ import annotations

from pydantic import Field

from steward.audit._findings import Finding
from steward.audit.checks._models import _missing
from steward.audit.checks._registry import CheckContext, CheckParams, register

__all__ = ["FlipParams", "SituationParams", "ProxyParams", "StressParams", "AdversarialParams"]


class FlipParams(CheckParams):
    max_share: float = Field(default=0.0, ge=0, le=1)  # decisions that may change with the attribute alone


class SituationParams(CheckParams):
    max_flagged_share: float = Field(default=0.05, ge=0, le=1)  # of a group's unfavourable decisions
    k: int = Field(default=10, ge=1)
    t: float = Field(default=0.3, gt=0, le=1)


class ProxyParams(CheckParams):
    max_auc: float = Field(default=0.75, gt=0.5, le=1)
    max_cramers_v: float = Field(default=0.30, gt=0, le=1)
    max_adversary_auc: float | None = Field(default=None, gt=0.5, le=1)  # all features together


class StressParams(CheckParams):
    max_share_changed: float = Field(default=0.10, ge=0, le=1)


class AdversarialParams(CheckParams):
    budget: float = Field(default=1.0, gt=0)  # cost of a change: standard deviations + 1 per category
    max_flip_rate: float = Field(default=0.25, ge=0, le=1)
    sample: int = Field(default=200, ge=1)
    time_budget: float = Field(default=60.0, gt=0)


@register("flip_test", params=FlipParams,
          summary="At most `max_share` of decisions may change when only the protected attribute changes.")
def flip(ctx: CheckContext, params: FlipParams) -> list[Finding]:
    rep = ctx.analyses.get("flip_test")
    if rep is None:
        return _missing("flip_test", params, "no flip test ran: give the model (--model) and its features")
    out = []
    common = dict(check="flip_test", severity=params.severity, source=params.source)
    for attr, why in rep.skipped.items():
        out.append(Finding(status="pass", attribute=attr, metric="flip_share", value=0.0,
                           message=f"The decisions cannot depend on {attr} directly: {why}.", **common))
    for rec in rep.groups.to_dict(orient="records"):
        ok = rec["any_flip"] <= params.max_share
        out.append(Finding(
            status="pass" if ok else params.severity, attribute=rec["attribute"], group=rec["group"],
            metric="flip_share", value=rec["any_flip"], ci=(rec["any_flip_ci_low"], rec["any_flip_ci_high"]),
            rows=rec["rows"], threshold={"max": params.max_share},
            message=(f"Changing only {rec['attribute']} changes the decision for {rec['flipped']:,} of "
                     f"{rec['rows']:,} people in {rec['group']} ({rec['any_flip']:.1%}); the policy allows "
                     f"{params.max_share:.1%}." + ("" if ok else " The model treats people differently because of "
                                                                 "the attribute itself (disparate treatment).")),
            **common))
    return out


@register("situation_testing", params=SituationParams,
          summary="At most `max_flagged_share` of a group's unfavourable decisions may be worse than their k nearest "
                  "reference-group neighbours' by `t`.")
def situation(ctx: CheckContext, params: SituationParams) -> list[Finding]:
    reps = ctx.analyses.get("situation_testing")
    if not reps:
        return _missing("situation_testing", params, "no situation test ran: give the features (--features) "
                                                      "and a model or decisions")
    out = []
    for rep in reps.reports:
        for rec in rep.table.to_dict(orient="records"):
            common = dict(check="situation_testing", severity=params.severity, source=params.source,
                          attribute=rep.attribute, group=rec["group"], reference=rep.reference,
                          metric="flagged_share", rows=rec["unfavourable"],
                          threshold={"max": params.max_flagged_share, "k": rep.k, "t": rep.t})
            if rec["too_small_to_judge"]:
                out.append(Finding(status="insufficient_data", value=None, message=(
                    f"{rep.attribute}={rec['group']} has {rec['rows']} rows, too few for {rep.k} neighbours."),
                    **common))
                continue
            ok = rec["share_flagged"] <= params.max_flagged_share
            out.append(Finding(status="pass" if ok else params.severity, value=rec["share_flagged"],
                               ci=(rec["share_ci_low"], rec["share_ci_high"]), message=(
                f"Of {rec['unfavourable']:,} unfavourable decisions for {rep.attribute}={rec['group']}, "
                f"{rec['flagged']:,} ({rec['share_flagged']:.1%}) went to people whose {rep.k} most similar "
                f"{rep.reference} neighbours got favourable decisions at least {rep.t:.0%} more often than their "
                f"own group's; the policy allows {params.max_flagged_share:.0%}."), **common))
    return out


@register("proxies", params=ProxyParams,
          summary="No feature may predict a protected attribute with AUC >= `max_auc` or Cramér's V >= `max_cramers_v`.")
def proxies(ctx: CheckContext, params: ProxyParams) -> list[Finding]:
    rep = ctx.analyses.get("proxies")
    if rep is None:
        return _missing("proxies", params, "no proxy detection ran: give the feature columns (--features)")
    out = []
    common = dict(check="proxies", severity=params.severity, source=params.source)
    t = rep.table
    for rec in t.to_dict(orient="records"):
        if rec["auc"] >= params.max_auc or rec["cramers_v"] >= params.max_cramers_v:
            out.append(Finding(status=params.severity, attribute=rec["attribute"], group=rec["feature"],
                               metric="proxy_auc", value=rec["auc"],
                               threshold={"max_auc": params.max_auc, "max_cramers_v": params.max_cramers_v},
                               message=(f"{rec['feature']} stands in for {rec['attribute']}: alone it separates "
                                        f"{rec['best_separated_group']} from the rest with AUC {rec['auc']:.2f} "
                                        f"(Cramér's V {rec['cramers_v']:.2f}, mutual information "
                                        f"{rec['mutual_information']:.3f} bits)."), **common))
    if params.max_adversary_auc is not None:
        for rec in rep.adversary.to_dict(orient="records"):
            auc = rec["auc"]
            if auc == auc and auc >= params.max_adversary_auc:
                out.append(Finding(status=params.severity, attribute=rec["attribute"], metric="adversary_auc",
                                   value=auc, threshold={"max": params.max_adversary_auc}, message=(
                                       f"Together the features predict {rec['attribute']} with cross-validated AUC "
                                       f"{auc:.2f}; the policy allows {params.max_adversary_auc:.2f}."), **common))
    if not out:
        worst = t.sort_values("auc", ascending=False).iloc[0] if len(t) else None
        said = "" if worst is None else (f" (the strongest is {worst['feature']} for {worst['attribute']}, "
                                         f"AUC {worst['auc']:.2f}, Cramér's V {worst['cramers_v']:.2f})")
        out.append(Finding(status="pass", metric="proxy_auc", value=None if worst is None else float(worst["auc"]),
                           threshold={"max_auc": params.max_auc, "max_cramers_v": params.max_cramers_v},
                           message=f"No feature stands in for a protected attribute{said}.", **common))
    return out


@register("stress_scenarios", params=StressParams,
          summary="No stress scenario may change more than `max_share_changed` of the decisions in any group.")
def stress(ctx: CheckContext, params: StressParams) -> list[Finding]:
    rep = ctx.analyses.get("stress")
    if rep is None:
        return _missing("stress_scenarios", params, "no stress test ran: give the scenarios (--scenarios)")
    out = []
    for rec in rep.table.to_dict(orient="records"):
        ok = rec["share_changed"] <= params.max_share_changed
        attr, _, group = rec["scope"].partition("=")
        out.append(Finding(check="stress_scenarios", status="pass" if ok else params.severity,
                           severity=params.severity, source=params.source,
                           attribute=None if rec["scope"] == "all" else attr, group=group or None,
                           metric="share_changed", value=rec["share_changed"], rows=rec["rows"],
                           threshold={"max": params.max_share_changed},
                           message=(f"Scenario {rec['scenario']!r} changes {rec['decisions_changed']:,} of "
                                    f"{rec['rows']:,} decisions ({rec['scope']}: {rec['share_changed']:.1%}; "
                                    f"{rec['to_favourable']:,} become favourable, {rec['to_unfavourable']:,} "
                                    f"unfavourable); the policy allows {params.max_share_changed:.0%}.")))
    return out


@register("adversarial_robustness", params=AdversarialParams,
          summary="At most `max_flip_rate` of sampled decisions may flip by a change costing `budget` or less.")
def adversarial(ctx: CheckContext, params: AdversarialParams) -> list[Finding]:
    rep = ctx.analyses.get("adversarial")
    if rep is None and ctx.analyses.get("adversarial_skipped"):
        # Every input is immutable: nobody can change one to flip a decision, so the search has no scope.
        return [Finding(check="adversarial_robustness", status="not_applicable", severity=params.severity,
                        source=params.source, exempt_by="immutable inputs",
                        message=f"No adversarial search was possible: {ctx.analyses['adversarial_skipped']}.")]
    if rep is None:
        return _missing("adversarial_robustness", params, "no adversarial search ran: give the model (--model)")
    ok = rep.flip_rate <= params.max_flip_rate
    easiest = ", ".join(rep.features["feature"].head(3)) if len(rep.features) else "none"
    return [Finding(check="adversarial_robustness", status="pass" if ok else params.severity, severity=params.severity,
                    source=params.source, metric="flip_rate", value=rep.flip_rate, rows=rep.rows,
                    threshold={"max": params.max_flip_rate, "budget": rep.budget},
                    message=(f"{rep.flip_rate:.1%} of {rep.rows} sampled decisions flip with a change costing at most "
                             f"{rep.budget:g} (standard deviations of a number, 1 per category), never touching "
                             f"{', '.join(rep.immutable) or 'nothing'}; the easiest features to game: {easiest}. "
                             f"The policy allows {params.max_flip_rate:.0%}."
                             + (" The search ran out of time before trying every pair." if rep.timed_out else "")))]
