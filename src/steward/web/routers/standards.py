"""The central team's console over HTTP: every model and team against the standards (JSON, CSV or Markdown),
the weekly digest and posting it to a webhook the operator allows, teams and their members, a model's owner
team, and acknowledging a monitor's alert."""

from __future__ import annotations

import hmac
import os
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Response
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, Field

from steward.errors import StewardError
from steward.governance import Registry
from steward.governance._refused import text_problem
from steward.web._auth import registry, require
from steward.web._errors import error_body
from steward.web._inputs import IdPath, In, NamePath, Text, TextQuery
from steward.web._openapi import errors

__all__ = ["router", "WEBHOOKS_ENV", "allowed_webhooks"]

router = APIRouter(tags=["standards and teams"])

WEBHOOKS_ENV = "STEWARD_DIGEST_WEBHOOKS"
_MEDIA = {"csv": "text/csv; charset=utf-8", "md": "text/markdown; charset=utf-8"}
_FORMATS = {200: {"description": "the report as JSON (format=json), CSV (format=csv) or Markdown (format=md)",
                  "content": {"application/json": {}, "text/csv": {}, "text/markdown": {}}}}
_RECEIVER_FAILED = {502: {"description": "The webhook could not be reached or did not answer 2xx; the message says "
                                         "what it answered.",
                          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}}}


def _storable(value: str) -> str:
    problem = text_problem(value)
    if problem:
        raise ValueError(problem)
    return value


TeamPath = Annotated[str, Path(min_length=1, max_length=200, description="the team's name"),
                     AfterValidator(_storable)]
PrincipalPath = Annotated[str, Path(min_length=1, max_length=200, description="the principal's name"),
                          AfterValidator(_storable)]
TeamQuery = TextQuery(200, "only this team's models (an unknown team is a 404 naming the teams)")
AtQuery = TextQuery(64, "judge as of this date or ISO datetime (default now), e.g. 2026-12-01 or "
                        "2026-12-01T09:00:00+00:00")
Format = Annotated[Literal["json", "csv", "md"], Query(alias="format", description="json, csv (one row per model "
                                                                                  "and rule) or md (Markdown)")]
Days = Annotated[int, Query(ge=1, le=366, description="what changed over this many days before `at`")]


def _render(report: dict[str, Any], fmt: str) -> Any:
    from steward.governance._standards_report import to_csv, to_markdown

    if fmt == "json":
        return report
    return Response(to_csv(report) if fmt == "csv" else to_markdown(report), media_type=_MEDIA[fmt])


# --- the standards ------------------------------------------------------------------------------------


@router.get("/api/standards", response_model=None, responses={**_FORMATS, **errors(404)})
def standards(team: TeamQuery = None, at: AtQuery = None,
              trend_points: Annotated[int, Query(ge=1, le=60, description="points of the adoption trend, one "
                                                                          "every 30 days")] = 6,
              fmt: Format = "json", reg: Registry = Depends(registry), _=Depends(require("read"))) -> Any:
    """Every model (of ``team``) against every standard at ``at``: the shortfalls sorted by severity and age, the
    per-team tables and practice adoption measured from evidence (schema ``steward.standards/1``)."""
    return _render(reg.standards(at=at, team=team, trend_points=trend_points), fmt)


@router.get("/api/standards/digest", response_model=None, responses={**_FORMATS, **errors(404)})
def standards_digest(team: TeamQuery = None, at: AtQuery = None, days: Days = 7, fmt: Format = "json",
                     reg: Registry = Depends(registry), _=Depends(require("read"))) -> Any:
    """The report at ``at`` with what changed over the ``days`` before: shortfalls new and resolved, and
    practice adoption that moved."""
    return _render(reg.standards_digest(at=at, team=team, days=days), fmt)


class DigestPostIn(In):
    url: Annotated[str, Field(pattern=r"^https?://\S+$", max_length=2000, description=(
        f"where to post: exactly one of the URLs the server's operator lists in {WEBHOOKS_ENV}"))]
    team: Text(200, min_length=1) | None = None
    days: int = Field(default=7, ge=1, le=366, description="what changed over this many days")


def allowed_webhooks() -> list[str]:
    """The URLs the operator allows the digest to be posted to (``STEWARD_DIGEST_WEBHOOKS``, comma-separated)."""
    return [u.strip() for u in os.environ.get(WEBHOOKS_ENV, "").split(",") if u.strip()]


