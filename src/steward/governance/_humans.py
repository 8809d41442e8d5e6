"""Auditing the humans in the loop: the final decisions after review and appeal, held to the same group
metrics and policy checks as a model's audit, beside the model's own decisions; and the rates at which
reviewers overturn decisions and appeals succeed, by group, with intervals and a test against the
reference group.

No outcome is known for a logged decision (nobody yet knows who repaid), so the audits here judge the
decisions alone: favourable rates and the adverse impact ratio, and group sizes. ``steward.audit`` needs
a label column and refuses missing values, so a constant stand-in is passed and every label-based number
is left out; the policy's checks that need outcomes (error-rate ratios), a score (standardized mean
difference) or the model and its data (documentation, slices, probes, ...) are listed as not run, with why.

Override and appeal rates are compared with the reference group of each protected attribute by the
project's two-proportion test (:func:`steward.metrics.two_proportion_test`: Fisher's exact test when any
expected count of the 2×2 table is below 5, else the pooled z test, the same as the 2×2 chi-square test
without continuity correction) at the tier's alpha, and reported with Wilson intervals of each rate and
the Katz interval of their ratio. A rate ratio outside the four-fifths tolerance (0.80–1.25) that is
statistically significant fails; one that is not significant warns (as ``require_significance`` says).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from steward.audit._findings import BLOCKING, Finding, worst_first
from steward.audit._summary import format_p, pct
from steward.audit.checks._words import Speaker, capital
from steward.errors import StewardError, StewardWarning
from steward.metrics import katz_ratio_interval, newcombe_difference_interval, two_proportion_test, wilson_interval

__all__ = ["HumansAudit", "audit_decisions", "DECISION_CHECKS", "MEASURES"]

# The policy checks that read decisions alone: the ones an audit of logged decisions can evidence.
DECISION_CHECKS = ("adverse_impact_ratio", "group_size")
OUTCOME = "__no_outcome__"  # the stand-in label column (see the module's docstring)
NOT_RECORDED = "(not recorded)"
METHOD = ("No outcome is known for a logged decision, so the final decisions and the model's are compared by "
          "favourable rate and adverse impact ratio only (and group sizes); checks that need outcomes, a score or "
          "the model are not run. Override and appeal-success rates: Wilson intervals; each group against the "
          "reference by the two-proportion test (Fisher's exact test when an expected count is below 5, else the "
          "pooled z test, equal to the 2x2 chi-square test) and the Katz interval of the rate ratio; a ratio "
          "outside {lo:.2f}-{hi:.2f} fails when significant at alpha = {alpha:g}, else warns.")

# measure -> (events column, trials column, what is counted, judged)
MEASURES: dict[str, tuple[str, str, str, bool]] = {
    "reviewed": ("reviewed", "settled", "settled decisions a person reviewed", False),
    "adverse_overturned": ("adverse_overturned", "reviewed_adverse",
                           "reviewed adverse decisions of the model that reviewers made favourable", True),
    "favourable_overturned": ("favourable_overturned", "reviewed_favourable",
                              "reviewed favourable decisions of the model that reviewers made adverse", True),
    "appeal_success": ("appeals_overturned", "appeals_decided", "decided appeals that were overturned", True),
}
CHECK_OF = {"adverse_overturned": "review_overrides", "favourable_overturned": "review_overrides",
            "appeal_success": "appeal_outcomes"}


def _why_not(check: str) -> str:
    if check in ("false_positive_rate_ratio", "false_negative_rate_ratio"):
        return "needs observed outcomes (labels); logged decisions have none"
    if check == "standardized_mean_difference":
        return "needs a score; a person's decision has none"
    return "examines the model, its data or its documentation: it belongs to the model's own audit"


def _group_value(v: Any) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)) or str(v).strip() == "":
        return NOT_RECORDED
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def decisions_frame(rows: Sequence[Mapping[str, Any]], attributes: Sequence[str], favourable: int) -> pd.DataFrame:
    """One row per logged decision: its groups, the model's and the final decision, and 0/1 counts of
    what people did with it (reviewed, overturned, appealed)."""
    adverse = 1 - favourable
    recs = []
    for r in rows:
        prot = r.get("protected") or {}
        rec: dict[str, Any] = {a: _group_value(prot.get(a)) for a in attributes}
        model, review, final = r.get("model_decision"), r.get("review_decision"), r.get("final_decision")
        reviewed = bool(r.get("reviewed"))
        decided = [a for a in r.get("appeals") or [] if a.get("status") in ("upheld", "overturned")]
        rec.update(
            model_decision=model, final_decision=final,
            settled=int(r.get("settled_by") != "pending_review" and final is not None),
            reviewed=int(reviewed),
            reviewed_adverse=int(reviewed and model == adverse),
            adverse_overturned=int(reviewed and model == adverse and review == favourable),
            reviewed_favourable=int(reviewed and model == favourable),
            favourable_overturned=int(reviewed and model == favourable and review == adverse),
            appeals_decided=len(decided),
            appeals_overturned=sum(1 for a in decided if a["status"] == "overturned"))
        recs.append(rec)
    cols = list(attributes) + ["model_decision", "final_decision", "settled", "reviewed", "reviewed_adverse",
                               "adverse_overturned", "reviewed_favourable", "favourable_overturned",
                               "appeals_decided", "appeals_overturned"]
    return pd.DataFrame.from_records(recs, columns=cols)


@dataclass(frozen=True)
class HumansAudit:
    """The audit of decisions after review and appeal (see the module's docstring)."""

    deployment: str | None
    favourable: int
    counts: dict[str, int]
    final: Any  # AuditResult of the final decisions
    model: Any  # AuditResult of the model's decisions (None when no row has one)
    rates: dict[str, pd.DataFrame]
    findings: list[Finding]
    settings: dict[str, Any]
    not_run: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    window: dict[str, str | None] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """No failing (or not evidenced) finding on the final decisions, nor on reviewers and appeals."""
        blocking = [f for f in (self.final.findings or []) + self.findings if f.status in BLOCKING]
        return not blocking

    @property
    def method(self) -> str:
        s = self.settings
        return METHOD.format(lo=s["tolerance"], hi=1 / s["tolerance"], alpha=s["alpha"])

    def comparison(self) -> pd.DataFrame:
        """Per group: the model's and the final favourable rates and adverse impact ratios, side by side."""
        keep = ["attribute", "group", "reference", "rows", "favourable_rate", "favourable_rate_ci_low",
                "favourable_rate_ci_high", "adverse_impact_ratio", "adverse_impact_ratio_ci_low",
                "adverse_impact_ratio_ci_high", "favourable_rate_p_value", "too_small_to_judge"]
        final = self.final.groups[keep].rename(columns=lambda c: c if c in ("attribute", "group", "reference")
                                               else f"final_{c}")
        if self.model is None:
            return final
        model = self.model.groups[keep].drop(columns="reference").rename(
            columns=lambda c: c if c in ("attribute", "group") else f"model_{c}")
        return final.merge(model, on=["attribute", "group"], how="left")

    def to_dict(self) -> dict[str, Any]:
        def audit_part(r: Any) -> dict[str, Any] | None:
            if r is None:
                return None
            return {"rows": int(r.source.get("rows") or 0), "passed": r.passed,
                    "findings": [f.to_dict() for f in worst_first(r.findings or [])],
                    "references": r.references, "notes": r.notes}

        return {
            "deployment": self.deployment, "window": self.window, "favourable": self.favourable,
            "counts": self.counts, "passed": self.passed, "method": self.method, "settings": self.settings,
            "policy": None if self.final.policy is None else {k: self.final.policy.get(k) for k in
                                                              ("name", "version", "sha256", "tier")},
            "checks_run": list(self.final.policy["tier_rules"]["checks"]) if self.final.policy else [],
            "checks_not_run": self.not_run,
            "final_decisions": audit_part(self.final), "model_decisions": audit_part(self.model),
            "groups": _records(self.comparison()),
            "rates": {m: _records(frame) for m, frame in self.rates.items()},
            "findings": [f.to_dict() for f in worst_first(self.findings)], "notes": self.notes,
        }

    def summary(self) -> dict[str, Any]:
        """What a page shows: counts, the model's and the final favourable rates by group, each measure's rates
        with intervals and the reviewers' findings that are not passes (attribute by attribute, no intersections)."""
        groups = [r for r in _records(self.comparison(), json_safe=False) if "*" not in r["attribute"]]
        rates = [{"measure": m, "title": MEASURES[m][2],
                  "rows": [r for r in _records(f, json_safe=False) if r["trials"] and "*" not in r["attribute"]]}
                 for m, f in self.rates.items()]
        return {"counts": self.counts, "passed": self.passed, "groups": groups, "rates": rates,
                "findings": [f for f in worst_first(self.findings) if f.status in ("fail", "warn")],
                "final_findings": [f for f in worst_first(self.final.findings or []) if f.status in BLOCKING],
                "method": self.method}

    def text(self) -> str:
        """The report in plain words, for a terminal or a text file."""
        c, s = self.counts, self.settings
        when = " ".join(x for x in (f"from {self.window['since']}" if self.window.get("since") else "",
                                    f"until {self.window['until']}" if self.window.get("until") else "") if x)
        out = [f"Decisions after review: {self.deployment or 'logged decisions'}" + (f" ({when})" if when else ""),
               f"{c['logged']:,} logged decisions: {c['settled']:,} settled ({c['by_model']:,} by the model, "
               f"{c['by_review']:,} by a reviewer, {c['by_appeal']:,} on appeal), {c['pending']:,} still with a "
               f"reviewer (left out); {c['appeals']:,} appeals, {c['appeals_decided']:,} decided.", "",
               "How: " + self.method]
        if self.not_run:
            out.append("Not run: " + "; ".join(f"{k} ({v})" for k, v in self.not_run.items()) + ".")
        if self.final.policy is not None:
            out.append(f"Policy: {self.final.policy['name']} {self.final.policy['version']}, tier "
                       f"{self.final.policy['tier']}.")
        out += ["", "Favourable rate and adverse impact ratio (AIR) by group, the model's decisions -> the final ones:"]
        for r in _records(self.comparison(), json_safe=False):
            ref = " (reference)" if r["group"] == r["reference"] else ""
            model = (f"{pct(r.get('model_favourable_rate'))}, AIR {_num(r.get('model_adverse_impact_ratio'))}"
                     if "model_favourable_rate" in r else "-")
            small = "  [too small to judge]" if r.get("final_too_small_to_judge") else ""
            ci = ("" if ref else f" [{_num(r['final_adverse_impact_ratio_ci_low'])}-"
                                 f"{_num(r['final_adverse_impact_ratio_ci_high'])}]")
            out.append(f"  {r['attribute']}={r['group']}{ref}: {r['final_rows']:,} decisions; model {model} -> "
                       f"final {pct(r['final_favourable_rate'])}, AIR {_num(r['final_adverse_impact_ratio'])}{ci}"
                       + small)
        for title, r in (("final decisions", self.final), ("model's decisions", self.model)):
            bad = [f for f in worst_first((r.findings or []) if r is not None else []) if f.status != "pass"]
            if r is not None and r.findings is not None:
                verdict = "PASSED" if r.passed else "FAILED"
                out += ["", f"Policy checks on the {title}: {verdict}"]
                out += [f"  {f.status.upper()}: {f.message}" for f in bad] or ["  every check passed"]
        out += ["", f"Reviewers and appeals by group ({s['confidence']:.0%} Wilson intervals; ratio to the reference "
                    f"with its Katz interval):"]
        for m, frame in self.rates.items():
            out.append(f"  {MEASURES[m][2]}:" + ("" if frame["trials"].sum() else " none"))
            for r in _records(frame, json_safe=False):
                if not r["trials"]:
                    continue
                vs = "" if r["is_reference"] else (
                    f"; ratio {_num(r['ratio'])} [{_num(r['ratio_ci_low'])}-{_num(r['ratio_ci_high'])}]"
                    if r["ratio"] is not None else "; ratio undefined (both rates are 0)")
                vs += "" if r["is_reference"] else f", {format_p(_nan(r['p_value']))}"
                out.append(f"    {r['attribute']}={r['group']}{' (reference)' if r['is_reference'] else ''}: "
                           f"{r['events']:,} of {r['trials']:,} = {pct(r['rate'])} [{pct(r['ci_low'])}-"
                           f"{pct(r['ci_high'])}]{vs}" + ("  [too few to judge]" if r["too_small"] else ""))
        bad = [f for f in worst_first(self.findings) if f.status in ("fail", "warn")]
        out += ["", "Findings on reviewers and appeals:"]
        out += [f"  {f.status.upper()}: {f.message}" for f in bad] or [
            "  none: no group's decisions were overturned, nor its appeals successful, at a rate outside the tolerance"]
        out += [f"Note: {n}" for n in self.notes]
        out += ["", "PASSED" if self.passed else "FAILED: see the failing findings above"]
        return "\n".join(out)


def _nan(x: Any) -> float:
    return float("nan") if x is None else float(x)


def _num(x: Any) -> str:
    x = _nan(x)
    return "undefined" if not np.isfinite(x) else ("inf" if np.isinf(x) else f"{x:.2f}")


def _records(frame: pd.DataFrame, json_safe: bool = True) -> list[dict[str, Any]]:
    """Rows as dicts of plain values; NaN (and, for JSON, infinity) as None."""
    out = []
    for r in frame.to_dict(orient="records"):
        out.append({k: (None if isinstance(v, float) and (np.isnan(v) or (json_safe and np.isinf(v))) else
                        v.item() if isinstance(v, np.generic) else v) for k, v in r.items()})
    return out


def _decisions_policy(policy: Any, tier: str | None, card_info: Any) -> tuple[Any, Any, dict[str, str]]:
    """The policy with the tier's checks cut to those that read decisions alone; the tier; what was cut."""
    from steward.audit._gate import resolve_tier
    from steward.audit.card import load_card_info
    from steward.audit.policy import load_policy

    pol = load_policy(policy)
    chosen, _ = resolve_tier(pol, tier, load_card_info(card_info))
    kept = {k: v for k, v in chosen.checks.items() if k in DECISION_CHECKS}
    cut = {k: _why_not(k) for k in chosen.checks if k not in DECISION_CHECKS}
    narrowed = dataclasses.replace(chosen, checks=kept)
    return dataclasses.replace(pol, tiers={**pol.tiers, chosen.name: narrowed}), narrowed, cut


def _audit(frame: pd.DataFrame, column: str, protected: dict[str, str | None], favourable: int, policy: Any,
           tier: str | None, card_info: Any, settings: dict[str, Any]) -> Any:
    import steward

    data = frame[list(protected)].copy()
    data[column] = frame[column].astype(int)
    data[OUTCOME] = 0
    kw: dict[str, Any] = ({"policy": policy, "tier": tier} if policy is not None else
                          {"min_group_size": settings["min_group_size"], "confidence": settings["confidence"]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StewardWarning)  # the notes are in the result
        return steward.audit(data, label=OUTCOME, prediction=column, favourable=favourable, protected=protected,
                             card_info=card_info, intersections=settings["intersections"], engine="numpy", **kw)


def _rates(frame: pd.DataFrame, references: list[dict[str, Any]], settings: dict[str, Any]) -> dict[str, pd.DataFrame]:
    """Each measure's events and trials per group, with Wilson intervals, and against the reference: ratio
    (Katz interval), difference (Newcombe interval), two-proportion test."""
    conf = settings["confidence"]
    needed = list(dict.fromkeys(c for events, trials, _, _ in MEASURES.values() for c in (events, trials)))
    parts: dict[str, list[pd.DataFrame]] = {m: [] for m in MEASURES}
    for ref in references:
        cols = ref["attribute"].split("*")
        grouped = frame.groupby(cols, sort=True)[needed].sum()
        names = ["*".join(map(str, g)) if isinstance(g, tuple) else str(g) for g in grouped.index]
        grouped.index = names
        grouped = grouped.loc[sorted(names, key=lambda g: (g != ref["group"], g))]
        for m, (events, trials, _, _) in MEASURES.items():
            parts[m].append(_compare(grouped[events].to_numpy(float), grouped[trials].to_numpy(float),
                                     list(grouped.index), ref, conf, settings["min_group_size"]))
    return {m: pd.concat(p, ignore_index=True) for m, p in parts.items()}


def _compare(x: np.ndarray, n: np.ndarray, groups: list[str], ref: dict[str, Any], conf: float,
             min_size: int) -> pd.DataFrame:
    """Rates of ``x`` in ``n`` per group (the reference first when it occurs) against the reference's."""
    has_ref = bool(groups) and groups[0] == ref["group"]
    xr = np.full_like(x, x[0] if has_ref else np.nan)
    nr = np.full_like(n, n[0] if has_ref else np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate, ref_rate = x / n, xr / nr
        ratio = np.where(ref_rate > 0, rate / ref_rate, np.where(rate > 0, np.inf, np.nan))
    lo, hi = wilson_interval(x, n, conf)
    rlo, rhi = katz_ratio_interval(x, n, xr, nr, conf)
    dlo, dhi = newcombe_difference_interval(x, n, xr, nr, conf)
    p, test = two_proportion_test(x, n, np.nan_to_num(xr), np.nan_to_num(nr))
    is_ref = np.array([g == ref["group"] for g in groups], dtype=bool)
    small = (n < min_size) | ~(nr >= min_size)
    part = pd.DataFrame({
        "attribute": ref["attribute"], "group": groups, "reference": ref["group"],
        "is_reference": is_ref, "events": x.astype(int), "trials": n.astype(int), "rate": rate,
        "ci_low": lo, "ci_high": hi, "ratio": ratio, "ratio_ci_low": rlo, "ratio_ci_high": rhi,
        "difference": rate - ref_rate, "difference_ci_low": dlo, "difference_ci_high": dhi,
        "p_value": p, "test": test, "too_small": small})
    for col in ("ratio", "ratio_ci_low", "ratio_ci_high", "difference", "difference_ci_low",
                "difference_ci_high", "p_value"):
        part.loc[part["is_reference"], col] = np.nan
    part.loc[part["is_reference"], "test"] = ""
    return part


def _findings(rates: dict[str, pd.DataFrame], settings: dict[str, Any], speaker: Speaker) -> list[Finding]:
    tol, alpha = settings["tolerance"], settings["alpha"]
    lo_b, hi_b = tol, 1 / tol
    fav, adv = speaker.given(speaker.favourable), speaker.given(1 - speaker.favourable)
    out = []
    for m, frame in rates.items():
        if not MEASURES[m][3]:
            continue
        for r in _records(frame, json_safe=False):
            if r["is_reference"] or not r["trials"]:
                continue
            who, ref_who = speaker.who(r["attribute"], r["group"]), speaker.who(r["attribute"], r["reference"])
            ref_row = frame[(frame["attribute"] == r["attribute"]) & frame["is_reference"]]
            xr, nr = (int(ref_row["events"].iat[0]), int(ref_row["trials"].iat[0])) if len(ref_row) else (0, 0)
            ref_rate = xr / nr if nr else None
            if m == "adverse_overturned":
                head = (f"Of the model's adverse decisions ({adv}) that a person reviewed, reviewers overturned "
                        f"{pct(r['rate'])} for {who} ({r['events']} of {r['trials']}) against {pct(ref_rate)} for "
                        f"{ref_who} ({xr} of {nr})")
            elif m == "favourable_overturned":
                head = (f"Of the model's favourable decisions ({fav}) that a person reviewed, reviewers made "
                        f"{pct(r['rate'])} adverse for {who} ({r['events']} of {r['trials']}) against "
                        f"{pct(ref_rate)} for {ref_who} ({xr} of {nr})")
            else:
                head = (f"Appeals succeeded (the decision was overturned) for {pct(r['rate'])} of {who} "
                        f"({r['events']} of {r['trials']} decided appeals) against {pct(ref_rate)} of {ref_who} "
                        f"({xr} of {nr})")
            test = {"fisher": "Fisher's exact test", "z": "two-proportion z test"}.get(r["test"], "no test")
            ci = (r["ratio_ci_low"], r["ratio_ci_high"])
            stats = (f"rate ratio {_num(r['ratio'])}, {settings['confidence']:.0%} interval {_num(ci[0])}-"
                     f"{_num(ci[1])}; {test}, {format_p(_nan(r['p_value']))}")
            p = _nan(r["p_value"])
            significant = None if not np.isfinite(p) else bool(p < alpha)
            ratio = _nan(r["ratio"])
            breach = bool(np.isinf(ratio) or (np.isfinite(ratio) and not lo_b <= ratio <= hi_b))
            if r["too_small"]:
                status, verdict = "insufficient_data", (f"Too few to judge: each side needs at least "
                                                        f"{settings['min_group_size']}.")
            elif not breach:
                status, verdict = "pass", f"Within the tolerance of {lo_b:.2f}-{hi_b:.2f}."
            elif significant or not settings["require_significance"]:
                status = "fail"
                verdict = (f"Outside the tolerance of {lo_b:.2f}-{hi_b:.2f} and statistically significant: people "
                           f"treat this group's decisions differently.")
            else:
                status, verdict = "warn", (f"Outside the tolerance of {lo_b:.2f}-{hi_b:.2f}, but not statistically "
                                           f"significant at alpha = {alpha:g}.")
            out.append(Finding(
                check=CHECK_OF[m], status=status, severity="fail", attribute=r["attribute"], group=r["group"],
                reference=r["reference"], metric=f"{m}_rate_ratio", value=None if not np.isfinite(ratio) else ratio,
                ci=ci if None not in ci else None, p_value=None if not np.isfinite(p) else p, significant=significant,
                threshold={"min": lo_b, "max": hi_b, "alpha": alpha}, rows=r["trials"],
                message=f"{capital(head)} ({stats}). {verdict}",
                source="Four-fifths tolerance applied to rate ratios (29 CFR 1607.4(D)); 1.25 = 1/0.8"))
    return out


def audit_decisions(rows: Sequence[Mapping[str, Any]], *, protected: Mapping[str, str | None] | Sequence[str],
                    favourable: int | None = None, policy: Any = None, tier: str | None = None, card_info: Any = None,
                    intersections: bool = True, tolerance: float = 0.8, deployment: str | None = None,
                    window: Mapping[str, str | None] | None = None) -> HumansAudit:
    """Audit the final decisions of ``rows`` (as :meth:`Registry.decision_outcomes` gives them) beside the
    model's, and the reviewers' override and appeal-success rates by group.

    ``protected`` names the attributes the guard recorded (``{"sex": "Male"}``, or names alone for the
    largest group as reference). With ``policy`` (and ``tier``, else the card info's risk answers choose),
    the decisions are held to the tier's checks that read decisions alone, at its confidence, minimum group
    size and alpha; without one, at 95 %, 30 and 0.05."""
    from steward.data import parse_protected

    rescores = sum(1 for r in rows if r.get("appeal_of"))
    rows = [r for r in rows if not r.get("appeal_of")]  # an appeal's re-scoring is part of that appeal
    if not rows:
        raise StewardError("no logged decisions in this window; nothing to audit")
    prot = {p.column: p.reference for p in parse_protected(protected)}
    fav = int(favourable if favourable is not None else rows[0].get("favourable", 1))
    if not 0 < tolerance <= 1:
        raise StewardError(f"tolerance must be in (0, 1] (0.8 is the four-fifths rule), got {tolerance!r}")
    frame = decisions_frame(rows, list(prot), fav)
    settings: dict[str, Any] = {"confidence": 0.95, "min_group_size": 30, "alpha": 0.05, "require_significance": True,
                                "tolerance": tolerance, "intersections": intersections}
    not_run: dict[str, str] = {}
    narrowed = chosen = None
    if policy is not None or tier is not None:
        narrowed, chosen, not_run = _decisions_policy(policy, tier, card_info)
        settings.update(confidence=chosen.confidence, min_group_size=chosen.min_group_size, alpha=chosen.alpha,
                        require_significance=chosen.require_significance)
    settled = frame[frame["settled"] == 1]
    if settled.empty:
        raise StewardError("every logged decision in this window is still with a reviewer; no final decision to audit")
    tier_name = chosen.name if chosen is not None else None
    final = _audit(settled, "final_decision", prot, fav, narrowed, tier_name, card_info, settings)
    with_model = settled[settled["model_decision"].notna()]
    model = (None if with_model.empty else
             _audit(with_model, "model_decision", prot, fav, narrowed, tier_name, card_info, settings))
    notes = list(final.notes)
    if len(with_model) < len(settled):
        notes.append(f"{len(settled) - len(with_model):,} settled decisions had no model decision (the kill switch "
                     f"or a failed model answered); they are in the final decisions' audit only")
    if rescores:
        notes.append(f"{rescores:,} re-scorings of appealed decisions were left out: each is part of its appeal, "
                     f"not a decision about another person")
    missing = {a: int((frame[a] == NOT_RECORDED).sum()) for a in prot}
    notes += [f"{n:,} decisions did not record {a!r}; they form the group {NOT_RECORDED!r}"
              for a, n in missing.items() if n]
    rates = _rates(settled, final.references, settings)
    speaker = Speaker(final.card.wording if final.card is not None else None, fav)
    counts = {"logged": len(frame), "settled": len(settled), "pending": int(len(frame) - len(settled)),
              "by_model": sum(1 for r in rows if r.get("settled_by") == "model"),
              "by_review": sum(1 for r in rows if r.get("settled_by") == "review"),
              "by_appeal": sum(1 for r in rows if r.get("settled_by") == "appeal"),
              "reviewed": int(frame["reviewed"].sum()),
              "appeals": sum(len(r.get("appeals") or []) for r in rows),
              "appeals_decided": int(frame["appeals_decided"].sum())}
    return HumansAudit(deployment=deployment, favourable=fav, counts=counts, final=final, model=model, rates=rates,
                       findings=_findings(rates, settings, speaker), settings=settings, not_run=not_run, notes=notes,
                       window=dict(window or {}))
