"""The registry's reading of an uploaded report's privacy findings: each must follow from the report's own probe
(its strongest attack, every judged group, the tier's settings the probe had to use), not from the client's word.

What cannot be checked without re-running a probe: a probe table fabricated so that all its numbers agree.
A validator's reproduction (``steward reproduce``) re-runs the probes; this module closes the cheaper holes: a
finding that quotes the wrong row of its analysis, drops a judged group, calls a judged group too small, or an
analysis computed with settings other than the registry's policy."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["privacy_follows", "complete"]

_TOL = dict(rel_tol=1e-9, abs_tol=1e-10)


def _fail(message: str) -> None:
    from steward.governance._evidence import EvidenceError

    raise EvidenceError(message)


def _num(x: Any) -> float | None:
    return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) else None


def _same(a: Any, b: Any) -> bool:
    a, b = _num(a), _num(b)
    return a is not None and b is not None and math.isclose(a, b, **_TOL)


def _membership(fid: str, f: dict[str, Any], analysis: dict[str, Any], min_group_size: int) -> None:
    attacks = [a for a in analysis.get("attacks") or [] if isinstance(a, dict) and a.get("attack") != "baseline"
               and _num(a.get("advantage")) is not None]
    if not attacks:
        _fail(f"finding {fid}: the report's membership analysis has no attack with an advantage")
    strongest = max(attacks, key=lambda a: a["advantage"])
    mgs = _num(analysis.get("min_group_size"))
    if mgs is None or mgs > min_group_size:
        _fail(f"finding {fid}: the membership analysis judged groups of at least {analysis.get('min_group_size')!r} "
              f"rows, not the tier's {min_group_size}")
    if f.get("attribute") is None:
        if f["status"] in ("pass", "fail", "warn") and not _same(f.get("value"), strongest["advantage"]):
            _fail(f"finding {fid}: its value {f.get('value')!r} is not the strongest attack's advantage "
                  f"({strongest['attack']}: {strongest['advantage']!r})")
        return
    rows = [g for g in analysis.get("groups") or [] if isinstance(g, dict) and g.get("attack") == strongest["attack"]
            and str(g.get("attribute")) == str(f["attribute"]) and str(g.get("group")) == str(f.get("group"))]
    if not rows:
        _fail(f"finding {fid}: the membership analysis has no row for {f['attribute']}={f.get('group')}")
    g = rows[0]
    small = min(_num(g.get("members")) or 0, _num(g.get("non_members")) or 0) < min_group_size
    if f["status"] == "insufficient_data" and not small:
        _fail(f"finding {fid} says insufficient_data but {f['attribute']}={f.get('group')} has {g.get('members')} and "
              f"{g.get('non_members')} rows, enough to judge")
    if f["status"] in ("pass", "fail", "warn") and not _same(f.get("value"), g.get("advantage")):
        _fail(f"finding {fid}: its value {f.get('value')!r} is not the {strongest['attack']} attack's advantage on "
              f"{f['attribute']}={f.get('group')}")


def _attribute(fid: str, f: dict[str, Any], analysis: dict[str, Any]) -> None:
    rows = [r for r in analysis.get("attributes") or [] if isinstance(r, dict)
            and str(r.get("attribute")) == str(f.get("attribute"))]
    if not rows:
        _fail(f"finding {fid}: the attribute-inference analysis did not attack {f.get('attribute')!r}")
    if not _same(f.get("value"), rows[0].get("advantage")):
        _fail(f"finding {fid}: its value {f.get('value')!r} is not the advantage the analysis found for "
              f"{f.get('attribute')} ({rows[0].get('advantage')!r})")


def _extraction(fid: str, f: dict[str, Any], analysis: dict[str, Any], params: Any, throttle: dict[str, Any]) -> None:
    if not _same(analysis.get("agreement_target"), params.agreement):
        _fail(f"finding {fid}: the extraction probe aimed at agreement {analysis.get('agreement_target')!r}, not the "
              f"policy's {params.agreement:g}")
    budgets = [int(b.get("budget")) for b in analysis.get("summary") or [] if isinstance(b, dict) and
               _num(b.get("budget")) is not None]
    if sorted(budgets) != sorted(int(b) for b in params.budgets):
        _fail(f"finding {fid}: the extraction probe tried budgets {budgets}, not the policy's {list(params.budgets)}")
    rate, burst = _num(throttle.get("rate")), _num(throttle.get("burst")) or 0.0
    if not (_same(analysis.get("rate"), rate) if rate is not None else analysis.get("rate") is None):
        _fail(f"finding {fid}: the extraction probe read the throttle rate {analysis.get('rate')!r}, not the tier's "
              f"{rate!r}")
    q = analysis.get("queries_needed")
    if q is None:
        if f["status"] != "pass":
            _fail(f"finding {fid} says {f['status']} but no copy reached the target in the report's probe")
        return
    if _num(q) is None or int(q) not in budgets:
        _fail(f"finding {fid}: queries_needed {q!r} is not one of the budgets tried")
    if f["status"] == "pass" and f.get("value") is None:
        _fail(f"finding {fid} says pass without a value, but the report's probe copied the model with {q} queries")
    hours = 0.0 if rate is None else max(0.0, float(q) - burst) / rate / 3600
    if not _same(f.get("value"), hours) and not (hours == 0 and f.get("value") == 0):
        _fail(f"finding {fid}: {q} queries at the tier's throttle take {hours:.6g} h, not {f.get('value')!r}")


def _reidentification(fid: str, f: dict[str, Any], analysis: dict[str, Any], params: Any) -> None:
    if _num(analysis.get("k")) != params.k:
        _fail(f"finding {fid}: the re-identification analysis used k = {analysis.get('k')!r}, not the policy's "
              f"{params.k}")
    qi = analysis.get("quasi_identifiers")
    if not isinstance(qi, list) or not qi:
        _fail(f"finding {fid}: the re-identification analysis names no quasi-identifiers")
    if params.quasi_identifiers and sorted(map(str, qi)) != sorted(map(str, params.quasi_identifiers)):
        _fail(f"finding {fid}: the analysis grouped by {', '.join(map(str, qi))}, not the policy's "
              f"quasi-identifiers {', '.join(params.quasi_identifiers)}")
    rows, below = _num(analysis.get("rows")), _num(analysis.get("records_below_k"))
    if not rows or below is None or not _same(analysis.get("share_below_k"), below / rows):
        _fail(f"finding {fid}: the analysis's share below k is not its records below k over its rows")


def privacy_follows(check: str, fid: str, f: dict[str, Any], params: Any, analysis: Any,
                    context: dict[str, Any]) -> None:
    """Refuse (EvidenceError) a privacy finding that does not follow from its analysis and the tier's settings.
    ``context``: ``min_group_size`` and ``throttle`` of the registry's tier."""
    if not isinstance(analysis, dict):
        return  # no analysis: the caller refuses a judged finding without one
    if check == "membership_inference":
        _membership(fid, f, analysis, int(context.get("min_group_size") or 30))
    elif check == "attribute_inference" and f["status"] in ("pass", "fail", "warn"):
        _attribute(fid, f, analysis)
    elif check == "extraction_resistance" and f["status"] in ("pass", "fail", "warn"):
        _extraction(fid, f, analysis, params, context.get("throttle") or {})
    elif check == "reidentification" and f["status"] in ("pass", "fail", "warn"):
        _reidentification(fid, f, analysis, params)