@router.post("/api/standards/digest/post", response_model=None, responses={**errors(404), **_RECEIVER_FAILED})
def post_standards_digest(body: DigestPostIn, reg: Registry = Depends(registry), _=Depends(require("digest"))) -> Any:
    """Post the weekly digest (``{"text": Markdown, "digest": report}``, signed with ``STEWARD_WEBHOOK_SECRET`` when
    set) to a webhook.

    The server makes the request, so a URL chosen by the client would let a caller make the server reach any
    address it can (internal services, cloud metadata endpoints): server-side request forgery. The server
    therefore posts only to a URL its operator lists in ``STEWARD_DIGEST_WEBHOOKS`` (comma-separated, compared
    exactly); any other URL is refused with a 400 before a request is made, and redirects are not followed.
    The list is not shown to callers, since a webhook's URL often holds its secret."""
    from steward.governance._standards_report import post_digest

    allowed = allowed_webhooks()
    if not allowed:
        raise StewardError(f"url: this server posts the digest to no webhook: its operator lists the allowed URLs "
                           f"in {WEBHOOKS_ENV} (comma-separated), and none is set")
    # compared in constant time: a listed URL often holds its webhook's secret
    sent = body.url.encode("utf-8", "surrogatepass")
    if not any(hmac.compare_digest(sent, u.encode("utf-8", "surrogatepass")) for u in allowed):
        raise StewardError(f"url: {body.url[:200]!r} is not one of the {len(allowed)} webhook URL(s) the operator "
                           f"allows in {WEBHOOKS_ENV}; give one of those exactly, or ask the operator to add it")
    digest = reg.standards_digest(team=body.team, days=body.days)
    try:
        status = post_digest(body.url, digest)
    except StewardError as exc:
        message = "url: " + str(exc).removeprefix("--webhook: ")
        return JSONResponse(error_body(502, message), status_code=502)
    return {"posted": body.url, "status": status, "shortfalls": digest["summary"]["shortfalls"]}


# --- teams --------------------------------------------------------------------------------------------


class TeamIn(In):
    name: Text(100, min_length=1, description="letters, digits, single spaces and . _ & -, starting with a letter "
                                              "or digit")
    contact: Text(300, min_length=1, description="where the central team reaches the team (an address or channel)")
    description: Text() = ""


class MemberIn(In):
    principal: Text(200, min_length=1, description="a principal's name, as `steward keys list` shows it")


class ModelTeamIn(In):
    team: Text(200, min_length=1, description="the team that owns the model from now on")


@router.get("/api/teams")
def list_teams(reg: Registry = Depends(registry), _=Depends(require("read"))) -> list[dict]:
    """Every team with its contact, members and models."""
    return reg.teams()


@router.get("/api/teams/{name}")
def get_team(name: TeamPath, reg: Registry = Depends(registry), _=Depends(require("read"))) -> dict:
    return reg.team(name)


@router.post("/api/teams", status_code=201, responses=errors(409))
def create_team(body: TeamIn, reg: Registry = Depends(registry), who=Depends(require("teams"))) -> dict:
    return reg.create_team(body.name, contact=body.contact, description=body.description, actor=who["name"])


@router.post("/api/teams/{name}/members", responses=errors(409))
def add_team_member(name: TeamPath, body: MemberIn, reg: Registry = Depends(registry),
                    who=Depends(require("teams"))) -> dict:
    """Add a principal to the team; the team as it is now."""
    return reg.add_team_member(name, body.principal, actor=who["name"])


@router.delete("/api/teams/{name}/members/{principal:path}")
def remove_team_member(name: TeamPath, principal: PrincipalPath, reg: Registry = Depends(registry),
                       who=Depends(require("teams"))) -> dict:
    """Take a principal out of the team; the team as it is now."""
    return reg.remove_team_member(name, principal, actor=who["name"])


@router.put("/api/models/{name}/team", responses=errors(409))
def set_model_team(name: NamePath, body: ModelTeamIn, reg: Registry = Depends(registry),
                   who=Depends(require("teams"))) -> dict:
    """Make a team the model's owner team (the trail keeps the one before); the model as it is now."""
    return reg.set_model_team(name, body.team, actor=who["name"])


# --- alerts -------------------------------------------------------------------------------------------


class AcknowledgeIn(In):
    note: Text(min_length=1, description="what is being done about the alert")


@router.post("/api/monitors/alerts/{alert_id}/acknowledge", responses=errors(409))
def acknowledge_alert(alert_id: IdPath, body: AcknowledgeIn, reg: Registry = Depends(registry),
                      who=Depends(require("acknowledge"))) -> dict:
    """Say an alert was seen and what is being done; until then the standards count it as unacknowledged. An
    alert is acknowledged once (a second time is a 409 naming who did it and when)."""
    return reg.acknowledge_alert(alert_id, note=body.note, actor=who["name"])
