"""The central team's standards console, a model's standards, and the risk assessment as a form.

``/standards`` shows every model and team against the standards at a time (default now): the counts, the
shortfalls worst first, a table per team, practice adoption measured from evidence and its trend, with the
same report to download. Every reader may open it (the ``governance`` role, the central team, only reads).

``/models/NAME/risk`` asks the policy's risk questions of anyone who may assess. "Check the tier" shows the
tier the answers yield and what it requires, recording nothing; "Record this assessment" records exactly
the answers whose tier was shown. The registry keeps the rules (lowering a tier needs a validator or
executive who did not build the model) and the pages show its refusals.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from steward.errors import AuthenticationError, NotFoundError, StewardError
from steward.governance import Registry
from steward.web._auth import check
from steward.web._auth import registry as registry_of
from steward.web._errors import status_of
from steward.web._pages_core import PageRoute, form_user, render, user
from steward.web._standards_views import (
    COSTS,
    STATUS_CSS,
    adoption_chart,
    answers_digest,
    form_answers,
    model_rules,
    parse_answers,
    practices_view,
    tier_change,
    tier_view,
    trend_chart,
)

__all__ = ["model_standards", "router"]

router = APIRouter(route_class=PageRoute, include_in_schema=False)

FORMATS = {"json": "application/json", "csv": "text/csv; charset=utf-8", "md": "text/markdown; charset=utf-8"}


def _report(reg: Registry, team: str, at: str, trend_points: int = 6) -> dict[str, Any]:
    for field, value, most in (("team", team, 200), ("at", at, 64)):
        if len(value) > most:
            raise StewardError(f"{field}: {len(value)} characters is too long (at most {most}); choose a team from the "
                               f"list, and a date such as 2026-12-01")
    # "now" to the microsecond: a record made a moment ago (the assessment just recorded) is already judged
    when: datetime | str = at.strip() or datetime.now(timezone.utc)
    return reg.standards(at=when, team=team.strip() or None, trend_points=trend_points)


def model_standards(reg: Registry, m: dict[str, Any]) -> dict[str, Any] | None:
    """The model's row of the standards report now (its rules with their evidence, and its practices), for
    the model page; only this model is judged, without the adoption trend."""
    # "now" to the microsecond: a record made a moment ago (the assessment just recorded) is already judged
    row = reg.model_standards(m["name"], at=datetime.now(timezone.utc))
    return {"status": row["status"], "css": STATUS_CSS.get(row["status"], ""), "at": row["at"],
            "rules": model_rules(row), "practices": practices_view(row), "policy": row["policy"]}


# --- the console --------------------------------------------------------------------------------------------


@router.get("/standards")
def standards_page(request: Request, team: str = "", at: str = "", who: dict = Depends(user)) -> Response:
    """Every model and team against the standards: counts, shortfalls, teams, practice adoption and its trend."""
    reg = registry_of(request)
    report = _report(reg, team, at)
    query = {k: v for k, v in (("team", team.strip()), ("at", at.strip())) if v}
    practices = report["adoption"]["practices"]
    return render(request, "standards.html", report=report, s=report["summary"], team=team.strip(), at=at.strip(),
                  teams=[t["name"] for t in reg.teams()],
                  chart=adoption_chart(practices), trend=trend_chart(report["adoption"]["trend"], practices),
                  downloads=[(fmt, f"/standards/report.{fmt}" + (f"?{urlencode(query)}" if query else ""))
                             for fmt in FORMATS],
                  api=[(fmt, "/api/standards?" + urlencode(query | {"format": fmt})) for fmt in FORMATS],
                  models=[dict(row, css=STATUS_CSS.get(row["status"], "")) for row in report["models"]],
                  status_css=STATUS_CSS)


@router.get("/standards/report.{fmt}")
def standards_download(request: Request, fmt: str, team: str = "", at: str = "", who: dict = Depends(user)) -> Response:
    """The console's report to download with the login cookie (scripts use ``GET /api/standards`` with a key)."""
    from steward.governance._standards_report import to_csv, to_markdown

    if fmt not in FORMATS:
        raise NotFoundError(f"report format {fmt!r} is not offered; use one of: {', '.join(FORMATS)}")
    report = _report(registry_of(request), team, at)
    body = {"json": lambda r: json.dumps(r, indent=2), "csv": to_csv, "md": to_markdown}[fmt](report)
    stamp = report["at"][:10]
    name = f"standards-{(report['team'] or 'all').replace(' ', '-')}-{stamp}.{fmt}"  # team names: letters, digits, ._&-
    return Response(body, media_type=FORMATS[fmt], headers={"Content-Disposition": f'attachment; filename="{name}"'})


