"""Harm reports from outside: filed and followed without a key, triaged by operators and administrators.

``POST /api/harm-reports`` and ``GET /api/harm-reports/{id}?token=...`` need no key: anyone may report a
suspected harm, and read the status and outcome of their report with the token they were given. Both
are throttled per sender address, with the guard's token buckets (in each process, or shared through
Redis with ``STEWARD_REDIS_URL``): at most :data:`REPORTS_BURST` reports at once from one address,
refilled at :data:`REPORTS_PER_HOUR` an hour, so a person can send what they have to say while a
script filling the triage queue is answered 429 with ``Retry-After``. An IPv6 sender is counted by its
/64 network (one subscriber's usual allocation), or each of its addresses would get a bucket of its
own. The address is the one the server sees: uvicorn takes it from ``X-Forwarded-For`` only when the
proxy is in its ``forwarded_allow_ips`` (127.0.0.1 by default). Buckets are named by the keyed
digest of the address, never the address itself.

Listing and triaging reports need ``harm_triage`` (reports hold reporters' contacts).
"""

from __future__ import annotations

import ipaddress
import threading
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import Field

from steward.errors import Throttled
from steward.governance import Registry
from steward.governance._harm import HARM_STATUSES, MAX_CONTACT, MAX_OUTCOME, MAX_WHAT, clean_report
from steward.web._auth import registry, require
from steward.web._inputs import ID_MAX, IdPath, In, ModelName, Severity, Text, VersionName
from steward.web._openapi import errors

__all__ = ["router", "sender", "throttle", "status_path", "REPORTS_PER_HOUR", "REPORTS_BURST"]

router = APIRouter(tags=["harm reports"])

REPORTS_PER_HOUR, REPORTS_BURST = 18.0, 3  # three at once, then one every 200 s: three per ten minutes
READS_PER_SECOND, READS_BURST = 1.0, 30  # the reporter's status page
_LIMITS = {"report": (REPORTS_PER_HOUR / 3600, REPORTS_BURST), "read": (READS_PER_SECOND, READS_BURST)}
_state_lock = threading.Lock()

_RETRY = {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds until the address may send again"}}
_THROTTLED = {429: {"description": "Too many requests from the sender's address; Retry-After says when to send "
                                   "again.", "headers": _RETRY}}


def sender(request: Request) -> str:
    """The sender's address as throttled: an IPv4 address, an IPv6 /64 network, or what the server saw."""
    host = request.client.host if request.client else ""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host or "unknown"
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _state(request: Request) -> Any:
    state = request.app.state
    with _state_lock:
        if getattr(state, "harm_state", None) is None:
            from steward.serving._state import make_state

            state.harm_state = make_state()
        return state.harm_state


def throttle(request: Request, kind: str = "report") -> None:
    """Take one token from the sender's bucket for ``kind`` (``report`` or ``read``), else :class:`Throttled`."""
    rate, burst = _LIMITS[kind]
    reg: Registry = request.app.state.registry
    bucket = f"harm-{kind}:{reg.harm_address_digest(sender(request))[:32]}"
    wait = _state(request).take(bucket, 1.0, rate, burst)
    if wait > 0:
        if kind == "report":
            raise Throttled(f"too many harm reports from your address: at most {REPORTS_BURST} at once, then one "
                            f"every {round(3600 / REPORTS_PER_HOUR)} seconds; send again in {_minutes(wait)}", wait)
        raise Throttled(f"too many requests from your address; try again in {_minutes(wait)}", wait)


def _minutes(seconds: float) -> str:
    return f"{max(1, round(seconds))} seconds" if seconds < 90 else f"{round(seconds / 60)} minutes"


def status_path(report_id: int, token: str) -> str:
    """The reporter's status page: the link to keep."""
    return f"/report-harm/status?{urlencode({'id': report_id, 'token': token})}"


class HarmReportIn(In):
    what: Text(MAX_WHAT, min_length=1, description="what happened: who was affected, when, by which decision")
    contact: Text(MAX_CONTACT, description="how to reach the reporter (optional; only triagers read it)") = ""
    prediction_id: Text(40, description="the decision's prediction id, if the reporter has one") | None = None


class OpenIncidentIn(In):
    model: ModelName | None = Field(default=None, description="default: the reported prediction's model")
    version: VersionName | None = None
    title: Text(300, min_length=1)
    severity: Severity
    description: Text(MAX_WHAT) = ""


class TriageIn(In):
    status: Literal[HARM_STATUSES[1:]] | None = None
    incident_id: Annotated[int, Field(ge=1, le=ID_MAX)] | None = Field(default=None,
                                                                       description="link this existing incident")
    open_incident: OpenIncidentIn | None = Field(default=None, description="open an incident and link it")
    outcome: Text(MAX_OUTCOME, description="what the reporter is told") | None = None


@router.post("/api/harm-reports", status_code=201, responses={
    200: {"description": "The same report from the same address within a day: the earlier report's number and "
                         "token (duplicate true)."}} | _THROTTLED)
def file_harm_report(body: HarmReportIn, request: Request, response: Response,
                     reg: Registry = Depends(registry)) -> dict:
    """Report a suspected harm, without a key. Keep the answer's ``token``: with the report's ``id`` it reads
    the report's status and outcome (``status_url``)."""
    fields = clean_report(body.what, body.contact, body.prediction_id)  # a mistake is not counted against the sender
    throttle(request, "report")
    out = reg.file_harm_report(*fields, address=sender(request))
    if out["duplicate"]:
        response.status_code = 200
    return out | {"status_url": status_path(out["id"], out["token"])}


@router.get("/api/harm-reports/{report_id}", responses=_THROTTLED)
def harm_report_status(report_id: IdPath, request: Request,
                       token: Annotated[str, Query(min_length=1, max_length=100,
                                                   description="the token given when the report was sent")],
                       reg: Registry = Depends(registry)) -> dict:
    """The reporter's view of their report, without a key: its status and the outcome they are told."""
    throttle(request, "read")
    return reg.harm_report_status(report_id, token)


@router.get("/api/harm-reports")
def list_harm_reports(status: Literal[HARM_STATUSES] | None = None, reg: Registry = Depends(registry),
                      _=Depends(require("harm_triage"))) -> list[dict]:
    """The triage queue, newest first, with reporters' contacts."""
    return reg.harm_reports(status=status)


@router.post("/api/harm-reports/{report_id}/triage", responses=errors(409))
def triage_harm_report(report_id: IdPath, body: TriageIn, reg: Registry = Depends(registry),
                       who=Depends(require("harm_triage"))) -> dict:
    """Link an incident or open one, set the outcome the reporter is told, move the status on."""
    opening = body.open_incident.model_dump() if body.open_incident is not None else None
    return reg.triage_harm_report(report_id, actor=who["name"], status=body.status, incident_id=body.incident_id,
                                  open_incident=opening, outcome=body.outcome)
