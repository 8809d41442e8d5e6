"""What the pages show, worked out from the registry's dicts (no HTML here, no database).

Verdicts, findings worst first (with who derived each), who has signed off the latest audit, what
still blocks approval, the checks an executive may accept, reproductions, the risk answers and the
trail in plain words, and the model card's Markdown as safe HTML.
"""

from __future__ import annotations

import json
from typing import Any

from markupsafe import Markup

from steward.audit import STATUSES
from steward.audit._findings import BLOCKING

__all__ = ["BLOCKING", "DERIVED_BY", "STATUS_ORDER", "acceptable_checks", "blockers", "card_html", "findings_view",
           "reproduction_view", "risk_answers", "sign_off_view", "signer_roles", "trail_text", "verdict"]

# Worst first, as the audit orders its findings: fail, not_evidenced, warn, insufficient_data, ...
STATUS_ORDER = {status: i for i, status in enumerate(STATUSES)}

# Who stands behind a stored finding (``derived_by``): (the mark on the page, its full meaning).
DERIVED_BY = {
    "registry": ("recomputed by the registry",
                 "Recomputed by the registry from the report's cell statistics, under the registry's copy of the "
                 "policy and the model's recorded tier"),
    "client": ("taken from the client",
               "Taken from the client (consistent with the report's analyses): a check that needs the model, "
               "which the registry cannot re-run; it follows from the analysis values in the uploaded report and "
               "the policy's thresholds"),
}

_QUESTIONS = {
    "domain": "Area of decisions",
    "people_affected": "People affected",
    "decisions_per_day": "Decisions a day",
    "human_review": "A person reviews each decision",
    "wrong_decision_cost": "Cost of a wrong decision to the person",
}


def verdict(audit: dict[str, Any] | None) -> dict[str, str]:
    """The verdict of an audit as a word, a CSS class and a line of counts.

    Parameters
    ----------
    audit : dict or None
        An audit dict from the registry (``passed``, ``n_fail``, ``n_not_evidenced``, ``n_warn``), or None.

    Returns
    -------
    dict
        ``word`` (PASSED, FAILED, NOT EVIDENCED when only missing evidence blocks it, NOT JUDGED or
        NO AUDIT), ``css`` (ok, bad, none) and ``detail``, which counts the not-evidenced findings.
    """
    if audit is None:
        return {"word": "NO AUDIT", "css": "none", "detail": "no audit recorded yet"}
    warns = f"{audit['n_warn']} warning{'s' if audit['n_warn'] != 1 else ''}"
    if audit["passed"] is None:
        return {"word": "NOT JUDGED", "css": "none", "detail": "the audit was not held to a policy"}
    if audit["passed"]:
        return {"word": "PASSED", "css": "ok", "detail": f"no failing checks, {warns}"}
    n_fail, missing = audit["n_fail"], audit.get("n_not_evidenced") or 0
    parts = [f"{n_fail} failing check{'s' if n_fail != 1 else ''}"] if n_fail or not missing else []
    if missing:
        parts.append(f"{missing} not evidenced")
    # Blocked by missing evidence alone is not a breach: say so rather than "failed".
    return {"word": "FAILED" if n_fail or not missing else "NOT EVIDENCED", "css": "bad",
            "detail": ", ".join([*parts, warns])}


_CHECKS = {
    "adverse_impact_ratio": "Who gets the favourable decision (adverse impact ratio, the four-fifths rule)",
    "false_positive_rate_ratio": "Mistakes against people, by group (false positive rate ratio)",
    "false_negative_rate_ratio": "Mistakes against people, by group (false negative rate ratio)",
    "standardized_mean_difference": "Score gap between groups (standardized mean difference)",
    "group_size": "Groups too small to judge",
    "model_card": "Documentation (the model card)",
}


def _marked(f: dict[str, Any]) -> dict[str, Any]:
    """The finding with ``by`` (its mark and the mark's meaning), or ``by`` None for an audit stored
    before the registry recorded who derived its findings."""
    return dict(f, by=DERIVED_BY.get(f.get("derived_by") or ""))