# --- the risk form ------------------------------------------------------------------------------------------


def _risk_page(request: Request, m: dict[str, Any], form: dict[str, str] | None = None, status: int = 200,
               problems: list[str] | None = None, error: str | None = None,
               preview: dict[str, Any] | None = None) -> Response:
    reg: Registry = registry_of(request)
    if form is None:
        form = form_answers(m["risk"]["answers"] if m["risk"] else None, m["domain"])
    return render(request, "risk.html", status=status, m=m, form=form, domains=list(reg.policy.domains), costs=COSTS,
                  problems=problems or [], error=error, preview=preview, policy=reg.policy)


def _preview(reg: Registry, m: dict[str, Any], answers: dict[str, Any]) -> dict[str, Any]:
    """The tier the answers yield, why, what it asks, and how it differs from the model's tier now."""
    tier, reason = reg.policy.assign_tier(answers)
    builders = sorted({v["registered_by"] for v in m["versions"]})
    return {"tier": tier_view(tier), "reason": reason, "change": tier_change(reg.policy, m["tier"], tier.name),
            "builders": builders, "audited": bool(m["latest_audit"]),
            # the tier and its explanation hold for this policy and the model's assessment as they are now
            "digest": answers_digest(answers, reg.policy.sha256, (m["risk"] or {}).get("created_at"), m["tier"])}


@router.get("/models/{name}/risk")
def risk_form(request: Request, name: str, who: dict = Depends(user)) -> Response:
    """The policy's risk questions, prefilled with the model's latest answers."""
    check(who, "assess")
    return _risk_page(request, registry_of(request).model(name))


@router.post("/models/{name}/risk")
def risk_submit(request: Request, name: str, domain: str = Form(""), people_affected: str = Form(""),
                decisions_per_day: str = Form(""), human_review: str = Form(""),
                wrong_decision_cost: str = Form(""), action: str = Form("preview"), checked: str = Form(""),
                who: dict = Depends(form_user)) -> Response:
    """``action=preview``: show the tier these answers yield, recording nothing. ``action=record``: record the
    assessment (only answers whose tier was shown), then go to the model page."""
    check(who, "assess")
    reg: Registry = registry_of(request)
    m = reg.model(name)
    form = {"domain": domain, "people_affected": people_affected, "decisions_per_day": decisions_per_day,
            "human_review": human_review, "wrong_decision_cost": wrong_decision_cost}
    answers, problems = parse_answers(form, reg.policy)
    if answers is None:
        return _risk_page(request, m, form, 400, problems)
    form = form_answers(answers, m["domain"])  # as the registry stores them ("10,000" shows as 10000)
    try:
        preview = _preview(reg, m, answers)
    except StewardError as exc:  # no tier matches: the policy's message says what to add
        return _risk_page(request, m, form, status_of(exc), error=f"No tier follows from these answers: {exc}")
    if action != "record":
        return _risk_page(request, m, form, preview=preview)
    if checked != preview["digest"]:
        return _risk_page(request, m, form, preview=preview,
                          error="The answers changed since their tier was shown; nothing was recorded. Check the tier "
                                "these answers yield below (under the policy and the model's tier as they are now), "
                                "then record it.")
    try:
        reg.assess_risk(name, answers, actor=who["name"])
    except StewardError as exc:
        if isinstance(exc, (NotFoundError, AuthenticationError)):
            raise
        return _risk_page(request, m, form, status_of(exc), preview=preview,
                          error=f"The assessment was not recorded: {exc}")
    return RedirectResponse(f"/models/{quote(name)}?flash=assessed#risk", status_code=303)
