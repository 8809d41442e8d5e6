from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict

from steward.governance import Registry
from steward.web._auth import registry, require

router = APIRouter(tags=["incidents"])


class IncidentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: str
    version: str | None = None
    title: str
    severity: str
    description: str = ""


class UpdateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = None
    status: str | None = None
    done: list[int] = []


@router.get("/api/incidents")
def list_incidents(model: str | None = None, status: str | None = None, reg: Registry = Depends(registry),
                   _=Depends(require("read"))) -> list[dict]:
    return reg.incidents(model=model, status=status)


@router.post("/api/incidents", status_code=201)
def open_incident(body: IncidentIn, reg: Registry = Depends(registry), who=Depends(require("incident_open"))) -> dict:
    return reg.open_incident(body.model, version=body.version, title=body.title, severity=body.severity,
                             description=body.description, actor=who["name"])


@router.get("/api/incidents/{incident_id}")
def get_incident(incident_id: int, reg: Registry = Depends(registry), _=Depends(require("read"))) -> dict:
    return reg.incident(incident_id)


@router.post("/api/incidents/{incident_id}/updates")
def update_incident(incident_id: int, body: UpdateIn, reg: Registry = Depends(registry),
                    who=Depends(require("incident_update"))) -> dict:
    return reg.update_incident(incident_id, note=body.note, status=body.status, done=body.done, actor=who["name"])
