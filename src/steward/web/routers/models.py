from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from steward.governance import Registry
from steward.web._auth import registry, require

router = APIRouter(tags=["models"])


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelIn(_In):
    name: str
    purpose: str = ""
    domain: str = "other"
    owner: str = ""
    accountable_executive: str = ""


class VersionIn(_In):
    version: str
    artifact_uri: str | None = None
    artifact_sha256: str | None = None
    training_data_sha256: str | None = None
    environment: dict[str, Any] | None = Field(default=None, description="captured by the client; the server's when absent")
    seeds: dict[str, Any] = Field(default_factory=dict)
    code_revision: str | None = None


class RiskIn(_In):
    answers: dict[str, Any]


class AuditIn(_In):
    report: dict[str, Any] = Field(description="report.json as written by steward audit")
    report_html: str
    model_card: str


@router.get("/api/models")
def list_models(tier: str | None = None, status: str | None = None, owner: str | None = None,
                failing: bool | None = None, reg: Registry = Depends(registry), _=Depends(require("read"))) -> list[dict]:
    return reg.models(tier=tier, status=status, owner=owner, failing=failing)


@router.post("/api/models", status_code=201)
def register_model(body: ModelIn, reg: Registry = Depends(registry), who=Depends(require("register"))) -> dict:
    return reg.register_model(body.name, actor=who["name"], purpose=body.purpose, domain=body.domain,
                              owner=body.owner, accountable_executive=body.accountable_executive)


@router.get("/api/models/{name}")
def get_model(name: str, reg: Registry = Depends(registry), _=Depends(require("read"))) -> dict:
    return reg.model(name)


@router.post("/api/models/{name}/versions", status_code=201)
def register_version(name: str, body: VersionIn, reg: Registry = Depends(registry), who=Depends(require("register"))) -> dict:
    return reg.register_version(name, body.version, actor=who["name"], **body.model_dump(exclude={"version"}))


@router.get("/api/models/{name}/versions/{version}")
def get_version(name: str, version: str, reg: Registry = Depends(registry), _=Depends(require("read"))) -> dict:
    return reg.version(name, version)


@router.post("/api/models/{name}/risk", status_code=201)
def assess_risk(name: str, body: RiskIn, reg: Registry = Depends(registry), who=Depends(require("register"))) -> dict:
    return reg.assess_risk(name, body.answers, actor=who["name"])


@router.post("/api/models/{name}/versions/{version}/audits", status_code=201)
def record_audit(name: str, version: str, body: AuditIn, reg: Registry = Depends(registry),
                 who=Depends(require("register"))) -> dict:
    return reg.record_audit_report(name, version, report=body.report, report_html=body.report_html,
                                   model_card=body.model_card, actor=who["name"])


@router.post("/api/models/{name}/versions/{version}/approve")
def approve(name: str, version: str, reg: Registry = Depends(registry), who=Depends(require("approve"))) -> dict:
    return reg.approve(name, version, actor=who["name"])


@router.get("/api/audits/{run_id}")
def get_audit(run_id: int, reg: Registry = Depends(registry), _=Depends(require("read"))) -> dict:
    run = reg.audit_run(run_id)
    return {k: v for k, v in run.items() if k not in ("report_html", "report_json", "model_card")}


# Stored reports were uploaded by whoever recorded the audit; served from our own origin, they must
# not be able to run script as the person reading them. Steward's reports need none.
_UPLOADED = {"Content-Security-Policy": "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:",
             "X-Content-Type-Options": "nosniff"}


@router.get("/api/audits/{run_id}/report.html", response_class=HTMLResponse)
def get_audit_html(run_id: int, reg: Registry = Depends(registry), _=Depends(require("read"))) -> HTMLResponse:
    return HTMLResponse(reg.audit_run(run_id)["report_html"], headers=_UPLOADED)


@router.get("/api/audits/{run_id}/model_card.md", response_class=PlainTextResponse)
def get_audit_card(run_id: int, reg: Registry = Depends(registry), _=Depends(require("read"))) -> PlainTextResponse:
    return PlainTextResponse(reg.audit_run(run_id)["model_card"], headers=_UPLOADED)
