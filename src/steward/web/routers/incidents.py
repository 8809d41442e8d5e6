from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import Field

from steward.governance import Registry
from steward.web._auth import registry, require
from steward.web._inputs import IdPath, In, IncidentStatus, ModelName, Severity, Text, TextQuery, VersionName
from steward.web._openapi import errors

router = APIRouter(tags=["incidents"])


class IncidentIn(In):
    model: ModelName
    version: VersionName | None = None
    title: Text(300, min_length=1)
    severity: Severity
    description: Text() = ""


class UpdateIn(In):
    note: Text() | None = None
    status: IncidentStatus | None = None
    done: list[Annotated[int, Field(ge=0, le=10_000)]] = Field(
        default=[], max_length=10_000, description="checklist items done, numbered from 0")


@router.get("/api/incidents", responses=errors(404))
def list_incidents(model: Annotated[ModelName | None, Query(description="only this model's incidents")] = None,
                   status: IncidentStatus | None = None,
                   team: TextQuery(200, "only the incidents of this team's models (an unknown team is a 404)") = None,
                   reg: Registry = Depends(registry), _=Depends(require("read"))) -> list[dict]:
    return reg.incidents(model=model, status=status, team=team)


@router.post("/api/incidents", status_code=201, responses=errors(404))
def open_incident(body: IncidentIn, reg: Registry = Depends(registry), who=Depends(require("incident_open"))) -> dict:
    return reg.open_incident(body.model, version=body.version, title=body.title, severity=body.severity,
                             description=body.description, actor=who["name"])


@router.get("/api/incidents/{incident_id}")
def get_incident(incident_id: IdPath, reg: Registry = Depends(registry), _=Depends(require("read"))) -> dict:
    return reg.incident(incident_id)


@router.post("/api/incidents/{incident_id}/updates", responses=errors(409))
def update_incident(incident_id: IdPath, body: UpdateIn, reg: Registry = Depends(registry),
                    who=Depends(require("incident_update"))) -> dict:
    return reg.update_incident(incident_id, note=body.note, status=body.status, done=body.done, actor=who["name"])
