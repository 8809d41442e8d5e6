"""What the standards console and the risk form show, worked out from the registry's dicts (no routes here).

The adoption chart and its trend as inline SVG (:mod:`steward._svgplot`: no script, nothing fetched), a
model's standards with the policy-change lines set apart, the risk form's answers read and checked field
by field, and what a tier asks of a model, in plain words.
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import datetime
from typing import Any

from markupsafe import Markup

from steward.audit.policy import Policy, Tier
from steward.governance._standards import SEVERITY_ORDER
from steward.web._pages_views import _CHECKS

__all__ = ["COSTS", "RISK_FIELDS", "STATUS_CSS", "adoption_chart", "answers_digest", "form_answers", "model_rules",
           "parse_answers", "practices_view", "tier_change", "tier_view", "trend_chart"]

STATUS_CSS = {"falls_short": "bad", "due_soon": "warn", "met": "ok", "not_applicable": ""}
COSTS = ("low", "medium", "high")

# The form's fields, in the order of the policy's risk questions, with the words that name them in messages.
RISK_FIELDS = {
    "domain": "Area of decisions",
    "people_affected": "People affected",
    "decisions_per_day": "Decisions a day",
    "human_review": "A person reviews each decision",
    "wrong_decision_cost": "Cost of a wrong decision",
}


# --- charts ---------------------------------------------------------------------------------------------


def adoption_chart(practices: list[dict[str, Any]]) -> Markup:
    """One horizontal bar per practice: the share of the models it applies to whose records show it (as the
    SE4ML study's adoption figure, but measured from evidence). A practice that applies to no model gets an
    empty bar, and its label says so."""
    from steward._svgplot import Bars, Panel, bar_chart

    labels = [f"{p['title']} ({p['adopted']} of {p['applicable']})" if p["applicable"]
              else f"{p['title']} (applies to none)" for p in practices]
    values = [float("nan") if p["rate"] is None else p["rate"] for p in practices]
    summary = "Practice adoption: " + "; ".join(
        f"{p['title']} " + ("applies to no model" if p["rate"] is None else f"{100 * p['rate']:.0f}%")
        for p in practices)
    panel = Panel([Bars(values, colours="#2c6fbb")], xlabel="share of the models the practice applies to",
                  percent=True, xmin=0.0, xmax=1.0)
    svg = bar_chart(labels, [panel], width=860, summary=summary)
    return Markup(svg)  # noqa: S704 - every text in it is escaped by _svgplot


def trend_chart(trend: list[dict[str, Any]], practices: list[dict[str, Any]]) -> Markup:
    """Each practice's adoption at each point of the trend (one line per practice, oldest point first)."""
    from steward._svgplot import PALETTE, Line, LinePanel, line_chart

    if not trend:
        return Markup("")
    dates = [datetime.fromisoformat(p["at"]).strftime("%d %b %Y") for p in trend]
    lines = []
    for i, p in enumerate(practices):
        ys = [math.nan if point["rates"].get(p["practice"]) is None else point["rates"][p["practice"]]
              for point in trend]
        lines.append(Line(list(range(len(trend))), ys, colour=PALETTE[i % len(PALETTE)], markers=True,
                          label=p["title"]))
    svg = line_chart([LinePanel(lines, categories=dates, percent_y=True, ylim=(0.0, 1.0),
                                ylabel="share of models")], panel_width=600, height=320,
                     summary=f"Practice adoption over time, from {dates[0]} to {dates[-1]}")
    return Markup(svg)  # noqa: S704 - every text in it is escaped by _svgplot


# --- a model's standards --------------------------------------------------------------------------------


def model_rules(row: dict[str, Any]) -> list[dict[str, Any]]:
    """A model's rules for the page: each evidence line as (text, whether it is a policy change), the
    ``changed:`` lines (what differs between the policy an audit was held to and the current one) set apart."""
    out = []
    for r in row["rules"]:
        lines = []
        for line in r["evidence"]:
            text = line.strip()
            changed = text.startswith("changed:")
            lines.append((text.removeprefix("changed:").strip() if changed else text, changed))
        out.append(dict(r, css=STATUS_CSS.get(r["status"], ""), lines=lines))
    return out


def practices_view(row: dict[str, Any]) -> list[dict[str, Any]]:
    """A model's practices: adopted, not shown by any record, or not applicable (with the record or the reason)."""
    out = []
    for p in row["practices"]:
        state = "adopted" if p["adopted"] else ("missing" if p["applies"] else "not_applicable")
        out.append(dict(p, state=state, css={"adopted": "ok", "missing": "bad"}.get(state, "")))
    return out


# --- the risk form ---------------------------------------------------------------------------------------


def form_answers(answers: dict[str, Any] | None, domain: str) -> dict[str, str]:
    """The form's fields as text, from recorded answers (or empty, with the model's domain)."""
    a = answers or {}
    review = a.get("human_review")
    return {"domain": str(a.get("domain", domain) or ""),
            "people_affected": "" if a.get("people_affected") is None else str(a["people_affected"]),
            "decisions_per_day": "" if a.get("decisions_per_day") is None else str(a["decisions_per_day"]),
            "human_review": "" if review is None else ("yes" if review else "no"),
            "wrong_decision_cost": str(a.get("wrong_decision_cost") or "")}


def _count(form: dict[str, str], key: str, problems: list[str]) -> int | None:
    text = form[key].strip().replace(",", "").replace("_", "").replace(" ", "")
    if not text:
        problems.append(f"{RISK_FIELDS[key]}: missing; enter a whole number, 0 or more (e.g. 10000)")
        return None
    if not text.isdigit() or not text.isascii():
        problems.append(f"{RISK_FIELDS[key]}: {form[key].strip()[:40]!r} is not a whole number; enter one, 0 or more "
                        f"(e.g. 10000)")
        return None
    return int(text)


def parse_answers(form: dict[str, str], policy: Policy) -> tuple[dict[str, Any] | None, list[str]]:
    """The answers the form sent, typed as the registry stores them, or every problem (one line per field)."""
    problems: list[str] = []
    if form["domain"] not in policy.domains:
        problems.append(f"{RISK_FIELDS['domain']}: {form['domain'][:40]!r} is not one the policy knows; choose one of: "
                        f"{', '.join(policy.domains)}")
    people = _count(form, "people_affected", problems)
    per_day = _count(form, "decisions_per_day", problems)
    if form["human_review"] not in ("yes", "no"):
        problems.append(f"{RISK_FIELDS['human_review']}: choose yes or no")
    if form["wrong_decision_cost"] not in COSTS:
        problems.append(f"{RISK_FIELDS['wrong_decision_cost']}: choose low, medium or high")
    if problems:
        return None, problems
    return {"domain": form["domain"], "people_affected": people, "decisions_per_day": per_day,
            "human_review": form["human_review"] == "yes", "wrong_decision_cost": form["wrong_decision_cost"]}, []


def answers_digest(answers: dict[str, Any], *context: Any) -> str:
    """A fingerprint of the answers whose tier was shown and of what the explanation depended on (``context``:
    the policy, the model's recorded assessment), so "Record" records only what was checked."""
    payload = {"answers": answers, "context": list(context)} if context else answers
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]


