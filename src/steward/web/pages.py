"""The web pages: log in, the inventory, a model's record, incidents (server-rendered, no script);
the deployment pages are in :mod:`steward.web._pages_deployments`.

Every page needs the login cookie (else a redirect to ``/login``); every form carries a CSRF token
(see :mod:`steward.web._pages_core`). The rules live in the registry; the pages only show them,
and show the registry's message when it refuses something.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from steward.errors import AuthenticationError, NotFoundError, PermissionDenied, StewardError
from steward.governance import SEVERITIES, Registry
from steward.governance._challenge import MAX_ACCEPTANCE_DAYS
from steward.web._auth import COOKIE, PERMISSIONS, check
from steward.web._auth import registry as registry_of
from steward.web._errors import status_of
from steward.web._inputs import MODEL_STATUSES, IdPath
from steward.web._pages_core import (
    LOGIN_COOKIE,
    PageRoute,
    clear_cookie,
    csrf_token,
    form_user,
    local_path,
    login_token_ok,
    render,
    set_cookie,
    user,
)
from steward.web._pages_deployments import router as deployment_pages
from steward.web._pages_harm import router as harm_pages
from steward.web._pages_monitors import router as monitor_pages
from steward.web._pages_review import router as review_pages
from steward.web._pages_standards import model_standards
from steward.web._pages_standards import router as standards_pages
from steward.web._pages_views import (
    DERIVED_BY,
    acceptable_checks,
    blockers,
    card_html,
    findings_view,
    reproduction_view,
    risk_answers,
    sign_off_view,
    signer_roles,
    trail_text,
    verdict,
)
from steward.web.routers.models import UPLOADED
from steward.web.routers.signoffs import sign

__all__ = ["router"]

router = APIRouter(route_class=PageRoute, include_in_schema=False)
router.include_router(deployment_pages)  # /deployments: the guarded endpoints and their kill switches
router.include_router(harm_pages)  # /report-harm (public) and /harm-reports (triage)
router.include_router(monitor_pages)  # /monitors/NAME: a monitor's report
router.include_router(review_pages)  # /review: decisions and appeals waiting for a person
router.include_router(standards_pages)  # /standards: the central team's console; /models/NAME/risk: the risk form

# Flash messages are chosen by code, so a crafted link cannot make the page say something else.
FLASH = {
    "signed": "Your sign-off has been recorded.",
    "approved": "The version is approved for deployment.",
    "accepted": "Your acceptance has been recorded; the model card now lists it.",
    "opened": "The incident has been opened.",
    "assessed": "The risk assessment has been recorded; the model's tier follows from it.",
    "updated": "The incident has been updated.",
    "logged_out": "You are logged out.",
}
NEXT_STATUS = {"open": "contained", "contained": "resolved"}


def _refused(exc: StewardError) -> bool:
    """Whether an error is one to show on the form's own page (a rule said no, or bad input)."""
    return not isinstance(exc, (NotFoundError, PermissionDenied, AuthenticationError))


