"""The harm report pages: a plain public form to report a suspected harm and follow it (no login), and
the triage queue for operators and administrators (server-rendered, no script).

The public form cannot rely on a login session, since its senders have none, and opening a server-side
session for every stranger would let anyone fill that table. So it carries a signed double-submit token:
the page sets a random nonce in an HttpOnly, SameSite=Strict cookie and puts HMAC-SHA256 of the nonce
under the app's secret in the form (as the login form does, under another label). A page on another site
can neither read the cookie nor compute the token, and the browser does not send a SameSite=Strict cookie
with a cross-site POST; so another site cannot make a visitor's browser file reports from the visitor's
address (spending its throttle, or putting words in its name). Throttling per address is the API's
(:func:`steward.web.routers.harm.throttle`), shared by both.

After sending, the page shows the report's number and the status link holding the token: the only time
the token is shown. Markup in a report is text everywhere it is shown (the templates escape it).
"""

from __future__ import annotations

import hmac
import math
import secrets
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from steward.errors import StewardError, Throttled
from steward.governance import SEVERITIES
from steward.governance._harm import MAX_CONTACT, MAX_OUTCOME, MAX_WHAT, clean_report
from steward.web._auth import check
from steward.web._auth import registry as registry_of
from steward.web._errors import status_of
from steward.web._inputs import IdPath
from steward.web._pages_core import PageRoute, csrf_token, form_user, render, set_cookie, user
from steward.web.routers.harm import sender, status_path, throttle

__all__ = ["router", "REPORT_COOKIE"]

router = APIRouter(route_class=PageRoute, include_in_schema=False)

REPORT_COOKIE = "steward_report"
FLASH = {
    "linked": "The report is linked to the incident.",
    "opened": "An incident has been opened for the report and linked to it.",
    "updated": "The report has been updated; the reporter sees its status and outcome.",
}
VIEWS = {"open": ("new", "triaged"), "new": ("new",), "triaged": ("triaged",), "closed": ("closed",),
         "all": ("new", "triaged", "closed")}


# --- the public form ---------------------------------------------------------------------------------


def _form_token(request: Request, nonce: str) -> str:
    return csrf_token(request, f"report-harm:{nonce}")


def _token_ok(request: Request, sent: Any) -> bool:
    nonce = request.cookies.get(REPORT_COOKIE)
    return bool(nonce) and isinstance(sent, str) and hmac.compare_digest(
        sent.encode("utf-8", "surrogatepass"), _form_token(request, nonce).encode())


def _report_form(request: Request, status: int = 200, error: str | None = None,
                 form: dict[str, str] | None = None, headers: dict[str, str] | None = None) -> Response:
    nonce = request.cookies.get(REPORT_COOKIE) or secrets.token_urlsafe(24)
    response = render(request, "report_harm.html", status=status, error=error, form=form or {},
                      form_csrf=_form_token(request, nonce), max_what=MAX_WHAT, max_contact=MAX_CONTACT)
    if request.cookies.get(REPORT_COOKIE) != nonce:
        set_cookie(request, response, REPORT_COOKIE, nonce)
    response.headers.update(headers or {})
    return response


@router.get("/report-harm")
def report_form(request: Request, prediction_id: str = "") -> Response:
    """The public form: what happened, the decision's prediction id if known, how to reach the reporter."""
    return _report_form(request, form={"prediction_id": prediction_id[:40]})


@router.post("/report-harm")
def send_report(request: Request, what: str = Form(""), contact: str = Form(""), prediction_id: str = Form(""),
                csrf: str = Form("")) -> Response:
    """File the report (throttled per address), then show its number and the status link with its token."""
    form = {"what": what, "contact": contact, "prediction_id": prediction_id}
    if not _token_ok(request, csrf):
        return _report_form(request, 403, "The form had expired or did not come from this site, so nothing was "
                                          "sent. Please check your report and send it again.", form)
    try:
        fields = clean_report(what, contact, prediction_id)  # a mistake is not counted against the sender
        throttle(request, "report")
        out = registry_of(request).file_harm_report(*fields, address=sender(request))
    except Throttled as exc:
        return _report_form(request, 429, f"Your report was not sent: {exc}.", form,
                            {"Retry-After": str(max(1, math.ceil(exc.retry_after)))})
    except StewardError as exc:
        return _report_form(request, 400, f"Your report was not sent: {exc}.", form)
    link = status_path(out["id"], out["token"])
    return render(request, "report_harm_sent.html", report=out, link=link,
                  full_link=str(request.base_url).rstrip("/") + link)