def tier_view(tier: Tier) -> dict[str, Any]:
    """What a tier asks of a model: required checks (with severity), sign-offs, cadence, response times."""
    checks = [{"check": name, "title": _CHECKS.get(name, name.replace("_", " ").capitalize()),
               "severity": params.severity, "optional": params.optional} for name, params in tier.checks.items()]
    checks.sort(key=lambda c: (c["optional"], c["severity"] != "fail", c["check"]))
    hours = tier.incident_response_hours
    return {"name": tier.name, "description": tier.description, "checks": checks,
            "n_blocking": sum(c["severity"] == "fail" and not c["optional"] for c in checks),
            "sign_off": list(tier.sign_off), "distinct_signers": tier.distinct_signers,
            "reaudit_days": tier.reaudit_days, "reproduction": tier.require_reproduction,
            "response_hours": [(s, hours[s]) for s in SEVERITY_ORDER if s in hours]}


def tier_change(policy: Policy, current: str | None, new: str) -> str | None:
    """``raise``, ``lower`` or ``same`` against the model's current tier (None when it has none)."""
    if current is None:
        return None
    order = list(policy.tiers)  # highest risk first
    if current == new:
        return "same"
    if current not in order:
        return "raise"
    return "lower" if order.index(new) > order.index(current) else "raise"