def complete(check: str, claimed: list[dict[str, Any]], analysis: Any) -> None:
    """A membership report must judge every group row of its strongest attack, and an attribute-inference report
    every attribute it attacked: a dropped one is refused."""
    if not isinstance(analysis, dict):
        return
    if check == "attribute_inference":
        have = {str(f.get("attribute")) for f in claimed}
        for r in analysis.get("attributes") or []:
            if isinstance(r, dict) and str(r.get("attribute")) not in have:
                _fail(f"the report's attribute-inference analysis attacked {r.get('attribute')}, but no finding judges it")
        return
    if check != "membership_inference":
        return
    attacks = [a for a in analysis.get("attacks") or [] if isinstance(a, dict) and a.get("attack") != "baseline"
               and _num(a.get("advantage")) is not None]
    if not attacks:
        return
    strongest = max(attacks, key=lambda a: a["advantage"])["attack"]
    have = {(str(f.get("attribute")), str(f.get("group"))) for f in claimed if f.get("attribute") is not None}
    for g in analysis.get("groups") or []:
        if isinstance(g, dict) and g.get("attack") == strongest and (str(g.get("attribute")), str(g.get("group"))) \
                not in have:
            _fail(f"the report's membership analysis has {g.get('attribute')}={g.get('group')}, but no finding "
                  f"judges it")
    if not any(f.get("attribute") is None for f in claimed):
        _fail("the report's membership findings lack the overall one (the strongest attack on every row)")