@router.get("/report-harm/status")
def report_status(request: Request, id: str = "", token: str = "") -> Response:
    """The reporter's view: the status of their report and the outcome they are told (number and token)."""
    if not id and not token:
        return render(request, "report_harm_status.html", report=None)
    try:
        throttle(request, "read")
    except Throttled as exc:
        response = render(request, "error.html", status=429, title="Please wait a little",
                          message=f"{exc}.", status_code=429)
        response.headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
        return response
    number = int(id) if id.isdigit() and len(id) < 10 else 0
    report = registry_of(request).harm_report_status(number, token)  # NotFoundError: the 404 page
    return render(request, "report_harm_status.html", report=report)


# --- triage -------------------------------------------------------------------------------------------


def _triage_page(request: Request, view: str = "open", status: int = 200, error: str | None = None,
                 error_at: int | None = None, form: dict[str, Any] | None = None) -> Response:
    reg = registry_of(request)
    view = view if view in VIEWS else "open"
    every = reg.harm_reports()
    reports = [r for r in every if r["status"] in VIEWS[view]]
    counts = {s: sum(r["status"] == s for r in every) for s in ("new", "triaged", "closed")}
    incidents = [i for i in reg.incidents() if i["status"] != "resolved"]
    return render(request, "harm_reports.html", status=status, error=error, error_at=error_at, form=form or {},
                  reports=reports, view=view, views=list(VIEWS), counts=counts, incidents=incidents,
                  models=[m["name"] for m in reg.models()], severities=SEVERITIES, max_outcome=MAX_OUTCOME,
                  flash=FLASH.get(request.query_params.get("flash", "")))


@router.get("/harm-reports")
def triage_queue(request: Request, view: str = "open", who: dict = Depends(user)) -> Response:
    """The triage queue: reports from outside with their prediction, contact, incident and outcome."""
    check(who, "harm_triage")
    return _triage_page(request, view)


@router.post("/harm-reports/{report_id}")
def triage(request: Request, report_id: IdPath, action: str = Form(""), incident_id: str = Form(""),
           model: str = Form(""), title: str = Form(""), severity: str = Form(""), outcome: str = Form(""),
           status: str = Form(""), view: str = Form("open"), who: dict = Depends(form_user)) -> Response:
    """One triage action on a report: ``link`` an incident, ``open`` one, or set the ``outcome`` and status."""
    check(who, "harm_triage")
    reg = registry_of(request)
    form = {"action": action, "incident_id": incident_id, "model": model, "title": title, "severity": severity,
            "outcome": outcome, "status": status}
    reg.harm_report(report_id)  # a report that does not exist: the 404 page
    try:
        if action == "link":
            if not incident_id.strip().isdigit() or len(incident_id.strip()) > 9:
                raise StewardError("choose the incident to link")
            reg.triage_harm_report(report_id, actor=who["name"], incident_id=int(incident_id))
        elif action == "open":
            reg.triage_harm_report(report_id, actor=who["name"], open_incident={
                "model": model or None, "title": title, "severity": severity})
        elif action == "outcome":
            reg.triage_harm_report(report_id, actor=who["name"], outcome=outcome, status=status or None)
        else:
            raise StewardError("the form did not say what to do; reload the page and try again")
    except StewardError as exc:  # a rule said no, bad input, or an incident or model that does not exist
        return _triage_page(request, view, status_of(exc), f"Report #{report_id} was not changed: {exc}",
                            report_id, form)
    flash = {"link": "linked", "open": "opened"}.get(action, "updated")
    view = view if view in VIEWS else "open"
    return RedirectResponse(f"/harm-reports?view={view}&flash={flash}#report-{report_id}", status_code=303)
