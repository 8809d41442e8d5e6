"""Acceptances (executives), reproductions (validators), and the evidence they rest on."""

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from steward.governance import Registry
from steward.web._auth import registry, require

router = APIRouter(tags=["evidence"])


class AcceptanceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    check: str = Field(max_length=100, pattern=r"^[a-z_]{1,100}$", description="the check accepted")
    reason: str = Field(min_length=1, max_length=5000)
    until: str = Field(max_length=40, description="YYYY-MM-DD (or an ISO datetime); at most a year ahead")


class ReproductionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    report: dict[str, Any] = Field(description="report.json of the independent re-run")
    audit_run: int | None = Field(default=None, ge=1, le=2**31 - 1)


@router.post("/api/models/{name}/versions/{version}/acceptances", status_code=201)
def accept(name: str, version: str, body: AcceptanceIn, reg: Registry = Depends(registry),
           who=Depends(require("accept"))) -> dict:
    """An executive accepts a failing or not-evidenced check of this version until a date."""
    return reg.accept(name, version, check=body.check, reason=body.reason, until=body.until, actor=who["name"])


@router.get("/api/models/{name}/versions/{version}/acceptances")
def acceptances(name: str, version: str, reg: Registry = Depends(registry), _=Depends(require("read"))) -> list[dict]:
    return reg.acceptances(name, version)


@router.post("/api/models/{name}/versions/{version}/reproductions", status_code=201)
def reproduce(name: str, version: str, body: ReproductionIn, reg: Registry = Depends(registry),
              who=Depends(require("reproduce"))) -> dict:
    """Record a validator's re-run; the registry compares it with the stored audit and decides the outcome."""
    return reg.record_reproduction(name, version, report=body.report, audit_run=body.audit_run, actor=who["name"])


@router.get("/api/audits/{run_id}/report.json")
def audit_report(run_id: int, reg: Registry = Depends(registry), _=Depends(require("read"))) -> dict:
    """The report.json of an audit run, as uploaded."""
    return reg.audit_report(run_id)


@router.get("/api/policies/{sha256}")
def policy(sha256: str, reg: Registry = Depends(registry), _=Depends(require("read"))) -> dict:
    """A policy the registry has held audits to, by SHA-256."""
    return {"sha256": sha256, "text": reg.policy_text(sha256)}
