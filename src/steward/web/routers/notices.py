"""Adverse-action notices of logged decisions, and each decision's outcome after review and appeal.

``GET /api/predictions/{id}/notice`` gives the person's notice of an adverse final decision (HTML by
default, ``?format=text`` for plain text): readable by every role that reads the registry, and by an
application's ``caller`` key scoped to the deployment that made the decision (which sends it on to the
person). A favourable decision has no notice (409), nor has one still with a reviewer (409).

``GET /api/deployments/{name}/outcomes`` lists what became of each logged decision (the model's decision,
a reviewer's, appeals, the final decision, the protected attributes the guard recorded): what
``steward audit-decisions --server`` audits. It holds protected attributes, so it is for those who may
export the prediction log.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from steward.errors import PermissionDenied
from steward.governance import Registry
from steward.governance._permissions import PERMISSIONS
from steward.web._auth import registry, require
from steward.web._openapi import errors

router = APIRouter(tags=["decisions"])

PredictionId = Annotated[str, PathParam(pattern=r"^p[0-9a-f]{24}$", description="a prediction id")]
# The page is one document with its own inline style: nothing else may load, nothing may run.
NOTICE_HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
                                              "form-action 'none'; frame-ancestors 'none'",
                  "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}


def may_read_notice(reg: Registry, principal: dict[str, Any], prediction_id: str) -> None:
    """Every reading role; a caller key only for the deployments it is scoped to (as a caller of the guarded
    endpoint is). The prediction is looked up first, so an unknown id is a 404 for everyone."""
    deployment = reg.prediction(prediction_id)["deployment"]
    if set(principal["roles"]) & set(PERMISSIONS["read"]):
        return
    if "caller" in principal["roles"]:
        scoped = principal.get("deployments", [])
        if deployment in scoped:
            return
        raise PermissionDenied(f"this caller key may read the notices of {', '.join(scoped) or 'no deployment'}, "
                               f"not of {deployment!r}; ask an admin for a key scoped to it")
    raise PermissionDenied(f"{principal['name']} ({', '.join(principal['roles'])}) may not read notices; it needs "
                           f"a reading role or a caller key scoped to {deployment!r}")


@router.get("/api/predictions/{prediction_id}/notice", responses=errors(401, 403, 404, 409),
            response_class=HTMLResponse)
def notice(prediction_id: PredictionId,
           format: Literal["html", "text"] = Query("html", description="html (a standalone page) or text"),
           reg: Registry = Depends(registry), who: dict = Depends(require("read_prediction"))) -> Response:
    """The plain-language notice of an adverse final decision: what was decided, when, the principal reasons,
    whether a person reviewed it, how to appeal and by when, and the right to a statement of reasons."""
    from steward.governance._notice import notice_for, notice_html, notice_text

    may_read_notice(reg, who, prediction_id)
    n = notice_for(reg, prediction_id)
    if format == "text":
        return PlainTextResponse(notice_text(n), headers=NOTICE_HEADERS)
    return HTMLResponse(notice_html(n), headers=NOTICE_HEADERS)


@router.get("/api/deployments/{name}/outcomes", responses=errors(404))
def outcomes(name: str, since: datetime | None = None, until: datetime | None = None,
             limit: int | None = Query(None, ge=1, le=1_000_000), reg: Registry = Depends(registry),
             _=Depends(require("log_export"))) -> list[dict]:
    """Each logged decision of the deployment in ``[since, until)``: the model's decision, whether a person
    reviewed it and what they decided, its appeals, the final decision and who settled it."""
    return reg.decision_outcomes(name, since=since, until=until, limit=limit)