def findings_view(findings: list[dict[str, Any]],
                  acceptances: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Findings for the page: the problems grouped by check, and the rest by status.

    Parameters
    ----------
    findings : list of dict
        The stored findings of an audit run (``status``, ``check``, ``message``, ``derived_by``, ``needs``...).
    acceptances : list of dict, optional
        The version's acceptances; an active one is shown on the check it accepts.

    Returns
    -------
    dict
        ``blocking``: a list of ``{check, title, status, sources, needs, accepted, items}`` for the checks
        that fail or are not evidenced (these block approval), failing checks first; ``accepted``: the
        same for such checks an acceptance in force lets through (``accepted`` holds it); ``warnings``:
        the same for warnings; ``problems``: the three lists in that order; ``n_blocking``,
        ``n_accepted``, ``n_warnings`` and ``n_problems`` count their findings; ``rest``: status ->
        findings, for passes and findings not judged. Each finding carries ``by``: (mark, meaning) of
        ``derived_by``, or None.
    """
    active = {a["check"]: a for a in reversed(acceptances or []) if a["status"] == "active"}
    ordered = sorted(findings, key=lambda f: STATUS_ORDER.get(f["status"], len(STATUS_ORDER)))
    problems: dict[tuple[str, str], dict[str, Any]] = {}
    rest: dict[str, list[dict[str, Any]]] = {}
    for f in map(_marked, ordered):
        if f["status"] not in (*BLOCKING, "warn"):
            rest.setdefault(f["status"], []).append(f)
            continue
        group = problems.setdefault((f["status"], f["check"]), {
            "check": f["check"], "status": f["status"], "sources": [], "needs": [], "items": [],
            "accepted": active.get(f["check"]) if f["status"] in BLOCKING else None,
            "title": _CHECKS.get(f["check"], f["check"].replace("_", " ").capitalize())})
        group["items"].append(f)
        if f.get("source") and f["source"] not in group["sources"]:
            group["sources"].append(f["source"])
        if f["status"] == "not_evidenced" and f.get("needs") and f["needs"] not in group["needs"]:
            group["needs"].append(f["needs"])
    blocking = [g for g in problems.values() if g["status"] in BLOCKING and not g["accepted"]]
    accepted = [g for g in problems.values() if g["status"] in BLOCKING and g["accepted"]]
    warnings = [g for g in problems.values() if g["status"] not in BLOCKING]
    return {"blocking": blocking, "accepted": accepted, "warnings": warnings,
            "problems": blocking + accepted + warnings, "n_blocking": _count(blocking),
            "n_accepted": _count(accepted), "n_warnings": _count(warnings),
            "n_problems": _count(blocking) + _count(accepted) + _count(warnings), "rest": rest}


def _count(groups: list[dict[str, Any]]) -> int:
    return sum(len(g["items"]) for g in groups)


def acceptable_checks(findings: list[dict[str, Any]],
                      acceptances: list[dict[str, Any]] | None = None) -> list[tuple[str, str, str | None]]:
    """The checks of an audit an executive may accept: those that fail or are not evidenced (the
    registry's own rule in ``Registry.accept``), in the page's order, as (check, its worst status,
    the end date of an acceptance of it in force or None)."""
    active = {a["check"]: a["until"][:10] for a in reversed(acceptances or []) if a["status"] == "active"}
    ordered = sorted(findings, key=lambda f: STATUS_ORDER.get(f["status"], len(STATUS_ORDER)))
    worst: dict[str, str] = {}
    for f in ordered:
        if f["status"] in BLOCKING:
            worst.setdefault(f["check"], f["status"])
    return [(check, status, active.get(check)) for check, status in worst.items()]


def reproduction_view(audit: dict[str, Any] | None, required: bool) -> dict[str, Any]:
    """The latest audit's reproductions, and whether the one the tier requires is still missing.

    Returns
    -------
    dict
        ``items`` (the reproductions, oldest first), ``required`` (the tier's ``require_reproduction``)
        and ``missing``: True when the tier requires one and no reproduction came out ``reproduced``.
    """
    items = list(audit.get("reproductions") or []) if audit else []
    done = any(r["outcome"] == "reproduced" for r in items)
    return {"items": items, "required": required, "missing": bool(audit) and required and not done}


def sign_off_view(required: list[str], sign_offs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """For each role the tier requires: its latest sign-off on the latest audit, and the state.

    ``sign_offs`` come newest first (as the registry gives them); ``current`` marks those made
    on the latest audit, the only ones that count.
    """
    out = []
    for role in required:
        latest = next((x for x in sign_offs if x["role"] == role and x["current"]), None)
        state = "waiting" if latest is None else ("approved" if latest["decision"] == "approve" else "rejected")
        out.append({"role": role, "state": state, "sign_off": latest})
    return out


def blockers(model: dict[str, Any]) -> list[str]:
    """What stands between the newest version and approval, as sentences (empty when nothing does).

    These are the registry's own reasons (``approval_blockers``), the same the *Approve* button and
    ``steward approve`` give, so the page can never disagree with the rules.
    """
    return [p[:1].upper() + p[1:] + ("" if p.endswith(".") else ".") for p in model["approval_blockers"]]


def _role(role: str) -> str:
    return {"executive": "accountable executive"}.get(role, role)


def signer_roles(who: dict[str, Any] | None, required: list[str], sign_off_roles: tuple[str, ...]) -> list[str]:
    """The roles in which this principal may sign this model off: held, allowed to sign, and required."""
    if not who:
        return []
    return [r for r in required if r in who["roles"] and r in sign_off_roles]


def risk_answers(answers: dict[str, Any]) -> list[tuple[str, str]]:
    """The risk questionnaire's answers as (question, answer) in plain words."""
    out = []
    for key, value in answers.items():
        if isinstance(value, bool):
            text = "yes" if value else "no"
        elif isinstance(value, int):
            text = f"{value:,}"
        else:
            text = str(value).replace("_", " ")
        out.append((_QUESTIONS.get(key, key.replace("_", " ").capitalize()), text))
    return out


def trail_text(entry: dict[str, Any]) -> str:
    """One trail entry in plain words (the stored payload stays available beside it)."""
    payload = entry["payload"]
    if isinstance(payload, str):
        try:
            payload = json.loads(payload)
        except ValueError:
            payload = {}
    p = payload if isinstance(payload, dict) else {}
    subject = entry["subject"].split(":")
    version = subject[2] if subject[0] == "version" and len(subject) > 2 else None
    action = entry["action"]
    if action == "model.register":
        return "Registered the model"
    if action == "version.register":
        return f"Registered version {version}"
    if action == "risk.assess":
        return f"Assessed the risk: {p.get('tier', '?')} tier"
    if action == "audit.record":
        result = "passed" if p.get("passed") else ("failed" if p.get("passed") is False else "not judged")
        return f"Recorded audit #{p.get('audit_run', '?')} of version {version}: {result}"
    if action in ("signoff.approve", "signoff.reject"):
        verb = "approved" if action.endswith("approve") else "rejected"
        return f"Signed off version {version} as {_role(p.get('role', '?'))}: {verb}"
    if action == "version.approve":
        return f"Approved version {version} for deployment"
    if action == "finding.accept":
        return (f"Accepted {p.get('check', '?')} on version {version} until {str(p.get('until', '?'))[:10]}: "
                f"{p.get('reason', '')}")
    if action == "finding.acceptance_lapsed":
        revoked = "; approval revoked" if p.get("approval_revoked") else ""
        return f"The acceptance of {p.get('check', '?')} on version {version} lapsed{revoked}"
    if action == "audit.reproduced":
        return f"Reproduced audit #{p.get('audit_run', '?')} of version {version}"
    if action == "audit.differs":
        return f"Re-ran audit #{p.get('audit_run', '?')} of version {version}: it differs ({p.get('detail', '')})"
    return f"{action} ({entry['subject']})"


def card_html(markdown: str) -> Markup:
    """The model card's Markdown as HTML; raw HTML in it is escaped, not passed through."""
    from markdown_it import MarkdownIt  # declared in the server extra

    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    return Markup(md.render(markdown or ""))
