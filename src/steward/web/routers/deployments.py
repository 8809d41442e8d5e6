"""Deployments, the kill switch, the prediction log and the review queue; and the guarded endpoint.

``POST /api/deployments/{name}/predict`` takes ``{"row": {...}}`` or ``{"rows": [{...}, ...]}``. Each
row holds every feature of the model (null where missing), and may hold the sticky field (default
``subject_id``) and the protected attributes the guard records for monitoring. The guard's steps are
plain calls in this function, not middleware; the answer is released only after the log has committed.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import Field

from steward.errors import StewardError
from steward.governance import Registry
from steward.web._auth import key_from, registry, require
from steward.web._errors import error_body
from steward.web._inputs import NAME_PATTERN, In, JsonObject, Text, TextQuery
from steward.web._openapi import errors

router = APIRouter(tags=["deployments"])
predict_router = APIRouter(tags=["predictions"])

Ref = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}:[A-Za-z0-9][A-Za-z0-9._-]{0,99}$",
                           description="MODEL:VERSION")]
DeploymentName = Annotated[str, Field(pattern=NAME_PATTERN, max_length=200)]
MAX_ROWS = 10_000


class DeployIn(In):
    name: DeploymentName
    version: Ref
    backup: Ref | None = None
    benchmark: Ref | None = None
    guard: JsonObject | None = Field(default=None, description="guard settings over the tier's defaults (guard.yaml)")


class KillIn(In):
    reason: Text(2000, min_length=1)


def runtime(request: Request) -> Any:
    rt = getattr(request.app.state, "serving", None)
    if rt is None:
        from steward.web._serving import ServingRuntime

        rt = request.app.state.serving = ServingRuntime(request.app.state.registry)
    return rt


@router.get("/api/deployments", responses=errors(404))
def list_deployments(all: bool = Query(False, description="include replaced deployments"),
                     team: TextQuery(200, "only the deployments of this team's models (an unknown team is a 404)") = None,
                     reg: Registry = Depends(registry), _=Depends(require("read"))) -> list[dict]:
    return reg.deployments(include_replaced=all, team=team)


@router.post("/api/deployments", status_code=201, responses=errors(404, 409))
def deploy(body: DeployIn, reg: Registry = Depends(registry), who=Depends(require("deploy"))) -> dict:
    return reg.deploy(body.name, body.version, backup=body.backup, benchmark=body.benchmark, guard=body.guard,
                      actor=who["name"])


@router.get("/api/deployments/{name}", responses=errors(404))
def get_deployment(name: str, reg: Registry = Depends(registry), _=Depends(require("read"))) -> dict:
    return reg.deployment(name)


@router.post("/api/deployments/{name}/kill", responses=errors(404, 409))
def kill(name: str, body: KillIn, reg: Registry = Depends(registry), who=Depends(require("kill"))) -> dict:
    return reg.kill(name, reason=body.reason, actor=who["name"])


@router.post("/api/deployments/{name}/revive", responses=errors(404, 409))
def revive(name: str, reg: Registry = Depends(registry), who=Depends(require("kill"))) -> dict:
    return reg.revive(name, actor=who["name"])


@router.get("/api/deployments/{name}/log", responses=errors(404))
def prediction_log(name: str, since: datetime | None = None, until: datetime | None = None,
                   limit: int = Query(1000, ge=1, le=100_000), reg: Registry = Depends(registry),
                   _=Depends(require("log_export"))) -> list[dict]:
    return reg.prediction_log(name, since=since, until=until, limit=limit)


@router.get("/api/review")
def review_queue(deployment: DeploymentName | None = None,
                 status: str = Query("open", pattern="^(open|pending|awaiting_second|decided|all)$",
                                     description="open (no decision yet), pending (not decided: open or waiting for "
                                                 "a second reviewer), awaiting_second, decided or all"),
                 kind: Literal["decision", "appeal"] | None = None,
                 why: str | None = Query(None, max_length=200, description="part of a reason for review, such as "
                                                                          "near_threshold or appeal"),
                 older_than_hours: float | None = Query(None, ge=0, le=1e6, description="only items older than this"),
                 group: str | None = Query(None, max_length=200, pattern=r"^[^=]+=.*$",
                                           description="a recorded protected attribute, such as sex=Female"),
                 reg: Registry = Depends(registry), _=Depends(require("read"))) -> list[dict]:
    """Review items, oldest first, with filters. The reason codes name features without the person's values
    (``GET /api/review/{id}`` shows them to the roles the deployment's guard allows)."""
    items = reg.review_queue(deployment=deployment, status=status, kind=kind, why=why,
                             older_than_hours=older_than_hours, group=group)
    return [{**i, "reasons": [{k: v for k, v in r.items() if k != "value"} for r in i.get("reasons") or []]}
            for i in items]


def _rows(body: bytes) -> tuple[list[Any], bool]:
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise StewardError(f"the request body is not JSON ({exc}); send {{\"row\": {{...}}}} or "
                           f"{{\"rows\": [{{...}}, ...]}}") from None
    if isinstance(doc, dict) and set(doc) == {"row"}:
        return [doc["row"]], True
    if isinstance(doc, dict) and set(doc) == {"rows"} and isinstance(doc["rows"], list):
        if not doc["rows"]:
            raise StewardError("rows: the list is empty; send at least one row")
        if len(doc["rows"]) > MAX_ROWS:
            raise StewardError(f"rows: {len(doc['rows']):,} rows in one request; send at most {MAX_ROWS:,}")
        return doc["rows"], False
    raise StewardError("the body must be {\"row\": {feature: value, ...}} for one row or {\"rows\": [...]} for a "
                       "batch")


_ROW = {"type": "object", "description": "every feature of the model (null where missing); may add the sticky field "
                                        "(default subject_id) and the protected attributes the guard records",
        "additionalProperties": {"type": ["string", "number", "boolean", "null"]}}
_BODY = {"required": True, "content": {"application/json": {"schema": {"oneOf": [
    {"type": "object", "properties": {"row": _ROW}, "required": ["row"], "additionalProperties": False},
    {"type": "object", "properties": {"rows": {"type": "array", "items": _ROW, "minItems": 1, "maxItems": MAX_ROWS}},
     "required": ["rows"], "additionalProperties": False}]}}}}


@predict_router.post("/api/deployments/{name}/predict", responses=errors(400, 401, 403, 404, 422, 429, 503),
                     openapi_extra={"requestBody": _BODY})
async def predict(name: str, request: Request) -> Response:
    """Score one row or a batch through the deployment's guard; every answered row is logged before this
    returns. Each result: ``prediction_id``, ``decision``, ``score``, ``route``, ``flags``, ``reasons``,
    ``version`` (and ``review`` when a person will decide)."""
    rt = runtime(request)
    principal = rt.authenticate(key_from(request), name)
    guard, killed = await rt.guard(name)
    raw, single = _rows(await request.body())
    guard.throttle(principal["key_id"], len(raw))
    clean = guard.validate(raw)
    served = await guard.serve(raw, clean, key_id=principal["key_id"], killed=killed)
    try:
        await rt.log.write(served.predictions, served.reviews)
    except Exception:  # nothing of this request was stored, so nothing of it may be answered
        return JSONResponse(error_body(503, "the prediction log could not be written, so no decision is given; "
                                            "send the request again"), status_code=503,
                            headers={"Retry-After": "1"})
    if single:
        only = served.answers[0]
        if only["route"] == "refused":
            body = error_body(422, only["error"])
            return JSONResponse({**body, "result": only}, status_code=422)
        return JSONResponse({"deployment": name, **only})
    return JSONResponse({"deployment": name, "results": served.answers})
