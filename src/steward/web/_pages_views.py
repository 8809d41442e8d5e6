"""What the pages show, worked out from the registry's dicts (no HTML here, no database).

Verdicts, findings worst first, who has signed off the latest audit, what still blocks approval,
the risk answers and the trail in plain words, and the model card's Markdown as safe HTML.
"""

from __future__ import annotations

import json
from typing import Any

from markupsafe import Markup


__all__ = ["STATUS_ORDER", "blockers", "card_html", "findings_view", "risk_answers", "sign_off_view",
           "signer_roles", "trail_text", "verdict"]

STATUS_ORDER = {"fail": 0, "warn": 1, "insufficient_data": 2, "not_applicable": 3, "pass": 4}

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
        An audit dict from the registry (``passed``, ``n_fail``, ``n_warn``), or None.

    Returns
    -------
    dict
        ``word`` (PASSED, FAILED, NOT JUDGED or NO AUDIT), ``css`` (ok, bad, none) and ``detail``.
    """
    if audit is None:
        return {"word": "NO AUDIT", "css": "none", "detail": "no audit recorded yet"}
    warns = f"{audit['n_warn']} warning{'s' if audit['n_warn'] != 1 else ''}"
    if audit["passed"] is None:
        return {"word": "NOT JUDGED", "css": "none", "detail": "the audit was not held to a policy"}
    if audit["passed"]:
        return {"word": "PASSED", "css": "ok", "detail": f"no failing checks, {warns}"}
    return {"word": "FAILED", "css": "bad",
            "detail": f"{audit['n_fail']} failing check{'s' if audit['n_fail'] != 1 else ''}, {warns}"}


_CHECKS = {
    "adverse_impact_ratio": "Who gets the favourable decision (adverse impact ratio, the four-fifths rule)",
    "false_positive_rate_ratio": "Mistakes against people, by group (false positive rate ratio)",
    "false_negative_rate_ratio": "Mistakes against people, by group (false negative rate ratio)",
    "standardized_mean_difference": "Score gap between groups (standardized mean difference)",
    "group_size": "Groups too small to judge",
    "model_card": "Documentation (the model card)",
}


def findings_view(findings: list[dict[str, Any]]) -> dict[str, Any]:
    """Findings for the page: the problems (fail, then warn) grouped by check, and the rest by status.

    Returns
    -------
    dict
        ``problems``: a list of ``{check, title, status, sources, items}``, failing checks first, each
        with its standard named once; ``rest``: status -> findings, for passes and findings not judged.
    """
    ordered = sorted(findings, key=lambda f: STATUS_ORDER.get(f["status"], len(STATUS_ORDER)))
    problems: dict[tuple[str, str], dict[str, Any]] = {}
    rest: dict[str, list[dict[str, Any]]] = {}
    for f in ordered:
        if f["status"] not in ("fail", "warn"):
            rest.setdefault(f["status"], []).append(f)
            continue
        group = problems.setdefault((f["status"], f["check"]), {
            "check": f["check"], "status": f["status"], "sources": [], "items": [],
            "title": _CHECKS.get(f["check"], f["check"].replace("_", " ").capitalize())})
        group["items"].append(f)
        if f.get("source") and f["source"] not in group["sources"]:
            group["sources"].append(f["source"])
    return {"problems": list(problems.values()), "n_problems": sum(len(g["items"]) for g in problems.values()),
            "rest": rest}


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
    return f"{action} ({entry['subject']})"


def card_html(markdown: str) -> Markup:
    """The model card's Markdown as HTML; raw HTML in it is escaped, not passed through."""
    from markdown_it import MarkdownIt  # declared in the server extra

    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    return Markup(md.render(markdown or ""))
