"""The deployment pages: every guarded endpoint, and one deployment with its guard, its logged decisions,
its review queue, its history and the kill switch (server-rendered, no script).

Pulling the kill switch and reviving a deployment are POST forms carrying the session's CSRF token,
offered to those whose role may (``kill``: operators and administrators); the registry keeps the rule
and the trail entry, and a server process sees the switch within a second.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from steward.errors import AuthenticationError, NotFoundError, PermissionDenied, StewardError
from steward.web._auth import check
from steward.web._auth import registry as registry_of
from steward.web._deployment_views import (
    ROUTES,
    decision_text,
    flag_text,
    guard_view,
    model_of,
    routes_chart,
    routes_view,
    safe_default,
    stamp,
    why_text,
)
from steward.web._errors import status_of
from steward.web._pages_core import PageRoute, form_user, render, user

__all__ = ["router"]

router = APIRouter(route_class=PageRoute, include_in_schema=False)

# Chosen by code, as on the other pages, so a crafted link cannot make the page say something else.
FLASH = {
    "killed": "The kill switch is pulled: no request reaches the model; each gets the safe default.",
    "revived": "The deployment is live again: requests reach the model.",
}
LATEST = 50  # logged decisions and open review items shown on a deployment's page
MAX_REASON = 2000  # as the API's kill body allows
AFTER_REVIEW = 5000  # newest decisions the page's "Decisions after review" section audits


def _after_review(reg: Any, name: str, d: dict[str, Any]) -> dict[str, Any]:
    """The audit of the newest decisions after review and appeal (``steward audit-decisions`` audits any
    window): its summary, or why there is none."""
    from steward.governance._humans import audit_decisions
    from steward.governance._outcomes import card_info_of

    protected = list((d["guard"] or {}).get("protected") or [])
    if not protected:
        return {"none": "The guard records no protected attributes (guard setting protected:), so decisions "
                        "cannot be compared across groups."}
    try:
        rows = reg.decision_outcomes(name, limit=AFTER_REVIEW)
        result = audit_decisions(rows, protected=protected, favourable=int(d["guard"].get("favourable", 1)),
                                 card_info=card_info_of(reg, d["version"]), deployment=name, intersections=False)
    except StewardError as exc:
        return {"none": f"Nothing to audit yet ({exc})."}
    return {**result.summary(), "limit": AFTER_REVIEW, "none": None}


def _refused(exc: StewardError) -> bool:
    """Whether an error is one to show on the deployment's own page (a rule said no, or bad input)."""
    return not isinstance(exc, (NotFoundError, PermissionDenied, AuthenticationError))


def _see(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


@router.get("/deployments")
def deployments_page(request: Request, who: dict = Depends(user)) -> Response:
    """Every active deployment: version, backup, benchmark, kill switch, decisions by route, open reviews."""
    reg = registry_of(request)
    rows = []
    for d in reg.deployments():
        try:
            full = reg.deployment(d["name"])
        except NotFoundError:  # replaced or gone between the two reads
            continue
        rows.append(full | {"route_rows": routes_view(full["routes"]), "model": model_of(full["version"])})
    return render(request, "deployments.html", rows=rows, flash=FLASH.get(request.query_params.get("flash", "")))


def _deployment_page(request: Request, name: str, status: int = 200, error: str | None = None,
                     form: dict[str, Any] | None = None) -> Response:
    reg = registry_of(request)
    d = reg.deployment(name)
    favourable = d["guard"].get("favourable", 1)
    log = reg.prediction_log(name, limit=LATEST, newest=True)
    reviews = reg.review_queue(deployment=name, status="open", limit=LATEST)
    humans = _after_review(reg, name, d)
    return render(
        request, "deployment.html", status=status, error=error, form=form or {}, d=d,
        flash=FLASH.get(request.query_params.get("flash", "")), model_of=model_of,
        guard=guard_view(d["guard"], backup=d["backup"]), safe_default=safe_default(d["guard"]),
        route_rows=routes_view(d["routes"]), chart=routes_chart(d["routes"]), routes=ROUTES,
        log=log, reviews=reviews, replaced=[h for h in d["history"] if h["status"] != "active"],
        decision=lambda value: decision_text(value, favourable), flag_text=flag_text, why_text=why_text,
        stamp=stamp, max_reason=MAX_REASON, humans=humans, monitoring=reg.monitor_summaries(deployment=name),
    )


@router.get("/deployments/{name}")
def deployment_page(request: Request, name: str, who: dict = Depends(user)) -> Response:
    """One deployment: what serves, the guard in force, decisions by route, the latest decisions, the
    open review items, the deployments it replaced, and the kill switch."""
    return _deployment_page(request, name)


@router.post("/deployments/{name}/kill")
def kill(request: Request, name: str, reason: str = Form(""), who: dict = Depends(form_user)) -> Response:
    """Pull the kill switch, with the logged-in operator's reason."""
    check(who, "kill")
    reason = reason.strip()
    problem = None
    if not reason:
        problem = "give a reason, so others know why decisions stopped"
    elif len(reason) > MAX_REASON:
        problem = f"the reason is {len(reason):,} characters long; give at most {MAX_REASON:,}"
    if problem is not None:
        return _deployment_page(request, name, 400, f"The kill switch was not pulled: {problem}.", {"reason": reason})
    try:
        registry_of(request).kill(name, reason=reason, actor=who["name"])
    except StewardError as exc:
        if not _refused(exc):
            raise
        return _deployment_page(request, name, status_of(exc), f"The kill switch was not pulled: {exc}",
                                {"reason": reason})
    return _see(f"/deployments/{quote(name)}?flash=killed")


@router.post("/deployments/{name}/revive")
def revive(request: Request, name: str, who: dict = Depends(form_user)) -> Response:
    """Release the kill switch: requests reach the model again."""
    check(who, "kill")
    try:
        registry_of(request).revive(name, actor=who["name"])
    except StewardError as exc:
        if not _refused(exc):
            raise
        return _deployment_page(request, name, status_of(exc), f"The deployment was not revived: {exc}")
    return _see(f"/deployments/{quote(name)}?flash=revived")
