"""Checks on a model's explanations: reason codes never cite a protected attribute or a flagged proxy
and every adverse decision has a reason; a declared monotonicity holds; top reasons are stable."""

from __future__ import annotations

from pydantic import Field

from steward.audit._findings import Finding
from steward.audit.checks._models import _missing
from steward.audit.checks._registry import CheckContext, CheckParams, register

__all__ = ["ReasonCodeParams", "MonotonicityParams", "StabilityParams"]


class ReasonCodeParams(CheckParams):
    proxies: list[str] = Field(default_factory=list)  # columns flagged as proxies of a protected attribute
    max_without_reason: float = Field(default=0.0, ge=0, le=1)  # share of adverse decisions with no reason


class MonotonicityParams(CheckParams):
    max_violating_share: float = Field(default=0.0, ge=0, le=1)


class StabilityParams(CheckParams):
    min_top1_agreement: float = Field(default=0.8, ge=0, le=1)  # top reason unchanged under small input noise


def _skipped(ctx: CheckContext, check: str, params: CheckParams, what: str) -> list[Finding]:
    why = ctx.analyses.get("explanations_skipped")
    return _missing(check, params, f"the model was not explained ({why})" if why else what)


@register("reason_codes", params=ReasonCodeParams,
          summary="Reason codes never cite a protected attribute or flagged proxy; every adverse decision has one.")
def reason_codes(ctx: CheckContext, params: ReasonCodeParams) -> list[Finding]:
    exp = ctx.analyses.get("explanations")
    codes = None if exp is None else exp.reasons
    if codes is None:
        return _skipped(ctx, "reason_codes", params, "no reason codes were made: give the model (--model) and the "
                                                     "reviewed reason texts (--reasons)")
    common = dict(check="reason_codes", severity=params.severity, source=params.source)
    forbidden = set(ctx.result.roles.attributes) | set(params.proxies)
    cited = codes.cited
    bad = sorted(str(f) for f in cited.index if f in forbidden)
    out = []
    if bad:
        out.append(Finding(status=params.severity, metric="cites_protected", value=float(cited[bad].sum()),
                           message=(f"Reason codes cite {', '.join(bad)}, a protected attribute or flagged proxy, "
                                    f"{int(cited[bad].sum()):,} times; list them under never_cite."), **common))
    rows = codes.rows
    adverse = rows[rows["adverse"]]
    without = float(adverse["reason_1"].isna().mean()) if len(adverse) else 0.0
    if without > params.max_without_reason:
        out.append(Finding(status=params.severity, metric="adverse_without_reason", value=without, rows=len(adverse),
                           threshold={"max": params.max_without_reason},
                           message=(f"{without:.1%} of {len(adverse):,} adverse decisions have no citable reason: "
                                    f"every feature pushing them toward the adverse side is protected or excluded. "
                                    f"A person refused must be told the principal reasons.")))
    used = sorted(set(codes.shapley.features) & forbidden)
    if used:
        out.append(Finding(status="warn", severity="warn", check="reason_codes", source=params.source,
                           metric="protected_inputs", value=float(len(used)),
                           message=(f"The model reads {', '.join(used)} (protected or flagged as a proxy). Reason codes "
                                    f"never cite them, but using them to decide is disparate treatment unless the law "
                                    f"allows it; the report's importance chart shows how much they weigh.")))
    if not any(f.status == params.severity for f in out):
        out.insert(0, Finding(status="pass", metric="cites_protected", value=0.0, rows=len(rows), message=(
            f"Reason codes for {len(adverse):,} adverse decisions cite only reviewed texts; none cites "
            f"{', '.join(sorted(forbidden)) or 'a protected attribute'}, and "
            f"{1 - without:.1%} of adverse decisions have at least one reason."), **common))
    return out


@register("monotonicity", params=MonotonicityParams,
          summary="The model's score moves only in each declared direction (share of violating rows at most `max_violating_share`).")
def monotonicity(ctx: CheckContext, params: MonotonicityParams) -> list[Finding]:
    exp = ctx.analyses.get("explanations")
    rep = None if exp is None else exp.monotonicity
    if rep is None:
        return _skipped(ctx, "monotonicity", params, "no monotonicity check ran: give the declared directions (--monotone)")
    out = []
    for rec in rep.table.to_dict(orient="records"):
        ok = rec["share"] <= params.max_violating_share
        msg = (f"{rec['feature']} is declared {rec['direction']}: " +
               ("the score never moves the other way on a grid of its range" if rec["violating_rows"] == 0 else
                f"the score moves the other way for {rec['violating_rows']:,} of {rec['rows']:,} rows checked "
                f"(largest wrong-way step {rec['worst']:.4g}; e.g. row {rec['example']})") + ".")
        out.append(Finding(check="monotonicity", status="pass" if ok else params.severity, severity=params.severity,
                           source=params.source, attribute=rec["feature"], metric="violating_share",
                           value=rec["share"], rows=rec["rows"], threshold={"max": params.max_violating_share},
                           message=msg))
    return out


@register("explanation_stability", params=StabilityParams,
          summary="The top reason stays the same for at least `min_top1_agreement` of rows under small input noise.")
def explanation_stability(ctx: CheckContext, params: StabilityParams) -> list[Finding]:
    exp = ctx.analyses.get("explanations")
    q = None if exp is None else exp.quality
    if q is None:
        what = ("the model was not explained: give it (--model) with its feature columns (--features)" if exp is None
                else "its Shapley values are sampling estimates, whose own noise would be measured as instability; "
                     "stability is measured for exact explanations (tree, linear and additive models)")
        return _skipped(ctx, "explanation_stability", params, what)
    agree = q.noise["top1_agreement"]
    ok = agree >= params.min_top1_agreement
    return [Finding(check="explanation_stability", status="pass" if ok else params.severity, severity=params.severity,
                    source=params.source, metric="top1_agreement", value=agree, rows=q.rows,
                    threshold={"min": params.min_top1_agreement},
                    message=(f"Under input noise of {q.noise['scale']} standard deviations the top reason stays the "
                             f"same for {agree:.1%} of {q.rows:,} rows; the policy requires "
                             f"{params.min_top1_agreement:.0%}." + ("" if ok else " Explanations this unstable should "
                                                                                  "not be sent to people as reasons.")))]
