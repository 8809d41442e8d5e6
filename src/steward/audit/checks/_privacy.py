"""Privacy and security checks: membership inference, attribute inference, extraction resistance, direct
identifiers among the features, re-identification risk of the audited data. Each reads a probe the audit ran
(``ctx.analyses``); when it could not run, the finding says what to give so it can."""

from __future__ import annotations

from pydantic import Field

from steward.audit._findings import Finding
from steward.audit.checks._models import _missing
from steward.audit.checks._registry import CheckContext, CheckParams, register

__all__ = ["MembershipParams", "AttributeParams", "ExtractionParams", "PiiParams", "ReidentificationParams"]


class MembershipParams(CheckParams):
    max_advantage: float = Field(default=0.10, ge=0, le=1)  # TPR - FPR of the strongest attack, overall and per group
    max_rows: int = Field(default=20_000, ge=40)


class AttributeParams(CheckParams):
    max_advantage: float = Field(default=0.05, ge=0, le=1)  # attack accuracy - baseline accuracy
    max_rows: int = Field(default=10_000, ge=40)


class ExtractionParams(CheckParams):
    agreement: float = Field(default=0.95, gt=0, le=1)  # a copy that agrees this often counts as a copy
    min_hours: float = Field(default=24.0, ge=0)  # an attacker at the allowed rate must need at least this long
    budgets: list[int] = Field(default_factory=lambda: [100, 1_000, 10_000])


class PiiParams(CheckParams):
    min_share: float = Field(default=0.3, gt=0, le=1)  # share of a column's values that makes it an identifier
    sample: int = Field(default=10_000, ge=100)


class ReidentificationParams(CheckParams):
    quasi_identifiers: list[str] | None = None  # None: Steward's suggestion of likely ones (said in the finding)
    k: int = Field(default=5, ge=2)
    max_share_below_k: float = Field(default=0.0, ge=0, le=1)  # of records in classes smaller than k


def _not_run(ctx: CheckContext, key: str, check: str, params: CheckParams, needs: str) -> list[Finding]:
    """The probe did not run: why (recorded by the audit as ``<key>_skipped``), or what would let it run."""
    return _missing(check, params, ctx.analyses.get(f"{key}_skipped") or needs)


@register("membership_inference", params=MembershipParams,
          summary="No membership attack may tell training rows from unseen ones with advantage above "
                  "`max_advantage`, overall or in any protected group.")
def membership(ctx: CheckContext, params: MembershipParams) -> list[Finding]:
    rep = ctx.analyses.get("membership_inference")
    if rep is None:
        return _not_run(ctx, "membership_inference", "membership_inference", params,
                        "no membership attack ran: give the model (--model) and its training data with the label "
                        "(--train)")
    common = dict(check="membership_inference", severity=params.severity, source=params.source,
                  metric="membership_advantage", threshold={"max": params.max_advantage})
    s = rep.strongest()
    ok = s["advantage"] <= params.max_advantage
    out = [Finding(status="pass" if ok else params.severity, value=float(s["advantage"]), rows=int(rep.rows),
                   ci=(float(s["advantage_low"]), float(s["advantage_high"])), message=(
        f"The strongest of {len(rep.attacks) - 1} attacks ({s['attack']}) tells the model's training rows from "
        f"unseen ones with AUC {s['auc']:.3f} and advantage {s['advantage']:.3f} (right {s['tpr']:.0%} of the time on "
        f"members, wrongly {s['fpr']:.0%} on others; ignoring the model gives 0); the policy allows "
        f"{params.max_advantage:g}." + ("" if ok else " The model remembers who was in its training data: "
                                        "regularise it, or train it with differential privacy.")), **common)]
    g = rep.groups
    for r in g[(g["attack"] == s["attack"])].to_dict(orient="records"):
        if not r["judged"]:
            out.append(Finding(status="insufficient_data", attribute=r["attribute"], group=r["group"], value=None,
                               rows=int(min(r["members"], r["non_members"])), message=(
                f"{r['attribute']}={r['group']} has {r['members']} training and {r['non_members']} unseen rows "
                f"judged, fewer than {rep.min_group_size} on a side."), **common))
            continue
        ok = r["advantage"] <= params.max_advantage
        out.append(Finding(status="pass" if ok else params.severity, attribute=r["attribute"], group=r["group"],
                           value=float(r["advantage"]), ci=(float(r["advantage_low"]), float(r["advantage_high"])),
                           rows=int(r["members"] + r["non_members"]), message=(
            f"On {r['attribute']}={r['group']}'s rows the {s['attack']} attack has advantage {r['advantage']:.3f} "
            f"(AUC {r['auc']:.3f}); the policy allows {params.max_advantage:g}."), **common))
    return out


@register("attribute_inference", params=AttributeParams,
          summary="The model's output may not raise an attacker's accuracy at guessing a protected attribute by more "
                  "than `max_advantage` over the other features alone.")
def attribute(ctx: CheckContext, params: AttributeParams) -> list[Finding]:
    rep = ctx.analyses.get("attribute_inference")
    if rep is None:
        return _not_run(ctx, "attribute_inference", "attribute_inference", params,
                        "no attribute-inference attack ran: give the model (--model) and protected attributes in "
                        "the data")
    out = []
    for r in rep.table.to_dict(orient="records"):
        ok = r["advantage"] <= params.max_advantage
        out.append(Finding(
            check="attribute_inference", status="pass" if ok else params.severity, severity=params.severity,
            source=params.source, attribute=r["attribute"], metric="attribute_advantage", value=float(r["advantage"]),
            ci=(float(r["advantage_low"]), float(r["advantage_high"])), rows=int(r["rows"]),
            threshold={"max": params.max_advantage}, message=(
                f"From the other features alone an attacker guesses {r['attribute']} right {r['baseline']:.1%} of the "
                f"time; with the model's output, {r['attack']:.1%} (advantage {r['advantage']:.3f}; guessing the most "
                f"common value gives {r['majority']:.1%}); the policy allows {params.max_advantage:g}.")))
    return out


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