def _see(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# --- logging in and out ----------------------------------------------------------------------------


def _login_page(request: Request, status: int = 200, error: str | None = None, next_url: str = "/",
                flash: str | None = None) -> Response:
    nonce = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
    response = render(request, "login.html", status=status, error=error, next_url=local_path(next_url),
                      login_csrf=csrf_token(request, f"login:{nonce}"), flash=flash)
    if request.cookies.get(LOGIN_COOKIE) != nonce:
        set_cookie(request, response, LOGIN_COOKIE, nonce)
    return response


@router.get("/login")
def login_form(request: Request, next: str = "/", flash: str = "") -> Response:
    """The login form: one field for the API key."""
    return _login_page(request, next_url=next, flash=FLASH.get(flash))


@router.post("/login")
def login(request: Request, key: str = Form(""), csrf: str = Form(""), next: str = Form("/")) -> Response:
    """Check the key; on success open a session, put its id (never the key) in the HttpOnly login
    cookie, and go where the person was headed."""
    if not login_token_ok(request, csrf):
        return _login_page(request, 403, "The login form had expired. Please enter your key again.", next)
    hours = request.app.state.session_hours
    try:
        session_id, _, _ = registry_of(request).start_session(key.strip(), hours=hours)
    except AuthenticationError as exc:
        return _login_page(request, 401, f"That key was not accepted: {exc}.", next)
    response = _see(local_path(next))
    set_cookie(request, response, COOKIE, session_id, max_age=int(hours * 3600))
    clear_cookie(request, response, LOGIN_COOKIE)
    return response


@router.post("/logout")
def logout(request: Request, _: dict = Depends(form_user)) -> Response:
    """End the session on the server (its cookie no longer works anywhere) and forget the cookie."""
    registry_of(request).end_session(request.cookies.get(COOKIE))
    response = _see("/login?flash=logged_out")
    clear_cookie(request, response, COOKIE)
    return response


# --- the inventory ---------------------------------------------------------------------------------------


@router.get("/")
def inventory(request: Request, tier: str = "", status: str = "", owner: str = "", failing: str = "", team: str = "",
              who: dict = Depends(user)) -> Response:
    """Every model with its team, tier, status, owner, newest version, latest verdict and open incidents."""
    reg = registry_of(request)
    rows = reg.models(tier=tier or None, status=status or None, owner=owner.strip() or None,
                      failing={"yes": True, "no": False}.get(failing), team=team or None)
    for row in rows:
        row["verdict"] = verdict(row["latest_audit"])
    filters = {"tier": tier, "status": status, "owner": owner, "failing": failing, "team": team}
    return render(request, "inventory.html", rows=rows, filters=filters, tiers=list(reg.policy.tiers),
                  statuses=MODEL_STATUSES, teams=[t["name"] for t in reg.teams()], filtered=any(filters.values()))


# --- a model ----------------------------------------------------------------------------------------------


def _model_page(request: Request, name: str, status: int = 200, error: str | None = None,
                error_at: str | None = None, form: dict[str, Any] | None = None) -> Response:
    reg: Registry = registry_of(request)
    m = reg.model(name)
    newest = m["versions"][0] if m["versions"] else None
    audit = newest["audits"][0] if newest and newest["audits"] else None
    run = reg.audit_run(audit["id"]) if audit else None
    tier = reg.policy.tiers.get(m["tier"]) if m["tier"] else None
    who = request.state.principal
    acceptances = newest["acceptances"] if newest else []
    today = datetime.now(timezone.utc).date()  # an acceptance ends at the start of its day, UTC
    return render(
        request, "model.html", status=status, error=error, error_at=error_at, form=form or {},
        flash=FLASH.get(request.query_params.get("flash", "")), m=m, newest=newest, audit=audit,
        verdict=verdict(audit), verdict_of=verdict,
        findings=findings_view(run["findings"], acceptances) if run else None,
        derived_by=DERIVED_BY, acceptances=acceptances,
        acceptable=acceptable_checks(run["findings"], acceptances) if run else [],
        accept_dates=[(today + timedelta(days=d)).isoformat() for d in (1, MAX_ACCEPTANCE_DAYS)],
        reproduction=reproduction_view(audit, bool(tier and tier.require_reproduction)),
        distinct_signers=bool(tier and tier.distinct_signers),
        card=card_html(run["model_card"]) if run else None, blockers=blockers(m),
        sign_offs=sign_off_view(m["required_sign_off"], newest["sign_offs"]) if newest else [],
        signer_roles=signer_roles(who, m["required_sign_off"], PERMISSIONS["sign_off"]),
        tier_description=tier.description if tier else None,
        answers=risk_answers(m["risk"]["answers"]) if m["risk"] else [],
        trail=[(e, trail_text(e)) for e in m["trail"]], severities=SEVERITIES,
        deployments=[d for d in reg.deployments() if (d["version"] or "").rsplit(":", 1)[0] == name],
        monitoring=reg.monitor_summaries(model=name), standards=model_standards(reg, m),
    )


@router.get("/models/{name}")
def model_page(request: Request, name: str, who: dict = Depends(user)) -> Response:
    """A model's record: people, risk, the latest audit, sign-offs, versions, incidents and trail."""
    return _model_page(request, name)


@router.post("/models/{name}/versions/{version}/signoff")
def sign_off(request: Request, name: str, version: str, role: str = Form(""), decision: str = Form(""),
             comment: str = Form(""), who: dict = Depends(form_user)) -> Response:
    """Record the logged-in person's sign-off, in a role they hold, on the version's latest audit."""
    check(who, "sign_off")
    try:
        sign(registry_of(request), who, name, version, role, decision, comment)
    except StewardError as exc:
        if not _refused(exc):
            raise
        form = {"role": role, "decision": decision, "comment": comment}
        return _model_page(request, name, status_of(exc), f"Your sign-off was not recorded: {exc}", "signoff", form)
    return _see(f"/models/{quote(name)}?flash=signed")


@router.post("/models/{name}/versions/{version}/accept")
def accept(request: Request, name: str, version: str, accepted: str = Form("", alias="check"),
           reason: str = Form(""), until: str = Form(""), who: dict = Depends(form_user)) -> Response:
    """Record the logged-in executive's acceptance of a check that fails or is not evidenced, until a date."""
    check(who, "accept")
    try:
        registry_of(request).accept(name, version, check=accepted, reason=reason, until=until, actor=who["name"])
    except StewardError as exc:
        if not _refused(exc):
            raise
        form = {"check": accepted, "reason": reason, "until": until}
        return _model_page(request, name, status_of(exc), f"Your acceptance was not recorded: {exc}", "accept", form)
    return _see(f"/models/{quote(name)}?flash=accepted")


@router.post("/models/{name}/versions/{version}/approve")
def approve(request: Request, name: str, version: str, who: dict = Depends(form_user)) -> Response:
    """Approve the version for deployment, or show every reason the registry refuses."""
    check(who, "approve")
    try:
        registry_of(request).approve(name, version, actor=who["name"])
    except StewardError as exc:
        if not _refused(exc):
            raise
        return _model_page(request, name, status_of(exc), f"Not approved: {exc}", "approve")
    return _see(f"/models/{quote(name)}?flash=approved")


@router.post("/models/{name}/incidents")
def open_incident(request: Request, name: str, title: str = Form(""), severity: str = Form(""),
                  description: str = Form(""), version: str = Form(""), who: dict = Depends(form_user)) -> Response:
    """Open an incident on the model (or one of its versions)."""
    check(who, "incident_open")
    try:
        inc = registry_of(request).open_incident(name, title=title, severity=severity, description=description,
                                                 version=version or None, actor=who["name"])
    except StewardError as exc:
        if not _refused(exc):
            raise
        form = {"title": title, "severity": severity, "description": description, "version": version}
        return _model_page(request, name, status_of(exc), f"The incident was not opened: {exc}", "incident", form)
    return _see(f"/incidents/{inc['id']}?flash=opened")


@router.get("/audits/{run_id}/report.html")
def audit_report(request: Request, run_id: IdPath, who: dict = Depends(user)) -> Response:
    """A stored audit report, for the frame on the model page (sandboxed: it was uploaded)."""
    return HTMLResponse(registry_of(request).audit_run(run_id)["report_html"], headers=UPLOADED)


@router.get("/audits/{run_id}/model_card.md")
def audit_card(request: Request, run_id: IdPath, who: dict = Depends(user)) -> Response:
    """A stored model card, as Markdown to download."""
    return PlainTextResponse(registry_of(request).audit_run(run_id)["model_card"],
                             headers=UPLOADED | {"Content-Disposition": f'attachment; filename="model_card_{run_id}.md"'})


# --- incidents ------------------------------------------------------------------------------------------------


def _incident_page(request: Request, incident_id: int, status: int = 200, error: str | None = None,
                   form: dict[str, Any] | None = None) -> Response:
    inc = registry_of(request).incident(incident_id)
    return render(request, "incident.html", status=status, error=error, form=form or {}, inc=inc,
                  next_status=NEXT_STATUS.get(inc["status"]), flash=FLASH.get(request.query_params.get("flash", "")))


@router.get("/incidents/{incident_id}")
def incident_page(request: Request, incident_id: IdPath, who: dict = Depends(user)) -> Response:
    """An incident: status, severity, description, checklist and timeline, with the update form."""
    return _incident_page(request, incident_id)


@router.post("/incidents/{incident_id}")
def update_incident(request: Request, incident_id: IdPath, note: str = Form(""), status: str = Form(""),
                    done: list[int] = Form([]), who: dict = Depends(form_user)) -> Response:
    """Add a note, move the status one step on, and/or tick checklist items."""
    check(who, "incident_update")
    try:
        registry_of(request).update_incident(incident_id, note=note.strip() or None, status=status or None,
                                             done=done, actor=who["name"])
    except StewardError as exc:
        if not _refused(exc):
            raise
        form = {"note": note, "status": status, "done": done}
        return _incident_page(request, incident_id, status_of(exc), f"The incident was not updated: {exc}", form)
    return _see(f"/incidents/{incident_id}?flash=updated")
