from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, PlainTextResponse
from pydantic import Field

from steward.governance import Registry
from steward.web._auth import registry, require
from steward.web._inputs import (
    IdPath,
    In,
    JsonObject,
    ModelName,
    ModelStatus,
    NamePath,
    Sha256,
    Text,
    TextQuery,
    VersionName,
    VersionPath,
)
from steward.web._openapi import errors

router = APIRouter(tags=["models"])


class ModelIn(In):
    name: ModelName
    purpose: Text() = ""
    domain: Text(100, description="one of the policy's domains") = "other"
    owner: Text(200) = ""
    accountable_executive: Text(200) = ""
    team: Text(200, min_length=1, description="the team that owns the model (an existing team)") | None = None


class VersionIn(In):
    version: VersionName
    artifact_uri: Text() | None = None
    artifact_sha256: Sha256 | None = None
    training_data_sha256: Sha256 | None = None
    environment: JsonObject | None = Field(default=None, description="captured by the client; the server's when absent")
    seeds: JsonObject = Field(default_factory=dict)
    code_revision: Text(100) | None = None
    privacy: JsonObject | None = Field(default=None, description=(
        "how the version was trained with differential privacy: the \"record\" of private_training.json, with "
        "mechanism (text), epsilons (the positive budgets tried), delta (0 <= delta < 1) and chosen_epsilon (null or "
        "one of epsilons); other keys are kept"))


class RiskIn(In):
    answers: JsonObject = Field(description="answers to the policy's risk questions")


class AuditIn(In):
    report: JsonObject = Field(description="report.json as written by steward audit")
    report_html: Text()
    model_card: Text()
    context: JsonObject | None = Field(default=None, description=(
        "where the audit ran, as steward audit --register says: ci (service, run, url; null outside CI), gate "
        "(whether the command failed on a failing finding) and command; kept as the recorder's claim"))


@router.get("/api/models", responses=errors(404))
def list_models(tier: TextQuery(100, "only models in this risk tier") = None, status: ModelStatus | None = None,
                owner: TextQuery(200, "only models whose owner contains this (any case)") = None,
                failing: bool | None = None,
                team: TextQuery(200, "only models of this team (an unknown team is a 404 naming the teams)") = None,
                reg: Registry = Depends(registry), _=Depends(require("read"))) -> list[dict]:
    return reg.models(tier=tier, status=status, owner=owner, failing=failing, team=team)


@router.post("/api/models", status_code=201, responses=errors(404, 409))
def register_model(body: ModelIn, reg: Registry = Depends(registry), who=Depends(require("register"))) -> dict:
    return reg.register_model(body.name, actor=who["name"], purpose=body.purpose, domain=body.domain,
                              owner=body.owner, accountable_executive=body.accountable_executive, team=body.team)


@router.get("/api/models/{name}")
def get_model(name: NamePath, reg: Registry = Depends(registry), _=Depends(require("read"))) -> dict:
    return reg.model(name)


@router.post("/api/models/{name}/versions", status_code=201, responses=errors(409))
def register_version(name: NamePath, body: VersionIn, reg: Registry = Depends(registry), who=Depends(require("register"))) -> dict:
    return reg.register_version(name, body.version, actor=who["name"], **body.model_dump(exclude={"version"}))


class ProfileIn(In):
    profile: JsonObject = Field(description="the training profile (steward.serving.build_profile(...).to_dict())")


@router.post("/api/models/{name}/versions/{version}/profile", status_code=201, responses=errors(404, 409))
def record_profile(name: NamePath, version: VersionPath, body: ProfileIn, reg: Registry = Depends(registry),
                   who=Depends(require("register"))) -> dict:
    return reg.record_profile(name, version, body.profile, actor=who["name"])


@router.get("/api/models/{name}/versions/{version}")
def get_version(name: NamePath, version: VersionPath, reg: Registry = Depends(registry), _=Depends(require("read"))) -> dict:
    return reg.version(name, version)


@router.post("/api/models/{name}/risk", status_code=201)
def assess_risk(name: NamePath, body: RiskIn, reg: Registry = Depends(registry), who=Depends(require("assess"))) -> dict:
    return reg.assess_risk(name, body.answers, actor=who["name"])


@router.post("/api/models/{name}/versions/{version}/audits", status_code=201)
def record_audit(name: NamePath, version: VersionPath, body: AuditIn, reg: Registry = Depends(registry),
                 who=Depends(require("register"))) -> dict:
    return reg.record_audit_report(name, version, report=body.report, report_html=body.report_html,
                                   model_card=body.model_card, actor=who["name"], context=body.context)


@router.post("/api/models/{name}/versions/{version}/approve", responses=errors(409))
def approve(name: NamePath, version: VersionPath, reg: Registry = Depends(registry), who=Depends(require("approve"))) -> dict:
    return reg.approve(name, version, actor=who["name"])


@router.get("/api/audits/{run_id}")
def get_audit(run_id: IdPath, reg: Registry = Depends(registry), _=Depends(require("read"))) -> dict:
    run = reg.audit_run(run_id)
    return {k: v for k, v in run.items() if k not in ("report_html", "report_json", "model_card")}


# Stored reports were uploaded by whoever recorded the audit; served from our own origin, they must
# not be able to run script as the person reading them. Steward's reports need none.
UPLOADED = {"Content-Security-Policy": "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:",
             "X-Content-Type-Options": "nosniff"}


@router.get("/api/audits/{run_id}/report.html", response_class=HTMLResponse)
def get_audit_html(run_id: IdPath, reg: Registry = Depends(registry), _=Depends(require("read"))) -> HTMLResponse:
    return HTMLResponse(reg.audit_run(run_id)["report_html"], headers=UPLOADED)


@router.get("/api/audits/{run_id}/model_card.md", response_class=PlainTextResponse)
def get_audit_card(run_id: IdPath, reg: Registry = Depends(registry), _=Depends(require("read"))) -> PlainTextResponse:
    return PlainTextResponse(reg.audit_run(run_id)["model_card"], headers=UPLOADED)