@register("extraction_resistance", params=ExtractionParams,
          summary="Copying the model to `agreement` through its endpoint must take an attacker at least `min_hours` "
                  "at the tier's throttle rate.")
def extraction(ctx: CheckContext, params: ExtractionParams) -> list[Finding]:
    rep = ctx.analyses.get("extraction")
    if rep is None:
        return _not_run(ctx, "extraction", "extraction_resistance", params,
                        "no extraction probe ran: give the model (--model)")
    common = dict(check="extraction_resistance", severity=params.severity, source=params.source,
                  metric="hours_to_copy", threshold={"agreement": params.agreement, "min_hours": params.min_hours})
    budgets = ", ".join(f"{b:,}" for b in rep.budgets)
    if rep.queries_needed is None:
        return [Finding(status="pass", value=None, message=(
            f"No surrogate reached {params.agreement:.0%} agreement with the model within {budgets} queries drawn "
            f"from its training profile (best {float(rep.summary['agreement'].max()):.1%})."), **common)]
    rate = rep.rate
    if rate is None:
        return [Finding(status=params.severity, value=0.0, message=(
            f"A copy agreeing with {params.agreement:.0%} of the model's decisions takes {rep.queries_needed:,} "
            "queries, and no throttle limits how fast they may come: set the guard's throttle."), **common)]
    hours = rep.time_needed_hours
    ok = hours >= params.min_hours
    return [Finding(status="pass" if ok else params.severity, value=hours, message=(
        f"A copy agreeing with {params.agreement:.0%} of the model's decisions takes {rep.queries_needed:,} queries: "
        f"{_duration(rep.time_needed_seconds)} for one caller key at the throttle's {rate:g} queries per second; the "
        f"policy asks for at least {params.min_hours:g} h." + ("" if ok else " Lower the throttle, watch for "
                                                               "extraction in monitoring, or accept the risk.")),
                    **common)]


@register("pii_in_features", params=PiiParams,
          summary="No column holding direct identifiers (e-mail, phone, card, IBAN, national id, IP address, date of "
                  "birth, names) may be a model feature; one in the audited data is a warning.")
def pii(ctx: CheckContext, params: PiiParams) -> list[Finding]:
    rep = ctx.analyses.get("pii")
    if rep is None:
        return _missing("pii_in_features", params,
                        "no PII scan ran: give the feature columns (--features) or the model (--model)")
    features = set(ctx.analyses.get("pii_features") or [])
    common = dict(check="pii_in_features", source=params.source, metric="identifier_share",
                  threshold={"min_share": params.min_share})
    out = []
    t = rep.table
    found = t[t["identifier"]] if len(t) else t
    for r in found.to_dict(orient="records"):
        feature = r["column"] in features
        status = params.severity if feature else "warn"
        out.append(Finding(status=status, severity=params.severity if feature else "warn", group=r["column"],
                           value=float(r["share"]), rows=int(r["checked"]), message=(
            f"Column {r['column']} holds {r['kind'].replace('_', ' ')} values ({r['matches']:,} of {r['checked']:,} "
            f"sampled values, {r['share']:.0%})" + (
                ": it is a model feature. A model should not read direct identifiers; drop it or replace it with "
                "what it stands for." if feature else
                "; it is not a feature, but it is in the audited data: keep it out of data and reports you "
                "share.")), **common))
    if not out:
        out.append(Finding(status="pass", severity=params.severity, value=None, rows=int(rep.sampled_rows), message=(
            f"No column of the {len(rep.columns_scanned)} scanned holds direct identifiers ({rep.sampled_rows:,} "
            "sampled rows)."), **common))
    return out


@register("reidentification", params=ReidentificationParams,
          summary="At most `max_share_below_k` of the audited records may sit in a class of fewer than `k` over the "
                  "quasi-identifiers (k-anonymity).")
def reidentification(ctx: CheckContext, params: ReidentificationParams) -> list[Finding]:
    rep = ctx.analyses.get("reidentification")
    if rep is None:
        return _not_run(ctx, "reidentification", "reidentification", params,
                        "no re-identification analysis ran: give the feature columns (--features) or the model "
                        "(--model)")
    qi = ", ".join(rep.quasi_identifiers)
    chosen = "" if params.quasi_identifiers else " (Steward's suggestion; declare them in the policy)"
    share = float(rep.share_below_k)
    ok = share <= params.max_share_below_k
    return [Finding(check="reidentification", status="pass" if ok else params.severity, severity=params.severity,
                    source=params.source, metric="share_below_k", value=share, rows=int(rep.rows),
                    threshold={"k": params.k, "max_share_below_k": params.max_share_below_k}, message=(
        f"Over the quasi-identifiers {qi}{chosen}, the smallest class has {rep.k_anonymity} record(s); "
        f"{rep.records_below_k:,} records ({share:.1%}) are in classes smaller than {params.k} and "
        f"{rep.unique_records:,} are unique; the policy allows {params.max_share_below_k:.1%} below k."
        + ("" if ok else " Someone who knows these facts about a person can single out their record: coarsen or "
                         "suppress the quasi-identifiers before the data or its tables leave the team.")))]
