"""The gate: hold an audit to a policy tier, collect the findings, and decide pass or fail."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from steward.audit._findings import Finding
from steward.audit.card import CardInfo, load_card_info
from steward.audit.checks import CHECKS, CheckContext
from steward.audit.policy import Policy, Tier, load_policy
from steward.errors import PolicyError

__all__ = ["evaluate", "resolve_tier", "evidenced"]


def resolve_tier(policy: Policy, tier: str | None, card: CardInfo | None) -> tuple[Tier, str]:
    """The tier named, else the one the card's risk answers lead to; and why."""
    if tier is not None:
        return policy.tier(tier), f"tier {tier!r} was given"
    if card is not None and card.risk is not None:
        return policy.assign_tier(card.risk)
    raise PolicyError(
        f"say which risk tier of the policy applies: give --tier ({', '.join(policy.tiers)}), or answer the risk "
        f"questions under risk: in the card-info file so the policy assigns one"
    )


def evidenced(name: str, params: Any, findings: list[Finding]) -> list[Finding]:
    """Missing evidence is not a pass: a required check that produced no finding, or only findings
    that do not apply (without the policy itself putting them out of scope), is ``not_evidenced``.
    An ``optional`` check that could not run is reported as not applicable instead."""
    if params.optional:
        return [dataclasses.replace(f, status="not_applicable") if f.status == "not_evidenced" else f for f in findings]
    if not findings:
        return [Finding(check=name, status="not_evidenced", severity=params.severity, source=params.source,
                        needs="inputs on which the check produces a value",
                        message="The policy requires this check, but it produced no evidence.")]
    if all(f.status in ("not_applicable", "insufficient_data") and f.exempt_by is None for f in findings):
        # nothing was judged: every value undefined, or every group too small to judge
        return [dataclasses.replace(
            f, status="not_evidenced",
            needs=f.needs or ("more people in each group" if f.status == "insufficient_data"
                              else "data on which the value is defined"),
            message=f"{f.message} The policy requires this check, so it is not evidenced.") for f in findings]
    return findings


def evaluate(
    result: Any,
    policy: Policy | str | Path | None = None,
    *,
    tier: str | None = None,
    card_info: CardInfo | dict | str | Path | None = None,
) -> Any:
    """Run every check a policy tier requires on an audit result; return the result with its findings.

    The tier's minimum group size and confidence level apply: when the result was computed with
    others, its metrics are recomputed from the stored cell statistics first (no data pass).

    Parameters
    ----------
    result : AuditResult
    policy : Policy, path, or None for the policy shipped with Steward
    tier : str, optional
        The tier's name; without it the card-info file's ``risk:`` answers choose the tier.
    card_info : CardInfo, dict or path of the card-info YAML, optional

    Returns
    -------
    AuditResult
        With ``findings``, ``passed`` and ``policy`` filled in.
    """
    from steward.audit._run import result_from_cells

    policy = load_policy(policy)
    card = load_card_info(card_info)
    chosen, reason = resolve_tier(policy, tier, card)
    s, previous = result.settings, result
    if (s["min_group_size"], s["confidence"]) != (chosen.min_group_size, chosen.confidence):
        result = result_from_cells(result.cells, result.roles, source_info=result.source,
                                   intersections=s["intersections"], min_group_size=chosen.min_group_size,
                                   confidence=chosen.confidence, engine=s["engine"])
        result = dataclasses.replace(result, analyses=previous.analyses, model=previous.model)
    ctx = CheckContext(result=result, tier=chosen, card=card, analyses=result.analyses)
    findings = []
    for name, params in chosen.checks.items():
        findings.extend(evidenced(name, params, CHECKS[name].run(ctx, params)))
    info = {**policy.to_dict(), "tier": chosen.name, "tier_reason": reason, "tier_rules": chosen.to_dict(),
            "incident_checklist": list(policy.incident_checklist)}
    return dataclasses.replace(result, findings=findings, policy=info, card=card)
